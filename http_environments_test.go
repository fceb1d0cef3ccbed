package flagstore

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// prjCreateEnv creates an environment of shop through the Go API, a little
// later than the one before it.
func prjCreateEnv(e *htEnv, p EnvironmentPost) Environment {
	e.t.Helper()
	time.Sleep(2 * time.Millisecond)
	env, err := e.st.CreateEnvironment(e.t.Context(), "shop", p)
	if err != nil {
		e.t.Fatal(err)
	}
	return env
}

const prjEnvs = "/api/v2/projects/shop/environments"

func TestHTTPEnvironments_List(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prjCreateEnv(e, EnvironmentPost{Key: "qa", Name: "QA", Color: "000000", Tags: []string{"x", "y"}, Critical: true})
	prjCreateEnv(e, EnvironmentPost{Key: "dev", Name: "Dev", Color: "000000", Tags: []string{"x"}})
	cases := []struct {
		name, query string
		keys        []string
		total       int
		links       []string
	}{
		{"all", "", []string{"production", "test", "qa", "dev"}, 4, nil},
		{"first page", "limit=2", []string{"production", "test"}, 4, []string{"next", "last"}},
		{"last page", "limit=2&offset=2", []string{"qa", "dev"}, 4, []string{"first", "prev"}},
		{"middle page", "limit=1&offset=2", []string{"qa"}, 4, []string{"first", "prev", "next", "last"}},
		{"one tag", "filter=tags:x", []string{"qa", "dev"}, 2, nil},
		{"all tags", "filter=" + url.QueryEscape("tags:y+x"), []string{"qa"}, 1, nil},
		{"query", "filter=query:PRO", []string{"production"}, 1, nil},
		{"sort name", "sort=name", []string{"dev", "production", "qa", "test"}, 4, nil},
		{"sort -name", "sort=-name", []string{"test", "qa", "production", "dev"}, 4, nil},
		{"sort -createdOn", "sort=-createdOn", []string{"dev", "qa", "test", "production"}, 4, nil},
		{"sort critical", "sort=critical", []string{"production", "test", "dev", "qa"}, 4, nil},
		{"sort -critical paged", "sort=-critical&limit=1", []string{"qa"}, 4, []string{"next", "last"}},
		{"sort critical, tag", "sort=critical&filter=tags:x", []string{"dev", "qa"}, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got prjList[prjEnv]
			prjSub(e, t).json(htReq{Method: http.MethodGet, Path: prjEnvs + "?" + c.query}, http.StatusOK, &got)
			if keys := prjKeys(got.Items, func(e prjEnv) string { return e.Key }); !slices.Equal(keys, c.keys) {
				t.Errorf("keys %v, want %v", keys, c.keys)
			}
			if got.TotalCount == nil || *got.TotalCount != c.total {
				t.Errorf("totalCount %v, want %d", got.TotalCount, c.total)
			}
			prjCheckPageLinks(t, got.Links, c.links...)
			for _, env := range got.Items {
				prjCheckLink(t, env.Links, "self", prjEnvs+"/"+env.Key)
				prjCheckLink(t, env.Links, "parent", prjEnvs)
				if !strings.HasPrefix(env.APIKey, "sdk-") || strings.Contains(env.APIKey, "*") || env.Tags == nil || env.CreationDate == 0 {
					t.Errorf("environment %+v", env)
				}
			}
		})
	}

	other := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/other"}, Actions: []string{"viewProject"}})
	for _, c := range []struct {
		name, path, auth string
		status           int
		code             string
	}{
		{"unsupported sort", prjEnvs + "?sort=key", "", 400, CodeInvalidRequest},
		{"unsupported filter", prjEnvs + "?filter=keys:qa", "", 400, CodeInvalidRequest},
		{"bad limit", prjEnvs + "?limit=x", "", 400, CodeInvalidRequest},
		{"unknown project", "/api/v2/projects/nope/environments", "", 404, CodeNotFound},
		{"no token", prjEnvs, "-", 401, CodeUnauthorized},
		{"not allowed", prjEnvs, other, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			prjSub(e, t).errorBody(htReq{Method: http.MethodGet, Path: c.path, Auth: c.auth}, c.status, c.code)
		})
	}
}

func TestHTTPEnvironments_PostAndGet(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var env prjEnv
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs, Body: map[string]any{
		"key": "staging", "name": "Staging", "color": "DADBEE", "defaultTtl": 5, "secureMode": true,
		"tags": []string{"ops"}, "critical": true,
	}}, http.StatusCreated, &env)
	if env.Key != "staging" || env.Name != "Staging" || env.Color != "DADBEE" || *env.DefaultTTL != 5 || !*env.SecureMode ||
		!slices.Equal(env.Tags, []string{"ops"}) || !env.Critical || env.Version != 1 || env.ID == "" || env.CreationDate == 0 ||
		!strings.HasPrefix(env.APIKey, "sdk-") || !strings.HasPrefix(env.MobileKey, "mob-") ||
		env.DefaultTrackEvents == nil || env.RequireComments == nil || env.ConfirmChanges == nil {
		t.Fatalf("created %+v", env)
	}
	prjCheckLink(t, env.Links, "self", prjEnvs+"/staging")
	prjCheckLink(t, env.Links, "parent", prjEnvs)

	var got prjEnv
	e.json(htReq{Method: http.MethodGet, Path: prjEnvs + "/staging"}, http.StatusOK, &got)
	if got.APIKey != env.APIKey || got.Name != "Staging" {
		t.Fatalf("read %+v", got)
	}
	prjCheckLink(t, got.Links, "self", prjEnvs+"/staging")

	// A principal without viewSdkKey sees masked keys.
	viewer := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/*"}, Actions: []string{"viewProject"}})
	e.json(htReq{Method: http.MethodGet, Path: prjEnvs + "/staging", Auth: viewer}, http.StatusOK, &got)
	if got.APIKey == env.APIKey || !strings.Contains(got.APIKey, "*") || !strings.Contains(got.MobileKey, "*") || got.Key != "staging" {
		t.Errorf("keys not masked: %+v", got)
	}
	var list prjList[prjEnv]
	e.json(htReq{Method: http.MethodGet, Path: prjEnvs, Auth: viewer}, http.StatusOK, &list)
	for _, it := range list.Items {
		if !strings.Contains(it.APIKey, "*") {
			t.Errorf("list shows %s's key", it.Key)
		}
	}

	reader := prjReaderToken(e)
	other := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/other"}, Actions: []string{"viewProject"}})
	small := htServer(t, WithMaxBodyBytes(64))
	post := func(key string) map[string]any { return map[string]any{"key": key, "name": "N", "color": "000000"} }
	for _, c := range []struct {
		name   string
		env    *htEnv
		req    htReq
		status int
		code   string
	}{
		{"duplicate", e, htReq{Method: "POST", Body: post("staging")}, 409, CodeConflict},
		{"bad color", e, htReq{Method: "POST", Body: map[string]any{"key": "c", "name": "C", "color": "#12345"}}, 400, CodeInvalidRequest},
		{"no name", e, htReq{Method: "POST", Body: map[string]any{"key": "c", "color": "000000"}}, 400, CodeInvalidRequest},
		{"bad key", e, htReq{Method: "POST", Body: post("a/b")}, 400, CodeInvalidRequest},
		{"negative ttl", e, htReq{Method: "POST", Body: map[string]any{"key": "c", "name": "C", "color": "000000", "defaultTtl": -1}}, 400, CodeInvalidRequest},
		{"malformed", e, htReq{Method: "POST", Body: `{"key":1}`}, 400, CodeInvalidRequest},
		{"not JSON", e, htReq{Method: "POST", Body: "key=c", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"too large", small, htReq{Method: "POST", Body: map[string]any{"key": "c", "name": strings.Repeat("n", 80), "color": "000000"}}, 413, CodeRequestEntityTooLarge},
		{"unknown project", e, htReq{Method: "POST", Path: "/api/v2/projects/nope/environments", Body: post("c")}, 404, CodeNotFound},
		{"no token", e, htReq{Method: "POST", Body: post("c"), Auth: "-"}, 401, CodeUnauthorized},
		{"reader", e, htReq{Method: "POST", Body: post("c"), Auth: reader}, 403, CodeForbidden},
		{"get unknown", e, htReq{Method: "GET", Path: prjEnvs + "/nope"}, 404, CodeNotFound},
		{"get unknown project", e, htReq{Method: "GET", Path: "/api/v2/projects/nope/environments/production"}, 404, CodeNotFound},
		{"get no token", e, htReq{Method: "GET", Path: prjEnvs + "/production", Auth: "-"}, 401, CodeUnauthorized},
		{"get bad token", e, htReq{Method: "GET", Path: prjEnvs + "/production", Auth: "api-nope"}, 401, CodeUnauthorized},
		{"get not allowed", e, htReq{Method: "GET", Path: prjEnvs + "/production", Auth: other}, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.req.Path == "" {
				c.req.Path = prjEnvs
			}
			prjSub(c.env, t).errorBody(c.req, c.status, c.code)
		})
	}
	list = prjList[prjEnv]{}
	e.json(htReq{Method: http.MethodGet, Path: prjEnvs}, http.StatusOK, &list)
	if keys := prjKeys(list.Items, func(e prjEnv) string { return e.Key }); len(keys) != 3 {
		t.Errorf("environments after refusals %v", keys)
	}
}

func TestHTTPEnvironments_PostFromSource(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	st := e.st
	if _, err := st.UpdateEnvironment(ctx, "shop", "production", func(env *Environment) error {
		env.SecureMode, env.DefaultTTL, env.Tags, env.RequireComments = true, 7, []string{"prod"}, true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSegment(ctx, "shop", "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateSegment(ctx, "shop", "production", "beta", func(s *Segment) error {
		s.Included = []string{"u1"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "checkout", Name: "Checkout"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PatchFlag(ctx, "shop", "checkout", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[
		{"op":"replace","path":"/environments/production/on","value":true},
		{"op":"add","path":"/environments/production/rules/-","value":{"variation":0,"clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"],"negate":false}]}}
	]`)}); err != nil {
		t.Fatal(err)
	}
	prod, err := st.GetEnvironment(ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}

	var env prjEnv
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs, Body: map[string]any{
		"key": "staging", "name": "Staging", "color": "00FF00", "requireComments": false,
		"source": map[string]any{"key": "production", "version": prod.Version},
	}}, http.StatusCreated, &env)
	// Settings come from the source unless the body gives them.
	if !*env.SecureMode || *env.DefaultTTL != 7 || !slices.Equal(env.Tags, []string{"prod"}) || *env.RequireComments ||
		env.Color != "00FF00" || env.APIKey == prod.APIKey || env.Version != 1 {
		t.Fatalf("clone %+v", env)
	}
	seg, err := st.GetSegment(ctx, "shop", "staging", "beta")
	if err != nil || !slices.Equal(seg.Included, []string{"u1"}) {
		t.Fatalf("cloned segment %+v, %v", seg, err)
	}
	f, err := st.GetFlag(ctx, "shop", "checkout")
	if err != nil {
		t.Fatal(err)
	}
	pc, sc := f.Environments["production"], f.Environments["staging"]
	if sc == nil || !sc.On || len(sc.Rules) != 1 || sc.Rules[0].Clauses[0].Values[0] != "beta" || sc.Salt == pc.Salt {
		t.Fatalf("cloned targeting %+v", sc)
	}
	// The clone's flag rule uses the clone's segment.
	if err := st.DeleteSegment(ctx, "shop", "staging", "beta"); !errors.Is(err, ErrConflict) {
		t.Errorf("delete a used cloned segment: %v", err)
	}
	// A new environment without a source starts empty.
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs, Body: map[string]any{"key": "fresh", "name": "Fresh", "color": "000000"}}, http.StatusCreated, &env)
	if *env.SecureMode || *env.DefaultTTL != 0 || len(env.Tags) != 0 {
		t.Errorf("fresh environment %+v", env)
	}
	if f, _ := st.GetFlag(ctx, "shop", "checkout"); f.Environments["fresh"].On || len(f.Environments["fresh"].Rules) != 0 {
		t.Errorf("fresh targeting %+v", f.Environments["fresh"])
	}

	for _, c := range []struct {
		name   string
		source map[string]any
		status int
		code   string
	}{
		{"stale version", map[string]any{"key": "production", "version": prod.Version - 1}, 409, CodeOptimisticLocking},
		{"unknown source", map[string]any{"key": "nope"}, 400, CodeInvalidRequest},
		{"no source key", map[string]any{}, 400, CodeInvalidRequest},
	} {
		t.Run(c.name, func(t *testing.T) {
			prjSub(e, t).errorBody(htReq{Method: http.MethodPost, Path: prjEnvs, Body: map[string]any{
				"key": "copy", "name": "Copy", "color": "000000", "source": c.source}}, c.status, c.code)
		})
	}
	if _, err := st.GetEnvironment(ctx, "shop", "copy"); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused clone created the environment: %v", err)
	}
}

func TestHTTPEnvironments_Patch(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var env prjEnv
	e.json(htReq{Method: http.MethodPatch, Path: prjEnvs + "/test", Body: []map[string]any{
		{"op": "test", "path": "/version", "value": 1},
		{"op": "replace", "path": "/requireComments", "value": true},
		{"op": "add", "path": "/tags/0", "value": "qa"},
	}}, http.StatusOK, &env)
	if !*env.RequireComments || !slices.Equal(env.Tags, []string{"qa"}) || env.Version != 2 || !strings.HasPrefix(env.APIKey, "sdk-") {
		t.Fatalf("patched %+v", env)
	}
	prjCheckLink(t, env.Links, "self", prjEnvs+"/test")
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs + "/test", Header: http.Header{MethodOverrideHeader: {"PATCH"}},
		Body: []map[string]any{{"op": "replace", "path": "/name", "value": "Testing"}}}, http.StatusOK, &env)
	if env.Name != "Testing" || env.Version != 3 {
		t.Fatalf("override patch %+v", env)
	}

	reader := prjReaderToken(e)
	rename := []map[string]any{{"op": "replace", "path": "/name", "value": "Changed"}}
	for _, c := range []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		{"stale version", htReq{Body: []map[string]any{{"op": "test", "path": "/version", "value": 1}, rename[0]}}, 409, CodeOptimisticLocking},
		{"merge patch", htReq{Body: map[string]any{"name": "Merged"}}, 400, CodeInvalidRequest},
		{"sdk key", htReq{Body: []map[string]any{{"op": "replace", "path": "/apiKey", "value": "sdk-mine"}}}, 400, CodeInvalidRequest},
		{"version", htReq{Body: []map[string]any{{"op": "replace", "path": "/version", "value": 9}}}, 400, CodeInvalidRequest},
		{"bad color", htReq{Body: []map[string]any{{"op": "replace", "path": "/color", "value": "red"}}}, 400, CodeInvalidRequest},
		{"computed", htReq{Body: []map[string]any{{"op": "replace", "path": "/_id", "value": "x"}}}, 400, CodeInvalidRequest},
		{"missing path", htReq{Body: []map[string]any{{"op": "remove", "path": "/nope/0"}}}, 422, CodePatchFailed},
		{"not JSON", htReq{Body: "x", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"unknown", htReq{Path: prjEnvs + "/nope", Body: rename}, 404, CodeNotFound},
		{"no token", htReq{Body: rename, Auth: "-"}, 401, CodeUnauthorized},
		{"reader", htReq{Body: rename, Auth: reader}, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Method = http.MethodPatch
			if c.req.Path == "" {
				c.req.Path = prjEnvs + "/test"
			}
			prjSub(e, t).errorBody(c.req, c.status, c.code)
		})
	}
	small := htServer(t, WithMaxBodyBytes(32))
	small.errorBody(htReq{Method: http.MethodPatch, Path: prjEnvs + "/test", Body: rename}, 413, CodeRequestEntityTooLarge)
	if got, _ := e.st.GetEnvironment(t.Context(), "shop", "test"); got.Name != "Testing" || got.Version != 3 {
		t.Errorf("refused patches changed the environment: %+v", got)
	}
}

func TestHTTPEnvironments_Delete(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	reader := prjReaderToken(e)
	e.errorBody(htReq{Method: http.MethodDelete, Path: prjEnvs + "/test", Auth: reader}, 403, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodDelete, Path: prjEnvs + "/test", Auth: "-"}, 401, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodDelete, Path: prjEnvs + "/nope"}, 404, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/nope/environments/test"}, 404, CodeNotFound)
	resp, body := e.do(htReq{Method: http.MethodDelete, Path: prjEnvs + "/test"})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: prjEnvs + "/test"}, 404, CodeNotFound)
	// A project keeps one environment.
	e.errorBody(htReq{Method: http.MethodDelete, Path: prjEnvs + "/production"}, 400, CodeInvalidRequest)
}

func TestHTTPEnvironments_ResetKeys(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	ctx := t.Context()
	before, err := e.st.GetEnvironment(ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	// A reset without a body may carry any Content-Type.
	var env prjEnv
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs + "/production/apiKey", Header: http.Header{"Content-Type": {"text/plain"}}}, http.StatusOK, &env)
	if env.APIKey == before.APIKey || !strings.HasPrefix(env.APIKey, "sdk-") || env.MobileKey != before.MobileKey || env.Key != "production" {
		t.Fatalf("reset %+v", env)
	}
	prjCheckLink(t, env.Links, "self", prjEnvs+"/production")
	if _, err := e.st.LookupCredential(ctx, before.APIKey); !errors.Is(err, ErrNotFound) {
		t.Errorf("old SDK key still works: %v", err)
	}
	// With an expiry the old key works until then.
	old := env.APIKey
	expiry := time.Now().Add(time.Hour).UnixMilli()
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs + "/production/apiKey?expiry=" + strconv.FormatInt(expiry, 10)}, http.StatusOK, &env)
	if c, err := e.st.LookupCredential(ctx, old); err != nil || c.Expires != expiry {
		t.Errorf("old SDK key with expiry: %+v, %v", c, err)
	}
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs + "/production/mobileKey"}, http.StatusOK, &env)
	if env.MobileKey == before.MobileKey || !strings.HasPrefix(env.MobileKey, "mob-") {
		t.Fatalf("mobile reset %+v", env)
	}
	if _, err := e.st.LookupCredential(ctx, before.MobileKey); !errors.Is(err, ErrNotFound) {
		t.Errorf("old mobile key still works: %v", err)
	}

	// One who may reset but not view keys gets them masked.
	resetter := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/*", "proj/*:env/*"}, Actions: []string{"viewProject", "updateApiKey"}})
	e.json(htReq{Method: http.MethodPost, Path: prjEnvs + "/test/apiKey", Auth: resetter}, http.StatusOK, &env)
	if !strings.Contains(env.APIKey, "*") || !strings.Contains(env.MobileKey, "*") {
		t.Errorf("reset shows keys to a principal without viewSdkKey: %+v", env)
	}

	reader := prjReaderToken(e)
	current, err := e.st.GetEnvironment(ctx, "shop", "production")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		{"bad expiry", htReq{Path: prjEnvs + "/production/apiKey?expiry=soon"}, 400, CodeInvalidRequest},
		{"past expiry", htReq{Path: prjEnvs + "/production/apiKey?expiry=1000"}, 400, CodeInvalidRequest},
		{"body not JSON", htReq{Path: prjEnvs + "/production/apiKey", Body: "x", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"unknown sdk", htReq{Path: prjEnvs + "/nope/apiKey"}, 404, CodeNotFound},
		{"unknown mobile", htReq{Path: "/api/v2/projects/nope/environments/production/mobileKey"}, 404, CodeNotFound},
		{"no token", htReq{Path: prjEnvs + "/production/apiKey", Auth: "-"}, 401, CodeUnauthorized},
		{"reader sdk", htReq{Path: prjEnvs + "/production/apiKey", Auth: reader}, 403, CodeForbidden},
		{"reader mobile", htReq{Path: prjEnvs + "/production/mobileKey", Auth: reader}, 403, CodeForbidden},
		{"mobile without permission", htReq{Path: prjEnvs + "/production/mobileKey", Auth: resetter}, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.req.Method = http.MethodPost
			prjSub(e, t).errorBody(c.req, c.status, c.code)
		})
	}
	if got, _ := e.st.GetEnvironment(ctx, "shop", "production"); got.APIKey != current.APIKey || got.MobileKey != current.MobileKey || got.Version != current.Version {
		t.Errorf("refused resets changed the environment: %+v, was %+v", got, current)
	}
}
