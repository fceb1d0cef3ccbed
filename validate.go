package flagstore

// Shape validation of flags and segments: everything that can be checked
// from the document alone. Referential checks (prerequisite flags exist, no
// prerequisite cycles, segments exist) need storage and are done elsewhere.
// Each validator returns the first problem found, naming its attribute path.

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// weightTotal is 100% in a rollout's thousandths of a percent.
const weightTotal = 100000

// flagKind derives a flag's kind from its variations: boolean when they are
// exactly the two booleans true and false (in either order).
func flagKind(vars []Variation) string {
	if len(vars) == 2 {
		a, aok := vars[0].Value.(bool)
		b, bok := vars[1].Value.(bool)
		if aok && bok && a != b {
			return KindBoolean
		}
	}
	return KindMultivariate
}

// validateFlag checks a whole flag, including every environment's targeting.
func validateFlag(f *Flag) *Error {
	if err := validKey("key", f.Key); err != nil {
		return err
	}
	if err := validName("name", f.Name); err != nil {
		return err
	}
	if err := validTags("tags", f.Tags); err != nil {
		return err
	}
	if err := validateVariations(f); err != nil {
		return err
	}
	n := len(f.Variations)
	if d := f.Defaults; d != nil {
		if err := checkIndex("defaults.onVariation", d.OnVariation, n); err != nil {
			return err
		}
		if err := checkIndex("defaults.offVariation", d.OffVariation, n); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(f.CustomProperties)) {
		if k == "" {
			return invalidf("customProperties", "custom property keys must not be empty")
		}
		if strings.TrimSpace(f.CustomProperties[k].Name) == "" {
			return invalidf("customProperties."+k+".name", "custom property %q needs a name", k)
		}
	}
	for _, env := range slices.Sorted(maps.Keys(f.Environments)) {
		if err := validKey("environments", env); err != nil {
			return err
		}
		p := "environments." + env
		cfg := f.Environments[env]
		if cfg == nil {
			return invalidf(p, "environment %q has no configuration", env)
		}
		if err := validateFlagConfig(p, f.Key, cfg, n); err != nil {
			return err
		}
	}
	return nil
}

// validateVariations checks the variation list and that Kind agrees with it.
func validateVariations(f *Flag) *Error {
	vars := f.Variations
	if len(vars) < 2 {
		return invalidf("variations", "a flag needs at least 2 variations, got %d", len(vars))
	}
	kind := flagKind(vars)
	values := make(map[string]int, len(vars))
	ids := make(map[string]int, len(vars))
	family := ""
	for i, v := range vars {
		p := fmt.Sprintf("variations[%d]", i)
		d, canon, err := normalJSON(v.Value)
		if err != nil {
			return invalidf(p+".value", "variation value cannot be encoded as JSON: %v", err)
		}
		if d == nil {
			return invalidf(p+".value", "variation value must not be null")
		}
		if j, dup := values[string(canon)]; dup {
			return invalidf(p+".value", "variation value duplicates variations[%d]", j)
		}
		values[string(canon)] = i
		if kind != KindBoolean {
			switch fam := jsonFamily(d); {
			case fam == "boolean":
				return invalidf(p+".value", "boolean values are allowed only in a boolean flag of exactly true and false")
			case family == "":
				family = fam
			case fam != family:
				return invalidf(p+".value", "variation values must all be of one type: got %s after %s", fam, family)
			}
		}
		if v.ID != "" {
			if j, dup := ids[v.ID]; dup {
				return invalidf(p+"._id", "variation _id %q is also used by variations[%d]", v.ID, j)
			}
			ids[v.ID] = i
		}
	}
	if f.Kind != kind {
		return invalidf("kind", "kind must be %q for these variations, got %q", kind, f.Kind)
	}
	return nil
}

// validateFlagConfig checks one environment's targeting; p is its path, self
// the flag's own key and n its number of variations.
func validateFlagConfig(p, self string, c *FlagConfig, n int) *Error {
	if err := validateTargets(p, c, n); err != nil {
		return err
	}
	ruleIDs := make(map[string]int, len(c.Rules))
	for i, r := range c.Rules {
		rp := fmt.Sprintf("%s.rules[%d]", p, i)
		if r.ID != "" {
			if j, dup := ruleIDs[r.ID]; dup {
				return invalidf(rp+"._id", "rule _id %q is also used by rules[%d]", r.ID, j)
			}
			ruleIDs[r.ID] = i
		}
		if err := validateServe(rp, r.Variation, r.Rollout, n); err != nil {
			return err
		}
		for k := range r.Clauses {
			if err := validateClause(fmt.Sprintf("%s.clauses[%d]", rp, k), &r.Clauses[k]); err != nil {
				return err
			}
		}
	}
	if err := validateServe(p+".fallthrough", c.Fallthrough.Variation, c.Fallthrough.Rollout, n); err != nil {
		return err
	}
	if c.OffVariation != nil {
		if err := checkIndex(p+".offVariation", *c.OffVariation, n); err != nil {
			return err
		}
	}
	prereqs := make(map[string]int, len(c.Prerequisites))
	for i, pr := range c.Prerequisites {
		pp := fmt.Sprintf("%s.prerequisites[%d]", p, i)
		if err := validKey(pp+".key", pr.Key); err != nil {
			return err
		}
		if pr.Key == self {
			return invalidf(pp+".key", "a flag cannot be its own prerequisite")
		}
		if j, dup := prereqs[pr.Key]; dup {
			return invalidf(pp+".key", "prerequisite %q is also listed at prerequisites[%d]", pr.Key, j)
		}
		prereqs[pr.Key] = i
		if pr.Variation < 0 {
			return invalidf(pp+".variation", "variation index must not be negative")
		}
	}
	return nil
}

// validateTargets checks targets and contextTargets together: one list per
// (variation, context kind), and each context key served one variation.
// A user-kind entry of contextTargets with no values is LaunchDarkly's
// placeholder for the ordering of user targets and is not counted as a list.
func validateTargets(p string, c *FlagConfig, n int) *Error {
	type slot struct {
		variation int
		kind      string
	}
	type owner struct {
		list      string
		variation int
	}
	lists := make(map[slot]string)
	owners := make(map[[2]string]owner)
	check := func(field string, ts []Target, contextual bool) *Error {
		for i, t := range ts {
			tp := fmt.Sprintf("%s.%s[%d]", p, field, i)
			kind := t.ContextKind
			if contextual {
				if err := validContextKind(tp+".contextKind", kind); err != nil {
					return err
				}
			} else if kind != "" && kind != "user" {
				return invalidf(tp+".contextKind", "targets holds user targets only; list kind %q in contextTargets", kind)
			}
			if kind == "" {
				kind = "user"
			}
			if err := checkIndex(tp+".variation", t.Variation, n); err != nil {
				return err
			}
			if contextual && kind == "user" && len(t.Values) == 0 {
				continue
			}
			s := slot{t.Variation, kind}
			if prev, dup := lists[s]; dup {
				return invalidf(tp, "variation %d already has a target list of kind %q at %s", t.Variation, kind, prev)
			}
			lists[s] = tp
			for j, v := range t.Values {
				vp := fmt.Sprintf("%s.values[%d]", tp, j)
				if v == "" {
					return invalidf(vp, "target values must be non-empty context keys")
				}
				k := [2]string{kind, v}
				if prev, dup := owners[k]; dup {
					if prev.list == tp {
						return invalidf(vp, "context key %q is listed twice", v)
					}
					return invalidf(vp, "context key %q of kind %q is already targeted by variation %d", v, kind, prev.variation)
				}
				owners[k] = owner{tp, t.Variation}
			}
		}
		return nil
	}
	if err := check("targets", c.Targets, false); err != nil {
		return err
	}
	return check("contextTargets", c.ContextTargets, true)
}

// validateServe checks what a rule or fallthrough serves: exactly one of a
// variation index or a rollout.
func validateServe(p string, variation *int, rollout *Rollout, n int) *Error {
	switch {
	case variation != nil && rollout != nil:
		return invalidf(p, "set either a variation or a rollout, not both")
	case variation != nil:
		return checkIndex(p+".variation", *variation, n)
	case rollout != nil:
		return validateRollout(p+".rollout", rollout, n)
	default:
		return invalidf(p, "a variation or a rollout is required")
	}
}

// validateRollout checks a percentage rollout over n variations.
func validateRollout(p string, r *Rollout, n int) *Error {
	if len(r.Variations) == 0 {
		return invalidf(p+".variations", "a rollout needs at least one weighted variation")
	}
	seen := make(map[int]int, len(r.Variations))
	sum := 0
	for k, wv := range r.Variations {
		wp := fmt.Sprintf("%s.variations[%d]", p, k)
		if err := checkIndex(wp+".variation", wv.Variation, n); err != nil {
			return err
		}
		if j, dup := seen[wv.Variation]; dup {
			return invalidf(wp+".variation", "variation %d is also listed at variations[%d]", wv.Variation, j)
		}
		seen[wv.Variation] = k
		if wv.Weight < 0 || wv.Weight > weightTotal {
			return invalidf(wp+".weight", "weight must be between 0 and %d, got %d", weightTotal, wv.Weight)
		}
		sum += wv.Weight
	}
	if sum != weightTotal {
		return invalidf(p+".variations", "rollout weights must sum to %d, got %d", weightTotal, sum)
	}
	if r.ContextKind != "" {
		return validContextKind(p+".contextKind", r.ContextKind)
	}
	return nil
}

// validateClause checks one clause of a flag or segment rule; path is the
// clause's attribute path.
func validateClause(path string, c *Clause) *Error {
	if c.Attribute == "" {
		return invalidf(path+".attribute", "clause attribute must be present")
	}
	if !clauseOps[c.Op] {
		return invalidf(path+".op", "unknown clause operator %q", c.Op)
	}
	if len(c.Values) == 0 {
		return invalidf(path+".values", "a clause needs at least one value")
	}
	for j, v := range c.Values {
		if err := validateClauseValue(fmt.Sprintf("%s.values[%d]", path, j), c.Op, v); err != nil {
			return err
		}
	}
	if c.ContextKind != "" {
		return validContextKind(path+".contextKind", c.ContextKind)
	}
	return nil
}

// validateClauseValue checks that v has a type op can compare with.
func validateClauseValue(p, op string, v any) *Error {
	d, _, err := normalJSON(v)
	if err != nil {
		return invalidf(p, "clause value cannot be encoded as JSON: %v", err)
	}
	s, isString := d.(string)
	_, isNumber := d.(float64)
	switch op {
	case "matches":
		if !isString {
			return invalidf(p, "matches needs a regular expression string")
		}
		if _, err := regexp.Compile(s); err != nil {
			return invalidf(p, "invalid regular expression %q: %v", s, err)
		}
	case "segmentMatch":
		if !isString || validKey(p, s) != nil {
			return invalidf(p, "segmentMatch values must be segment keys")
		}
	case "before", "after":
		if isNumber {
			return nil
		}
		if !isString {
			return invalidf(p, "%s needs a date: Unix milliseconds or an RFC 3339 string", op)
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return invalidf(p, "%q is not an RFC 3339 date", s)
		}
	case "lessThan", "lessThanOrEqual", "greaterThan", "greaterThanOrEqual":
		if !isNumber {
			return invalidf(p, "%s compares numbers; got %s", op, jsonFamily(d))
		}
	case "startsWith", "endsWith", "contains", "semVerEqual", "semVerLessThan", "semVerGreaterThan":
		if !isString {
			return invalidf(p, "%s compares strings; got %s", op, jsonFamily(d))
		}
	}
	return nil
}

// validContextKind checks a context kind: letters, digits, '.', '_' and '-',
// and neither "kind" nor "multi", which LaunchDarkly reserves.
func validContextKind(attribute, kind string) *Error {
	if kind == "" {
		return invalidf(attribute, "context kind must be present")
	}
	if kind == "kind" || kind == "multi" {
		return invalidf(attribute, "context kind %q is reserved", kind)
	}
	if len(kind) > maxKeyLength {
		return invalidf(attribute, "context kind must be at most %d characters", maxKeyLength)
	}
	for i := 0; i < len(kind); i++ {
		if c := kind[i]; !isAlnum(c) && c != '.' && c != '_' && c != '-' {
			return invalidf(attribute, "context kind %q may contain only letters, digits, '.', '_' and '-'", kind)
		}
	}
	return nil
}

// validateSegment checks a segment's shape.
func validateSegment(s *Segment) *Error {
	if err := validKey("key", s.Key); err != nil {
		return err
	}
	if err := validName("name", s.Name); err != nil {
		return err
	}
	if err := validTags("tags", s.Tags); err != nil {
		return err
	}
	if err := checkKeyList("included", s.Included); err != nil {
		return err
	}
	if err := checkKeyList("excluded", s.Excluded); err != nil {
		return err
	}
	if err := validateSegmentTargets("includedContexts", s.IncludedContexts); err != nil {
		return err
	}
	if err := validateSegmentTargets("excludedContexts", s.ExcludedContexts); err != nil {
		return err
	}
	if err := checkIncludedExcluded(s); err != nil {
		return err
	}
	if s.UnboundedContextKind != "" {
		if err := validContextKind("unboundedContextKind", s.UnboundedContextKind); err != nil {
			return err
		}
	}
	ruleIDs := make(map[string]int, len(s.Rules))
	for i, r := range s.Rules {
		rp := fmt.Sprintf("rules[%d]", i)
		if r.ID != "" {
			if j, dup := ruleIDs[r.ID]; dup {
				return invalidf(rp+"._id", "rule _id %q is also used by rules[%d]", r.ID, j)
			}
			ruleIDs[r.ID] = i
		}
		for k := range r.Clauses {
			cp := fmt.Sprintf("%s.clauses[%d]", rp, k)
			c := &r.Clauses[k]
			if err := validateClause(cp, c); err != nil {
				return err
			}
			if c.Op != "segmentMatch" {
				continue
			}
			for j, v := range c.Values {
				if v == any(s.Key) {
					return invalidf(fmt.Sprintf("%s.values[%d]", cp, j), "a segment cannot match itself")
				}
			}
		}
		if r.Weight != nil && (*r.Weight < 0 || *r.Weight > weightTotal) {
			return invalidf(rp+".weight", "weight must be between 0 and %d, got %d", weightTotal, *r.Weight)
		}
		if r.RolloutContextKind != "" {
			if err := validContextKind(rp+".rolloutContextKind", r.RolloutContextKind); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateSegmentTargets checks includedContexts or excludedContexts: a valid
// kind, at most one entry per kind, and a clean list of keys.
func validateSegmentTargets(field string, ts []SegmentTarget) *Error {
	kinds := make(map[string]int, len(ts))
	for i, t := range ts {
		tp := fmt.Sprintf("%s[%d]", field, i)
		if err := validContextKind(tp+".contextKind", t.ContextKind); err != nil {
			return err
		}
		if j, dup := kinds[t.ContextKind]; dup {
			return invalidf(tp+".contextKind", "kind %q already has an entry at %s[%d]", t.ContextKind, field, j)
		}
		kinds[t.ContextKind] = i
		if err := checkKeyList(tp+".values", t.Values); err != nil {
			return err
		}
	}
	return nil
}

// checkKeyList refuses empty or repeated context keys in one list.
func checkKeyList(field string, keys []string) *Error {
	seen := make(map[string]int, len(keys))
	for j, k := range keys {
		p := fmt.Sprintf("%s[%d]", field, j)
		if k == "" {
			return invalidf(p, "context keys must not be empty")
		}
		if i, dup := seen[k]; dup {
			return invalidf(p, "context key %q is also listed at %s[%d]", k, field, i)
		}
		seen[k] = j
	}
	return nil
}

// checkIndex refuses a variation index outside [0, n).
func checkIndex(attribute string, idx, n int) *Error {
	if idx < 0 || idx >= n {
		return invalidf(attribute, "variation index %d is out of range: the flag has %d variations", idx, n)
	}
	return nil
}

// normalJSON round-trips v through encoding/json so that Go values (ints,
// typed maps, structs) classify and compare like decoded JSON. It returns
// the decoded value and its canonical encoding (object keys sorted).
func normalJSON(v any) (any, []byte, error) {
	switch x := v.(type) {
	case bool, float64:
		b, err := json.Marshal(x) // a float64 encodes as the shortest form that decodes to itself
		return x, b, err
	case string:
		if utf8.ValidString(x) {
			b, err := json.Marshal(x)
			return x, b, err
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, nil, err
	}
	var d any
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, nil, err
	}
	b, err = json.Marshal(d)
	return d, b, err
}

// jsonFamily names the JSON type family of a value decoded by normalJSON.
func jsonFamily(d any) string {
	switch d.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case float64:
		return "number"
	case bool:
		return "boolean"
	default:
		return "object or array"
	}
}

// checkIncludedExcluded refuses a context key that a segment both includes
// and excludes, for the same context kind: LaunchDarkly forbids it.
func checkIncludedExcluded(s *Segment) *Error {
	byKind := func(user []string, ts []SegmentTarget) map[string]map[string]bool {
		m := map[string]map[string]bool{"user": {}}
		for _, k := range user {
			m["user"][k] = true
		}
		for _, t := range ts {
			if m[t.ContextKind] == nil {
				m[t.ContextKind] = map[string]bool{}
			}
			for _, k := range t.Values {
				m[t.ContextKind][k] = true
			}
		}
		return m
	}
	inc := byKind(s.Included, s.IncludedContexts)
	exc := byKind(s.Excluded, s.ExcludedContexts)
	for kind, keys := range exc {
		for k := range keys {
			if inc[kind][k] {
				return invalidf("excluded", "%s key %q is both included and excluded", kind, k)
			}
		}
	}
	return nil
}
