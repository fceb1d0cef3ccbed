package flagstore

import (
	"github.com/flagstore/flagstore/internal/resource"
)

// specMatcher returns a filter over an entry's accesses for a resource
// specifier in LaunchDarkly's grammar ("" keeps everything). An entry
// matches when one of its accesses names a resource the specifier matches.
//
// Accesses are stored as LaunchDarkly prints them, without tags or
// properties, so a specifier with tag or {critical:true} selectors matches
// no entry. A flag-wide access is recorded for every environment at once
// ("env/*"); it matches whatever environment the specifier names.
func specMatcher(spec string) (func([]Access) bool, error) {
	if spec == "" {
		return func([]Access) bool { return true }, nil
	}
	sp, err := resource.Parse(spec)
	if err != nil {
		return nil, invalidf("spec", "invalid resource specifier: %v", err)
	}
	return func(accesses []Access) bool {
		for _, a := range accesses {
			if r, ok := accessResource(a.Resource, sp); ok && sp.Matches(r) {
				return true
			}
		}
		return false
	}, nil
}

// accessResource turns a recorded resource string into a Resource to match
// against sp. A part named "*" (all environments) takes the specifier's own
// name for that level, which the specifier's glob always matches.
func accessResource(s string, sp resource.Spec) (resource.Resource, bool) {
	parsed, err := resource.Parse(s)
	if err != nil {
		return resource.Resource{}, false
	}
	r := resource.Resource{Segments: make([]resource.Part, len(parsed.Segments))}
	for i, p := range parsed.Segments {
		name := p.Name
		if name == "*" && i < len(sp.Segments) {
			name = sp.Segments[i].Name
		}
		r.Segments[i] = resource.Part{Type: p.Type, Name: name}
	}
	return r, true
}
