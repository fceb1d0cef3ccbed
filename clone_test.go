package flagstore

import (
	"encoding/json"
	"testing"
)

// fullFlag sets every field that holds memory of its own.
func fullFlag() Flag {
	seed := 7
	until := int64(99)
	return Flag{
		Key: "f", Name: "F", Kind: KindMultivariate,
		Variations:       []Variation{{ID: "a", Value: map[string]any{"x": []any{1.0, "y"}}}, {ID: "b", Value: []any{"z"}}},
		Defaults:         &FlagDefaults{OnVariation: 0, OffVariation: 1},
		Tags:             []string{"t"},
		CustomProperties: map[string]CustomProperty{"p": {Name: "P", Value: []string{"v"}}},
		Experiments:      Experiments{Items: []any{map[string]any{"k": "v"}}},
		GoalIDs:          []string{"g"},
		Environments: map[string]*FlagConfig{"prod": {
			Targets:        []Target{{Values: []string{"u"}, Variation: 0}},
			ContextTargets: []Target{{Values: []string{"o"}, Variation: 1, ContextKind: "org"}},
			Rules: []Rule{{ID: "r", Variation: intPtr(1), Clauses: []Clause{{Attribute: "a", Op: "in", Values: []any{"v", map[string]any{"m": 1.0}}}}},
				{Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 100000}}, Seed: &seed, ExperimentAllocation: map[string]any{"k": []any{1.0}}}}},
			Fallthrough:          VariationOrRollout{Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 1, Weight: 100000}}}},
			OffVariation:         intPtr(1),
			Prerequisites:        []Prerequisite{{Key: "p", Variation: 0}},
			DebugEventsUntilDate: &until,
		}},
	}
}

func TestCloneFlag_SharesNothing(t *testing.T) {
	t.Parallel()
	orig := fullFlag()
	want, _ := json.Marshal(orig)
	c := cloneFlag(&orig)
	if got, _ := json.Marshal(c); string(got) != string(want) {
		t.Fatalf("clone differs:\n%s\n%s", got, want)
	}
	// Mutate everything reachable from the clone.
	c.Variations[0].Value.(map[string]any)["x"].([]any)[0] = 2.0
	c.Variations[1].Value.([]any)[0] = "changed"
	c.Defaults.OnVariation = 1
	c.Tags[0] = "x"
	c.CustomProperties["p"].Value[0] = "x"
	c.Experiments.Items[0].(map[string]any)["k"] = "x"
	c.GoalIDs[0] = "x"
	e := c.Environments["prod"]
	e.Targets[0].Values[0] = "x"
	e.ContextTargets[0].Values[0] = "x"
	*e.Rules[0].Variation = 0
	e.Rules[0].Clauses[0].Values[0] = "x"
	e.Rules[0].Clauses[0].Values[1].(map[string]any)["m"] = 2.0
	*e.Rules[1].Rollout.Seed = 8
	e.Rules[1].Rollout.Variations[0].Weight = 1
	e.Rules[1].Rollout.ExperimentAllocation["k"].([]any)[0] = 2.0
	e.Fallthrough.Rollout.Variations[0].Weight = 1
	*e.OffVariation = 0
	e.Prerequisites[0].Key = "x"
	*e.DebugEventsUntilDate = 1
	c.Environments["new"] = &FlagConfig{}
	if got, _ := json.Marshal(orig); string(got) != string(want) {
		t.Fatalf("mutating the clone changed the original:\n%s\n%s", got, want)
	}
}

func TestCloneSegment_SharesNothing(t *testing.T) {
	t.Parallel()
	w := 5
	orig := Segment{Key: "s", Tags: []string{"t"}, Included: []string{"a"}, Excluded: []string{"b"},
		IncludedContexts: []SegmentTarget{{ContextKind: "org", Values: []string{"o"}}},
		ExcludedContexts: []SegmentTarget{{ContextKind: "org", Values: []string{"p"}}},
		Rules:            []SegmentRule{{Clauses: []Clause{{Attribute: "a", Op: "in", Values: []any{"v"}}}, Weight: &w}}}
	want, _ := json.Marshal(orig)
	c := cloneSegment(&orig)
	c.Tags[0], c.Included[0], c.Excluded[0] = "x", "x", "x"
	c.IncludedContexts[0].Values[0], c.ExcludedContexts[0].Values[0] = "x", "x"
	c.Rules[0].Clauses[0].Values[0] = "x"
	*c.Rules[0].Weight = 6
	if got, _ := json.Marshal(orig); string(got) != string(want) {
		t.Fatalf("mutating the clone changed the original:\n%s\n%s", got, want)
	}
}

func TestCloneProject_SharesNothing(t *testing.T) {
	t.Parallel()
	orig := Project{Key: "p", Tags: []string{"t"},
		DefaultClientSideAvailability: &ClientSideAvailability{UsingMobileKey: true},
		Environments:                  []Environment{{Key: "e", Tags: []string{"u"}}}}
	want, _ := json.Marshal(orig)
	c := cloneProject(&orig)
	if got, _ := json.Marshal(c); string(got) != string(want) {
		t.Fatalf("clone differs:\n%s\n%s", got, want)
	}
	c.Tags[0], c.Environments[0].Tags[0], c.Environments[0].Key = "x", "x", "x"
	c.DefaultClientSideAvailability.UsingEnvironmentID = true
	if got, _ := json.Marshal(orig); string(got) != string(want) {
		t.Fatalf("mutating the clone changed the original:\n%s\n%s", got, want)
	}
	if cloneProject(&Project{}).Environments != nil {
		t.Fatal("a project without environments gained an empty list")
	}
}
