package resource

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func allow(resources []string, actions ...string) Statement {
	return Statement{Effect: EffectAllow, Resources: resources, Actions: actions}
}

func deny(resources []string, actions ...string) Statement {
	return Statement{Effect: EffectDeny, Resources: resources, Actions: actions}
}

func res(specs ...string) []string { return specs }

func TestEvaluate(t *testing.T) {
	t.Parallel()
	allFlags := res("proj/*:env/*:flag/*")
	prodFlags := res("proj/*:env/production:flag/*")
	tests := []struct {
		name      string
		policy    []Statement
		action    string
		r         Resource
		attrs     map[string][]string
		allowed   bool
		index     int
		wantError bool
	}{
		{"empty policy denies by default", nil, "viewProject", shop, nil, false, -1, false},
		{"allow project action", []Statement{allow(res("proj/*"), "viewProject")}, "viewProject", shop, nil, true, 0, false},
		{"other action not granted", []Statement{allow(res("proj/*"), "viewProject")}, "deleteProject", shop, nil, false, -1, false},
		{"parent does not cover child", []Statement{allow(res("proj/*"), "*")}, "updateOn", prodFlag, nil, false, -1, false},
		{"env grant does not cover flags", []Statement{allow(res("proj/*:env/*;qa_*"), "*")}, "updateOn", testFlag, nil, false, -1, false},
		{"qa example: env level", []Statement{allow(res("proj/*:env/*;qa_*"), "*"), allow(res("proj/*:env/*;qa_*:/flag/*"), "*")}, "updateTtl", testEnv, nil, true, 0, false},
		{"qa example: flag level", []Statement{allow(res("proj/*:env/*;qa_*"), "*"), allow(res("proj/*:env/*;qa_*:/flag/*"), "*")}, "updateOn", testFlag, nil, true, 1, false},
		{"qa example: production untouched", []Statement{allow(res("proj/*:env/*;qa_*"), "*"), allow(res("proj/*:env/*;qa_*:/flag/*"), "*")}, "updateOn", prodFlag, nil, false, -1, false},
		{"kill switch in production", []Statement{allow(prodFlags, "updateOn")}, "updateOn", prodFlag, nil, true, 0, false},
		{"kill switch not in test", []Statement{allow(prodFlags, "updateOn")}, "updateOn", testFlag, nil, false, -1, false},
		{"kill switch only toggles", []Statement{allow(prodFlags, "updateOn")}, "updateRules", prodFlag, nil, false, -1, false},
		{"deny wins over allow", []Statement{allow(allFlags, "*"), deny(prodFlags, "updateOn")}, "updateOn", prodFlag, nil, false, 1, false},
		{"deny wins whatever the order", []Statement{deny(prodFlags, "updateOn"), allow(allFlags, "*")}, "updateOn", prodFlag, nil, false, 0, false},
		{"deny scoped to production", []Statement{allow(allFlags, "*"), deny(prodFlags, "updateOn")}, "updateOn", testFlag, nil, true, 0, false},
		{"deny scoped to its action", []Statement{allow(allFlags, "*"), deny(prodFlags, "updateOn")}, "updateRules", prodFlag, nil, true, 0, false},
		{"deny alone still denies", []Statement{deny(prodFlags, "*")}, "updateOn", prodFlag, nil, false, 0, false},
		{"first applicable allow reported", []Statement{allow(res("proj/web"), "*"), allow(res("proj/*"), "*"), allow(res("proj/shop"), "*")}, "viewProject", shop, nil, true, 1, false},
		{"star action matches anything", []Statement{allow(res("acct"), "*")}, "updateRequireMfa", Account(), nil, true, 0, false},
		{"acct does not cover projects", []Statement{allow(res("acct"), "*")}, "viewProject", shop, nil, false, -1, false},
		{"action glob", []Statement{allow(allFlags, "update*")}, "updateOn", testFlag, nil, true, 0, false},
		{"action glob excludes others", []Statement{allow(allFlags, "update*")}, "deleteFlag", testFlag, nil, false, -1, false},
		{"actions are case-sensitive", []Statement{allow(allFlags, "updateOn")}, "UpdateOn", testFlag, nil, false, -1, false},
		{"notActions grants the rest", []Statement{{Effect: EffectAllow, Resources: allFlags, NotActions: []string{"deleteFlag"}}}, "updateOn", testFlag, nil, true, 0, false},
		{"notActions withholds the listed", []Statement{{Effect: EffectAllow, Resources: allFlags, NotActions: []string{"deleteFlag"}}}, "deleteFlag", testFlag, nil, false, -1, false},
		{"notActions glob", []Statement{{Effect: EffectAllow, Resources: allFlags, NotActions: []string{"delete*"}}}, "deleteFlag", testFlag, nil, false, -1, false},
		{"deny with notActions", []Statement{allow(res("proj/*"), "*"), {Effect: EffectDeny, Resources: res("proj/secret"), NotActions: []string{"viewProject"}}}, "updateTags", Project("secret"), nil, false, 1, false},
		{"deny with notActions spares the listed", []Statement{allow(res("proj/*"), "*"), {Effect: EffectDeny, Resources: res("proj/secret"), NotActions: []string{"viewProject"}}}, "viewProject", Project("secret"), nil, true, 0, false},
		{"notResources grants the rest", []Statement{{Effect: EffectAllow, NotResources: prodFlags, Actions: []string{"*"}}}, "updateOn", testFlag, nil, true, 0, false},
		{"notResources withholds the listed", []Statement{{Effect: EffectAllow, NotResources: prodFlags, Actions: []string{"*"}}}, "updateOn", prodFlag, nil, false, -1, false},
		// notResources is literal: every resource of every type not listed.
		{"notResources spans other types", []Statement{{Effect: EffectAllow, NotResources: prodFlags, Actions: []string{"*"}}}, "deleteMember", Member("x"), nil, true, 0, false},
		// LaunchDarkly's docs present these two statements as "all flags except
		// tag1 or tag2"; allows are a union, so a tag1-only flag is still
		// granted by the second statement.
		{"two notResources allows are a union", []Statement{
			{Effect: EffectAllow, NotResources: res("proj/*:env/*:flag/*;tag1"), Actions: []string{"*"}},
			{Effect: EffectAllow, NotResources: res("proj/*:env/*:flag/*;tag3"), Actions: []string{"*"}},
		}, "updateOn", prodFlag, nil, true, 1, false},
		{"private project: own project visible", []Statement{allow(res("proj/shop"), "*"), {Effect: EffectDeny, NotResources: res("proj/shop"), Actions: []string{"viewProject"}}}, "viewProject", shop, nil, true, 0, false},
		{"private project: others hidden", []Statement{allow(res("proj/*"), "*"), {Effect: EffectDeny, NotResources: res("proj/shop"), Actions: []string{"viewProject"}}}, "viewProject", Project("web"), nil, false, 1, false},
		{"tags AND: both present", []Statement{allow(res("proj/*:env/*:flag/*;tag1,tag2"), "*")}, "updateOn", prodFlag, nil, true, 0, false},
		{"tags AND: one missing", []Statement{allow(res("proj/*:env/*:flag/*;tag1,tag2"), "*")}, "updateOn", prodEnv.Flag("f", "tag1"), nil, false, -1, false},
		{"tags OR needs two statements", []Statement{allow(res("proj/*:env/*:flag/*;tag9"), "*"), allow(res("proj/*:env/*:flag/*;tag2"), "*")}, "updateOn", prodFlag, nil, true, 1, false},
		{"project tag scopes flags", []Statement{allow(res("proj/*;mobile:env/*:flag/*"), "*")}, "updateOn", testFlag, nil, true, 0, false},
		{"non-critical envs only", []Statement{allow(res("proj/*:env/*;{critical:false}:flag/*"), "*")}, "updateOn", testFlag, nil, true, 0, false},
		{"critical env excluded", []Statement{allow(res("proj/*:env/*;{critical:false}:flag/*"), "*")}, "updateOn", prodFlag, nil, false, -1, false},
		{"deny bypass in critical envs", []Statement{allow(allFlags, "*"), deny(res("proj/*:env/*;{critical:true}:flag/*"), "bypassRequiredApproval")}, "bypassRequiredApproval", prodFlag, nil, false, 1, false},
		{"critical and tagged", []Statement{allow(res("proj/*:env/*;{critical:true},fedramp-enabled"), "*")}, "updateName", prodEnv, nil, true, 0, false},
		{"own tokens", []Statement{allow(res("member/me:token/*"), "*")}, "resetAccessToken", myToken, nil, true, 0, false},
		{"own tokens, not the member", []Statement{allow(res("member/me:token/*"), "*")}, "updateRole", Member("me"), nil, false, -1, false},
		{"own tokens, not others'", []Statement{allow(res("member/me:token/*"), "*")}, "resetAccessToken", Member("you").Token("t"), nil, false, -1, false},
		{"service tokens are not member tokens", []Statement{allow(res("member/*:token/*"), "*")}, "resetAccessToken", ServiceToken("t"), nil, false, -1, false},
		{"team maintainer", []Statement{allow(res("team/qa"), "updateTeamMembers")}, "updateTeamMembers", Team("qa"), nil, true, 0, false},
		{"role attribute grants listed project", []Statement{allow(res("proj/${roleAttribute/projects}:env/*:flag/*"), "*")}, "updateOn",
			Project("b").Environment("test", false).Flag("f"), map[string][]string{"projects": {"a", "b"}}, true, 0, false},
		{"role attribute withholds others", []Statement{allow(res("proj/${roleAttribute/projects}:env/*:flag/*"), "*")}, "updateOn",
			Project("c").Environment("test", false).Flag("f"), map[string][]string{"projects": {"a", "b"}}, false, -1, false},
		{"missing role attribute grants nothing", []Statement{allow(res("proj/${roleAttribute/projects}"), "*")}, "viewProject", Project("a"), nil, false, -1, false},
		{"role attribute product", []Statement{allow(res("proj/${roleAttribute/p}:env/${roleAttribute/e}:flag/*"), "*")}, "updateOn",
			Project("b").Environment("test", false).Flag("f"), map[string][]string{"p": {"a", "b"}, "e": {"dev", "test"}}, true, 0, false},
		{"role attribute product excludes", []Statement{allow(res("proj/${roleAttribute/p}:env/${roleAttribute/e}:flag/*"), "*")}, "updateOn",
			Project("b").Environment("production", true).Flag("f"), map[string][]string{"p": {"a", "b"}, "e": {"dev", "test"}}, false, -1, false},
		// An unset attribute in notResources leaves the list empty, so the
		// guard applies to everything and the role goes inert.
		{"guard with unset attribute denies all", []Statement{allow(res("proj/*"), "*"), {Effect: EffectDeny, NotResources: res("proj/${roleAttribute/projects}"), Actions: []string{"viewProject"}}},
			"viewProject", Project("a"), nil, false, 1, false},
		{"guard with attribute spares own project", []Statement{allow(res("proj/*"), "*"), {Effect: EffectDeny, NotResources: res("proj/${roleAttribute/projects}"), Actions: []string{"viewProject"}}},
			"viewProject", Project("a"), map[string][]string{"projects": {"a"}}, true, 0, false},
		{"bad role attribute value fails closed", []Statement{allow(res("proj/${roleAttribute/projects}"), "*")}, "viewProject", Project("a"),
			map[string][]string{"projects": {"*"}}, false, 0, true},
		{"invalid effect fails closed", []Statement{allow(res("proj/*"), "*"), {Effect: "Allow", Resources: res("proj/*"), Actions: []string{"*"}}}, "viewProject", shop, nil, false, 1, true},
		{"unparsable spec fails closed", []Statement{allow(res("proj/*"), "*"), allow(res("proj/*:"), "*")}, "viewProject", shop, nil, false, 1, true},
		{"both resources and notResources fails closed", []Statement{{Effect: EffectAllow, Resources: res("proj/*"), NotResources: res("proj/x"), Actions: []string{"*"}}}, "viewProject", shop, nil, false, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := Evaluate(tt.policy, tt.action, tt.r, tt.attrs)
			if d.Allowed != tt.allowed || d.Index != tt.index || (d.Err != nil) != tt.wantError {
				t.Fatalf("Evaluate = {Allowed:%v Index:%d Err:%v}, want {Allowed:%v Index:%d error:%v}",
					d.Allowed, d.Index, d.Err, tt.allowed, tt.index, tt.wantError)
			}
			switch {
			case d.Index < 0 && !reflect.DeepEqual(d.Statement, Statement{}):
				t.Errorf("Statement = %+v with no deciding statement", d.Statement)
			case d.Index >= 0 && !reflect.DeepEqual(d.Statement, tt.policy[d.Index]):
				t.Errorf("Statement = %+v, want %+v", d.Statement, tt.policy[d.Index])
			}
		})
	}
}

func TestCompile(t *testing.T) {
	t.Parallel()
	p, err := Compile([]Statement{allow(res("proj/${roleAttribute/p}"), "view*")}, map[string][]string{"p": {"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Evaluate("viewProject", Project("a")); !d.Allowed {
		t.Errorf("compiled policy denied: %+v", d)
	}
	var zero *Policy
	if d := zero.Evaluate("viewProject", Project("a")); d.Allowed || d.Index != -1 {
		t.Errorf("nil policy = %+v, want default deny", d)
	}
	_, err = Compile([]Statement{allow(res("proj/*"), "*"), allow(res("proj"), "*")}, nil)
	var se *StatementError
	if !errors.As(err, &se) || se.Index != 1 || !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("Compile error = %v, want StatementError at 1 wrapping ErrInvalidStatement", err)
	}
	var syn *SyntaxError
	if !errors.As(err, &syn) {
		t.Errorf("Compile error = %v, want a SyntaxError inside", err)
	}
	_, err = Compile([]Statement{allow(res("proj/${roleAttribute/p}"), "*")}, map[string][]string{"p": {"a b"}})
	if !errors.Is(err, ErrRoleAttribute) {
		t.Errorf("Compile error = %v, want ErrRoleAttribute", err)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Statement
		msg  string // "" means valid
	}{
		{"allow", allow(res("proj/*"), "*"), ""},
		{"deny with notActions", Statement{Effect: EffectDeny, Resources: res("proj/*"), NotActions: []string{"viewProject"}}, ""},
		{"notResources", Statement{Effect: EffectAllow, NotResources: res("proj/*:env/production:flag/*"), Actions: []string{"update*"}}, ""},
		{"placeholders allowed", allow(res("proj/${roleAttribute/p}:env/*:flag/*"), "*"), ""},
		{"stray slash allowed", allow(res("proj/*:env/*;qa_*:/flag/*"), "*"), ""},
		{"unknown action allowed", allow(res("proj/*"), "someFutureAction"), ""},
		{"empty effect", Statement{Resources: res("proj/*"), Actions: []string{"*"}}, "effect"},
		{"capitalised effect", Statement{Effect: "Deny", Resources: res("proj/*"), Actions: []string{"*"}}, "effect"},
		{"no resources", Statement{Effect: EffectAllow, Actions: []string{"*"}}, "resources and notResources"},
		{"both resources", Statement{Effect: EffectAllow, Resources: res("proj/*"), NotResources: res("proj/a"), Actions: []string{"*"}}, "resources and notResources"},
		{"no actions", Statement{Effect: EffectAllow, Resources: res("proj/*")}, "actions and notActions"},
		{"both actions", Statement{Effect: EffectAllow, Resources: res("proj/*"), Actions: []string{"*"}, NotActions: []string{"x"}}, "actions and notActions"},
		{"empty action", allow(res("proj/*"), ""), "actions[0]"},
		{"bad action", allow(res("proj/*"), "update On"), "actions[0]"},
		{"bad notAction", Statement{Effect: EffectAllow, Resources: res("proj/*"), NotActions: []string{"ok", "no:pe"}}, "notActions[1]"},
		{"bad resource", allow(res("proj/*", "proj"), "*"), "resources[1]"},
		{"bad notResource", Statement{Effect: EffectDeny, NotResources: res("proj/*;"), Actions: []string{"*"}}, "notResources[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.s.Validate()
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidStatement) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Validate = %v, want ErrInvalidStatement mentioning %q", err, tt.msg)
			}
		})
	}
}

func TestStatementJSON(t *testing.T) {
	t.Parallel()
	var s Statement
	in := `{"effect":"deny","notResources":["proj/*:env/production:flag/*"],"actions":["updateOn"]}`
	if err := json.Unmarshal([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	want := Statement{Effect: EffectDeny, NotResources: res("proj/*:env/production:flag/*"), Actions: []string{"updateOn"}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("Unmarshal = %+v, want %+v", s, want)
	}
	out, err := json.Marshal(s)
	if err != nil || string(out) != in {
		t.Fatalf("Marshal = %s, %v; want %s", out, err, in)
	}
}
