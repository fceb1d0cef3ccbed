package flagstore

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParsePatch_Dispatch(t *testing.T) {
	t.Parallel()
	const sem = "application/json; domain-model=launchdarkly.semanticpatch"
	tests := []struct {
		name        string
		contentType string
		body        string
		kind        PatchKind
		comment     string
		env         string
		err         error
	}{
		{"bare array", "application/json", `[{"op":"replace","path":"/name","value":"x"}]`, JSONPatch, "", "", nil},
		{"patch envelope", "application/json", `{"patch":[{"op":"remove","path":"/description"}],"comment":"why"}`, JSONPatch, "why", "", nil},
		{"merge envelope", "application/json", `{"merge":{"name":"x"},"comment":"c"}`, MergePatch, "c", "", nil},
		{"bare merge", "application/json", `{"name":"x"}`, MergePatch, "", "", nil},
		{"merge-patch media type", "application/merge-patch+json", `{"name":"x"}`, MergePatch, "", "", nil},
		{"semantic", sem, `{"instructions":[{"kind":"turnFlagOn"}],"environmentKey":"production","comment":"go"}`, SemanticPatch, "go", "production", nil},
		{"semantic param among others", "application/json; charset=utf-8; domain-model=launchdarkly.semanticpatch", `{"instructions":[{"kind":"x"}]}`, SemanticPatch, "", "", nil},
		{"semantic without media type", "application/json", `{"instructions":[{"kind":"turnFlagOn"}]}`, 0, "", "", ErrInvalid},
		{"semantic empty list", sem, `{"instructions":[]}`, 0, "", "", ErrInvalid},
		{"semantic without instructions", sem, `{"comment":"x"}`, 0, "", "", ErrInvalid},
		{"semantic array body", sem, `[{"kind":"x"}]`, 0, "", "", ErrInvalid},
		{"semantic kind missing", sem, `{"instructions":[{"value":1}]}`, 0, "", "", ErrInvalid},
		{"semantic kind not string", sem, `{"instructions":[{"kind":1}]}`, 0, "", "", ErrInvalid},
		{"instruction not object", sem, `{"instructions":["turnFlagOn"]}`, 0, "", "", ErrInvalid},
		{"malformed json", "application/json", `[{"op":`, 0, "", "", ErrInvalid},
		{"empty body", "application/json", ``, 0, "", "", ErrInvalid},
		{"scalar body", "application/json", `"x"`, 0, "", "", ErrInvalid},
		{"patch not array", "application/json", `{"patch":{"op":"x"}}`, 0, "", "", ErrInvalid},
		{"merge not object", "application/json", `{"merge":[1]}`, 0, "", "", ErrInvalid},
		{"comment wrong type", "application/json", `{"patch":[],"comment":5}`, 0, "", "", ErrInvalid},
		{"bad content type", "application/json; ===", `[]`, 0, "", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePatch(tt.contentType, []byte(tt.body))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tt.kind || p.Comment != tt.comment || p.EnvironmentKey != tt.env {
				t.Fatalf("got kind %v comment %q env %q", p.Kind, p.Comment, p.EnvironmentKey)
			}
		})
	}
}

func TestInstruction_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	var in Instruction
	if err := json.Unmarshal([]byte(`{"kind":"addTargets","variationId":"v1","values":["a","b"]}`), &in); err != nil {
		t.Fatal(err)
	}
	var params struct {
		VariationID string   `json:"variationId"`
		Values      []string `json:"values"`
	}
	if err := in.decode(&params); err != nil || in.Kind != "addTargets" || params.VariationID != "v1" || len(params.Values) != 2 {
		t.Fatalf("decoded %+v %+v %v", in, params, err)
	}
	b, _ := json.Marshal(in)
	var back Instruction
	if err := json.Unmarshal(b, &back); err != nil || back.Kind != in.Kind || len(back.Params) != len(in.Params) {
		t.Fatalf("round trip: %s %v", b, err)
	}
}

func TestApplyJSONPatch(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"name":"a","_version":3,"tags":["x"],"environments":{"p":{"on":false,"_environmentName":"P"}}}`)
	flagRename := func(p string) string {
		if p == "/version" {
			return "/_version"
		}
		return p
	}
	tests := []struct {
		name string
		ops  string
		want string
		err  error
	}{
		{"replace", `[{"op":"replace","path":"/name","value":"b"}]`, `"name":"b"`, nil},
		{"add to array end", `[{"op":"add","path":"/tags/-","value":"y"}]`, `"tags":["x","y"]`, nil},
		{"test then replace", `[{"op":"test","path":"/_version","value":3},{"op":"replace","path":"/environments/p/on","value":true}]`, `"on":true`, nil},
		{"test on /version spelling", `[{"op":"test","path":"/version","value":3},{"op":"replace","path":"/name","value":"c"}]`, `"name":"c"`, nil},
		{"failed test is a conflict", `[{"op":"test","path":"/_version","value":2},{"op":"replace","path":"/name","value":"c"}]`, "", ErrConflict},
		{"write to computed field", `[{"op":"replace","path":"/_version","value":9}]`, "", ErrInvalid},
		{"write to nested computed field", `[{"op":"replace","path":"/environments/p/_environmentName","value":"Q"}]`, "", ErrInvalid},
		{"move from computed field", `[{"op":"move","from":"/_version","path":"/x"}]`, "", ErrInvalid},
		{"missing path", `[{"op":"remove","path":"/description"}]`, "", ErrPatchFailed},
		{"index out of range", `[{"op":"replace","path":"/tags/5","value":"z"}]`, "", ErrPatchFailed},
		{"negative index refused", `[{"op":"remove","path":"/tags/-1"}]`, "", ErrPatchFailed},
		{"unknown op", `[{"op":"frobnicate","path":"/name"}]`, "", ErrInvalid},
		{"no path", `[{"op":"replace","value":1}]`, "", ErrInvalid},
		{"not an array", `{"op":"replace"}`, "", ErrInvalid},
		{"copy", `[{"op":"copy","from":"/name","path":"/description"}]`, `"description":"a"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := applyJSONPatch(doc, []byte(tt.ops), flagRename)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) || !strings.Contains(string(out), tt.want) {
				t.Fatalf("got %s, want it to contain %s", out, tt.want)
			}
		})
	}
}

func TestApplyMergePatch(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"name":"a","description":"d","environments":{"p":{"on":false}}}`)
	out, err := applyMergePatch(doc, []byte(`{"description":null,"environments":{"p":{"on":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "description") || !strings.Contains(string(out), `"on":true`) {
		t.Fatalf("merge result %s", out)
	}
	if _, err := applyMergePatch(doc, []byte(`{"environments":{"p":{"_environmentName":"x"}}}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("computed field in merge: %v", err)
	}
	if _, err := applyMergePatch(doc, []byte(`[1]`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("array merge: %v", err)
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	var f Flag
	if err := decodeStrict([]byte(`{"key":"a","bogus":1}`), &f); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown field: %v", err)
	}
	if err := decodeStrict([]byte(`{"key":5}`), &f); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong type: %v", err)
	}
	if err := decodeStrict([]byte(`{"key":"a"}`), &f); err != nil || f.Key != "a" {
		t.Fatalf("good doc: %v", err)
	}
}

// A JSON Patch confined to one environment, applied to that configuration
// alone, gives what applying it to the whole flag gives; one that reaches
// further, or fails, is left to the whole flag, unapplied.
func TestPatchFlagConfig_AsTheWholeDocument(t *testing.T) {
	t.Parallel()
	base := Flag{Key: "f", Name: "F", Kind: KindBoolean, Tags: []string{},
		Variations: []Variation{{ID: "a", Value: true}, {ID: "b", Value: false}},
		Environments: map[string]*FlagConfig{
			"production": {Salt: "s", Targets: []Target{{Values: []string{"u1"}, Variation: 0, ContextKind: "user"}},
				Rules: []Rule{fxRule(1, "@a"), fxRule(0, "@b")}, Fallthrough: VariationOrRollout{Variation: intPtr(0)},
				OffVariation: intPtr(1), Prerequisites: []Prerequisite{}, ContextTargets: []Target{}},
			"test": {Salt: "t", Targets: []Target{}, Rules: []Rule{}, Prerequisites: []Prerequisite{}, ContextTargets: []Target{}},
		}}
	for _, tc := range []struct {
		name     string
		ops      string
		confined bool // applied to the one configuration
	}{
		{"toggle", `[{"op":"replace","path":"/environments/production/on","value":true}]`, true},
		{"test then replace", `[{"op":"test","path":"/environments/production/on","value":false},{"op":"replace","path":"/environments/production/on","value":true}]`, true},
		{"add a rule", `[{"op":"add","path":"/environments/production/rules/-","value":{"variation":0,"clauses":[]}}]`, true},
		{"remove a target", `[{"op":"remove","path":"/environments/production/targets/0"}]`, true},
		{"move rules", `[{"op":"move","from":"/environments/production/rules/0","path":"/environments/production/rules/1"}]`, true},
		{"copy a value", `[{"op":"copy","from":"/environments/production/salt","path":"/environments/production/sel"}]`, true},
		{"two environments", `[{"op":"replace","path":"/environments/production/on","value":true},{"op":"replace","path":"/environments/test/on","value":true}]`, false},
		{"from another environment", `[{"op":"copy","from":"/environments/test/salt","path":"/environments/production/salt"}]`, false},
		{"flag-wide", `[{"op":"replace","path":"/name","value":"G"}]`, false},
		{"whole configuration", `[{"op":"replace","path":"/environments/production","value":{}}]`, false},
		{"unknown environment", `[{"op":"replace","path":"/environments/staging/on","value":true}]`, false},
		{"failed test", `[{"op":"test","path":"/environments/production/on","value":true}]`, false},
		{"missing path", `[{"op":"replace","path":"/environments/production/nope","value":1}]`, false},
		{"unknown field", `[{"op":"add","path":"/environments/production/nope","value":1}]`, false},
		{"computed", `[{"op":"replace","path":"/environments/production/_environmentName","value":"x"}]`, false},
		{"no ops", `[]`, false},
		{"not a patch", `{}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := cloneFlag(&base)
			if ok := patchFlagConfig(&got, json.RawMessage(tc.ops)); ok != tc.confined {
				t.Fatalf("applied to the configuration: %v, want %v", ok, tc.confined)
			}
			if !tc.confined {
				if !reflect.DeepEqual(got, base) {
					t.Fatal("a patch left to the whole flag changed it")
				}
				return
			}
			want := cloneFlag(&base)
			doc, _ := flagPatchDocument(&want)
			if err := patchDocument(&want, doc, &Patch{Kind: JSONPatch, Ops: json.RawMessage(tc.ops)}, true, flagTestPath); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("on the configuration:\n%+v\non the whole flag:\n%+v", *got.Environments["production"], *want.Environments["production"])
			}
		})
	}
}
