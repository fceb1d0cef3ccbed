package flagstore

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"slices"
	"testing"
)

func init() {
	for _, op := range []string{"patchMembers", "patchTeams", "postTeamMembers"} {
		mxWriterDenied[op] = true
	}
	mxNoCheapStatus["patchMembers"] = map[int]string{409: "each member is updated on its own; a failure is reported in errors"}
	mxNoCheapStatus["patchTeams"] = map[int]string{409: "each team is updated on its own; a failure is reported in errors"}
	mxUndeclared["postTeamMembers"] = map[int]string{
		403: "updateTeamMembers denied, as for every other change of a team",
		404: "unknown team, as every other operation under /teams/{teamKey} answers",
	}
	mxBuilders["postTeamMembers"] = func(t *testing.T, f *mxFixture) mxCase {
		k := mxTeam(t, f)
		m, err := f.e.st.GetMember(t.Context(), mxMember(t, f))
		if err != nil {
			t.Fatal(err)
		}
		body, ct := htCSVForm(t, "email\n"+m.Email+"\n")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/teams/" + k + "/members", ContentType: ct, Body: body},
			grants: []mxGrant{{"updateTeamMembers", teamSpec(k)}}}
	}
	mxBuilders["patchMembers"] = func(t *testing.T, f *mxFixture) mxCase {
		id := mxMember(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/members", ContentType: hxSemantic,
			Body: map[string]any{"instructions": []map[string]any{{"kind": "replaceMembersRoles", "value": "writer", "memberIDs": []string{id}}}}},
			grants: []mxGrant{{"updateRole", memberSpec(id)}}}
	}
	mxBuilders["patchTeams"] = func(t *testing.T, f *mxFixture) mxCase {
		id := mxMember(t, f)
		k := mxTeam(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/teams", ContentType: hxSemantic,
			Body: map[string]any{"instructions": []map[string]any{{"kind": "addMembersToTeams", "memberIDs": []string{id}, "teamKeys": []string{k}}}}},
			grants: []mxGrant{{"updateTeamMembers", teamSpec(k)}}}
	}
}

// htBeta is the header that opens beta routes.
var htBeta = http.Header{APIVersionHeader: {"beta"}}

func TestHTTP_PatchMembers(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	ms, err := e.st.InviteMembers(ctx, []MemberInvite{{Email: "a@example.com"}, {Email: "w@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	a := ms[0].ID
	tok, err := e.st.CreateToken(ctx, ms[1].ID, TokenPost{Name: "w", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := e.st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	body := func(ids ...string) map[string]any {
		return map[string]any{"comment": "bulk", "instructions": []map[string]any{{"kind": "replaceMembersRoles", "value": "admin", "memberIDs": ids}}}
	}
	var res struct {
		Members []string            `json:"members"`
		Errors  []map[string]string `json:"errors"`
	}
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/members", ContentType: hxSemantic, Body: body(a, owner.ID)}, http.StatusOK, &res)
	if !slices.Equal(res.Members, []string{a}) || len(res.Errors) != 1 || res.Errors[0][owner.ID] == "" {
		t.Fatalf("result %+v", res)
	}
	if m, _ := e.st.GetMember(ctx, a); m.Role != RoleAdmin {
		t.Errorf("role %q", m.Role)
	}
	// Empty arrays, not null, when nothing fails.
	_, raw := e.do(htReq{Method: http.MethodPatch, Path: "/api/v2/members", ContentType: hxSemantic, Body: body(a)})
	if string(bytes.TrimSpace(raw)) != `{"members":["`+a+`"],"errors":[]}` {
		t.Errorf("body %s", raw)
	}

	p := htReq{Method: http.MethodPatch, Path: "/api/v2/members", ContentType: hxSemantic, Body: body(a)}
	bad := p
	bad.Body = `{"instructions":`
	e.errorBody(bad, http.StatusBadRequest, CodeInvalidRequest)
	bad.Body = map[string]any{"instructions": []map[string]any{{"kind": "bogus"}}}
	e.errorBody(bad, http.StatusBadRequest, CodeInvalidRequest)
	bad = p
	bad.ContentType = "application/json" // JSON Patch / merge, not semantic
	bad.Body = []map[string]any{{"op": "replace", "path": "/role", "value": "reader"}}
	e.errorBody(bad, http.StatusBadRequest, CodeInvalidRequest)
	bad = p
	bad.Auth = "-"
	e.errorBody(bad, http.StatusUnauthorized, CodeUnauthorized)
	bad = p
	bad.Auth = tok.Token // a writer may not change roles (a no-op would need no permission)
	bad.Body = map[string]any{"instructions": []map[string]any{{"kind": "replaceMembersRoles", "value": "reader", "memberIDs": []string{a}}}}
	e.errorBody(bad, http.StatusForbidden, CodeForbidden)
	if m, _ := e.st.GetMember(ctx, a); m.Role != RoleAdmin {
		t.Errorf("role %q after a refused patch", m.Role)
	}
	bad = p
	bad.ContentType = "text/plain"
	bad.Body = "replace roles"
	e.errorBody(bad, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
}

func TestHTTP_PatchTeams(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	ms, err := e.st.InviteMembers(ctx, []MemberInvite{{Email: "a@example.com"}, {Email: "w@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	a := ms[0].ID
	tok, err := e.st.CreateToken(ctx, ms[1].ID, TokenPost{Name: "w", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateTeam(ctx, TeamPost{Key: "t1", Name: "T1"}); err != nil {
		t.Fatal(err)
	}
	p := htReq{Method: http.MethodPatch, Path: "/api/v2/teams", ContentType: hxSemantic, Header: htBeta,
		Body: map[string]any{"instructions": []map[string]any{{"kind": "addMembersToTeams", "memberIDs": []string{a}, "teamKeys": []string{"t1", "nope"}}}}}
	var res struct {
		TeamKeys  []string            `json:"teamKeys"`
		MemberIDs []string            `json:"memberIDs"`
		Errors    []map[string]string `json:"errors"`
	}
	e.json(p, http.StatusOK, &res)
	if !slices.Equal(res.TeamKeys, []string{"t1"}) || !slices.Equal(res.MemberIDs, []string{a}) || len(res.Errors) != 1 || res.Errors[0]["nope"] == "" {
		t.Fatalf("result %+v", res)
	}
	if m, _ := e.st.GetMember(ctx, a); len(m.Teams) != 1 || m.Teams[0].Key != "t1" {
		t.Errorf("teams %+v", m.Teams)
	}

	bad := p
	bad.Header = nil // beta route without the beta header
	e.errorBody(bad, http.StatusForbidden, CodeForbidden)
	bad = p
	bad.Body = `{"instructions":`
	e.errorBody(bad, http.StatusBadRequest, CodeInvalidRequest)
	bad.Body = map[string]any{"instructions": []map[string]any{{"kind": "addMembersToTeams", "memberIDs": []string{"nope"}, "teamKeys": []string{"t1"}}}}
	e.errorBody(bad, http.StatusBadRequest, CodeInvalidRequest)
	bad = p
	bad.Auth = "-"
	e.errorBody(bad, http.StatusUnauthorized, CodeUnauthorized)
	if _, err := e.st.CreateTeam(ctx, TeamPost{Key: "t2", Name: "T2"}); err != nil {
		t.Fatal(err)
	}
	bad = p
	bad.Auth = tok.Token // a writer may not change team membership
	bad.Body = map[string]any{"instructions": []map[string]any{{"kind": "addMembersToTeams", "memberIDs": []string{a}, "teamKeys": []string{"t2"}}}}
	e.errorBody(bad, http.StatusForbidden, CodeForbidden)
	bad = p
	bad.ContentType = "text/csv"
	bad.Body = "a@example.com"
	e.errorBody(bad, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
}

// htCSVForm is a multipart/form-data body with csv as the file field, and
// its Content-Type.
func htCSVForm(t *testing.T, csv string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "members.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Write([]byte(csv)); err != nil {
		t.Fatal(err)
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), mw.FormDataContentType()
}

func TestHTTP_PostTeamMembers(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	ms, err := e.st.InviteMembers(ctx, []MemberInvite{{Email: "a@example.com"}, {Email: "b@example.com"}, {Email: "w@example.com", Role: RoleWriter}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.st.CreateToken(ctx, ms[2].ID, TokenPost{Name: "w", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateTeam(ctx, TeamPost{Key: "t1", Name: "T1"}); err != nil {
		t.Fatal(err)
	}
	req := func(csv string) htReq {
		body, ct := htCSVForm(t, csv)
		return htReq{Method: http.MethodPost, Path: "/api/v2/teams/t1/members", ContentType: ct, Body: body}
	}
	type rep struct {
		Items []MemberImportItem `json:"items"`
	}
	count := func() int {
		tm, err := e.st.GetTeam(ctx, "t1")
		if err != nil || tm.Members == nil {
			t.Fatalf("%+v %v", tm, err)
		}
		return tm.Members.TotalCount
	}

	// 207: one bad row; nothing is added.
	var res rep
	e.json(req("email\na@example.com\nnot-an-email\nnobody@example.com\nA@example.com\n"), http.StatusMultiStatus, &res)
	want := []string{"success", "error", "error", "error"}
	if len(res.Items) != len(want) {
		t.Fatalf("items %+v", res.Items)
	}
	for i, it := range res.Items {
		if it.Status != want[i] || (it.Status == "error") != (it.Message != "") {
			t.Errorf("item %d: %+v", i, it)
		}
	}
	if res.Items[1].Message != "line 3: invalid email format" {
		t.Errorf("message %q", res.Items[1].Message)
	}
	if n := count(); n != 0 {
		t.Errorf("%d members after a 207", n)
	}

	// 201: every row imported.
	e.json(req("a@example.com\nB@example.com\n"), http.StatusCreated, &res)
	if len(res.Items) != 2 || res.Items[0].Status != "success" || res.Items[1].Value != "B@example.com" {
		t.Fatalf("items %+v", res.Items)
	}
	if n := count(); n != 2 {
		t.Errorf("%d members after a 201", n)
	}

	// Errors.
	e.errorBody(req(""), http.StatusBadRequest, CodeInvalidRequest)
	bad := req("a@example.com\n")
	bad.Body = "--x\r\nnot a form"
	e.errorBody(bad, http.StatusBadRequest, CodeInvalidRequest)
	bad = req("a@example.com\n")
	bad.Auth = "-"
	e.errorBody(bad, http.StatusUnauthorized, CodeUnauthorized)
	bad = req("w@example.com\n")
	bad.Auth = tok.Token
	e.errorBody(bad, http.StatusForbidden, CodeForbidden)
	bad = req("a@example.com\n")
	bad.Path = "/api/v2/teams/nope/members"
	e.errorBody(bad, http.StatusNotFound, CodeNotFound)
	bad = req("a@example.com\n")
	bad.ContentType = "text/csv"
	bad.Body = "a@example.com\n"
	e.errorBody(bad, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
	bad.ContentType = "application/json"
	bad.Body = map[string]any{"file": "a@example.com"}
	e.errorBody(bad, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
}
