package flagstore

import (
	"net/http"
	"testing"
)

func init() {
	mxDefaultKeys["teamKey"] = "mx-team"
	for _, op := range []string{"postTeam", "patchTeam", "deleteTeam"} {
		mxWriterDenied[op] = true
	}
	mxNoCheapStatus["getTeam"] = map[int]string{403: "any authenticated caller may view a team"}
	mxNoCheapStatus["getTeamMaintainers"] = map[int]string{403: "any authenticated caller may view a team"}
	mxNoCheapStatus["getTeamRoles"] = map[int]string{403: "any authenticated caller may view a team"}
	mxNoCheapStatus["patchTeam"] = map[int]string{409: "semantic patches of a team do not conflict"}
	mxBadRequests["getTeam"] = htReq{Method: http.MethodGet, Path: "/api/v2/teams/mx-team?expand=bogus"}
	mxBadRequests["getTeamMaintainers"] = htReq{Method: http.MethodGet, Path: "/api/v2/teams/mx-team/maintainers?limit=bogus"}
	mxBadRequests["getTeamRoles"] = htReq{Method: http.MethodGet, Path: "/api/v2/teams/mx-team/roles?limit=bogus"}

	mxBuilders["getTeams"] = mxGet("/api/v2/teams")
	mxBuilders["postTeam"] = func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxnt")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/teams", Body: map[string]any{"key": k, "name": k}},
			grants: []mxGrant{{"createTeam", teamSpec(k)}}}
	}
	mxBuilders["getTeam"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/teams/" + mxTeam(t, f) + "?expand=members,roles,maintainers"}}
	}
	mxBuilders["patchTeam"] = func(t *testing.T, f *mxFixture) mxCase {
		k := mxTeam(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/teams/" + k, ContentType: hxSemantic,
			Body: map[string]any{"instructions": []map[string]any{{"kind": "updateName", "value": "Renamed"}}}},
			grants: []mxGrant{{"updateTeamName", teamSpec(k)}}}
	}
	mxBuilders["deleteTeam"] = func(t *testing.T, f *mxFixture) mxCase {
		k := mxTeam(t, f)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/teams/" + k},
			grants: []mxGrant{{"deleteTeam", teamSpec(k)}}}
	}
	mxBuilders["getTeamMaintainers"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/teams/" + mxTeam(t, f) + "/maintainers"}}
	}
	mxBuilders["getTeamRoles"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/teams/" + mxTeam(t, f) + "/roles"}}
	}
}

// mxTeam creates a fresh team and returns its key.
func mxTeam(t *testing.T, f *mxFixture) string {
	t.Helper()
	k := f.key("mxt")
	if _, err := f.e.st.CreateTeam(t.Context(), TeamPost{Key: k, Name: k}); err != nil {
		t.Fatal(err)
	}
	return k
}

// htTeam is a team as the API shows it.
type htTeam struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Members     *struct {
		TotalCount int `json:"totalCount"`
	} `json:"members"`
	Roles *struct {
		TotalCount int `json:"totalCount"`
		Items      []struct {
			Key string `json:"key"`
		} `json:"items"`
	} `json:"roles"`
	Maintainers *struct {
		TotalCount int `json:"totalCount"`
		Items      []struct {
			ID string `json:"_id"`
		} `json:"items"`
	} `json:"maintainers"`
	Links Links `json:"_links"`
}

func TestHTTP_Teams(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	ms, err := e.st.InviteMembers(ctx, []MemberInvite{{Email: "ann@example.com"}, {Email: "bob@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateCustomRole(ctx, CustomRolePost{Key: "qa-role", Name: "QA role",
		Policy: []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/*"}}}}); err != nil {
		t.Fatal(err)
	}
	var team htTeam
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/teams?expand=members", Body: map[string]any{
		"key": "qa", "name": "QA", "description": "Testers", "customRoleKeys": []string{"qa-role"},
		"memberIDs":        []string{ms[0].ID, ms[1].ID},
		"permissionGrants": []map[string]any{{"actionSet": "maintainTeam", "memberIDs": []string{ms[0].ID}}},
	}}, http.StatusCreated, &team)
	if team.Key != "qa" || team.Members == nil || team.Members.TotalCount != 2 || team.Links["self"].Href != "/api/v2/teams/qa" {
		t.Fatalf("created %+v", team)
	}
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/teams", Body: map[string]any{"key": "ops", "name": "Ops"}}, http.StatusCreated, nil)

	var list struct {
		Items      []htTeam `json:"items"`
		TotalCount int      `json:"totalCount"`
		Links      Links    `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams?limit=1"}, http.StatusOK, &list)
	if list.TotalCount != 2 || len(list.Items) != 1 || list.Links["next"].Href == "" {
		t.Fatalf("list %+v", list)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams?filter=query:op"}, http.StatusOK, &list)
	if list.TotalCount != 1 || list.Items[0].Key != "ops" {
		t.Fatalf("query %+v", list)
	}

	team = htTeam{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams/qa"}, http.StatusOK, &team)
	if team.Members != nil || team.Roles != nil || team.Maintainers != nil {
		t.Fatalf("unexpanded %+v", team)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams/qa?expand=roles,maintainers,members"}, http.StatusOK, &team)
	if team.Roles == nil || team.Roles.TotalCount != 1 || team.Roles.Items[0].Key != "qa-role" ||
		team.Maintainers == nil || team.Maintainers.TotalCount != 1 || team.Maintainers.Items[0].ID != ms[0].ID {
		t.Fatalf("expanded %+v", team)
	}
	var roles, maint struct {
		TotalCount int   `json:"totalCount"`
		Links      Links `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams/qa/roles"}, http.StatusOK, &roles)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams/qa/maintainers"}, http.StatusOK, &maint)
	if roles.TotalCount != 1 || maint.TotalCount != 1 || roles.Links["self"].Href == "" {
		t.Fatalf("roles %+v maintainers %+v", roles, maint)
	}

	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/teams/qa?expand=members", ContentType: hxSemantic, Body: map[string]any{
		"instructions": []map[string]any{{"kind": "updateDescription", "value": "QA"}, {"kind": "removeMembers", "values": []string{ms[1].ID}}}}},
		http.StatusOK, &team)
	if team.Description != "QA" || team.Members.TotalCount != 1 {
		t.Fatalf("patched %+v", team)
	}

	resp, body := e.do(htReq{Method: http.MethodDelete, Path: "/api/v2/teams/ops"})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams/ops"}, http.StatusNotFound, CodeNotFound)
}

func TestHTTP_TeamErrors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	ms, err := e.st.InviteMembers(ctx, []MemberInvite{{Email: "reader@example.com"}, {Email: "writer@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := e.st.CreateToken(ctx, ms[0].ID, TokenPost{Name: "r", Role: RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := e.st.CreateToken(ctx, ms[1].ID, TokenPost{Name: "w", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateTeam(ctx, TeamPost{Key: "qa", Name: "QA"}); err != nil {
		t.Fatal(err)
	}
	same := func() {
		t.Helper()
		l, err := e.st.ListTeams(ctx, ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tm, err := e.st.GetTeam(ctx, "qa")
		if err != nil {
			t.Fatal(err)
		}
		if l.TotalCount != 1 || tm.Name != "QA" || tm.Version != 1 {
			t.Fatalf("teams changed: %+v %+v", l, tm)
		}
	}
	semantic := func(ins ...map[string]any) map[string]any { return map[string]any{"instructions": ins} }

	// 400s change nothing.
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/teams", Body: map[string]any{"key": "no name"}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/teams", Body: map[string]any{"key": "x", "name": "X", "memberIDs": []string{"nobody"}}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/teams?expand=projects", Body: map[string]any{"key": "y", "name": "Y"}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/teams/qa", Body: mxJSONPatch("/name", "JSON")}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/teams/qa", ContentType: hxSemantic,
		Body: semantic(map[string]any{"kind": "updateName", "value": "New"}, map[string]any{"kind": "bogus"})}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams?limit=101"}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams?filter=nomembers:true"}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams/qa?expand=projects"}, http.StatusBadRequest, CodeInvalidRequest)
	same()

	// 401, 403 (readers and writers do not manage teams), 404, 409, 415.
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	for _, tok := range []string{rt.Token, wt.Token} {
		e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/teams", Auth: tok, Body: map[string]any{"key": "z", "name": "Z"}}, http.StatusForbidden, CodeForbidden)
		e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/teams/qa", Auth: tok, ContentType: hxSemantic,
			Body: semantic(map[string]any{"kind": "updateName", "value": "New"})}, http.StatusForbidden, CodeForbidden)
		e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/teams/qa", Auth: tok}, http.StatusForbidden, CodeForbidden)
		e.json(htReq{Method: http.MethodGet, Path: "/api/v2/teams/qa", Auth: tok}, http.StatusOK, nil)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams/nope"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams/nope/roles"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/teams/nope/maintainers"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/teams/nope"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/teams/nope", ContentType: hxSemantic,
		Body: semantic(map[string]any{"kind": "updateName", "value": "New"})}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/teams", Body: map[string]any{"key": "qa", "name": "Again"}}, http.StatusConflict, CodeConflict)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/teams", ContentType: "text/plain", Body: "x"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
	same()
}
