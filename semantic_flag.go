package flagstore

// Semantic-patch instructions for flags (LaunchDarkly's "Update feature
// flag" with domain-model=launchdarkly.semanticpatch): the 53 instruction
// kinds, applied in order to the caller's private copy of a flag. The first
// failing instruction aborts the patch; the caller discards the copy, then
// normalises, validates and stores a successful result.
//
// Instructions refer to variations by _id, to rules and clauses by _id, and
// to prerequisite flags by key; the stored flag refers to variations by
// index, so every reference is translated here. An instruction whose effect
// is already in place (adding a present target or tag, removing an absent
// one, removing a missing rule or prerequisite, turning on a flag that is on)
// changes nothing and succeeds.
//
// Where LaunchDarkly's documentation is silent, this file decides:
//   - List parameters of add and remove kinds (values, clauses, clauseIds)
//     must be present and non-empty.
//   - Targets live in targets (kind user) and contextTargets (other kinds);
//     a list emptied by a removal is dropped. replaceTargets replaces both
//     (dropping LaunchDarkly's empty user placeholders in contextTargets);
//     replaceUserTargets replaces the user lists only and must name every
//     variation (an entry may have no values).
//   - removeClauses and the clause kinds refuse unknown clause IDs; removing
//     every value of a clause is refused (remove the clause instead).
//   - addPrerequisite of a flag already listed with the same variation is a
//     no-op, with another variation a 400 (use updatePrerequisite).
//   - removeVariation refuses (400) a variation that is, in any environment,
//     the off variation, the fallthrough variation, served by a rule,
//     weighted above zero in a rollout or individually targeted, or that is
//     one of the flag's defaults, and refuses leaving fewer than 2
//     variations. Zero-weight rollout buckets and empty target lists of the
//     removed variation are dropped; every higher index moves down by one.
//   - addCustomProperties merges values into an existing property;
//     replaceCustomProperties and removeCustomProperties drop a property
//     left without values; a new property needs a name.
//   - deleteFlag must be the last instruction; the ones before it are still
//     checked (the patch is all or nothing).
//   - updateTrackEvents sets the environment's trackEvents (rules keep
//     their own flags); updateRuleTrackEvents needs the updateTrackEvents
//     action, as LaunchDarkly publishes no mapping for it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// flagPatchContext is what flag instructions need from outside the flag.
type flagPatchContext struct {
	env     string                          // the patch's environmentKey ("" if none given)
	newUUID func() string                   // IDs for new variations, rules, clauses
	lookup  func(key string) (*Flag, error) // another flag of the project (nil, nil if missing) — for prerequisites' variationId → index
}

// fiOp describes one flag instruction kind: the action a policy must allow,
// whether it acts on the patch's environment, the parameters it requires,
// and how it applies.
type fiOp struct {
	action   string
	env      bool
	required []string
	apply    func(a *fiApplier, p *fiParams) error
}

// fiServe is what a rule or the fallthrough serves: a variation, or a
// percentage rollout given as weights by variation ID.
type fiServe struct {
	VariationID        string         `json:"variationId"`
	RolloutWeights     map[string]int `json:"rolloutWeights"`
	RolloutBucketBy    string         `json:"rolloutBucketBy"`
	RolloutContextKind string         `json:"rolloutContextKind"`
}

// fiClause is a clause as instructions give it (no _id).
type fiClause struct {
	ContextKind string `json:"contextKind"`
	Attribute   string `json:"attribute"`
	Op          string `json:"op"`
	Negate      bool   `json:"negate"`
	Values      []any  `json:"values"`
}

// fiRuleParams is a rule as addRule and replaceRules give it.
type fiRuleParams struct {
	fiServe
	Clauses     []fiClause `json:"clauses"`
	Description *string    `json:"description"`
	TrackEvents *bool      `json:"trackEvents"`
	Ref         string     `json:"ref"`
}

// fiTargetParams is one entry of replaceTargets and replaceUserTargets.
type fiTargetParams struct {
	VariationID string   `json:"variationId"`
	Values      []string `json:"values"`
	ContextKind string   `json:"contextKind"`
}

// fiPrereqParams is a prerequisite as instructions give it.
type fiPrereqParams struct {
	Key         string `json:"key"`
	VariationID string `json:"variationId"`
}

// fiParams holds every parameter any flag instruction takes. Value and
// Values stay raw: they hold strings for some kinds and any JSON for others.
type fiParams struct {
	fiRuleParams
	Value             json.RawMessage  `json:"value"`
	Values            json.RawMessage  `json:"values"`
	Name              *string          `json:"name"`
	Key               string           `json:"key"`
	ContextKind       string           `json:"contextKind"`
	Targets           []fiTargetParams `json:"targets"`
	Rules             []fiRuleParams   `json:"rules"`
	Prerequisites     []fiPrereqParams `json:"prerequisites"`
	BeforeRuleID      string           `json:"beforeRuleId"`
	RuleID            string           `json:"ruleId"`
	RuleIDs           []string         `json:"ruleIds"`
	ClauseID          string           `json:"clauseId"`
	ClauseIDs         []string         `json:"clauseIds"`
	Clause            *fiClause        `json:"clause"`
	OnVariationValue  json.RawMessage  `json:"onVariationValue"`
	OffVariationValue json.RawMessage  `json:"offVariationValue"`
}

// fiApplier carries the state of one request's instructions.
type fiApplier struct {
	f       *Flag
	c       *FlagConfig // the patch environment's configuration, for env kinds
	pc      flagPatchContext
	last    bool // the instruction being applied is the last one
	deleted bool
}

// flagInstructionKinds maps each instruction kind LaunchDarkly documents for
// flags to its handling.
var flagInstructionKinds map[string]fiOp

func init() {
	targets := func(f func(*fiApplier, *fiParams, bool) error, user bool) func(*fiApplier, *fiParams) error {
		return func(a *fiApplier, p *fiParams) error { return f(a, p, user) }
	}
	set := func(f func(*fiApplier)) func(*fiApplier, *fiParams) error {
		return func(a *fiApplier, _ *fiParams) error { f(a); return nil }
	}
	const env, flag = true, false
	v, vs, ids := []string{"variationId"}, []string{"variationId", "values"}, []string{"ruleId", "clauseId"}
	flagInstructionKinds = map[string]fiOp{
		"turnFlagOn":  {"updateOn", env, nil, set(func(a *fiApplier) { a.c.On = true })},
		"turnFlagOff": {"updateOn", env, nil, set(func(a *fiApplier) { a.c.On = false })},

		"addTargets":         {"updateTargets", env, vs, targets((*fiApplier).addTargets, false)},
		"removeTargets":      {"updateTargets", env, vs, targets((*fiApplier).removeTargets, false)},
		"replaceTargets":     {"updateTargets", env, []string{"targets"}, targets((*fiApplier).replaceTargets, false)},
		"clearTargets":       {"updateTargets", env, v, targets((*fiApplier).clearTargets, false)},
		"addUserTargets":     {"updateTargets", env, vs, targets((*fiApplier).addTargets, true)},
		"removeUserTargets":  {"updateTargets", env, vs, targets((*fiApplier).removeTargets, true)},
		"replaceUserTargets": {"updateTargets", env, []string{"targets"}, targets((*fiApplier).replaceTargets, true)},
		"clearUserTargets":   {"updateTargets", env, v, targets((*fiApplier).clearTargets, true)},

		"addRule":                      {"updateRules", env, nil, (*fiApplier).addRule},
		"removeRule":                   {"updateRules", env, []string{"ruleId"}, (*fiApplier).removeRule},
		"reorderRules":                 {"updateRules", env, []string{"ruleIds"}, (*fiApplier).reorderRules},
		"replaceRules":                 {"updateRules", env, []string{"rules"}, (*fiApplier).replaceRules},
		"updateRuleVariationOrRollout": {"updateRules", env, []string{"ruleId"}, (*fiApplier).updateRuleServe},
		"updateRuleDescription":        {"updateFlagRuleDescription", env, []string{"ruleId", "description"}, (*fiApplier).updateRuleDescription},
		"updateRuleTrackEvents":        {"updateTrackEvents", env, []string{"ruleId", "trackEvents"}, (*fiApplier).updateRuleTrackEvents},
		"addClauses":                   {"updateRules", env, []string{"ruleId", "clauses"}, (*fiApplier).addClauses},
		"removeClauses":                {"updateRules", env, []string{"ruleId", "clauseIds"}, (*fiApplier).removeClauses},
		"updateClause":                 {"updateRules", env, append(ids, "clause"), (*fiApplier).updateClause},
		"addValuesToClause":            {"updateRules", env, append(ids, "values"), (*fiApplier).addValuesToClause},
		"removeValuesFromClause":       {"updateRules", env, append(ids, "values"), (*fiApplier).removeValuesFromClause},

		"updateFallthroughVariationOrRollout": {"updateFallthrough", env, nil, (*fiApplier).updateFallthrough},
		"updateOffVariation":                  {"updateOffVariation", env, v, (*fiApplier).updateOffVariation},

		"addPrerequisite":      {"updatePrerequisites", env, []string{"key", "variationId"}, (*fiApplier).addPrerequisite},
		"removePrerequisite":   {"updatePrerequisites", env, []string{"key"}, (*fiApplier).removePrerequisite},
		"updatePrerequisite":   {"updatePrerequisites", env, []string{"key", "variationId"}, (*fiApplier).updatePrerequisite},
		"replacePrerequisites": {"updatePrerequisites", env, []string{"prerequisites"}, (*fiApplier).replacePrerequisites},

		"updateTrackEvents":            {"updateTrackEvents", env, []string{"trackEvents"}, (*fiApplier).updateTrackEvents},
		"updateTrackEventsFallthrough": {"updateFlagFallthroughTrackEvents", env, []string{"trackEvents"}, (*fiApplier).updateTrackEventsFallthrough},

		"addVariation":           {"updateFlagVariations", flag, []string{"value"}, (*fiApplier).addVariation},
		"removeVariation":        {"updateFlagVariations", flag, v, (*fiApplier).removeVariation},
		"updateVariation":        {"updateFlagVariations", flag, v, (*fiApplier).updateVariation},
		"updateDefaultVariation": {"updateFlagDefaultVariations", flag, nil, (*fiApplier).updateDefaultVariation},

		"updateName":                    {"updateName", flag, []string{"value"}, (*fiApplier).updateName},
		"updateDescription":             {"updateDescription", flag, []string{"value"}, (*fiApplier).updateDescription},
		"addTags":                       {"updateTags", flag, []string{"values"}, (*fiApplier).addTags},
		"removeTags":                    {"updateTags", flag, []string{"values"}, (*fiApplier).removeTags},
		"makeFlagPermanent":             {"updateTemporary", flag, nil, set(func(a *fiApplier) { a.f.Temporary = false })},
		"makeFlagTemporary":             {"updateTemporary", flag, nil, set(func(a *fiApplier) { a.f.Temporary = true })},
		"addCustomProperties":           {"updateFlagCustomProperties", flag, []string{"key", "values"}, (*fiApplier).addCustomProperties},
		"replaceCustomProperties":       {"updateFlagCustomProperties", flag, []string{"key", "values"}, (*fiApplier).replaceCustomProperties},
		"removeCustomProperties":        {"updateFlagCustomProperties", flag, []string{"key", "values"}, (*fiApplier).removeCustomProperties},
		"turnOnClientSideAvailability":  {"updateClientSideFlagAvailability", flag, []string{"value"}, fiClientSide(true)},
		"turnOffClientSideAvailability": {"updateClientSideFlagAvailability", flag, []string{"value"}, fiClientSide(false)},
		"updateMaintainerMember":        {"updateMaintainer", flag, []string{"value"}, fiMaintainer(false)},
		"updateMaintainerTeam":          {"updateMaintainer", flag, []string{"value"}, fiMaintainer(true)},
		"removeMaintainer":              {"updateMaintainer", flag, nil, set(func(a *fiApplier) { a.f.MaintainerID, a.f.MaintainerTeamKey = "", "" })},

		"archiveFlag":           {"updateGlobalArchived", flag, nil, set(func(a *fiApplier) { a.archive(true) })},
		"restoreFlag":           {"updateGlobalArchived", flag, nil, set(func(a *fiApplier) { a.archive(false) })},
		"deprecateFlag":         {"updateDeprecated", flag, nil, set(func(a *fiApplier) { a.f.Deprecated = true })},
		"restoreDeprecatedFlag": {"updateDeprecated", flag, nil, set(func(a *fiApplier) { a.f.Deprecated = false })},
		"deleteFlag":            {"deleteFlag", flag, nil, (*fiApplier).deleteFlag},
	}
}

// flagInstructionAction maps an instruction kind to the LaunchDarkly action
// it needs (resources.md §5.3), and whether it acts on one environment (the
// patch's environmentKey) rather than on the flag as a whole.
func flagInstructionAction(kind string) (action string, envScoped bool, ok bool) {
	op, ok := flagInstructionKinds[kind]
	return op.action, op.env, ok
}

// applyFlagInstructions applies semantic-patch instructions, in order, to f
// (the caller's private copy). It returns deleted=true when a deleteFlag
// instruction asks for the flag's deletion. The error is that of the first
// failing instruction: a 400 naming instructions[i] and the kind (or an
// error of pc.lookup, passed through); f is then partly changed and must be
// discarded.
func applyFlagInstructions(f *Flag, ins []Instruction, pc flagPatchContext) (deleted bool, err error) {
	a := &fiApplier{f: f, pc: pc}
	for i, in := range ins {
		op, ok := flagInstructionKinds[in.Kind]
		if !ok {
			return false, invalidf(fmt.Sprintf("instructions[%d].kind", i), "unknown instruction kind %q", in.Kind)
		}
		a.c, a.last = nil, i == len(ins)-1
		if err := a.apply(in, op); err != nil {
			var e *Error
			if errors.As(err, &e) && !errors.Is(e, ErrInvalid) {
				return false, err
			}
			return false, invalidf(fmt.Sprintf("instructions[%d]", i), "%s: %s", in.Kind, fiMessage(err))
		}
	}
	return a.deleted, nil
}

// fiMessage is an error's text without the code an *Error adds, led by the
// attribute it names when the text does not already start with it.
func fiMessage(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	if len(e.Errors) == 1 {
		if at := e.Errors[0].Attribute; at != "" && !strings.HasPrefix(e.Message, at) {
			return at + ": " + e.Message
		}
	}
	return e.Message
}

// apply checks an instruction's environment and required parameters,
// decodes them and runs the kind's handler.
func (a *fiApplier) apply(in Instruction, op fiOp) error {
	if op.env {
		env := a.pc.env
		if env == "" {
			return errors.New("this instruction needs the patch's environmentKey")
		}
		if a.c = a.f.Environments[env]; a.c == nil {
			return fmt.Errorf("environment %q does not exist in this flag's project", env)
		}
	}
	for _, name := range op.required {
		if fiAbsent(in.Params[name]) {
			return fmt.Errorf("parameter %q is required", name)
		}
	}
	var p fiParams
	if err := in.decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("parameter %q has the wrong type: got JSON %s, want %s", fiField(te.Field), te.Value, te.Type)
		}
		return fmt.Errorf("malformed parameters: %v", err)
	}
	return op.apply(a, &p)
}

// fiField is a decoding error's field path without the names of the
// embedded parameter structs.
func fiField(path string) string {
	parts := strings.Split(path, ".")
	parts = slices.DeleteFunc(parts, func(p string) bool { return strings.HasPrefix(p, "fi") && len(p) > 2 && p[2] >= 'A' && p[2] <= 'Z' })
	return strings.Join(parts, ".")
}

// fiAbsent reports whether a raw parameter is missing or null.
func fiAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// uuid gives a new ID for a variation, rule or clause.
func (a *fiApplier) uuid() string {
	if a.pc.newUUID != nil {
		return a.pc.newUUID()
	}
	return uuid.NewString()
}

// variation translates a variation ID of this flag into its index; param
// names the parameter for the error.
func (a *fiApplier) variation(id, param string) (int, error) {
	if id == "" {
		return -1, fmt.Errorf("%s is required", param)
	}
	if i := variationIndex(a.f, id); i >= 0 {
		return i, nil
	}
	return -1, fmt.Errorf("%s %q is not a variation of flag %q", param, id, a.f.Key)
}

// variationName names variation index i in messages.
func (a *fiApplier) variationName(i int) string {
	if i >= 0 && i < len(a.f.Variations) {
		return fmt.Sprintf("%q (index %d)", a.f.Variations[i].ID, i)
	}
	return fmt.Sprintf("index %d", i)
}

// fiString reads a raw parameter as a string.
func fiString(raw json.RawMessage, name string) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("parameter %q must be a string", name)
	}
	return s, nil
}

// fiStrings reads a raw parameter as a non-empty list of non-empty strings,
// without repeats (kept in first-seen order).
func fiStrings(raw json.RawMessage, name string) ([]string, error) {
	var ss []string
	if err := json.Unmarshal(raw, &ss); err != nil {
		return nil, fmt.Errorf("parameter %q must be a list of strings", name)
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("parameter %q must list at least one value", name)
	}
	out := make([]string, 0, len(ss))
	for _, s := range ss {
		if s == "" {
			return nil, fmt.Errorf("parameter %q must not contain empty strings", name)
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// fiSameJSON reports whether two JSON values are equal.
func fiSameJSON(x, y any) bool {
	_, a, err1 := normalJSON(x)
	_, b, err2 := normalJSON(y)
	return err1 == nil && err2 == nil && string(a) == string(b)
}

// ---- variations ----

// variationValue reads a variation value parameter (any JSON but null).
func variationValue(raw json.RawMessage, name string) (any, error) {
	if fiAbsent(raw) {
		return nil, fmt.Errorf("parameter %q must not be null", name)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("parameter %q is not valid JSON", name)
	}
	return v, nil
}

// checkVariations re-derives the kind and checks the variation list.
func (a *fiApplier) checkVariations() error {
	a.f.Kind = flagKind(a.f.Variations)
	if err := validateVariations(a.f); err != nil {
		return err
	}
	return nil
}

func (a *fiApplier) addVariation(p *fiParams) error {
	val, err := variationValue(p.Value, "value")
	if err != nil {
		return err
	}
	v := Variation{ID: a.uuid(), Value: val}
	if p.Name != nil {
		v.Name = *p.Name
	}
	if p.Description != nil {
		v.Description = *p.Description
	}
	a.f.Variations = append(slices.Clone(a.f.Variations), v)
	return a.checkVariations()
}

func (a *fiApplier) updateVariation(p *fiParams) error {
	i, err := a.variation(p.VariationID, "variationId")
	if err != nil {
		return err
	}
	v := &a.f.Variations[i]
	if p.Name != nil {
		v.Name = *p.Name
	}
	if p.Description != nil {
		v.Description = *p.Description
	}
	if p.Value != nil {
		if v.Value, err = variationValue(p.Value, "value"); err != nil {
			return err
		}
	}
	return a.checkVariations()
}

func (a *fiApplier) removeVariation(p *fiParams) error {
	idx, err := a.variation(p.VariationID, "variationId")
	if err != nil {
		return err
	}
	name := a.variationName(idx)
	if len(a.f.Variations) <= 2 {
		return fmt.Errorf("variation %s cannot be removed: a flag needs at least 2 variations", name)
	}
	if d := a.f.Defaults; d != nil && (d.OnVariation == idx || d.OffVariation == idx) {
		return fmt.Errorf("variation %s is one of the flag's default variations; change them with updateDefaultVariation first", name)
	}
	envs := slices.Sorted(maps.Keys(a.f.Environments))
	for _, env := range envs {
		if c := a.f.Environments[env]; c != nil {
			if use := variationUse(c, idx); use != "" {
				return fmt.Errorf("variation %s is still %s in environment %q", name, use, env)
			}
		}
	}
	for _, env := range envs {
		if c := a.f.Environments[env]; c != nil {
			reindexConfig(c, idx)
		}
	}
	if d := a.f.Defaults; d != nil {
		d.OnVariation, d.OffVariation = shiftIndex(d.OnVariation, idx), shiftIndex(d.OffVariation, idx)
	}
	a.f.Variations = slices.Delete(slices.Clone(a.f.Variations), idx, idx+1)
	return a.checkVariations()
}

// variationUse says how a configuration still uses variation idx, or "".
func variationUse(c *FlagConfig, idx int) string {
	weighted := func(r *Rollout) bool {
		return r != nil && slices.ContainsFunc(r.Variations, func(w WeightedVariation) bool { return w.Variation == idx && w.Weight > 0 })
	}
	switch {
	case c.OffVariation != nil && *c.OffVariation == idx:
		return "the off variation"
	case c.Fallthrough.Variation != nil && *c.Fallthrough.Variation == idx:
		return "the default rule's variation"
	case weighted(c.Fallthrough.Rollout):
		return "part of the default rule's rollout"
	}
	for i, r := range c.Rules {
		if (r.Variation != nil && *r.Variation == idx) || weighted(r.Rollout) {
			return fmt.Sprintf("served by rule %q (rules[%d])", r.ID, i)
		}
	}
	for _, t := range slices.Concat(c.Targets, c.ContextTargets) {
		if t.Variation == idx && len(t.Values) > 0 {
			return "individually targeted"
		}
	}
	return ""
}

// shiftIndex is variation index i after index gone was removed.
func shiftIndex(i, gone int) int {
	if i > gone {
		return i - 1
	}
	return i
}

// reindexConfig rewrites a configuration's variation indexes after index
// gone was removed, dropping its empty target lists and zero-weight
// rollout buckets (variationUse found no other use).
func reindexConfig(c *FlagConfig, gone int) {
	shiftPtr := func(p *int) {
		if p != nil {
			*p = shiftIndex(*p, gone)
		}
	}
	shiftRollout := func(r *Rollout) {
		if r == nil {
			return
		}
		r.Variations = slices.DeleteFunc(slices.Clone(r.Variations), func(w WeightedVariation) bool { return w.Variation == gone })
		for i := range r.Variations {
			r.Variations[i].Variation = shiftIndex(r.Variations[i].Variation, gone)
		}
	}
	shiftTargets := func(ts []Target) []Target {
		out := slices.DeleteFunc(slices.Clone(ts), func(t Target) bool { return t.Variation == gone })
		for i := range out {
			out[i].Variation = shiftIndex(out[i].Variation, gone)
		}
		return nonNil(out)
	}
	c.Targets, c.ContextTargets = shiftTargets(c.Targets), shiftTargets(c.ContextTargets)
	for i := range c.Rules {
		shiftPtr(c.Rules[i].Variation)
		shiftRollout(c.Rules[i].Rollout)
	}
	shiftPtr(c.Fallthrough.Variation)
	shiftRollout(c.Fallthrough.Rollout)
	shiftPtr(c.OffVariation)
}

func (a *fiApplier) updateDefaultVariation(p *fiParams) error {
	if fiAbsent(p.OnVariationValue) && fiAbsent(p.OffVariationValue) {
		return errors.New("parameter \"onVariationValue\" or \"offVariationValue\" is required")
	}
	d := FlagDefaults{OnVariation: 0, OffVariation: len(a.f.Variations) - 1}
	if a.f.Defaults != nil {
		d = *a.f.Defaults
	}
	for _, x := range []struct {
		raw  json.RawMessage
		name string
		dst  *int
	}{{p.OnVariationValue, "onVariationValue", &d.OnVariation}, {p.OffVariationValue, "offVariationValue", &d.OffVariation}} {
		if fiAbsent(x.raw) {
			continue
		}
		val, err := variationValue(x.raw, x.name)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(a.f.Variations, func(v Variation) bool { return fiSameJSON(v.Value, val) })
		if i < 0 {
			return fmt.Errorf("%s %s is not the value of a variation of flag %q", x.name, x.raw, a.f.Key)
		}
		*x.dst = i
	}
	a.f.Defaults = &d
	return nil
}

// ---- flag settings ----

func (a *fiApplier) updateName(p *fiParams) error {
	s, err := fiString(p.Value, "value")
	if err != nil {
		return err
	}
	if err := validName("value", s); err != nil {
		return err
	}
	a.f.Name = s
	return nil
}

func (a *fiApplier) updateDescription(p *fiParams) error {
	s, err := fiString(p.Value, "value")
	if err != nil {
		return err
	}
	a.f.Description = s
	return nil
}

func (a *fiApplier) addTags(p *fiParams) error {
	tags, err := fiStrings(p.Values, "values")
	if err != nil {
		return err
	}
	if err := validTags("values", tags); err != nil {
		return err
	}
	for _, t := range tags {
		if !slices.Contains(a.f.Tags, t) {
			a.f.Tags = append(slices.Clone(a.f.Tags), t)
		}
	}
	return nil
}

func (a *fiApplier) removeTags(p *fiParams) error {
	tags, err := fiStrings(p.Values, "values")
	if err != nil {
		return err
	}
	if slices.ContainsFunc(a.f.Tags, func(t string) bool { return slices.Contains(tags, t) }) {
		a.f.Tags = slices.DeleteFunc(slices.Clone(a.f.Tags), func(t string) bool { return slices.Contains(tags, t) })
	}
	return nil
}

// customProperty reads the key and values of a custom-property kind.
func (a *fiApplier) customProperty(p *fiParams) (string, []string, error) {
	if p.Key == "" {
		return "", nil, errors.New("parameter \"key\" must not be empty")
	}
	vals, err := fiStrings(p.Values, "values")
	if a.f.CustomProperties == nil {
		a.f.CustomProperties = map[string]CustomProperty{}
	}
	return p.Key, vals, err
}

// setCustomProperty stores a property, named by name or its current name.
func (a *fiApplier) setCustomProperty(key string, name *string, vals []string) error {
	cp := a.f.CustomProperties[key]
	if name != nil && *name != "" {
		cp.Name = *name
	}
	if strings.TrimSpace(cp.Name) == "" {
		return fmt.Errorf("custom property %q needs a name", key)
	}
	cp.Value = vals
	a.f.CustomProperties[key] = cp
	return nil
}

func (a *fiApplier) addCustomProperties(p *fiParams) error {
	key, vals, err := a.customProperty(p)
	if err != nil {
		return err
	}
	merged := slices.Clone(a.f.CustomProperties[key].Value)
	for _, v := range vals {
		if !slices.Contains(merged, v) {
			merged = append(merged, v)
		}
	}
	return a.setCustomProperty(key, p.Name, merged)
}

func (a *fiApplier) replaceCustomProperties(p *fiParams) error {
	key, vals, err := a.customProperty(p)
	if err != nil {
		return err
	}
	return a.setCustomProperty(key, p.Name, vals)
}

func (a *fiApplier) removeCustomProperties(p *fiParams) error {
	key, vals, err := a.customProperty(p)
	if err != nil {
		return err
	}
	cp, ok := a.f.CustomProperties[key]
	if !ok || !slices.ContainsFunc(cp.Value, func(v string) bool { return slices.Contains(vals, v) }) {
		return nil
	}
	cp.Value = slices.DeleteFunc(slices.Clone(cp.Value), func(v string) bool { return slices.Contains(vals, v) })
	if len(cp.Value) == 0 {
		delete(a.f.CustomProperties, key)
		return nil
	}
	a.f.CustomProperties[key] = cp
	return nil
}

// clientSide turns one client-side availability on or off.
func fiClientSide(on bool) func(*fiApplier, *fiParams) error {
	return func(a *fiApplier, p *fiParams) error {
		s, err := fiString(p.Value, "value")
		if err != nil {
			return err
		}
		switch s {
		case "usingMobileKey":
			a.f.ClientSideAvailability.UsingMobileKey = on
		case "usingEnvironmentId":
			a.f.ClientSideAvailability.UsingEnvironmentID = on
			a.f.IncludeInSnippet = on
		default:
			return fmt.Errorf("parameter \"value\" must be \"usingMobileKey\" or \"usingEnvironmentId\", got %q", s)
		}
		return nil
	}
}

// maintainer sets a member or team as the only maintainer. Whether the
// member or team exists is the caller's to check.
func fiMaintainer(team bool) func(*fiApplier, *fiParams) error {
	return func(a *fiApplier, p *fiParams) error {
		s, err := fiString(p.Value, "value")
		if err != nil {
			return err
		}
		if s == "" {
			return errors.New("parameter \"value\" must not be empty")
		}
		if team {
			a.f.MaintainerID, a.f.MaintainerTeamKey = "", s
		} else {
			a.f.MaintainerID, a.f.MaintainerTeamKey = s, ""
		}
		return nil
	}
}

// ---- lifecycle ----

// archive sets the archive state, mirrored by every configuration.
func (a *fiApplier) archive(on bool) {
	a.f.Archived = on
	for _, c := range a.f.Environments {
		if c != nil {
			c.Archived = on
		}
	}
}

func (a *fiApplier) deleteFlag(*fiParams) error {
	if !a.last {
		return errors.New("deleteFlag must be the last instruction")
	}
	a.deleted = true
	return nil
}
