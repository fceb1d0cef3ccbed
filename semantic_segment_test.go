package flagstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// ssSegment is the fixture every case starts from: user and org keys on
// both sides, a device exclusion, and two rules (r2 has a rollout).
func ssSegment() *Segment {
	return &Segment{
		Key:              "seg",
		Name:             "Segment",
		Tags:             []string{"a", "b"},
		CreationDate:     1,
		LastModifiedDate: 1,
		Included:         []string{"u1", "u2"},
		Excluded:         []string{"u3"},
		IncludedContexts: []SegmentTarget{{ContextKind: "org", Values: []string{"o1"}}},
		ExcludedContexts: []SegmentTarget{
			{ContextKind: "org", Values: []string{"o2"}},
			{ContextKind: "device", Values: []string{"d1"}},
		},
		Rules: []SegmentRule{
			{ID: "r1", Description: "first", Clauses: []Clause{
				{ID: "c1", Attribute: "email", Op: "endsWith", Values: []any{".edu"}, ContextKind: "user"},
				{ID: "c2", Attribute: "country", Op: "in", Values: []any{"fr", "de"}, ContextKind: "user"},
			}},
			{ID: "r2", Weight: intPtr(50000), RolloutContextKind: "org", Clauses: []Clause{
				{ID: "c3", Attribute: "key", Op: "segmentMatch", Values: []any{"other"}},
			}},
		},
		Version: 3,
	}
}

// ssIDs returns a deterministic ID source: new-1, new-2, ...
func ssIDs() func() string {
	n := 0
	return func() string { n++; return fmt.Sprintf("new-%d", n) }
}

// ssParse reads a JSON array of instructions.
func ssParse(t *testing.T, s string) []Instruction {
	t.Helper()
	var ins []Instruction
	if err := json.Unmarshal([]byte(s), &ins); err != nil {
		t.Fatalf("bad test instructions %s: %v", s, err)
	}
	return ins
}

// ssJSON is v's JSON text, for comparing segments.
func ssJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ssCase is one table entry: instructions, the expected change to the
// fixture (nil: none) or the expected error, whose attribute defaults to
// instructions[0].
type ssCase struct {
	name  string
	setup func(*Segment)
	ins   string
	want  func(*Segment)
	err   string
	attr  string
}

// ssUserCtx puts a user key in includedContexts, as JSON Patch can.
func ssUserCtx(s *Segment) {
	s.IncludedContexts = append(s.IncludedContexts, SegmentTarget{ContextKind: "user", Values: []string{"u7"}})
}

func ssRule(s *Segment, id string) *SegmentRule {
	return &s.Rules[segRuleIndex(s, id)]
}

var ssCases = []ssCase{
	// updateName
	{name: "updateName", ins: `[{"kind":"updateName","value":"New name"}]`,
		want: func(s *Segment) { s.Name = "New name" }},
	{name: "updateName same", ins: `[{"kind":"updateName","value":"Segment"}]`},
	{name: "updateName empty", ins: `[{"kind":"updateName","value":" "}]`, err: "name must be present"},
	{name: "updateName missing", ins: `[{"kind":"updateName"}]`, err: `"value" is required`},
	{name: "updateName wrong type", ins: `[{"kind":"updateName","value":3}]`, err: "wrong type"},

	// addTags / removeTags
	{name: "addTags", ins: `[{"kind":"addTags","values":["c","a","c"]}]`,
		want: func(s *Segment) { s.Tags = []string{"a", "b", "c"} }},
	{name: "addTags present", ins: `[{"kind":"addTags","values":["b","a"]}]`},
	{name: "addTags invalid", ins: `[{"kind":"addTags","values":["bad tag"]}]`, err: "may contain only"},
	{name: "addTags not strings", ins: `[{"kind":"addTags","values":[1]}]`, err: "array of strings"},
	{name: "removeTags", ins: `[{"kind":"removeTags","values":["a","zz"]}]`,
		want: func(s *Segment) { s.Tags = []string{"b"} }},
	{name: "removeTags absent", ins: `[{"kind":"removeTags","values":["zz"]}]`},
	{name: "removeTags missing", ins: `[{"kind":"removeTags"}]`, err: `"values" is required`},

	// included targets
	{name: "addIncludedTargets org", ins: `[{"kind":"addIncludedTargets","contextKind":"org","values":["o3","o4"]}]`,
		want: func(s *Segment) { s.IncludedContexts[0].Values = []string{"o1", "o3", "o4"} }},
	{name: "addIncludedTargets new kind", ins: `[{"kind":"addIncludedTargets","contextKind":"device","values":["d9","d9"]}]`,
		want: func(s *Segment) {
			s.IncludedContexts = append(s.IncludedContexts, SegmentTarget{ContextKind: "device", Values: []string{"d9"}})
		}},
	{name: "addIncludedTargets user", ins: `[{"kind":"addIncludedTargets","contextKind":"user","values":["u9"]}]`,
		want: func(s *Segment) { s.Included = append(s.Included, "u9") }},
	{name: "addIncludedTargets no kind is user", ins: `[{"kind":"addIncludedTargets","values":["u9"]}]`,
		want: func(s *Segment) { s.Included = append(s.Included, "u9") }},
	{name: "addIncludedTargets present", ins: `[{"kind":"addIncludedTargets","contextKind":"org","values":["o1"]}]`},
	{name: "addIncludedTargets present in user context list", setup: ssUserCtx,
		ins: `[{"kind":"addIncludedTargets","contextKind":"user","values":["u7"]}]`},
	{name: "addIncludedTargets excluded", ins: `[{"kind":"addIncludedTargets","contextKind":"org","values":["o3","o2"]}]`,
		err: "both included and excluded"},
	{name: "addIncludedTargets reserved kind", ins: `[{"kind":"addIncludedTargets","contextKind":"multi","values":["x"]}]`,
		err: "reserved"},
	{name: "addIncludedTargets empty key", ins: `[{"kind":"addIncludedTargets","contextKind":"org","values":[""]}]`,
		err: "must not be empty"},
	{name: "addIncludedTargets missing values", ins: `[{"kind":"addIncludedTargets","contextKind":"org"}]`,
		err: `"values" is required`},
	{name: "removeIncludedTargets drops entry", ins: `[{"kind":"removeIncludedTargets","contextKind":"org","values":["o1"]}]`,
		want: func(s *Segment) { s.IncludedContexts = nil }},
	{name: "removeIncludedTargets user", ins: `[{"kind":"removeIncludedTargets","contextKind":"user","values":["u1"]}]`,
		want: func(s *Segment) { s.Included = []string{"u2"} }},
	{name: "removeIncludedTargets user context list", setup: ssUserCtx,
		ins:  `[{"kind":"removeIncludedTargets","contextKind":"user","values":["u7"]}]`,
		want: func(s *Segment) { s.IncludedContexts = s.IncludedContexts[:1] }},
	{name: "removeIncludedTargets absent", ins: `[{"kind":"removeIncludedTargets","contextKind":"org","values":["o9"]}]`},
	{name: "removeIncludedTargets other kind", ins: `[{"kind":"removeIncludedTargets","contextKind":"device","values":["o1"]}]`},
	{name: "addIncludedUsers", ins: `[{"kind":"addIncludedUsers","values":["u9","u1"]}]`,
		want: func(s *Segment) { s.Included = append(s.Included, "u9") }},
	{name: "addIncludedUsers ignores contextKind", ins: `[{"kind":"addIncludedUsers","contextKind":"org","values":["o9"]}]`,
		want: func(s *Segment) { s.Included = append(s.Included, "o9") }},
	{name: "addIncludedUsers present", ins: `[{"kind":"addIncludedUsers","values":["u2"]}]`},
	{name: "addIncludedUsers excluded", ins: `[{"kind":"addIncludedUsers","values":["u3"]}]`, err: "both included and excluded"},
	{name: "removeIncludedUsers all", ins: `[{"kind":"removeIncludedUsers","values":["u1","u2"]}]`,
		want: func(s *Segment) { s.Included = nil }},
	{name: "removeIncludedUsers absent", ins: `[{"kind":"removeIncludedUsers","values":["u9"]}]`},

	// excluded targets
	{name: "addExcludedTargets", ins: `[{"kind":"addExcludedTargets","contextKind":"org","values":["o9"]}]`,
		want: func(s *Segment) { s.ExcludedContexts[0].Values = []string{"o2", "o9"} }},
	{name: "addExcludedTargets present", ins: `[{"kind":"addExcludedTargets","contextKind":"device","values":["d1"]}]`},
	{name: "addExcludedTargets included", ins: `[{"kind":"addExcludedTargets","contextKind":"org","values":["o1"]}]`,
		err: "both included and excluded"},
	{name: "addExcludedTargets included via user context list", setup: ssUserCtx,
		ins: `[{"kind":"addExcludedTargets","contextKind":"user","values":["u7"]}]`, err: "already included"},
	{name: "removeExcludedTargets drops entry", ins: `[{"kind":"removeExcludedTargets","contextKind":"device","values":["d1"]}]`,
		want: func(s *Segment) { s.ExcludedContexts = s.ExcludedContexts[:1] }},
	{name: "removeExcludedTargets absent", ins: `[{"kind":"removeExcludedTargets","contextKind":"org","values":["o1"]}]`},
	{name: "addExcludedUsers", ins: `[{"kind":"addExcludedUsers","values":["u9"]}]`,
		want: func(s *Segment) { s.Excluded = []string{"u3", "u9"} }},
	{name: "addExcludedUsers present", ins: `[{"kind":"addExcludedUsers","values":["u3"]}]`},
	{name: "addExcludedUsers included", ins: `[{"kind":"addExcludedUsers","values":["u1"]}]`, err: "already included"},
	{name: "removeExcludedUsers", ins: `[{"kind":"removeExcludedUsers","values":["u3"]}]`,
		want: func(s *Segment) { s.Excluded = nil }},
	{name: "removeExcludedUsers absent", ins: `[{"kind":"removeExcludedUsers","values":["u1"]}]`},
	{name: "move a key from excluded to included",
		ins:  `[{"kind":"removeExcludedUsers","values":["u3"]},{"kind":"addIncludedUsers","values":["u3"]}]`,
		want: func(s *Segment) { s.Excluded = nil; s.Included = append(s.Included, "u3") }},

	// addRule
	{name: "addRule", ins: `[{"kind":"addRule","description":"new","clauses":[
			{"attribute":"email","op":"contains","values":["@x.com"]},
			{"attribute":"key","op":"segmentMatch","values":["other"],"negate":true}]}]`,
		want: func(s *Segment) {
			s.Rules = append(s.Rules, SegmentRule{ID: "new-1", Description: "new", Clauses: []Clause{
				{ID: "new-2", Attribute: "email", Op: "contains", Values: []any{"@x.com"}, ContextKind: "user"},
				{ID: "new-3", Attribute: "key", Op: "segmentMatch", Values: []any{"other"}, Negate: true},
			}})
		}},
	{name: "addRule before", ins: `[{"kind":"addRule","beforeRuleId":"r2","clauses":[
			{"contextKind":"org","attribute":"tier","op":"greaterThan","values":[2],"_id":"ignored"}]}]`,
		want: func(s *Segment) {
			s.Rules = slices.Insert(s.Rules, 1, SegmentRule{ID: "new-1", Clauses: []Clause{
				{ID: "new-2", Attribute: "tier", Op: "greaterThan", Values: []any{2.0}, ContextKind: "org"},
			}})
		}},
	{name: "addRule no clauses", ins: `[{"kind":"addRule"}]`,
		want: func(s *Segment) { s.Rules = append(s.Rules, SegmentRule{ID: "new-1", Clauses: []Clause{}}) }},
	{name: "addRule then describe it",
		ins: `[{"kind":"addRule"},{"kind":"updateRuleDescription","ruleId":"new-1","description":"later"}]`,
		want: func(s *Segment) {
			s.Rules = append(s.Rules, SegmentRule{ID: "new-1", Description: "later", Clauses: []Clause{}})
		}},
	{name: "addRule unknown before", ins: `[{"kind":"addRule","beforeRuleId":"nope"}]`, err: `no rule with _id "nope"`},
	{name: "addRule bad op", ins: `[{"kind":"addRule","clauses":[{"attribute":"a","op":"like","values":["x"]}]}]`,
		err: `clauses[0]: unknown clause operator "like"`},
	{name: "addRule no attribute", ins: `[{"kind":"addRule","clauses":[{"op":"in","values":["x"]}]}]`,
		err: "attribute must be present"},
	{name: "addRule no values", ins: `[{"kind":"addRule","clauses":[{"attribute":"a","op":"in"}]}]`,
		err: "at least one value"},
	{name: "addRule bad regex", ins: `[{"kind":"addRule","clauses":[{"attribute":"a","op":"matches","values":["("]}]}]`,
		err: "regular expression"},
	{name: "addRule matches itself", ins: `[{"kind":"addRule","clauses":[{"attribute":"key","op":"segmentMatch","values":["seg"]}]}]`,
		err: "cannot match itself"},
	{name: "addRule clauses not array", ins: `[{"kind":"addRule","clauses":{}}]`, err: "wrong type"},

	// removeRule
	{name: "removeRule", ins: `[{"kind":"removeRule","ruleId":"r1"}]`,
		want: func(s *Segment) { s.Rules = s.Rules[1:] }},
	{name: "removeRule missing rule", ins: `[{"kind":"removeRule","ruleId":"nope"}]`},
	{name: "removeRule no ruleId", ins: `[{"kind":"removeRule"}]`, err: `"ruleId" is required`},

	// reorderRules
	{name: "reorderRules", ins: `[{"kind":"reorderRules","ruleIds":["r2","r1"]}]`,
		want: func(s *Segment) { s.Rules[0], s.Rules[1] = s.Rules[1], s.Rules[0] }},
	{name: "reorderRules same order", ins: `[{"kind":"reorderRules","ruleIds":["r1","r2"]}]`},
	{name: "reorderRules missing one", ins: `[{"kind":"reorderRules","ruleIds":["r2"]}]`, err: "exactly once"},
	{name: "reorderRules duplicate", ins: `[{"kind":"reorderRules","ruleIds":["r1","r1"]}]`, err: "exactly once"},
	{name: "reorderRules unknown", ins: `[{"kind":"reorderRules","ruleIds":["r1","r2","r3"]}]`, err: "exactly once"},

	// updateRuleDescription
	{name: "updateRuleDescription", ins: `[{"kind":"updateRuleDescription","ruleId":"r2","description":"second"}]`,
		want: func(s *Segment) { s.Rules[1].Description = "second" }},
	{name: "updateRuleDescription clear", ins: `[{"kind":"updateRuleDescription","ruleId":"r1","description":""}]`,
		want: func(s *Segment) { s.Rules[0].Description = "" }},
	{name: "updateRuleDescription unknown rule", ins: `[{"kind":"updateRuleDescription","ruleId":"x","description":"d"}]`,
		err: `no rule with _id "x"`},
	{name: "updateRuleDescription missing", ins: `[{"kind":"updateRuleDescription","ruleId":"r1"}]`,
		err: `"description" is required`},

	// updateRuleRolloutAndContextKind
	{name: "updateRuleRollout", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1","weight":20000,"contextKind":"device"}]`,
		want: func(s *Segment) { s.Rules[0].Weight = intPtr(20000); s.Rules[0].RolloutContextKind = "device" }},
	{name: "updateRuleRollout string weight keeps kind", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r2","weight":"100000"}]`,
		want: func(s *Segment) { s.Rules[1].Weight = intPtr(100000) }},
	{name: "updateRuleRollout zero", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r2","weight":0,"contextKind":"org"}]`,
		want: func(s *Segment) { s.Rules[1].Weight = intPtr(0) }},
	{name: "updateRuleRollout same", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r2","weight":50000,"contextKind":"org"}]`},
	{name: "updateRuleRollout too big", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1","weight":100001}]`,
		err: "between 0 and 100000"},
	{name: "updateRuleRollout negative", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1","weight":-1}]`,
		err: "between 0 and 100000"},
	{name: "updateRuleRollout fraction", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1","weight":2.5}]`,
		err: "whole number"},
	{name: "updateRuleRollout not a number", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1","weight":"lots"}]`,
		err: "must be a number"},
	{name: "updateRuleRollout bad kind", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1","weight":1,"contextKind":"kind"}]`,
		err: "reserved"},
	{name: "updateRuleRollout unknown rule", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"x","weight":1}]`,
		err: `no rule with _id "x"`},
	{name: "updateRuleRollout no weight", ins: `[{"kind":"updateRuleRolloutAndContextKind","ruleId":"r1"}]`,
		err: `"weight" is required`},

	// addClauses / removeClauses / updateClause
	{name: "addClauses", ins: `[{"kind":"addClauses","ruleId":"r2","clauses":[{"attribute":"plan","op":"in","values":["pro"]}]}]`,
		want: func(s *Segment) {
			s.Rules[1].Clauses = append(s.Rules[1].Clauses,
				Clause{ID: "new-1", Attribute: "plan", Op: "in", Values: []any{"pro"}, ContextKind: "user"})
		}},
	{name: "addClauses unknown rule", ins: `[{"kind":"addClauses","ruleId":"x","clauses":[{"attribute":"a","op":"in","values":["b"]}]}]`,
		err: `no rule with _id "x"`},
	{name: "addClauses empty", ins: `[{"kind":"addClauses","ruleId":"r1","clauses":[]}]`, err: "at least one clause"},
	{name: "addClauses invalid", ins: `[{"kind":"addClauses","ruleId":"r1","clauses":[{"attribute":"a","op":"in","values":["b"]},{"attribute":"n","op":"lessThan","values":["x"]}]}]`,
		err: "clauses[1]: lessThan compares numbers"},
	{name: "removeClauses", ins: `[{"kind":"removeClauses","ruleId":"r1","clauseIds":["c1","zz"]}]`,
		want: func(s *Segment) { s.Rules[0].Clauses = s.Rules[0].Clauses[1:] }},
	{name: "removeClauses absent", ins: `[{"kind":"removeClauses","ruleId":"r1","clauseIds":["c3"]}]`},
	{name: "removeClauses unknown rule", ins: `[{"kind":"removeClauses","ruleId":"x","clauseIds":["c1"]}]`, err: `no rule with _id "x"`},
	{name: "removeClauses missing ids", ins: `[{"kind":"removeClauses","ruleId":"r1"}]`, err: `"clauseIds" is required`},
	{name: "updateClause", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c2","clause":{"attribute":"country","op":"in","values":["mx"],"negate":true}}]`,
		want: func(s *Segment) {
			s.Rules[0].Clauses[1] = Clause{ID: "c2", Attribute: "country", Op: "in", Values: []any{"mx"}, ContextKind: "user", Negate: true}
		}},
	{name: "updateClause same", ins: `[{"kind":"updateClause","ruleId":"r2","clauseId":"c3","clause":{"attribute":"key","op":"segmentMatch","values":["other"]}}]`},
	{name: "updateClause unknown clause", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c3","clause":{"attribute":"a","op":"in","values":["b"]}}]`,
		err: `rule "r1" has no clause with _id "c3"`},
	{name: "updateClause invalid", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c1","clause":{"attribute":"a","op":"in","values":[]}}]`,
		err: "at least one value"},
	{name: "updateClause missing", ins: `[{"kind":"updateClause","ruleId":"r1","clauseId":"c1"}]`, err: `"clause" is required`},

	// clause values
	{name: "addValuesToClause", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c1","values":[".org",".edu"]}]`,
		want: func(s *Segment) { s.Rules[0].Clauses[0].Values = []any{".edu", ".org"} }},
	{name: "addValuesToClause present", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c2","values":["de"]}]`},
	{name: "addValuesToClause wrong type", ins: `[{"kind":"addValuesToClause","ruleId":"r1","clauseId":"c1","values":[3]}]`,
		err: "endsWith compares strings"},
	{name: "addValuesToClause self", ins: `[{"kind":"addValuesToClause","ruleId":"r2","clauseId":"c3","values":["seg"]}]`,
		err: "cannot match itself"},
	{name: "addValuesToClause unknown rule", ins: `[{"kind":"addValuesToClause","ruleId":"x","clauseId":"c1","values":["a"]}]`,
		err: `no rule with _id "x"`},
	{name: "removeValuesFromClause", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":["fr","xx"]}]`,
		want: func(s *Segment) { s.Rules[0].Clauses[1].Values = []any{"de"} }},
	{name: "removeValuesFromClause absent", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":["xx"]}]`},
	{name: "removeValuesFromClause all", ins: `[{"kind":"removeValuesFromClause","ruleId":"r1","clauseId":"c2","values":["fr","de"]}]`,
		err: "at least one value"},
	{name: "removeValuesFromClause unknown clause", ins: `[{"kind":"removeValuesFromClause","ruleId":"r2","clauseId":"c1","values":["a"]}]`,
		err: "no clause"},

	// big segments and unknown kinds
	{name: "addBigSegmentIncludedTargets", ins: `[{"kind":"addBigSegmentIncludedTargets","values":["a"]}]`, err: "big segments are not supported"},
	{name: "removeBigSegmentIncludedTargets", ins: `[{"kind":"removeBigSegmentIncludedTargets","values":["a"]}]`, err: "big segments are not supported"},
	{name: "addBigSegmentExcludedTargets", ins: `[{"kind":"addBigSegmentExcludedTargets","values":["a"]}]`, err: "big segments are not supported"},
	{name: "removeBigSegmentExcludedTargets", ins: `[{"kind":"removeBigSegmentExcludedTargets","values":["a"]}]`, err: "big segments are not supported"},
	{name: "big segment kind with odd params", ins: `[{"kind":"addBigSegmentIncludedTargets","ruleId":5}]`, err: "big segments are not supported"},
	{name: "processBigSegmentImport", ins: `[{"kind":"processBigSegmentImport","importId":"x"}]`, err: "big segments are not supported"},
	{name: "unknown kind", ins: `[{"kind":"turnFlagOn"}]`, err: `unknown instruction kind "turnFlagOn"`, attr: "instructions[0].kind"},
	{name: "updateDescription is not a segment kind", ins: `[{"kind":"updateName","value":"x"},{"kind":"updateDescription","value":"d"}]`,
		err: "unknown instruction kind", attr: "instructions[1].kind"},
}

func TestSemanticSegmentInstructions(t *testing.T) {
	t.Parallel()
	for _, tc := range ssCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ins := ssParse(t, tc.ins)
			got, want := ssSegment(), ssSegment()
			if tc.setup != nil {
				tc.setup(got)
				tc.setup(want)
			}
			err := applySegmentInstructions(got, ins, ssIDs())
			if tc.err != "" {
				attr := tc.attr
				if attr == "" {
					attr = "instructions[0]"
				}
				e := tstInvalid(t, err, attr)
				if !strings.Contains(e.Message, tc.err) {
					t.Errorf("message %q does not contain %q", e.Message, tc.err)
				}
				idx := 0
				fmt.Sscanf(attr, "instructions[%d]", &idx)
				if !strings.Contains(e.Message, ins[idx].Kind) {
					t.Errorf("message %q does not name the kind %q", e.Message, ins[idx].Kind)
				}
				return
			}
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if tc.want != nil {
				tc.want(want)
			}
			if g, w := ssJSON(t, got), ssJSON(t, want); g != w {
				t.Errorf("segment\n got %s\nwant %s", g, w)
			}
			if verr := validateSegment(got); verr != nil {
				t.Errorf("result fails validateSegment: %v", verr)
			}
		})
	}
}

// TestSSFirstFailureIndex checks that the first failing instruction is
// reported, by index and kind, even when a later one would also fail.
func TestSSFirstFailureIndex(t *testing.T) {
	t.Parallel()
	ins := ssParse(t, `[
		{"kind":"addTags","values":["c"]},
		{"kind":"removeClauses","ruleId":"missing","clauseIds":["c1"]},
		{"kind":"bogus"}]`)
	err := applySegmentInstructions(ssSegment(), ins, ssIDs())
	e := tstInvalid(t, err, "instructions[1]")
	if !strings.HasPrefix(e.Message, "removeClauses: ") {
		t.Errorf("message %q does not start with the kind", e.Message)
	}
	if len(e.Errors) != 1 {
		t.Errorf("field errors %+v, want exactly one", e.Errors)
	}
}

// TestSSTargetLimit checks the 1,500 target operations of one request,
// counted across instructions and both directions.
func TestSSTargetLimit(t *testing.T) {
	t.Parallel()
	keys := func(prefix string, n int) string {
		ks := make([]string, n)
		for i := range ks {
			ks[i] = fmt.Sprintf("%q", fmt.Sprintf("%s%d", prefix, i))
		}
		return "[" + strings.Join(ks, ",") + "]"
	}
	for _, tc := range []struct {
		name string
		ins  string
		attr string
	}{
		{"exactly the limit", `[{"kind":"addIncludedTargets","contextKind":"org","values":` + keys("k", 1500) + `}]`, ""},
		{"over in one", `[{"kind":"addIncludedUsers","values":` + keys("k", 1501) + `}]`, "instructions[0]"},
		{"over across", `[{"kind":"addExcludedTargets","contextKind":"org","values":` + keys("k", 1000) + `},
			{"kind":"addTags","values":["t"]},
			{"kind":"removeIncludedUsers","values":` + keys("x", 501) + `}]`, "instructions[2]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			seg := ssSegment()
			err := applySegmentInstructions(seg, ssParse(t, tc.ins), ssIDs())
			if tc.attr == "" {
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				if verr := validateSegment(seg); verr != nil {
					t.Errorf("result fails validateSegment: %v", verr)
				}
				return
			}
			e := tstInvalid(t, err, tc.attr)
			if !strings.Contains(e.Message, "at most 1500") {
				t.Errorf("message %q does not state the limit", e.Message)
			}
		})
	}
}

// ssKinds are the 26 segment instruction kinds LaunchDarkly documents.
var ssKinds = []string{
	"updateName", "addTags", "removeTags",
	"addIncludedTargets", "removeIncludedTargets", "addExcludedTargets", "removeExcludedTargets",
	"addIncludedUsers", "removeIncludedUsers", "addExcludedUsers", "removeExcludedUsers",
	"addRule", "removeRule", "reorderRules", "updateRuleDescription", "updateRuleRolloutAndContextKind",
	"addClauses", "removeClauses", "updateClause", "addValuesToClause", "removeValuesFromClause",
	"addBigSegmentIncludedTargets", "removeBigSegmentIncludedTargets",
	"addBigSegmentExcludedTargets", "removeBigSegmentExcludedTargets", "processBigSegmentImport",
}

func TestSemanticSegmentActions(t *testing.T) {
	t.Parallel()
	if len(ssKinds) != 26 {
		t.Fatalf("test lists %d kinds, want 26", len(ssKinds))
	}
	actions := []string{"updateName", "updateTags", "updateIncluded", "updateExcluded", "updateRules"}
	for _, k := range ssKinds {
		a, ok := segmentInstructionAction(k)
		if !ok || !slices.Contains(actions, a) {
			t.Errorf("segmentInstructionAction(%q) = %q, %v", k, a, ok)
		}
	}
	for k := range segInsOps {
		if !slices.Contains(ssKinds, k) {
			t.Errorf("kind %q is handled but not documented for segments", k)
		}
	}
	for k, want := range map[string]string{
		"updateName": "updateName", "removeTags": "updateTags", "addIncludedUsers": "updateIncluded",
		"removeExcludedTargets": "updateExcluded", "reorderRules": "updateRules",
		"updateRuleDescription": "updateRules", "updateRuleRolloutAndContextKind": "updateRules",
	} {
		if a, _ := segmentInstructionAction(k); a != want {
			t.Errorf("segmentInstructionAction(%q) = %q, want %q", k, a, want)
		}
	}
	for _, k := range []string{"updateDescription", "turnFlagOn", ""} {
		if a, ok := segmentInstructionAction(k); ok {
			t.Errorf("segmentInstructionAction(%q) = %q, true; want not ok", k, a)
		}
	}
}

// TestSSEmptyAndNilParams checks instructions built in Go rather than
// parsed: no parameters at all.
func TestSSEmptyAndNilParams(t *testing.T) {
	t.Parallel()
	seg := ssSegment()
	if err := applySegmentInstructions(seg, []Instruction{{Kind: "addRule"}}, ssIDs()); err != nil {
		t.Fatalf("addRule without params: %v", err)
	}
	if r := ssRule(seg, "new-1"); r.Clauses == nil {
		t.Errorf("new rule has nil clauses")
	}
	err := applySegmentInstructions(seg, []Instruction{{Kind: "removeRule"}}, ssIDs())
	tstInvalid(t, err, "instructions[0]")
	if err := applySegmentInstructions(seg, nil, ssIDs()); err != nil {
		t.Errorf("no instructions: %v", err)
	}
}
