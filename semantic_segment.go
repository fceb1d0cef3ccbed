package flagstore

// Semantic-patch instructions for segments (LaunchDarkly's "Patch segment"
// with domain-model=launchdarkly.semanticpatch). Instructions apply in
// order to the caller's private copy of the segment; the first failure
// aborts the whole patch. The caller validates the complete result.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// maxSegmentTargetOps bounds the context keys that one request may add to
// or remove from a segment's included and excluded lists.
const maxSegmentTargetOps = 1500

// segInsOp describes one segment instruction kind: the action a policy must
// allow, the parameters it requires, and how it applies (nil: refused as a
// big-segment instruction).
type segInsOp struct {
	action   string
	required []string
	apply    func(a *segInsApplier, p *segInsParams) error
}

// segInsParams holds every parameter any segment instruction takes. Values
// stays raw because it holds context keys or tags for some kinds and clause
// values of any JSON type for others; Weight stays raw because LaunchDarkly's
// own example sends it as a string.
type segInsParams struct {
	Value        *string         `json:"value"`
	Values       json.RawMessage `json:"values"`
	ContextKind  string          `json:"contextKind"`
	Clauses      []Clause        `json:"clauses"`
	Clause       *Clause         `json:"clause"`
	Description  *string         `json:"description"`
	BeforeRuleID string          `json:"beforeRuleId"`
	RuleID       string          `json:"ruleId"`
	RuleIDs      []string        `json:"ruleIds"`
	ClauseID     string          `json:"clauseId"`
	ClauseIDs    []string        `json:"clauseIds"`
	Weight       json.RawMessage `json:"weight"`
}

// segInsApplier carries the state of one request's instructions.
type segInsApplier struct {
	seg       *Segment
	newUUID   func() string
	targetOps int
}

// errSegInsBigSegment is the refusal of every big-segment instruction.
var errSegInsBigSegment = errors.New("big segments are not supported by this store")

// segInsOps maps each instruction kind LaunchDarkly documents for segments
// to its handling. LaunchDarkly documents no updateDescription for
// segments, so it is absent (JSON Patch edits the description). The
// big-segment kinds have no handler: they are refused, but carry the
// actions LaunchDarkly's policies would check, so authorization can run
// before the refusal.
var segInsOps = map[string]segInsOp{
	"updateName": {"updateName", []string{"value"}, (*segInsApplier).updateName},
	"addTags":    {"updateTags", []string{"values"}, (*segInsApplier).addTags},
	"removeTags": {"updateTags", []string{"values"}, (*segInsApplier).removeTags},

	"addIncludedTargets":    {"updateIncluded", []string{"values"}, segInsTargets(false, true, false)},
	"removeIncludedTargets": {"updateIncluded", []string{"values"}, segInsTargets(false, false, false)},
	"addIncludedUsers":      {"updateIncluded", []string{"values"}, segInsTargets(false, true, true)},
	"removeIncludedUsers":   {"updateIncluded", []string{"values"}, segInsTargets(false, false, true)},
	"addExcludedTargets":    {"updateExcluded", []string{"values"}, segInsTargets(true, true, false)},
	"removeExcludedTargets": {"updateExcluded", []string{"values"}, segInsTargets(true, false, false)},
	"addExcludedUsers":      {"updateExcluded", []string{"values"}, segInsTargets(true, true, true)},
	"removeExcludedUsers":   {"updateExcluded", []string{"values"}, segInsTargets(true, false, true)},

	"addRule":                         {"updateRules", nil, (*segInsApplier).addRule},
	"removeRule":                      {"updateRules", []string{"ruleId"}, (*segInsApplier).removeRule},
	"reorderRules":                    {"updateRules", []string{"ruleIds"}, (*segInsApplier).reorderRules},
	"updateRuleDescription":           {"updateRules", []string{"ruleId", "description"}, (*segInsApplier).updateRuleDescription},
	"updateRuleRolloutAndContextKind": {"updateRules", []string{"ruleId", "weight"}, (*segInsApplier).updateRuleRollout},
	"addClauses":                      {"updateRules", []string{"ruleId", "clauses"}, (*segInsApplier).addClauses},
	"removeClauses":                   {"updateRules", []string{"ruleId", "clauseIds"}, (*segInsApplier).removeClauses},
	"updateClause":                    {"updateRules", []string{"ruleId", "clauseId", "clause"}, (*segInsApplier).updateClause},
	"addValuesToClause":               {"updateRules", []string{"ruleId", "clauseId", "values"}, (*segInsApplier).addValuesToClause},
	"removeValuesFromClause":          {"updateRules", []string{"ruleId", "clauseId", "values"}, (*segInsApplier).removeValuesFromClause},

	"addBigSegmentIncludedTargets":    {action: "updateIncluded"},
	"removeBigSegmentIncludedTargets": {action: "updateIncluded"},
	"addBigSegmentExcludedTargets":    {action: "updateExcluded"},
	"removeBigSegmentExcludedTargets": {action: "updateExcluded"},
	"processBigSegmentImport":         {action: "updateIncluded"},
}

// segInsTargets is the handler of one included/excluded instruction.
func segInsTargets(excluded, add, user bool) func(*segInsApplier, *segInsParams) error {
	return func(a *segInsApplier, p *segInsParams) error { return a.targets(p, excluded, add, user) }
}

// segmentInstructionAction maps an instruction kind to the LaunchDarkly
// action a policy must allow on the segment for it (updateName, updateTags,
// updateIncluded, updateExcluded or updateRules). ok is false for a kind
// that segments do not have.
func segmentInstructionAction(kind string) (action string, ok bool) {
	op, ok := segInsOps[kind]
	return op.action, ok
}

// applySegmentInstructions applies semantic-patch instructions, in order, to
// seg (the caller's private copy). newUUID gives IDs to new rules and
// clauses. It returns the first failing instruction's error, a 400 naming
// instructions[i]; seg is then partly changed and must be discarded.
// Instructions already in effect (adding a present key or tag, removing an
// absent one, removing a missing rule) change nothing and succeed.
func applySegmentInstructions(seg *Segment, ins []Instruction, newUUID func() string) error {
	a := &segInsApplier{seg: seg, newUUID: newUUID}
	for i, in := range ins {
		op, ok := segInsOps[in.Kind]
		if !ok {
			return invalidf(fmt.Sprintf("instructions[%d].kind", i), "unknown instruction kind %q", in.Kind)
		}
		if err := a.apply(in, op); err != nil {
			return invalidf(fmt.Sprintf("instructions[%d]", i), "%s: %s", in.Kind, segInsMessage(err))
		}
	}
	return nil
}

// segInsMessage is an error's text without the code an *Error adds.
func segInsMessage(err error) string {
	if e, ok := err.(*Error); ok {
		return e.Message
	}
	return err.Error()
}

// apply checks an instruction's required parameters, decodes them and runs
// the kind's handler.
func (a *segInsApplier) apply(in Instruction, op segInsOp) error {
	if op.apply == nil {
		return errSegInsBigSegment
	}
	for _, name := range op.required {
		if raw, ok := in.Params[name]; !ok || string(raw) == "null" {
			return fmt.Errorf("parameter %q is required", name)
		}
	}
	var p segInsParams
	if err := in.decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("parameter %q has the wrong type: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("malformed parameters: %v", err)
	}
	return op.apply(a, &p)
}

// stringValues reads the values parameter as a list of strings.
func (p *segInsParams) stringValues() ([]string, error) {
	var vs []string
	if len(p.Values) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(p.Values, &vs); err != nil {
		return nil, errors.New(`parameter "values" must be an array of strings`)
	}
	return vs, nil
}

// anyValues reads the values parameter as a list of clause values.
func (p *segInsParams) anyValues() ([]any, error) {
	var vs []any
	if len(p.Values) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(p.Values, &vs); err != nil {
		return nil, errors.New(`parameter "values" must be an array`)
	}
	return vs, nil
}

func (a *segInsApplier) updateName(p *segInsParams) error {
	if err := validName("name", *p.Value); err != nil {
		return err
	}
	a.seg.Name = *p.Value
	return nil
}

func (a *segInsApplier) addTags(p *segInsParams) error {
	tags, err := p.stringValues()
	if err != nil {
		return err
	}
	for _, t := range tags {
		if slices.Contains(a.seg.Tags, t) {
			continue
		}
		if err := validTags("tags", []string{t}); err != nil {
			return err
		}
		a.seg.Tags = append(a.seg.Tags, t)
	}
	return nil
}

func (a *segInsApplier) removeTags(p *segInsParams) error {
	tags, err := p.stringValues()
	if err != nil {
		return err
	}
	a.seg.Tags = slices.DeleteFunc(a.seg.Tags, func(t string) bool { return slices.Contains(tags, t) })
	return nil
}

// targets adds or removes context keys in the included (excluded false) or
// excluded list. The legacy user forms (user true) act on user keys and
// ignore contextKind.
func (a *segInsApplier) targets(p *segInsParams, excluded, add, user bool) error {
	keys, err := p.stringValues()
	if err != nil {
		return err
	}
	a.targetOps += len(keys)
	if a.targetOps > maxSegmentTargetOps {
		return fmt.Errorf("a request may add or remove at most %d targets", maxSegmentTargetOps)
	}
	kind := "user"
	if !user && p.ContextKind != "" {
		if err := validContextKind("contextKind", p.ContextKind); err != nil {
			return err
		}
		kind = p.ContextKind
	}
	for _, k := range keys {
		if k == "" {
			return errors.New("context keys must not be empty")
		}
	}
	if !add {
		for _, k := range keys {
			segRemoveTarget(a.seg, excluded, kind, k)
		}
		return nil
	}
	for _, k := range keys {
		if segHasTarget(a.seg, excluded, kind, k) {
			continue
		}
		if segHasTarget(a.seg, !excluded, kind, k) {
			other := "excluded from"
			if excluded {
				other = "included in"
			}
			return fmt.Errorf("context key %q of kind %q is already %s the segment; a key cannot be both included and excluded", k, kind, other)
		}
		segAddTarget(a.seg, excluded, kind, k)
	}
	return nil
}

// segTargetLists returns the user-key list and the per-kind lists of the
// included or excluded side of a segment.
func segTargetLists(seg *Segment, excluded bool) (*[]string, *[]SegmentTarget) {
	if excluded {
		return &seg.Excluded, &seg.ExcludedContexts
	}
	return &seg.Included, &seg.IncludedContexts
}

// segHasTarget reports whether a key of a kind is on one side of a segment.
// User keys count in the user list and in a "user" entry of the per-kind
// lists, which JSON Patch may have written.
func segHasTarget(seg *Segment, excluded bool, kind, key string) bool {
	users, ctxs := segTargetLists(seg, excluded)
	if kind == "user" && slices.Contains(*users, key) {
		return true
	}
	for _, t := range *ctxs {
		if t.ContextKind == kind && slices.Contains(t.Values, key) {
			return true
		}
	}
	return false
}

// segAddTarget appends a key: user keys to the user list, others to their
// kind's entry, created at the end when the kind has none.
func segAddTarget(seg *Segment, excluded bool, kind, key string) {
	users, ctxs := segTargetLists(seg, excluded)
	if kind == "user" {
		*users = append(*users, key)
		return
	}
	for i := range *ctxs {
		if t := &(*ctxs)[i]; t.ContextKind == kind {
			t.Values = append(t.Values, key)
			return
		}
	}
	*ctxs = append(*ctxs, SegmentTarget{ContextKind: kind, Values: []string{key}})
}

// segRemoveTarget deletes a key wherever its kind is listed on one side,
// dropping a per-kind entry left with no keys.
func segRemoveTarget(seg *Segment, excluded bool, kind, key string) {
	users, ctxs := segTargetLists(seg, excluded)
	if kind == "user" && slices.Contains(*users, key) {
		*users = slices.DeleteFunc(*users, func(v string) bool { return v == key })
		if len(*users) == 0 {
			*users = nil
		}
	}
	for i := range *ctxs {
		if t := &(*ctxs)[i]; t.ContextKind == kind {
			t.Values = slices.DeleteFunc(t.Values, func(v string) bool { return v == key })
		}
	}
	if slices.ContainsFunc(*ctxs, func(t SegmentTarget) bool { return len(t.Values) == 0 }) {
		*ctxs = slices.DeleteFunc(*ctxs, func(t SegmentTarget) bool { return len(t.Values) == 0 })
		if len(*ctxs) == 0 {
			*ctxs = nil
		}
	}
}

// rule returns the rule with the given _id, or an error naming it.
func (a *segInsApplier) rule(id string) (*SegmentRule, error) {
	if i := segRuleIndex(a.seg, id); i >= 0 {
		return &a.seg.Rules[i], nil
	}
	return nil, fmt.Errorf("the segment has no rule with _id %q", id)
}

func segRuleIndex(seg *Segment, id string) int {
	return slices.IndexFunc(seg.Rules, func(r SegmentRule) bool { return r.ID == id })
}

// clause returns the clause with the given _id in a rule.
func (a *segInsApplier) clause(p *segInsParams) (*Clause, error) {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(r.Clauses, func(c Clause) bool { return c.ID == p.ClauseID }); i >= 0 {
		return &r.Clauses[i], nil
	}
	return nil, fmt.Errorf("rule %q has no clause with _id %q", p.RuleID, p.ClauseID)
}

// checkClause fills a clause's defaults (context kind "user" except for
// segmentMatch, non-nil values) and checks it as validateSegment would.
func (a *segInsApplier) checkClause(c *Clause) error {
	if c.ContextKind == "" && c.Op != "segmentMatch" {
		c.ContextKind = "user"
	}
	c.Values = nonNil(c.Values)
	if err := validateClause("clause", c); err != nil {
		return err
	}
	if c.Op == "segmentMatch" && slices.Contains(c.Values, any(a.seg.Key)) {
		return errors.New("a segment cannot match itself")
	}
	return nil
}

// newClauses gives copies of the request's clauses fresh IDs and checks
// them.
func (a *segInsApplier) newClauses(in []Clause) ([]Clause, error) {
	out := make([]Clause, len(in))
	for j, c := range in {
		c.ID = a.newUUID()
		if err := a.checkClause(&c); err != nil {
			return nil, fmt.Errorf("clauses[%d]: %s", j, segInsMessage(err))
		}
		out[j] = c
	}
	return out, nil
}

func (a *segInsApplier) addRule(p *segInsParams) error {
	at := len(a.seg.Rules)
	if p.BeforeRuleID != "" {
		if at = segRuleIndex(a.seg, p.BeforeRuleID); at < 0 {
			return fmt.Errorf("beforeRuleId: the segment has no rule with _id %q", p.BeforeRuleID)
		}
	}
	r := SegmentRule{ID: a.newUUID()}
	if p.Description != nil {
		r.Description = *p.Description
	}
	cs, err := a.newClauses(p.Clauses)
	if err != nil {
		return err
	}
	r.Clauses = cs
	a.seg.Rules = slices.Insert(a.seg.Rules, at, r)
	return nil
}

func (a *segInsApplier) removeRule(p *segInsParams) error {
	if i := segRuleIndex(a.seg, p.RuleID); i >= 0 {
		a.seg.Rules = slices.Delete(a.seg.Rules, i, i+1)
	}
	return nil
}

func (a *segInsApplier) reorderRules(p *segInsParams) error {
	current := make([]string, len(a.seg.Rules))
	for i, r := range a.seg.Rules {
		current[i] = r.ID
	}
	want := slices.Clone(p.RuleIDs)
	slices.Sort(current)
	slices.Sort(want)
	if !slices.Equal(current, want) {
		return fmt.Errorf("ruleIds must list each of the segment's %d rules exactly once", len(current))
	}
	rules := make([]SegmentRule, len(p.RuleIDs))
	for i, id := range p.RuleIDs {
		rules[i] = a.seg.Rules[segRuleIndex(a.seg, id)]
	}
	a.seg.Rules = rules
	return nil
}

func (a *segInsApplier) updateRuleDescription(p *segInsParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	r.Description = *p.Description
	return nil
}

// updateRuleRollout sets the share of a rule's matches that it includes and
// the context kind that share is bucketed by. An omitted contextKind keeps
// the rule's current one.
func (a *segInsApplier) updateRuleRollout(p *segInsParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	w, err := segParseWeight(p.Weight)
	if err != nil {
		return err
	}
	if p.ContextKind != "" {
		if err := validContextKind("contextKind", p.ContextKind); err != nil {
			return err
		}
		r.RolloutContextKind = p.ContextKind
	}
	r.Weight = &w
	return nil
}

// segParseWeight reads a weight in thousandths of a percent, given as a JSON
// number or a string holding one.
func segParseWeight(raw json.RawMessage) (int, error) {
	text := strings.TrimSpace(string(raw))
	var s string
	if json.Unmarshal(raw, &s) == nil {
		text = strings.TrimSpace(s)
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("weight must be a number, got %s", raw)
	}
	if f != math.Trunc(f) || f < 0 || f > weightTotal {
		return 0, fmt.Errorf("weight must be a whole number between 0 and %d, got %s", weightTotal, raw)
	}
	return int(f), nil
}

func (a *segInsApplier) addClauses(p *segInsParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	if len(p.Clauses) == 0 {
		return errors.New(`parameter "clauses" must list at least one clause`)
	}
	cs, err := a.newClauses(p.Clauses)
	if err != nil {
		return err
	}
	r.Clauses = append(r.Clauses, cs...)
	return nil
}

// removeClauses deletes the listed clauses of a rule; IDs the rule does not
// have are ignored.
func (a *segInsApplier) removeClauses(p *segInsParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	r.Clauses = slices.DeleteFunc(r.Clauses, func(c Clause) bool { return slices.Contains(p.ClauseIDs, c.ID) })
	return nil
}

// updateClause replaces a clause's content; it keeps its _id.
func (a *segInsApplier) updateClause(p *segInsParams) error {
	c, err := a.clause(p)
	if err != nil {
		return err
	}
	nc := *p.Clause
	nc.ID = c.ID
	if err := a.checkClause(&nc); err != nil {
		return err
	}
	*c = nc
	return nil
}

func (a *segInsApplier) addValuesToClause(p *segInsParams) error {
	c, err := a.clause(p)
	if err != nil {
		return err
	}
	vs, err := p.anyValues()
	if err != nil {
		return err
	}
	for _, v := range vs {
		if segClauseValueIndex(c.Values, v) < 0 {
			c.Values = append(c.Values, v)
		}
	}
	return a.checkClause(c)
}

func (a *segInsApplier) removeValuesFromClause(p *segInsParams) error {
	c, err := a.clause(p)
	if err != nil {
		return err
	}
	vs, err := p.anyValues()
	if err != nil {
		return err
	}
	for _, v := range vs {
		if i := segClauseValueIndex(c.Values, v); i >= 0 {
			c.Values = slices.Delete(c.Values, i, i+1)
		}
	}
	if len(c.Values) == 0 {
		return errors.New("a clause needs at least one value; remove the clause instead")
	}
	return nil
}

// segClauseValueIndex finds v among clause values by JSON equality, so 1
// and 1.0 are one value.
func segClauseValueIndex(values []any, v any) int {
	_, want, err := normalJSON(v)
	if err != nil {
		return -1
	}
	return slices.IndexFunc(values, func(e any) bool {
		_, got, err := normalJSON(e)
		return err == nil && string(got) == string(want)
	})
}
