package flagstore

import (
	"encoding/json"
	"net/http"
	"testing"
)

func init() {
	mxDefaultKeys["id"] = "mx-member"
	for _, op := range []string{"postMembers", "patchMember", "deleteMember", "postMemberTeams"} {
		mxWriterDenied[op] = true
	}
	mxNoCheapStatus["getMembers"] = map[int]string{
		403: "any authenticated caller may list members",
		404: "a list has no key to get wrong",
	}
	mxNoCheapStatus["getMember"] = map[int]string{403: "any authenticated caller may view a member"}
	mxNoCheapStatus["postMembers"] = map[int]string{409: "a taken address is LaunchDarkly's 400 email_already_exists_in_account"}
	mxNoCheapStatus["patchMember"] = map[int]string{409: "a failed JSON Patch test; provoked in TestHTTP_MemberErrors"}
	mxNoCheapStatus["deleteMember"] = map[int]string{409: "the owner; provoked in TestHTTP_MemberErrors"}
	mxNoCheapStatus["postMemberTeams"] = map[int]string{409: "nothing conflicts: teams the member is in are skipped"}

	mxBuilders["getMembers"] = mxGet("/api/v2/members")
	mxBuilders["postMembers"] = func(t *testing.T, f *mxFixture) mxCase {
		email := f.key("mx-invite") + "@example.com"
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/members", Body: []map[string]any{{"email": email, "role": "reader"}}},
			grants: []mxGrant{{"createMember", "member/*"}}}
	}
	mxBuilders["getMember"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/members/" + f.ownerID}}
	}
	mxBuilders["patchMember"] = func(t *testing.T, f *mxFixture) mxCase {
		id := mxMember(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/members/" + id, Body: mxJSONPatch("/role", "writer")},
			grants: []mxGrant{{"updateRole", memberSpec(id)}}}
	}
	mxBuilders["deleteMember"] = func(t *testing.T, f *mxFixture) mxCase {
		id := mxMember(t, f)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/members/" + id},
			grants: []mxGrant{{"deleteMember", memberSpec(id)}}}
	}
	mxBuilders["postMemberTeams"] = func(t *testing.T, f *mxFixture) mxCase {
		id := mxMember(t, f)
		team := mxTeam(t, f)
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/members/" + id + "/teams", Body: map[string]any{"teamKeys": []string{team}}},
			grants: []mxGrant{{"updateTeamMembers", teamSpec(team)}}}
	}
}

// mxMember invites a fresh reader and returns its _id.
func mxMember(t *testing.T, f *mxFixture) string {
	t.Helper()
	ms, err := f.e.st.InviteMembers(t.Context(), []MemberInvite{{Email: f.key("mx-member") + "@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0].ID
}

// htMember is a member as the API shows it.
type htMember struct {
	ID          string   `json:"_id"`
	Email       string   `json:"email"`
	Role        string   `json:"role"`
	CustomRoles []string `json:"customRoles"`
	Teams       []struct {
		Key   string `json:"key"`
		Links Links  `json:"_links"`
	} `json:"teams"`
	PendingInvite bool  `json:"_pendingInvite"`
	Links         Links `json:"_links"`
}

func TestHTTP_Members(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var created struct {
		Items      []htMember `json:"items"`
		TotalCount int        `json:"totalCount"`
		Links      Links      `json:"_links"`
	}
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/members", Body: []map[string]any{
		{"email": "ann@example.com", "role": "writer", "firstName": "Ann"},
		{"email": "bob@example.com"},
	}}, http.StatusCreated, &created)
	if len(created.Items) != 2 || created.TotalCount != 2 || created.Items[0].Role != "writer" || created.Items[1].Role != "reader" ||
		!created.Items[0].PendingInvite || created.Items[0].Links["self"].Href != "/api/v2/members/"+created.Items[0].ID {
		t.Fatalf("created %+v", created)
	}
	ann, bob := created.Items[0], created.Items[1]

	var list struct {
		Items      []htMember `json:"items"`
		TotalCount int        `json:"totalCount"`
		Links      Links      `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/members?limit=2"}, http.StatusOK, &list)
	if list.TotalCount != 3 || len(list.Items) != 2 || list.Links["next"].Href == "" {
		t.Fatalf("list %+v", list)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/members?filter=role:writer"}, http.StatusOK, &list)
	if list.TotalCount != 1 || list.Items[0].ID != ann.ID {
		t.Fatalf("role filter %+v", list)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/members?filter=query:bob"}, http.StatusOK, &list)
	if list.TotalCount != 1 || list.Items[0].ID != bob.ID {
		t.Fatalf("query filter %+v", list)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/members?sort=-displayName"}, http.StatusOK, &list)
	if list.TotalCount != 3 {
		t.Fatalf("sorted %+v", list)
	}

	var m htMember
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/members/" + ann.ID}, http.StatusOK, &m)
	if m.Email != "ann@example.com" || m.CustomRoles == nil {
		t.Fatalf("get %+v", m)
	}
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/members/" + bob.ID, Body: mxJSONPatch("/role", "admin")}, http.StatusOK, &m)
	if m.Role != "admin" {
		t.Fatalf("patched %+v", m)
	}

	if _, err := e.st.CreateTeam(t.Context(), TeamPost{Key: "qa", Name: "QA"}); err != nil {
		t.Fatal(err)
	}
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/members/" + ann.ID + "/teams", Body: map[string]any{"teamKeys": []string{"qa"}}}, http.StatusCreated, &m)
	if len(m.Teams) != 1 || m.Teams[0].Key != "qa" || m.Teams[0].Links["self"].Href != "/api/v2/teams/qa" {
		t.Fatalf("teams %+v", m)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/members?filter=team:qa"}, http.StatusOK, &list)
	if list.TotalCount != 1 || list.Items[0].ID != ann.ID {
		t.Fatalf("team filter %+v", list)
	}

	resp, body := e.do(htReq{Method: http.MethodDelete, Path: "/api/v2/members/" + bob.ID})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/members/" + bob.ID}, http.StatusNotFound, CodeNotFound)
}

func TestHTTP_MemberErrors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	ms, err := e.st.InviteMembers(ctx, []MemberInvite{{Email: "taken@example.com"}, {Email: "writer@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	target := ms[0].ID
	tok, err := e.st.CreateToken(ctx, ms[1].ID, TokenPost{Name: "w", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := e.st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		l, err := e.st.ListMembers(ctx, ListOptions{}, MemberFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return l.TotalCount
	}
	before := count()

	// 400 with LaunchDarkly's invalid_emails, and nothing invited.
	for _, c := range []struct {
		body []map[string]any
		code string
	}{
		{[]map[string]any{{"email": "new@example.com"}, {"email": "Taken@example.com"}}, CodeEmailAlreadyExists},
		{[]map[string]any{{"email": "dup@example.com"}, {"email": "dup@example.com"}}, CodeDuplicateEmail},
	} {
		resp, body := e.do(htReq{Method: http.MethodPost, Path: "/api/v2/members", Body: c.body})
		var eb struct {
			Code          string   `json:"code"`
			ID            string   `json:"id"`
			InvalidEmails []string `json:"invalid_emails"`
		}
		if err := json.Unmarshal(body, &eb); err != nil || resp.StatusCode != http.StatusBadRequest || eb.Code != c.code || eb.ID == "" || len(eb.InvalidEmails) != 1 {
			t.Fatalf("invite %v: %d %s", c.body, resp.StatusCode, body)
		}
	}
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members", Body: []map[string]any{{"email": "not an address"}}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members", Body: map[string]any{"email": "x@example.com"}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members", Body: []map[string]any{{"email": "x@example.com", "role": "owner"}}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/members/" + target, Body: mxJSONPatch("/email", "x@example.com")}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/members/" + target, ContentType: "application/merge-patch+json", Body: map[string]any{"role": "admin"}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members/" + target + "/teams", Body: map[string]any{"teamKeys": []string{"nope"}}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members/" + target + "/teams", Body: map[string]any{}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/members?filter=bogus:1"}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/members?sort=bogus"}, http.StatusBadRequest, CodeInvalidRequest)
	if got := count(); got != before {
		t.Fatalf("members %d after refused requests, want %d", got, before)
	}
	if m, err := e.st.GetMember(ctx, target); err != nil || m.Role != RoleReader || len(m.Teams) != 0 {
		t.Fatalf("target changed: %+v %v", m, err)
	}

	// 401, 403 (a writer does not manage members), 404, 409, 415.
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/members", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/members/" + target, Auth: tok.Token, Body: mxJSONPatch("/role", "admin")}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/members/" + target, Auth: tok.Token}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members", Auth: tok.Token, Body: []map[string]any{{"email": "w@example.com"}}}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/members/nobody"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/members/nobody"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/members/" + owner.ID}, http.StatusConflict, CodeConflict)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/members/" + target, Body: []map[string]any{
		{"op": "test", "path": "/role", "value": "admin"}, {"op": "replace", "path": "/role", "value": "writer"}}}, http.StatusConflict, CodeOptimisticLocking)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/members", ContentType: "text/plain", Body: "x"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
	if got := count(); got != before {
		t.Fatalf("members %d after refused requests, want %d", got, before)
	}
}
