package flagstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Fixtures of the flag semantic-patch tests; every name starts with "sp".

// spFlag is a valid multivariate flag with variations "a", "b", "c" (IDs
// va, vb, vc) and two environments. production: off; user targets u1, u2
// on va, device target d1 on vb (and an empty user placeholder on va);
// rules r1 (serves va; clauses c1 email endsWith, c2 country in fr, de)
// and r2 (50/50 va/vb; clause c3); fallthrough va; off vc; prerequisite
// sp-pre serving its variation 0. test: on; rule r9 (segmentMatch, serves
// vc); fallthrough rollout 100% va, 0% vb; off vc; no targets.
func spFlag() *Flag {
	return &Flag{
		Key:                    "sp-flag",
		Name:                   "SP flag",
		Kind:                   KindMultivariate,
		Variations:             []Variation{{ID: "va", Value: "a", Name: "A"}, {ID: "vb", Value: "b"}, {ID: "vc", Value: "c"}},
		Defaults:               &FlagDefaults{OnVariation: 0, OffVariation: 2},
		Temporary:              true,
		Tags:                   []string{"t1"},
		ClientSideAvailability: ClientSideAvailability{UsingMobileKey: true},
		MaintainerID:           "m1",
		CustomProperties:       map[string]CustomProperty{"jira": {Name: "Jira", Value: []string{"J-1", "J-2"}}},
		Experiments:            Experiments{Items: []any{}},
		GoalIDs:                []string{},
		Environments: map[string]*FlagConfig{
			"production": {
				Salt: "s1", Sel: "x1", Version: 3,
				Targets: []Target{{Values: []string{"u1", "u2"}, Variation: 0, ContextKind: "user"}},
				ContextTargets: []Target{
					{Values: []string{}, Variation: 0, ContextKind: "user"},
					{Values: []string{"d1"}, Variation: 1, ContextKind: "device"},
				},
				Rules: []Rule{
					{ID: "r1", Variation: intPtr(0), Clauses: []Clause{
						{ID: "c1", Attribute: "email", Op: "endsWith", Values: []any{"@x.com"}, ContextKind: "user"},
						{ID: "c2", Attribute: "country", Op: "in", Values: []any{"fr", "de"}, ContextKind: "user"},
					}},
					{ID: "r2", Rollout: &Rollout{Variations: []WeightedVariation{{0, 50000, false}, {1, 50000, false}}, ContextKind: "user"},
						Clauses: []Clause{{ID: "c3", Attribute: "plan", Op: "in", Values: []any{"pro"}, ContextKind: "user"}}},
				},
				Fallthrough:   VariationOrRollout{Variation: intPtr(0)},
				OffVariation:  intPtr(2),
				Prerequisites: []Prerequisite{{Key: "sp-pre", Variation: 0}},
			},
			"test": {
				On: true, Salt: "s2", Sel: "x2", Version: 1,
				Targets: []Target{}, ContextTargets: []Target{},
				Rules: []Rule{{ID: "r9", Variation: intPtr(2), Clauses: []Clause{
					{ID: "c9", Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"beta"}},
				}}},
				Fallthrough:   VariationOrRollout{Rollout: &Rollout{Variations: []WeightedVariation{{0, 100000, false}, {1, 0, false}}}},
				OffVariation:  intPtr(2),
				Prerequisites: []Prerequisite{},
			},
		},
	}
}

// spLookup finds the other flags of spFlag's project: sp-pre (boolean,
// p-true/p-false) and sp-other (1, 2, 3 as o1, o2, o3); sp-broken fails.
func spLookup(key string) (*Flag, error) {
	switch key {
	case "sp-pre":
		return &Flag{Key: key, Variations: []Variation{{ID: "p-true", Value: true}, {ID: "p-false", Value: false}}}, nil
	case "sp-other":
		return &Flag{Key: key, Variations: []Variation{{ID: "o1", Value: 1.0}, {ID: "o2", Value: 2.0}, {ID: "o3", Value: 3.0}}}, nil
	case "sp-flag":
		return spFlag(), nil
	case "sp-broken":
		return nil, newError(ErrInternal, "storage is broken")
	}
	return nil, nil
}

// spUUIDs numbers new IDs sp-uuid-1, sp-uuid-2, ...
func spUUIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("sp-uuid-%d", n) }
}

// spApply applies a JSON array of instructions to a fresh spFlag.
func spApply(t *testing.T, env, ins string) (*Flag, []Instruction, bool, error) {
	t.Helper()
	var list []Instruction
	if err := json.Unmarshal([]byte(ins), &list); err != nil {
		t.Fatalf("bad test instructions %s: %v", ins, err)
	}
	f := spFlag()
	deleted, err := applyFlagInstructions(f, list, flagPatchContext{env: env, newUUID: spUUIDs(), lookup: spLookup})
	return f, list, deleted, err
}

// spTargets renders a configuration's targets then contextTargets as
// "T[var:kind:keys ...]C[...]".
func spTargets(c *FlagConfig) string {
	var b strings.Builder
	for _, part := range []struct {
		name string
		ts   []Target
	}{{"T", c.Targets}, {"C", c.ContextTargets}} {
		b.WriteString(part.name + "[")
		for i, t := range part.ts {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d:%s:%s", t.Variation, t.ContextKind, strings.Join(t.Values, ","))
		}
		b.WriteString("]")
	}
	return b.String()
}

// spServe renders what a rule or fallthrough serves: "v1" or "R(0:30000 2:70000 by email/user)".
func spServe(v *int, r *Rollout) string {
	if v != nil {
		return fmt.Sprintf("v%d", *v)
	}
	if r == nil {
		return "none"
	}
	var parts []string
	for _, w := range r.Variations {
		parts = append(parts, fmt.Sprintf("%d:%d", w.Variation, w.Weight))
	}
	return fmt.Sprintf("R(%s by %s/%s)", strings.Join(parts, " "), r.BucketBy, r.ContextKind)
}

// spRules renders rule IDs with what they serve: "r1=v0 r2=R(...)".
func spRules(c *FlagConfig) string {
	var parts []string
	for _, r := range c.Rules {
		parts = append(parts, r.ID+"="+spServe(r.Variation, r.Rollout))
	}
	return strings.Join(parts, " ")
}

func spProd(f *Flag) *FlagConfig { return f.Environments["production"] }

// spEq fails unless got equals want.
func spEq[T comparable](t *testing.T, what string, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

// spJoin renders values separated by spaces.
func spJoin(args ...any) string { return strings.TrimSuffix(fmt.Sprintln(args...), "\n") }

// spNoEnv marks a case applied without an environmentKey.
const spNoEnv = "-"

type spCase struct {
	name string
	env  string // "" means production; spNoEnv none
	ins  string // JSON array of instructions
	// For success: noop requires the flag unchanged; check inspects it.
	noop    bool
	check   func(t *testing.T, f *Flag)
	deleted bool
	// For failure: err is a substring of the message; at the index of the
	// failing instruction.
	err string
	at  int
}

var spCases = []spCase{
	// ---- on/off ----
	{name: "on", ins: `[{"kind":"turnFlagOn"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "on", spProd(f).On, true) }},
	{name: "on already", env: "test", ins: `[{"kind":"turnFlagOn"}]`, noop: true},
	{name: "on without env", env: spNoEnv, ins: `[{"kind":"turnFlagOn"}]`, err: "environmentKey"},
	{name: "on unknown env", env: "staging", ins: `[{"kind":"turnFlagOn"}]`, err: `"staging"`},
	{name: "off", env: "test", ins: `[{"kind":"turnFlagOff"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "on", f.Environments["test"].On, false) }},
	{name: "off already", ins: `[{"kind":"turnFlagOff"}]`, noop: true},

	// ---- targets ----
	{name: "addTargets user", ins: `[{"kind":"addTargets","variationId":"va","values":["u3","u3"]}]`, check: spWantTargets("T[0:user:u1,u2,u3]C[0:user: 1:device:d1]")},
	{name: "addTargets new list", ins: `[{"kind":"addTargets","variationId":"vb","values":["u4"],"contextKind":"user"}]`, check: spWantTargets("T[0:user:u1,u2 1:user:u4]C[0:user: 1:device:d1]")},
	{name: "addTargets device", ins: `[{"kind":"addTargets","variationId":"vb","values":["d2"],"contextKind":"device"}]`, check: spWantTargets("T[0:user:u1,u2]C[0:user: 1:device:d1,d2]")},
	{name: "addTargets new kind", ins: `[{"kind":"addTargets","variationId":"vc","values":["o1"],"contextKind":"org"}]`, check: spWantTargets("T[0:user:u1,u2]C[0:user: 1:device:d1 2:org:o1]")},
	{name: "addTargets same key other kind", ins: `[{"kind":"addTargets","variationId":"vb","values":["u1"],"contextKind":"device"}]`, check: spWantTargets("T[0:user:u1,u2]C[0:user: 1:device:d1,u1]")},
	{name: "addTargets empty env", env: "test", ins: `[{"kind":"addTargets","variationId":"vb","values":["x"]}]`, check: func(t *testing.T, f *Flag) { spEq(t, "targets", spTargets(f.Environments["test"]), "T[1:user:x]C[]") }},
	{name: "addTargets present", ins: `[{"kind":"addTargets","variationId":"va","values":["u1","u2"]}]`, noop: true},
	{name: "addTargets conflict", ins: `[{"kind":"addTargets","variationId":"vb","values":["u1"]}]`, err: `context key "u1" of kind "user" is already targeted by variation "va"`},
	{name: "addTargets device conflict", ins: `[{"kind":"addTargets","variationId":"va","values":["d1"],"contextKind":"device"}]`, err: "already targeted"},
	{name: "addTargets unknown variation", ins: `[{"kind":"addTargets","variationId":"nope","values":["x"]}]`, err: `variationId "nope" is not a variation`},
	{name: "addTargets no values", ins: `[{"kind":"addTargets","variationId":"va","values":[]}]`, err: "at least one"},
	{name: "addTargets missing values", ins: `[{"kind":"addTargets","variationId":"va"}]`, err: `parameter "values" is required`},
	{name: "addTargets empty key", ins: `[{"kind":"addTargets","variationId":"va","values":[""]}]`, err: "empty"},
	{name: "addTargets values type", ins: `[{"kind":"addTargets","variationId":"va","values":"u9"}]`, err: "list of strings"},
	{name: "addTargets reserved kind", ins: `[{"kind":"addTargets","variationId":"va","values":["x"],"contextKind":"multi"}]`, err: "reserved"},
	{name: "removeTargets", ins: `[{"kind":"removeTargets","variationId":"va","values":["u1"]}]`, check: spWantTargets("T[0:user:u2]C[0:user: 1:device:d1]")},
	{name: "removeTargets drops list", ins: `[{"kind":"removeTargets","variationId":"va","values":["u1","u2"]}]`, check: spWantTargets("T[]C[0:user: 1:device:d1]")},
	{name: "removeTargets device", ins: `[{"kind":"removeTargets","variationId":"vb","values":["d1"],"contextKind":"device"}]`, check: spWantTargets("T[0:user:u1,u2]C[0:user:]")},
	{name: "removeTargets absent", ins: `[{"kind":"removeTargets","variationId":"va","values":["zz"]}]`, noop: true},
	{name: "removeTargets other variation", ins: `[{"kind":"removeTargets","variationId":"vb","values":["u1"]}]`, noop: true},
	{name: "removeTargets unknown variation", ins: `[{"kind":"removeTargets","variationId":"nope","values":["u1"]}]`, err: "not a variation"},
	{name: "replaceTargets", ins: `[{"kind":"replaceTargets","targets":[{"variationId":"va","values":["x"]},{"variationId":"vb","values":["y"],"contextKind":"device"},{"variationId":"va","values":["x","z"]}]}]`, check: spWantTargets("T[0:user:x,z]C[1:device:y]")},
	{name: "replaceTargets none", ins: `[{"kind":"replaceTargets","targets":[]}]`, check: spWantTargets("T[]C[]")},
	{name: "replaceTargets conflict", ins: `[{"kind":"replaceTargets","targets":[{"variationId":"va","values":["x"]},{"variationId":"vb","values":["x"]}]}]`, err: `targets[1].values: context key "x"`},
	{name: "replaceTargets unknown variation", ins: `[{"kind":"replaceTargets","targets":[{"variationId":"nope","values":["x"]}]}]`, err: "targets[0].variationId"},
	{name: "replaceTargets missing", ins: `[{"kind":"replaceTargets"}]`, err: `parameter "targets" is required`},
	{name: "clearTargets", ins: `[{"kind":"clearTargets","variationId":"va"}]`, check: spWantTargets("T[]C[1:device:d1]")},
	{name: "clearTargets device", ins: `[{"kind":"clearTargets","variationId":"vb"}]`, check: spWantTargets("T[0:user:u1,u2]C[0:user:]")},
	{name: "clearTargets none", ins: `[{"kind":"clearTargets","variationId":"vc"}]`, noop: true},
	{name: "clearTargets unknown", ins: `[{"kind":"clearTargets","variationId":"nope"}]`, err: "not a variation"},
	{name: "addUserTargets", ins: `[{"kind":"addUserTargets","variationId":"vb","values":["u9"],"contextKind":"device"}]`, check: spWantTargets("T[0:user:u1,u2 1:user:u9]C[0:user: 1:device:d1]")},
	{name: "addUserTargets present", ins: `[{"kind":"addUserTargets","variationId":"va","values":["u2"]}]`, noop: true},
	{name: "addUserTargets conflict", ins: `[{"kind":"addUserTargets","variationId":"vc","values":["u2"]}]`, err: "already targeted"},
	{name: "removeUserTargets", ins: `[{"kind":"removeUserTargets","variationId":"va","values":["u2","zz"]}]`, check: spWantTargets("T[0:user:u1]C[0:user: 1:device:d1]")},
	{name: "removeUserTargets absent", ins: `[{"kind":"removeUserTargets","variationId":"va","values":["zz"]}]`, noop: true},
	{name: "removeUserTargets no values", ins: `[{"kind":"removeUserTargets","variationId":"va","values":[]}]`, err: "at least one"},
	{name: "replaceUserTargets", ins: `[{"kind":"replaceUserTargets","targets":[{"variationId":"va","values":["x"]},{"variationId":"vb","values":[]},{"variationId":"vc","values":["u1"]}]}]`, check: spWantTargets("T[0:user:x 2:user:u1]C[0:user: 1:device:d1]")},
	{name: "replaceUserTargets missing variation", ins: `[{"kind":"replaceUserTargets","targets":[{"variationId":"va","values":["x"]},{"variationId":"vc","values":[]}]}]`, err: `every variation of the flag; variation "vb"`},
	{name: "replaceUserTargets conflict", ins: `[{"kind":"replaceUserTargets","targets":[{"variationId":"va","values":["x"]},{"variationId":"vb","values":["x"]},{"variationId":"vc","values":[]}]}]`, err: "also listed"},
	{name: "clearUserTargets", ins: `[{"kind":"clearUserTargets","variationId":"va"}]`, check: spWantTargets("T[]C[1:device:d1]")},
	{name: "clearUserTargets keeps other kinds", ins: `[{"kind":"clearUserTargets","variationId":"vb"}]`, noop: true},

	// ---- rules ----
	{name: "addRule", ins: `[{"kind":"addRule","variationId":"vb","clauses":[{"attribute":"age","op":"greaterThan","values":[18]}]}]`, check: func(t *testing.T, f *Flag) {
		c := spProd(f)
		spEq(t, "rules", spRules(c), "r1=v0 r2=R(0:50000 1:50000 by /user) sp-uuid-2=v1")
		cl := c.Rules[2].Clauses[0]
		spEq(t, "clause", spJoin(cl.ID, cl.ContextKind, cl.Attribute, cl.Op, cl.Values, cl.Negate), "sp-uuid-1 user age greaterThan [18] false")
	}},
	{name: "addRule before", ins: `[{"kind":"addRule","variationId":"vc","beforeRuleId":"r2","description":"d","trackEvents":true,"clauses":[]}]`, check: func(t *testing.T, f *Flag) {
		c := spProd(f)
		spEq(t, "rules", spRules(c), "r1=v0 sp-uuid-1=v2 r2=R(0:50000 1:50000 by /user)")
		spEq(t, "description", c.Rules[1].Description, "d")
		spEq(t, "trackEvents", c.Rules[1].TrackEvents, true)
	}},
	{name: "addRule rollout", ins: `[{"kind":"addRule","rolloutWeights":{"vc":70000,"va":30000},"rolloutBucketBy":"email","clauses":[{"attribute":"x","op":"in","values":["y"],"negate":true}]}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "serve", spRules(spProd(f))[len("r1=v0 r2=R(0:50000 1:50000 by /user) "):], "sp-uuid-2=R(0:30000 2:70000 by email/user)")
		spEq(t, "negate", spProd(f).Rules[2].Clauses[0].Negate, true)
	}},
	{name: "addRule rollout kind", ins: `[{"kind":"addRule","rolloutWeights":{"vb":100000},"rolloutContextKind":"org","clauses":[]}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "serve", spServe(nil, spProd(f).Rules[2].Rollout), "R(1:100000 by /org)")
	}},
	{name: "addRule segmentMatch", ins: `[{"kind":"addRule","variationId":"va","clauses":[{"op":"segmentMatch","values":["beta"]}]}]`, check: func(t *testing.T, f *Flag) {
		cl := spProd(f).Rules[2].Clauses[0]
		spEq(t, "clause", cl.Attribute+"/"+cl.ContextKind, "segmentMatch/")
	}},
	{name: "addRule both", ins: `[{"kind":"addRule","variationId":"va","rolloutWeights":{"va":100000},"clauses":[]}]`, err: "not both"},
	{name: "addRule neither", ins: `[{"kind":"addRule","clauses":[]}]`, err: "variationId or rolloutWeights is required"},
	{name: "addRule weights sum", ins: `[{"kind":"addRule","rolloutWeights":{"va":10000,"vb":10000},"clauses":[]}]`, err: "must sum to 100000, got 20000"},
	{name: "addRule weight range", ins: `[{"kind":"addRule","rolloutWeights":{"va":-1,"vb":100001},"clauses":[]}]`, err: "between 0 and 100000"},
	{name: "addRule weight variation", ins: `[{"kind":"addRule","rolloutWeights":{"zz":100000},"clauses":[]}]`, err: `rolloutWeights "zz" is not a variation`},
	{name: "addRule empty weights", ins: `[{"kind":"addRule","rolloutWeights":{},"clauses":[]}]`, err: "at least one variation"},
	{name: "addRule rollout kind reserved", ins: `[{"kind":"addRule","rolloutWeights":{"va":100000},"rolloutContextKind":"kind","clauses":[]}]`, err: "reserved"},
	{name: "addRule unknown before", ins: `[{"kind":"addRule","variationId":"va","beforeRuleId":"zz","clauses":[]}]`, err: `beforeRuleId "zz"`},
	{name: "addRule bad op", ins: `[{"kind":"addRule","variationId":"va","clauses":[{"attribute":"a","op":"like","values":["x"]}]}]`, err: `clauses[0].op: unknown clause operator "like"`},
	{name: "addRule bad value", ins: `[{"kind":"addRule","variationId":"va","clauses":[{"attribute":"a","op":"in","values":["x"]},{"attribute":"a","op":"lessThan","values":["x"]}]}]`, err: "clauses[1].values[0]"},
	{name: "removeRule", ins: `[{"kind":"removeRule","ruleId":"r1"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "rules", spRules(spProd(f)), "r2=R(0:50000 1:50000 by /user)") }},
	{name: "removeRule missing", ins: `[{"kind":"removeRule","ruleId":"zz"}]`, noop: true},
	{name: "reorderRules", ins: `[{"kind":"reorderRules","ruleIds":["r2","r1"]}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "rules", spRules(spProd(f)), "r2=R(0:50000 1:50000 by /user) r1=v0")
	}},
	{name: "reorderRules same", ins: `[{"kind":"reorderRules","ruleIds":["r1","r2"]}]`, noop: true},
	{name: "reorderRules short", ins: `[{"kind":"reorderRules","ruleIds":["r1"]}]`, err: "each of the 2 rules"},
	{name: "reorderRules unknown", ins: `[{"kind":"reorderRules","ruleIds":["r1","zz"]}]`, err: "exactly once"},
	{name: "reorderRules repeated", ins: `[{"kind":"reorderRules","ruleIds":["r1","r1"]}]`, err: "exactly once"},
	{name: "replaceRules", ins: `[{"kind":"replaceRules","rules":[{"variationId":"vc","description":"new","trackEvents":true,"clauses":[{"contextKind":"user","attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]},{"rolloutWeights":{"vb":100000},"clauses":[]}]}]`, check: func(t *testing.T, f *Flag) {
		c := spProd(f)
		spEq(t, "rules", spRules(c), "sp-uuid-2=v2 sp-uuid-3=R(1:100000 by /user)")
		spEq(t, "rule 0", spJoin(c.Rules[0].Description, c.Rules[0].TrackEvents, c.Rules[0].Clauses[0].ID, c.Rules[0].Clauses[0].ContextKind), "new true sp-uuid-1 user")
	}},
	{name: "replaceRules none", ins: `[{"kind":"replaceRules","rules":[]}]`, check: func(t *testing.T, f *Flag) { spEq(t, "rules", len(spProd(f).Rules), 0) }},
	{name: "replaceRules bad rule", ins: `[{"kind":"replaceRules","rules":[{"variationId":"va","clauses":[]},{"variationId":"zz","clauses":[]}]}]`, err: `rules[1].variationId "zz"`},
	{name: "updateRuleVariationOrRollout", ins: `[{"kind":"updateRuleVariationOrRollout","ruleId":"r2","variationId":"vc"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "rules", spRules(spProd(f)), "r1=v0 r2=v2") }},
	{name: "updateRuleVariationOrRollout rollout", ins: `[{"kind":"updateRuleVariationOrRollout","ruleId":"r1","rolloutWeights":{"vb":25000,"vc":75000},"rolloutBucketBy":"key"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "rules", spRules(spProd(f)), "r1=R(1:25000 2:75000 by key/user) r2=R(0:50000 1:50000 by /user)")
	}},
	{name: "updateRuleVariationOrRollout same", ins: `[{"kind":"updateRuleVariationOrRollout","ruleId":"r1","variationId":"va"}]`, noop: true},
	{name: "updateRuleVariationOrRollout unknown rule", ins: `[{"kind":"updateRuleVariationOrRollout","ruleId":"zz","variationId":"va"}]`, err: `ruleId "zz" is not a rule of environment "production"`},
	{name: "updateRuleVariationOrRollout nothing", ins: `[{"kind":"updateRuleVariationOrRollout","ruleId":"r1"}]`, err: "is required"},
	{name: "updateRuleDescription", ins: `[{"kind":"updateRuleDescription","ruleId":"r1","description":"first"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "description", spProd(f).Rules[0].Description, "first") }},
	{name: "updateRuleDescription unknown", ins: `[{"kind":"updateRuleDescription","ruleId":"zz","description":"x"}]`, err: "not a rule"},
	{name: "updateRuleDescription missing", ins: `[{"kind":"updateRuleDescription","ruleId":"r1"}]`, err: `parameter "description" is required`},
	{name: "updateRuleTrackEvents", ins: `[{"kind":"updateRuleTrackEvents","ruleId":"r2","trackEvents":true}]`, check: func(t *testing.T, f *Flag) { spEq(t, "trackEvents", spProd(f).Rules[1].TrackEvents, true) }},
	{name: "updateRuleTrackEvents same", ins: `[{"kind":"updateRuleTrackEvents","ruleId":"r2","trackEvents":false}]`, noop: true},
	{name: "updateRuleTrackEvents type", ins: `[{"kind":"updateRuleTrackEvents","ruleId":"r2","trackEvents":"yes"}]`, err: `parameter "trackEvents" has the wrong type`},

	// ---- clauses ----
	{name: "addClauses", ins: `[{"kind":"addClauses","ruleId":"r1","clauses":[{"attribute":"plan","op":"in","values":["free"],"contextKind":"org"}]}]`, check: func(t *testing.T, f *Flag) {
		cs := spProd(f).Rules[0].Clauses
		spEq(t, "clauses", len(cs), 3)
		spEq(t, "new clause", cs[2].ID+"/"+cs[2].ContextKind, "sp-uuid-1/org")
	}},
	{name: "addClauses none", ins: `[{"kind":"addClauses","ruleId":"r1","clauses":[]}]`, err: "at least one clause"},
	{name: "addClauses unknown rule", ins: `[{"kind":"addClauses","ruleId":"zz","clauses":[{"attribute":"a","op":"in","values":["x"]}]}]`, err: "not a rule"},
	{name: "addClauses invalid", ins: `[{"kind":"addClauses","ruleId":"r1","clauses":[{"op":"in","values":["x"]}]}]`, err: "clauses[0].attribute"},
	{name: "removeClauses", ins: `[{"kind":"removeClauses","ruleId":"r1","clauseIds":["c2"]}]`, check: func(t *testing.T, f *Flag) {
		cs := spProd(f).Rules[0].Clauses
		spEq(t, "clauses", spJoin(len(cs), cs[0].ID), "1 c1")
	}},
	{name: "removeClauses unknown", ins: `[{"kind":"removeClauses","ruleId":"r1","clauseIds":["c1","c3"]}]`, err: `clauseId "c3" is not a clause of rule "r1"`},
	{name: "removeClauses none", ins: `[{"kind":"removeClauses","ruleId":"r1","clauseIds":[]}]`, err: "at least one clause ID"},
	{name: "updateClause", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c1","clause":{"attribute":"name","op":"startsWith","values":["x"],"negate":true}}]`, check: func(t *testing.T, f *Flag) {
		cl := spProd(f).Rules[0].Clauses[0]
		spEq(t, "clause", spJoin(cl.ID, cl.ContextKind, cl.Attribute, cl.Op, cl.Values, cl.Negate), "c1 user name startsWith [x] true")
	}},
	{name: "updateClause unknown", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c3","clause":{"attribute":"a","op":"in","values":["x"]}}]`, err: "not a clause"},
	{name: "updateClause invalid", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c1","clause":{"attribute":"a","op":"in","values":[]}}]`, err: "clause.values: a clause needs at least one value"},
	{name: "addValuesToClause", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c2","values":["es","fr"]}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "values", fmt.Sprint(spProd(f).Rules[0].Clauses[1].Values), "[fr de es]")
	}},
	{name: "addValuesToClause present", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c2","values":["fr"]}]`, noop: true},
	{name: "addValuesToClause type", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c1","values":[5]}]`, err: "endsWith compares strings"},
	{name: "addValuesToClause unknown rule", ins: `[{"kind":"addValuesToClause","ruleId":"zz","clauseId":"c1","values":["x"]}]`, err: "not a rule"},
	{name: "removeValuesFromClause", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":["fr","zz"]}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "values", fmt.Sprint(spProd(f).Rules[0].Clauses[1].Values), "[de]")
	}},
	{name: "removeValuesFromClause absent", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":["zz"]}]`, noop: true},
	{name: "removeValuesFromClause all", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":["fr","de"]}]`, err: "remove the clause instead"},
	{name: "removeValuesFromClause unknown clause", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c9","values":["fr"]}]`, err: "not a clause"},

	// ---- fallthrough, off variation ----
	{name: "fallthrough", ins: `[{"kind":"updateFallthroughVariationOrRollout","variationId":"vb"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "fallthrough", spServe(spProd(f).Fallthrough.Variation, spProd(f).Fallthrough.Rollout), "v1")
	}},
	{name: "fallthrough rollout", env: "test", ins: `[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"va":1,"vb":99999},"rolloutContextKind":"device","rolloutBucketBy":"id"}]`, check: func(t *testing.T, f *Flag) {
		c := f.Environments["test"]
		spEq(t, "fallthrough", spServe(c.Fallthrough.Variation, c.Fallthrough.Rollout), "R(0:1 1:99999 by id/device)")
	}},
	{name: "fallthrough same", ins: `[{"kind":"updateFallthroughVariationOrRollout","variationId":"va"}]`, noop: true},
	{name: "fallthrough unknown", ins: `[{"kind":"updateFallthroughVariationOrRollout","variationId":"zz"}]`, err: "not a variation"},
	{name: "offVariation", ins: `[{"kind":"updateOffVariation","variationId":"va"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "off", *spProd(f).OffVariation, 0) }},
	{name: "offVariation same", ins: `[{"kind":"updateOffVariation","variationId":"vc"}]`, noop: true},
	{name: "offVariation missing", ins: `[{"kind":"updateOffVariation"}]`, err: `parameter "variationId" is required`},

	// ---- prerequisites ----
	{name: "addPrerequisite", ins: `[{"kind":"addPrerequisite","key":"sp-other","variationId":"o2"}]`, check: spWantPrereqs("[{sp-pre 0} {sp-other 1}]")},
	{name: "addPrerequisite other env", env: "test", ins: `[{"kind":"addPrerequisite","key":"sp-pre","variationId":"p-false"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "prerequisites", fmt.Sprint(f.Environments["test"].Prerequisites), "[{sp-pre 1}]")
	}},
	{name: "addPrerequisite present", ins: `[{"kind":"addPrerequisite","key":"sp-pre","variationId":"p-true"}]`, noop: true},
	{name: "addPrerequisite other variation", ins: `[{"kind":"addPrerequisite","key":"sp-pre","variationId":"p-false"}]`, err: "use updatePrerequisite"},
	{name: "addPrerequisite missing flag", ins: `[{"kind":"addPrerequisite","key":"sp-none","variationId":"x"}]`, err: `prerequisite flag "sp-none" does not exist`},
	{name: "addPrerequisite unknown variation", ins: `[{"kind":"addPrerequisite","key":"sp-other","variationId":"va"}]`, err: `"va" is not a variation of prerequisite flag "sp-other"`},
	{name: "addPrerequisite self", ins: `[{"kind":"addPrerequisite","key":"sp-flag","variationId":"va"}]`, err: "its own prerequisite"},
	{name: "removePrerequisite", ins: `[{"kind":"removePrerequisite","key":"sp-pre"}]`, check: spWantPrereqs("[]")},
	{name: "removePrerequisite absent", ins: `[{"kind":"removePrerequisite","key":"sp-other"}]`, noop: true},
	{name: "updatePrerequisite", ins: `[{"kind":"updatePrerequisite","key":"sp-pre","variationId":"p-false"}]`, check: spWantPrereqs("[{sp-pre 1}]")},
	{name: "updatePrerequisite same", ins: `[{"kind":"updatePrerequisite","key":"sp-pre","variationId":"p-true"}]`, noop: true},
	{name: "updatePrerequisite absent", ins: `[{"kind":"updatePrerequisite","key":"sp-other","variationId":"o1"}]`, err: `flag "sp-other" is not a prerequisite in environment "production"`},
	{name: "updatePrerequisite unknown variation", ins: `[{"kind":"updatePrerequisite","key":"sp-pre","variationId":"o1"}]`, err: "not a variation of prerequisite flag"},
	{name: "replacePrerequisites", ins: `[{"kind":"replacePrerequisites","prerequisites":[{"key":"sp-other","variationId":"o3"},{"key":"sp-pre","variationId":"p-false"}]}]`, check: spWantPrereqs("[{sp-other 2} {sp-pre 1}]")},
	{name: "replacePrerequisites none", ins: `[{"kind":"replacePrerequisites","prerequisites":[]}]`, check: spWantPrereqs("[]")},
	{name: "replacePrerequisites repeated", ins: `[{"kind":"replacePrerequisites","prerequisites":[{"key":"sp-pre","variationId":"p-false"},{"key":"sp-pre","variationId":"p-true"}]}]`, err: `prerequisites[1].key: flag "sp-pre" is listed twice`},
	{name: "replacePrerequisites missing flag", ins: `[{"kind":"replacePrerequisites","prerequisites":[{"key":"sp-pre","variationId":"p-false"},{"key":"sp-none","variationId":"x"}]}]`, err: "prerequisites[1].key"},

	// ---- event tracking ----
	{name: "trackEvents", ins: `[{"kind":"updateTrackEvents","trackEvents":true}]`, check: func(t *testing.T, f *Flag) { spEq(t, "trackEvents", spProd(f).TrackEvents, true) }},
	{name: "trackEvents same", ins: `[{"kind":"updateTrackEvents","trackEvents":false}]`, noop: true},
	{name: "trackEvents missing", ins: `[{"kind":"updateTrackEvents"}]`, err: `parameter "trackEvents" is required`},
	{name: "trackEventsFallthrough", ins: `[{"kind":"updateTrackEventsFallthrough","trackEvents":true}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "trackEventsFallthrough", spProd(f).TrackEventsFallthrough, true)
	}},
	{name: "trackEventsFallthrough no env", env: spNoEnv, ins: `[{"kind":"updateTrackEventsFallthrough","trackEvents":true}]`, err: "environmentKey"},

	// ---- variations ----
	{name: "addVariation", env: spNoEnv, ins: `[{"kind":"addVariation","value":"d","name":"D","description":"dee"}]`, check: func(t *testing.T, f *Flag) {
		v := f.Variations[3]
		spEq(t, "variation", spJoin(len(f.Variations), v.ID, v.Value, v.Name, v.Description), "4 sp-uuid-1 d D dee")
	}},
	{name: "addVariation duplicate", env: spNoEnv, ins: `[{"kind":"addVariation","value":"a"}]`, err: "duplicates variations[0]"},
	{name: "addVariation null", env: spNoEnv, ins: `[{"kind":"addVariation","value":null}]`, err: `parameter "value" is required`},
	{name: "addVariation type", env: spNoEnv, ins: `[{"kind":"addVariation","value":5}]`, err: "one type"},
	{name: "removeVariation", ins: `[{"kind":"clearTargets","variationId":"vb"},{"kind":"updateRuleVariationOrRollout","ruleId":"r2","variationId":"vc"},{"kind":"removeVariation","variationId":"vb"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "variations", spJoin(f.Variations[0].ID, f.Variations[1].ID, len(f.Variations)), "va vc 2")
		spEq(t, "defaults", *f.Defaults, FlagDefaults{OnVariation: 0, OffVariation: 1})
		p, tc := spProd(f), f.Environments["test"]
		spEq(t, "targets", spTargets(p), "T[0:user:u1,u2]C[0:user:]")
		spEq(t, "rules", spRules(p), "r1=v0 r2=v1")
		spEq(t, "off", *p.OffVariation, 1)
		spEq(t, "fallthrough", spServe(p.Fallthrough.Variation, p.Fallthrough.Rollout), "v0")
		spEq(t, "test rules", spRules(tc), "r9=v1")
		spEq(t, "test off", *tc.OffVariation, 1)
		spEq(t, "test fallthrough", spServe(tc.Fallthrough.Variation, tc.Fallthrough.Rollout), "R(0:100000 by /)")
	}},
	{name: "removeVariation in rule", env: spNoEnv, ins: `[{"kind":"removeVariation","variationId":"vb"}]`, err: `variation "vb" (index 1) is still served by rule "r2" (rules[1]) in environment "production"`},
	{name: "removeVariation targeted", ins: `[{"kind":"updateRuleVariationOrRollout","ruleId":"r2","variationId":"va"},{"kind":"removeVariation","variationId":"vb"}]`, at: 1, err: "individually targeted"},
	{name: "removeVariation default", env: spNoEnv, ins: `[{"kind":"removeVariation","variationId":"vc"}]`, err: "default variations"},
	{name: "removeVariation off", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation","offVariationValue":"b"},{"kind":"removeVariation","variationId":"vc"}]`, at: 1, err: `still the off variation in environment "production"`},
	{name: "removeVariation fallthrough", ins: `[{"kind":"clearTargets","variationId":"vb"},{"kind":"updateRuleVariationOrRollout","ruleId":"r2","variationId":"va"},{"kind":"updateFallthroughVariationOrRollout","variationId":"vb"},{"kind":"removeVariation","variationId":"vb"}]`, at: 3, err: "still the default rule's variation in environment \"production\""},
	{name: "removeVariation rollout", ins: `[{"kind":"clearTargets","variationId":"vb"},{"kind":"updateRuleVariationOrRollout","ruleId":"r2","variationId":"va"},{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"va":99000,"vb":1000}},{"kind":"removeVariation","variationId":"vb"}]`, at: 3, err: "still part of the default rule's rollout"},
	{name: "removeVariation unknown", env: spNoEnv, ins: `[{"kind":"removeVariation","variationId":"zz"}]`, err: "not a variation"},
	{name: "updateVariation", env: spNoEnv, ins: `[{"kind":"updateVariation","variationId":"vb","value":"bb","name":"B","description":"bee"}]`, check: func(t *testing.T, f *Flag) {
		v := f.Variations[1]
		spEq(t, "variation", spJoin(v.ID, v.Value, v.Name, v.Description), "vb bb B bee")
	}},
	{name: "updateVariation name only", env: spNoEnv, ins: `[{"kind":"updateVariation","variationId":"va","name":""}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "variation", spJoin(f.Variations[0].Value, f.Variations[0].Name), "a ")
	}},
	{name: "updateVariation same", env: spNoEnv, ins: `[{"kind":"updateVariation","variationId":"va","value":"a","name":"A"}]`, noop: true},
	{name: "updateVariation duplicate", env: spNoEnv, ins: `[{"kind":"updateVariation","variationId":"vb","value":"a"}]`, err: "duplicates variations[0]"},
	{name: "updateVariation null", env: spNoEnv, ins: `[{"kind":"updateVariation","variationId":"vb","value":null}]`, err: "must not be null"},
	{name: "updateVariation unknown", env: spNoEnv, ins: `[{"kind":"updateVariation","variationId":"zz","value":"z"}]`, err: "not a variation"},
	{name: "updateDefaultVariation", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation","onVariationValue":"b"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "defaults", *f.Defaults, FlagDefaults{OnVariation: 1, OffVariation: 2})
	}},
	{name: "updateDefaultVariation capitalised", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation","OnVariationValue":"c","OffVariationValue":"a"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "defaults", *f.Defaults, FlagDefaults{OnVariation: 2, OffVariation: 0})
	}},
	{name: "updateDefaultVariation same", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation","onVariationValue":"a","offVariationValue":"c"}]`, noop: true},
	{name: "updateDefaultVariation unknown", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation","offVariationValue":"z"}]`, err: `offVariationValue "z" is not the value of a variation`},
	{name: "updateDefaultVariation nothing", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation"}]`, err: "is required"},

	// ---- flag settings ----
	{name: "updateName", env: spNoEnv, ins: `[{"kind":"updateName","value":"New name"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "name", f.Name, "New name") }},
	{name: "updateName same", env: spNoEnv, ins: `[{"kind":"updateName","value":"SP flag"}]`, noop: true},
	{name: "updateName empty", env: spNoEnv, ins: `[{"kind":"updateName","value":" "}]`, err: "value must be present"},
	{name: "updateName type", env: spNoEnv, ins: `[{"kind":"updateName","value":5}]`, err: "must be a string"},
	{name: "updateName missing", env: spNoEnv, ins: `[{"kind":"updateName"}]`, err: `parameter "value" is required`},
	{name: "updateDescription", env: spNoEnv, ins: `[{"kind":"updateDescription","value":"about"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "description", f.Description, "about") }},
	{name: "updateDescription clear", env: spNoEnv, ins: `[{"kind":"updateDescription","value":""}]`, noop: true},
	{name: "updateDescription missing", env: spNoEnv, ins: `[{"kind":"updateDescription"}]`, err: "is required"},
	{name: "addTags", env: "staging", ins: `[{"kind":"addTags","values":["t2","t1","t2"]}]`, check: func(t *testing.T, f *Flag) { spEq(t, "tags", fmt.Sprint(f.Tags), "[t1 t2]") }},
	{name: "addTags present", env: spNoEnv, ins: `[{"kind":"addTags","values":["t1"]}]`, noop: true},
	{name: "addTags invalid", env: spNoEnv, ins: `[{"kind":"addTags","values":["a b"]}]`, err: `tag "a b"`},
	{name: "addTags none", env: spNoEnv, ins: `[{"kind":"addTags","values":[]}]`, err: "at least one"},
	{name: "removeTags", env: spNoEnv, ins: `[{"kind":"removeTags","values":["t1","t9"]}]`, check: func(t *testing.T, f *Flag) { spEq(t, "tags", fmt.Sprint(f.Tags), "[]") }},
	{name: "removeTags absent", env: spNoEnv, ins: `[{"kind":"removeTags","values":["t9"]}]`, noop: true},
	{name: "makeFlagPermanent", env: spNoEnv, ins: `[{"kind":"makeFlagPermanent"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "temporary", f.Temporary, false) }},
	{name: "makeFlagTemporary", env: spNoEnv, ins: `[{"kind":"makeFlagTemporary"}]`, noop: true},
	{name: "makeFlagTemporary after permanent", env: spNoEnv, ins: `[{"kind":"makeFlagPermanent"},{"kind":"makeFlagTemporary"}]`, noop: true},
	{name: "addCustomProperties new", env: spNoEnv, ins: `[{"kind":"addCustomProperties","key":"gh","name":"GitHub","values":["1"]}]`, check: spWantProps("map[gh:{GitHub [1]} jira:{Jira [J-1 J-2]}]")},
	{name: "addCustomProperties merge", env: spNoEnv, ins: `[{"kind":"addCustomProperties","key":"jira","values":["J-3","J-1"]}]`, check: spWantProps("map[jira:{Jira [J-1 J-2 J-3]}]")},
	{name: "addCustomProperties present", env: spNoEnv, ins: `[{"kind":"addCustomProperties","key":"jira","name":"Jira","values":["J-2"]}]`, noop: true},
	{name: "addCustomProperties no name", env: spNoEnv, ins: `[{"kind":"addCustomProperties","key":"gh","values":["1"]}]`, err: `custom property "gh" needs a name`},
	{name: "addCustomProperties no key", env: spNoEnv, ins: `[{"kind":"addCustomProperties","key":"","values":["1"]}]`, err: `"key" must not be empty`},
	{name: "replaceCustomProperties", env: spNoEnv, ins: `[{"kind":"replaceCustomProperties","key":"jira","values":["J-9"]}]`, check: spWantProps("map[jira:{Jira [J-9]}]")},
	{name: "replaceCustomProperties new", env: spNoEnv, ins: `[{"kind":"replaceCustomProperties","key":"gh","name":"GitHub","values":["7"]}]`, check: spWantProps("map[gh:{GitHub [7]} jira:{Jira [J-1 J-2]}]")},
	{name: "replaceCustomProperties no name", env: spNoEnv, ins: `[{"kind":"replaceCustomProperties","key":"gh","values":["7"]}]`, err: "needs a name"},
	{name: "removeCustomProperties", env: spNoEnv, ins: `[{"kind":"removeCustomProperties","key":"jira","values":["J-1"]}]`, check: spWantProps("map[jira:{Jira [J-2]}]")},
	{name: "removeCustomProperties all", env: spNoEnv, ins: `[{"kind":"removeCustomProperties","key":"jira","values":["J-1","J-2"]}]`, check: spWantProps("map[]")},
	{name: "removeCustomProperties absent", env: spNoEnv, ins: `[{"kind":"removeCustomProperties","key":"gh","values":["1"]}]`, noop: true},
	{name: "turnOnClientSideAvailability", env: spNoEnv, ins: `[{"kind":"turnOnClientSideAvailability","value":"usingEnvironmentId"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "availability", f.ClientSideAvailability, ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: true})
		spEq(t, "includeInSnippet", f.IncludeInSnippet, true)
	}},
	{name: "turnOnClientSideAvailability on", env: spNoEnv, ins: `[{"kind":"turnOnClientSideAvailability","value":"usingMobileKey"}]`, noop: true},
	{name: "turnOnClientSideAvailability bad", env: spNoEnv, ins: `[{"kind":"turnOnClientSideAvailability","value":"usingSnippet"}]`, err: `"usingMobileKey" or "usingEnvironmentId"`},
	{name: "turnOffClientSideAvailability", env: spNoEnv, ins: `[{"kind":"turnOffClientSideAvailability","value":"usingMobileKey"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "availability", f.ClientSideAvailability, ClientSideAvailability{})
	}},
	{name: "turnOffClientSideAvailability off", env: spNoEnv, ins: `[{"kind":"turnOffClientSideAvailability","value":"usingEnvironmentId"}]`, noop: true},
	{name: "updateMaintainerMember", env: spNoEnv, ins: `[{"kind":"updateMaintainerTeam","value":"team-a"},{"kind":"updateMaintainerMember","value":"m2"}]`, check: spWantMaintainer("m2", "")},
	{name: "updateMaintainerMember same", env: spNoEnv, ins: `[{"kind":"updateMaintainerMember","value":"m1"}]`, noop: true},
	{name: "updateMaintainerMember empty", env: spNoEnv, ins: `[{"kind":"updateMaintainerMember","value":""}]`, err: "must not be empty"},
	{name: "updateMaintainerTeam", env: spNoEnv, ins: `[{"kind":"updateMaintainerTeam","value":"team-a"}]`, check: spWantMaintainer("", "team-a")},
	{name: "updateMaintainerTeam type", env: spNoEnv, ins: `[{"kind":"updateMaintainerTeam","value":["team-a"]}]`, err: "must be a string"},
	{name: "removeMaintainer", env: spNoEnv, ins: `[{"kind":"removeMaintainer"}]`, check: spWantMaintainer("", "")},
	{name: "removeMaintainer none", env: spNoEnv, ins: `[{"kind":"removeMaintainer"},{"kind":"removeMaintainer"}]`, check: spWantMaintainer("", "")},

	// ---- lifecycle ----
	{name: "archiveFlag", env: spNoEnv, ins: `[{"kind":"archiveFlag"}]`, check: func(t *testing.T, f *Flag) {
		spEq(t, "archived", spJoin(f.Archived, spProd(f).Archived, f.Environments["test"].Archived), "true true true")
	}},
	{name: "restoreFlag", env: spNoEnv, ins: `[{"kind":"archiveFlag"},{"kind":"restoreFlag"}]`, noop: true},
	{name: "restoreFlag live", env: spNoEnv, ins: `[{"kind":"restoreFlag"}]`, noop: true},
	{name: "deprecateFlag", env: spNoEnv, ins: `[{"kind":"deprecateFlag"}]`, check: func(t *testing.T, f *Flag) { spEq(t, "deprecated", f.Deprecated, true) }},
	{name: "restoreDeprecatedFlag", env: spNoEnv, ins: `[{"kind":"deprecateFlag"},{"kind":"restoreDeprecatedFlag"}]`, noop: true},
	{name: "deleteFlag", env: spNoEnv, ins: `[{"kind":"deleteFlag"}]`, noop: true, deleted: true},
	{name: "deleteFlag last", ins: `[{"kind":"turnFlagOn"},{"kind":"deleteFlag"}]`, deleted: true},
	{name: "deleteFlag not last", env: spNoEnv, ins: `[{"kind":"deleteFlag"},{"kind":"updateName","value":"x"}]`, err: "must be the last instruction"},

	// ---- further error paths ----
	{name: "removeTags none", env: spNoEnv, ins: `[{"kind":"removeTags","values":[]}]`, err: "at least one"},
	{name: "replaceCustomProperties values type", env: spNoEnv, ins: `[{"kind":"replaceCustomProperties","key":"jira","values":"J-1"}]`, err: "list of strings"},
	{name: "removeCustomProperties no key", env: spNoEnv, ins: `[{"kind":"removeCustomProperties","key":"","values":["J-1"]}]`, err: `"key" must not be empty`},
	{name: "turnOffClientSideAvailability type", env: spNoEnv, ins: `[{"kind":"turnOffClientSideAvailability","value":true}]`, err: "must be a string"},
	{name: "updateDescription type", env: spNoEnv, ins: `[{"kind":"updateDescription","value":1}]`, err: "must be a string"},
	{name: "addValuesToClause not a list", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c2","values":"es"}]`, err: "must be a list"},
	{name: "removeValuesFromClause none", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":[]}]`, err: "at least one value"},
	{name: "updateOffVariation unknown", ins: `[{"kind":"updateOffVariation","variationId":"zz"}]`, err: "not a variation"},
	{name: "updateRuleTrackEvents unknown rule", ins: `[{"kind":"updateRuleTrackEvents","ruleId":"zz","trackEvents":true}]`, err: "not a rule"},
	{name: "removeClauses unknown rule", ins: `[{"kind":"removeClauses","ruleId":"zz","clauseIds":["c1"]}]`, err: "not a rule"},
	{name: "addVariation name type", env: spNoEnv, ins: `[{"kind":"addVariation","value":"d","name":5}]`, err: `parameter "name" has the wrong type`},
	{name: "updateDefaultVariation null", env: spNoEnv, ins: `[{"kind":"updateDefaultVariation","onVariationValue":null,"offVariationValue":"zz"}]`, err: "is not the value"},
	{name: "replaceTargets bad kind", ins: `[{"kind":"replaceTargets","targets":[{"variationId":"va","values":["x"],"contextKind":"a b"}]}]`, err: "targets[0].contextKind"},
	{name: "replaceTargets empty key", ins: `[{"kind":"replaceTargets","targets":[{"variationId":"va","values":[""]}]}]`, err: "must not be empty"},
	{name: "prerequisite without variation", ins: `[{"kind":"replacePrerequisites","prerequisites":[{"key":"sp-pre"}]}]`, err: "prerequisites[0].variationId is required"},

	// ---- dispatch ----
	{name: "unknown kind", ins: `[{"kind":"turnFlagSideways"}]`, err: `unknown instruction kind "turnFlagSideways"`},
	{name: "malformed parameter", ins: `[{"kind":"addTargets","variationId":7,"values":["x"]}]`, err: `parameter "variationId" has the wrong type`},
}

func spWantTargets(want string) func(*testing.T, *Flag) {
	return func(t *testing.T, f *Flag) { t.Helper(); spEq(t, "targets", spTargets(spProd(f)), want) }
}

func spWantPrereqs(want string) func(*testing.T, *Flag) {
	return func(t *testing.T, f *Flag) {
		t.Helper()
		spEq(t, "prerequisites", fmt.Sprint(spProd(f).Prerequisites), want)
	}
}

func spWantProps(want string) func(*testing.T, *Flag) {
	return func(t *testing.T, f *Flag) {
		t.Helper()
		spEq(t, "customProperties", fmt.Sprint(f.CustomProperties), want)
	}
}

func spWantMaintainer(member, team string) func(*testing.T, *Flag) {
	return func(t *testing.T, f *Flag) {
		t.Helper()
		spEq(t, "maintainer", f.MaintainerID+"|"+f.MaintainerTeamKey, member+"|"+team)
	}
}

func TestSPFixtureIsValid(t *testing.T) {
	t.Parallel()
	if err := validateFlag(spFlag()); err != nil {
		t.Fatalf("fixture invalid: %v", err)
	}
}

func TestSemanticFlagInstructions(t *testing.T) {
	t.Parallel()
	for _, c := range spCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env := "production"
			switch c.env {
			case spNoEnv:
				env = ""
			case "":
			default:
				env = c.env
			}
			f, ins, deleted, err := spApply(t, env, c.ins)
			if c.err != "" {
				spCheckError(t, err, ins, c.at, c.err)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			spEq(t, "deleted", deleted, c.deleted)
			f.Kind = flagKind(f.Variations)
			if verr := validateFlag(f); verr != nil {
				t.Fatalf("result is invalid: %v", verr)
			}
			if c.noop && !jsonEqual(f, spFlag()) {
				got, _ := json.Marshal(f)
				t.Errorf("expected no change, got %s", got)
			}
			if c.check != nil {
				c.check(t, f)
			}
		})
	}
}

// spCheckError checks a 400 naming instructions[at], its kind and want.
func spCheckError(t *testing.T, err error, ins []Instruction, at int, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("expected an error containing %q", want)
	}
	e := AsError(err)
	if !errors.Is(err, ErrInvalid) || e.Status != 400 {
		t.Fatalf("want a 400 invalid_request, got %v", err)
	}
	if len(e.Errors) != 1 || !strings.HasPrefix(e.Errors[0].Attribute, fmt.Sprintf("instructions[%d]", at)) {
		t.Errorf("attribute = %+v, want instructions[%d]", e.Errors, at)
	}
	if !strings.Contains(e.Message, ins[at].Kind) {
		t.Errorf("message %q does not name the kind %q", e.Message, ins[at].Kind)
	}
	if !strings.Contains(e.Message, want) {
		t.Errorf("message %q does not contain %q", e.Message, want)
	}
}

func TestSPFirstFailingInstruction(t *testing.T) {
	t.Parallel()
	_, ins, _, err := spApply(t, "production", `[
		{"kind":"turnFlagOn"},
		{"kind":"addTargets","variationId":"nope","values":["x"]},
		{"kind":"turnFlagOff","bogus":true},
		{"kind":"noSuchKind"}
	]`)
	spCheckError(t, err, ins, 1, "not a variation")
	if got := AsError(err).Errors[0].Attribute; got != "instructions[1]" {
		t.Errorf("attribute = %q, want instructions[1]", got)
	}
	_, ins, _, err = spApply(t, "production", `[{"kind":"turnFlagOn"},{"kind":"noSuchKind"},{"kind":"addTargets"}]`)
	spCheckError(t, err, ins, 1, "unknown instruction kind")
	if got := AsError(err).Errors[0].Attribute; got != "instructions[1].kind" {
		t.Errorf("attribute = %q, want instructions[1].kind", got)
	}
}

func TestSPLookupFailurePassesThrough(t *testing.T) {
	t.Parallel()
	_, _, _, err := spApply(t, "production", `[{"kind":"addPrerequisite","key":"sp-broken","variationId":"x"}]`)
	if !errors.Is(err, ErrInternal) || errors.Is(err, ErrInvalid) {
		t.Fatalf("want the lookup's internal error, got %v", err)
	}
}

func TestSPRemoveVariationKeepsTwo(t *testing.T) {
	t.Parallel()
	f := &Flag{Key: "two", Name: "Two", Variations: []Variation{{ID: "x", Value: "x"}, {ID: "y", Value: "y"}}, Tags: []string{}}
	ins := []Instruction{{Kind: "removeVariation", Params: map[string]json.RawMessage{"variationId": json.RawMessage(`"y"`)}}}
	_, err := applyFlagInstructions(f, ins, flagPatchContext{})
	spCheckError(t, err, ins, 0, "at least 2 variations")
}

func TestSPDefaultVariationWithoutDefaults(t *testing.T) {
	t.Parallel()
	f := spFlag()
	f.Defaults = nil
	ins := []Instruction{{Kind: "updateDefaultVariation", Params: map[string]json.RawMessage{"onVariationValue": json.RawMessage(`"b"`)}}}
	if _, err := applyFlagInstructions(f, ins, flagPatchContext{}); err != nil {
		t.Fatal(err)
	}
	spEq(t, "defaults", *f.Defaults, FlagDefaults{OnVariation: 1, OffVariation: 2})
}

// spAllKinds are the 53 flag instruction kinds of LaunchDarkly's API.
var spAllKinds = []string{
	"turnFlagOn", "turnFlagOff",
	"addTargets", "removeTargets", "replaceTargets", "clearTargets",
	"addUserTargets", "removeUserTargets", "replaceUserTargets", "clearUserTargets",
	"addRule", "removeRule", "reorderRules", "replaceRules", "updateRuleVariationOrRollout",
	"updateRuleDescription", "updateRuleTrackEvents",
	"addClauses", "removeClauses", "updateClause", "addValuesToClause", "removeValuesFromClause",
	"updateFallthroughVariationOrRollout", "updateOffVariation",
	"addPrerequisite", "removePrerequisite", "updatePrerequisite", "replacePrerequisites",
	"updateTrackEvents", "updateTrackEventsFallthrough",
	"addVariation", "removeVariation", "updateVariation", "updateDefaultVariation",
	"updateName", "updateDescription", "addTags", "removeTags", "makeFlagPermanent", "makeFlagTemporary",
	"addCustomProperties", "replaceCustomProperties", "removeCustomProperties",
	"turnOnClientSideAvailability", "turnOffClientSideAvailability",
	"updateMaintainerMember", "updateMaintainerTeam", "removeMaintainer",
	"archiveFlag", "restoreFlag", "deprecateFlag", "restoreDeprecatedFlag", "deleteFlag",
}

func TestSPEveryKindHasAnActionAndTests(t *testing.T) {
	t.Parallel()
	if len(spAllKinds) != 53 || len(flagInstructionKinds) != 53 {
		t.Fatalf("kinds: listed %d, implemented %d; want 53", len(spAllKinds), len(flagInstructionKinds))
	}
	tested := map[string]bool{}
	for _, c := range spCases {
		var ins []Instruction
		_ = json.Unmarshal([]byte(c.ins), &ins)
		for _, in := range ins {
			tested[in.Kind] = true
		}
	}
	variationLevel := []string{"addVariation", "removeVariation", "updateVariation", "updateDefaultVariation"}
	for i, k := range spAllKinds {
		action, env, ok := flagInstructionAction(k)
		if !ok || action == "" {
			t.Errorf("%s has no action", k)
		}
		wantEnv := i < 30 // on/off and targeting kinds come first in spAllKinds
		if env != wantEnv {
			t.Errorf("%s: envScoped = %v, want %v", k, env, wantEnv)
		}
		if slices.Contains(variationLevel, k) && action != "updateFlagVariations" && action != "updateFlagDefaultVariations" {
			t.Errorf("%s: action %q", k, action)
		}
		if !tested[k] {
			t.Errorf("%s has no test case", k)
		}
	}
	for k, want := range map[string]string{
		"turnFlagOn": "updateOn", "addUserTargets": "updateTargets", "updateClause": "updateRules",
		"updateRuleDescription": "updateFlagRuleDescription", "updateFallthroughVariationOrRollout": "updateFallthrough",
		"replacePrerequisites": "updatePrerequisites", "updateTrackEventsFallthrough": "updateFlagFallthroughTrackEvents",
		"updateDefaultVariation": "updateFlagDefaultVariations", "removeTags": "updateTags", "makeFlagPermanent": "updateTemporary",
		"removeCustomProperties": "updateFlagCustomProperties", "turnOffClientSideAvailability": "updateClientSideFlagAvailability",
		"removeMaintainer": "updateMaintainer", "restoreFlag": "updateGlobalArchived", "restoreDeprecatedFlag": "updateDeprecated",
		"deleteFlag": "deleteFlag",
	} {
		if got, _, _ := flagInstructionAction(k); got != want {
			t.Errorf("action of %s = %q, want %q", k, got, want)
		}
	}
	if _, _, ok := flagInstructionAction("turnFlagSideways"); ok {
		t.Error("unknown kind has an action")
	}
}
