package flagstore

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func init() {
	mxBuilders["getAuditLogEntries"] = mxGet("/api/v2/auditlog?limit=5")
	mxBuilders["postAuditLogEntries"] = func(*testing.T, *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/auditlog?limit=5",
			Body: []map[string]any{{"effect": "allow", "actions": []string{"*"}, "resources": []string{"proj/*"}}}}}
	}
	mxBuilders["postAuditLogEntryCounts"] = func(*testing.T, *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=1&buckets=10",
			Body: []map[string]any{{"effect": "allow", "actions": []string{"*"}, "resources": []string{"proj/*"}}}}}
	}
	// An account-level entry (a custom role's creation), which every
	// principal may read.
	mxBuilders["getAuditLogEntry"] = func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mx-audit-role")
		if _, err := f.e.st.CreateCustomRole(t.Context(), CustomRolePost{Key: k, Name: k,
			Policy: []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/none"}}}}); err != nil {
			t.Fatal(err)
		}
		entries, err := f.e.st.ListAuditLog(t.Context(), AuditListOptions{Query: k, Limit: 1})
		if err != nil || len(entries) != 1 {
			t.Fatalf("audit entry of role %s: %v %v", k, entries, err)
		}
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/auditlog/" + entries[0].ID}}
	}
	mxDefaultKeys["id"] = "mx-entry"
	mxBadRequests["getAuditLogEntries"] = htReq{Method: http.MethodGet, Path: "/api/v2/auditlog?limit=21"}
	const leftOut = "the log leaves out the entries of projects the caller may not view instead of refusing"
	mxNoCheapStatus["getAuditLogEntries"] = map[int]string{403: leftOut}
	mxNoCheapStatus["postAuditLogEntries"] = map[int]string{403: leftOut}
	mxNoCheapStatus["postAuditLogEntryCounts"] = map[int]string{403: leftOut}
	mxNoCheapStatus["getAuditLogEntry"] = map[int]string{403: "an entry the caller may not view answers 404, as an unknown one does"}
	mxReadPosts["postAuditLogEntries"] = true
	mxReadPosts["postAuditLogEntryCounts"] = true
}

// auditPage is a decoded AuditLogEntryListingRepCollection.
type auditPage struct {
	Items []struct {
		ID       string   `json:"_id"`
		Date     int64    `json:"date"`
		Kind     string   `json:"kind"`
		Title    string   `json:"title"`
		Comment  string   `json:"comment"`
		Accesses []Access `json:"accesses"`
		Links    Links    `json:"_links"`
		Token    *struct {
			ID string `json:"_id"`
		} `json:"token"`
		Target AuditTarget `json:"target"`
	} `json:"items"`
	Links Links `json:"_links"`
}

// servedOp reports whether the handler serves an operation.
func servedOp(st *Store, op string) bool {
	return slices.ContainsFunc((&api{s: st}).allRoutes(), func(rt *route) bool { return rt.operationID == op })
}

func TestHTTP_AuditLog_ListAndPage(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	for i := range 3 {
		e.json(htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop", Body: map[string]any{"key": fmt.Sprintf("al-%d", i), "name": "AL"}}, http.StatusCreated, nil)
	}
	var p auditPage
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog?limit=2&q=flag"}, http.StatusOK, &p)
	if len(p.Items) != 2 || p.Links["self"].Href == "" || p.Links["next"].Href == "" {
		t.Fatalf("first page: %+v", p)
	}
	it := p.Items[0]
	if it.ID == "" || it.Date == 0 || it.Kind != "flag" || it.Title == "" || it.Links["self"].Href != "/api/v2/auditlog/"+it.ID || len(it.Accesses) == 0 {
		t.Fatalf("entry: %+v", it)
	}
	next := p.Links["next"].Href
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("before") == "" || u.Query().Get("q") != "flag" {
		t.Fatalf("next link %q", next)
	}
	var p2 auditPage
	e.json(htReq{Method: http.MethodGet, Path: next}, http.StatusOK, &p2)
	if len(p2.Items) == 0 || p2.Items[0].Date > p.Items[1].Date || p2.Items[0].ID == p.Items[1].ID {
		t.Fatalf("second page: %+v", p2)
	}
	// spec narrows to one flag.
	p = auditPage{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog?spec=" + url.QueryEscape("proj/shop:env/*:flag/al-1")}, http.StatusOK, &p)
	if len(p.Items) != 1 || p.Items[0].Target.Resources[0] != "proj/shop:env/*:flag/al-1" {
		t.Fatalf("spec: %+v", p)
	}
	// Default limit 10, and no next link when the page is not full.
	p = auditPage{}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog"}, http.StatusOK, &p)
	if len(p.Items) > 10 || (len(p.Items) < 10 && p.Links["next"].Href != "") {
		t.Fatalf("default page: %d items, links %v", len(p.Items), p.Links)
	}
	// The detailed form.
	var d struct {
		ID             string         `json:"_id"`
		CurrentVersion map[string]any `json:"currentVersion"`
		Links          Links          `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog/" + it.ID}, http.StatusOK, &d)
	if d.ID != it.ID || d.CurrentVersion["key"] == nil || d.Links["parent"].Href != "/api/v2/auditlog" {
		t.Fatalf("detail: %+v", d)
	}
}

func TestHTTP_AuditLog_Errors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	for _, path := range []string{
		"/api/v2/auditlog?limit=21", "/api/v2/auditlog?limit=-1", "/api/v2/auditlog?limit=x",
		"/api/v2/auditlog?before=yesterday", "/api/v2/auditlog?after=-5", "/api/v2/auditlog?spec=" + url.QueryEscape("proj/a:b:c/"),
	} {
		e.errorBody(htReq{Method: http.MethodGet, Path: path}, http.StatusBadRequest, CodeInvalidRequest)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog/nope"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog", Body: `{"effect":"allow"}`}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog", Body: `[{"effect":"maybe","actions":["*"],"resources":["proj/*"]}]`}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts", Body: `[]`}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=1&buckets=501", Body: `[]`}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=10&before=5", Body: `[]`}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=1", Auth: "-", Body: `[]`}, http.StatusUnauthorized, CodeUnauthorized)
}

func TestHTTP_AuditLog_SearchAndCounts(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop", Body: map[string]any{"key": "sc", "name": "SC"}}, http.StatusCreated, nil)
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/projects", Body: map[string]any{"key": "other", "name": "Other"}}, http.StatusCreated, nil)
	// Only project creations.
	var p auditPage
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog?limit=20",
		Body: []Statement{{Effect: "allow", Actions: []string{"createProject"}, Resources: []string{"proj/*"}}}}, http.StatusOK, &p)
	if len(p.Items) != 2 {
		t.Fatalf("createProject entries: %+v", p)
	}
	for _, it := range p.Items {
		if it.Kind != "project" {
			t.Fatalf("entry %+v", it)
		}
	}
	// A deny wins: everything in every project but other.
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog?limit=20", Body: []Statement{
		{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*", "proj/*:env/*", "proj/*:env/*:flag/*"}},
		{Effect: "deny", Actions: []string{"*"}, Resources: []string{"proj/other", "proj/other:env/*"}},
	}}, http.StatusOK, &p)
	if len(p.Items) == 0 {
		t.Fatal("no entries")
	}
	for _, it := range p.Items {
		if strings.HasPrefix(it.Target.Resources[0], "proj/other") {
			t.Fatalf("denied entry listed: %+v", it)
		}
	}
	// The flag-wide creation (env/*) matches a statement naming production.
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog",
		Body: []Statement{{Effect: "allow", Actions: []string{"createFlag"}, Resources: []string{"proj/shop:env/production:flag/*"}}}}, http.StatusOK, &p)
	if len(p.Items) != 1 || p.Items[0].Target.Resources[0] != "proj/shop:env/*:flag/sc" {
		t.Fatalf("createFlag entries: %+v", p)
	}
	// Counts: every entry since the epoch, in 4 buckets.
	var c AuditCounts
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=1&buckets=4", Body: `[]`}, http.StatusOK, &c)
	var sum int64
	for _, b := range c.Buckets {
		sum += b.Count
	}
	if len(c.Buckets) != 4 || c.TotalCount < 3 || sum != c.TotalCount || c.BucketIntervalMs <= 0 || c.Buckets[0].Timestamp != 1 {
		t.Fatalf("counts: %+v", c)
	}
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=1",
		Body: []Statement{{Effect: "allow", Actions: []string{"createProject"}, Resources: []string{"proj/*"}}}}, http.StatusOK, &c)
	if len(c.Buckets) != 50 || c.TotalCount != 2 {
		t.Fatalf("createProject counts: total %d, %d buckets", c.TotalCount, len(c.Buckets))
	}
}

func TestHTTP_AuditLog_Visibility(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	cr, err := e.st.CreateCustomRole(ctx, CustomRolePost{Key: "none", Name: "None",
		Policy: []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/none"}}}})
	if err != nil {
		t.Fatal(err)
	}
	owner, err := e.st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.st.CreateToken(ctx, owner.ID, TokenPost{Name: "blind", CustomRoleIDs: []string{cr.ID}, ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	var all, p auditPage
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog?limit=20&spec=proj/shop"}, http.StatusOK, &all)
	if len(all.Items) == 0 {
		t.Fatal("the admin sees no entry of shop")
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog?limit=20&spec=proj/shop", Auth: tok.Token}, http.StatusOK, &p)
	if len(p.Items) != 0 {
		t.Fatalf("a token that may not view shop sees %+v", p.Items)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog/" + all.Items[0].ID, Auth: tok.Token}, http.StatusNotFound, CodeNotFound)
	var c AuditCounts
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/auditlog/counts?after=1", Auth: tok.Token,
		Body: []Statement{{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*"}}}}, http.StatusOK, &c)
	if c.TotalCount != 0 {
		t.Fatalf("a token that may not view shop counts %d entries", c.TotalCount)
	}
}

// TestScenario_GettingStarted follows LaunchDarkly's getting-started
// guide over HTTP: a role that may only toggle flags in production, a
// token with it, a toggle that is allowed and one that is not, the audit
// trail, and the token's removal.
func TestScenario_GettingStarted(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()

	// 1. As the admin, create a flag.
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop", Body: map[string]any{"key": "new-checkout", "name": "New checkout"}}, http.StatusCreated, nil)

	// 2. A custom role that may view projects and toggle flags in
	// production only.
	policy := []Statement{
		{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/*"}},
		{Effect: "allow", Actions: []string{"updateOn"}, Resources: []string{"proj/*:env/production:flag/*"}},
	}
	roleID := ""
	if servedOp(e.st, "postCustomRole") {
		var cr struct {
			ID string `json:"_id"`
		}
		e.json(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "prod-toggler", "name": "Production toggler", "policy": policy}}, http.StatusCreated, &cr)
		roleID = cr.ID
	} else {
		// Not served yet: the Go API does the same.
		cr, err := e.st.CreateCustomRole(ctx, CustomRolePost{Key: "prod-toggler", Name: "Production toggler", Policy: policy})
		if err != nil {
			t.Fatal(err)
		}
		roleID = cr.ID
	}

	// 3. An access token with that role.
	var tok struct {
		ID    string `json:"_id"`
		Token string `json:"token"`
	}
	if servedOp(e.st, "postToken") {
		e.json(htReq{Method: http.MethodPost, Path: "/api/v2/tokens", Body: map[string]any{"name": "release bot", "customRoleIds": []string{roleID}}}, http.StatusCreated, &tok)
	} else {
		owner, err := e.st.Owner(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tk, err := e.st.CreateToken(ctx, owner.ID, TokenPost{Name: "release bot", CustomRoleIDs: []string{roleID}})
		if err != nil {
			t.Fatal(err)
		}
		tok.ID, tok.Token = tk.ID, tk.Token
	}
	var who callerIdentityRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: tok.Token}, http.StatusOK, &who)
	if who.TokenID != tok.ID || who.TokenName != "release bot" || who.AuthKind != "token" {
		t.Fatalf("caller identity: %+v", who)
	}

	// 4. With the token, turn the flag on in production, with a comment.
	toggle := func(env string) htReq {
		return htReq{Method: http.MethodPatch, Path: "/api/v2/flags/shop/new-checkout", Auth: tok.Token, ContentType: hxSemantic,
			Body: map[string]any{"environmentKey": env, "comment": "launch in " + env, "instructions": []map[string]any{{"kind": "turnFlagOn"}}}}
	}
	var fl struct {
		Environments map[string]struct {
			On bool `json:"on"`
		} `json:"environments"`
	}
	e.json(toggle("production"), http.StatusOK, &fl)
	if !fl.Environments["production"].On {
		t.Fatalf("production is not on: %+v", fl)
	}
	// 5. ... but not in test.
	e.errorBody(toggle("test"), http.StatusForbidden, CodeForbidden)

	// 6. The audit log shows the change, its comment and the token.
	var p auditPage
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog?limit=1&spec=" + url.QueryEscape("proj/shop:env/production:flag/new-checkout")}, http.StatusOK, &p)
	if len(p.Items) != 1 {
		t.Fatalf("audit log: %+v", p)
	}
	var entry struct {
		ID      string `json:"_id"`
		Comment string `json:"comment"`
		Token   *struct {
			ID   string `json:"_id"`
			Name string `json:"name"`
		} `json:"token"`
		PreviousVersion map[string]any `json:"previousVersion"`
		CurrentVersion  map[string]any `json:"currentVersion"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/auditlog/" + p.Items[0].ID}, http.StatusOK, &entry)
	if entry.Comment != "launch in production" || entry.Token == nil || entry.Token.ID != tok.ID ||
		entry.Token.Name != "release bot" || entry.PreviousVersion == nil || entry.CurrentVersion == nil {
		t.Fatalf("audit entry: %+v", entry)
	}

	// 7. Delete the token: it is refused from then on.
	if servedOp(e.st, "deleteToken") {
		e.json(htReq{Method: http.MethodDelete, Path: "/api/v2/tokens/" + tok.ID}, http.StatusNoContent, nil)
	} else if err := e.st.DeleteToken(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/caller-identity", Auth: tok.Token}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(toggle("production"), http.StatusUnauthorized, CodeUnauthorized)
}
