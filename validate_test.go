package flagstore

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// validFlag returns a valid boolean flag with a production and a test
// environment that use every kind of targeting.
func validFlag() *Flag {
	return &Flag{
		Key:        "new-checkout",
		Name:       "New checkout",
		Kind:       KindBoolean,
		Variations: []Variation{{ID: "v-on", Value: true}, {ID: "v-off", Value: false}},
		Tags:       []string{"checkout", "team.web"},
		Defaults:   &FlagDefaults{OnVariation: 0, OffVariation: 1},
		CustomProperties: map[string]CustomProperty{
			"jira.issues": {Name: "Jira issues", Value: []string{"WEB-1"}},
		},
		Environments: map[string]*FlagConfig{
			"production": {
				On:             true,
				Targets:        []Target{{Values: []string{"alice", "bob"}, Variation: 0}},
				ContextTargets: []Target{{ContextKind: "org", Values: []string{"acme"}, Variation: 1}},
				Rules: []Rule{{
					ID:        "rule-1",
					Variation: intPtr(0),
					Clauses: []Clause{
						{Attribute: "email", Op: "endsWith", Values: []any{"@example.com"}},
						{Attribute: "plan", Op: "in", Values: []any{"gold", 3, true}, ContextKind: "org"},
					},
				}},
				Fallthrough:   VariationOrRollout{Variation: intPtr(1)},
				OffVariation:  intPtr(1),
				Prerequisites: []Prerequisite{{Key: "payments", Variation: 0}},
			},
			"test": {
				Fallthrough: VariationOrRollout{Rollout: &Rollout{
					Variations: []WeightedVariation{{Variation: 0, Weight: 25000}, {Variation: 1, Weight: 75000}},
				}},
				OffVariation: intPtr(1),
			},
		},
	}
}

// multivariate turns f into a multivariate flag with the given values.
func multivariate(f *Flag, values ...any) {
	f.Variations = nil
	for _, v := range values {
		f.Variations = append(f.Variations, Variation{Value: v})
	}
	f.Kind = KindMultivariate
}

func prod(f *Flag) *FlagConfig { return f.Environments["production"] }

func rule0(f *Flag) *Rule { return &prod(f).Rules[0] }

func clause0(f *Flag) *Clause { return &rule0(f).Clauses[0] }

// setClause replaces the first clause of production's first rule.
func setClause(op string, values ...any) func(*Flag) {
	return func(f *Flag) {
		*clause0(f) = Clause{Attribute: "attr", Op: op, Values: values}
	}
}

// checkInvalid asserts that err is nil when attr is empty, and otherwise an
// invalid_request naming attr.
func checkInvalid(t *testing.T, err *Error, attr string) {
	t.Helper()
	if attr == "" {
		if err != nil {
			t.Fatalf("want valid, got %v (%+v)", err, err.Errors)
		}
		return
	}
	if err == nil {
		t.Fatalf("want error at %q, got nil", attr)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	if len(err.Errors) == 0 {
		t.Fatalf("want a field error at %q, got none: %v", attr, err)
	}
	if got := err.Errors[0].Attribute; got != attr {
		t.Fatalf("want attribute %q, got %q (%v)", attr, got, err)
	}
}

func TestFlagKind(t *testing.T) {
	t.Parallel()
	vs := func(values ...any) []Variation {
		out := make([]Variation, len(values))
		for i, v := range values {
			out[i].Value = v
		}
		return out
	}
	tests := []struct {
		name string
		vars []Variation
		want string
	}{
		{"true false", vs(true, false), KindBoolean},
		{"false true", vs(false, true), KindBoolean},
		{"true true", vs(true, true), KindMultivariate},
		{"three values", vs(true, false, "x"), KindMultivariate},
		{"bool strings", vs("true", "false"), KindMultivariate},
		{"one bool", vs(true), KindMultivariate},
		{"none", nil, KindMultivariate},
		{"numbers", vs(1, 0), KindMultivariate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := flagKind(tt.vars); got != tt.want {
				t.Fatalf("flagKind = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestValidateFlag(t *testing.T) {
	t.Parallel()
	const p = "environments.production"
	const r0 = p + ".rules[0]"
	const c0 = r0 + ".clauses[0]"
	tests := []struct {
		name   string
		mutate func(*Flag)
		attr   string // "" means valid
	}{
		{"fixture", func(*Flag) {}, ""},

		// key, name, tags
		{"key empty", func(f *Flag) { f.Key = "" }, "key"},
		{"key bad char", func(f *Flag) { f.Key = "new checkout" }, "key"},
		{"name empty", func(f *Flag) { f.Name = "  " }, "name"},
		{"tags nil", func(f *Flag) { f.Tags = nil }, ""},
		{"tag duplicate", func(f *Flag) { f.Tags = []string{"a", "a"} }, "tags"},
		{"tag bad", func(f *Flag) { f.Tags = []string{"a b"} }, "tags"},

		// variations
		{"one variation", func(f *Flag) { multivariate(f, "a") }, "variations"},
		{"no variations", func(f *Flag) { f.Variations = nil }, "variations"},
		{"null value", func(f *Flag) { multivariate(f, "a", "b", nil) }, "variations[2].value"},
		{"nil map value", func(f *Flag) { multivariate(f, map[string]any{"a": 1}, map[string]any(nil)) }, "variations[1].value"},
		{"unencodable value", func(f *Flag) { multivariate(f, 1.0, math.NaN()) }, "variations[1].value"},
		{"strings", func(f *Flag) { multivariate(f, "a", "b", "c") }, ""},
		{"duplicate strings", func(f *Flag) { multivariate(f, "a", "b", "a") }, "variations[2].value"},
		{"numbers int and float", func(f *Flag) { multivariate(f, 1, 2.5, int64(3)) }, ""},
		{"duplicate int and float", func(f *Flag) { multivariate(f, 1, 1.0) }, "variations[1].value"},
		{"objects", func(f *Flag) {
			multivariate(f, map[string]any{"a": 1, "b": 2}, map[string]any{"a": 2}, []any{1, 2})
		}, ""},
		{"duplicate objects key order", func(f *Flag) {
			multivariate(f, map[string]any{"a": 1, "b": "x"}, map[string]int{"c": 1}, map[string]any{"b": "x", "a": 1.0})
		}, "variations[2].value"},
		{"mixed string number", func(f *Flag) { multivariate(f, "a", 1) }, "variations[1].value"},
		{"mixed number object", func(f *Flag) { multivariate(f, 1, []any{1}) }, "variations[1].value"},
		{"bool in multivariate", func(f *Flag) { multivariate(f, "a", true) }, "variations[1].value"},
		{"three bools", func(f *Flag) { multivariate(f, true, false, true) }, "variations[0].value"},
		{"bool first of mixed", func(f *Flag) { multivariate(f, true, "a") }, "variations[0].value"},
		{"boolean reversed", func(f *Flag) { f.Variations[0].Value, f.Variations[1].Value = false, true }, ""},
		{"kind mismatch boolean", func(f *Flag) { f.Kind = KindMultivariate }, "kind"},
		{"kind mismatch multivariate", func(f *Flag) { multivariate(f, "a", "b"); f.Kind = KindBoolean }, "kind"},
		{"kind empty", func(f *Flag) { f.Kind = "" }, "kind"},
		{"variation ids empty", func(f *Flag) { f.Variations[0].ID, f.Variations[1].ID = "", "" }, ""},
		{"variation id duplicate", func(f *Flag) { f.Variations[1].ID = "v-on" }, "variations[1]._id"},

		// defaults
		{"defaults nil", func(f *Flag) { f.Defaults = nil }, ""},
		{"defaults on out of range", func(f *Flag) { f.Defaults.OnVariation = 2 }, "defaults.onVariation"},
		{"defaults off negative", func(f *Flag) { f.Defaults.OffVariation = -1 }, "defaults.offVariation"},

		// custom properties
		{"custom properties nil", func(f *Flag) { f.CustomProperties = nil }, ""},
		{"custom property empty key", func(f *Flag) {
			f.CustomProperties[""] = CustomProperty{Name: "x"}
		}, "customProperties"},
		{"custom property no name", func(f *Flag) {
			f.CustomProperties["jira.issues"] = CustomProperty{Value: []string{"WEB-1"}}
		}, "customProperties.jira.issues.name"},

		// environments
		{"no environments", func(f *Flag) { f.Environments = nil }, ""},
		{"environment key bad", func(f *Flag) { f.Environments["bad env"] = &FlagConfig{} }, "environments"},
		{"environment nil", func(f *Flag) { f.Environments["staging"] = nil }, "environments.staging"},
		{"off variation nil", func(f *Flag) { prod(f).OffVariation = nil }, ""},
		{"off variation out of range", func(f *Flag) { prod(f).OffVariation = intPtr(2) }, p + ".offVariation"},

		// fallthrough
		{"fallthrough neither", func(f *Flag) { f.Environments["test"].Fallthrough = VariationOrRollout{} }, "environments.test.fallthrough"},
		{"fallthrough both", func(f *Flag) { f.Environments["test"].Fallthrough.Variation = intPtr(0) }, "environments.test.fallthrough"},
		{"fallthrough out of range", func(f *Flag) { prod(f).Fallthrough.Variation = intPtr(5) }, p + ".fallthrough.variation"},

		// rollouts
		{"rollout one bucket", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations = []WeightedVariation{{Variation: 1, Weight: 100000}}
		}, ""},
		{"rollout empty", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations = nil
		}, "environments.test.fallthrough.rollout.variations"},
		{"rollout index out of range", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations[1].Variation = 2
		}, "environments.test.fallthrough.rollout.variations[1].variation"},
		{"rollout weight negative", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations = []WeightedVariation{{Variation: 0, Weight: -1}, {Variation: 1, Weight: 100001}}
		}, "environments.test.fallthrough.rollout.variations[0].weight"},
		{"rollout weight too big", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations = []WeightedVariation{{Variation: 0, Weight: 100001}, {Variation: 1, Weight: -1}}
		}, "environments.test.fallthrough.rollout.variations[0].weight"},
		{"rollout sum short", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations[1].Weight = 74999
		}, "environments.test.fallthrough.rollout.variations"},
		{"rollout duplicate variation", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.Variations[1].Variation = 0
		}, "environments.test.fallthrough.rollout.variations[1].variation"},
		{"rollout context kind", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.ContextKind = "org"
		}, ""},
		{"rollout context kind bad", func(f *Flag) {
			f.Environments["test"].Fallthrough.Rollout.ContextKind = "multi"
		}, "environments.test.fallthrough.rollout.contextKind"},

		// targets
		{"targets user kind explicit", func(f *Flag) { prod(f).Targets[0].ContextKind = "user" }, ""},
		{"targets other kind", func(f *Flag) { prod(f).Targets[0].ContextKind = "org" }, p + ".targets[0].contextKind"},
		{"target variation out of range", func(f *Flag) { prod(f).Targets[0].Variation = 2 }, p + ".targets[0].variation"},
		{"context target variation negative", func(f *Flag) { prod(f).ContextTargets[0].Variation = -1 }, p + ".contextTargets[0].variation"},
		{"context target kind empty", func(f *Flag) { prod(f).ContextTargets[0].ContextKind = "" }, p + ".contextTargets[0].contextKind"},
		{"context target kind reserved", func(f *Flag) { prod(f).ContextTargets[0].ContextKind = "kind" }, p + ".contextTargets[0].contextKind"},
		{"context target kind bad char", func(f *Flag) { prod(f).ContextTargets[0].ContextKind = "o/rg" }, p + ".contextTargets[0].contextKind"},
		{"two lists same variation and kind", func(f *Flag) {
			prod(f).Targets = append(prod(f).Targets, Target{Values: []string{"carol"}, Variation: 0, ContextKind: "user"})
		}, p + ".targets[1]"},
		{"same variation different kinds", func(f *Flag) {
			prod(f).ContextTargets = append(prod(f).ContextTargets, Target{ContextKind: "device", Values: []string{"acme"}, Variation: 1})
		}, ""},
		{"user list in both arrays", func(f *Flag) {
			prod(f).ContextTargets = append(prod(f).ContextTargets, Target{ContextKind: "user", Values: []string{"carol"}, Variation: 0})
		}, p + ".contextTargets[1]"},
		{"user placeholder in contextTargets", func(f *Flag) {
			prod(f).ContextTargets = append(prod(f).ContextTargets, Target{ContextKind: "user", Variation: 0})
		}, ""},
		{"user list only in contextTargets", func(f *Flag) {
			prod(f).ContextTargets = append(prod(f).ContextTargets, Target{ContextKind: "user", Values: []string{"carol"}, Variation: 1})
		}, ""},
		{"target value empty", func(f *Flag) { prod(f).Targets[0].Values[1] = "" }, p + ".targets[0].values[1]"},
		{"target value duplicate in list", func(f *Flag) { prod(f).Targets[0].Values[1] = "alice" }, p + ".targets[0].values[1]"},
		{"key served two variations", func(f *Flag) {
			prod(f).Targets = append(prod(f).Targets, Target{Values: []string{"bob"}, Variation: 1})
		}, p + ".targets[1].values[0]"},
		{"key served two variations across arrays", func(f *Flag) {
			prod(f).ContextTargets = append(prod(f).ContextTargets, Target{ContextKind: "user", Values: []string{"alice"}, Variation: 1})
		}, p + ".contextTargets[1].values[0]"},
		{"same key different kinds", func(f *Flag) {
			prod(f).ContextTargets = append(prod(f).ContextTargets, Target{ContextKind: "device", Values: []string{"alice"}, Variation: 0})
		}, ""},

		// rules
		{"rule rollout", func(f *Flag) {
			rule0(f).Variation = nil
			rule0(f).Rollout = &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 100000}, {Variation: 1}}}
		}, ""},
		{"rule neither", func(f *Flag) { rule0(f).Variation = nil }, r0},
		{"rule both", func(f *Flag) {
			rule0(f).Rollout = &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 100000}}}
		}, r0},
		{"rule variation out of range", func(f *Flag) { rule0(f).Variation = intPtr(3) }, r0 + ".variation"},
		{"rule rollout bad sum", func(f *Flag) {
			rule0(f).Variation = nil
			rule0(f).Rollout = &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 1}}}
		}, r0 + ".rollout.variations"},
		{"rule no clauses", func(f *Flag) { rule0(f).Clauses = []Clause{} }, ""},
		{"rule ids unique", func(f *Flag) {
			prod(f).Rules = append(prod(f).Rules, Rule{ID: "rule-2", Variation: intPtr(1), Clauses: []Clause{}})
		}, ""},
		{"rule ids empty", func(f *Flag) {
			rule0(f).ID = ""
			prod(f).Rules = append(prod(f).Rules, Rule{Variation: intPtr(1)})
		}, ""},
		{"rule id duplicate", func(f *Flag) {
			prod(f).Rules = append(prod(f).Rules, Rule{ID: "rule-1", Variation: intPtr(1)})
		}, p + ".rules[1]._id"},
		{"rule id shared across envs", func(f *Flag) {
			f.Environments["test"].Rules = []Rule{{ID: "rule-1", Variation: intPtr(1)}}
		}, ""},

		// clauses
		{"clause attribute empty", func(f *Flag) { clause0(f).Attribute = "" }, c0 + ".attribute"},
		{"clause op unknown", func(f *Flag) { rule0(f).Clauses[1].Op = "equals" }, r0 + ".clauses[1].op"},
		{"clause no values", func(f *Flag) { clause0(f).Values = nil }, c0 + ".values"},
		{"clause in any values", setClause("in", "a", 1, true, map[string]any{"a": 1}), ""},
		{"clause value unencodable", setClause("in", math.Inf(1)), c0 + ".values[0]"},
		{"clause context kind", func(f *Flag) { clause0(f).ContextKind = "user" }, ""},
		{"clause context kind bad", func(f *Flag) { clause0(f).ContextKind = "a b" }, c0 + ".contextKind"},
		{"matches valid", setClause("matches", `^[a-z]+@example\.com$`), ""},
		{"matches bad regexp", setClause("matches", "ok", "(unclosed"), c0 + ".values[1]"},
		{"matches not string", setClause("matches", 1), c0 + ".values[0]"},
		{"segmentMatch valid", setClause("segmentMatch", "beta-users", "staff"), ""},
		{"segmentMatch bad key", setClause("segmentMatch", "beta users"), c0 + ".values[0]"},
		{"segmentMatch not string", setClause("segmentMatch", 3), c0 + ".values[0]"},
		{"before number and date", setClause("before", 1700000000000, "2024-05-01T12:00:00Z", "2024-05-01T12:00:00.5+02:00"), ""},
		{"after bad date", setClause("after", "yesterday"), c0 + ".values[0]"},
		{"after bool", setClause("after", true), c0 + ".values[0]"},
		{"lessThan numbers", setClause("lessThan", 1, 2.5, int64(7)), ""},
		{"greaterThanOrEqual string", setClause("greaterThanOrEqual", 1, "2"), c0 + ".values[1]"},
		{"lessThan null", setClause("lessThan", nil), c0 + ".values[0]"},
		{"semVer strings", setClause("semVerLessThan", "1.2.3"), ""},
		{"semVer number", setClause("semVerEqual", 1.2), c0 + ".values[0]"},
		{"startsWith string", setClause("startsWith", "abc"), ""},
		{"contains number", setClause("contains", 5), c0 + ".values[0]"},

		// prerequisites
		{"prerequisite key bad", func(f *Flag) { prod(f).Prerequisites[0].Key = "" }, p + ".prerequisites[0].key"},
		{"prerequisite self", func(f *Flag) { prod(f).Prerequisites[0].Key = "new-checkout" }, p + ".prerequisites[0].key"},
		{"prerequisite variation negative", func(f *Flag) { prod(f).Prerequisites[0].Variation = -1 }, p + ".prerequisites[0].variation"},
		{"prerequisite variation beyond own count", func(f *Flag) { prod(f).Prerequisites[0].Variation = 7 }, ""},
		{"prerequisite duplicate", func(f *Flag) {
			prod(f).Prerequisites = append(prod(f).Prerequisites, Prerequisite{Key: "payments", Variation: 1})
		}, p + ".prerequisites[1].key"},
		{"two prerequisites", func(f *Flag) {
			prod(f).Prerequisites = append(prod(f).Prerequisites, Prerequisite{Key: "search", Variation: 1})
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := validFlag()
			tt.mutate(f)
			checkInvalid(t, validateFlag(f), tt.attr)
		})
	}
}

func TestValidateFlagFirstProblemIsDeterministic(t *testing.T) {
	t.Parallel()
	f := validFlag()
	f.Environments["alpha"] = &FlagConfig{}
	f.Environments["beta"] = nil
	for range 20 {
		checkInvalid(t, validateFlag(f), "environments.alpha.fallthrough")
	}
}

func TestValidateFlagDoesNotModify(t *testing.T) {
	t.Parallel()
	f := validFlag()
	multivariate(f, 1, map[string]any{"a": 1})
	want := validFlag()
	multivariate(want, 1, map[string]any{"a": 1})
	checkInvalid(t, validateFlag(f), "variations[1].value")
	if !reflect.DeepEqual(f, want) {
		t.Fatal("validateFlag modified its argument")
	}
}

// validSegment returns a valid segment using every field validateSegment
// checks.
func validSegment() *Segment {
	return &Segment{
		Key:              "beta-users",
		Name:             "Beta users",
		Tags:             []string{"beta"},
		Included:         []string{"alice", "bob"},
		Excluded:         []string{"mallory"},
		IncludedContexts: []SegmentTarget{{ContextKind: "org", Values: []string{"acme"}}},
		ExcludedContexts: []SegmentTarget{{ContextKind: "org", Values: []string{"evil-corp"}}},
		Rules: []SegmentRule{{
			ID:                 "srule-1",
			Clauses:            []Clause{{Attribute: "email", Op: "endsWith", Values: []any{"@example.com"}}},
			Weight:             intPtr(50000),
			RolloutContextKind: "user",
		}},
	}
}

func TestValidateSegment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Segment)
		attr   string
	}{
		{"fixture", func(*Segment) {}, ""},
		{"key bad", func(s *Segment) { s.Key = "-beta" }, "key"},
		{"name empty", func(s *Segment) { s.Name = "" }, "name"},
		{"tag duplicate", func(s *Segment) { s.Tags = []string{"x", "x"} }, "tags"},
		{"included empty value", func(s *Segment) { s.Included[0] = "" }, "included[0]"},
		{"included duplicate", func(s *Segment) { s.Included[1] = "alice" }, "included[1]"},
		{"excluded duplicate", func(s *Segment) { s.Excluded = append(s.Excluded, "mallory") }, "excluded[1]"},
		{"included and excluded empty", func(s *Segment) { s.Included, s.Excluded = nil, nil }, ""},
		{"included contexts user kind", func(s *Segment) {
			s.IncludedContexts = append(s.IncludedContexts, SegmentTarget{ContextKind: "user", Values: []string{"alice"}})
		}, ""},
		{"included contexts kind empty", func(s *Segment) { s.IncludedContexts[0].ContextKind = "" }, "includedContexts[0].contextKind"},
		{"excluded contexts kind reserved", func(s *Segment) { s.ExcludedContexts[0].ContextKind = "multi" }, "excludedContexts[0].contextKind"},
		{"included contexts kind twice", func(s *Segment) {
			s.IncludedContexts = append(s.IncludedContexts, SegmentTarget{ContextKind: "org", Values: []string{"b"}})
		}, "includedContexts[1].contextKind"},
		{"included contexts value empty", func(s *Segment) { s.IncludedContexts[0].Values = []string{"a", ""} }, "includedContexts[0].values[1]"},
		{"excluded contexts value duplicate", func(s *Segment) {
			s.ExcludedContexts[0].Values = []string{"a", "a"}
		}, "excludedContexts[0].values[1]"},
		{"unbounded context kind", func(s *Segment) { s.Unbounded, s.UnboundedContextKind = true, "org" }, ""},
		{"unbounded context kind bad", func(s *Segment) { s.UnboundedContextKind = "kind" }, "unboundedContextKind"},
		{"rule clause bad op", func(s *Segment) { s.Rules[0].Clauses[0].Op = "like" }, "rules[0].clauses[0].op"},
		{"rule clause no values", func(s *Segment) { s.Rules[0].Clauses[0].Values = nil }, "rules[0].clauses[0].values"},
		{"rule no clauses", func(s *Segment) { s.Rules[0].Clauses = nil }, ""},
		{"rule weight nil", func(s *Segment) { s.Rules[0].Weight = nil }, ""},
		{"rule weight zero and full", func(s *Segment) {
			s.Rules[0].Weight = intPtr(0)
			s.Rules = append(s.Rules, SegmentRule{ID: "srule-2", Weight: intPtr(100000)})
		}, ""},
		{"rule weight negative", func(s *Segment) { s.Rules[0].Weight = intPtr(-1) }, "rules[0].weight"},
		{"rule weight too big", func(s *Segment) { s.Rules[0].Weight = intPtr(100001) }, "rules[0].weight"},
		{"rule rollout context kind bad", func(s *Segment) { s.Rules[0].RolloutContextKind = "a:b" }, "rules[0].rolloutContextKind"},
		{"rule id duplicate", func(s *Segment) {
			s.Rules = append(s.Rules, SegmentRule{ID: "srule-1"})
		}, "rules[1]._id"},
		{"rule ids empty", func(s *Segment) {
			s.Rules[0].ID = ""
			s.Rules = append(s.Rules, SegmentRule{})
		}, ""},
		{"rule matches other segment", func(s *Segment) {
			s.Rules[0].Clauses = append(s.Rules[0].Clauses, Clause{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"staff"}})
		}, ""},
		{"rule matches itself", func(s *Segment) {
			s.Rules[0].Clauses = append(s.Rules[0].Clauses, Clause{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"staff", "beta-users"}})
		}, "rules[0].clauses[1].values[1]"},
		{"rule in clause naming itself", func(s *Segment) {
			s.Rules[0].Clauses[0] = Clause{Attribute: "segment", Op: "in", Values: []any{"beta-users"}}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := validSegment()
			tt.mutate(s)
			checkInvalid(t, validateSegment(s), tt.attr)
		})
	}
}

func TestValidContextKind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind  string
		valid bool
	}{
		{"user", true},
		{"org", true},
		{"my-kind.v2_x", true},
		{"", false},
		{"kind", false},
		{"multi", false},
		{"a b", false},
		{"ünïcode", false},
		{strings.Repeat("k", maxKeyLength+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			t.Parallel()
			attr := ""
			if !tt.valid {
				attr = "contextKind"
			}
			checkInvalid(t, validContextKind("contextKind", tt.kind), attr)
		})
	}
}

// normalJSON's shortcuts for scalars give what the round trip through
// encoding and decoding gives.
func TestNormalJSON_ScalarsAsTheRoundTrip(t *testing.T) {
	t.Parallel()
	roundTrip := func(v any) (any, string) {
		b, _ := json.Marshal(v)
		var d any
		_ = json.Unmarshal(b, &d)
		b, _ = json.Marshal(d)
		return d, string(b)
	}
	for _, v := range []any{true, false, 1.5, 1e21, 0.1, -0.0, "é", "a\xffb", "<&>", 3, nil, []any{1.0}, map[string]any{"a": "b"}} {
		d, canon, err := normalJSON(v)
		wd, wcanon := roundTrip(v)
		if err != nil || string(canon) != wcanon || jsonFamily(d) != jsonFamily(wd) {
			t.Errorf("normalJSON(%#v) = %#v, %s, %v; the round trip gives %#v, %s", v, d, canon, err, wd, wcanon)
		}
	}
}
