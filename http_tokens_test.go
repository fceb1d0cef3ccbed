package flagstore

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func init() {
	mxDefaultKeys["id"] = "mx-token"
	// A service token of the owner, fresh per case.
	svc := func(t *testing.T, f *mxFixture) string {
		t.Helper()
		k := f.key("mx-tok")
		tok, err := f.e.st.CreateToken(t.Context(), f.ownerID, TokenPost{Name: k, Role: RoleReader, ServiceToken: true})
		if err != nil {
			t.Fatal(err)
		}
		return tok.ID
	}
	mxBuilders["getTokens"] = mxGet("/api/v2/tokens")
	mxBuilders["postToken"] = func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mx-nt")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Body: map[string]any{"name": k, "role": "reader", "serviceToken": true}},
			grants: []mxGrant{{"createAccessToken", "service-token/*"}}}
	}
	mxBuilders["getToken"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/tokens/" + svc(t, f)}}
	}
	mxBuilders["patchToken"] = func(t *testing.T, f *mxFixture) mxCase {
		id := svc(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/tokens/" + id, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateAccessTokenName", "service-token/" + id}}}
	}
	mxBuilders["deleteToken"] = func(t *testing.T, f *mxFixture) mxCase {
		id := svc(t, f)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/tokens/" + id},
			grants: []mxGrant{{"deleteAccessToken", "service-token/" + id}}}
	}
	mxBuilders["resetToken"] = func(t *testing.T, f *mxFixture) mxCase {
		id := svc(t, f)
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/tokens/" + id + "/reset"},
			grants: []mxGrant{{"resetAccessToken", "service-token/" + id}}}
	}
	for _, op := range []string{"postToken", "patchToken", "deleteToken", "resetToken"} {
		mxWriterDenied[op] = true // the writer base role manages no tokens
	}
	mxNoCheapStatus["getTokens"] = map[int]string{403: "every caller may list the tokens it can see: service tokens and its member's"}
	mxNoCheapStatus["getToken"] = map[int]string{403: "the matrix reads a service token, which any caller may view; another member's personal token is tested in http_tokens_test.go"}
	mxConflicts["patchToken"] = func(t *testing.T, f *mxFixture) htReq {
		return htReq{Method: http.MethodPatch, Path: "/api/v2/tokens/" + svc(t, f), Body: []map[string]any{
			{"op": "test", "path": "/name", "value": "Stale"},
			{"op": "replace", "path": "/name", "value": "new"},
		}}
	}
}

// htTokenRep is what the tests read of a Token.
type htTokenRep struct {
	ID           string `json:"_id"`
	OwnerID      string `json:"ownerId"`
	MemberID     string `json:"memberId"`
	Name         string `json:"name"`
	Role         string `json:"role"`
	Token        string `json:"token"`
	ServiceToken bool   `json:"serviceToken"`
	Links        Links  `json:"_links"`
}

// htMemberToken invites a member with the base role and gives it a
// personal token of that role.
func htMemberToken(t *testing.T, e *htEnv, email, role string) (memberID, secret string) {
	t.Helper()
	ms, err := e.st.InviteMembers(t.Context(), []MemberInvite{{Email: email, Role: role}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.st.CreateToken(t.Context(), ms[0].ID, TokenPost{Name: email, Role: role})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0].ID, tok.Token
}

func TestHTTPTokens_Lifecycle(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	owner, err := e.st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var created htTokenRep
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Body: map[string]any{"name": "ci", "role": "writer"}}, http.StatusCreated, &created)
	if !strings.HasPrefix(created.Token, "api-") || len(created.Token) < 20 {
		t.Fatalf("create shows %q, want the whole secret", created.Token)
	}
	if created.MemberID != owner.ID || created.OwnerID != owner.ID || created.Role != "writer" || created.ServiceToken {
		t.Fatalf("created %+v", created)
	}
	if created.Links["self"].Href != "/api/v2/tokens/"+created.ID || created.Links["parent"].Href != "/api/v2/tokens" {
		t.Fatalf("links %+v", created.Links)
	}
	// The secret works, and reads show only its end.
	var got htTokenRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tokens/" + created.ID, Auth: created.Token}, http.StatusOK, &got)
	if got.Token != created.Token[len(created.Token)-4:] {
		t.Fatalf("read shows %q", got.Token)
	}
	var list struct {
		Items      []htTokenRep `json:"items"`
		TotalCount int          `json:"totalCount"`
		Links      Links        `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tokens?limit=1&offset=1"}, http.StatusOK, &list)
	if list.TotalCount != 2 || len(list.Items) != 1 || list.Items[0].ID != created.ID || list.Links["prev"].Href == "" {
		t.Fatalf("list %+v", list)
	}
	for _, it := range list.Items {
		if len(it.Token) != 4 {
			t.Fatalf("list shows secret %q", it.Token)
		}
	}

	// Patch.
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/tokens/" + created.ID, Body: mxJSONPatch("/name", "renamed")}, http.StatusOK, &got)
	if got.Name != "renamed" || len(got.Token) != 4 {
		t.Fatalf("patched %+v", got)
	}

	// Reset with an expiry: both secrets work until then; the answer
	// shows the new one whole.
	var reset htTokenRep
	exp := time.Now().Add(time.Hour).UnixMilli()
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/tokens/" + created.ID + "/reset?expiry=" + jsonNum(exp)}, http.StatusOK, &reset)
	if !strings.HasPrefix(reset.Token, "api-") || reset.Token == created.Token {
		t.Fatalf("reset shows %q", reset.Token)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tokens/" + created.ID, Auth: created.Token}, http.StatusOK, nil)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tokens/" + created.ID, Auth: reset.Token}, http.StatusOK, nil)
	// Reset without one: the previous secret stops at once.
	var again htTokenRep
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/tokens/" + created.ID + "/reset"}, http.StatusOK, &again)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tokens", Auth: reset.Token}, http.StatusUnauthorized, CodeUnauthorized)

	// Delete.
	resp, _ := e.do(htReq{Method: http.MethodDelete, Path: "/api/v2/tokens/" + created.ID})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tokens", Auth: again.Token}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tokens/" + created.ID}, http.StatusNotFound, CodeNotFound)
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestHTTPTokens_Visibility(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	_, reader := htMemberToken(t, e, "r@example.com", RoleReader)
	otherID, _ := htMemberToken(t, e, "o@example.com", RoleWriter)
	other, err := e.st.ListTokens(t.Context(), TokenListOptions{MemberID: otherID, PersonalOnly: true})
	if err != nil || len(other.Items) != 1 {
		t.Fatal(err, other)
	}
	owner, _ := e.st.Owner(t.Context())
	svc, err := e.st.CreateToken(t.Context(), owner.ID, TokenPost{Name: "svc", ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	ids := func(auth, query string) map[string]bool {
		var l struct{ Items []htTokenRep }
		e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tokens" + query, Auth: auth}, http.StatusOK, &l)
		out := map[string]bool{}
		for _, it := range l.Items {
			out[it.ID] = true
		}
		return out
	}
	// A reader sees service tokens and its own, even with showAll.
	if got := ids(reader, "?showAll=true"); !got[svc.ID] || got[other.Items[0].ID] || len(got) != 2 {
		t.Fatalf("reader sees %v", got)
	}
	// An admin sees others' personal tokens only with showAll.
	if got := ids("", ""); got[other.Items[0].ID] || !got[svc.ID] {
		t.Fatalf("admin without showAll sees %v", got)
	}
	if got := ids("", "?showAll=true"); !got[other.Items[0].ID] {
		t.Fatalf("admin with showAll sees %v", got)
	}
	// Another member's personal token: 403 for a non-admin.
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tokens/" + other.Items[0].ID, Auth: reader}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/tokens/" + other.Items[0].ID, Auth: reader}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tokens?showAll=maybe"}, http.StatusBadRequest, CodeInvalidRequest)
}

func TestHTTPTokens_Errors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	_, reader := htMemberToken(t, e, "r@example.com", RoleReader)
	owner, _ := e.st.Owner(t.Context())
	svc, err := e.st.CreateToken(t.Context(), owner.ID, TokenPost{Name: "svc", ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		l, err := e.st.ListTokens(t.Context(), TokenListOptions{ShowAll: true, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return l.TotalCount
	}
	before := count()
	// 400s change nothing.
	for _, r := range []htReq{
		{Method: http.MethodPost, Path: "/api/v2/tokens", Body: `{"name":`},
		{Method: http.MethodPost, Path: "/api/v2/tokens", Body: map[string]any{"role": "emperor"}},
		{Method: http.MethodPost, Path: "/api/v2/tokens/" + svc.ID + "/reset?expiry=soon"},
		{Method: http.MethodPost, Path: "/api/v2/tokens/" + svc.ID + "/reset?expiry=1000"},
		{Method: http.MethodPatch, Path: "/api/v2/tokens/" + svc.ID, Body: mxJSONPatch("/token", "api-mine")},
		{Method: http.MethodPatch, Path: "/api/v2/tokens/" + svc.ID, ContentType: "application/merge-patch+json", Body: map[string]any{"name": "x"}},
		{Method: http.MethodGet, Path: "/api/v2/tokens?limit=-1"},
	} {
		e.errorBody(r, http.StatusBadRequest, CodeInvalidRequest)
	}
	got, err := e.st.GetToken(t.Context(), svc.ID)
	if err != nil || got.Name != "svc" || got.Token != svc.Token[len(svc.Token)-4:] {
		t.Fatalf("after 400s: %+v %v", got, err)
	}
	if count() != before {
		t.Fatal("a 400 created a token")
	}
	// The old secret still works: the bad resets changed nothing.
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tokens", Auth: svc.Token}, http.StatusOK, nil)

	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tokens", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Auth: mxBadToken, Body: map[string]any{"name": "x"}}, http.StatusUnauthorized, CodeUnauthorized)
	// A reader may not create, change, reset or delete tokens.
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Auth: reader, Body: map[string]any{"name": "x"}}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/tokens/" + svc.ID, Auth: reader, Body: mxJSONPatch("/name", "x")}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/tokens/" + svc.ID + "/reset", Auth: reader}, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/tokens/" + svc.ID, Auth: reader}, http.StatusForbidden, CodeForbidden)
	// A service token creates service tokens only.
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Auth: svc.Token, Body: map[string]any{"name": "p"}}, http.StatusForbidden, CodeForbidden)
	if count() != before {
		t.Fatal("a refused request created a token")
	}
	for _, r := range []htReq{
		{Method: http.MethodGet, Path: "/api/v2/tokens/nope"},
		{Method: http.MethodPatch, Path: "/api/v2/tokens/nope", Body: mxJSONPatch("/name", "x")},
		{Method: http.MethodDelete, Path: "/api/v2/tokens/nope"},
		{Method: http.MethodPost, Path: "/api/v2/tokens/nope/reset"},
	} {
		e.errorBody(r, http.StatusNotFound, CodeNotFound)
	}
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/tokens/" + svc.ID, Body: []map[string]any{
		{"op": "test", "path": "/name", "value": "stale"}, {"op": "replace", "path": "/name", "value": "x"}}}, http.StatusConflict, CodeOptimisticLocking)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Body: "name=x", ContentType: "text/plain"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
}
