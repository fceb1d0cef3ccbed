package flagstore

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// mrSemantic builds a semantic patch from instruction objects.
func mrSemantic(t testing.TB, instructions ...string) Patch {
	t.Helper()
	var ins []Instruction
	if err := json.Unmarshal([]byte("["+strings.Join(instructions, ",")+"]"), &ins); err != nil {
		t.Fatalf("instructions: %v", err)
	}
	return Patch{Kind: SemanticPatch, Instructions: ins}
}

// mrTeamOf lists the keys of a member's teams.
func mrTeamOf(t testing.TB, st *Store, id string) []string {
	t.Helper()
	m, err := st.GetMember(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tm := range m.Teams {
		out = append(out, tm.Key)
	}
	return out
}

func TestTeam_Create(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	a := mrInvite(t, st, "a@x.com")
	b := mrInvite(t, st, "b@x.com")
	var tm Team
	mrWrote(t, st, func() (err error) {
		tm, err = st.CreateTeam(t.Context(), TeamPost{Key: "qa", Name: "QA", Description: "d",
			CustomRoleKeys: []string{"ops"}, MemberIDs: []string{a.ID},
			RoleAttributes:   map[string][]string{"projects": {"p"}},
			PermissionGrants: []TeamPermissionGrant{{ActionSet: ActionSetMaintainTeam, MemberIDs: []string{b.ID}}}})
		return err
	}, "team", Access{"createTeam", "team/qa"})
	now := tstEpoch.UnixMilli()
	want := Team{Key: "qa", Name: "QA", Description: "d", CustomRoleKeys: []string{"ops"},
		RoleAttributes: map[string][]string{"projects": {"p"}}, Members: &TeamMemberCount{TotalCount: 1},
		CreationDate: now, LastModified: now, Version: 1}
	if fxJSON(t, tm) != fxJSON(t, want) {
		t.Fatalf("created %s", fxJSON(t, tm))
	}
	if got, err := st.GetTeam(t.Context(), "qa"); err != nil || fxJSON(t, got) != fxJSON(t, want) {
		t.Fatalf("GetTeam %s %v", fxJSON(t, got), err)
	}
	ma, _ := st.GetMember(t.Context(), a.ID)
	if fxJSON(t, ma.Teams) != `[{"key":"qa","name":"QA","customRoleKeys":["ops"]}]` || ma.PermissionGrants != nil {
		t.Errorf("member a: %s", fxJSON(t, ma))
	}
	mb, _ := st.GetMember(t.Context(), b.ID)
	if mb.Teams != nil || fxJSON(t, mb.PermissionGrants) != `[{"resource":"team/qa","actionSet":"maintainTeam"}]` {
		t.Errorf("member b: %s", fxJSON(t, mb))
	}
	if cr, _ := st.GetCustomRole(t.Context(), "ops"); cr.AssignedTo.TeamsCount != 1 {
		t.Errorf("role %+v", cr.AssignedTo)
	}
	// The result is a copy.
	tm.CustomRoleKeys[0] = "x"
	tm.Members.TotalCount = 7
	if got, _ := st.GetTeam(t.Context(), "qa"); fxJSON(t, got) != fxJSON(t, want) {
		t.Error("mutating the result changed the store")
	}
}

func TestTeam_CreateInvalid(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	m := mrInvite(t, st, "a@x.com")
	mrTeam(t, st, "taken")
	tests := []struct {
		name string
		p    TeamPost
		attr string
	}{
		{"bad key", TeamPost{Key: "-x", Name: "N"}, "key"},
		{"no name", TeamPost{Key: "k"}, "name"},
		{"unknown role", TeamPost{Key: "k", Name: "N", CustomRoleKeys: []string{"nope"}}, "customRoleKeys"},
		{"role twice", TeamPost{Key: "k", Name: "N", CustomRoleKeys: []string{"ops", "ops"}}, "customRoleKeys"},
		{"unknown member", TeamPost{Key: "k", Name: "N", MemberIDs: []string{m.ID, "nope"}}, "memberIDs"},
		{"member twice", TeamPost{Key: "k", Name: "N", MemberIDs: []string{m.ID, m.ID}}, "memberIDs"},
		{"bad attributes", TeamPost{Key: "k", Name: "N", RoleAttributes: map[string][]string{"p": {"a/b"}}}, "roleAttributes"},
		{"grant with both", TeamPost{Key: "k", Name: "N", PermissionGrants: []TeamPermissionGrant{
			{ActionSet: ActionSetMaintainTeam, Actions: []string{"updateTeamName"}, MemberIDs: []string{m.ID}}}}, "permissionGrants[0]"},
		{"grant with neither", TeamPost{Key: "k", Name: "N", PermissionGrants: []TeamPermissionGrant{{MemberIDs: []string{m.ID}}}}, "permissionGrants[0]"},
		{"unknown action set", TeamPost{Key: "k", Name: "N", PermissionGrants: []TeamPermissionGrant{
			{ActionSet: "rule", MemberIDs: []string{m.ID}}}}, "permissionGrants[0]"},
		{"bad action", TeamPost{Key: "k", Name: "N", PermissionGrants: []TeamPermissionGrant{
			{Actions: []string{"update team"}, MemberIDs: []string{m.ID}}}}, "permissionGrants[0]"},
		{"grant to an unknown member", TeamPost{Key: "k", Name: "N", PermissionGrants: []TeamPermissionGrant{
			{Actions: []string{"updateTeamName"}, MemberIDs: []string{"nope"}}}}, "permissionGrants[0].memberIDs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tstInvalid(t, mrUnchanged(t, st, func() error { _, err := st.CreateTeam(t.Context(), tt.p); return err }), tt.attr)
		})
	}
	tstExists(t, mrUnchanged(t, st, func() error {
		_, err := st.CreateTeam(t.Context(), TeamPost{Key: "taken", Name: "N"})
		return err
	}))
}

func TestTeam_GetListMembers(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	a := mrInvite(t, st, "a@x.com", func(i *MemberInvite) { i.FirstName = "Zoe" })
	b := mrInvite(t, st, "b@x.com")
	for _, k := range []string{"web", "api", "qa"} {
		clock.Advance(1e9)
		mrTeam(t, st, k, a.ID, b.ID)
	}
	l, err := st.ListTeams(t.Context(), ListOptions{Limit: 2})
	if err != nil || l.TotalCount != 3 || len(l.Items) != 2 || l.Items[0].Key != "web" || l.Items[1].Members.TotalCount != 2 {
		t.Fatalf("ListTeams %+v %v", l, err)
	}
	if l, _ = st.ListTeams(t.Context(), ListOptions{Sort: "key", Query: "A"}); len(l.Items) != 3 || l.Items[0].Key != "api" {
		t.Fatalf("query and sort %+v", l)
	}
	ml, err := st.TeamMembers(t.Context(), "qa", ListOptions{Sort: "displayName"})
	if err != nil || ml.TotalCount != 2 || !slices.Equal(mrIDs(ml.Items), []string{b.ID, a.ID}) {
		t.Fatalf("TeamMembers %+v %v", ml, err)
	}
	if ml, _ = st.TeamMembers(t.Context(), "qa", ListOptions{Query: "zoe"}); ml.TotalCount != 1 || ml.Items[0].ID != a.ID {
		t.Fatalf("TeamMembers query %+v", ml)
	}
	_, err = st.TeamMembers(t.Context(), "nope", ListOptions{})
	tstNotFound(t, err)
	_, err = st.TeamMembers(t.Context(), "qa", ListOptions{Tag: "x"})
	tstInvalid(t, err, "tag")
	for _, k := range []string{"nope", "", "a/b"} {
		_, err := st.GetTeam(t.Context(), k)
		tstNotFound(t, err)
	}
}

func TestTeam_Patch(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	mrRole(t, st, "dev")
	a := mrInvite(t, st, "a@x.com")
	b := mrInvite(t, st, "b@x.com")
	c := mrInvite(t, st, "c@x.com")
	tests := []struct {
		name     string
		setup    TeamPost
		ins      []string
		accesses []string
		check    func(t *testing.T, tm Team)
	}{
		{"updateName", TeamPost{}, []string{`{"kind":"updateName","value":"New"}`}, []string{"updateTeamName"},
			func(t *testing.T, tm Team) {
				if tm.Name != "New" {
					t.Error(tm.Name)
				}
			}},
		{"updateDescription", TeamPost{}, []string{`{"kind":"updateDescription","value":"D"}`}, []string{"updateTeamDescription"},
			func(t *testing.T, tm Team) {
				if tm.Description != "D" {
					t.Error(tm.Description)
				}
			}},
		{"addMembers", TeamPost{MemberIDs: []string{a.ID}}, []string{`{"kind":"addMembers","values":["` + a.ID + `","` + b.ID + `"]}`},
			[]string{"updateTeamMembers"}, func(t *testing.T, tm Team) {
				if tm.Members.TotalCount != 2 || !slices.Contains(mrTeamOf(t, st, b.ID), tm.Key) {
					t.Errorf("%+v", tm.Members)
				}
			}},
		{"removeMembers", TeamPost{MemberIDs: []string{a.ID, b.ID}}, []string{`{"kind":"removeMembers","values":["` + a.ID + `","` + c.ID + `"]}`},
			[]string{"updateTeamMembers"}, func(t *testing.T, tm Team) {
				if tm.Members.TotalCount != 1 || slices.Contains(mrTeamOf(t, st, a.ID), tm.Key) {
					t.Errorf("%+v", tm.Members)
				}
			}},
		{"replaceMembers same count", TeamPost{MemberIDs: []string{a.ID, b.ID}}, []string{`{"kind":"replaceMembers","values":["` + b.ID + `","` + c.ID + `"]}`},
			[]string{"updateTeamMembers"}, func(t *testing.T, tm Team) {
				ml, _ := st.TeamMembers(t.Context(), tm.Key, ListOptions{})
				if tm.Members.TotalCount != 2 || !slices.Equal(mrIDs(ml.Items), []string{b.ID, c.ID}) {
					t.Errorf("%+v", ml)
				}
			}},
		{"custom roles", TeamPost{CustomRoleKeys: []string{"ops"}},
			[]string{`{"kind":"addCustomRoles","values":["dev","ops"]}`, `{"kind":"removeCustomRoles","values":["ops","gone"]}`},
			[]string{"updateTeamCustomRoles"}, func(t *testing.T, tm Team) {
				if !slices.Equal(tm.CustomRoleKeys, []string{"dev"}) {
					t.Error(tm.CustomRoleKeys)
				}
				if ops, _ := st.GetCustomRole(t.Context(), "ops"); ops.AssignedTo.TeamsCount != 0 {
					t.Error("ops still assigned")
				}
			}},
		{"grants", TeamPost{}, []string{
			`{"kind":"addPermissionGrants","actions":["updateTeamName","updateTeamDescription"],"memberIDs":["` + a.ID + `","` + b.ID + `"]}`,
			`{"kind":"addPermissionGrants","actionSet":"maintainTeam","memberIDs":["` + a.ID + `"]}`,
			`{"kind":"removePermissionGrants","actions":["updateTeamDescription","updateTeamName"],"memberIDs":["` + b.ID + `","` + c.ID + `"]}`},
			[]string{"updateTeamPermissionGrants"}, func(t *testing.T, tm Team) {
				ma, _ := st.GetMember(t.Context(), a.ID)
				want := `[{"resource":"team/` + tm.Key + `","actions":["updateTeamDescription","updateTeamName"]},{"resource":"team/` + tm.Key + `","actionSet":"maintainTeam"}]`
				if fxJSON(t, ma.PermissionGrants) != want {
					t.Errorf("member a %s", fxJSON(t, ma))
				}
				if mb, _ := st.GetMember(t.Context(), b.ID); mb.PermissionGrants != nil {
					t.Errorf("member b %s", fxJSON(t, mb.PermissionGrants))
				}
			}},
		{"role attributes", TeamPost{RoleAttributes: map[string][]string{"gone": {"x"}, "keep": {"k"}}}, []string{
			`{"kind":"addRoleAttribute","key":"projects","values":["a"]}`,
			`{"kind":"addRoleAttribute","key":"projects","values":["b","a"]}`,
			`{"kind":"updateRoleAttribute","key":"envs","values":["e"]}`,
			`{"kind":"updateRoleAttribute","key":"keep","values":["k2"]}`,
			`{"kind":"removeRoleAttribute","key":"gone"}`,
			`{"kind":"removeRoleAttribute","key":"never"}`},
			[]string{"updateTeamRoleAttributes"}, func(t *testing.T, tm Team) {
				if fxJSON(t, tm.RoleAttributes) != `{"envs":["e"],"keep":["k2"],"projects":["a","b"]}` {
					t.Error(fxJSON(t, tm.RoleAttributes))
				}
			}},
		{"replaceRoleAttributes", TeamPost{RoleAttributes: map[string][]string{"gone": {"x"}}},
			[]string{`{"kind":"replaceRoleAttributes","value":{"p":["1","2"]}}`}, []string{"updateTeamRoleAttributes"},
			func(t *testing.T, tm Team) {
				if fxJSON(t, tm.RoleAttributes) != `{"p":["1","2"]}` {
					t.Error(fxJSON(t, tm.RoleAttributes))
				}
			}},
		{"several", TeamPost{}, []string{`{"kind":"updateName","value":"N2"}`, `{"kind":"addMembers","values":["` + c.ID + `"]}`},
			[]string{"updateTeamName", "updateTeamMembers"}, func(t *testing.T, tm Team) {
				if tm.Name != "N2" || tm.Members.TotalCount != 1 {
					t.Errorf("%+v", tm)
				}
			}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.setup
			p.Key, p.Name = "t"+string(rune('a'+i)), "T"
			if _, err := st.CreateTeam(t.Context(), p); err != nil {
				t.Fatal(err)
			}
			var accesses []Access
			for _, a := range tt.accesses {
				accesses = append(accesses, Access{a, "team/" + p.Key})
			}
			var tm Team
			mrWrote(t, st, func() (err error) {
				tm, err = st.PatchTeam(t.Context(), p.Key, mrSemantic(t, tt.ins...))
				return err
			}, "team", accesses...)
			if tm.Version != 2 {
				t.Errorf("_version %d, want 2", tm.Version)
			}
			if got, _ := st.GetTeam(t.Context(), p.Key); fxJSON(t, got) != fxJSON(t, tm) {
				t.Errorf("stored %s, returned %s", fxJSON(t, got), fxJSON(t, tm))
			}
			tt.check(t, tm)
			// The same patch again is in effect already: nothing changes.
			mrNoop(t, st, func() error { _, err := st.PatchTeam(t.Context(), p.Key, mrSemantic(t, tt.ins...)); return err })
		})
	}
}

func TestTeam_PatchInvalid(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	m := mrInvite(t, st, "a@x.com")
	mrTeam(t, st, "qa", m.ID)
	tests := []struct {
		name string
		ins  []string
		attr string
	}{
		{"unknown kind", []string{`{"kind":"updateName","value":"ok"}`, `{"kind":"renameTeam","value":"x"}`}, "instructions[1].kind"},
		{"missing value", []string{`{"kind":"updateName"}`}, "instructions[0]"},
		{"null value", []string{`{"kind":"updateName","value":null}`}, "instructions[0]"},
		{"wrong type", []string{`{"kind":"updateName","value":5}`}, "instructions[0]"},
		{"wrong values type", []string{`{"kind":"addMembers","values":"x"}`}, "instructions[0]"},
		{"empty name", []string{`{"kind":"updateName","value":" "}`}, "instructions[0]"},
		{"unknown member, after a valid change", []string{`{"kind":"updateName","value":"ok"}`, `{"kind":"addMembers","values":["nope"]}`}, "instructions[1]"},
		{"replace with unknown member", []string{`{"kind":"replaceMembers","values":["nope"]}`}, "instructions[0]"},
		{"unknown role", []string{`{"kind":"addCustomRoles","values":["nope"]}`}, "instructions[0]"},
		{"grant without actions", []string{`{"kind":"addPermissionGrants","memberIDs":["` + m.ID + `"]}`}, "instructions[0]"},
		{"grant to unknown member", []string{`{"kind":"addPermissionGrants","actionSet":"maintainTeam","memberIDs":["nope"]}`}, "instructions[0]"},
		{"bad attribute value", []string{`{"kind":"addRoleAttribute","key":"p","values":["a b"]}`}, "instructions[0]"},
		{"empty attribute", []string{`{"kind":"updateRoleAttribute","key":"p","values":[]}`}, "instructions[0]"},
		{"bad attribute name", []string{`{"kind":"updateRoleAttribute","key":"a b","values":["x"]}`}, "instructions[0]"},
		{"bad attribute map", []string{`{"kind":"replaceRoleAttributes","value":{"p":"x"}}`}, "instructions[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mrUnchanged(t, st, func() error { _, err := st.PatchTeam(t.Context(), "qa", mrSemantic(t, tt.ins...)); return err })
			tstInvalid(t, err, tt.attr)
		})
	}
	for _, p := range []Patch{mrJSONPatch(`[{"op":"replace","path":"/name","value":"x"}]`), {Kind: SemanticPatch}} {
		tstInvalid(t, mrUnchanged(t, st, func() error { _, err := st.PatchTeam(t.Context(), "qa", p); return err }), "")
	}
	_, err := st.PatchTeam(t.Context(), "nope", mrSemantic(t, `{"kind":"updateName","value":"x"}`))
	tstNotFound(t, err)
	// A dry run returns the result and stores nothing.
	rev := tstRevision(t, st)
	p := mrSemantic(t, `{"kind":"updateName","value":"Dry"}`, `{"kind":"removeMembers","values":["`+m.ID+`"]}`)
	p.DryRun = true
	tm, err := st.PatchTeam(t.Context(), "qa", p)
	if err != nil || tm.Name != "Dry" || tm.Members.TotalCount != 0 || tstRevision(t, st) != rev {
		t.Fatalf("dry run %+v %v", tm, err)
	}
	if a, ok := teamInstructionAction("addPermissionGrants"); !ok || a != "updateTeamPermissionGrants" {
		t.Errorf("action %q %v", a, ok)
	}
	if _, ok := teamInstructionAction("bogus"); ok {
		t.Error("bogus kind has an action")
	}
}

func TestTeam_Delete(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	a := mrInvite(t, st, "a@x.com")
	b := mrInvite(t, st, "b@x.com")
	if _, err := st.CreateTeam(t.Context(), TeamPost{Key: "qa", Name: "QA", CustomRoleKeys: []string{"ops"}, MemberIDs: []string{a.ID},
		PermissionGrants: []TeamPermissionGrant{{Actions: []string{"updateTeamName"}, MemberIDs: []string{a.ID, b.ID}}}}); err != nil {
		t.Fatal(err)
	}
	mrTeam(t, st, "web", a.ID)
	if _, err := st.PatchTeam(t.Context(), "web", mrSemantic(t, `{"kind":"addPermissionGrants","actionSet":"maintainTeam","memberIDs":["`+a.ID+`"]}`)); err != nil {
		t.Fatal(err)
	}
	mrWrote(t, st, func() error { return st.DeleteTeam(t.Context(), "qa") }, "team", Access{"deleteTeam", "team/qa"})
	_, err := st.GetTeam(t.Context(), "qa")
	tstNotFound(t, err)
	ma, _ := st.GetMember(t.Context(), a.ID)
	if !slices.Equal(mrTeamOf(t, st, a.ID), []string{"web"}) || fxJSON(t, ma.PermissionGrants) != `[{"resource":"team/web","actionSet":"maintainTeam"}]` {
		t.Errorf("member a %s", fxJSON(t, ma))
	}
	if mb, _ := st.GetMember(t.Context(), b.ID); mb.PermissionGrants != nil {
		t.Errorf("member b %s", fxJSON(t, mb))
	}
	if l, _ := st.ListMembers(t.Context(), ListOptions{}, MemberFilter{Team: "qa"}); l.TotalCount != 0 {
		t.Errorf("members of the deleted team: %+v", l)
	}
	for _, prefix := range []string{"tm/qa/", "tg/qa/", "t/qa", "ru/"} {
		if keys := tstRawKeys(t, st, prefix); len(keys) != 0 {
			t.Errorf("keys left: %q", keys)
		}
	}
	if err := st.DeleteCustomRole(t.Context(), "ops"); err != nil {
		t.Errorf("the role is still in use: %v", err)
	}
	tstNotFound(t, st.DeleteTeam(t.Context(), "qa"))
	mrTeam(t, st, "qa") // the key is free again
}
