package flagstore

import (
	"encoding/json"
	"maps"
	"slices"
)

// Deep copies of resources, so that an update works on its own copy and a
// read never shares memory with what another caller holds. JSON values
// (variation values, clause values) hold only what encoding/json decodes:
// maps, slices and scalars.

// cloneFlag returns a deep copy of f.
func cloneFlag(f *Flag) Flag {
	c := *f
	c.Variations = slices.Clone(f.Variations)
	for i := range c.Variations {
		c.Variations[i].Value = cloneJSON(c.Variations[i].Value)
	}
	if f.Defaults != nil {
		d := *f.Defaults
		c.Defaults = &d
	}
	c.Tags = slices.Clone(f.Tags)
	if f.CustomProperties != nil {
		c.CustomProperties = make(map[string]CustomProperty, len(f.CustomProperties))
		for k, p := range f.CustomProperties {
			p.Value = slices.Clone(p.Value)
			c.CustomProperties[k] = p
		}
	}
	c.Experiments.Items = cloneJSONSlice(f.Experiments.Items)
	c.GoalIDs = slices.Clone(f.GoalIDs)
	if f.Environments != nil {
		c.Environments = make(map[string]*FlagConfig, len(f.Environments))
		for k, cfg := range f.Environments {
			c.Environments[k] = cloneConfig(cfg)
		}
	}
	return c
}

// cloneConfig returns a deep copy of one environment's configuration.
func cloneConfig(cfg *FlagConfig) *FlagConfig {
	if cfg == nil {
		return nil
	}
	c := *cfg
	c.Targets = cloneTargets(cfg.Targets)
	c.ContextTargets = cloneTargets(cfg.ContextTargets)
	c.Rules = slices.Clone(cfg.Rules)
	for i := range c.Rules {
		r := &c.Rules[i]
		r.Variation = cloneInt(r.Variation)
		r.Rollout = cloneRollout(r.Rollout)
		r.Clauses = cloneClauses(r.Clauses)
	}
	c.Fallthrough = VariationOrRollout{Variation: cloneInt(cfg.Fallthrough.Variation), Rollout: cloneRollout(cfg.Fallthrough.Rollout)}
	c.OffVariation = cloneInt(cfg.OffVariation)
	c.Prerequisites = slices.Clone(cfg.Prerequisites)
	if cfg.DebugEventsUntilDate != nil {
		d := *cfg.DebugEventsUntilDate
		c.DebugEventsUntilDate = &d
	}
	return &c
}

func cloneTargets(ts []Target) []Target {
	out := slices.Clone(ts)
	for i := range out {
		out[i].Values = slices.Clone(out[i].Values)
	}
	return out
}

func cloneClauses(cs []Clause) []Clause {
	out := slices.Clone(cs)
	for i := range out {
		out[i].Values = cloneJSONSlice(out[i].Values)
	}
	return out
}

func cloneRollout(r *Rollout) *Rollout {
	if r == nil {
		return nil
	}
	c := *r
	c.Variations = slices.Clone(r.Variations)
	c.Seed = cloneInt(r.Seed)
	if r.ExperimentAllocation != nil {
		c.ExperimentAllocation = cloneJSON(r.ExperimentAllocation).(map[string]any)
	}
	return &c
}

func cloneInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// cloneProject returns a deep copy of p.
func cloneProject(p *Project) Project {
	c := *p
	c.Tags = slices.Clone(p.Tags)
	if a := p.DefaultClientSideAvailability; a != nil {
		ac := *a
		c.DefaultClientSideAvailability = &ac
	}
	if p.Environments != nil {
		c.Environments = make([]Environment, len(p.Environments))
		for i, e := range p.Environments {
			e.Tags = slices.Clone(e.Tags)
			c.Environments[i] = e
		}
	}
	return c
}

// cloneSegment returns a deep copy of s.
func cloneSegment(s *Segment) Segment {
	c := *s
	c.Tags = slices.Clone(s.Tags)
	c.Included = slices.Clone(s.Included)
	c.Excluded = slices.Clone(s.Excluded)
	c.IncludedContexts = cloneSegmentTargets(s.IncludedContexts)
	c.ExcludedContexts = cloneSegmentTargets(s.ExcludedContexts)
	c.Rules = slices.Clone(s.Rules)
	for i := range c.Rules {
		r := &c.Rules[i]
		r.Clauses = cloneClauses(r.Clauses)
		r.Weight = cloneInt(r.Weight)
	}
	return c
}

func cloneSegmentTargets(ts []SegmentTarget) []SegmentTarget {
	out := slices.Clone(ts)
	for i := range out {
		out[i].Values = slices.Clone(out[i].Values)
	}
	return out
}

// cloneJSON deep-copies a value of the shapes encoding/json produces.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range maps.All(x) {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		return cloneJSONSlice(x)
	default:
		return v
	}
}

func cloneJSONSlice(s []any) []any {
	if s == nil {
		return nil
	}
	out := make([]any, len(s))
	for i, e := range s {
		out[i] = cloneJSON(e)
	}
	return out
}

// jsonShaped returns v as encoding/json would decode it (strings, float64,
// bools, nil, map[string]any and []any), converting other Go values a
// caller may have given, such as ints or []string, through JSON. Values that
// already have that shape are returned as they are.
func jsonShaped(v any) (any, error) {
	if isJSONShaped(v) {
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out any
	err = json.Unmarshal(b, &out)
	return out, err
}

func isJSONShaped(v any) bool {
	switch x := v.(type) {
	case nil, string, float64, bool:
		return true
	case map[string]any:
		for _, e := range x {
			if !isJSONShaped(e) {
				return false
			}
		}
		return true
	case []any:
		for _, e := range x {
			if !isJSONShaped(e) {
				return false
			}
		}
		return true
	}
	return false
}
