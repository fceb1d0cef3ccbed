package flagstore

// Flag semantic-patch instructions on one environment's targeting:
// individual targets, rules, clauses, fallthrough, off variation,
// prerequisites and event tracking (see semantic_flag.go for the dispatch
// and the decisions where LaunchDarkly's documentation is silent).

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// ---- individual targets ----

// fiTargetKind is a target list's context kind ("user" when unset).
func fiTargetKind(t *Target) string {
	if t.ContextKind == "" {
		return "user"
	}
	return t.ContextKind
}

// targetKind reads the contextKind parameter (user for the legacy kinds).
func targetKind(contextKind string, user bool, attr string) (string, error) {
	if user || contextKind == "" {
		return "user", nil
	}
	if err := validContextKind(attr, contextKind); err != nil {
		return "", err
	}
	return contextKind, nil
}

// fiOwner is the variation whose list of kind holds key, or -1.
func fiOwner(c *FlagConfig, kind, key string) int {
	for _, ts := range [][]Target{c.Targets, c.ContextTargets} {
		for i := range ts {
			if fiTargetKind(&ts[i]) == kind && slices.Contains(ts[i].Values, key) {
				return ts[i].Variation
			}
		}
	}
	return -1
}

// fiList finds (or, with create, appends) the list of kind and variation v:
// user lists go to targets, others to contextTargets.
func fiList(c *FlagConfig, kind string, v int, create bool) *Target {
	if kind == "user" {
		for i := range c.Targets {
			if t := &c.Targets[i]; t.Variation == v && fiTargetKind(t) == kind {
				return t
			}
		}
	}
	for i := range c.ContextTargets {
		// An empty user list in contextTargets is LaunchDarkly's
		// placeholder for the ordering of user targets, not a list.
		if t := &c.ContextTargets[i]; t.Variation == v && fiTargetKind(t) == kind && (kind != "user" || len(t.Values) > 0) {
			return t
		}
	}
	switch {
	case !create:
		return nil
	case kind == "user":
		c.Targets = append(c.Targets, Target{Values: []string{}, Variation: v, ContextKind: kind})
		return &c.Targets[len(c.Targets)-1]
	default:
		c.ContextTargets = append(c.ContextTargets, Target{Values: []string{}, Variation: v, ContextKind: kind})
		return &c.ContextTargets[len(c.ContextTargets)-1]
	}
}

func (a *fiApplier) addTargets(p *fiParams, user bool) error {
	v, err := a.variation(p.VariationID, "variationId")
	if err != nil {
		return err
	}
	kind, err := targetKind(p.ContextKind, user, "contextKind")
	if err != nil {
		return err
	}
	keys, err := fiStrings(p.Values, "values")
	if err != nil {
		return err
	}
	var list *Target
	for _, k := range keys {
		switch o := fiOwner(a.c, kind, k); {
		case o == v:
			continue
		case o >= 0:
			return fmt.Errorf("context key %q of kind %q is already targeted by variation %s", k, kind, a.variationName(o))
		}
		if list == nil {
			a.c.Targets, a.c.ContextTargets = cloneTargets(a.c.Targets), cloneTargets(a.c.ContextTargets)
			list = fiList(a.c, kind, v, true)
		}
		list.Values = append(list.Values, k)
	}
	return nil
}

// editTargets rewrites both target slices with keep, which may change a
// list's values or drop the list by returning false; nothing is assigned
// unless something changed.
func (a *fiApplier) editTargets(keep func(t *Target) bool) {
	changed := false
	edit := func(ts []Target) []Target {
		out := make([]Target, 0, len(ts))
		for _, t := range ts {
			before := len(t.Values)
			t.Values = slices.Clone(t.Values)
			if !keep(&t) {
				changed = true
				continue
			}
			changed = changed || len(t.Values) != before
			out = append(out, t)
		}
		return out
	}
	targets, contextTargets := edit(a.c.Targets), edit(a.c.ContextTargets)
	if changed {
		a.c.Targets, a.c.ContextTargets = targets, contextTargets
	}
}

func (a *fiApplier) removeTargets(p *fiParams, user bool) error {
	v, err := a.variation(p.VariationID, "variationId")
	if err != nil {
		return err
	}
	kind, err := targetKind(p.ContextKind, user, "contextKind")
	if err != nil {
		return err
	}
	keys, err := fiStrings(p.Values, "values")
	if err != nil {
		return err
	}
	a.editTargets(func(t *Target) bool {
		if t.Variation != v || fiTargetKind(t) != kind || len(t.Values) == 0 {
			return true
		}
		t.Values = slices.DeleteFunc(t.Values, func(k string) bool { return slices.Contains(keys, k) })
		return len(t.Values) > 0
	})
	return nil
}

func (a *fiApplier) clearTargets(p *fiParams, user bool) error {
	v, err := a.variation(p.VariationID, "variationId")
	if err != nil {
		return err
	}
	a.editTargets(func(t *Target) bool {
		return t.Variation != v || (user && fiTargetKind(t) != "user")
	})
	return nil
}

// replaceTargets replaces every individual target (user: the user targets
// only, and then every variation must be listed).
func (a *fiApplier) replaceTargets(p *fiParams, user bool) error {
	type slot struct {
		kind string
		v    int
	}
	lists := map[slot]*[]string{}
	var order []slot
	owners := map[[2]string]int{}
	listed := make([]bool, len(a.f.Variations))
	for j, t := range p.Targets {
		attr := fmt.Sprintf("targets[%d]", j)
		v, err := a.variation(t.VariationID, attr+".variationId")
		if err != nil {
			return err
		}
		listed[v] = true
		kind, err := targetKind(t.ContextKind, user, attr+".contextKind")
		if err != nil {
			return err
		}
		for _, k := range t.Values {
			if k == "" {
				return fmt.Errorf("%s.values: context keys must not be empty", attr)
			}
			if o, ok := owners[[2]string{kind, k}]; ok {
				if o != v {
					return fmt.Errorf("%s.values: context key %q of kind %q is also listed for variation %s", attr, k, kind, a.variationName(o))
				}
				continue
			}
			owners[[2]string{kind, k}] = v
			s := slot{kind, v}
			if lists[s] == nil {
				lists[s] = &[]string{}
				order = append(order, s)
			}
			*lists[s] = append(*lists[s], k)
		}
	}
	if user {
		if i := slices.Index(listed, false); i >= 0 {
			return fmt.Errorf("targets must list every variation of the flag; variation %s is missing", a.variationName(i))
		}
	}
	targets, contextTargets := []Target{}, []Target{}
	for _, s := range order {
		t := Target{Values: *lists[s], Variation: s.v, ContextKind: s.kind}
		if s.kind == "user" {
			targets = append(targets, t)
		} else {
			contextTargets = append(contextTargets, t)
		}
	}
	if user {
		contextTargets = slices.DeleteFunc(cloneTargets(a.c.ContextTargets), func(t Target) bool {
			return fiTargetKind(&t) == "user" && len(t.Values) > 0
		})
	}
	a.c.Targets, a.c.ContextTargets = targets, nonNil(contextTargets)
	return nil
}

// ---- what rules and the fallthrough serve ----

// serve translates a variation ID or rollout weights; attr prefixes
// parameter names in errors.
func (a *fiApplier) serve(p fiServe, attr string) (*int, *Rollout, error) {
	switch {
	case p.VariationID != "" && p.RolloutWeights != nil:
		return nil, nil, fmt.Errorf("give either %svariationId or %srolloutWeights, not both", attr, attr)
	case p.VariationID != "":
		v, err := a.variation(p.VariationID, attr+"variationId")
		if err != nil {
			return nil, nil, err
		}
		return intPtr(v), nil, nil
	case p.RolloutWeights == nil:
		return nil, nil, fmt.Errorf("%svariationId or %srolloutWeights is required", attr, attr)
	case len(p.RolloutWeights) == 0:
		return nil, nil, fmt.Errorf("%srolloutWeights must weigh at least one variation", attr)
	}
	r := &Rollout{BucketBy: p.RolloutBucketBy, ContextKind: p.RolloutContextKind}
	if r.ContextKind == "" {
		r.ContextKind = "user"
	}
	if err := validContextKind(attr+"rolloutContextKind", r.ContextKind); err != nil {
		return nil, nil, err
	}
	weights := make(map[int]int, len(p.RolloutWeights))
	sum := 0
	ids := make([]string, 0, len(p.RolloutWeights))
	for id := range p.RolloutWeights {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		w := p.RolloutWeights[id]
		v, err := a.variation(id, attr+"rolloutWeights")
		if err != nil {
			return nil, nil, err
		}
		if w < 0 || w > weightTotal {
			return nil, nil, fmt.Errorf("%srolloutWeights: weight of %q must be between 0 and %d, got %d", attr, id, weightTotal, w)
		}
		weights[v] = w
		sum += w
	}
	if sum != weightTotal {
		return nil, nil, fmt.Errorf("%srolloutWeights must sum to %d, got %d", attr, weightTotal, sum)
	}
	for v := range a.f.Variations {
		if w, ok := weights[v]; ok {
			r.Variations = append(r.Variations, WeightedVariation{Variation: v, Weight: w})
		}
	}
	return nil, r, nil
}

// ---- rules ----

// newClause builds and checks a clause with the given ID; path names it in
// errors.
func newClause(c fiClause, id, path string) (Clause, error) {
	cl := Clause{ID: id, Attribute: c.Attribute, Op: c.Op, Values: nonNil(c.Values), ContextKind: c.ContextKind, Negate: c.Negate}
	if cl.Op == "segmentMatch" && cl.Attribute == "" {
		cl.Attribute = "segmentMatch"
	}
	if cl.ContextKind == "" && cl.Op != "segmentMatch" {
		cl.ContextKind = "user"
	}
	if err := validateClause(path, &cl); err != nil {
		return Clause{}, err
	}
	return cl, nil
}

// newClauses builds clauses with fresh IDs; prefix leads their paths.
func (a *fiApplier) newClauses(cs []fiClause, prefix string) ([]Clause, error) {
	out := make([]Clause, 0, len(cs))
	for k, c := range cs {
		cl, err := newClause(c, a.uuid(), fmt.Sprintf("%sclauses[%d]", prefix, k))
		if err != nil {
			return nil, err
		}
		out = append(out, cl)
	}
	return out, nil
}

// newRule builds a rule with fresh IDs; prefix leads parameter names.
func (a *fiApplier) newRule(p fiRuleParams, prefix string) (Rule, error) {
	v, r, err := a.serve(p.fiServe, prefix)
	if err != nil {
		return Rule{}, err
	}
	cs, err := a.newClauses(p.Clauses, prefix)
	if err != nil {
		return Rule{}, err
	}
	rule := Rule{ID: a.uuid(), Variation: v, Rollout: r, Clauses: cs, Ref: p.Ref}
	if p.Description != nil {
		rule.Description = *p.Description
	}
	if p.TrackEvents != nil {
		rule.TrackEvents = *p.TrackEvents
	}
	return rule, nil
}

// ruleIndex finds a rule by ID, or -1.
func (a *fiApplier) ruleIndex(id string) int {
	return slices.IndexFunc(a.c.Rules, func(r Rule) bool { return r.ID == id })
}

// rule finds a rule that must exist.
func (a *fiApplier) rule(id string) (*Rule, error) {
	i := a.ruleIndex(id)
	if i < 0 {
		return nil, fmt.Errorf("ruleId %q is not a rule of environment %q", id, a.pc.env)
	}
	return &a.c.Rules[i], nil
}

// clause finds a clause of a rule that must exist.
func (a *fiApplier) clause(p *fiParams) (*Clause, error) {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return nil, err
	}
	k := slices.IndexFunc(r.Clauses, func(c Clause) bool { return c.ID == p.ClauseID })
	if k < 0 {
		return nil, fmt.Errorf("clauseId %q is not a clause of rule %q", p.ClauseID, p.RuleID)
	}
	return &r.Clauses[k], nil
}

func (a *fiApplier) addRule(p *fiParams) error {
	at := len(a.c.Rules)
	if p.BeforeRuleID != "" {
		if at = a.ruleIndex(p.BeforeRuleID); at < 0 {
			return fmt.Errorf("beforeRuleId %q is not a rule of environment %q", p.BeforeRuleID, a.pc.env)
		}
	}
	rule, err := a.newRule(p.fiRuleParams, "")
	if err != nil {
		return err
	}
	a.c.Rules = slices.Insert(slices.Clone(a.c.Rules), at, rule)
	return nil
}

func (a *fiApplier) removeRule(p *fiParams) error {
	if i := a.ruleIndex(p.RuleID); i >= 0 {
		a.c.Rules = slices.Delete(slices.Clone(a.c.Rules), i, i+1)
	}
	return nil
}

func (a *fiApplier) reorderRules(p *fiParams) error {
	out := make([]Rule, 0, len(p.RuleIDs))
	for _, id := range p.RuleIDs {
		i := a.ruleIndex(id)
		if i < 0 || slices.ContainsFunc(out, func(r Rule) bool { return r.ID == id }) {
			break
		}
		out = append(out, a.c.Rules[i])
	}
	if len(out) != len(p.RuleIDs) || len(out) != len(a.c.Rules) {
		return fmt.Errorf("ruleIds must list each of the %d rules of environment %q exactly once", len(a.c.Rules), a.pc.env)
	}
	a.c.Rules = out
	return nil
}

func (a *fiApplier) replaceRules(p *fiParams) error {
	out := make([]Rule, 0, len(p.Rules))
	for j, rp := range p.Rules {
		rule, err := a.newRule(rp, fmt.Sprintf("rules[%d].", j))
		if err != nil {
			return err
		}
		out = append(out, rule)
	}
	a.c.Rules = out
	return nil
}

func (a *fiApplier) updateRuleServe(p *fiParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	v, ro, err := a.serve(p.fiServe, "")
	if err != nil {
		return err
	}
	r.Variation, r.Rollout = v, ro
	return nil
}

func (a *fiApplier) updateRuleDescription(p *fiParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	r.Description = *p.Description
	return nil
}

func (a *fiApplier) updateRuleTrackEvents(p *fiParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	r.TrackEvents = *p.TrackEvents
	return nil
}

// ---- clauses ----

func (a *fiApplier) addClauses(p *fiParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	if len(p.Clauses) == 0 {
		return fmt.Errorf("parameter %q must list at least one clause", "clauses")
	}
	cs, err := a.newClauses(p.Clauses, "")
	if err != nil {
		return err
	}
	r.Clauses = slices.Concat(r.Clauses, cs)
	return nil
}

func (a *fiApplier) removeClauses(p *fiParams) error {
	r, err := a.rule(p.RuleID)
	if err != nil {
		return err
	}
	if len(p.ClauseIDs) == 0 {
		return fmt.Errorf("parameter %q must list at least one clause ID", "clauseIds")
	}
	for _, id := range p.ClauseIDs {
		if !slices.ContainsFunc(r.Clauses, func(c Clause) bool { return c.ID == id }) {
			return fmt.Errorf("clauseId %q is not a clause of rule %q", id, p.RuleID)
		}
	}
	r.Clauses = slices.DeleteFunc(slices.Clone(r.Clauses), func(c Clause) bool { return slices.Contains(p.ClauseIDs, c.ID) })
	return nil
}

func (a *fiApplier) updateClause(p *fiParams) error {
	c, err := a.clause(p)
	if err != nil {
		return err
	}
	nc, err := newClause(*p.Clause, c.ID, "clause")
	if err != nil {
		return err
	}
	*c = nc
	return nil
}

// clauseValues reads the values parameter of the clause-value kinds.
func clauseValues(raw json.RawMessage) ([]any, error) {
	var vs []any
	if err := json.Unmarshal(raw, &vs); err != nil {
		return nil, fmt.Errorf("parameter %q must be a list", "values")
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("parameter %q must list at least one value", "values")
	}
	return vs, nil
}

// fiContainsJSON reports whether vs holds a value equal to v as JSON.
func fiContainsJSON(vs []any, v any) bool {
	return slices.ContainsFunc(vs, func(x any) bool { return fiSameJSON(x, v) })
}

func (a *fiApplier) addValuesToClause(p *fiParams) error {
	c, err := a.clause(p)
	if err != nil {
		return err
	}
	vs, err := clauseValues(p.Values)
	if err != nil {
		return err
	}
	nc := *c
	nc.Values = slices.Clone(c.Values)
	for _, v := range vs {
		if !fiContainsJSON(nc.Values, v) {
			nc.Values = append(nc.Values, v)
		}
	}
	if err := validateClause("clause", &nc); err != nil {
		return err
	}
	*c = nc
	return nil
}

func (a *fiApplier) removeValuesFromClause(p *fiParams) error {
	c, err := a.clause(p)
	if err != nil {
		return err
	}
	vs, err := clauseValues(p.Values)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(c.Values, func(x any) bool { return fiContainsJSON(vs, x) }) {
		return nil
	}
	kept := slices.DeleteFunc(slices.Clone(c.Values), func(x any) bool { return fiContainsJSON(vs, x) })
	if len(kept) == 0 {
		return fmt.Errorf("removing these values would leave clause %q with none; remove the clause instead", c.ID)
	}
	c.Values = kept
	return nil
}

// ---- fallthrough, off variation, event tracking ----

func (a *fiApplier) updateFallthrough(p *fiParams) error {
	v, r, err := a.serve(p.fiServe, "")
	if err != nil {
		return err
	}
	a.c.Fallthrough = VariationOrRollout{Variation: v, Rollout: r}
	return nil
}

func (a *fiApplier) updateOffVariation(p *fiParams) error {
	v, err := a.variation(p.VariationID, "variationId")
	if err != nil {
		return err
	}
	a.c.OffVariation = intPtr(v)
	return nil
}

func (a *fiApplier) updateTrackEvents(p *fiParams) error {
	a.c.TrackEvents = *p.TrackEvents
	return nil
}

func (a *fiApplier) updateTrackEventsFallthrough(p *fiParams) error {
	a.c.TrackEventsFallthrough = *p.TrackEvents
	return nil
}

// ---- prerequisites ----

// prerequisite translates a prerequisite's variation ID into the index of
// that variation in the prerequisite flag; attr prefixes error messages.
func (a *fiApplier) prerequisite(p fiPrereqParams, attr string) (Prerequisite, error) {
	switch {
	case p.Key == "":
		return Prerequisite{}, fmt.Errorf("%skey is required", attr)
	case p.Key == a.f.Key:
		return Prerequisite{}, fmt.Errorf("%skey: a flag cannot be its own prerequisite", attr)
	case p.VariationID == "":
		return Prerequisite{}, fmt.Errorf("%svariationId is required", attr)
	}
	var pf *Flag
	if a.pc.lookup != nil {
		var err error
		if pf, err = a.pc.lookup(p.Key); err != nil && !errors.Is(err, ErrNotFound) {
			return Prerequisite{}, err
		}
	}
	if pf == nil {
		return Prerequisite{}, fmt.Errorf("%skey: prerequisite flag %q does not exist", attr, p.Key)
	}
	i := variationIndex(pf, p.VariationID)
	if i < 0 {
		return Prerequisite{}, fmt.Errorf("%svariationId: %q is not a variation of prerequisite flag %q", attr, p.VariationID, p.Key)
	}
	return Prerequisite{Key: p.Key, Variation: i}, nil
}

// prerequisiteIndex finds the prerequisite on key, or -1.
func (a *fiApplier) prerequisiteIndex(key string) int {
	return slices.IndexFunc(a.c.Prerequisites, func(pr Prerequisite) bool { return pr.Key == key })
}

func (a *fiApplier) addPrerequisite(p *fiParams) error {
	pr, err := a.prerequisite(fiPrereqParams{p.Key, p.VariationID}, "")
	if err != nil {
		return err
	}
	if i := a.prerequisiteIndex(pr.Key); i >= 0 {
		if a.c.Prerequisites[i].Variation == pr.Variation {
			return nil
		}
		return fmt.Errorf("flag %q is already a prerequisite with another variation; use updatePrerequisite", pr.Key)
	}
	a.c.Prerequisites = append(a.c.Prerequisites, pr)
	return nil
}

func (a *fiApplier) removePrerequisite(p *fiParams) error {
	if i := a.prerequisiteIndex(p.Key); i >= 0 {
		a.c.Prerequisites = slices.Delete(slices.Clone(a.c.Prerequisites), i, i+1)
	}
	return nil
}

func (a *fiApplier) updatePrerequisite(p *fiParams) error {
	i := a.prerequisiteIndex(p.Key)
	if i < 0 {
		return fmt.Errorf("flag %q is not a prerequisite in environment %q; use addPrerequisite", p.Key, a.pc.env)
	}
	pr, err := a.prerequisite(fiPrereqParams{p.Key, p.VariationID}, "")
	if err != nil {
		return err
	}
	a.c.Prerequisites[i] = pr
	return nil
}

func (a *fiApplier) replacePrerequisites(p *fiParams) error {
	out := make([]Prerequisite, 0, len(p.Prerequisites))
	for j, pp := range p.Prerequisites {
		attr := fmt.Sprintf("prerequisites[%d].", j)
		pr, err := a.prerequisite(pp, attr)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(out, func(o Prerequisite) bool { return o.Key == pr.Key }) {
			return fmt.Errorf("%skey: flag %q is listed twice", attr, pr.Key)
		}
		out = append(out, pr)
	}
	a.c.Prerequisites = out
	return nil
}
