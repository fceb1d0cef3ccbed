package resource

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that the canonical form of every
// parsed specifier parses back to the same Spec, and that a concrete
// specifier names exactly the resource it spells.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"acct", "ip-allowlist", "proj/*", "proj/shop", "proj/a*b*c",
		"proj/*:env/production:flag/*",
		"proj/*:env/*;qa_*:/flag/*",
		"proj/*:env/*:flag/*;tag1,tag2",
		"proj/*:env/*;{critical:true},fedramp-enabled:flag/*",
		"proj/${roleAttribute/projects}:env/*:flag/*",
		"member/*:token/*", "service-token/*", "webhook/*;prod",
		"proj/*;{critical:${roleAttribute/c}}", "proj/*:env/*;{critical:true",
		"", ":", "proj", "proj/", "proj/*;", "{}:{}", "${roleAttribute/x}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		spec, err := Parse(s)
		if err != nil {
			return
		}
		canon := spec.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String()=%q) failed: %v", s, canon, err)
		}
		if !reflect.DeepEqual(spec, again) {
			t.Fatalf("round trip of %q via %q: %#v != %#v", s, canon, spec, again)
		}
		if again.String() != canon {
			t.Fatalf("String not stable: %q then %q", canon, again.String())
		}
		if r, err := ParseResource(s); err == nil {
			if !spec.Matches(r) || r.String() != canon {
				t.Fatalf("concrete %q: Matches=%v String=%q", s, spec.Matches(r), r.String())
			}
		} else if !strings.ContainsAny(s, "*$;") {
			t.Fatalf("ParseResource(%q) failed on a concrete specifier: %v", s, err)
		}
		_, _ = spec.Expand(map[string][]string{"projects": {"a", "b"}, "c": {"true"}, "x": {"y"}})
	})
}
