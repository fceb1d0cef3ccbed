package flagstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"unicode/utf8"
)

// normaliseFlag fills what a stored flag always has: derived kind, empty
// lists rather than null, IDs on variations, rules and clauses, the user
// context kind on user targets, and configs mirroring the archive state.
func (s *Store) normaliseFlag(f *Flag) error {
	if err := shapeFlagValues(f); err != nil {
		return err
	}
	f.Kind = flagKind(f.Variations)
	f.Tags = nonNil(f.Tags)
	f.GoalIDs = nonNil(f.GoalIDs)
	f.Experiments.Items = nonNil(f.Experiments.Items)
	if f.CustomProperties == nil {
		f.CustomProperties = map[string]CustomProperty{}
	}
	f.IncludeInSnippet = f.ClientSideAvailability.UsingEnvironmentID
	for i := range f.Variations {
		if f.Variations[i].ID == "" {
			f.Variations[i].ID = s.newUUID()
		}
	}
	for _, c := range f.Environments {
		if c == nil {
			continue
		}
		c.Archived = f.Archived
		c.Targets = nonNil(c.Targets)
		c.ContextTargets = nonNil(c.ContextTargets)
		c.Rules = nonNil(c.Rules)
		c.Prerequisites = nonNil(c.Prerequisites)
		for i := range c.Targets {
			if c.Targets[i].ContextKind == "" {
				c.Targets[i].ContextKind = "user"
			}
		}
		for i := range c.Rules {
			r := &c.Rules[i]
			if r.ID == "" {
				r.ID = s.newUUID()
			}
			r.Clauses = nonNil(r.Clauses)
			s.normaliseClauses(r.Clauses)
		}
	}
	return nil
}

// shapeFlagValues turns the free-form JSON values of a flag (variation
// values, clause values, rollout allocations, experiment items) into the
// shapes encoding/json decodes to, so the flag equals its stored decoding.
func shapeFlagValues(f *Flag) error {
	for i := range f.Variations {
		v, err := jsonShaped(f.Variations[i].Value)
		if err != nil {
			return invalidf(fmt.Sprintf("variations[%d].value", i), "value cannot be encoded as JSON: %v", err)
		}
		f.Variations[i].Value = v
	}
	for i, it := range f.Experiments.Items {
		v, err := jsonShaped(it)
		if err != nil {
			return invalidf("experiments", "item cannot be encoded as JSON: %v", err)
		}
		f.Experiments.Items[i] = v
	}
	shapeRollout := func(attr string, r *Rollout) error {
		if r == nil || len(r.ExperimentAllocation) == 0 {
			if r != nil {
				r.ExperimentAllocation = nil // stored as absent, so read as nil
			}
			return nil
		}
		v, err := jsonShaped(r.ExperimentAllocation)
		if err != nil {
			return invalidf(attr, "experimentAllocation cannot be encoded as JSON: %v", err)
		}
		r.ExperimentAllocation, _ = v.(map[string]any)
		return nil
	}
	for env, c := range f.Environments {
		if c == nil {
			continue
		}
		if err := shapeRollout("environments."+env+".fallthrough.rollout", c.Fallthrough.Rollout); err != nil {
			return err
		}
		for i := range c.Rules {
			r := &c.Rules[i]
			if err := shapeRollout(fmt.Sprintf("environments.%s.rules[%d].rollout", env, i), r.Rollout); err != nil {
				return err
			}
			if err := shapeClauseValues(fmt.Sprintf("environments.%s.rules[%d]", env, i), r.Clauses); err != nil {
				return err
			}
		}
	}
	return nil
}

// shapeClauseValues does for clause values what shapeFlagValues does.
func shapeClauseValues(attr string, cs []Clause) error {
	for j := range cs {
		for k, v := range cs[j].Values {
			sv, err := jsonShaped(v)
			if err != nil {
				return invalidf(fmt.Sprintf("%s.clauses[%d].values[%d]", attr, j, k), "value cannot be encoded as JSON: %v", err)
			}
			cs[j].Values[k] = sv
		}
	}
	return nil
}

// normaliseClauses gives clauses IDs and the default context kind.
func (s *Store) normaliseClauses(cs []Clause) {
	for j := range cs {
		c := &cs[j]
		if c.ID == "" {
			c.ID = s.newUUID()
		}
		if c.ContextKind == "" && c.Op != "segmentMatch" {
			c.ContextKind = "user"
		}
		c.Values = nonNil(c.Values)
	}
}

// checkFlagReadOnly refuses changes to computed fields and to the set of
// environments, and restores the computed timestamps a caller may have
// touched, so that they move only with real changes.
func checkFlagReadOnly(before, after *Flag) error {
	switch {
	case after.Key != before.Key:
		return invalidf("key", "a flag's key cannot change")
	case after.Version != before.Version:
		return invalidf("_version", "_version is read-only")
	case after.CreationDate != before.CreationDate:
		return invalidf("creationDate", "creationDate is read-only")
	case !jsonEqual(after.Experiments, before.Experiments):
		// Legacy fields no action covers: a change would go unchecked.
		return invalidf("experiments", "experiments is read-only")
	case !jsonEqual(after.GoalIDs, before.GoalIDs):
		return invalidf("goalIds", "goalIds is read-only")
	}
	after.ArchivedDate, after.DeprecatedDate = before.ArchivedDate, before.DeprecatedDate
	for k := range after.Environments {
		if _, ok := before.Environments[k]; !ok {
			return invalidf("environments", "unknown environment %q: environments are added through their own calls", k)
		}
	}
	for k, b := range before.Environments {
		a, ok := after.Environments[k]
		if !ok || a == nil {
			return invalidf("environments", "environment %q cannot be removed from a flag", k)
		}
		if a.Version != b.Version {
			return invalidf("environments."+k+".version", "version is read-only")
		}
		a.LastModified = b.LastModified
	}
	return nil
}

// flagChange is what an update changed, as moveFlagVersions found it.
type flagChange struct {
	top bool // a flag-wide field
	// env holds each changed configuration's targeting actions (none when
	// only other fields changed); unchanged ones are absent.
	env map[string][]string
}

// moveFlagVersions raises _version, and the version and lastModified of each
// environment whose evaluation changed, and dates archive and deprecation.
// It reports what changed, or nil, changing nothing, when after equals
// before.
func (s *Store) moveFlagVersions(before, after *Flag) *flagChange {
	top := func(f *Flag) Flag { c := *f; c.Environments = nil; return c }
	ch := &flagChange{top: !jsonEqual(top(before), top(after))}
	for k, a := range after.Environments {
		b := before.Environments[k]
		// Most configurations are unchanged, which DeepEqual settles; a
		// changed targeting field settles the rest without encoding both,
		// and the JSON comparison catches other fields and other types.
		if reflect.DeepEqual(b, a) {
			continue
		}
		if actions := changedActions(flagConfigFieldActions, b, a); len(actions) > 0 || !jsonEqual(b, a) {
			if ch.env == nil {
				ch.env = map[string][]string{}
			}
			ch.env[k] = actions
		}
	}
	if !ch.top && len(ch.env) == 0 {
		return nil
	}
	now := s.nowMillis()
	if after.Archived != before.Archived {
		after.ArchivedDate = 0
		if after.Archived {
			after.ArchivedDate = now
		}
	}
	if after.Deprecated != before.Deprecated {
		after.DeprecatedDate = 0
		if after.Deprecated {
			after.DeprecatedDate = now
		}
	}
	wide := !jsonEqual(before.Variations, after.Variations) ||
		before.ClientSideAvailability != after.ClientSideAvailability ||
		before.Archived != after.Archived
	for k, a := range after.Environments {
		if _, changed := ch.env[k]; wide || changed {
			a.Version = before.Environments[k].Version + 1
			a.LastModified = now
		}
	}
	after.Version = before.Version + 1
	return ch
}

// checkFlagRefs checks what a flag refers to: prerequisite flags exist, are
// live and have the variation; prerequisites form no cycle; segments named
// by segmentMatch clauses exist in that environment; and a flag others
// depend on is not archived.
func (s *Store) checkFlagRefs(r *rtx, proj string, before, after *Flag) error {
	if after.Archived && (before == nil || !before.Archived) {
		if err := refuseIfDependents(r, proj, after.Key, "archived"); err != nil {
			return err
		}
	}
	cache := map[string]*Flag{after.Key: after}
	load := func(key string) (*Flag, error) {
		if f, ok := cache[key]; ok {
			return f, nil
		}
		var f Flag
		if _, err := r.get(flagKey(proj, key), &f); err != nil {
			cache[key] = nil
			return nil, nil
		}
		cache[key] = &f
		return &f, nil
	}
	for _, env := range slices.Sorted(maps.Keys(after.Environments)) {
		c := after.Environments[env]
		for i, p := range c.Prerequisites {
			attr := fmt.Sprintf("environments.%s.prerequisites[%d]", env, i)
			pf, err := load(p.Key)
			if err != nil {
				return err
			}
			switch {
			case pf == nil:
				return invalidf(attr, "prerequisite flag %q does not exist", p.Key)
			case pf.Archived:
				return invalidf(attr, "prerequisite flag %q is archived", p.Key)
			case p.Variation < 0 || p.Variation >= len(pf.Variations):
				return invalidf(attr, "prerequisite flag %q has no variation %d", p.Key, p.Variation)
			}
		}
		// A cycle back to this flag starts with one of its prerequisites.
		if len(c.Prerequisites) > 0 {
			cyc, err := prereqCycle(after.Key, env, load)
			if err != nil {
				return err
			}
			if cyc != "" {
				return invalidf("environments."+env+".prerequisites", "prerequisites form a cycle: %s", cyc)
			}
		}
		for i, rule := range c.Rules {
			for j, cl := range rule.Clauses {
				if cl.Op != "segmentMatch" {
					continue
				}
				for _, v := range cl.Values {
					seg, _ := v.(string)
					ok, err := r.exists(segKey(proj, env, seg))
					if err != nil {
						return err
					}
					if !ok {
						return invalidf(fmt.Sprintf("environments.%s.rules[%d].clauses[%d].values", env, i, j),
							"segment %q does not exist in environment %q", seg, env)
					}
				}
			}
		}
	}
	return nil
}

// prereqCycle follows prerequisites from start in one environment and
// returns the path of a cycle back to start, or "".
func prereqCycle(start, env string, load func(string) (*Flag, error)) (string, error) {
	seen := map[string]bool{}
	var walk func(key string, path []string) (string, error)
	walk = func(key string, path []string) (string, error) {
		f, err := load(key)
		if err != nil || f == nil {
			return "", err
		}
		c := f.Environments[env]
		if c == nil {
			return "", nil
		}
		for _, p := range c.Prerequisites {
			if p.Key == start {
				return joinPath(append(path, p.Key)), nil
			}
			if seen[p.Key] {
				continue
			}
			seen[p.Key] = true
			if cyc, err := walk(p.Key, append(path, p.Key)); err != nil || cyc != "" {
				return cyc, err
			}
		}
		return "", nil
	}
	return walk(start, []string{start})
}

func joinPath(p []string) string {
	var b bytes.Buffer
	for i, k := range p {
		if i > 0 {
			b.WriteString(" -> ")
		}
		b.WriteString(k)
	}
	return b.String()
}

// flagRefs lists the reference keys a flag owns: one per prerequisite flag
// and one per segment its rules match, per environment.
func flagRefs(proj string, f *Flag) map[string]bool {
	refs := map[string]bool{}
	for env, c := range f.Environments {
		if c == nil {
			continue
		}
		for _, p := range c.Prerequisites {
			refs[prereqPrefix(proj, p.Key)+f.Key] = true
		}
		for _, r := range c.Rules {
			for _, seg := range segmentMatches(r.Clauses) {
				refs[segUsePrefix(proj, env, seg)+"f:"+f.Key] = true
			}
		}
	}
	return refs
}

// segmentMatches lists the segment keys named by segmentMatch clauses.
func segmentMatches(cs []Clause) []string {
	var out []string
	for _, cl := range cs {
		if cl.Op != "segmentMatch" {
			continue
		}
		for _, v := range cl.Values {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// rewriteRefs replaces a resource's reference keys old with new.
func rewriteRefs(w *wtx, old, new map[string]bool) error {
	for _, k := range sortedKeys(old) {
		if !new[k] {
			if err := w.del(k); err != nil {
				return err
			}
		}
	}
	for _, k := range sortedKeys(new) {
		if !old[k] {
			if err := w.mark(k); err != nil {
				return err
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// jsonEqual compares two values by their JSON encoding, so that numbers a
// caller wrote as int compare equal to the float64 decoded from storage.
func jsonEqual(a, b any) bool {
	// The scalar fields most comparisons are about, without reflection.
	switch x := a.(type) {
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case int:
		if y, ok := b.(int); ok {
			return x == y
		}
	case string:
		if y, ok := b.(string); ok && (x == y || utf8.ValidString(x) && utf8.ValidString(y)) {
			return x == y // distinct valid strings encode differently
		}
	case []string:
		if y, ok := b.([]string); ok && (x == nil) == (y == nil) && slices.Equal(x, y) {
			return true
		}
	}
	if reflect.DeepEqual(a, b) {
		return true
	}
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// reindexDependents follows a change of a flag's variations into the flags
// that use it as a prerequisite: their stored variation indexes move with the
// variation (matched by _id). Removing a variation that a dependent still
// requires is refused.
func (s *Store) reindexDependents(w *wtx, proj string, before, after *Flag) error {
	moved := false
	newIndex := make([]int, len(before.Variations))
	for i, v := range before.Variations {
		newIndex[i] = variationIndex(after, v.ID)
		moved = moved || newIndex[i] != i
	}
	if !moved {
		return nil
	}
	deps, err := w.keysUnder(prereqPrefix(proj, after.Key))
	if err != nil {
		return err
	}
	for _, dep := range deps {
		var db Flag
		ver, err := getFlag(&w.rtx, proj, dep, &db)
		if err != nil {
			return err
		}
		da := cloneFlag(&db)
		for _, env := range slices.Sorted(maps.Keys(da.Environments)) {
			for i := range da.Environments[env].Prerequisites {
				p := &da.Environments[env].Prerequisites[i]
				if p.Key != after.Key || p.Variation < 0 || p.Variation >= len(newIndex) {
					continue
				}
				if newIndex[p.Variation] < 0 {
					return inUsef("Variation %d of flag %q cannot be removed: flag %q requires it as a prerequisite in environment %q",
						p.Variation, after.Key, dep, env)
				}
				p.Variation = newIndex[p.Variation]
			}
		}
		if _, _, err := s.writeFlag(w, proj, &db, &da, ver); err != nil {
			return err
		}
	}
	return nil
}
