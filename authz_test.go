package flagstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// Tests of authorization: the policy engine through the Store's public
// Allowed, its enforcement on the Go API under WithPrincipal, and access
// tokens as principals. Every name starts with "az".

// azAllow is an allow statement on one or more resources.
func azAllow(resources []string, actions ...string) Statement {
	return Statement{Effect: "allow", Resources: resources, Actions: actions}
}

// azDeny is a deny statement on one or more resources.
func azDeny(resources []string, actions ...string) Statement {
	return Statement{Effect: "deny", Resources: resources, Actions: actions}
}

// azR lists resource specifiers.
func azR(specs ...string) []string { return specs }

// azRole is a custom role a case creates: its statements and base
// permissions ("" for the default, no_access).
type azRole struct {
	base string
	sts  []Statement
}

// azTeam is a team a case puts its member in, with custom roles and role
// attributes of its own.
type azTeam struct {
	roles []azRole
	attrs map[string][]string
}

// azPolicyCase is one row of TestAuthz_PolicyTable.
type azPolicyCase struct {
	name string
	// roles are custom roles the member holds directly.
	roles []azRole
	// base is the member's base role; empty means no_access when the
	// member has custom roles and reader otherwise (InviteMembers' rule).
	base  string
	attrs map[string][]string
	team  *azTeam
	// token, when set, makes the case act through an access token of the
	// member created with this body; "$0", "$1"... in CustomRoleIDs name
	// the case's roles.
	token *TokenPost
	// owner makes the case act as the account owner.
	owner  bool
	action string
	// spec is the concrete resource; "$ME" stands for the member's _id.
	spec    string
	allowed bool
	// why, if set, must appear in the decision's reason.
	why string
}

// azFixture builds the shared store of the policy table:
//
//	shop (tag web): production (critical, tag prod), test (tag qa_test);
//	  flags checkout (beta, frontend), banner (beta), legacy;
//	  segments beta-users (beta) and internal in production
//	mobile-ios (tag mobile): flag dark-mode
//	android-mobile (tag mobile), alpha-b, alpha-c
//	billing: flag invoice
func azFixture(t testing.TB) *Store {
	t.Helper()
	st, _ := fxOpen(t)
	ctx := context.Background()
	envs := []EnvironmentPost{
		{Key: "production", Name: "Production", Color: "417505", Critical: true, Tags: []string{"prod"}},
		{Key: "test", Name: "Test", Color: "F5A623", Tags: []string{"qa_test"}},
	}
	for _, p := range []ProjectPost{
		{Key: "shop", Name: "Shop", Tags: []string{"web"}, Environments: envs},
		{Key: "mobile-ios", Name: "iOS", Tags: []string{"mobile"}},
		{Key: "android-mobile", Name: "Android", Tags: []string{"mobile"}},
		{Key: "alpha-b", Name: "Alpha B"},
		{Key: "alpha-c", Name: "Alpha C"},
		{Key: "billing", Name: "Billing"},
	} {
		if _, err := st.CreateProject(ctx, p); err != nil {
			t.Fatalf("CreateProject(%s): %v", p.Key, err)
		}
	}
	for _, f := range []struct {
		proj, key string
		tags      []string
	}{
		{"shop", "checkout", []string{"beta", "frontend"}},
		{"shop", "banner", []string{"beta"}},
		{"shop", "legacy", nil},
		{"mobile-ios", "dark-mode", nil},
		{"billing", "invoice", nil},
	} {
		if _, err := st.CreateFlag(ctx, f.proj, FlagPost{Key: f.key, Name: "Flag " + f.key, Tags: f.tags}); err != nil {
			t.Fatalf("CreateFlag(%s/%s): %v", f.proj, f.key, err)
		}
	}
	for _, sg := range []SegmentPost{
		{Key: "beta-users", Name: "Beta users", Tags: []string{"beta"}},
		{Key: "internal", Name: "Internal"},
	} {
		if _, err := st.CreateSegment(ctx, "shop", "production", sg); err != nil {
			t.Fatalf("CreateSegment(%s): %v", sg.Key, err)
		}
	}
	return st
}

// azPrincipal builds the principal a policy case acts as: it creates the
// case's roles, team, member and token (as the host application).
func azPrincipal(t *testing.T, st *Store, i int, c azPolicyCase) (Principal, string) {
	t.Helper()
	ctx := context.Background()
	if c.owner {
		o, err := st.Owner(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, err := st.MemberPrincipal(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		return p, o.ID
	}
	mkRole := func(key string, r azRole) string {
		cr, err := st.CreateCustomRole(ctx, CustomRolePost{Key: key, Name: "Role " + key, Policy: r.sts, BasePermissions: r.base})
		if err != nil {
			t.Fatalf("CreateCustomRole(%s): %v", key, err)
		}
		return cr.Key
	}
	var keys []string
	for j, r := range c.roles {
		keys = append(keys, mkRole(fmt.Sprintf("az-%d-%d", i, j), r))
	}
	inv := MemberInvite{Email: fmt.Sprintf("az%d@example.com", i), Role: c.base, CustomRoles: keys, RoleAttributes: c.attrs}
	if c.team != nil {
		var tkeys []string
		for j, r := range c.team.roles {
			tkeys = append(tkeys, mkRole(fmt.Sprintf("az-%d-t%d", i, j), r))
		}
		tk := fmt.Sprintf("az-team-%d", i)
		if _, err := st.CreateTeam(ctx, TeamPost{Key: tk, Name: "Team " + tk, CustomRoleKeys: tkeys, RoleAttributes: c.team.attrs}); err != nil {
			t.Fatalf("CreateTeam: %v", err)
		}
		inv.TeamKeys = []string{tk}
		if inv.Role == "" {
			inv.Role = RoleNoAccess
		}
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{inv})
	if err != nil {
		t.Fatalf("InviteMembers: %v", err)
	}
	m := ms[0]
	if c.token == nil {
		p, err := st.MemberPrincipal(ctx, m.ID)
		if err != nil {
			t.Fatalf("MemberPrincipal: %v", err)
		}
		return p, m.ID
	}
	tp := *c.token
	tp.Name = "token of case " + c.name
	tp.CustomRoleIDs = nil
	for _, ref := range c.token.CustomRoleIDs {
		var n int
		if _, err := fmt.Sscanf(ref, "$%d", &n); err != nil {
			t.Fatalf("bad role reference %q", ref)
		}
		tp.CustomRoleIDs = append(tp.CustomRoleIDs, keys[n])
	}
	tok, err := st.CreateToken(ctx, m.ID, tp)
	if err != nil {
		t.Fatalf("CreateToken: %v", err)
	}
	p, err := st.Authenticate(ctx, tok.Token)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p, m.ID
}

func TestAuthz_PolicyTable(t *testing.T) {
	t.Parallel()
	st := azFixture(t)
	t.Cleanup(st.closeTokens)

	allFlags := azR("proj/*:env/*:flag/*")
	prodFlags := azR("proj/*:env/production:flag/*")
	role := func(sts ...Statement) []azRole { return []azRole{{sts: sts}} }
	readerRole := func(sts ...Statement) []azRole { return []azRole{{base: BasePermissionsReader, sts: sts}} }
	const (
		checkoutProd = "proj/shop:env/production:flag/checkout"
		checkoutTest = "proj/shop:env/test:flag/checkout"
		bannerProd   = "proj/shop:env/production:flag/banner"
		legacyProd   = "proj/shop:env/production:flag/legacy"
		darkModeProd = "proj/mobile-ios:env/production:flag/dark-mode"
		invoiceTest  = "proj/billing:env/test:flag/invoice"
	)
	qa := []Statement{azAllow(azR("proj/*:env/*;qa_*"), "*"), azAllow(azR("proj/*:env/*;qa_*:flag/*"), "*")}
	killSwitch := []Statement{azAllow(prodFlags, "updateOn")}
	noProdToggle := []Statement{azAllow(allFlags, "*"), azDeny(prodFlags, "updateOn")}
	private := []Statement{azAllow(azR("proj/*"), "*"), {Effect: "deny", NotResources: azR("proj/shop"), Actions: []string{"viewProject"}}}
	attrFlags := []Statement{azAllow(azR("proj/${roleAttribute/projects}:env/*:flag/*"), "*")}

	cases := []azPolicyCase{
		// Wildcards in names.
		{name: "proj/* covers one project", roles: role(azAllow(azR("proj/*"), "viewProject")), action: "viewProject", spec: "proj/shop", allowed: true, why: "statement 0"},
		{name: "proj/* covers every project", roles: role(azAllow(azR("proj/*"), "viewProject")), action: "viewProject", spec: "proj/billing", allowed: true},
		{name: "prefix glob matches", roles: role(azAllow(azR("proj/mobile-*"), "*")), action: "updateProjectName", spec: "proj/mobile-ios", allowed: true},
		{name: "prefix glob misses suffix", roles: role(azAllow(azR("proj/mobile-*"), "*")), action: "updateProjectName", spec: "proj/android-mobile", why: "no role allows it"},
		{name: "suffix glob matches", roles: role(azAllow(azR("proj/*-mobile"), "*")), action: "updateProjectName", spec: "proj/android-mobile", allowed: true},
		{name: "suffix glob misses prefix", roles: role(azAllow(azR("proj/*-mobile"), "*")), action: "updateProjectName", spec: "proj/mobile-ios"},
		{name: "inner glob matches", roles: role(azAllow(azR("proj/a*b"), "viewProject")), action: "viewProject", spec: "proj/alpha-b", allowed: true},
		{name: "inner glob anchors the end", roles: role(azAllow(azR("proj/a*b"), "viewProject")), action: "viewProject", spec: "proj/alpha-c"},
		{name: "exact key only", roles: role(azAllow(azR("proj/shop"), "*")), action: "viewProject", spec: "proj/billing"},
		{name: "names are case-sensitive", roles: role(azAllow(azR("proj/SHOP"), "*")), action: "viewProject", spec: "proj/shop"},

		// Environment-scoped flag actions.
		{name: "kill switch in production", roles: role(killSwitch...), action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "kill switch not in test", roles: role(killSwitch...), action: "updateOn", spec: checkoutTest},
		{name: "kill switch only toggles", roles: role(killSwitch...), action: "updateRules", spec: checkoutProd},
		{name: "kill switch in every project", roles: role(killSwitch...), action: "updateOn", spec: darkModeProd, allowed: true},
		{name: "project does not cover flags", roles: role(azAllow(azR("proj/*"), "*")), action: "updateOn", spec: checkoutProd},
		{name: "project does not cover environments", roles: role(azAllow(azR("proj/*"), "*")), action: "updateTtl", spec: "proj/shop:env/test"},
		{name: "environment does not cover flags", roles: role(azAllow(azR("proj/*:env/*"), "*")), action: "updateOn", spec: checkoutTest},
		{name: "flag statement does not cover the project", roles: role(azAllow(allFlags, "*")), action: "viewProject", spec: "proj/shop"},

		// Tags.
		{name: "flag tag", roles: role(azAllow(azR("proj/*:env/*:flag/*;beta"), "*")), action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "flag tag missing", roles: role(azAllow(azR("proj/*:env/*:flag/*;beta"), "*")), action: "updateOn", spec: legacyProd},
		{name: "tags are ANDed: both present", roles: role(azAllow(azR("proj/*:env/*:flag/*;beta,frontend"), "*")), action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "tags are ANDed: one missing", roles: role(azAllow(azR("proj/*:env/*:flag/*;beta,frontend"), "*")), action: "updateOn", spec: bannerProd},
		{name: "tags ORed by two statements", roles: role(azAllow(azR("proj/*:env/*:flag/*;frontend"), "*"), azAllow(azR("proj/*:env/*:flag/*;beta"), "*")), action: "updateOn", spec: bannerProd, allowed: true, why: "statement 1"},
		{name: "tags match ignoring case", roles: role(azAllow(azR("proj/*:env/*:flag/*;BETA"), "*")), action: "updateOn", spec: bannerProd, allowed: true},
		{name: "project tag scopes its flags", roles: role(azAllow(azR("proj/*;mobile:env/*:flag/*"), "*")), action: "updateOn", spec: darkModeProd, allowed: true},
		{name: "project tag excludes others", roles: role(azAllow(azR("proj/*;mobile:env/*:flag/*"), "*")), action: "updateOn", spec: checkoutProd},
		{name: "qa example: tagged environment", roles: role(qa...), action: "updateTtl", spec: "proj/shop:env/test", allowed: true},
		{name: "qa example: its flags", roles: role(qa...), action: "updateOn", spec: checkoutTest, allowed: true, why: "statement 1"},
		{name: "qa example: not production", roles: role(qa...), action: "updateOn", spec: checkoutProd},
		{name: "deny by tag", roles: role(azAllow(allFlags, "*"), azDeny(azR("proj/*:env/*:flag/*;beta"), "deleteFlag")), action: "deleteFlag", spec: checkoutProd, why: "denied by custom role"},
		{name: "deny by tag spares untagged", roles: role(azAllow(allFlags, "*"), azDeny(azR("proj/*:env/*:flag/*;beta"), "deleteFlag")), action: "deleteFlag", spec: legacyProd, allowed: true},
		{name: "segment tag", roles: role(azAllow(azR("proj/*:env/*:segment/*;beta"), "updateIncluded")), action: "updateIncluded", spec: "proj/shop:env/production:segment/beta-users", allowed: true},
		{name: "segment tag missing", roles: role(azAllow(azR("proj/*:env/*:segment/*;beta"), "updateIncluded")), action: "updateIncluded", spec: "proj/shop:env/production:segment/internal"},

		// Property selectors.
		{name: "critical environments", roles: role(azAllow(azR("proj/*:env/*;{critical:true}"), "updateTtl")), action: "updateTtl", spec: "proj/shop:env/production", allowed: true},
		{name: "critical selector skips others", roles: role(azAllow(azR("proj/*:env/*;{critical:true}"), "updateTtl")), action: "updateTtl", spec: "proj/shop:env/test"},
		{name: "non-critical flags", roles: role(azAllow(azR("proj/*:env/*;{critical:false}:flag/*"), "*")), action: "updateOn", spec: checkoutTest, allowed: true},
		{name: "non-critical excludes critical", roles: role(azAllow(azR("proj/*:env/*;{critical:false}:flag/*"), "*")), action: "updateOn", spec: checkoutProd},
		{name: "deny in critical environments", roles: role(azAllow(allFlags, "*"), azDeny(azR("proj/*:env/*;{critical:true}:flag/*"), "updateOn")), action: "updateOn", spec: checkoutProd, why: "statement 1"},
		{name: "deny in critical spares test", roles: role(azAllow(allFlags, "*"), azDeny(azR("proj/*:env/*;{critical:true}:flag/*"), "updateOn")), action: "updateOn", spec: checkoutTest, allowed: true},
		{name: "critical and tagged", roles: role(azAllow(azR("proj/*:env/*;{critical:true},prod"), "updateName")), action: "updateName", spec: "proj/shop:env/production", allowed: true},

		// Deny beats allow within a role.
		{name: "deny beats allow", roles: role(noProdToggle...), action: "updateOn", spec: checkoutProd, why: "denied by custom role"},
		{name: "deny beats allow in any order", roles: role(azDeny(prodFlags, "updateOn"), azAllow(allFlags, "*")), action: "updateOn", spec: checkoutProd, why: "statement 0"},
		{name: "deny only its action", roles: role(noProdToggle...), action: "updateRules", spec: checkoutProd, allowed: true},
		{name: "deny only its environment", roles: role(noProdToggle...), action: "updateOn", spec: checkoutTest, allowed: true},

		// Permissions add up across roles.
		{name: "another role's allow survives a deny", roles: []azRole{{sts: noProdToggle}, {sts: killSwitch}}, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "allows add up", roles: []azRole{{sts: []Statement{azAllow(azR("proj/shop"), "viewProject")}}, {sts: []Statement{azAllow(azR("proj/billing"), "viewProject")}}}, action: "viewProject", spec: "proj/billing", allowed: true},
		{name: "two roles, neither allows", roles: []azRole{{sts: []Statement{azAllow(azR("proj/shop"), "viewProject")}}, {sts: noProdToggle}}, action: "deleteProject", spec: "proj/shop", why: "no role allows it"},

		// Default deny.
		{name: "default deny: other action", roles: role(azAllow(azR("proj/*"), "viewProject")), action: "deleteProject", spec: "proj/shop", why: "no role allows it"},
		{name: "default deny: other resource type", roles: role(azAllow(azR("webhook/*"), "*")), action: "viewProject", spec: "proj/shop"},
		{name: "default deny: no_access member", base: RoleNoAccess, action: "viewProject", spec: "proj/shop"},

		// notResources and notActions.
		{name: "notResources grants the rest", roles: role(Statement{Effect: "allow", NotResources: prodFlags, Actions: []string{"*"}}), action: "updateOn", spec: checkoutTest, allowed: true},
		{name: "notResources withholds the listed", roles: role(Statement{Effect: "allow", NotResources: prodFlags, Actions: []string{"*"}}), action: "updateOn", spec: checkoutProd},
		{name: "notResources spans every type", roles: role(Statement{Effect: "allow", NotResources: prodFlags, Actions: []string{"*"}}), action: "createRole", spec: "role/new-role", allowed: true},
		{name: "private project: own one visible", roles: role(private...), action: "viewProject", spec: "proj/shop", allowed: true},
		{name: "private project: others hidden", roles: role(private...), action: "viewProject", spec: "proj/billing", why: "statement 1"},
		{name: "notActions grants the rest", roles: role(Statement{Effect: "allow", Resources: allFlags, NotActions: []string{"deleteFlag"}}), action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "notActions withholds the listed", roles: role(Statement{Effect: "allow", Resources: allFlags, NotActions: []string{"deleteFlag"}}), action: "deleteFlag", spec: checkoutProd},
		{name: "deny with notActions", roles: role(azAllow(azR("proj/*"), "*"), Statement{Effect: "deny", Resources: azR("proj/billing"), NotActions: []string{"viewProject"}}), action: "updateProjectName", spec: "proj/billing"},
		{name: "deny with notActions spares the listed", roles: role(azAllow(azR("proj/*"), "*"), Statement{Effect: "deny", Resources: azR("proj/billing"), NotActions: []string{"viewProject"}}), action: "viewProject", spec: "proj/billing", allowed: true},

		// Actions: "*" and globs.
		{name: "star action", roles: role(azAllow(allFlags, "*")), action: "copyFlagConfigTo", spec: checkoutTest, allowed: true},
		{name: "action glob", roles: role(azAllow(allFlags, "update*")), action: "updateFallthrough", spec: checkoutTest, allowed: true},
		{name: "action glob excludes others", roles: role(azAllow(allFlags, "update*")), action: "deleteFlag", spec: checkoutTest},
		{name: "view glob", roles: role(azAllow(azR("proj/*"), "view*")), action: "viewProject", spec: "proj/billing", allowed: true},
		{name: "actions are case-sensitive", roles: role(azAllow(allFlags, "updateon")), action: "updateOn", spec: checkoutTest},

		// Role attributes.
		{name: "role attribute names the project", roles: role(attrFlags...), attrs: map[string][]string{"projects": {"shop"}}, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "role attribute withholds others", roles: role(attrFlags...), attrs: map[string][]string{"projects": {"shop"}}, action: "updateOn", spec: darkModeProd},
		{name: "role attribute, second value", roles: role(attrFlags...), attrs: map[string][]string{"projects": {"shop", "billing"}}, action: "updateOn", spec: invoiceTest, allowed: true},
		{name: "role attribute unset grants nothing", roles: role(attrFlags...), action: "updateOn", spec: checkoutProd},
		{name: "team role attribute", team: &azTeam{roles: role(attrFlags...), attrs: map[string][]string{"projects": {"mobile-ios"}}}, action: "updateOn", spec: darkModeProd, allowed: true},
		{name: "team and member attributes merge", attrs: map[string][]string{"projects": {"shop"}}, team: &azTeam{roles: role(attrFlags...), attrs: map[string][]string{"projects": {"mobile-ios"}}}, action: "updateOn", spec: checkoutProd, allowed: true},

		// Base roles.
		{name: "reader views", base: RoleReader, action: "viewProject", spec: "proj/shop", allowed: true, why: "base role reader"},
		{name: "reader cannot update", base: RoleReader, action: "updateOn", spec: checkoutProd},
		{name: "reader cannot create a project", base: RoleReader, action: "createProject", spec: "proj/new"},
		{name: "writer updates flags", base: RoleWriter, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "writer deletes flags", base: RoleWriter, action: "deleteFlag", spec: checkoutProd, allowed: true},
		{name: "writer updates environments", base: RoleWriter, action: "updateTtl", spec: "proj/shop:env/production", allowed: true},
		{name: "writer cannot create roles", base: RoleWriter, action: "createRole", spec: "role/new-role"},
		{name: "writer cannot change members", base: RoleWriter, action: "updateRole", spec: "member/$ME"},
		{name: "admin creates roles", base: RoleAdmin, action: "createRole", spec: "role/new-role", allowed: true, why: "base role admin"},
		{name: "admin deletes projects", base: RoleAdmin, action: "deleteProject", spec: "proj/billing", allowed: true},
		{name: "owner does anything", owner: true, action: "deleteMember", spec: "member/someone", allowed: true},
		{name: "no_access cannot view", base: RoleNoAccess, action: "viewProject", spec: "proj/billing"},
		{name: "no_access cannot update", base: RoleNoAccess, action: "updateOn", spec: checkoutTest},
		{name: "custom roles replace the base role", base: RoleWriter, roles: role(azAllow(azR("proj/shop"), "viewProject")), action: "updateOn", spec: checkoutProd},
		{name: "own tokens", base: RoleReader, action: "resetAccessToken", spec: "member/$ME:token/t1", allowed: true},
		{name: "not others' tokens", base: RoleReader, action: "resetAccessToken", spec: "member/someone:token/t1"},

		// basePermissions reader.
		{name: "basePermissions reader views", roles: readerRole(killSwitch...), action: "viewProject", spec: "proj/billing", allowed: true},
		{name: "basePermissions reader keeps the policy", roles: readerRole(killSwitch...), action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "basePermissions reader does not write", roles: readerRole(killSwitch...), action: "updateOn", spec: checkoutTest},
		{name: "basePermissions no_access does not view", roles: role(killSwitch...), action: "viewProject", spec: "proj/billing"},
		{name: "a deny beats basePermissions", roles: readerRole(azDeny(azR("proj/billing"), "viewProject")), action: "viewProject", spec: "proj/billing", why: "denied by custom role"},

		// Team roles.
		{name: "team role applies to members", team: &azTeam{roles: role(azAllow(azR("proj/*"), "viewProject"))}, action: "viewProject", spec: "proj/shop", allowed: true},
		{name: "team role adds to the member's", roles: role(azAllow(azR("proj/shop"), "viewProject")), team: &azTeam{roles: role(killSwitch...)}, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "team role grants only its policy", team: &azTeam{roles: role(azAllow(azR("proj/*"), "viewProject"))}, action: "updateOn", spec: checkoutProd},

		// Access tokens.
		{name: "personal token within its member", base: RoleWriter, token: &TokenPost{Role: RoleWriter}, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "personal token limited by its member", base: RoleReader, token: &TokenPost{Role: RoleWriter}, action: "updateOn", spec: checkoutProd, why: "token's member"},
		{name: "personal token of a reader still views", base: RoleReader, token: &TokenPost{Role: RoleWriter}, action: "viewProject", spec: "proj/shop", allowed: true},
		{name: "personal token limited by its own role", base: RoleWriter, token: &TokenPost{Role: RoleReader}, action: "updateOn", spec: checkoutProd},
		{name: "personal token with a custom role", base: RoleWriter, roles: role(killSwitch...), token: &TokenPost{CustomRoleIDs: []string{"$0"}}, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "personal token's custom role scopes it", base: RoleWriter, roles: role(killSwitch...), token: &TokenPost{CustomRoleIDs: []string{"$0"}}, action: "updateOn", spec: checkoutTest},
		{name: "personal token without token rights", base: RoleWriter, token: &TokenPost{Role: RoleWriter}, action: "resetAccessToken", spec: "member/$ME:token/t1"},
		{name: "service token inline role", base: RoleReader, token: &TokenPost{ServiceToken: true, InlineRole: killSwitch}, action: "updateOn", spec: checkoutProd, allowed: true, why: "inline role"},
		{name: "service token inline role scopes it", base: RoleReader, token: &TokenPost{ServiceToken: true, InlineRole: killSwitch}, action: "updateOn", spec: checkoutTest},
		{name: "service token inline role only", base: RoleReader, token: &TokenPost{ServiceToken: true, InlineRole: killSwitch}, action: "viewProject", spec: "proj/shop"},
		{name: "service token ignores its creator's role", base: RoleReader, token: &TokenPost{ServiceToken: true, Role: RoleWriter}, action: "updateOn", spec: checkoutProd, allowed: true},
		{name: "admin personal token", base: RoleAdmin, token: &TokenPost{Role: RoleAdmin}, action: "createRole", spec: "role/new-role", allowed: true},
		{name: "admin token of a writer", base: RoleWriter, token: &TokenPost{Role: RoleAdmin}, action: "createRole", spec: "role/new-role", why: "token's member"},
	}
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			p, me := azPrincipal(t, st, i, c)
			spec := strings.ReplaceAll(c.spec, "$ME", me)
			d, err := st.Allowed(context.Background(), p, c.action, spec)
			if err != nil {
				t.Fatalf("Allowed(%s, %s): %v", c.action, spec, err)
			}
			if d.Allowed != c.allowed {
				t.Errorf("Allowed(%s, %s) = %v (%s), want %v", c.action, spec, d.Allowed, d.Reason, c.allowed)
			}
			if d.Reason == "" {
				t.Errorf("Allowed(%s, %s): empty reason", c.action, spec)
			}
			if c.why != "" && !strings.Contains(d.Reason, c.why) {
				t.Errorf("Allowed(%s, %s): reason %q does not mention %q", c.action, spec, d.Reason, c.why)
			}
			if d.Action != c.action {
				t.Errorf("Decision.Action = %q, want %q", d.Action, c.action)
			}
		})
	}
}

// TestAuthz_AllowedEdges covers Allowed's own inputs: an environment "*"
// answered per environment, a bad specifier, principals that may not use
// the API at all.
func TestAuthz_AllowedEdges(t *testing.T) {
	t.Parallel()
	st := azFixture(t)
	ctx := context.Background()
	cr, err := st.CreateCustomRole(ctx, CustomRolePost{Key: "test-only", Name: "Test only",
		Policy: []Statement{azAllow(azR("proj/*:env/test:flag/*"), "updateName")}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: "edge@example.com", CustomRoles: []string{cr.Key}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.MemberPrincipal(ctx, ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	// A flag-wide action: allowed when some environment allows it.
	if d, err := st.Allowed(ctx, p, "updateName", "proj/shop:env/*:flag/checkout"); err != nil || !d.Allowed || d.Reason == "" {
		t.Errorf("env/* = %+v, %v; want allowed through test", d, err)
	}
	if d, err := st.Allowed(ctx, p, "updateName", "proj/shop:env/production:flag/checkout"); err != nil || d.Allowed || d.Reason == "" {
		t.Errorf("production = %+v, %v; want denied", d, err)
	}
	if _, err := st.Allowed(ctx, p, "updateName", "proj/shop:"); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad specifier: %v, want ErrInvalid", err)
	}
	for _, q := range []Principal{{Kind: PrincipalEnvironment}, {Kind: PrincipalMember, MemberID: ms[0].ID}} {
		d, err := st.Allowed(ctx, q, "viewProject", "proj/shop")
		if err != nil || d.Allowed || d.Reason == "" {
			t.Errorf("principal %+v: %+v, %v; want a reasoned denial", q, d, err)
		}
	}
	if _, err := st.MemberPrincipal(ctx, "nobody"); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("MemberPrincipal(unknown) = %v, want ErrUnauthorized", err)
	}
}

// azErr asserts that err is an *Error of the sentinel's class with the
// HTTP status that class has.
func azErr(t testing.TB, err, sentinel error, what string) {
	t.Helper()
	want := map[error]int{ErrUnauthorized: 401, ErrForbidden: 403, ErrNotFound: 404, ErrInvalid: 400}[sentinel]
	var e *Error
	switch {
	case err == nil:
		t.Errorf("%s: no error, want %v", what, sentinel)
	case !errors.Is(err, sentinel) || !errors.As(err, &e):
		t.Errorf("%s: %v, want %v", what, err, sentinel)
	case e.Status != want:
		t.Errorf("%s: status %d, want %d", what, e.Status, want)
	}
}

// azEnv is a store with projects alpha and beta (production and test
// each), a flag f1 in both and a segment s1 in alpha's production and
// beta's production. Its token runtime stops before the store closes.
func azEnv(t *testing.T) (*Store, *fxClock) {
	t.Helper()
	st, clk := fxOpen(t)
	t.Cleanup(st.closeTokens)
	ctx := context.Background()
	for _, k := range []string{"alpha", "beta"} {
		if _, err := st.CreateProject(ctx, ProjectPost{Key: k, Name: "Project " + k}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateFlag(ctx, k, FlagPost{Key: "f1", Name: "Flag one"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateSegment(ctx, k, "production", SegmentPost{Key: "s1", Name: "Segment one"}); err != nil {
			t.Fatal(err)
		}
	}
	return st, clk
}

// azMember invites a member with the base role, holding a new custom role
// with the given statements when there are any.
func azMember(t *testing.T, st *Store, email, base string, sts ...Statement) Member {
	t.Helper()
	ctx := context.Background()
	inv := MemberInvite{Email: email, Role: base}
	if len(sts) > 0 {
		key := "az-" + strings.NewReplacer("@", "-", ".", "-").Replace(email)
		if _, err := st.CreateCustomRole(ctx, CustomRolePost{Key: key, Name: "Role of " + email, Policy: sts}); err != nil {
			t.Fatal(err)
		}
		inv.CustomRoles = []string{key}
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{inv})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}

// azSession is a context acting as the member's cookie session.
func azSession(t *testing.T, st *Store, memberID string) context.Context {
	t.Helper()
	p, err := st.MemberPrincipal(context.Background(), memberID)
	if err != nil {
		t.Fatal(err)
	}
	return WithPrincipal(context.Background(), p)
}

// azToken creates a token (as the host application) and returns it with
// its whole secret and a context acting through it.
func azToken(t *testing.T, st *Store, memberID string, tp TokenPost) (Token, context.Context) {
	t.Helper()
	if tp.Name == "" {
		tp.Name = "az token"
	}
	tok, err := st.CreateToken(context.Background(), memberID, tp)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.Authenticate(context.Background(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	return tok, WithPrincipal(context.Background(), p)
}

// azMemberRoleIDs returns the member's custom role _ids, for a token that
// carries the same roles.
func azMemberRoleIDs(t *testing.T, st *Store, id string) []string {
	t.Helper()
	m, err := st.GetMember(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m.CustomRoles
}

// TestAuthz_ReadsNeedViewProject: every read inside a project needs
// viewProject on it; a cookie session refused gets 401, a token 403.
func TestAuthz_ReadsNeedViewProject(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	m := azMember(t, st, "alpha@example.com", "", azAllow(azR("proj/alpha"), "viewProject"))
	_, tokCtx := azToken(t, st, m.ID, TokenPost{CustomRoleIDs: azMemberRoleIDs(t, st, m.ID)})
	for _, pc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"session", azSession(t, st, m.ID), ErrUnauthorized},
		{"token", tokCtx, ErrForbidden},
	} {
		t.Run(pc.name, func(t *testing.T) {
			reads := map[string]func(ctx context.Context, proj string) error{
				"GetProject":     func(ctx context.Context, p string) error { _, err := st.GetProject(ctx, p); return err },
				"GetFlag":        func(ctx context.Context, p string) error { _, err := st.GetFlag(ctx, p, "f1"); return err },
				"ListFlags":      func(ctx context.Context, p string) error { _, err := st.ListFlags(ctx, p, ListOptions{}); return err },
				"GetEnvironment": func(ctx context.Context, p string) error { _, err := st.GetEnvironment(ctx, p, "test"); return err },
				"ListEnvironments": func(ctx context.Context, p string) error {
					_, err := st.ListEnvironments(ctx, p, ListOptions{})
					return err
				},
				"GetSegment": func(ctx context.Context, p string) error {
					_, err := st.GetSegment(ctx, p, "production", "s1")
					return err
				},
				"ListSegments": func(ctx context.Context, p string) error {
					_, err := st.ListSegments(ctx, p, "production", ListOptions{})
					return err
				},
			}
			for name, read := range reads {
				if err := read(pc.ctx, "alpha"); err != nil {
					t.Errorf("%s(alpha): %v", name, err)
				}
				azErr(t, read(pc.ctx, "beta"), pc.want, name+"(beta)")
			}
			// Audit entries of a project the principal cannot view are
			// hidden, in the list and in detail.
			list, err := st.ListAuditLog(pc.ctx, AuditListOptions{Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list {
				if slices.ContainsFunc(e.Target.Resources, func(r string) bool { return strings.HasPrefix(r, "proj/beta") }) {
					t.Errorf("audit list shows %s", e.Target.Resources)
				}
			}
			host, _ := st.ListAuditLog(context.Background(), AuditListOptions{Limit: 20, Spec: "proj/beta:env/*:flag/*"})
			if len(host) == 0 {
				t.Fatal("no audit entry for beta's flag")
			}
			if _, err := st.GetAuditEntry(pc.ctx, host[0].ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("GetAuditEntry(beta's) = %v, want ErrNotFound", err)
			}
		})
	}
}

// TestAuthz_ListProjectsVisible: ListProjects lists, pages and counts only
// the projects the principal may view.
func TestAuthz_ListProjectsVisible(t *testing.T) {
	t.Parallel()
	st, _ := fxOpen(t)
	ctx := context.Background()
	for _, k := range []string{"mobile-ios", "web", "mobile-android", "billing", "mobile-tv"} {
		if _, err := st.CreateProject(ctx, ProjectPost{Key: k, Name: k}); err != nil {
			t.Fatal(err)
		}
	}
	m := azMember(t, st, "mobile@example.com", "", azAllow(azR("proj/mobile-*"), "viewProject"))
	sctx := azSession(t, st, m.ID)
	l, err := st.ListProjects(sctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, p := range l.Items {
		keys = append(keys, p.Key)
	}
	// The projects were created in the same millisecond: key order.
	if want := []string{"mobile-android", "mobile-ios", "mobile-tv"}; !slices.Equal(keys, want) || l.TotalCount != 3 {
		t.Errorf("ListProjects = %v (total %d), want %v (total 3)", keys, l.TotalCount, want)
	}
	l, err = st.ListProjects(sctx, ListOptions{Limit: 1, Offset: 1})
	if err != nil || len(l.Items) != 1 || l.Items[0].Key != "mobile-ios" || l.TotalCount != 3 {
		t.Errorf("page 2 = %+v, %v; want mobile-ios of 3", l, err)
	}
	if l, err := st.ListProjects(ctx, ListOptions{}); err != nil || l.TotalCount != 5 {
		t.Errorf("host ListProjects: %d, %v; want 5", l.TotalCount, err)
	}
	nobody := azMember(t, st, "nobody@example.com", RoleNoAccess)
	if l, err := st.ListProjects(azSession(t, st, nobody.ID), ListOptions{}); err != nil || l.TotalCount != 0 || len(l.Items) != 0 {
		t.Errorf("no_access ListProjects = %+v, %v; want empty", l, err)
	}
}

// TestAuthz_SDKKeysMasked: environments show their SDK and mobile keys only
// to principals that may viewSdkKey.
func TestAuthz_SDKKeysMasked(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	ctx := context.Background()
	stored := map[string]Environment{}
	for _, k := range []string{"production", "test"} {
		stored[k] = tstMustEnv(t, st, "alpha", k)
	}
	viewer := azMember(t, st, "viewer@example.com", "", azAllow(azR("proj/*"), "viewProject"))
	keyed := azMember(t, st, "keyed@example.com", "", azAllow(azR("proj/*"), "viewProject"),
		azAllow(azR("proj/*:env/production"), "viewSdkKey"))
	check := func(who string, e Environment, visible bool) {
		t.Helper()
		r := stored[e.Key]
		if got := e.APIKey == r.APIKey && e.MobileKey == r.MobileKey; got != visible {
			t.Errorf("%s sees %s keys %q %q; visible=%v, want %v", who, e.Key, e.APIKey, e.MobileKey, got, visible)
		}
		if !visible {
			if strings.Contains(e.APIKey, r.APIKey[4:len(r.APIKey)-4]) || strings.Contains(e.MobileKey, r.MobileKey[4:len(r.MobileKey)-4]) {
				t.Errorf("%s: masked keys leak the secret: %q %q", who, e.APIKey, e.MobileKey)
			}
			if !strings.HasSuffix(e.APIKey, r.APIKey[len(r.APIKey)-4:]) {
				t.Errorf("%s: masked key %q should keep its ending", who, e.APIKey)
			}
		}
		if e.ID != r.ID || e.Name != r.Name {
			t.Errorf("%s: masking changed more than the keys: %+v", who, e)
		}
	}
	for _, c := range []struct {
		who     string
		ctx     context.Context
		visible map[string]bool
	}{
		{"viewer", azSession(t, st, viewer.ID), map[string]bool{}},
		{"keyed", azSession(t, st, keyed.ID), map[string]bool{"production": true}},
		{"host", ctx, map[string]bool{"production": true, "test": true}},
	} {
		for _, k := range []string{"production", "test"} {
			e, err := st.GetEnvironment(c.ctx, "alpha", k)
			if err != nil {
				t.Fatal(err)
			}
			check(c.who+" GetEnvironment", e, c.visible[k])
		}
		l, err := st.ListEnvironments(c.ctx, "alpha", ListOptions{})
		if err != nil || len(l.Items) != 2 {
			t.Fatalf("ListEnvironments: %+v, %v", l, err)
		}
		for _, e := range l.Items {
			check(c.who+" ListEnvironments", e, c.visible[e.Key])
		}
	}
	// Masking is a view: the stored keys still work.
	if _, err := st.LookupCredential(ctx, stored["test"].APIKey); err != nil {
		t.Errorf("LookupCredential after masked reads: %v", err)
	}
}

// azLastEntry is the newest audit entry, in detail.
func azLastEntry(t *testing.T, st *Store) AuditEntry {
	t.Helper()
	l, err := st.ListAuditLog(context.Background(), AuditListOptions{Limit: 1})
	if err != nil || len(l) != 1 {
		t.Fatalf("ListAuditLog: %v, %v", l, err)
	}
	e, err := st.GetAuditEntry(context.Background(), l[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestAuthz_AuditActor: a write names its principal as the actor: the
// member for a session, the token (with its member, if personal) for a
// token.
func TestAuthz_AuditActor(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	m := azMember(t, st, "dev@example.com", RoleWriter)
	pers, persCtx := azToken(t, st, m.ID, TokenPost{Name: "ci", Role: RoleWriter})
	svc, svcCtx := azToken(t, st, m.ID, TokenPost{Name: "deploy", Role: RoleWriter, ServiceToken: true})
	toggle := func(ctx context.Context, on bool) {
		t.Helper()
		if _, err := st.UpdateFlag(ctx, "alpha", "f1", func(f *Flag) error {
			f.Environments["test"].On = on
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}

	toggle(azSession(t, st, m.ID), true)
	e := azLastEntry(t, st)
	if e.Member == nil || e.Member.ID != m.ID || e.Member.Email != m.Email || e.Token != nil {
		t.Errorf("session write: member %+v token %+v", e.Member, e.Token)
	}
	if !strings.HasPrefix(e.Title, m.Email+" ") {
		t.Errorf("session write title %q", e.Title)
	}

	toggle(persCtx, false)
	e = azLastEntry(t, st)
	if e.Token == nil || e.Token.ID != pers.ID || e.Token.ServiceToken || e.Token.Ending != pers.Token[len(pers.Token)-4:] {
		t.Errorf("personal token write: token %+v", e.Token)
	}
	if e.Member == nil || e.Member.ID != m.ID {
		t.Errorf("personal token write: member %+v, want %s", e.Member, m.ID)
	}

	toggle(svcCtx, true)
	e = azLastEntry(t, st)
	if e.Token == nil || e.Token.ID != svc.ID || !e.Token.ServiceToken || e.Member != nil {
		t.Errorf("service token write: token %+v member %+v", e.Token, e.Member)
	}

	toggle(context.Background(), false)
	if e = azLastEntry(t, st); e.Member != nil || e.Token != nil {
		t.Errorf("host write: member %+v token %+v", e.Member, e.Token)
	}
}

// TestAuthz_RefusedWriteChangesNothing: a refused write commits nothing,
// whichever call it is.
func TestAuthz_RefusedWriteChangesNothing(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	reader := azMember(t, st, "reader@example.com", RoleReader)
	_, tokCtx := azToken(t, st, reader.ID, TokenPost{Role: RoleReader})
	var backup bytes.Buffer
	if err := st.Save(context.Background(), &backup); err != nil {
		t.Fatal(err)
	}
	for _, pc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"session", azSession(t, st, reader.ID), ErrUnauthorized},
		{"token", tokCtx, ErrForbidden},
	} {
		writes := map[string]func(ctx context.Context) error{
			"UpdateFlag": func(ctx context.Context) error {
				_, err := st.UpdateFlag(ctx, "alpha", "f1", func(f *Flag) error { f.Environments["production"].On = true; return nil })
				return err
			},
			"PatchFlag": func(ctx context.Context) error {
				_, err := st.PatchFlag(ctx, "alpha", "f1", Patch{Kind: SemanticPatch, EnvironmentKey: "test", Instructions: []Instruction{{Kind: "turnFlagOn"}}})
				return err
			},
			"CreateFlag": func(ctx context.Context) error {
				_, err := st.CreateFlag(ctx, "alpha", FlagPost{Key: "f2", Name: "F2"})
				return err
			},
			"DeleteFlag": func(ctx context.Context) error { return st.DeleteFlag(ctx, "alpha", "f1") },
			"UpdateProject": func(ctx context.Context) error {
				_, err := st.UpdateProject(ctx, "alpha", func(p *Project) error { p.Name = "Renamed"; return nil })
				return err
			},
			"CreateProject": func(ctx context.Context) error {
				_, err := st.CreateProject(ctx, ProjectPost{Key: "gamma", Name: "G"})
				return err
			},
			"DeleteEnvironment": func(ctx context.Context) error { return st.DeleteEnvironment(ctx, "alpha", "test") },
			"ResetSDKKey": func(ctx context.Context) error {
				_, err := st.ResetSDKKey(ctx, "alpha", "production", time.Time{})
				return err
			},
			"CreateSegment": func(ctx context.Context) error {
				_, err := st.CreateSegment(ctx, "alpha", "test", SegmentPost{Key: "s2", Name: "S2"})
				return err
			},
			"CreateCustomRole": func(ctx context.Context) error {
				_, err := st.CreateCustomRole(ctx, CustomRolePost{Key: "sneaky", Name: "S", Policy: []Statement{azAllow(azR("proj/*"), "*")}})
				return err
			},
			"InviteMembers": func(ctx context.Context) error {
				_, err := st.InviteMembers(ctx, []MemberInvite{{Email: "new@example.com", Role: RoleAdmin}})
				return err
			},
			"UpdateMember": func(ctx context.Context) error {
				_, err := st.UpdateMember(ctx, reader.ID, func(m *Member) error { m.Role = RoleAdmin; return nil })
				return err
			},
			"Load": func(ctx context.Context) error { return st.Load(ctx, bytes.NewReader(backup.Bytes())) },
		}
		for name, write := range writes {
			rev, flag := azRev(t, st), fxJSON(t, azHostFlag(t, st))
			err := write(pc.ctx)
			azErr(t, err, pc.want, pc.name+" "+name)
			if got := azRev(t, st); got != rev {
				t.Errorf("%s %s: revision moved from %d to %d", pc.name, name, rev, got)
			}
			if got := fxJSON(t, azHostFlag(t, st)); got != flag {
				t.Errorf("%s %s: flag changed", pc.name, name)
			}
		}
	}
	if m, _ := st.GetMember(context.Background(), reader.ID); m.Role != RoleReader {
		t.Errorf("reader's role is now %q", m.Role)
	}
}

// TestAuthz_WholeStore: Save, Load and Watch bypass every per-resource
// check and show every project with its SDK keys, so a principal needs to
// be an admin for them.
func TestAuthz_WholeStore(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	ctx := context.Background()
	writer := azMember(t, st, "writer@example.com", RoleWriter)
	admin := azMember(t, st, "admin@example.com", RoleAdmin)
	_, writerTok := azToken(t, st, writer.ID, TokenPost{Role: RoleWriter})
	_, adminTok := azToken(t, st, admin.ID, TokenPost{Role: RoleAdmin})
	_, adminTokOfWriter := azToken(t, st, writer.ID, TokenPost{Role: RoleAdmin})
	var backup bytes.Buffer
	if err := st.Save(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	ops := map[string]func(context.Context) error{
		"Save": func(ctx context.Context) error { return st.Save(ctx, &bytes.Buffer{}) },
		"Load": func(ctx context.Context) error { return st.Load(ctx, bytes.NewReader(backup.Bytes())) },
		"Watch": func(ctx context.Context) error {
			wctx, cancel := context.WithCancel(ctx)
			defer cancel()
			return st.Watch(wctx, func(Change) {})
		},
	}
	for _, c := range []struct {
		name string
		ctx  context.Context
		want error // nil: allowed
	}{
		{"writer session", azSession(t, st, writer.ID), ErrUnauthorized},
		{"writer token", writerTok, ErrForbidden},
		{"admin token of a writer", adminTokOfWriter, ErrForbidden},
		{"admin session", azSession(t, st, admin.ID), nil},
		{"admin token", adminTok, nil},
	} {
		for name, op := range ops {
			rev := azRev(t, st)
			err := op(c.ctx)
			if c.want == nil {
				if err != nil {
					t.Errorf("%s %s: %v", c.name, name, err)
				}
				continue
			}
			azErr(t, err, c.want, c.name+" "+name)
			if got := azRev(t, st); got != rev {
				t.Errorf("%s %s: revision moved", c.name, name)
			}
		}
	}
}

// TestAuthz_NoOpWrites: a write that changes nothing returns the resource,
// which is a read: it needs viewProject, and an environment's keys stay
// masked without viewSdkKey, whether the write changed anything or not.
func TestAuthz_NoOpWrites(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	nobody := azMember(t, st, "nobody@example.com", RoleNoAccess)
	_, nobodyTok := azToken(t, st, nobody.ID, TokenPost{Role: RoleReader})
	noop := map[string]func(ctx context.Context) (string, error){
		"UpdateFlag": func(ctx context.Context) (string, error) {
			f, err := st.UpdateFlag(ctx, "beta", "f1", func(*Flag) error { return nil })
			return f.Key, err
		},
		"PatchFlag test op": func(ctx context.Context) (string, error) {
			f, err := st.PatchFlag(ctx, "beta", "f1", Patch{Kind: JSONPatch, Ops: []byte(`[{"op":"test","path":"/key","value":"f1"}]`)})
			return f.Key, err
		},
		"UpdateSegment": func(ctx context.Context) (string, error) {
			sg, err := st.UpdateSegment(ctx, "beta", "production", "s1", func(*Segment) error { return nil })
			return sg.Key, err
		},
		"UpdateProject": func(ctx context.Context) (string, error) {
			p, err := st.UpdateProject(ctx, "beta", func(*Project) error { return nil })
			return p.Key, err
		},
		"UpdateEnvironment": func(ctx context.Context) (string, error) {
			e, err := st.UpdateEnvironment(ctx, "beta", "production", func(*Environment) error { return nil })
			return e.APIKey, err
		},
		"PatchEnvironment []": func(ctx context.Context) (string, error) {
			e, err := st.PatchEnvironment(ctx, "beta", "production", Patch{Kind: JSONPatch, Ops: []byte(`[]`)})
			return e.APIKey, err
		},
	}
	for name, call := range noop {
		for _, c := range []struct {
			who  string
			ctx  context.Context
			want error
		}{{"session", azSession(t, st, nobody.ID), ErrUnauthorized}, {"token", nobodyTok, ErrForbidden}} {
			got, err := call(c.ctx)
			azErr(t, err, c.want, c.who+" of a no_access member: no-op "+name)
			if got != "" {
				t.Errorf("%s no-op %s returned %q", c.who, name, got)
			}
		}
		if got, err := call(context.Background()); err != nil || got == "" {
			t.Errorf("host no-op %s: %q, %v", name, got, err)
		}
	}

	stored := tstMustEnv(t, st, "beta", "production")
	painter := azMember(t, st, "painter@example.com", "", azAllow(azR("proj/*"), "viewProject"),
		azAllow(azR("proj/*:env/*"), "updateColor"))
	ctx := azSession(t, st, painter.ID)
	for i, color := range []string{"123456", "123456"} { // a change, then a no-op
		e, err := st.UpdateEnvironment(ctx, "beta", "production", func(e *Environment) error { e.Color = color; return nil })
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if e.Color != color || e.APIKey == stored.APIKey || e.MobileKey == stored.MobileKey || !strings.HasSuffix(e.APIKey, stored.APIKey[len(stored.APIKey)-4:]) {
			t.Errorf("update %d by a principal without viewSdkKey returned keys %q %q", i, e.APIKey, e.MobileKey)
		}
	}
	if e := tstMustEnv(t, st, "beta", "production"); e.APIKey != stored.APIKey || e.Color != "123456" {
		t.Errorf("stored environment: %+v", e)
	}
}

// azRev is the store's revision once the lastUsed times that
// authentications queued are written, so that it moves only with the
// calls a test makes.
func azRev(t *testing.T, st *Store) uint64 {
	t.Helper()
	st.flushTokenTouches()
	return fxRev(t, st)
}

func azHostFlag(t *testing.T, st *Store) Flag {
	t.Helper()
	f, err := st.GetFlag(context.Background(), "alpha", "f1")
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestAuthz_FlagWideActions: a flag-wide change (a rename) is allowed when
// the role allows it in some environment of the project; a targeting change
// needs its own environment.
func TestAuthz_FlagWideActions(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	rename := func(ctx context.Context, name string) error {
		_, err := st.UpdateFlag(ctx, "alpha", "f1", func(f *Flag) error { f.Name = name; return nil })
		return err
	}
	for i, c := range []struct {
		name    string
		sts     []Statement
		allowed bool
	}{
		{"updateName in test only", []Statement{azAllow(azR("proj/*:env/test:flag/*"), "updateName")}, true},
		{"updateName in production only", []Statement{azAllow(azR("proj/alpha:env/production:flag/f1"), "updateName")}, true},
		{"updateName everywhere", []Statement{azAllow(azR("proj/*:env/*:flag/*"), "updateName")}, true},
		{"updateName in another project", []Statement{azAllow(azR("proj/beta:env/*:flag/*"), "updateName")}, false},
		{"updateName in no environment of the project", []Statement{azAllow(azR("proj/*:env/staging:flag/*"), "updateName")}, false},
		{"another action", []Statement{azAllow(azR("proj/*:env/*:flag/*"), "updateOn")}, false},
		{"denied in one environment", []Statement{azAllow(azR("proj/*:env/*:flag/*"), "*"), azDeny(azR("proj/*:env/production:flag/*"), "updateName")}, true},
		{"denied in every environment", []Statement{azAllow(azR("proj/*:env/*:flag/*"), "*"), azDeny(azR("proj/*:env/*:flag/*"), "updateName")}, false},
	} {
		m := azMember(t, st, fmt.Sprintf("wide%d@example.com", i), "", c.sts...)
		ctx := azSession(t, st, m.ID)
		err := rename(ctx, fmt.Sprintf("Name %d", i))
		if c.allowed && err != nil {
			t.Errorf("%s: rename refused: %v", c.name, err)
		}
		if !c.allowed {
			azErr(t, err, ErrUnauthorized, c.name)
		}
	}
	// Targeting is per environment: a role for test cannot toggle production.
	m := azMember(t, st, "test-toggler@example.com", "", azAllow(azR("proj/*:env/test:flag/*"), "updateOn"))
	ctx := azSession(t, st, m.ID)
	toggle := func(env string) error {
		_, err := st.UpdateFlag(ctx, "alpha", "f1", func(f *Flag) error { f.Environments[env].On = !f.Environments[env].On; return nil })
		return err
	}
	if err := toggle("test"); err != nil {
		t.Errorf("toggle test: %v", err)
	}
	azErr(t, toggle("production"), ErrUnauthorized, "toggle production")
}

// TestAuthz_G9: a refused cookie session is 401, a refused token 403, and
// both say why.
func TestAuthz_G9(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	m := azMember(t, st, "g9@example.com", RoleReader)
	_, tokCtx := azToken(t, st, m.ID, TokenPost{Role: RoleReader})
	svc := azMember(t, st, "svc@example.com", RoleAdmin)
	_, svcCtx := azToken(t, st, svc.ID, TokenPost{ServiceToken: true, InlineRole: []Statement{azAllow(azR("proj/*"), "viewProject")}})
	write := func(ctx context.Context) error { return st.DeleteFlag(ctx, "alpha", "f1") }
	for _, c := range []struct {
		name   string
		ctx    context.Context
		want   error
		status int
		code   string
	}{
		{"session", azSession(t, st, m.ID), ErrUnauthorized, 401, CodeUnauthorized},
		{"personal token", tokCtx, ErrForbidden, 403, CodeForbidden},
		{"service token", svcCtx, ErrForbidden, 403, CodeForbidden},
	} {
		err := write(c.ctx)
		var e *Error
		if !errors.As(err, &e) || !errors.Is(err, c.want) || e.Status != c.status || e.Code != c.code {
			t.Errorf("%s: %v, want %d %s", c.name, err, c.status, c.code)
			continue
		}
		if !strings.Contains(e.Message, "deleteFlag") || !strings.Contains(e.Message, "proj/alpha") {
			t.Errorf("%s: message %q does not name the action and resource", c.name, e.Message)
		}
		if errors.Is(err, ErrForbidden) && errors.Is(err, ErrUnauthorized) {
			t.Errorf("%s: both 401 and 403", c.name)
		}
	}
}

// TestAuthz_TokenFollowsMember: a personal token loses power with its
// member and dies with it; a service token does not depend on its member.
func TestAuthz_TokenFollowsMember(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	ctx := context.Background()
	m := azMember(t, st, "dev@example.com", RoleWriter)
	tok, _ := azToken(t, st, m.ID, TokenPost{Role: RoleWriter})
	svc, _ := azToken(t, st, m.ID, TokenPost{Role: RoleWriter, ServiceToken: true})
	toggle := func(secret string) error {
		p, err := st.Authenticate(ctx, secret)
		if err != nil {
			return err
		}
		_, err = st.UpdateFlag(WithPrincipal(ctx, p), "alpha", "f1", func(f *Flag) error {
			f.Environments["test"].On = !f.Environments["test"].On
			return nil
		})
		return err
	}
	if err := toggle(tok.Token); err != nil {
		t.Fatalf("writer token: %v", err)
	}
	if _, err := st.UpdateMember(ctx, m.ID, func(m *Member) error { m.Role = RoleReader; return nil }); err != nil {
		t.Fatal(err)
	}
	azErr(t, toggle(tok.Token), ErrForbidden, "token of a member lowered to reader")
	p, err := st.Authenticate(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetFlag(WithPrincipal(ctx, p), "alpha", "f1"); err != nil {
		t.Errorf("token of a reader cannot read: %v", err)
	}
	if err := toggle(svc.Token); err != nil {
		t.Errorf("service token of a lowered member: %v", err)
	}
	if err := st.DeleteMember(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	azErr(t, toggle(tok.Token), ErrUnauthorized, "token of a deleted member")
	if err := toggle(svc.Token); err != nil {
		t.Errorf("service token of a deleted member: %v", err)
	}
}

// TestAuthz_TokenDeleteAndReset: a deleted token is 401; a reset retires the
// old secret at once, or at the expiry given.
func TestAuthz_TokenDeleteAndReset(t *testing.T) {
	t.Parallel()
	st, clk := azEnv(t)
	ctx := context.Background()
	m := azMember(t, st, "dev@example.com", RoleWriter)
	auth := func(secret string) error { _, err := st.Authenticate(ctx, secret); return err }

	gone, _ := azToken(t, st, m.ID, TokenPost{})
	if err := st.DeleteToken(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	azErr(t, auth(gone.Token), ErrUnauthorized, "deleted token")

	tok, _ := azToken(t, st, m.ID, TokenPost{})
	fresh, err := st.ResetToken(ctx, tok.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	azErr(t, auth(tok.Token), ErrUnauthorized, "old secret after reset")
	if err := auth(fresh.Token); err != nil {
		t.Errorf("new secret: %v", err)
	}

	later, err := st.ResetToken(ctx, tok.ID, clk.now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fresh.Token, later.Token} {
		if err := auth(s); err != nil {
			t.Errorf("before the expiry: %v", err)
		}
	}
	clk.ms.Add(time.Hour.Milliseconds() - 1)
	if err := auth(fresh.Token); err != nil {
		t.Errorf("a millisecond before the expiry: %v", err)
	}
	clk.ms.Add(1)
	azErr(t, auth(fresh.Token), ErrUnauthorized, "old secret at its expiry")
	if err := auth(later.Token); err != nil {
		t.Errorf("new secret after the old one's expiry: %v", err)
	}
	if _, err := st.ResetToken(ctx, tok.ID, clk.now()); !errors.Is(err, ErrInvalid) {
		t.Errorf("reset with a past expiry: %v, want ErrInvalid", err)
	}
	azErr(t, auth(""), ErrUnauthorized, "empty secret")
	azErr(t, auth("api-00000000-0000-0000-0000-000000000000"), ErrUnauthorized, "unknown secret")
}

// TestAuthz_EnvironmentCredentials: SDK keys, mobile keys and client-side
// IDs never authenticate to the API, and a context acting as one is refused
// by every call; LookupCredential still resolves them.
func TestAuthz_EnvironmentCredentials(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	ctx := context.Background()
	env := tstMustEnv(t, st, "alpha", "production")
	for _, c := range []struct {
		secret string
		kind   CredentialKind
	}{{env.APIKey, CredentialSDKKey}, {env.MobileKey, CredentialMobileKey}, {env.ID, CredentialClientSideID}} {
		for _, h := range []string{c.secret, "Bearer " + c.secret, "bearer " + c.secret} {
			_, err := st.Authenticate(ctx, h)
			azErr(t, err, ErrUnauthorized, "Authenticate("+h+")")
		}
		cred, err := st.LookupCredential(ctx, c.secret)
		if err != nil || cred.Kind != c.kind || cred.ProjectKey != "alpha" || cred.EnvironmentKey != "production" {
			t.Errorf("LookupCredential(%s) = %+v, %v", c.kind, cred, err)
		}
	}

	cred, _ := st.LookupCredential(ctx, env.APIKey)
	ectx := WithPrincipal(ctx, Principal{Kind: PrincipalEnvironment, Credential: &cred})
	owner, err := st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := azToken(t, st, owner.ID, TokenPost{})
	entries, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil || len(entries) != 1 {
		t.Fatal(entries, err)
	}
	var backup bytes.Buffer
	if err := st.Save(ctx, &backup); err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"GetProject":       func() error { _, err := st.GetProject(ectx, "alpha"); return err },
		"ListProjects":     func() error { _, err := st.ListProjects(ectx, ListOptions{}); return err },
		"GetEnvironment":   func() error { _, err := st.GetEnvironment(ectx, "alpha", "production"); return err },
		"ListEnvironments": func() error { _, err := st.ListEnvironments(ectx, "alpha", ListOptions{}); return err },
		"GetFlag":          func() error { _, err := st.GetFlag(ectx, "alpha", "f1"); return err },
		"ListFlags":        func() error { _, err := st.ListFlags(ectx, "alpha", ListOptions{}); return err },
		"GetSegment":       func() error { _, err := st.GetSegment(ectx, "alpha", "production", "s1"); return err },
		"ListSegments":     func() error { _, err := st.ListSegments(ectx, "alpha", "production", ListOptions{}); return err },
		"GetMember":        func() error { _, err := st.GetMember(ectx, owner.ID); return err },
		"ListMembers":      func() error { _, err := st.ListMembers(ectx, ListOptions{}, MemberFilter{}); return err },
		"ListCustomRoles":  func() error { _, err := st.ListCustomRoles(ectx, ListOptions{}); return err },
		"ListTeams":        func() error { _, err := st.ListTeams(ectx, ListOptions{}); return err },
		"GetToken":         func() error { _, err := st.GetToken(ectx, tok.ID); return err },
		"ListTokens":       func() error { _, err := st.ListTokens(ectx, TokenListOptions{}); return err },
		"ListAuditLog":     func() error { _, err := st.ListAuditLog(ectx, AuditListOptions{}); return err },
		"GetAuditEntry":    func() error { _, err := st.GetAuditEntry(ectx, entries[0].ID); return err },
		"Allowed":          func() error { _, err := st.Allowed(ectx, Principal{}, "viewProject", "proj/alpha"); return err },
		"Save":             func() error { return st.Save(ectx, &bytes.Buffer{}) },
		"Watch": func() error {
			wctx, cancel := context.WithCancel(ectx)
			defer cancel()
			return st.Watch(wctx, func(Change) {})
		},
		"UpdateFlag": func() error {
			_, err := st.UpdateFlag(ectx, "alpha", "f1", func(f *Flag) error { f.Environments["production"].On = true; return nil })
			return err
		},
		"CreateFlag":    func() error { _, err := st.CreateFlag(ectx, "alpha", FlagPost{Key: "f2", Name: "F2"}); return err },
		"DeleteFlag":    func() error { return st.DeleteFlag(ectx, "alpha", "f1") },
		"CreateProject": func() error { _, err := st.CreateProject(ectx, ProjectPost{Key: "gamma", Name: "G"}); return err },
		"ResetSDKKey": func() error {
			_, err := st.ResetSDKKey(ectx, "alpha", "production", time.Time{})
			return err
		},
		"CreateToken": func() error { _, err := st.CreateToken(ectx, owner.ID, TokenPost{}); return err },
		"DeleteToken": func() error { return st.DeleteToken(ectx, tok.ID) },
		"Load":        func() error { return st.Load(ectx, bytes.NewReader(backup.Bytes())) },
	}
	rev := azRev(t, st)
	for name, call := range calls {
		azErr(t, call(), ErrUnauthorized, "environment principal "+name)
	}
	if got := azRev(t, st); got != rev {
		t.Errorf("revision moved from %d to %d", rev, got)
	}
	// The decision for such a principal is a reasoned denial, too.
	for _, action := range []string{"viewProject", "updateOn"} {
		d, err := st.Allowed(ctx, Principal{Kind: PrincipalEnvironment, Credential: &cred}, action, "proj/alpha:env/production:flag/f1")
		if err != nil || d.Allowed || d.Reason == "" {
			t.Errorf("Allowed(%s) for an environment credential = %+v, %v", action, d, err)
		}
	}
	if _, err := st.LookupCredential(ctx, env.MobileKey); err != nil {
		t.Errorf("LookupCredential after refusals: %v", err)
	}
}

// TestAuthz_TokenSecretsHidden: after creation (and reset) a token's
// secret is nowhere in full: not in reads, the audit log, or a backup.
func TestAuthz_TokenSecretsHidden(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	ctx := context.Background()
	m := azMember(t, st, "dev@example.com", RoleWriter)
	pers, persCtx := azToken(t, st, m.ID, TokenPost{Name: "personal", Role: RoleWriter})
	svc, _ := azToken(t, st, m.ID, TokenPost{Name: "service", Role: RoleReader, ServiceToken: true})
	reset, err := st.ResetToken(ctx, svc.ID, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFlag(persCtx, "alpha", "f1", func(f *Flag) error { f.Description = "by token"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateToken(ctx, pers.ID, func(t *Token) error { t.Description = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	secrets := []string{pers.Token, svc.Token, reset.Token}
	// The middle of each secret: none of its characters is shown anywhere.
	middles := make([]string, len(secrets))
	for i, s := range secrets {
		if !strings.HasPrefix(s, "api-") || len(s) < 20 {
			t.Fatalf("secret %q", s)
		}
		middles[i] = s[4 : len(s)-4]
	}
	leak := func(where, text string) {
		t.Helper()
		for _, mid := range middles {
			if strings.Contains(text, mid) {
				t.Errorf("%s shows a token secret", where)
			}
		}
	}
	for _, id := range []string{pers.ID, svc.ID} {
		got, err := st.GetToken(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Token) != 4 {
			t.Errorf("GetToken(%s).Token = %q, want 4 characters", id, got.Token)
		}
		leak("GetToken", fxJSON(t, got))
	}
	if got, _ := st.GetToken(ctx, svc.ID); got.Token != reset.Token[len(reset.Token)-4:] {
		t.Errorf("a reset token shows %q, want the new secret's ending", got.Token)
	}
	l, err := st.ListTokens(ctx, TokenListOptions{})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("ListTokens: %+v, %v", l, err)
	}
	leak("ListTokens", fxJSON(t, l))
	var seen int
	for before := int64(0); ; {
		page, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 20, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		leak("ListAuditLog", fxJSON(t, page))
		for _, e := range page {
			d, err := st.GetAuditEntry(ctx, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			leak("GetAuditEntry "+e.Title, fxJSON(t, d))
			seen++
		}
		if len(page) < 20 {
			break
		}
		before = page[len(page)-1].Date
	}
	if seen < 5 {
		t.Errorf("only %d audit entries checked", seen)
	}
	var out bytes.Buffer
	if err := st.Save(ctx, &out); err != nil {
		t.Fatal(err)
	}
	leak("Save", out.String())
	var errs []string
	for _, s := range secrets {
		if _, err := st.Authenticate(ctx, "x"+s); err != nil {
			errs = append(errs, err.Error())
		}
	}
	leak("Authenticate errors", strings.Join(errs, "\n"))
}

// TestAuthz_TokenGrants: who may create tokens of which power, and which
// tokens each principal lists.
func TestAuthz_TokenGrants(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	ctx := context.Background()
	reader := azMember(t, st, "reader@example.com", RoleReader)
	other := azMember(t, st, "other@example.com", RoleWriter)
	admin := azMember(t, st, "admin@example.com", RoleAdmin)
	rctx, actx := azSession(t, st, reader.ID), azSession(t, st, admin.ID)

	_, err := st.CreateToken(rctx, reader.ID, TokenPost{Role: RoleWriter})
	azErr(t, err, ErrForbidden, "reader creates a writer token")
	_, err = st.CreateToken(rctx, reader.ID, TokenPost{Role: RoleAdmin})
	azErr(t, err, ErrForbidden, "reader creates an admin token")
	_, err = st.CreateToken(rctx, other.ID, TokenPost{Role: RoleReader})
	azErr(t, err, ErrForbidden, "reader creates a token for another member")
	own, err := st.CreateToken(rctx, reader.ID, TokenPost{Name: "mine", Role: RoleReader})
	if err != nil {
		t.Fatalf("reader creates a reader token: %v", err)
	}
	if e := azLastEntry(t, st); e.Member == nil || e.Member.ID != reader.ID {
		t.Errorf("token creation recorded as %+v", e.Member)
	}
	// A reader token has no right to manage tokens, itself included.
	p, err := st.Authenticate(ctx, own.Token)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.CreateToken(WithPrincipal(ctx, p), reader.ID, TokenPost{Role: RoleReader})
	azErr(t, err, ErrForbidden, "reader token creates a token")

	// Raising one's own token above oneself, or touching another member's,
	// is refused too.
	_, err = st.UpdateToken(rctx, own.ID, func(tk *Token) error { tk.Role = RoleWriter; return nil })
	azErr(t, err, ErrForbidden, "reader raises its token to writer")
	if _, err := st.UpdateToken(rctx, own.ID, func(tk *Token) error { tk.Description = "still mine"; return nil }); err != nil {
		t.Errorf("reader describes its own token: %v", err)
	}

	// A member whose power comes from custom roles (its base role is then
	// no_access) may create a token with those roles; a member with no
	// access at all may not create one.
	dev := azMember(t, st, "dev@example.com", "", azAllow(azR("proj/*:env/test:flag/*"), "updateOn"))
	if dev.Role != RoleNoAccess {
		t.Fatalf("a member invited with custom roles only has base role %q", dev.Role)
	}
	devTok, err := st.CreateToken(azSession(t, st, dev.ID), dev.ID, TokenPost{Name: "dev's", CustomRoleIDs: dev.CustomRoles})
	if err != nil {
		t.Errorf("custom-role member creates a token with its role: %v", err)
	} else if p, err := st.Authenticate(ctx, devTok.Token); err != nil {
		t.Error(err)
	} else if d, _ := st.Allowed(ctx, p, "updateOn", "proj/alpha:env/test:flag/f1"); !d.Allowed {
		t.Errorf("the custom-role token may not do what its role allows: %s", d.Reason)
	}
	nobody := azMember(t, st, "nobody@example.com", RoleNoAccess)
	_, err = st.CreateToken(azSession(t, st, nobody.ID), nobody.ID, TokenPost{Role: RoleReader})
	azErr(t, err, ErrForbidden, "no_access member creates a reader token")
	_, err = st.CreateToken(azSession(t, st, nobody.ID), nobody.ID, TokenPost{InlineRole: []Statement{azAllow(azR("proj/*"), "viewProject")}})
	azErr(t, err, ErrUnauthorized, "no_access member creates an inline-role token")

	otherTok, err := st.CreateToken(actx, other.ID, TokenPost{Name: "for other", Role: RoleWriter})
	if err != nil {
		t.Fatalf("admin creates a writer token for another member: %v", err)
	}
	adminTok, err := st.CreateToken(actx, admin.ID, TokenPost{Name: "admin's", Role: RoleAdmin})
	if err != nil {
		t.Fatalf("admin creates an admin token: %v", err)
	}
	svc, err := st.CreateToken(actx, admin.ID, TokenPost{Name: "service", Role: RoleWriter, ServiceToken: true})
	if err != nil {
		t.Fatalf("admin creates a service token: %v", err)
	}

	ids := func(l List[Token]) []string {
		var out []string
		for _, tk := range l.Items {
			out = append(out, tk.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	for _, c := range []struct {
		name string
		ctx  context.Context
		o    TokenListOptions
		want []string
	}{
		{"reader", rctx, TokenListOptions{}, sorted(own.ID, svc.ID)},
		{"reader with ShowAll", rctx, TokenListOptions{ShowAll: true}, sorted(own.ID, svc.ID)},
		{"reader, another member's", rctx, TokenListOptions{MemberID: other.ID}, sorted(own.ID, svc.ID)},
		{"reader, personal only", rctx, TokenListOptions{PersonalOnly: true}, sorted(own.ID)},
		{"admin", actx, TokenListOptions{}, sorted(adminTok.ID, svc.ID)},
		{"admin with ShowAll", actx, TokenListOptions{ShowAll: true}, sorted(own.ID, devTok.ID, otherTok.ID, adminTok.ID, svc.ID)},
		{"host", ctx, TokenListOptions{}, sorted(own.ID, devTok.ID, otherTok.ID, adminTok.ID, svc.ID)},
	} {
		l, err := st.ListTokens(c.ctx, c.o)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := ids(l); !slices.Equal(got, c.want) || l.TotalCount != len(c.want) {
			t.Errorf("%s: ListTokens = %v (total %d), want %v", c.name, got, l.TotalCount, c.want)
		}
	}
	if _, err := st.GetToken(rctx, otherTok.ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("reader reads another member's token: %v", err)
	}
	_, err = st.UpdateToken(rctx, otherTok.ID, func(tk *Token) error { tk.Name = "mine now"; return nil })
	azErr(t, err, ErrForbidden, "reader renames another member's token")
	azErr(t, st.DeleteToken(rctx, otherTok.ID), ErrUnauthorized, "reader deletes another member's token")
	for _, id := range []string{own.ID, svc.ID} {
		if _, err := st.GetToken(rctx, id); err != nil {
			t.Errorf("reader reads token %s: %v", id, err)
		}
	}
	if _, err := st.GetToken(actx, otherTok.ID); err != nil {
		t.Errorf("admin reads another member's token: %v", err)
	}
}

// TestAuthz_AuthenticateRequest: access tokens in the Authorization header,
// else a cookie session from the configured Origin.
func TestAuthz_AuthenticateRequest(t *testing.T) {
	t.Parallel()
	st, _ := azEnv(t)
	m := azMember(t, st, "dev@example.com", RoleWriter)
	tok, _ := azToken(t, st, m.ID, TokenPost{Role: RoleReader})
	const origin = "https://flags.example.com"
	sessions := &SessionAuth{Origin: origin, Member: func(r *http.Request) (string, bool) {
		c, err := r.Cookie("session")
		if err != nil || c.Value != "good" {
			return "", false
		}
		return m.ID, true
	}}
	req := func(auth, org string, cookie bool) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/api/v2/projects", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		if org != "" {
			r.Header.Set("Origin", org)
		}
		if cookie {
			r.AddCookie(&http.Cookie{Name: "session", Value: "good"})
		}
		return r
	}
	for _, c := range []struct {
		name     string
		r        *http.Request
		sessions *SessionAuth
		kind     PrincipalKind // "" for a 401
	}{
		{"session from the origin", req("", origin, true), sessions, PrincipalMember},
		{"session from another origin", req("", "https://evil.example.com", true), sessions, ""},
		{"session from a sub-path origin", req("", origin+"/", true), sessions, ""},
		{"session without origin", req("", "", true), sessions, ""},
		{"no session", req("", origin, false), sessions, ""},
		{"sessions disabled", req("", origin, true), nil, ""},
		{"nothing", req("", "", false), nil, ""},
		{"token", req(tok.Token, "", false), nil, PrincipalPersonalToken},
		{"Bearer token", req("Bearer "+tok.Token, "", false), nil, PrincipalPersonalToken},
		{"bearer token", req("bearer "+tok.Token, "", false), nil, PrincipalPersonalToken},
		{"token from any origin", req(tok.Token, "https://evil.example.com", false), sessions, PrincipalPersonalToken},
		{"header wins over the session", req(tok.Token, origin, true), sessions, PrincipalPersonalToken},
		{"bad header does not fall back to the session", req("api-nope", origin, true), sessions, ""},
		{"SDK key", req(tstMustEnv(t, st, "alpha", "test").APIKey, "", false), sessions, ""},
	} {
		p, err := st.AuthenticateRequest(c.r, c.sessions)
		if c.kind == "" {
			azErr(t, err, ErrUnauthorized, c.name)
			continue
		}
		if err != nil || p.Kind != c.kind || p.MemberID != m.ID {
			t.Errorf("%s: %+v, %v; want a %s of %s", c.name, p, err, c.kind, m.ID)
		}
		if c.kind == PrincipalPersonalToken && p.TokenID != tok.ID {
			t.Errorf("%s: token %s, want %s", c.name, p.TokenID, tok.ID)
		}
	}
	// The session principal acts with the member's roles.
	p, err := st.AuthenticateRequest(req("", origin, true), sessions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFlag(WithPrincipal(context.Background(), p), "alpha", "f1", func(f *Flag) error { f.Description = "x"; return nil }); err != nil {
		t.Errorf("session write: %v", err)
	}
	// A reader token through the header cannot write.
	p, err = st.AuthenticateRequest(req(tok.Token, origin, true), sessions)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateFlag(WithPrincipal(context.Background(), p), "alpha", "f1", func(f *Flag) error { f.Description = "y"; return nil })
	azErr(t, err, ErrForbidden, "reader token write")
}
