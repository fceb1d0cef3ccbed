package flagstore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The route matrix: every route the handler serves, called with every kind
// of credential, and every operation checked against LaunchDarkly's spec.
// Both tests enumerate the routes from allRoutes, so a route added later
// fails them until it has a request builder in mxBuilders.

// mxFixture is the matrix's shared server: the project "shop" (production
// and test), the flag "f" with user targets in production, the segment
// "seg" in production, and the credentials that do not depend on a route.
type mxFixture struct {
	e *htEnv
	n atomic.Int64
	// Environment credentials of shop/production.
	sdkKey, mobileKey, clientID string
	// Personal tokens of a reader and of a writer member.
	reader, writer string
	// ownerID creates the custom roles' service tokens.
	ownerID string
}

// mxBadToken is well formed but belongs to no token.
const mxBadToken = "api-00000000-0000-4000-8000-00000000dead"

func newMxFixture(t *testing.T, e *htEnv) *mxFixture {
	t.Helper()
	ctx := t.Context()
	st := e.st
	f := &mxFixture{e: e}
	env := tstMustEnv(t, st, "shop", "production")
	f.sdkKey, f.mobileKey, f.clientID = env.APIKey, env.MobileKey, env.ID
	members, err := st.InviteMembers(ctx, []MemberInvite{
		{Email: "mx-reader@example.com", Role: RoleReader},
		{Email: "mx-writer@example.com", Role: RoleWriter},
	})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := st.CreateToken(ctx, members[0].ID, TokenPost{Name: "mx reader", Role: RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	wt, err := st.CreateToken(ctx, members[1].ID, TokenPost{Name: "mx writer", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	f.reader, f.writer = rt.Token, wt.Token
	owner, err := st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.ownerID = owner.ID
	f.targetedFlag(t, "f")
	tstMustSegment(t, st, "shop", "production", "seg")
	return f
}

// key returns a key no other case uses.
func (f *mxFixture) key(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, f.n.Add(1))
}

// targetedFlag creates a boolean flag that targets the user alice with its
// first variation in production, and returns that variation's ID.
func (f *mxFixture) targetedFlag(t *testing.T, key string) string {
	t.Helper()
	tstMustFlag(t, f.e.st, "shop", key)
	fl, err := f.e.st.UpdateFlag(t.Context(), "shop", key, func(fl *Flag) error {
		fl.Environments["production"].Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fl.Variations[0].ID
}

// project creates a fresh project (with production and test).
func (f *mxFixture) project(t *testing.T) string {
	t.Helper()
	k := f.key("mxp")
	tstMustProject(t, f.e.st, k)
	return k
}

// environment creates a fresh environment of shop.
func (f *mxFixture) environment(t *testing.T) string {
	t.Helper()
	k := f.key("mxe")
	if _, err := f.e.st.CreateEnvironment(t.Context(), "shop", EnvironmentPost{Key: k, Name: k, Color: "00ff00"}); err != nil {
		t.Fatal(err)
	}
	return k
}

// customToken creates a custom role with the given policy and a service
// token holding (only) that role, and returns the token's secret.
func (f *mxFixture) customToken(t *testing.T, policy []Statement) string {
	t.Helper()
	k := f.key("mx-role")
	cr, err := f.e.st.CreateCustomRole(t.Context(), CustomRolePost{Key: k, Name: k, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.e.st.CreateToken(t.Context(), f.ownerID, TokenPost{Name: k, CustomRoleIDs: []string{cr.ID}, ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

// mxGrant is one action on one concrete resource that a route needs.
type mxGrant struct{ action, resource string }

// mxCase is one concrete request of a route.
type mxCase struct {
	req htReq // Auth is set per credential
	// grants are what the route needs; none for a route that needs only
	// an authenticated caller.
	grants []mxGrant
	// listed, for a list that leaves out what the caller may not view
	// instead of refusing: whether the response shows the resource.
	listed func(body []byte) bool
}

// mxBuilder builds a fresh request of one operation; writes get resources
// of their own, so that no case sees another's changes.
type mxBuilder func(t *testing.T, f *mxFixture) mxCase

func mxGet(path string, grants ...mxGrant) mxBuilder {
	return func(*testing.T, *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: path}, grants: grants}
	}
}

func mxView(proj string) mxGrant { return mxGrant{"viewProject", projRes(proj)} }

// mxJSONPatch is a JSON Patch replacing one field.
func mxJSONPatch(path string, value any) []map[string]any {
	return []map[string]any{{"op": "replace", "path": path, "value": value}}
}

// mxFlagDefaults is a complete UpsertFlagDefaultsPayload.
var mxFlagDefaults = map[string]any{
	"tags": []string{"mx"}, "temporary": true,
	"booleanDefaults": map[string]any{
		"trueDisplayName": "Yes", "falseDisplayName": "No", "trueDescription": "on", "falseDescription": "off",
		"onVariation": 0, "offVariation": 1,
	},
	"defaultClientSideAvailability": map[string]any{"usingMobileKey": true, "usingEnvironmentId": false},
}

// mxBuilders holds one request builder per served operationId.
var mxBuilders = map[string]mxBuilder{
	"getOpenapiSpec": mxGet("/api/v2/openapi.json"),
	// Root.
	"getRoot":     mxGet("/api/v2"),
	"getVersions": mxGet("/api/v2/versions"),

	// Projects.
	"getProjects": func(*testing.T, *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/projects?filter=keys:shop"},
			grants: []mxGrant{mxView("shop")},
			listed: func(body []byte) bool { return mxListHas(body, "key", "shop") }}
	},
	"postProject": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxnp")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/projects", Body: map[string]any{"key": k, "name": k}},
			grants: []mxGrant{{"createProject", projRes(k)}}}
	},
	"getProject": mxGet("/api/v2/projects/shop", mxView("shop")),
	"patchProject": func(t *testing.T, f *mxFixture) mxCase {
		p := f.project(t)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/projects/" + p, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateProjectName", projRes(p)}}}
	},
	"deleteProject": func(t *testing.T, f *mxFixture) mxCase {
		p := f.project(t)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/projects/" + p},
			grants: []mxGrant{{"deleteProject", projRes(p)}}}
	},
	"getFlagDefaultsByProject": mxGet("/api/v2/projects/shop/flag-defaults", mxView("shop")),
	"putFlagDefaultsByProject": func(t *testing.T, f *mxFixture) mxCase {
		p := f.project(t)
		return mxCase{req: htReq{Method: http.MethodPut, Path: "/api/v2/projects/" + p + "/flag-defaults", Body: mxFlagDefaults},
			grants: []mxGrant{{"updateProjectFlagDefaults", projRes(p)}}}
	},
	"patchFlagDefaultsByProject": func(t *testing.T, f *mxFixture) mxCase {
		p := f.project(t)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/projects/" + p + "/flag-defaults", Body: mxJSONPatch("/tags", []string{"mx"})},
			grants: []mxGrant{{"updateProjectFlagDefaults", projRes(p)}}}
	},

	// Environments.
	"getEnvironmentsByProject": mxGet("/api/v2/projects/shop/environments", mxView("shop")),
	"postEnvironment": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxne")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/projects/shop/environments", Body: map[string]any{"key": k, "name": k, "color": "ff0000"}},
			grants: []mxGrant{{"createEnvironment", envRes("shop", k)}}}
	},
	"getEnvironment": mxGet("/api/v2/projects/shop/environments/production", mxView("shop")),
	"patchEnvironment": func(t *testing.T, f *mxFixture) mxCase {
		env := f.environment(t)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/projects/shop/environments/" + env, Body: mxJSONPatch("/color", "0000ff")},
			grants: []mxGrant{{"updateColor", envRes("shop", env)}}}
	},
	"deleteEnvironment": func(t *testing.T, f *mxFixture) mxCase {
		env := f.environment(t)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/projects/shop/environments/" + env},
			grants: []mxGrant{{"deleteEnvironment", envRes("shop", env)}}}
	},
	"resetEnvironmentSDKKey": func(t *testing.T, f *mxFixture) mxCase {
		env := f.environment(t)
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/projects/shop/environments/" + env + "/apiKey"},
			grants: []mxGrant{{"updateApiKey", envRes("shop", env)}}}
	},
	"resetEnvironmentMobileKey": func(t *testing.T, f *mxFixture) mxCase {
		env := f.environment(t)
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/projects/shop/environments/" + env + "/mobileKey"},
			grants: []mxGrant{{"updateMobileKey", envRes("shop", env)}}}
	},

	// Segments.
	"getSegments": mxGet("/api/v2/segments/shop/production", mxView("shop")),
	"postSegment": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxns")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/segments/shop/production", Body: map[string]any{"key": k, "name": k}},
			grants: []mxGrant{{"createSegment", segmentRes("shop", "production", k)}}}
	},
	"getSegment": mxGet("/api/v2/segments/shop/production/seg", mxView("shop")),
	"patchSegment": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxs")
		tstMustSegment(t, f.e.st, "shop", "production", k)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/segments/shop/production/" + k, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateName", segmentRes("shop", "production", k)}}}
	},
	"deleteSegment": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxs")
		tstMustSegment(t, f.e.st, "shop", "production", k)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/segments/shop/production/" + k},
			grants: []mxGrant{{"deleteSegment", segmentRes("shop", "production", k)}}}
	},

	// Flags.
	"getFeatureFlags": mxGet("/api/v2/flags/shop", mxView("shop")),
	"postFeatureFlag": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxnf")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop", Body: map[string]any{"key": k, "name": k}},
			grants: []mxGrant{{"createFlag", flagRes("shop", "*", k)}}}
	},
	"getFeatureFlag": mxGet("/api/v2/flags/shop/f", mxView("shop")),
	"patchFeatureFlag": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxf")
		tstMustFlag(t, f.e.st, "shop", k)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/flags/shop/" + k, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateName", flagRes("shop", "*", k)}}}
	},
	"deleteFeatureFlag": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxf")
		tstMustFlag(t, f.e.st, "shop", k)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/flags/shop/" + k},
			grants: []mxGrant{{"deleteFlag", flagRes("shop", "*", k)}}}
	},
	"copyFeatureFlag": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxf")
		f.targetedFlag(t, k)
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop/" + k + "/copy",
			Body: map[string]any{"source": map[string]any{"key": "production"}, "target": map[string]any{"key": "test"}}},
			grants: []mxGrant{
				{"copyFlagConfigFrom", flagRes("shop", "production", k)},
				{"copyFlagConfigTo", flagRes("shop", "test", k)},
			}}
	},

	// Flag statuses.
	"getFeatureFlagStatuses":                 mxGet("/api/v2/flag-statuses/shop/production", mxView("shop")),
	"getFeatureFlagStatus":                   mxGet("/api/v2/flag-statuses/shop/production/f", mxView("shop")),
	"getFeatureFlagStatusAcrossEnvironments": mxGet("/api/v2/flag-status/shop/f", mxView("shop")),

	// Expiring targets.
	"getExpiringContextTargets": mxGet("/api/v2/flags/shop/f/expiring-targets/production", mxView("shop")),
	"getExpiringUserTargets":    mxGet("/api/v2/flags/shop/f/expiring-user-targets/production", mxView("shop")),
	"patchExpiringTargets": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxf")
		v0 := f.targetedFlag(t, k)
		due := time.Now().Add(time.Hour).UnixMilli()
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/flags/shop/" + k + "/expiring-targets/production", ContentType: hxSemantic,
			Body: map[string]any{"instructions": []map[string]any{
				{"kind": "addExpiringTarget", "value": due, "variationId": v0, "contextKey": "alice", "contextKind": "user"}}}},
			grants: []mxGrant{{"updateExpiringTargets", flagRes("shop", "production", k)}}}
	},
	"patchExpiringUserTargets": func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxf")
		v0 := f.targetedFlag(t, k)
		due := time.Now().Add(time.Hour).UnixMilli()
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/flags/shop/" + k + "/expiring-user-targets/production", ContentType: hxSemantic,
			Body: map[string]any{"instructions": []map[string]any{
				{"kind": "addExpireUserTargetDate", "value": due, "variationId": v0, "userKey": "alice"}}}},
			grants: []mxGrant{{"updateExpiringTargets", flagRes("shop", "production", k)}}}
	},
}

// mxListHas reports whether a collection body lists an item whose field
// is value.
func mxListHas(body []byte, field, value string) bool {
	var c struct {
		Items []map[string]any `json:"items"`
	}
	if json.Unmarshal(body, &c) != nil {
		return false
	}
	for _, it := range c.Items {
		if it[field] == value {
			return true
		}
	}
	return false
}

// mxPublicOps are the operations that need no credentials: LaunchDarkly's
// spec declares no 401 for them. A route made public by mistake fails the
// matrix here rather than passing as "public routes answer anyone".
var mxPublicOps = map[string]bool{"getRoot": true, "getOpenapiSpec": true}

// mxServedRoutes are the handler's routes, each checked to have a builder
// and to be public exactly when mxPublicOps says; builders for operations
// no longer served are reported too.
func mxServedRoutes(t *testing.T, st *Store) []*route {
	t.Helper()
	routes := (&api{s: st}).allRoutes()
	served := map[string]bool{}
	for _, rt := range routes {
		served[rt.operationID] = true
		if mxBuilders[rt.operationID] == nil {
			t.Errorf("route %s %s (%s) has no request builder in mxBuilders", rt.method, rt.path, rt.operationID)
		}
		if rt.public != mxPublicOps[rt.operationID] {
			t.Errorf("route %s %s (%s): public is %v, want %v", rt.method, rt.path, rt.operationID, rt.public, mxPublicOps[rt.operationID])
		}
	}
	for op := range mxBuilders {
		if !served[op] {
			t.Errorf("mxBuilders has a builder for %s, which the handler does not serve", op)
		}
	}
	return routes
}

// mxSend sends c's request as auth, with the beta header a beta route
// needs, and returns the status, error code (if any) and body.
func mxSend(e *htEnv, rt *route, c mxCase, auth string) (int, string, []byte) {
	e.t.Helper()
	req := c.req
	req.Auth = auth
	if rt.beta {
		req.Header = req.Header.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header.Set(APIVersionHeader, "beta")
	}
	resp, body := e.do(req)
	var eb struct {
		Code string `json:"code"`
	}
	if resp.StatusCode >= 400 {
		_ = json.Unmarshal(body, &eb)
	}
	return resp.StatusCode, eb.Code, body
}

// mxCred is one credential of the matrix.
type mxCred struct {
	name string
	// secret returns the Authorization value ("-": none) for a case.
	secret func(t *testing.T, f *mxFixture, c mxCase) string
	// want is the expected outcome: "2xx", "401" or "403".
	want func(rt *route, c mxCase) string
	// denies marks a role that denies what the route needs: a list
	// answers without the resource.
	denies bool
}

func mxAlways(s string) func(*route, mxCase) string { return func(*route, mxCase) string { return s } }

func mxFixed(get func(f *mxFixture) string) func(*testing.T, *mxFixture, mxCase) string {
	return func(_ *testing.T, f *mxFixture, _ mxCase) string { return get(f) }
}

// mxAllowAll lets a custom role do everything in every project.
var mxAllowAll = Statement{Effect: "allow", Actions: []string{"*"}, Resources: slices.Clone(projectFamily)}

// mxWriterDenied lists the operations the writer base role may not call
// (members, teams, roles: only admins manage them); add to it from an
// init function of the family's test file.
var mxWriterDenied = map[string]bool{}

// mxReadPosts lists the POST operations that only read (a search, a count):
// the reader base role may call them; add to it from an init function of
// the family's test file.
var mxReadPosts = map[string]bool{}

// mxCreds are the credentials every route is called with. The denied ones
// (one per grant the route needs) are added per route.
func mxCreds(grants []mxGrant) []mxCred {
	out := []mxCred{
		{name: "no credentials", secret: mxFixed(func(*mxFixture) string { return "-" }), want: mxAlways("401")},
		{name: "bad token", secret: mxFixed(func(*mxFixture) string { return mxBadToken }), want: mxAlways("401")},
		{name: "SDK key", secret: mxFixed(func(f *mxFixture) string { return f.sdkKey }), want: mxAlways("401")},
		{name: "mobile key", secret: mxFixed(func(f *mxFixture) string { return f.mobileKey }), want: mxAlways("401")},
		{name: "client-side ID", secret: mxFixed(func(f *mxFixture) string { return f.clientID }), want: mxAlways("401")},
		{name: "reader token", secret: mxFixed(func(f *mxFixture) string { return f.reader }), want: func(rt *route, _ mxCase) string {
			if rt.method == http.MethodGet || mxReadPosts[rt.operationID] {
				return "2xx"
			}
			return "403"
		}},
		{name: "writer token", secret: mxFixed(func(f *mxFixture) string { return f.writer }), want: func(rt *route, _ mxCase) string {
			if mxWriterDenied[rt.operationID] {
				return "403"
			}
			return "2xx"
		}},
		{name: "custom role allowing", secret: func(t *testing.T, f *mxFixture, c mxCase) string {
			var policy []Statement
			for _, g := range c.grants {
				policy = append(policy, Statement{Effect: "allow", Actions: []string{g.action}, Resources: []string{g.resource}})
			}
			if len(policy) == 0 {
				// The route needs no permission: any custom role will do.
				policy = []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/none"}}}
			}
			return f.customToken(t, policy)
		}, want: mxAlways("2xx")},
	}
	if len(grants) == 0 {
		// Nothing to deny: a role that may do nothing in any project is
		// still an authenticated caller.
		out = append(out, mxCred{"custom role denying everything", func(t *testing.T, f *mxFixture, _ mxCase) string {
			return f.customToken(t, []Statement{{Effect: "deny", Actions: []string{"*"}, Resources: slices.Clone(projectFamily)}})
		}, mxAlways("2xx"), true})
	}
	for i, g := range grants {
		out = append(out, mxCred{"custom role denying " + g.action, func(t *testing.T, f *mxFixture, c mxCase) string {
			g := c.grants[i]
			return f.customToken(t, []Statement{mxAllowAll, {Effect: "deny", Actions: []string{g.action}, Resources: []string{g.resource}}})
		}, func(_ *route, c mxCase) string {
			if c.listed != nil {
				return "2xx" // the list leaves the resource out
			}
			return "403"
		}, true})
	}
	return out
}

func TestHTTP_AuthMatrix(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := htServer(t)
	f := newMxFixture(t, e)
	routes := mxServedRoutes(t, e.st)
	t.Cleanup(func() { t.Logf("%d routes in %v", len(routes), time.Since(start)) })
	for _, rt := range routes {
		build := mxBuilders[rt.operationID]
		if build == nil {
			continue // reported by mxServedRoutes
		}
		t.Run(rt.operationID, func(t *testing.T) {
			t.Parallel()
			// The denied credentials, one per grant, follow the route's
			// grants; every credential then gets a fresh case.
			probe := build(t, f)
			for _, cred := range mxCreds(probe.grants) {
				t.Run(cred.name, func(t *testing.T) {
					t.Parallel()
					c := build(t, f)
					want := cred.want(rt, c)
					if rt.public {
						want = "2xx"
					}
					sub := &htEnv{t: t, st: e.st, srv: e.srv}
					status, code, body := mxSend(sub, rt, c, cred.secret(t, f, c))
					switch want {
					case "2xx":
						if status < 200 || status > 299 {
							t.Fatalf("%s %s: status %d, want 2xx; body %.400s", c.req.Method, c.req.Path, status, body)
						}
						if c.listed != nil {
							if got := c.listed(body); got == cred.denies {
								t.Fatalf("%s %s: resource listed = %v; body %.400s", c.req.Method, c.req.Path, got, body)
							}
						}
					case "401":
						if status != http.StatusUnauthorized || code != CodeUnauthorized {
							t.Fatalf("%s %s: status %d code %q, want 401 %s; body %.400s", c.req.Method, c.req.Path, status, code, CodeUnauthorized, body)
						}
					case "403":
						if status != http.StatusForbidden || code != CodeForbidden {
							t.Fatalf("%s %s: status %d code %q, want 403 %s; body %.400s", c.req.Method, c.req.Path, status, code, CodeForbidden, body)
						}
					}
				})
			}
		})
	}
}

// mxWildcard matches a path wildcard of a route.
var mxWildcard = regexp.MustCompile(`\{[A-Za-z]+\}`)

// mxDefaultKeys fill path wildcards with keys that exist.
var mxDefaultKeys = map[string]string{
	"projectKey": "shop", "environmentKey": "production", "featureFlagKey": "f", "segmentKey": "seg",
}

// mxPath fills a route's wildcards with existing keys, except the one at
// position missing (-1: none), which names nothing.
func mxPath(t *testing.T, rt *route, missing int) string {
	t.Helper()
	i := -1
	p := mxWildcard.ReplaceAllStringFunc(rt.path, func(w string) string {
		i++
		if i == missing {
			return "mx-missing"
		}
		k, ok := mxDefaultKeys[strings.Trim(w, "{}")]
		if !ok {
			t.Fatalf("route %s: no default key for %s", rt.operationID, w)
		}
		return k
	})
	return apiPrefix + p
}

// mxBadRequests provoke a 400 where a malformed JSON body does not (a
// route that reads no body, or a read).
var mxBadRequests = map[string]htReq{
	"getProjects":              {Method: http.MethodGet, Path: "/api/v2/projects?sort=bogus"},
	"getProject":               {Method: http.MethodGet, Path: "/api/v2/projects/shop?expand=bogus"},
	"getEnvironmentsByProject": {Method: http.MethodGet, Path: "/api/v2/projects/shop/environments?sort=bogus"},
	"getFeatureFlags":          {Method: http.MethodGet, Path: "/api/v2/flags/shop?filter=bogus:1"},
	"resetEnvironmentSDKKey":   {Method: http.MethodPost, Path: "/api/v2/projects/shop/environments/test/apiKey?expiry=soon"},
}

// mxNoCheapStatus lists declared error statuses that this test does not
// provoke, and why; every other declared 400, 401, 403, 404 and 409 is.
var mxNoCheapStatus = map[string]map[int]string{
	"getProjects": {403: "a caller who may not view a project gets the list without it"},
	"getVersions": {403: "the versions need no permission, only an authenticated caller"},
	"resetEnvironmentMobileKey": {
		400: "it takes no body and no parameter to get wrong",
		409: "nothing a reset does can conflict",
	},
	"resetEnvironmentSDKKey":   {409: "nothing a reset does can conflict"},
	"putFlagDefaultsByProject": {409: "a PUT replaces the defaults whatever they were"},
}

// mxUndeclared is the allow-list of error statuses flagstore answers that
// LaunchDarkly's spec does not declare for the operation. The spec's lists
// are incomplete rather than flagstore wrong: each entry is provoked below
// (so a stale entry fails), its body is checked to be LaunchDarkly's error
// body, and the schema check's only complaint must be the status itself.
var mxUndeclared = map[string]map[int]string{
	// 403: an access token whose roles do not allow the change (G9). The
	// spec declares 403 for the other writes of these families, and for
	// getFeatureFlag, and LaunchDarkly's custom roles can deny each of
	// these actions (createFlag, updateName, deleteFlag, copyFlagConfigTo,
	// updateColor, viewProject).
	"postFeatureFlag": {
		403: "createFlag denied",
		404: "unknown project, as every other operation under /flags/{projectKey} answers",
	},
	"patchFeatureFlag":  {403: "an update action denied"},
	"deleteFeatureFlag": {403: "deleteFlag denied"},
	"copyFeatureFlag": {
		403: "copyFlagConfigFrom or copyFlagConfigTo denied",
		404: "unknown project or flag (the spec declares no 404 at all for copy)",
	},
	"patchEnvironment": {403: "an update action denied"},
	"getSegments":      {403: "viewProject denied"},
	"getSegment":       {403: "viewProject denied"},
}

// mxExtraSuccesses are successful calls beyond each builder's own, for
// representations the plain calls do not show: expanded projects, full
// flag configurations, a segment that a flag uses, expiring targets.
func mxExtraSuccesses(t *testing.T, f *mxFixture) []htReq {
	t.Helper()
	fl, err := f.e.st.UpdateFlag(t.Context(), "shop", "f", func(fl *Flag) error {
		v := 1
		fl.Environments["production"].Rules = []Rule{{Variation: &v, Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"seg"}}}}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	due := time.Now().Add(time.Hour).UnixMilli()
	return []htReq{
		{Method: http.MethodPatch, Path: "/api/v2/flags/shop/f/expiring-targets/production", ContentType: hxSemantic,
			Body: map[string]any{"instructions": []map[string]any{
				{"kind": "addExpiringTarget", "value": due, "variationId": fl.Variations[0].ID, "contextKey": "alice", "contextKind": "user"}}}},
		{Method: http.MethodGet, Path: "/api/v2/flags/shop/f/expiring-targets/production"},
		{Method: http.MethodGet, Path: "/api/v2/flags/shop/f/expiring-user-targets/production"},
		{Method: http.MethodGet, Path: "/api/v2/segments/shop/production/seg"},
		{Method: http.MethodGet, Path: "/api/v2/projects?expand=environments"},
		{Method: http.MethodGet, Path: "/api/v2/projects/shop?expand=environments"},
		{Method: http.MethodGet, Path: "/api/v2/flags/shop?env=production&summary=0"},
		{Method: http.MethodGet, Path: "/api/v2/flags/shop?filter=filterEnv:production&expand=evaluation"},
		{Method: http.MethodGet, Path: "/api/v2/flags/shop/f?env=production&expand=evaluation"},
		{Method: http.MethodGet, Path: "/api/v2/flag-status/shop/f?env=production"},
		{Method: http.MethodPost, Path: "/api/v2/projects", Body: map[string]any{"key": "mx-extra", "name": "Extra", "tags": []string{"t"},
			"environments": []map[string]any{{"key": "dev", "name": "Dev", "color": "abcdef"}}}},
		{Method: http.MethodPost, Path: "/api/v2/flags/shop?clone=f", Body: map[string]any{"key": "mx-clone", "name": "Clone"}},
		{Method: http.MethodPost, Path: "/api/v2/flags/shop", Body: map[string]any{"key": "mx-multi", "name": "Multi",
			"variations": []map[string]any{{"value": "a"}, {"value": "b"}, {"value": "c"}}, "defaults": map[string]any{"onVariation": 1, "offVariation": 2}}},
		{Method: http.MethodPost, Path: "/api/v2/projects/shop/environments", Body: map[string]any{"key": "mx-cloned", "name": "Cloned", "color": "123456",
			"source": map[string]any{"key": "production"}}},
		{Method: http.MethodPatch, Path: "/api/v2/flags/shop/f", ContentType: hxSemantic,
			Body: map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "turnFlagOn"}}}},
		{Method: http.MethodPatch, Path: "/api/v2/segments/shop/production/seg", ContentType: "application/merge-patch+json",
			Body: map[string]any{"description": "merged"}},
		{Method: http.MethodPost, Path: "/api/v2/projects/shop/environments/test/apiKey?expiry=4102444800000"},
	}
}

func TestConformance_EveryRoute(t *testing.T) {
	t.Parallel()
	start := time.Now()
	e := htServer(t)
	c := e.conform()
	// 400 for deleteProject: shop is still the account's only project.
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/projects/shop"}, http.StatusBadRequest, CodeInvalidRequest)
	provoked := map[string]map[int]bool{"deleteProject": {400: true}}
	f := newMxFixture(t, e)
	routes := mxServedRoutes(t, e.st)
	spec := ldRouter(t)
	noView := f.customToken(t, []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/none"}}})

	// Every served operation is LaunchDarkly's, under the same
	// operationId; note the statuses it declares.
	declared := map[string]map[int]bool{}
	for _, rt := range routes {
		req, _ := http.NewRequest(rt.method, "http://x"+mxPath(t, rt, -1), nil)
		sr, _, err := spec.FindRoute(req)
		if err != nil {
			t.Errorf("%s %s (%s) is not an operation of LaunchDarkly's spec: %v", rt.method, rt.path, rt.operationID, err)
			continue
		}
		if sr.Operation.OperationID != rt.operationID {
			t.Errorf("%s %s is %s in LaunchDarkly's spec, %s here", rt.method, rt.path, sr.Operation.OperationID, rt.operationID)
		}
		declared[rt.operationID] = map[int]bool{}
		for code := range sr.Operation.Responses.Map() {
			var n int
			if _, err := fmt.Sscan(code, &n); err == nil {
				declared[rt.operationID][n] = true
			}
		}
		if declared[rt.operationID][401] == rt.public {
			t.Errorf("%s: public %v, but the spec declares 401: %v", rt.operationID, rt.public, declared[rt.operationID][401])
		}
	}

	// exchange sends one request through the conformance client.
	exchange := func(rt *route, r htReq) (int, []byte) {
		t.Helper()
		if rt.beta {
			r.Header = http.Header{APIVersionHeader: {"beta"}}
		}
		resp, body := e.do(r)
		return resp.StatusCode, body
	}
	// expect provokes one error status; an undeclared one must be on the
	// allow-list, and then the schema check may complain of the status
	// alone.
	expect := func(rt *route, r htReq, want int) {
		t.Helper()
		op := rt.operationID
		var complaints []string
		undeclared := !declared[op][want]
		if undeclared {
			if mxUndeclared[op][want] == "" {
				t.Errorf("%s: provoking %d, which the spec does not declare and mxUndeclared does not list", op, want)
			}
			c.errorf = func(format string, args ...any) { complaints = append(complaints, fmt.Sprintf(format, args...)) }
			defer func() { c.errorf = t.Errorf }()
		}
		status, body := exchange(rt, r)
		if status != want {
			t.Errorf("%s: %s %s: status %d, want %d; body %.400s", op, r.Method, r.Path, status, want, body)
			return
		}
		if undeclared {
			var eb struct{ Code, Message, ID string }
			if err := json.Unmarshal(body, &eb); err != nil || eb.Code == "" || eb.Message == "" || eb.ID == "" {
				t.Errorf("%s: %d: not LaunchDarkly's error body: %s", op, want, body)
			}
			if len(complaints) != 1 || !strings.Contains(complaints[0], "status is not supported") {
				t.Errorf("%s: %d: want the schema check to complain of the undeclared status alone, got %q", op, want, complaints)
			}
		}
		if provoked[op] == nil {
			provoked[op] = map[int]bool{}
		}
		provoked[op][want] = true
	}
	// applies says whether to provoke a status: declared and not excused,
	// or allow-listed as undeclared.
	applies := func(op string, status int) bool {
		return declared[op][status] && mxNoCheapStatus[op][status] == "" || mxUndeclared[op][status] != ""
	}

	for _, rt := range routes {
		op := rt.operationID
		build := mxBuilders[op]
		if build == nil || declared[op] == nil {
			continue // reported above
		}
		cs := build(t, f)
		// Success, as the admin.
		if status, body := exchange(rt, cs.req); status < 200 || status > 299 {
			t.Errorf("%s: %s %s: status %d, want 2xx; body %.400s", op, cs.req.Method, cs.req.Path, status, body)
		}
		// 401: no credentials.
		if !rt.public && applies(op, 401) {
			r := build(t, f).req
			r.Auth = "-"
			expect(rt, r, http.StatusUnauthorized)
		}
		// 403: a write as the reader; a read as a token that may view no
		// project.
		if applies(op, 403) {
			r := build(t, f).req
			r.Auth = f.reader
			if rt.method == http.MethodGet {
				r.Auth = noView
			}
			expect(rt, r, http.StatusForbidden)
		}
		// 404: each key of the path in turn names nothing.
		if applies(op, 404) {
			for i := range len(mxWildcard.FindAllString(rt.path, -1)) {
				r := build(t, f).req
				q := ""
				if j := strings.IndexByte(r.Path, '?'); j >= 0 {
					q = r.Path[j:]
				}
				r.Path = mxPath(t, rt, i) + q
				expect(rt, r, http.StatusNotFound)
			}
		}
		// 400: a bad parameter, or a malformed body.
		if applies(op, 400) {
			if r, ok := mxBadRequests[op]; ok {
				expect(rt, r, http.StatusBadRequest)
			} else if cs.req.Body != nil {
				r := build(t, f).req
				r.Body = `{"key":`
				expect(rt, r, http.StatusBadRequest)
			}
		}
		// 409: a create whose key is taken, or a change that conflicts.
		if applies(op, 409) {
			if r, ok := mxConflict(t, f, op); ok {
				expect(rt, r, http.StatusConflict)
			}
		}
	}
	for _, r := range mxExtraSuccesses(t, f) {
		resp, body := e.do(r)
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			t.Errorf("%s %s: status %d, want 2xx; body %.400s", r.Method, r.Path, resp.StatusCode, body)
		}
	}

	// Every served operation answered a success that matched the spec;
	// every provoked status was validated; every declared error status was
	// provoked or is excused; every allow-list entry was provoked.
	for _, rt := range routes {
		op := rt.operationID
		ok := false
		for status := range c.seen[op] {
			ok = ok || status >= 200 && status <= 299
		}
		if !ok {
			t.Errorf("%s: no successful exchange validated (seen %v)", op, c.seen[op])
		}
		for status := range provoked[op] {
			if !c.seen[op][status] {
				t.Errorf("%s: %d was provoked but not validated", op, status)
			}
		}
		var missing []int
		for _, status := range []int{400, 401, 403, 404, 409} {
			if declared[op][status] && !provoked[op][status] && mxNoCheapStatus[op][status] == "" {
				missing = append(missing, status)
			}
		}
		if len(missing) > 0 {
			t.Errorf("%s: declared %v, neither provoked nor listed in mxNoCheapStatus", op, missing)
		}
	}
	for op, statuses := range mxUndeclared {
		for status := range statuses {
			if declared[op][status] {
				t.Errorf("mxUndeclared lists %s %d, which the spec declares", op, status)
			}
			if !provoked[op][status] {
				t.Errorf("mxUndeclared lists %s %d, which was not provoked", op, status)
			}
		}
	}
	t.Logf("%d operations, %d distinct operation/status pairs validated, in %v", len(routes), mxCount(c), time.Since(start))
}

// mxCount counts the distinct (operation, status) pairs validated.
func mxCount(c *conformance) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, s := range c.seen {
		n += len(s)
	}
	return n
}

// mxConflict builds a request that answers 409, for the operations where
// one is cheap to provoke; a family's test file can add its own to
// mxConflicts from an init function.
func mxConflict(t *testing.T, f *mxFixture, op string) (htReq, bool) {
	t.Helper()
	if build := mxConflicts[op]; build != nil {
		return build(t, f), true
	}
	st := f.e.st
	switch op {
	case "postProject":
		return htReq{Method: http.MethodPost, Path: "/api/v2/projects", Body: map[string]any{"key": "shop", "name": "Shop"}}, true
	case "postEnvironment":
		return htReq{Method: http.MethodPost, Path: "/api/v2/projects/shop/environments", Body: map[string]any{"key": "test", "name": "Test", "color": "ffffff"}}, true
	case "postFeatureFlag":
		return htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop", Body: map[string]any{"key": "f", "name": "F"}}, true
	case "deleteFeatureFlag":
		// A flag that another uses as a prerequisite.
		pre := f.key("mxpre")
		v0 := f.targetedFlag(t, pre)
		dep := f.key("mxdep")
		tstMustFlag(t, st, "shop", dep)
		if _, err := st.UpdateFlag(t.Context(), "shop", dep, func(fl *Flag) error {
			fl.Environments["production"].Prerequisites = []Prerequisite{{Key: pre, Variation: 0}}
			return nil
		}); err != nil {
			t.Fatal(err, v0)
		}
		return htReq{Method: http.MethodDelete, Path: "/api/v2/flags/shop/" + pre}, true
	case "deleteSegment":
		// A segment that a flag's rule uses.
		seg := f.key("mxs")
		tstMustSegment(t, st, "shop", "production", seg)
		fk := f.key("mxf")
		tstMustFlag(t, st, "shop", fk)
		if _, err := st.UpdateFlag(t.Context(), "shop", fk, func(fl *Flag) error {
			v := 0
			fl.Environments["production"].Rules = []Rule{{Variation: &v, Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{seg}}}}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return htReq{Method: http.MethodDelete, Path: "/api/v2/segments/shop/production/" + seg}, true
	case "patchProject", "patchFeatureFlag", "patchSegment", "patchEnvironment", "patchFlagDefaultsByProject":
		// A JSON Patch whose test fails: LaunchDarkly's optimistic lock.
		path, field, stale := map[string]string{
			"patchProject":               "/api/v2/projects/shop",
			"patchFeatureFlag":           "/api/v2/flags/shop/f",
			"patchSegment":               "/api/v2/segments/shop/production/seg",
			"patchEnvironment":           "/api/v2/projects/shop/environments/test",
			"patchFlagDefaultsByProject": "/api/v2/projects/shop/flag-defaults",
		}[op], "/name", any("Stale")
		if op == "patchFlagDefaultsByProject" {
			field, stale = "/temporary", "stale"
		}
		return htReq{Method: http.MethodPatch, Path: path, Body: []map[string]any{
			{"op": "test", "path": field, "value": stale},
			{"op": "replace", "path": "/tags", "value": []string{"stale"}},
		}}, true
	case "copyFeatureFlag":
		// The target is not at the version the body names.
		return htReq{Method: http.MethodPost, Path: "/api/v2/flags/shop/f/copy",
			Body: map[string]any{"source": map[string]any{"key": "production"}, "target": map[string]any{"key": "test", "currentVersion": 999}}}, true
	}
	return htReq{}, false
}

// mxConflicts are builders of 409 requests for operations that mxConflict's
// switch does not know; add to it from an init function.
var mxConflicts = map[string]func(t *testing.T, f *mxFixture) htReq{}
