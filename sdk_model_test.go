package flagstore

import (
	"encoding/json"
	"strings"
	"testing"
)

// sdkFlagFixture is a flag with one environment holding the given config.
func sdkFlagFixture(c FlagConfig) *Flag {
	return &Flag{
		Key:                    "f",
		Variations:             []Variation{{ID: "a", Value: "x"}, {ID: "b", Value: "y"}},
		ClientSideAvailability: ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: true},
		Environments:           map[string]*FlagConfig{"production": &c},
	}
}

func TestSDKFlagProjection(t *testing.T) {
	t.Parallel()
	one := 1
	for _, tc := range []struct {
		name string
		c    FlagConfig
		want []string // fragments of the SDK JSON
		not  []string
	}{
		{"plain", FlagConfig{On: true, Version: 7, Salt: "s", Fallthrough: VariationOrRollout{Variation: &one}},
			[]string{`"key":"f"`, `"version":7`, `"on":true`, `"variations":["x","y"]`, `"salt":"s"`,
				`"fallthrough":{"variation":1}`, `"offVariation":null`, `"clientSide":true`,
				`"clientSideAvailability":{"usingMobileKey":true,"usingEnvironmentId":true}`, `"deleted":false`},
			nil},
		{"user targets alone stay in targets",
			FlagConfig{Targets: []Target{{Values: []string{"u"}, Variation: 1, ContextKind: "user"}}, Fallthrough: VariationOrRollout{Variation: &one}},
			[]string{`"targets":[{"variation":1,"values":["u"]}]`, `"contextTargets":[]`}, nil},
		{"other kinds get user placeholders",
			FlagConfig{Targets: []Target{{Values: []string{"u"}, Variation: 1, ContextKind: "user"}},
				ContextTargets: []Target{{Values: []string{"o"}, Variation: 0, ContextKind: "org"}}, Fallthrough: VariationOrRollout{Variation: &one}},
			[]string{`"targets":[{"variation":1,"values":["u"]}]`,
				`"contextTargets":[{"contextKind":"user","variation":1,"values":[]},{"contextKind":"org","variation":0,"values":["o"]}]`}, nil},
		{"rules: id, untracked, disabled left out",
			FlagConfig{Fallthrough: VariationOrRollout{Variation: &one}, Rules: []Rule{
				{ID: "r1", Description: "d", Clauses: []Clause{{ID: "c1", Attribute: "email", Op: "endsWith", Values: []any{"@x"}, ContextKind: "user"}},
					Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 60000, Untracked: true}, {Variation: 1, Weight: 40000}}, BucketBy: "key"}},
				{ID: "r2", Disabled: true, Variation: &one, Clauses: []Clause{{Attribute: "key", Op: "in", Values: []any{"z"}, ContextKind: "user"}}},
				{ID: "r3", Variation: &one, Clauses: []Clause{{Op: "segmentMatch", Values: []any{"seg"}}}},
			}},
			[]string{`"id":"r1"`, `"untracked":true`, `"bucketBy":"key"`, `"attribute":"email","op":"endsWith"`, `"id":"r3"`, `"op":"segmentMatch"`},
			[]string{`"r2"`, `"description"`, `"c1"`, `"_id"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			it, err := sdkFlag(sdkFlagFixture(tc.c), "production")
			if err != nil {
				t.Fatal(err)
			}
			got := string(it.json)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %s in\n%s", w, got)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(got, w) {
					t.Errorf("unexpected %s in\n%s", w, got)
				}
			}
			if it.flag == nil || it.flag.Key != "f" || it.withheld {
				t.Errorf("parsed item = %+v", it)
			}
		})
	}
}

func TestSDKFlagProjection_Withheld(t *testing.T) {
	t.Parallel()
	f := sdkFlagFixture(FlagConfig{Version: 4})
	f.Archived = true
	it, err := sdkFlag(f, "production")
	if err != nil || !it.withheld || it.version != 4 || it.json != nil {
		t.Errorf("archived flag = %+v, %v", it, err)
	}
	if it, err := sdkFlag(f, "nowhere"); it != nil || err != nil {
		t.Errorf("flag without the environment = %+v, %v", it, err)
	}
}

func TestSDKSegmentProjection(t *testing.T) {
	t.Parallel()
	w := 50000
	it, err := sdkSegment(&Segment{Key: "s", Version: 3, Included: []string{"a"}, Excluded: []string{},
		IncludedContexts: []SegmentTarget{{ContextKind: "org", Values: []string{"o"}}},
		Rules:            []SegmentRule{{ID: "r", Weight: &w, Clauses: []Clause{{Attribute: "k", Op: "in", Values: []any{1}, ContextKind: "user"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(it.json, &got); err != nil {
		t.Fatal(err)
	}
	if got["key"] != "s" || got["version"] != 3.0 || got["salt"] != "s" || got["generation"] != nil || got["deleted"] != false {
		t.Errorf("segment = %s", it.json)
	}
	for _, w := range []string{`"included":["a"]`, `"includedContexts":[{"contextKind":"org","values":["o"]}]`, `"weight":50000`, `"id":"r"`} {
		if !strings.Contains(string(it.json), w) {
			t.Errorf("missing %s in %s", w, it.json)
		}
	}
	if it, _ := sdkSegment(&Segment{Key: "s", Version: 2, Deleted: true}); !it.withheld || it.version != 2 {
		t.Errorf("deleted segment = %+v", it)
	}
}
