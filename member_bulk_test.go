package flagstore

import (
	"encoding/json"
	"slices"
	"testing"
)

// tstSemantic builds a semantic patch from instruction objects.
func tstSemantic(t *testing.T, ins ...map[string]any) Patch {
	t.Helper()
	b, err := json.Marshal(ins)
	if err != nil {
		t.Fatal(err)
	}
	p := Patch{Kind: SemanticPatch}
	if err := json.Unmarshal(b, &p.Instructions); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPatchMembers(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: "a@example.com"}, {Email: "b@example.com"}, {Email: "c@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := ms[0].ID, ms[1].ID, ms[2].ID
	owner, err := st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateCustomRole(ctx, CustomRolePost{Key: "ops", Name: "Ops", Policy: []Statement{mxAllowAll}}); err != nil {
		t.Fatal(err)
	}

	res, err := st.PatchMembers(ctx, tstSemantic(t,
		map[string]any{"kind": "replaceMembersRoles", "value": "writer", "memberIDs": []string{a, owner.ID, "nope"}},
		map[string]any{"kind": "replaceMembersCustomRoles", "values": []string{"ops"}, "memberIDs": []string{b}},
		map[string]any{"kind": "replaceMembersRoleAttributes", "value": map[string][]string{"env": {"prod"}}, "memberIDs": []string{b}},
	))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Members, []string{a, b}) || len(res.Errors) != 2 || res.Errors[0][owner.ID] == "" || res.Errors[1]["nope"] == "" {
		t.Fatalf("result %+v", res)
	}
	if m, _ := st.GetMember(ctx, a); m.Role != RoleWriter {
		t.Errorf("a's role %q", m.Role)
	}
	if m, _ := st.GetMember(ctx, b); len(m.CustomRoles) != 1 || !slices.Equal(m.RoleAttributes["env"], []string{"prod"}) {
		t.Errorf("b %+v", m)
	}

	// replaceAll with filters: writers only, c ignored.
	res, err = st.PatchMembers(ctx, tstSemantic(t, map[string]any{"kind": "replaceAllMembersRoles", "value": "admin",
		"filterRoles": []string{"writer"}, "ignoredMemberIDs": []string{c}}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Members, []string{a}) || len(res.Errors) != 0 {
		t.Fatalf("replaceAll result %+v", res)
	}
	res, err = st.PatchMembers(ctx, tstSemantic(t, map[string]any{"kind": "replaceAllMembersCustomRoles", "values": []string{},
		"filterQuery": "b@example", "filterLastSeen": map[string]any{"never": true}}))
	if err != nil || !slices.Equal(res.Members, []string{b}) {
		t.Fatalf("replaceAll custom roles %+v %v", res, err)
	}
	if m, _ := st.GetMember(ctx, b); len(m.CustomRoles) != 0 {
		t.Errorf("b's custom roles %v", m.CustomRoles)
	}

	// Malformed instructions are a 400 and change nothing.
	for _, ins := range []map[string]any{
		{"kind": "bogus"},
		{"kind": "replaceMembersRoles", "memberIDs": []string{a}},
		{"kind": "replaceMembersRoles", "value": "owner", "memberIDs": []string{a}},
		{"kind": "replaceMembersRoles", "value": 3, "memberIDs": []string{a}},
		{"kind": "replaceMembersCustomRoles", "values": "x", "memberIDs": []string{a}},
		{"kind": "replaceMembersRoles", "value": "reader", "memberIDs": []string{a, a}},
	} {
		if _, err := st.PatchMembers(ctx, tstSemantic(t, ins)); err == nil {
			t.Errorf("%v: no error", ins)
		} else {
			tstErr(t, err, ErrInvalid, 400, CodeInvalidRequest)
		}
	}
	if _, err := st.PatchMembers(ctx, Patch{Kind: JSONPatch, Ops: json.RawMessage(`[]`)}); err == nil {
		t.Error("JSON Patch accepted")
	}
	if m, _ := st.GetMember(ctx, a); m.Role != RoleAdmin {
		t.Errorf("a's role %q after refused patches", m.Role)
	}
}

func TestPatchTeams(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: "a@example.com"}, {Email: "b@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := ms[0].ID, ms[1].ID
	for _, k := range []string{"t1", "t2"} {
		if _, err := st.CreateTeam(ctx, TeamPost{Key: k, Name: k}); err != nil {
			t.Fatal(err)
		}
	}
	res, err := st.PatchTeams(ctx, tstSemantic(t,
		map[string]any{"kind": "addMembersToTeams", "memberIDs": []string{a}, "teamKeys": []string{"t1", "missing"}}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.TeamKeys, []string{"t1"}) || !slices.Equal(res.MemberIDs, []string{a}) || len(res.Errors) != 1 || res.Errors[0]["missing"] == "" {
		t.Fatalf("result %+v", res)
	}
	res, err = st.PatchTeams(ctx, tstSemantic(t,
		map[string]any{"kind": "addAllMembersToTeams", "teamKeys": []string{"t2"}, "filterRoles": []string{"writer"}}))
	if err != nil || !slices.Equal(res.TeamKeys, []string{"t2"}) || !slices.Equal(res.MemberIDs, []string{b}) {
		t.Fatalf("addAll %+v %v", res, err)
	}
	for k, want := range map[string]int{"t1": 1, "t2": 1} {
		tm, err := st.GetTeam(ctx, k)
		if err != nil || tm.Members == nil || tm.Members.TotalCount != want {
			t.Errorf("team %s: %+v %v", k, tm.Members, err)
		}
	}
	for _, ins := range []map[string]any{
		{"kind": "bogus"},
		{"kind": "addMembersToTeams", "memberIDs": []string{a}},
		{"kind": "addMembersToTeams", "memberIDs": []string{"nope"}, "teamKeys": []string{"t1"}},
		{"kind": "addMembersToTeams", "memberIDs": []string{a}, "teamKeys": []string{}},
		{"kind": "addAllMembersToTeams", "teamKeys": "t1"},
	} {
		if _, err := st.PatchTeams(ctx, tstSemantic(t, ins)); err == nil {
			t.Errorf("%v: no error", ins)
		} else {
			tstErr(t, err, ErrInvalid, 400, CodeInvalidRequest)
		}
	}
}

func TestImportTeamMembers(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	if _, err := st.InviteMembers(ctx, []MemberInvite{{Email: "a@example.com"}, {Email: "b@example.com"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateTeam(ctx, TeamPost{Key: "t1", Name: "T1"}); err != nil {
		t.Fatal(err)
	}
	items, ok, err := st.ImportTeamMembers(ctx, "t1", []MemberImportRow{{1, "a@example.com"}, {2, "x@example.com"}})
	if err != nil || ok || len(items) != 2 || items[0].Status != "success" || items[1].Status != "error" || items[1].Message == "" {
		t.Fatalf("partial: %+v %v %v", items, ok, err)
	}
	if tm, _ := st.GetTeam(ctx, "t1"); tm.Members.TotalCount != 0 {
		t.Errorf("members added on a partial import: %d", tm.Members.TotalCount)
	}
	items, ok, err = st.ImportTeamMembers(ctx, "t1", []MemberImportRow{{1, "a@example.com"}, {2, "B@example.com"}})
	if err != nil || !ok || len(items) != 2 {
		t.Fatalf("full: %+v %v %v", items, ok, err)
	}
	if tm, _ := st.GetTeam(ctx, "t1"); tm.Members.TotalCount != 2 {
		t.Errorf("members after import: %d", tm.Members.TotalCount)
	}
	_, _, err = st.ImportTeamMembers(ctx, "nope", []MemberImportRow{{1, "a@example.com"}})
	tstNotFound(t, err)
	_, _, err = st.ImportTeamMembers(ctx, "t1", nil)
	tstErr(t, err, ErrInvalid, 400, CodeInvalidRequest)
}
