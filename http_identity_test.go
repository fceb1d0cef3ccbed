package flagstore

import (
	"net/http"
	"strings"
	"testing"
)

func init() {
	mxBuilders["getCallerIdentity"] = mxGet("/api/v2/caller-identity")
	mxBuilders["getTags"] = mxGet("/api/v2/tags?kind=flag,project&limit=50")
	mxBadRequests["getTags"] = htReq{Method: http.MethodGet, Path: "/api/v2/tags?kind=bogus"}
	mxNoCheapStatus["getTags"] = map[int]string{403: "the tags of projects the caller may not view are left out instead of refusing"}
}

func TestHTTP_CallerIdentity(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	admin, err := e.st.Authenticate(ctx, htAdminSecret)
	if err != nil {
		t.Fatal(err)
	}
	var who callerIdentityRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity"}, http.StatusOK, &who)
	if who.AuthKind != "token" || who.TokenID != admin.TokenID || who.TokenID == "" || who.TokenKind == "" {
		t.Fatalf("admin identity: %+v", who)
	}

	owner, err := e.st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := e.st.CreateToken(ctx, owner.ID, TokenPost{Name: "ci", Role: RoleReader, ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: svc.Token}, http.StatusOK, &who)
	if who != (callerIdentityRep{AuthKind: "token", TokenKind: "service", TokenID: svc.ID, TokenName: "ci", MemberID: owner.ID, ServiceToken: true}) {
		t.Fatalf("service token identity: %+v", who)
	}
	pers, err := e.st.CreateToken(ctx, owner.ID, TokenPost{Name: "mine", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	who = callerIdentityRep{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: pers.Token}, http.StatusOK, &who)
	if who != (callerIdentityRep{AuthKind: "token", TokenKind: "personal", TokenID: pers.ID, TokenName: "mine", MemberID: owner.ID}) {
		t.Fatalf("personal token identity: %+v", who)
	}

	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: mxBadToken}, http.StatusUnauthorized, CodeUnauthorized)
	env := tstMustEnv(t, e.st, "shop", "production")
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: env.APIKey}, http.StatusUnauthorized, CodeUnauthorized)
}

func TestHTTP_Tags(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	tstMustFlag(t, e.st, "shop", "tf", "beta", "checkout")
	tstMustSegment(t, e.st, "shop", "production", "ts")
	if _, err := e.st.UpdateSegment(ctx, "shop", "production", "ts", func(s *Segment) error { s.Tags = []string{"segtag"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateProject(ctx, ProjectPost{Key: "hidden", Name: "Hidden", Tags: []string{"secret"}}); err != nil {
		t.Fatal(err)
	}
	type tagsRep struct {
		Items      []string `json:"items"`
		TotalCount int      `json:"totalCount"`
		Links      Links    `json:"_links"`
	}
	var got tagsRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tags"}, http.StatusOK, &got)
	if strings.Join(got.Items, ",") != "beta,checkout,secret,segtag" || got.TotalCount != 4 || got.Links["self"].Href == "" {
		t.Fatalf("all tags: %+v", got)
	}
	got = tagsRep{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tags?kind=flag&pre=ch"}, http.StatusOK, &got)
	if strings.Join(got.Items, ",") != "checkout" {
		t.Fatalf("flag tags with prefix ch: %+v", got)
	}
	got = tagsRep{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tags?kind=segment&kind=project"}, http.StatusOK, &got)
	if strings.Join(got.Items, ",") != "secret,segtag" {
		t.Fatalf("segment and project tags: %+v", got)
	}
	got = tagsRep{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tags?limit=1&offset=1"}, http.StatusOK, &got)
	if strings.Join(got.Items, ",") != "checkout" || got.TotalCount != 4 || got.Links["next"].Href == "" {
		t.Fatalf("second page: %+v", got)
	}
	// A token that may view only shop does not see hidden's tag.
	cr, err := e.st.CreateCustomRole(ctx, CustomRolePost{Key: "shop-only", Name: "Shop only",
		Policy: []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/shop"}}}})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := e.st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.st.CreateToken(ctx, owner.ID, TokenPost{Name: "shop", CustomRoleIDs: []string{cr.ID}, ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	got = tagsRep{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/tags", Auth: tok.Token}, http.StatusOK, &got)
	if strings.Join(got.Items, ",") != "beta,checkout,segtag" {
		t.Fatalf("tags seen by a shop-only token: %+v", got)
	}
	for _, path := range []string{"/api/v2/tags?kind=bogus", "/api/v2/tags?limit=1001", "/api/v2/tags?limit=x", "/api/v2/tags?archived=maybe"} {
		e.errorBody(htReq{Method: http.MethodGet, Path: path}, http.StatusBadRequest, CodeInvalidRequest)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/tags", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
}
