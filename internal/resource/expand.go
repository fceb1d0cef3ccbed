package resource

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// MaxExpansions caps how many specifiers one specifier may expand into, so a
// member with many values for several attributes cannot blow up evaluation.
const MaxExpansions = 10000

// ErrRoleAttribute is wrapped by [Spec.Expand] errors: a role-attribute value
// that is not a plain key, or too many combinations.
var ErrRoleAttribute = errors.New("resource: invalid role attribute values")

// RoleAttributes returns the names of the role attributes s refers to
// through ${roleAttribute/<name>}, in order of first appearance.
func (s Spec) RoleAttributes() []string {
	var names []string
	add := func(str string) {
		for {
			i := strings.Index(str, placeholderPrefix)
			if i < 0 {
				return
			}
			str = str[i+len(placeholderPrefix):]
			end := strings.IndexByte(str, '}')
			if end < 0 {
				return
			}
			if name := str[:end]; !slices.Contains(names, name) {
				names = append(names, name)
			}
			str = str[end+1:]
		}
	}
	for _, p := range s.Segments {
		add(p.Name)
		for _, t := range p.Tags {
			add(t)
		}
		for _, pr := range p.Props {
			add(pr.Value)
		}
	}
	return names
}

// Expand substitutes role-attribute values into s, returning one Spec per
// combination of values (the first attribute varies slowest; duplicates are
// dropped). An attribute used twice takes the same value in both places. A
// Spec without placeholders expands to itself.
//
// An attribute that is missing from attrs, or has no values, yields no
// specifiers and no error, so the specifier names nothing (LaunchDarkly's
// docs are silent; roles with unset attributes are observed to grant
// nothing). Values must be plain keys (letters, digits, ".",
// "_", "-"); anything else, including "*", is an error wrapping
// [ErrRoleAttribute], so an attribute value can never widen a pattern or
// inject structure.
func (s Spec) Expand(attrs map[string][]string) ([]Spec, error) {
	names := s.RoleAttributes()
	if len(names) == 0 {
		return []Spec{s.clone()}, nil
	}
	lists := make([][]string, len(names))
	total, empty := 1, false
	for i, name := range names {
		var vals []string
		for _, v := range attrs[name] {
			if !isKey(v) {
				return nil, fmt.Errorf("%w: %q has value %q, which is not a key", ErrRoleAttribute, name, v)
			}
			if !slices.Contains(vals, v) {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			empty = true
			continue
		}
		if total *= len(vals); total > MaxExpansions {
			return nil, fmt.Errorf("%w: more than %d combinations", ErrRoleAttribute, MaxExpansions)
		}
		lists[i] = vals
	}
	if empty {
		return nil, nil
	}

	out := make([]Spec, 0, total)
	seen := make(map[string]bool, total)
	idx := make([]int, len(names))
	bind := make(map[string]string, len(names))
	for {
		for i, name := range names {
			bind[name] = lists[i][idx[i]]
		}
		e := s.substitute(bind)
		if key := e.String(); !seen[key] {
			seen[key] = true
			out = append(out, e)
		}
		k := len(idx) - 1
		for ; k >= 0; k-- {
			if idx[k]++; idx[k] < len(lists[k]) {
				break
			}
			idx[k] = 0
		}
		if k < 0 {
			return out, nil
		}
	}
}

// Expand parses spec and substitutes role-attribute values as
// [Spec.Expand] does, returning the canonical form of each result.
func Expand(spec string, attrs map[string][]string) ([]string, error) {
	s, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	specs, err := s.Expand(attrs)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(specs))
	for i, e := range specs {
		out[i] = e.String()
	}
	return out, nil
}

func (s Spec) substitute(bind map[string]string) Spec {
	out := Spec{Segments: make([]Pattern, len(s.Segments))}
	for i, p := range s.Segments {
		q := Pattern{Type: p.Type, Name: fill(p.Name, bind)}
		for _, t := range p.Tags {
			q.Tags = append(q.Tags, fill(t, bind))
		}
		for _, pr := range p.Props {
			q.Props = append(q.Props, Prop{Field: pr.Field, Value: fill(pr.Value, bind)})
		}
		out.Segments[i] = q
	}
	return out
}

// fill replaces every placeholder in str with its bound value.
func fill(str string, bind map[string]string) string {
	if !hasPlaceholder(str) {
		return str
	}
	var b strings.Builder
	for {
		i := strings.Index(str, placeholderPrefix)
		if i < 0 {
			b.WriteString(str)
			return b.String()
		}
		b.WriteString(str[:i])
		str = str[i+len(placeholderPrefix):]
		end := strings.IndexByte(str, '}')
		if end < 0 { // not from Parse; leave it, it will match nothing
			b.WriteString(placeholderPrefix + str)
			return b.String()
		}
		b.WriteString(bind[str[:end]])
		str = str[end+1:]
	}
}

func (s Spec) clone() Spec {
	out := Spec{Segments: make([]Pattern, len(s.Segments))}
	for i, p := range s.Segments {
		out.Segments[i] = Pattern{Type: p.Type, Name: p.Name, Tags: slices.Clone(p.Tags), Props: slices.Clone(p.Props)}
	}
	return out
}

// isKey reports whether s is a non-empty run of key characters.
func isKey(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isKeyChar(s[i]) {
			return false
		}
	}
	return true
}
