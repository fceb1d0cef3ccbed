package resource

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Resources shared by the tables below.
var (
	shop     = Project("shop", "mobile")
	prodEnv  = shop.Environment("production", true, "fedramp-enabled")
	testEnv  = shop.Environment("test", false, "qa_test")
	prodFlag = prodEnv.Flag("new-checkout", "tag1", "Tag2")
	testFlag = testEnv.Flag("new-checkout")
	myToken  = Member("me").Token("tok1")
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		want Spec
		str  string // canonical form; "" means spec itself
	}{
		{"proj/*", Spec{[]Pattern{{Type: "proj", Name: "*"}}}, ""},
		{"acct", Spec{[]Pattern{{Type: "acct"}}}, ""},
		{"ip-allowlist", Spec{[]Pattern{{Type: "ip-allowlist"}}}, ""},
		{"proj/*:env/production:flag/*", Spec{[]Pattern{
			{Type: "proj", Name: "*"}, {Type: "env", Name: "production"}, {Type: "flag", Name: "*"},
		}}, ""},
		{"proj/*:env/*:flag/*;tag1,tag2", Spec{[]Pattern{
			{Type: "proj", Name: "*"}, {Type: "env", Name: "*"}, {Type: "flag", Name: "*", Tags: []string{"tag1", "tag2"}},
		}}, ""},
		{"proj/*:env/*;{critical:true}", Spec{[]Pattern{
			{Type: "proj", Name: "*"}, {Type: "env", Name: "*", Props: []Prop{{"critical", "true"}}},
		}}, ""},
		{"proj/*:env/*;{critical:true},fedramp-enabled:flag/*", Spec{[]Pattern{
			{Type: "proj", Name: "*"},
			{Type: "env", Name: "*", Tags: []string{"fedramp-enabled"}, Props: []Prop{{"critical", "true"}}},
			{Type: "flag", Name: "*"},
		}}, "proj/*:env/*;fedramp-enabled,{critical:true}:flag/*"},
		// LaunchDarkly's own example with a stray slash.
		{"proj/*:env/*;qa_*:/flag/*", Spec{[]Pattern{
			{Type: "proj", Name: "*"}, {Type: "env", Name: "*", Tags: []string{"qa_*"}}, {Type: "flag", Name: "*"},
		}}, "proj/*:env/*;qa_*:flag/*"},
		{"proj/${roleAttribute/projects}:env/*:flag/*", Spec{[]Pattern{
			{Type: "proj", Name: "${roleAttribute/projects}"}, {Type: "env", Name: "*"}, {Type: "flag", Name: "*"},
		}}, ""},
		{"proj/a-${roleAttribute/x}-*:env/*;${roleAttribute/t},{critical:${roleAttribute/c}}", Spec{[]Pattern{
			{Type: "proj", Name: "a-${roleAttribute/x}-*"},
			{Type: "env", Name: "*", Tags: []string{"${roleAttribute/t}"}, Props: []Prop{{"critical", "${roleAttribute/c}"}}},
		}}, ""},
		{"member/*:token/*", Spec{[]Pattern{{Type: "member", Name: "*"}, {Type: "token", Name: "*"}}}, ""},
		{"code-reference-repository/my.repo_1", Spec{[]Pattern{{Type: "code-reference-repository", Name: "my.repo_1"}}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := Parse(tt.spec)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Parse = %#v, want %#v", got, tt.want)
			}
			want := tt.str
			if want == "" {
				want = tt.spec
			}
			if s := got.String(); s != want {
				t.Errorf("String = %q, want %q", s, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ spec, msg string }{
		{"", "empty specifier"},
		{":", "empty segment"},
		{"proj/*:", "empty segment"},
		{":proj/*", "empty segment"},
		{"proj/*::env/*", "empty segment"},
		{"proj/*:/", "empty segment"},
		{"proj", "missing '/'"},
		{"proj/*:env", "missing '/'"},
		{"acct;x", "missing '/'"},
		{"proj/*:flag:x", "missing '/'"},
		{"proj/", "empty name"},
		{"/proj/*", "empty resource type"},
		{"proj/*://flag/*", "empty resource type"},
		{"pr.oj/*", "bad character '.' in resource type"},
		{"proj/a b", "bad character ' '"},
		{"proj/x%y", "bad character '%'"},
		{"proj//flag", "bad character '/'"},
		{"acct:proj/*", `"acct" must stand alone`},
		{"proj/*:acct", `"acct" must stand alone`},
		{"proj/*;", "empty selector"},
		{"proj/*;a,,b", "empty selector"},
		{"proj/*;a,", "empty selector"},
		{"proj/*;a;b", "bad character ';'"},
		{"proj/*:env/*;{critical:true", "unbalanced '{'"},
		{"proj/*:env/*;critical:true}", "unbalanced '}'"},
		{"proj/*;{critical}", "{field:value}"},
		{"proj/*;{:true}", "{field:value}"},
		{"proj/*;{critical:}", "{field:value}"},
		{"proj/*;{a:b}c", "{field:value}"},
		{"proj/*;{critical:tr*e}", "bad character '*'"},
		{"proj/*;{a,b:c}", "{field:value}"},
		{"proj/*;a{b}", "bad character '{'"},
		{"proj/${roleAttribute/}", "empty role attribute name"},
		{"proj/${roleAttribute/x", "unbalanced '{'"},
		{"proj/${foo/x}", "must start ${roleAttribute"},
		{"proj/$x", "must start ${roleAttribute"},
		{"proj/${roleAttribute/a b}", "bad character ' ' in role attribute name"},
		{"proj/*;{${roleAttribute/x}:true}", "bad character '$' in property field"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			_, err := Parse(tt.spec)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v, want *SyntaxError", tt.spec, err)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", se.Msg, tt.msg)
			}
			if se.Offset < 0 || se.Offset > len(tt.spec) {
				t.Errorf("Offset = %d, out of range", se.Offset)
			}
		})
	}
}

func TestMatches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec string
		r    Resource
		want bool
	}{
		// Names and globs.
		{"proj/*", shop, true},
		{"proj/shop", shop, true},
		{"proj/shop", Project("shopping"), false},
		{"proj/Shop", shop, false}, // keys are case-sensitive
		{"proj/shop*", Project("shopping"), true},
		{"proj/shop*", Project("shop"), true}, // "*" may match nothing
		{"proj/*-mobile", Project("ios-mobile"), true},
		{"proj/*-mobile", Project("mobile"), false},
		{"proj/a*b*c", Project("abc"), true},
		{"proj/a*b*c", Project("aXbYc"), true},
		{"proj/a*b*c", Project("abXbXc"), true},
		{"proj/a*b*c", Project("acb"), false},
		{"proj/a*b*c", Project("abcd"), false},
		{"proj/*:env/*:flag/ops_*", shop.Environment("e", false).Flag("ops_kill"), true},
		{"proj/*:env/*:flag/ops_*", shop.Environment("e", false).Flag("dev_ops_kill"), false},
		// Scope: same depth, same types in order.
		{"proj/*", prodFlag, false},
		{"proj/*:env/*", prodFlag, false},
		{"proj/*:env/*:flag/*", prodEnv, false},
		{"proj/*:env/*:flag/*", prodFlag, true},
		{"proj/*:env/*:segment/*", prodFlag, false},
		{"proj/*:env/production:flag/*", prodFlag, true},
		{"proj/*:env/production:flag/*", testFlag, false},
		{"proj/shop:env/production:flag/new-checkout", prodFlag, true},
		{"proj/shop:env/production:flag/new-checkout", testFlag, false},
		{"proj/*:env/test:segment/beta-*", testEnv.Segment("beta-users"), true},
		{"proj/shop:metric/*", shop.Metric("clicks"), true},
		{"proj/shop:env/*:metric/*", shop.Metric("clicks"), false},
		// Tags: all required, case-insensitive, globs.
		{"proj/*:env/*:flag/*;tag1,tag2", prodFlag, true},
		{"proj/*:env/*:flag/*;TAG1,tag2", prodFlag, true},
		{"proj/*:env/*:flag/*;tag1,tag3", prodFlag, false},
		{"proj/*:env/*:flag/*;tag1", testFlag, false},
		{"proj/*:env/*;qa_*", testEnv, true},
		{"proj/*:env/*;qa_*", prodEnv, false},
		{"proj/*:env/*;QA_*", shop.Environment("x", false, "qa_Prod"), true},
		{"proj/*:env/*;qa_*:/flag/*", testFlag, true},
		{"proj/*;mobile:env/*:flag/*", prodFlag, true},
		{"proj/*;mobile:env/*:flag/*", Project("web").Environment("production", true).Flag("f"), false},
		// Property selectors.
		{"proj/*:env/*;{critical:true}", prodEnv, true},
		{"proj/*:env/*;{critical:true}", testEnv, false},
		{"proj/*:env/*;{critical:false}", testEnv, true},
		{"proj/*:env/*;{critical:false}", Resource{[]Part{{Type: "proj", Name: "p"}, {Type: "env", Name: "e"}}}, false},
		{"proj/*:env/*;{critical:true}:flag/*", prodFlag, true},
		{"proj/*:env/*;{critical:true}:flag/*", testFlag, false},
		{"proj/*:env/*;fedramp-enabled,{critical:true}:flag/*", prodFlag, true},
		{"proj/*:env/*;fedramp-enabled,{critical:true}:flag/*", shop.Environment("prod2", true).Flag("f"), false},
		// Account-level resources.
		{"acct", Account(), true},
		{"acct", shop, false},
		{"proj/*", Account(), false},
		{"ip-allowlist", Resource{[]Part{{Type: TypeIPAllowlist}}}, true},
		{"member/*", Member("me"), true},
		{"member/*", myToken, false},
		{"member/*:token/*", myToken, true},
		{"member/me:token/*", myToken, true},
		{"member/you:token/*", myToken, false},
		{"member/*:token/*", ServiceToken("tok1"), false},
		{"service-token/*", ServiceToken("tok1"), true},
		{"service-token/*", myToken, false},
		{"role/*", Role("qa-lead"), true},
		{"team/qa", Team("qa"), true},
		{"team/qa", Team("qa-east"), false},
		{"webhook/*;prod", Webhook("w1", "prod"), true},
		{"webhook/*;prod", Webhook("w1"), false},
		// Unexpanded placeholders match nothing, not even themselves.
		{"proj/${roleAttribute/projects}", Project("${roleAttribute/projects}"), false},
		{"proj/*;${roleAttribute/t}", Project("p", "${roleAttribute/t}"), false},
	}
	for _, tt := range tests {
		t.Run(tt.spec+"~"+tt.r.String(), func(t *testing.T) {
			t.Parallel()
			if got := MustParse(tt.spec).Matches(tt.r); got != tt.want {
				t.Errorf("Parse(%q).Matches(%s) = %v, want %v", tt.spec, tt.r, got, tt.want)
			}
		})
	}
	if (Spec{}).Matches(shop) {
		t.Error("zero Spec matched")
	}
}

func TestExpand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		spec  string
		attrs map[string][]string
		want  []string
		err   bool
	}{
		{"no placeholder", "proj/*:env/*;qa_*:/flag/*", nil, []string{"proj/*:env/*;qa_*:flag/*"}, false},
		{"one attribute", "proj/${roleAttribute/projects}:env/*:flag/*",
			map[string][]string{"projects": {"a", "b"}},
			[]string{"proj/a:env/*:flag/*", "proj/b:env/*:flag/*"}, false},
		{"product, first varies slowest", "proj/${roleAttribute/p}:env/${roleAttribute/e}",
			map[string][]string{"p": {"a", "b"}, "e": {"dev", "test"}},
			[]string{"proj/a:env/dev", "proj/a:env/test", "proj/b:env/dev", "proj/b:env/test"}, false},
		{"same attribute twice binds once", "proj/${roleAttribute/p}:metric/${roleAttribute/p}-*",
			map[string][]string{"p": {"a", "b"}},
			[]string{"proj/a:metric/a-*", "proj/b:metric/b-*"}, false},
		{"selectors", "proj/*:env/*;${roleAttribute/t},{critical:${roleAttribute/c}}",
			map[string][]string{"t": {"qa"}, "c": {"true"}},
			[]string{"proj/*:env/*;qa,{critical:true}"}, false},
		{"duplicate values dropped", "team/${roleAttribute/t}",
			map[string][]string{"t": {"x", "x", "y"}}, []string{"team/x", "team/y"}, false},
		{"duplicate results dropped", "team/${roleAttribute/a}${roleAttribute/b}",
			map[string][]string{"a": {"x", "xy"}, "b": {"yz", "z"}},
			[]string{"team/xyz", "team/xz", "team/xyyz"}, false},
		{"missing attribute", "proj/${roleAttribute/projects}", nil, nil, false},
		{"empty values", "proj/${roleAttribute/projects}", map[string][]string{"projects": {}}, nil, false},
		{"one of two missing", "proj/${roleAttribute/p}:env/${roleAttribute/e}",
			map[string][]string{"p": {"a"}}, nil, false},
		{"star value rejected", "proj/${roleAttribute/p}", map[string][]string{"p": {"*"}}, nil, true},
		{"structural value rejected", "proj/${roleAttribute/p}", map[string][]string{"p": {"a:flag/x"}}, nil, true},
		{"empty value rejected", "proj/${roleAttribute/p}", map[string][]string{"p": {""}}, nil, true},
		{"bad value beats missing attribute", "proj/${roleAttribute/p}:env/${roleAttribute/e}",
			map[string][]string{"e": {"a b"}}, nil, true},
		{"malformed spec", "proj/${roleAttribute/p", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Expand(tt.spec, tt.attrs)
			if (err != nil) != tt.err {
				t.Fatalf("Expand error = %v, want error %v", err, tt.err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Expand = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestExpandLimit(t *testing.T) {
	t.Parallel()
	vals := make([]string, 101)
	for i := range vals {
		vals[i] = "v" + strings.Repeat("x", i)
	}
	attrs := map[string][]string{"a": vals, "b": vals}
	_, err := Expand("proj/${roleAttribute/a}:env/${roleAttribute/b}", attrs)
	if !errors.Is(err, ErrRoleAttribute) {
		t.Fatalf("error = %v, want ErrRoleAttribute", err)
	}
	got, err := Expand("proj/${roleAttribute/a}", attrs)
	if err != nil || len(got) != len(vals) {
		t.Fatalf("Expand = %d specs, %v", len(got), err)
	}
}

func TestRoleAttributes(t *testing.T) {
	t.Parallel()
	s := MustParse("proj/${roleAttribute/p}:env/${roleAttribute/e}-${roleAttribute/p};${roleAttribute/t},{critical:${roleAttribute/c}}")
	if got, want := s.RoleAttributes(), []string{"p", "e", "t", "c"}; !slices.Equal(got, want) {
		t.Errorf("RoleAttributes = %q, want %q", got, want)
	}
	if got := MustParse("proj/*").RoleAttributes(); got != nil {
		t.Errorf("RoleAttributes = %q, want none", got)
	}
}

func TestResource(t *testing.T) {
	t.Parallel()
	tests := []struct {
		r    Resource
		want string
	}{
		{Account(), "acct"},
		{shop, "proj/shop"},
		{prodEnv, "proj/shop:env/production"},
		{prodFlag, "proj/shop:env/production:flag/new-checkout"},
		{testEnv.Segment("beta"), "proj/shop:env/test:segment/beta"},
		{shop.Metric("clicks"), "proj/shop:metric/clicks"},
		{myToken, "member/me:token/tok1"},
		{ServiceToken("s1"), "service-token/s1"},
		{Role("r"), "role/r"},
		{Team("t"), "team/t"},
		{Webhook("w", "x"), "webhook/w"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("String = %q, want %q", got, tt.want)
		}
		back, err := ParseResource(tt.want)
		if err != nil || back.String() != tt.want {
			t.Errorf("ParseResource(%q) = %v, %v", tt.want, back, err)
		}
	}
	// Builders copy: extending one resource does not disturb another.
	a, b := shop.Environment("a", false), shop.Environment("b", true)
	if a.String() != "proj/shop:env/a" || b.String() != "proj/shop:env/b" {
		t.Errorf("builders alias: %s, %s", a, b)
	}
	tags := []string{"x"}
	p := Project("p", tags...)
	tags[0] = "y"
	if p.Segments[0].Tags[0] != "x" {
		t.Error("Project kept the caller's tag slice")
	}
	if prodEnv.Segments[1].Props[PropCritical] != "true" || testEnv.Segments[1].Props[PropCritical] != "false" {
		t.Error("Environment critical property not set")
	}
	for _, bad := range []string{"proj/*", "proj/a;x", "proj/${roleAttribute/p}", "proj/a:env/{critical:true}", ""} {
		if _, err := ParseResource(bad); err == nil {
			t.Errorf("ParseResource(%q) succeeded", bad)
		}
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"**", "abc", true},
		{"a*", "a", true},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"a*a*a", "aaa", true},
		{"a*a*a", "aa", false},
		{"*ab*ab", "xabyabab", true},
		{strings.Repeat("*a", 20) + "b", strings.Repeat("a", 60), false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}
