package flagstore

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Fixtures of the projects and environments HTTP tests start with "prj".

// prjProject decodes a project representation.
type prjProject struct {
	ID                            string                  `json:"_id"`
	Key                           string                  `json:"key"`
	Name                          string                  `json:"name"`
	Tags                          []string                `json:"tags"`
	IncludeInSnippetByDefault     *bool                   `json:"includeInSnippetByDefault"`
	DefaultClientSideAvailability *ClientSideAvailability `json:"defaultClientSideAvailability"`
	CreationDate                  int64                   `json:"creationDate"`
	Environments                  json.RawMessage         `json:"environments"`
	Links                         map[string]Link         `json:"_links"`
}

// prjEnv decodes an environment representation.
type prjEnv struct {
	ID                 string          `json:"_id"`
	Key                string          `json:"key"`
	Name               string          `json:"name"`
	APIKey             string          `json:"apiKey"`
	MobileKey          string          `json:"mobileKey"`
	Color              string          `json:"color"`
	DefaultTTL         *int            `json:"defaultTtl"`
	SecureMode         *bool           `json:"secureMode"`
	DefaultTrackEvents *bool           `json:"defaultTrackEvents"`
	RequireComments    *bool           `json:"requireComments"`
	ConfirmChanges     *bool           `json:"confirmChanges"`
	Tags               []string        `json:"tags"`
	Critical           bool            `json:"critical"`
	CreationDate       int64           `json:"creationDate"`
	Version            int             `json:"version"`
	Links              map[string]Link `json:"_links"`
}

// prjList decodes a collection.
type prjList[T any] struct {
	Items      []T             `json:"items"`
	Links      map[string]Link `json:"_links"`
	TotalCount *int            `json:"totalCount"`
}

// prjKeys lists the keys of projects or environments.
func prjKeys[T any](items []T, key func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = key(it)
	}
	return out
}

// prjCheckPageLinks checks a collection's links: self always, and of
// first, prev, next and last exactly those in want.
func prjCheckPageLinks(t *testing.T, links map[string]Link, want ...string) {
	t.Helper()
	if !strings.HasPrefix(links["self"].Href, apiPrefix) || links["self"].Type != "application/json" {
		t.Errorf("self link %+v", links["self"])
	}
	for _, rel := range []string{"first", "prev", "next", "last"} {
		_, has := links[rel]
		if has != slices.Contains(want, rel) {
			t.Errorf("link %q present=%v, want %v (links %v)", rel, has, !has, links)
		}
	}
}

// prjCheckLink checks that links[rel] is a JSON link to href.
func prjCheckLink(t *testing.T, links map[string]Link, rel, href string) {
	t.Helper()
	if l := links[rel]; l.Href != href || l.Type != "application/json" {
		t.Errorf("link %q = %+v, want %s", rel, l, href)
	}
}

// prjInlineToken creates a personal token of the owner limited to an
// inline role and returns its secret.
func prjInlineToken(e *htEnv, sts ...Statement) string {
	e.t.Helper()
	owner, err := e.st.Owner(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.st.CreateToken(e.t.Context(), owner.ID, TokenPost{Name: "inline", InlineRole: sts})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Token
}

// prjReaderToken invites a reader member and returns a token of theirs.
func prjReaderToken(e *htEnv) string {
	e.t.Helper()
	ms, err := e.st.InviteMembers(e.t.Context(), []MemberInvite{{Email: "reader@example.com", Role: RoleReader}})
	if err != nil {
		e.t.Fatal(err)
	}
	tok, err := e.st.CreateToken(e.t.Context(), ms[0].ID, TokenPost{Name: "reader", Role: RoleReader})
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Token
}

// prjSub is e reporting to the subtest t.
func prjSub(e *htEnv, t testing.TB) *htEnv { return &htEnv{t: t, st: e.st, srv: e.srv} }

// prjCreate creates a project through the Go API, a little later than the
// one before it so that creation order is the creationDate order.
func prjCreate(e *htEnv, p ProjectPost) Project {
	e.t.Helper()
	time.Sleep(2 * time.Millisecond)
	pr, err := e.st.CreateProject(e.t.Context(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return pr
}

func TestHTTPProjects_List(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prjCreate(e, ProjectPost{Key: "alpha", Name: "Alpha", Tags: []string{"a", "b"}})
	prjCreate(e, ProjectPost{Key: "beta", Name: "Beta", Tags: []string{"a"}})
	prjCreate(e, ProjectPost{Key: "gamma", Name: "Gamma", Tags: []string{"b"}})
	cases := []struct {
		name, query string
		keys        []string
		total       int
		links       []string
	}{
		{"all", "", []string{"shop", "alpha", "beta", "gamma"}, 4, nil},
		{"first page", "limit=2", []string{"shop", "alpha"}, 4, []string{"next", "last"}},
		{"last page", "limit=2&offset=2", []string{"beta", "gamma"}, 4, []string{"first", "prev"}},
		{"middle page", "limit=1&offset=1", []string{"alpha"}, 4, []string{"first", "prev", "next", "last"}},
		{"past the end", "offset=10", []string{}, 4, []string{"first", "prev"}},
		{"one tag", "filter=tags:a", []string{"alpha", "beta"}, 2, nil},
		{"all tags", "filter=" + url.QueryEscape("tags:a+b"), []string{"alpha"}, 1, nil},
		{"all tags, unencoded plus", "filter=tags:b+a", []string{"alpha"}, 1, nil},
		{"all tags paged", "filter=" + url.QueryEscape("tags:b+a") + "&limit=1", []string{"alpha"}, 1, nil},
		{"keys", "filter=" + url.QueryEscape("keys:gamma|beta|nope"), []string{"beta", "gamma"}, 2, nil},
		{"keys paged", "filter=" + url.QueryEscape("keys:gamma|beta") + "&limit=1&offset=1", []string{"gamma"}, 2, []string{"first", "prev"}},
		{"query", "filter=query:ALP", []string{"alpha"}, 1, nil},
		{"query and tag", "filter=" + url.QueryEscape("query:a,tags:b"), []string{"alpha", "gamma"}, 2, nil},
		{"sort name", "sort=name", []string{"alpha", "beta", "gamma", "shop"}, 4, nil},
		{"sort -name", "sort=-name", []string{"shop", "gamma", "beta", "alpha"}, 4, nil},
		{"sort createdOn", "sort=createdOn", []string{"shop", "alpha", "beta", "gamma"}, 4, nil},
		{"sort -createdOn", "sort=-createdOn&limit=3", []string{"gamma", "beta", "alpha"}, 4, []string{"next", "last"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got prjList[prjProject]
			prjSub(e, t).json(htReq{Method: http.MethodGet, Path: "/api/v2/projects?" + c.query}, http.StatusOK, &got)
			if keys := prjKeys(got.Items, func(p prjProject) string { return p.Key }); !slices.Equal(keys, c.keys) {
				t.Errorf("keys %v, want %v", keys, c.keys)
			}
			if got.TotalCount == nil || *got.TotalCount != c.total {
				t.Errorf("totalCount %v, want %d", got.TotalCount, c.total)
			}
			prjCheckPageLinks(t, got.Links, c.links...)
			for _, p := range got.Items {
				prjCheckLink(t, p.Links, "self", "/api/v2/projects/"+p.Key)
				prjCheckLink(t, p.Links, "parent", "/api/v2/projects")
				prjCheckLink(t, p.Links, "environments", "/api/v2/projects/"+p.Key+"/environments")
				prjCheckLink(t, p.Links, "flagDefaults", "/api/v2/projects/"+p.Key+"/flag-defaults")
				if p.Environments != nil {
					t.Errorf("%s: environments without expand: %s", p.Key, p.Environments)
				}
				if p.ID == "" || p.Name == "" || p.Tags == nil || p.CreationDate == 0 || p.IncludeInSnippetByDefault == nil {
					t.Errorf("incomplete project %+v", p)
				}
			}
		})
	}
	// Paging links keep the other parameters.
	var got prjList[prjProject]
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects?limit=1&filter=tags:a"}, http.StatusOK, &got)
	next, err := url.Parse(got.Links["next"].Href)
	if err != nil || next.Path != "/api/v2/projects" || next.Query().Get("filter") != "tags:a" || next.Query().Get("offset") != "1" {
		t.Errorf("next link %q", got.Links["next"].Href)
	}
}

func TestHTTPProjects_ListExpandAndErrors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prjCreate(e, ProjectPost{Key: "other", Name: "Other"})

	var got prjList[prjProject]
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects?expand=environments"}, http.StatusOK, &got)
	for _, p := range got.Items {
		var envs prjList[prjEnv]
		if err := json.Unmarshal(p.Environments, &envs); err != nil {
			t.Fatalf("%s: environments %s: %v", p.Key, p.Environments, err)
		}
		if keys := prjKeys(envs.Items, func(e prjEnv) string { return e.Key }); !slices.Equal(keys, []string{"production", "test"}) || *envs.TotalCount != 2 {
			t.Errorf("%s: environments %v", p.Key, keys)
		}
		prjCheckPageLinks(t, envs.Links)
		prjCheckLink(t, envs.Items[0].Links, "self", "/api/v2/projects/"+p.Key+"/environments/production")
	}
	// Before 20220603 LaunchDarkly listed environments unasked.
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects", Header: http.Header{APIVersionHeader: {"20210729"}}}, http.StatusOK, &got)
	if got.Items[0].Environments == nil {
		t.Error("API 20210729: no environments")
	}

	// A principal sees only the projects it may view.
	other := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/other"}, Actions: []string{"viewProject"}})
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects", Auth: other}, http.StatusOK, &got)
	if keys := prjKeys(got.Items, func(p prjProject) string { return p.Key }); !slices.Equal(keys, []string{"other"}) || *got.TotalCount != 1 {
		t.Errorf("restricted list %v", keys)
	}

	for _, c := range []struct {
		name, query string
		auth        string
		status      int
		code        string
	}{
		{"unknown filter", "filter=state:live", "", 400, CodeInvalidRequest},
		{"bad filter term", "filter=tags", "", 400, CodeInvalidRequest},
		{"empty keys", "filter=keys:", "", 400, CodeInvalidRequest},
		{"unsupported sort", "sort=key", "", 400, CodeInvalidRequest},
		{"two sort fields", "sort=name,createdOn", "", 400, CodeInvalidRequest},
		{"bad limit", "limit=-1", "", 400, CodeInvalidRequest},
		{"bad offset", "offset=x", "", 400, CodeInvalidRequest},
		{"unknown expand", "expand=flags", "", 400, CodeInvalidRequest},
		{"no token", "", "-", 401, CodeUnauthorized},
		{"bad token", "", "api-00000000-0000-0000-0000-000000000000", 401, CodeUnauthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			prjSub(e, t).errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/projects?" + c.query, Auth: c.auth}, c.status, c.code)
		})
	}
}

func TestHTTPProjects_Post(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var p prjProject
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/projects", Body: map[string]any{
		"key": "web", "name": "Web", "tags": []string{"ops"}, "includeInSnippetByDefault": true,
	}}, http.StatusCreated, &p)
	if p.Key != "web" || p.Name != "Web" || !slices.Equal(p.Tags, []string{"ops"}) || p.ID == "" || p.CreationDate == 0 ||
		!*p.IncludeInSnippetByDefault || p.DefaultClientSideAvailability == nil || !p.DefaultClientSideAvailability.UsingEnvironmentID {
		t.Fatalf("created %+v", p)
	}
	prjCheckLink(t, p.Links, "self", "/api/v2/projects/web")
	prjCheckLink(t, p.Links, "parent", "/api/v2/projects")
	prjCheckLink(t, p.Links, "environments", "/api/v2/projects/web/environments")
	prjCheckLink(t, p.Links, "flagDefaults", "/api/v2/projects/web/flag-defaults")
	var envs []prjEnv // ProjectRep: a plain array
	if err := json.Unmarshal(p.Environments, &envs); err != nil {
		t.Fatalf("environments %s: %v", p.Environments, err)
	}
	if keys := prjKeys(envs, func(e prjEnv) string { return e.Key }); !slices.Equal(keys, []string{"production", "test"}) {
		t.Fatalf("default environments %v", keys)
	}
	for _, env := range envs {
		if !strings.HasPrefix(env.APIKey, "sdk-") || strings.Contains(env.APIKey, "*") || !strings.HasPrefix(env.MobileKey, "mob-") || env.ID == "" {
			t.Errorf("environment keys %+v", env)
		}
		prjCheckLink(t, env.Links, "self", "/api/v2/projects/web/environments/"+env.Key)
		prjCheckLink(t, env.Links, "parent", "/api/v2/projects/web/environments")
	}

	// Named environments replace the defaults.
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/projects", Body: map[string]any{
		"key": "api", "name": "API", "environments": []map[string]any{{"key": "dev", "name": "Dev", "color": "00FF00", "critical": true}},
	}}, http.StatusCreated, &p)
	if err := json.Unmarshal(p.Environments, &envs); err != nil || len(envs) != 1 || envs[0].Key != "dev" || !envs[0].Critical {
		t.Fatalf("named environments %s", p.Environments)
	}

	reader := prjReaderToken(e)
	small := htServer(t, WithMaxBodyBytes(64))
	for _, c := range []struct {
		name   string
		env    *htEnv
		req    htReq
		status int
		code   string
	}{
		{"duplicate", e, htReq{Body: map[string]any{"key": "web", "name": "Again"}}, 409, CodeConflict},
		{"bad key", e, htReq{Body: map[string]any{"key": "-bad", "name": "Bad"}}, 400, CodeInvalidRequest},
		{"no name", e, htReq{Body: map[string]any{"key": "noname"}}, 400, CodeInvalidRequest},
		{"bad environment", e, htReq{Body: map[string]any{"key": "badenv", "name": "B", "environments": []map[string]any{{"key": "x", "name": "X", "color": "nope"}}}}, 400, CodeInvalidRequest},
		{"environment source", e, htReq{Body: map[string]any{"key": "src", "name": "S", "environments": []map[string]any{{"key": "x", "name": "X", "color": "000000", "source": map[string]any{"key": "y"}}}}}, 400, CodeInvalidRequest},
		{"malformed", e, htReq{Body: `{"key":`}, 400, CodeInvalidRequest},
		{"empty", e, htReq{Body: ""}, 400, CodeInvalidRequest},
		{"not JSON", e, htReq{Body: "key=x", ContentType: "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMediaType},
		{"too large", small, htReq{Body: map[string]any{"key": "big", "name": strings.Repeat("n", 100)}}, 413, CodeRequestEntityTooLarge},
		{"no token", e, htReq{Body: map[string]any{"key": "anon", "name": "A"}, Auth: "-"}, 401, CodeUnauthorized},
		{"reader", e, htReq{Body: map[string]any{"key": "byreader", "name": "R"}, Auth: reader}, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Method, c.req.Path = http.MethodPost, "/api/v2/projects"
			prjSub(c.env, t).errorBody(c.req, c.status, c.code)
		})
	}
	// Nothing the refused requests named was created.
	var list prjList[prjProject]
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects"}, http.StatusOK, &list)
	if keys := prjKeys(list.Items, func(p prjProject) string { return p.Key }); !slices.Equal(slices.Sorted(slices.Values(keys)), []string{"api", "shop", "web"}) {
		t.Errorf("projects after refusals %v", keys)
	}
	if web, _ := e.st.GetProject(t.Context(), "web"); web.Name != "Web" {
		t.Errorf("duplicate changed the project: %+v", web)
	}
}

func TestHTTPProjects_Get(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var p prjProject
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects/shop"}, http.StatusOK, &p)
	if p.Key != "shop" || p.Name != "Shop" || p.Environments != nil || p.Tags == nil {
		t.Fatalf("project %+v", p)
	}
	prjCheckLink(t, p.Links, "self", "/api/v2/projects/shop")
	prjCheckLink(t, p.Links, "flagDefaults", "/api/v2/projects/shop/flag-defaults")

	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects/shop?expand=environments"}, http.StatusOK, &p)
	var envs prjList[prjEnv] // Project: a collection
	if err := json.Unmarshal(p.Environments, &envs); err != nil || len(envs.Items) != 2 || envs.TotalCount == nil || *envs.TotalCount != 2 {
		t.Fatalf("expanded environments %s (%v)", p.Environments, err)
	}
	prjCheckPageLinks(t, envs.Links)
	if envs.Links["self"].Href != "/api/v2/projects/shop/environments?limit=20&offset=0" {
		t.Errorf("environments self link %q", envs.Links["self"].Href)
	}

	other := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/other"}, Actions: []string{"viewProject"}})
	for _, c := range []struct {
		name, path, auth string
		status           int
		code             string
	}{
		{"unknown", "/api/v2/projects/nope", "", 404, CodeNotFound},
		{"unknown expand", "/api/v2/projects/shop?expand=flags", "", 400, CodeInvalidRequest},
		{"no token", "/api/v2/projects/shop", "-", 401, CodeUnauthorized},
		{"bad token", "/api/v2/projects/shop", "api-wrong", 401, CodeUnauthorized},
		{"not allowed", "/api/v2/projects/shop", other, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			prjSub(e, t).errorBody(htReq{Method: http.MethodGet, Path: c.path, Auth: c.auth}, c.status, c.code)
		})
	}
}

func TestHTTPProjects_Patch(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var p prjProject
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/projects/shop", Body: []map[string]any{
		{"op": "replace", "path": "/name", "value": "Shop 2"},
		{"op": "add", "path": "/tags/-", "value": "ops"},
	}}, http.StatusOK, &p)
	if p.Name != "Shop 2" || !slices.Equal(p.Tags, []string{"ops"}) {
		t.Fatalf("patched %+v", p)
	}
	var envs []prjEnv // ProjectRep: every environment, as an array
	if err := json.Unmarshal(p.Environments, &envs); err != nil || len(envs) != 2 {
		t.Fatalf("environments %s (%v)", p.Environments, err)
	}
	prjCheckLink(t, p.Links, "self", "/api/v2/projects/shop")

	// A patch with a comment, and one tunnelled through POST.
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/projects/shop", Body: map[string]any{
		"comment": "rename", "patch": []map[string]any{{"op": "replace", "path": "/name", "value": "Shop 3"}},
	}}, http.StatusOK, &p)
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/projects/shop", Header: http.Header{MethodOverrideHeader: {"PATCH"}},
		Body: []map[string]any{{"op": "replace", "path": "/name", "value": "Shop 4"}}}, http.StatusOK, &p)
	if p.Name != "Shop 4" {
		t.Fatalf("override patch %+v", p)
	}

	reader := prjReaderToken(e)
	small := htServer(t, WithMaxBodyBytes(32))
	rename := []map[string]any{{"op": "replace", "path": "/name", "value": "Changed"}}
	for _, c := range []struct {
		name   string
		env    *htEnv
		req    htReq
		status int
		code   string
	}{
		{"merge patch", e, htReq{Body: map[string]any{"name": "Merged"}}, 400, CodeInvalidRequest},
		{"merge envelope", e, htReq{Body: map[string]any{"merge": map[string]any{"name": "Merged"}}}, 400, CodeInvalidRequest},
		{"semantic", e, htReq{Body: map[string]any{"instructions": []map[string]any{{"kind": "updateName", "value": "S"}}},
			ContentType: "application/json; " + SemanticPatchMediaType}, 400, CodeInvalidRequest},
		{"computed field", e, htReq{Body: []map[string]any{{"op": "replace", "path": "/_id", "value": "x"}}}, 400, CodeInvalidRequest},
		{"key", e, htReq{Body: []map[string]any{{"op": "replace", "path": "/key", "value": "x"}}}, 400, CodeInvalidRequest},
		{"empty name", e, htReq{Body: []map[string]any{{"op": "replace", "path": "/name", "value": ""}}}, 400, CodeInvalidRequest},
		{"unknown field", e, htReq{Body: []map[string]any{{"op": "add", "path": "/color", "value": "x"}}}, 400, CodeInvalidRequest},
		{"failed test", e, htReq{Body: []map[string]any{{"op": "test", "path": "/name", "value": "Other"}, rename[0]}}, 409, CodeOptimisticLocking},
		{"not JSON", e, htReq{Body: "name=x", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"too large", small, htReq{Body: []map[string]any{{"op": "replace", "path": "/name", "value": strings.Repeat("n", 64)}}}, 413, CodeRequestEntityTooLarge},
		{"unknown", e, htReq{Path: "/api/v2/projects/nope", Body: rename}, 404, CodeNotFound},
		{"no token", e, htReq{Body: rename, Auth: "-"}, 401, CodeUnauthorized},
		{"reader", e, htReq{Body: rename, Auth: reader}, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Method = http.MethodPatch
			if c.req.Path == "" {
				c.req.Path = "/api/v2/projects/shop"
			}
			prjSub(c.env, t).errorBody(c.req, c.status, c.code)
		})
	}
	if got, _ := e.st.GetProject(t.Context(), "shop"); got.Name != "Shop 4" {
		t.Errorf("refused patches changed the project: %+v", got)
	}
	// One who may rename the project but not view it gets no environments.
	renamer := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/shop"}, Actions: []string{"updateProjectName"}})
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/projects/shop", Auth: renamer,
		Body: []map[string]any{{"op": "replace", "path": "/name", "value": "Shop 5"}}}, http.StatusOK, &p)
	if p.Name != "Shop 5" || string(p.Environments) != "[]" {
		t.Errorf("renamer's patch %+v %s", p, p.Environments)
	}
}

func TestHTTPProjects_Delete(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prjCreate(e, ProjectPost{Key: "web", Name: "Web"})
	reader := prjReaderToken(e)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/web", Auth: reader}, 403, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/web", Auth: "-"}, 401, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/nope"}, 404, CodeNotFound)

	resp, body := e.do(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/web"})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/projects/web"}, 404, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/projects/web/environments/production"}, 404, CodeNotFound)
	// The account's last project stays.
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/shop"}, 400, CodeInvalidRequest)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/projects/shop"}, http.StatusOK, nil)
	// Through POST with the override header.
	prjCreate(e, ProjectPost{Key: "tmp", Name: "Tmp"})
	resp, _ = e.do(htReq{Method: http.MethodPost, Path: "/api/v2/projects/tmp", Header: http.Header{MethodOverrideHeader: {"DELETE"}}})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("override delete: %d", resp.StatusCode)
	}
}
