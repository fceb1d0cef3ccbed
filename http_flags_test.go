package flagstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Tests of the feature flag routes. Fixtures start with "hf".

// hfSemantic is the semantic-patch Content-Type.
const hfSemantic = "application/json; domain-model=launchdarkly.semanticpatch"

// hfServer is htServer on a manual clock, so that creation dates differ
// and sort deterministically.
func hfServer(t *testing.T) (*htEnv, *tstClock) {
	t.Helper()
	clock := tstNewClock()
	st, err := Open(":memory:", WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.EnsureAdminToken(t.Context(), htAdminSecret); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(t.Context(), ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st.Handler())
	t.Cleanup(srv.Close)
	return &htEnv{t: t, st: st, srv: srv}, clock
}

// hfConform validates every exchange of e whose status LaunchDarkly's
// spec declares for the operation against the operation's schema (see
// conformance_test.go). Exchanges with statuses the spec leaves out (403
// on writes, 405 for a verb no operation has, 415, 422, 400 on
// getFeatureFlag) are the routes' documented choices and go unchecked.
func hfConform(e *htEnv) *conformance {
	c := newConformance(e.t)
	client := e.srv.Client()
	base := client.Transport
	client.Transport = roundTripFunc(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		resp, err := base.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if route, _, err := c.router.FindRoute(req); err == nil && route.Operation.Responses.Status(resp.StatusCode) != nil {
			c.check(req, reqBody, resp, body)
		}
		return resp, nil
	})
	return c
}

// seen fails the test unless the operation was validated with the status.
func hfSeen(t *testing.T, c *conformance, op string, statuses ...int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range statuses {
		if !c.seen[op][st] {
			t.Errorf("%s %d was never checked against the spec (checked: %v)", op, st, c.seen[op])
		}
	}
}

// hfCreate creates a flag in shop through the Go API (key and name filled
// in when empty).
func hfCreate(t *testing.T, e *htEnv, key string, p FlagPost) Flag {
	t.Helper()
	if p.Key == "" {
		p.Key = key
	}
	if p.Name == "" {
		p.Name = "Flag " + key
	}
	f, err := e.st.CreateFlag(t.Context(), "shop", p)
	if err != nil {
		t.Fatalf("CreateFlag %s: %v", key, err)
	}
	return f
}

// hfPatch patches a flag of shop through the Go API with a semantic patch.
func hfPatch(t *testing.T, e *htEnv, key, body string) Flag {
	t.Helper()
	p, err := ParsePatch(hfSemantic, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	f, err := e.st.PatchFlag(t.Context(), "shop", key, p)
	if err != nil {
		t.Fatalf("PatchFlag %s: %v", key, err)
	}
	return f
}

// hfMember invites a member with the base role and, given statements, a
// custom role of its own holding them.
func hfMember(t *testing.T, e *htEnv, email, base string, sts ...Statement) Member {
	t.Helper()
	inv := MemberInvite{Email: email, Role: base}
	if len(sts) > 0 {
		key := "hf-" + strings.NewReplacer("@", "-", ".", "-").Replace(email)
		if _, err := e.st.CreateCustomRole(t.Context(), CustomRolePost{Key: key, Name: "Role of " + email, Policy: sts}); err != nil {
			t.Fatal(err)
		}
		inv.CustomRoles = []string{key}
	}
	ms, err := e.st.InviteMembers(t.Context(), []MemberInvite{inv})
	if err != nil {
		t.Fatal(err)
	}
	return ms[0]
}

// hfGet reads a flag of shop through the Go API.
func hfGet(t *testing.T, e *htEnv, key string) Flag {
	t.Helper()
	f, err := e.st.GetFlag(t.Context(), "shop", key)
	if err != nil {
		t.Fatalf("GetFlag %s: %v", key, err)
	}
	return f
}

// hfObj sends a request, checks the status and decodes a JSON object.
func hfObj(e *htEnv, r htReq, status int) map[string]any {
	e.t.Helper()
	var m map[string]any
	e.json(r, status, &m)
	return m
}

// hfDig walks nested objects by key.
func hfDig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// hfKeys are the keys of a flag collection's items, in order.
func hfKeys(t *testing.T, m map[string]any) []string {
	t.Helper()
	items, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("no items in %v", m)
	}
	out := []string{}
	for _, it := range items {
		out = append(out, hfDig(it, "key").(string))
	}
	return out
}

// hfAudit lists the newest audit entries (up to 20).
func hfAudit(t *testing.T, e *htEnv) []AuditEntry {
	t.Helper()
	l, err := e.st.ListAuditLog(t.Context(), AuditListOptions{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestHTTPFlags_CreateShape(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	m := hfObj(e, htReq{Method: "POST", Path: "/api/v2/flags/shop",
		Body: `{"key":"new-checkout","name":"New checkout","tags":["web"],"clientSideAvailability":{"usingEnvironmentId":true,"usingMobileKey":false}}`}, 201)
	for _, k := range []string{"key", "name", "kind", "variations", "temporary", "tags", "_version", "creationDate",
		"customProperties", "archived", "experiments", "_links", "environments", "clientSideAvailability", "includeInSnippet"} {
		if _, ok := m[k]; !ok {
			t.Errorf("created flag lacks %q: %v", k, m)
		}
	}
	if got := hfDig(m, "_links", "self", "href"); got != "/api/v2/flags/shop/new-checkout" {
		t.Errorf("self = %v", got)
	}
	if got := hfDig(m, "_links", "parent", "href"); got != "/api/v2/flags/shop" {
		t.Errorf("parent = %v", got)
	}
	for _, env := range []string{"production", "test"} {
		c := hfDig(m, "environments", env)
		if c == nil {
			t.Fatalf("no %s config in %v", env, m["environments"])
		}
		if got := hfDig(c, "_site", "href"); got != "/shop/"+env+"/features/new-checkout" {
			t.Errorf("%s _site = %v", env, got)
		}
		if got := hfDig(c, "_site", "type"); got != "text/html" {
			t.Errorf("%s _site type = %v", env, got)
		}
		for _, k := range []string{"on", "salt", "sel", "version", "targets", "contextTargets", "rules", "prerequisites", "fallthrough", "offVariation", "_environmentName", "_summary", "trackEvents", "trackEventsFallthrough", "lastModified", "archived"} {
			if _, ok := c.(map[string]any)[k]; !ok {
				t.Errorf("%s config lacks %q", env, k)
			}
		}
		want := map[string]any{
			"0": map[string]any{"rules": 0.0, "nullRules": 0.0, "targets": 0.0, "contextTargets": 0.0, "isFallthrough": true},
			"1": map[string]any{"rules": 0.0, "nullRules": 0.0, "targets": 0.0, "contextTargets": 0.0, "isOff": true},
		}
		if got := hfDig(c, "_summary", "variations"); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s _summary.variations = %v, want %v", env, got, want)
		}
	}
	if _, ok := m["_maintainer"]; ok {
		t.Errorf("a flag without maintainer has _maintainer")
	}
	if f := hfGet(t, e, "new-checkout"); f.Name != "New checkout" || !f.ClientSideAvailability.UsingEnvironmentID {
		t.Errorf("stored %+v", f)
	}
	hfSeen(t, c, "postFeatureFlag", 201)
}

func TestHTTPFlags_CreateErrors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "taken", FlagPost{})
	for _, tc := range []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		{"duplicate key", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":"taken","name":"Again"}`}, 409, CodeConflict},
		{"no name", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":"nameless"}`}, 400, CodeInvalidRequest},
		{"bad key", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":"no spaces","name":"x"}`}, 400, CodeInvalidRequest},
		{"malformed JSON", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":`}, 400, CodeInvalidRequest},
		{"empty body", htReq{Method: "POST", Path: "/api/v2/flags/shop"}, 400, CodeInvalidRequest},
		{"migration flag", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":"mig","name":"m","purpose":"migration","migrationSettings":{"stageCount":2}}`}, 400, CodeInvalidRequest},
		{"not JSON", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `key=x`, ContentType: "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMediaType},
		{"unknown project", htReq{Method: "POST", Path: "/api/v2/flags/nope", Body: `{"key":"x","name":"x"}`}, 404, CodeNotFound},
		{"no token", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":"x","name":"x"}`, Auth: "-"}, 401, CodeUnauthorized},
		{"clone of nothing", htReq{Method: "POST", Path: "/api/v2/flags/shop?clone=nope", Body: `{"key":"x","name":"x"}`}, 400, CodeInvalidRequest},
		{"clone with isFlagOn", htReq{Method: "POST", Path: "/api/v2/flags/shop?clone=taken", Body: `{"key":"x","name":"x","isFlagOn":true}`}, 400, CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.errorBody(tc.req, tc.status, tc.code)
		})
	}
	l, err := e.st.ListFlags(t.Context(), "shop", ListOptions{})
	if err != nil || l.TotalCount != 1 {
		t.Errorf("after refused creates: %d flags (%v), want 1", l.TotalCount, err)
	}
	hfSeen(t, c, "postFeatureFlag", 400, 401, 409)
}

func TestHTTPFlags_Clone(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	spec := hfConform(e)
	src := hfCreate(t, e, "src", FlagPost{Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}, Defaults: &FlagDefaults{OnVariation: 1, OffVariation: 2}})
	hfCreate(t, e, "gate", FlagPost{})
	gate := hfGet(t, e, "gate")
	hfPatch(t, e, "src", fmt.Sprintf(`{"environmentKey":"production","instructions":[
		{"kind":"turnFlagOn"},
		{"kind":"addTargets","variationId":%q,"values":["alice"]},
		{"kind":"addRule","variationId":%q,"clauses":[{"attribute":"country","op":"in","values":["NZ"]}]},
		{"kind":"addPrerequisite","key":"gate","variationId":%q}]}`, src.Variations[0].ID, src.Variations[2].ID, gate.Variations[0].ID))
	src = hfGet(t, e, "src")

	m := hfObj(e, htReq{Method: "POST", Path: "/api/v2/flags/shop?clone=src", Body: `{"key":"copy","name":"Copy"}`}, 201)
	if m["key"] != "copy" || m["name"] != "Copy" {
		t.Fatalf("clone = %v", m)
	}
	c := hfGet(t, e, "copy")
	if fxValues(t, c) != fxValues(t, src) {
		t.Errorf("variations %s, want %s", fxValues(t, c), fxValues(t, src))
	}
	for i := range c.Variations {
		if c.Variations[i].ID == src.Variations[i].ID {
			t.Errorf("variation %d keeps the source's _id", i)
		}
	}
	for env, sc := range src.Environments {
		cc := c.Environments[env]
		if cc.On != sc.On || fxJSON(t, cc.Targets) != fxJSON(t, sc.Targets) || fxJSON(t, cc.Rules) != fxJSON(t, sc.Rules) ||
			fxJSON(t, cc.Prerequisites) != fxJSON(t, sc.Prerequisites) || fxJSON(t, cc.Fallthrough) != fxJSON(t, sc.Fallthrough) ||
			*cc.OffVariation != *sc.OffVariation {
			t.Errorf("%s: clone %s, source %s", env, fxJSON(t, cc), fxJSON(t, sc))
		}
		if cc.Salt == sc.Salt || cc.Version != 1 {
			t.Errorf("%s: salt %s (source %s), version %d", env, cc.Salt, sc.Salt, cc.Version)
		}
	}
	if !c.Environments["production"].On || c.Environments["test"].On {
		t.Errorf("on/off not copied per environment")
	}
	a := hfAudit(t, e)[0]
	if acts := fmt.Sprint(a.Accesses); !strings.Contains(acts, "createFlag") || !strings.Contains(acts, "cloneFlag") {
		t.Errorf("clone accesses %v", a.Accesses)
	}
	hfSeen(t, spec, "postFeatureFlag", 201)
}

func TestHTTPFlags_Get(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	owner, err := e.st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.CreateTeam(t.Context(), TeamPost{Key: "web", Name: "Web team"}); err != nil {
		t.Fatal(err)
	}
	hfCreate(t, e, "kept", FlagPost{MaintainerID: owner.ID})
	hfCreate(t, e, "team", FlagPost{MaintainerTeamKey: "web"})
	gone := hfMember(t, e, "gone@example.com", RoleWriter)
	hfCreate(t, e, "orphan", FlagPost{MaintainerID: gone.ID})
	if err := e.st.DeleteMember(t.Context(), gone.ID); err != nil {
		t.Fatal(err)
	}

	m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop/kept"}, 200)
	if envs := hfDig(m, "environments").(map[string]any); len(envs) != 2 {
		t.Errorf("environments %v, want production and test", envs)
	}
	if got := hfDig(m, "_maintainer"); hfDig(got, "_id") != owner.ID || hfDig(got, "email") != owner.Email ||
		hfDig(got, "role") != RoleOwner || hfDig(got, "_links", "self", "href") != "/api/v2/members/"+owner.ID {
		t.Errorf("_maintainer = %v", got)
	}
	m = hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop/team"}, 200)
	if got := hfDig(m, "_maintainerTeam"); hfDig(got, "key") != "web" || hfDig(got, "name") != "Web team" ||
		hfDig(got, "_links", "self", "href") != "/api/v2/teams/web" {
		t.Errorf("_maintainerTeam = %v", got)
	}
	m = hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop/orphan"}, 200)
	if _, ok := m["_maintainer"]; ok || m["maintainerId"] != gone.ID {
		t.Errorf("a gone maintainer: _maintainer %v, maintainerId %v", m["_maintainer"], m["maintainerId"])
	}

	for _, tc := range []struct {
		query string
		envs  []string
		eval  bool
	}{
		{"", []string{"production", "test"}, false},
		{"?env=production", []string{"production"}, false},
		{"?env=production&env=test", []string{"production", "test"}, false},
		{"?env=test&expand=evaluation", []string{"test"}, true},
		{"?expand=migrationSettings", []string{"production", "test"}, false},
	} {
		m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop/kept" + tc.query}, 200)
		envs := hfDig(m, "environments").(map[string]any)
		var got []string
		for k, c := range envs {
			got = append(got, k)
			if _, ok := c.(map[string]any)["rules"]; !ok {
				t.Errorf("%s: %s lacks rules (GET is detailed)", tc.query, k)
			}
			if ev := hfDig(c, "evaluation"); (ev != nil) != tc.eval || tc.eval && fmt.Sprint(hfDig(ev, "contextKinds")) != "[]" {
				t.Errorf("%s: %s evaluation = %v", tc.query, k, ev)
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.envs) {
			t.Errorf("%s: environments %v, want %v", tc.query, got, tc.envs)
		}
	}

	for _, tc := range []struct {
		path   string
		auth   string
		status int
		code   string
	}{
		{"/api/v2/flags/shop/nope", "", 404, CodeNotFound},
		{"/api/v2/flags/nope/kept", "", 404, CodeNotFound},
		{"/api/v2/flags/shop/kept?env=staging", "", 404, CodeNotFound},
		{"/api/v2/flags/shop/kept?env=", "", 400, CodeInvalidRequest},
		{"/api/v2/flags/shop/kept?expand=codeReferences", "", 400, CodeInvalidRequest},
		{"/api/v2/flags/shop/kept", "-", 401, CodeUnauthorized},
		{"/api/v2/flags/shop/kept", "api-00000000-0000-4000-8000-000000000000", 401, CodeUnauthorized},
	} {
		e.errorBody(htReq{Method: "GET", Path: tc.path, Auth: tc.auth}, tc.status, tc.code)
	}
	hfSeen(t, c, "getFeatureFlag", 200, 401, 404)
}

func TestHTTPFlags_Summary(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "gate", FlagPost{})
	hfCreate(t, e, "f", FlagPost{})
	_, err := e.st.UpdateFlag(t.Context(), "shop", "f", func(f *Flag) error {
		c := f.Environments["production"]
		c.Targets = []Target{{Values: []string{"a", "b"}, Variation: 0}}
		c.ContextTargets = []Target{{Values: []string{"d1"}, Variation: 1, ContextKind: "device"}}
		in := func(v string) []Clause { return []Clause{{Attribute: "country", Op: "in", Values: []any{v}}} }
		c.Rules = []Rule{
			{Clauses: in("NZ"), Variation: intPtr(1)},
			{Variation: intPtr(1)},
			{Clauses: in("AU"), Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 60000}, {Variation: 1, Weight: 40000}}}},
		}
		c.Fallthrough = VariationOrRollout{Rollout: &Rollout{BucketBy: "email", Variations: []WeightedVariation{{Variation: 0, Weight: 100000}, {Variation: 1, Weight: 0}}}}
		c.Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop/f?env=production"}, 200)
	got, _ := json.Marshal(hfDig(m, "environments", "production", "_summary"))
	want := `{"prerequisites":1,"variations":{` +
		`"0":{"bucketBy":"email","contextTargets":0,"nullRules":0,"rollout":100000,"rules":1,"targets":2},` +
		`"1":{"bucketBy":"email","contextTargets":1,"isOff":true,"nullRules":1,"rules":2,"targets":0}}}`
	if string(got) != want {
		t.Errorf("_summary\n got %s\nwant %s", got, want)
	}
	hfSeen(t, c, "getFeatureFlag", 200)
}

// hfFlags creates n flags f00, f01, ... one second apart.
func hfFlags(t *testing.T, e *htEnv, clock *tstClock, n int) []string {
	var keys []string
	for i := range n {
		k := fmt.Sprintf("f%02d", i)
		hfCreate(t, e, k, FlagPost{Name: fmt.Sprintf("Flag %c", 'z'-i)})
		keys = append(keys, k)
		clock.Advance(time.Second)
	}
	return keys
}

func TestHTTPFlags_ListPaging(t *testing.T) {
	t.Parallel()
	e, clock := hfServer(t)
	c := hfConform(e)
	all := hfFlags(t, e, clock, 25)
	link := func(q string) string { return "/api/v2/flags/shop?" + q }
	for _, tc := range []struct {
		query string
		want  []string
		links map[string]string
	}{
		{"sort=key", all[:20], map[string]string{
			"self": link("limit=20&offset=0&sort=key"), "next": link("limit=20&offset=20&sort=key"), "last": link("limit=20&offset=20&sort=key")}},
		{"sort=key&limit=10", all[:10], map[string]string{
			"self": link("limit=10&offset=0&sort=key"), "next": link("limit=10&offset=10&sort=key"), "last": link("limit=10&offset=20&sort=key")}},
		{"sort=key&limit=10&offset=10", all[10:20], map[string]string{
			"self": link("limit=10&offset=10&sort=key"), "first": link("limit=10&offset=0&sort=key"), "prev": link("limit=10&offset=0&sort=key"),
			"next": link("limit=10&offset=20&sort=key"), "last": link("limit=10&offset=20&sort=key")}},
		{"sort=key&limit=10&offset=20", all[20:], map[string]string{
			"self": link("limit=10&offset=20&sort=key"), "first": link("limit=10&offset=0&sort=key"), "prev": link("limit=10&offset=10&sort=key")}},
		{"sort=key&limit=10&offset=30", []string{}, map[string]string{
			"self": link("limit=10&offset=30&sort=key"), "first": link("limit=10&offset=0&sort=key"), "prev": link("limit=10&offset=20&sort=key")}},
		{"limit=3", []string{"f24", "f23", "f22"}, map[string]string{
			"self": link("limit=3&offset=0"), "next": link("limit=3&offset=3"), "last": link("limit=3&offset=24")}},
		{"limit=30&tag=none", []string{}, map[string]string{"self": link("limit=30&offset=0&tag=none")}},
	} {
		m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?" + tc.query}, 200)
		if got := hfKeys(t, m); !slices.Equal(got, tc.want) {
			t.Errorf("%s: items %v, want %v", tc.query, got, tc.want)
		}
		wantTotal := 25.0
		if strings.Contains(tc.query, "tag=none") {
			wantTotal = 0
		}
		if m["totalCount"] != wantTotal {
			t.Errorf("%s: totalCount %v", tc.query, m["totalCount"])
		}
		links := m["_links"].(map[string]any)
		got := map[string]string{}
		for rel, l := range links {
			got[rel] = hfDig(l, "href").(string)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.links) {
			t.Errorf("%s: links\n got %v\nwant %v", tc.query, got, tc.links)
		}
	}
	for _, q := range []string{"limit=-1", "offset=x", "limit=abc"} {
		e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop?" + q}, 400, CodeInvalidRequest)
	}
	// An older API version lists every flag unless limit is given.
	m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?sort=key", Header: http.Header{APIVersionHeader: {"20220603"}}}, 200)
	if got := hfKeys(t, m); !slices.Equal(got, all) || hfDig(m, "_links", "self", "href") != link("sort=key") {
		t.Errorf("20220603 without limit: %v, links %v", got, m["_links"])
	}
	hfSeen(t, c, "getFeatureFlags", 200, 400)
}

func TestHTTPFlags_ListEnvironments(t *testing.T) {
	t.Parallel()
	e, clock := hfServer(t)
	c := hfConform(e)
	hfFlags(t, e, clock, 2)
	hfPatch(t, e, "f00", `{"environmentKey":"production","instructions":[{"kind":"addRule","variationId":"`+hfGet(t, e, "f00").Variations[0].ID+`","clauses":[{"attribute":"a","op":"in","values":["x"]}]}]}`)
	for _, tc := range []struct {
		name    string
		query   string
		version string
		envs    string // sorted keys of each item's environments, "-" for none
		details bool   // targets, contextTargets, rules, prerequisites shown
	}{
		{"default", "", "", "-", false},
		{"env", "env=production", "", "production", false},
		{"two envs", "env=production&env=test", "", "production,test", false},
		{"filterEnv", "filter=filterEnv:test", "", "test", false},
		{"env and filterEnv", "env=production&filter=filterEnv:test", "", "production,test", false},
		{"summary=0 with env", "summary=0&env=production", "", "production", true},
		{"summary=false with env", "summary=false&env=production", "", "production", true},
		{"summary=0 without env", "summary=0", "", "-", false},
		{"summary=1 with env", "summary=1&env=test", "", "test", false},
		{"older version", "", "20220603", "production,test", false},
		{"older version, summary=0", "summary=0", "20191212", "production,test", false},
		{"older version, env", "env=test", "20220603", "test", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := htReq{Method: "GET", Path: "/api/v2/flags/shop?" + tc.query}
			if tc.version != "" {
				r.Header = http.Header{APIVersionHeader: {tc.version}}
			}
			m := hfObj(e, r, 200)
			for _, it := range m["items"].([]any) {
				envs, has := it.(map[string]any)["environments"].(map[string]any)
				got := "-"
				if has {
					var ks []string
					for k, c := range envs {
						ks = append(ks, k)
						for _, f := range []string{"targets", "contextTargets", "rules", "prerequisites"} {
							if _, ok := c.(map[string]any)[f]; ok != tc.details {
								t.Errorf("%s.%s shown %v, want %v", k, f, ok, tc.details)
							}
						}
						for _, f := range []string{"_site", "_summary", "on", "version", "fallthrough", "_environmentName"} {
							if _, ok := c.(map[string]any)[f]; !ok {
								t.Errorf("%s lacks %s", k, f)
							}
						}
					}
					slices.Sort(ks)
					got = strings.Join(ks, ",")
				}
				if got != tc.envs {
					t.Errorf("item %v: environments %s, want %s", hfDig(it, "key"), got, tc.envs)
				}
			}
		})
	}
	if m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?summary=0&env=production&sort=key"}, 200); len(hfDig(m["items"].([]any)[0], "environments", "production", "rules").([]any)) != 1 {
		t.Errorf("summary=0: rules not shown")
	}
	for _, q := range []string{"env=staging", "filter=filterEnv:staging"} {
		e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop?" + q}, 404, CodeNotFound)
	}
	for _, q := range []string{"env=", "summary=maybe", "filter=filterEnv:"} {
		e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop?" + q}, 400, CodeInvalidRequest)
	}
	hfSeen(t, c, "getFeatureFlags", 200, 400, 404)
}

func TestHTTPFlags_ListFilters(t *testing.T) {
	t.Parallel()
	e, clock := hfServer(t)
	c := hfConform(e)
	owner, err := e.st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	perm := false
	mk := func(key string, p FlagPost) {
		hfCreate(t, e, key, p)
		clock.Advance(time.Second)
	}
	mk("dark-mode", FlagPost{Name: "Dark mode", Tags: []string{"beta", "ui"}, MaintainerID: owner.ID,
		ClientSideAvailability: &ClientSideAvailability{UsingEnvironmentID: true}})
	mk("light-mode", FlagPost{Name: "Light", Tags: []string{"beta"}, MaintainerTeamKey: "web",
		ClientSideAvailability: &ClientSideAvailability{UsingMobileKey: true}})
	cutoff := clock.Millis()
	mk("billing", FlagPost{Name: "Billing DARK", Temporary: &perm, Tags: []string{"ui"}, ClientSideAvailability: &ClientSideAvailability{}})
	mk("old", FlagPost{Name: "Old"})
	mk("gone", FlagPost{Name: "Gone", Tags: []string{"beta"}})
	if _, err := e.st.UpdateFlag(t.Context(), "shop", "old", func(f *Flag) error { f.Deprecated = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.ArchiveFlag(t.Context(), "shop", "gone"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "billing,dark-mode,light-mode,old"},
		{"filter=query:dark", "billing,dark-mode"},
		{"filter=query:MODE", "dark-mode,light-mode"},
		{"filter=tags:beta", "dark-mode,light-mode"},
		{"filter=tags:beta%2Bui", "dark-mode"},
		{"filter=tags:beta+ui", "dark-mode"},
		{"tag=ui", "billing,dark-mode"},
		{"tag=ui&filter=tags:beta", "dark-mode"},
		{"filter=state:live", "billing,dark-mode,light-mode"},
		{"filter=state:deprecated", "old"},
		{"filter=state:archived", "gone"},
		{"archived=true", "gone"},
		{"filter=archived:true", "gone"},
		{"archived=true&filter=state:live", ""},
		{"filter=state:archived,tags:beta", "gone"},
		{"filter=type:permanent", "billing"},
		{"filter=type:temporary", "dark-mode,light-mode,old"},
		{"filter=maintainerId:" + owner.ID, "dark-mode"},
		{"filter=maintainerTeamKey:web", "light-mode"},
		{"filter=sdkAvailability:client", "dark-mode"},
		{"filter=sdkAvailability:mobile", "light-mode,old"},
		{"filter=sdkAvailability:anyClient", "dark-mode,light-mode,old"},
		{"filter=sdkAvailability:server", "billing"},
		{"filter=" + url.QueryEscape(fmt.Sprintf(`creationDate:{"before":%d}`, cutoff)), "dark-mode,light-mode"},
		{"filter=" + url.QueryEscape(`creationDate:{}`), "billing,dark-mode,light-mode,old"},
		{"filter=" + url.QueryEscape(fmt.Sprintf(`query:mode,creationDate:{"before":%d},tags:beta,filterEnv:test`, cutoff-1000)), "dark-mode"},
		{"filter=query:mode&limit=1", "dark-mode"},
	} {
		m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?sort=key&" + tc.query}, 200)
		got := strings.Join(hfKeys(t, m), ",")
		if got != tc.want {
			t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
		}
		total := len(strings.Split(tc.want, ","))
		if tc.want == "" {
			total = 0
		}
		if strings.Contains(tc.query, "limit=1") {
			total = 2
		}
		if m["totalCount"] != float64(total) {
			t.Errorf("%s: totalCount %v, want %d", tc.query, m["totalCount"], total)
		}
	}
	for _, q := range []string{
		"filter=hasExperiment:true",
		"filter=evaluated:" + url.QueryEscape(`{"after":1}`) + ",filterEnv:test",
		"filter=nonsense:1",
		"filter=state:retired",
		"filter=type:forever",
		"filter=sdkAvailability:desktop",
		"filter=archived:maybe",
		"filter=" + url.QueryEscape(`creationDate:{"after":1}`),
		"filter=" + url.QueryEscape(`creationDate:12`),
		"filter=" + url.QueryEscape(`creationDate:{"before":`),
		"filter=query:a,query:b",
		"filter=noColon",
		"filter=tags:bad%20tag!",
		"tag=not%20a%20tag",
		"compare=true",
		"archived=perhaps",
	} {
		e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop?" + q}, 400, CodeInvalidRequest)
	}
	e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/nope"}, 404, CodeNotFound)
	e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop", Auth: "-"}, 401, CodeUnauthorized)
	hfSeen(t, c, "getFeatureFlags", 200, 400, 401, 404)
}

func TestHTTPFlags_ListSort(t *testing.T) {
	t.Parallel()
	e, clock := hfServer(t)
	c := hfConform(e)
	perm := false
	for _, f := range []FlagPost{
		{Key: "b", Name: "Zulu", Tags: []string{"x", "y"}, MaintainerID: "m2"},
		{Key: "d", Name: "alpha", Temporary: &perm, Tags: []string{"x"}},
		{Key: "a", Name: "Mike", Temporary: &perm, MaintainerID: "m1"},
		{Key: "c", Name: "Echo", Tags: []string{"w"}, MaintainerID: "m1"},
	} {
		hfCreate(t, e, f.Key, f)
		clock.Advance(time.Second)
	}
	// Targeting changes in production: a, then d (c and b untouched).
	for _, k := range []string{"a", "d"} {
		hfPatch(t, e, k, `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`)
		clock.Advance(time.Second)
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "c,a,d,b"},
		{"sort=key", "a,b,c,d"},
		{"sort=-key", "d,c,b,a"},
		{"sort=name", "d,c,a,b"},
		{"sort=-name", "b,a,c,d"},
		{"sort=creationDate", "b,d,a,c"},
		{"sort=-creationDate", "c,a,d,b"},
		{"sort=createdOn", "b,d,a,c"},
		{"sort=maintainerId", "d,a,c,b"},
		{"sort=-maintainerId", "b,a,c,d"},
		{"sort=type", "a,d,b,c"},
		{"sort=-type,-key", "c,b,d,a"},
		{"sort=tags", "a,c,d,b"},
		{"sort=-tags", "b,d,c,a"},
		{"sort=type,name", "d,a,c,b"},
		{"sort=targetingModifiedDate&env=production", "b,c,a,d"},
		{"sort=-targetingModifiedDate&env=production", "d,a,c,b"},
		{"sort=-targetingModifiedDate&env=test&env=production", "c,a,d,b"},
		{"sort=-targetingModifiedDate&filter=filterEnv:production", "d,a,c,b"},
		{"sort=maintainerId&limit=2&offset=1", "a,c"},
		{"sort=name&filter=type:temporary", "c,b"},
		{"sort=-creationDate&filter=type:temporary&limit=1", "c"},
	} {
		m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?" + tc.query}, 200)
		if got := strings.Join(hfKeys(t, m), ","); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.query, got, tc.want)
		}
	}
	for _, q := range []string{"sort=popularity", "sort=targetingModifiedDate", "sort=targetingModifiedDate,key&env=test", "sort=key,-key"} {
		var body struct{ Message string }
		e.json(htReq{Method: "GET", Path: "/api/v2/flags/shop?" + q}, 400, &body)
		if q == "sort=popularity" && !strings.Contains(body.Message, "creationDate") {
			t.Errorf("%s: message %q does not list the supported fields", q, body.Message)
		}
	}
	hfSeen(t, c, "getFeatureFlags", 200, 400)
}

func TestHTTPFlags_ListExpand(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "f", FlagPost{})
	for _, tc := range []struct {
		query string
		eval  bool
	}{
		{"env=test", false},
		{"env=test&expand=evaluation", true},
		{"env=test&expand=codeReferences,migrationSettings", false},
		{"env=test&expand=evaluation,codeReferences", true},
	} {
		m := hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?" + tc.query}, 200)
		ev := hfDig(m["items"].([]any)[0], "environments", "test", "evaluation")
		if (ev != nil) != tc.eval {
			t.Errorf("%s: evaluation %v", tc.query, ev)
		}
	}
	for _, q := range []string{"expand=environments", "expand=evaluation,bogus"} {
		e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop?" + q}, 400, CodeInvalidRequest)
	}
	hfObj(e, htReq{Method: "GET", Path: "/api/v2/flags/shop?compare=false"}, 200)
	hfSeen(t, c, "getFeatureFlags", 200, 400)
}

func TestHTTPFlags_PatchDialects(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "f", FlagPost{})
	for _, tc := range []struct {
		name    string
		ct      string
		body    string
		comment string
		check   func(f Flag) bool
	}{
		{"JSON Patch with comment", "", `{"comment":"jp comment","patch":[{"op":"replace","path":"/description","value":"from JSON Patch"}]}`,
			"jp comment", func(f Flag) bool { return f.Description == "from JSON Patch" }},
		{"bare JSON Patch", "", `[{"op":"add","path":"/tags/-","value":"bare"}]`,
			"", func(f Flag) bool { return slices.Contains(f.Tags, "bare") }},
		{"JSON Patch test on /version", "", `[{"op":"test","path":"/version","value":3},{"op":"replace","path":"/name","value":"Tested"}]`,
			"", func(f Flag) bool { return f.Name == "Tested" }},
		{"merge patch with comment", "", `{"comment":"mp comment","merge":{"name":"From merge"}}`,
			"mp comment", func(f Flag) bool { return f.Name == "From merge" }},
		{"bare merge patch", "", `{"temporary":false}`,
			"", func(f Flag) bool { return !f.Temporary }},
		{"semantic patch", hfSemantic, `{"comment":"sp comment","environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`,
			"sp comment", func(f Flag) bool { return f.Environments["production"].On && !f.Environments["test"].On }},
		{"merge patch media type", "application/merge-patch+json", `{"description":"merge type"}`,
			"", func(f Flag) bool { return f.Description == "merge type" }},
	} {
		before := hfGet(t, e, "f")
		m := hfObj(e, htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: tc.body, ContentType: tc.ct}, 200)
		after := hfGet(t, e, "f")
		if !tc.check(after) || after.Version != before.Version+1 || m["_version"] != float64(after.Version) {
			t.Errorf("%s: stored %s (version %d → %d), response _version %v", tc.name, fxJSON(t, after), before.Version, after.Version, m["_version"])
		}
		if hfDig(m, "_links", "self", "href") != "/api/v2/flags/shop/f" || hfDig(m, "environments", "production", "_site") == nil {
			t.Errorf("%s: response is not a FeatureFlag: %v", tc.name, m)
		}
		entry := hfAudit(t, e)[0]
		if entry.Comment != tc.comment || entry.Kind != "flag" {
			t.Errorf("%s: audit entry comment %q kind %q, want %q", tc.name, entry.Comment, entry.Kind, tc.comment)
		}
	}
	hfSeen(t, c, "patchFeatureFlag", 200)
}

func TestHTTPFlags_PatchErrors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "gate", FlagPost{})
	hfCreate(t, e, "f", FlagPost{})
	before := hfGet(t, e, "f")
	entries := len(hfAudit(t, e))
	for _, tc := range []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		{"semantic without media type", htReq{Body: `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`}, 400, CodeInvalidRequest},
		{"unknown instruction", htReq{Body: `{"instructions":[{"kind":"explode"}]}`, ContentType: hfSemantic}, 400, CodeInvalidRequest},
		{"semantic array", htReq{Body: `[{"kind":"turnFlagOn"}]`, ContentType: hfSemantic}, 400, CodeInvalidRequest},
		{"all or nothing", htReq{Body: `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"},{"kind":"explode"}]}`, ContentType: hfSemantic}, 400, CodeInvalidRequest},
		{"malformed JSON", htReq{Body: `{"patch":`}, 400, CodeInvalidRequest},
		{"empty body", htReq{}, 400, CodeInvalidRequest},
		{"write to a computed field", htReq{Body: `[{"op":"replace","path":"/_version","value":9}]`}, 400, CodeInvalidRequest},
		{"invalid result", htReq{Body: `[{"op":"replace","path":"/variations","value":[]}]`}, 400, CodeInvalidRequest},
		{"unknown op", htReq{Body: `[{"op":"frobnicate","path":"/name"}]`}, 400, CodeInvalidRequest},
		{"bad dryRun", htReq{Path: "/api/v2/flags/shop/f?dryRun=perhaps", Body: `{"name":"x"}`}, 400, CodeInvalidRequest},
		{"bad ignoreConflicts", htReq{Path: "/api/v2/flags/shop/f?ignoreConflicts=perhaps", Body: `{"name":"x"}`}, 400, CodeInvalidRequest},
		{"cannot apply", htReq{Body: `[{"op":"remove","path":"/nope"}]`}, 422, CodePatchFailed},
		{"index out of range", htReq{Body: `[{"op":"replace","path":"/variations/7/name","value":"x"}]`}, 422, CodePatchFailed},
		{"failed test", htReq{Body: `{"patch":[{"op":"test","path":"/_version","value":99},{"op":"replace","path":"/name","value":"x"}]}`}, 409, CodeOptimisticLocking},
		{"not JSON", htReq{Body: `name=x`, ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"unknown flag", htReq{Path: "/api/v2/flags/shop/nope", Body: `{"name":"x"}`}, 404, CodeNotFound},
		{"unknown project", htReq{Path: "/api/v2/flags/nope/f", Body: `{"name":"x"}`}, 404, CodeNotFound},
		{"no token", htReq{Body: `{"name":"x"}`, Auth: "-"}, 401, CodeUnauthorized},
		{"archive a prerequisite", htReq{Path: "/api/v2/flags/shop/gate", Body: `{"archived":true}`}, 409, CodeConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			r.Method = "PATCH"
			if r.Path == "" {
				r.Path = "/api/v2/flags/shop/f"
			}
			if tc.name == "archive a prerequisite" {
				hfPatch(t, e, "f", fmt.Sprintf(`{"environmentKey":"test","instructions":[{"kind":"addPrerequisite","key":"gate","variationId":%q}]}`, hfGet(t, e, "gate").Variations[0].ID))
				before, entries = hfGet(t, e, "f"), len(hfAudit(t, e))
			}
			e.errorBody(r, tc.status, tc.code)
			if after := hfGet(t, e, "f"); fxJSON(t, after) != fxJSON(t, before) {
				t.Errorf("a refused patch changed the flag: %s", fxJSON(t, after))
			}
			if n := len(hfAudit(t, e)); n != entries {
				t.Errorf("a refused patch wrote %d audit entries", n-entries)
			}
		})
	}
	hfSeen(t, c, "patchFeatureFlag", 400, 401, 404, 409)
}

func TestHTTPFlags_PatchDryRunAndOverride(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "f", FlagPost{})
	before := hfGet(t, e, "f")
	entries := len(hfAudit(t, e))
	for _, tc := range []struct {
		name string
		req  htReq
	}{
		{"JSON Patch", htReq{Body: `[{"op":"replace","path":"/name","value":"Preview"}]`}},
		{"semantic", htReq{Body: `{"environmentKey":"test","instructions":[{"kind":"turnFlagOn"},{"kind":"updateName","value":"Preview"}]}`, ContentType: hfSemantic}},
		{"semantic deleteFlag", htReq{Body: `{"instructions":[{"kind":"updateName","value":"Preview"},{"kind":"deleteFlag"}]}`, ContentType: hfSemantic}},
	} {
		r := tc.req
		r.Method, r.Path = "PATCH", "/api/v2/flags/shop/f?dryRun=true"
		m := hfObj(e, r, 200)
		if m["name"] != "Preview" && tc.name != "semantic deleteFlag" {
			t.Errorf("%s: dry run returned %v", tc.name, m["name"])
		}
		if after := hfGet(t, e, "f"); fxJSON(t, after) != fxJSON(t, before) {
			t.Errorf("%s: dry run stored %s", tc.name, fxJSON(t, after))
		}
		if n := len(hfAudit(t, e)); n != entries {
			t.Errorf("%s: dry run wrote %d audit entries", tc.name, n-entries)
		}
	}
	// ignoreConflicts is accepted; POST with X-HTTP-Method-Override is PATCH.
	m := hfObj(e, htReq{Method: "POST", Path: "/api/v2/flags/shop/f?ignoreConflicts=true", Body: `{"comment":"tunnelled","merge":{"name":"Overridden"}}`,
		Header: http.Header{MethodOverrideHeader: {"patch"}}}, 200)
	if m["name"] != "Overridden" || hfGet(t, e, "f").Name != "Overridden" || hfAudit(t, e)[0].Comment != "tunnelled" {
		t.Errorf("override: %v", m["name"])
	}
	// Semantic deleteFlag without dryRun deletes, answering with the flag.
	m = hfObj(e, htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: `{"instructions":[{"kind":"deleteFlag"}]}`, ContentType: hfSemantic}, 200)
	if m["key"] != "f" {
		t.Errorf("deleteFlag answered %v", m)
	}
	e.errorBody(htReq{Method: "GET", Path: "/api/v2/flags/shop/f"}, 404, CodeNotFound)
	hfSeen(t, c, "patchFeatureFlag", 200)
}

func TestHTTPFlags_Delete(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	gate := hfCreate(t, e, "gate", FlagPost{})
	hfCreate(t, e, "dep", FlagPost{})
	hfCreate(t, e, "lone", FlagPost{})
	hfPatch(t, e, "dep", fmt.Sprintf(`{"environmentKey":"production","instructions":[{"kind":"addPrerequisite","key":"gate","variationId":%q}]}`, gate.Variations[0].ID))

	resp, body := e.do(htReq{Method: "DELETE", Path: "/api/v2/flags/shop/lone"})
	if resp.StatusCode != 204 || len(body) != 0 {
		t.Fatalf("delete: %d %s", resp.StatusCode, body)
	}
	if a := hfAudit(t, e)[0]; !strings.Contains(fmt.Sprint(a.Accesses), "deleteFlag") {
		t.Errorf("delete audit %v", a.Accesses)
	}
	for _, tc := range []struct {
		path   string
		auth   string
		status int
		code   string
	}{
		{"/api/v2/flags/shop/lone", "", 404, CodeNotFound},
		{"/api/v2/flags/nope/lone", "", 404, CodeNotFound},
		{"/api/v2/flags/shop/gate", "", 409, CodeConflict},
		{"/api/v2/flags/shop/gate", "-", 401, CodeUnauthorized},
	} {
		e.errorBody(htReq{Method: "DELETE", Path: tc.path, Auth: tc.auth}, tc.status, tc.code)
	}
	hfGet(t, e, "gate")
	// Once the dependent is gone, the prerequisite can go.
	e.do(htReq{Method: "DELETE", Path: "/api/v2/flags/shop/dep"})
	if resp, _ := e.do(htReq{Method: "DELETE", Path: "/api/v2/flags/shop/gate"}); resp.StatusCode != 204 {
		t.Errorf("delete of a freed prerequisite: %d", resp.StatusCode)
	}
	hfSeen(t, c, "deleteFeatureFlag", 204, 401, 404, 409)
}

func TestHTTPFlags_Copy(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	f := hfCreate(t, e, "f", FlagPost{Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})
	hfPatch(t, e, "f", fmt.Sprintf(`{"environmentKey":"production","instructions":[
		{"kind":"turnFlagOn"},
		{"kind":"addTargets","variationId":%q,"values":["alice"]},
		{"kind":"addRule","variationId":%q,"clauses":[{"attribute":"country","op":"in","values":["NZ"]}]},
		{"kind":"updateFallthroughVariationOrRollout","variationId":%q},
		{"kind":"updateOffVariation","variationId":%q}]}`, f.Variations[1].ID, f.Variations[2].ID, f.Variations[1].ID, f.Variations[0].ID))
	prod := hfGet(t, e, "f").Environments["production"]

	// includedActions copies only those parts.
	entries := len(hfAudit(t, e))
	m := hfObj(e, htReq{Method: "POST", Path: "/api/v2/flags/shop/f/copy",
		Body: `{"source":{"key":"production"},"target":{"key":"test","currentVersion":1},"comment":"only on","includedActions":["updateOn"]}`}, 201)
	test := hfGet(t, e, "f").Environments["test"]
	if !test.On || len(test.Targets) != 0 || len(test.Rules) != 0 || *test.OffVariation != 2 {
		t.Errorf("includedActions [updateOn] copied %s", fxJSON(t, test))
	}
	if hfDig(m, "environments", "test", "on") != true || hfDig(m, "_links", "self", "href") != "/api/v2/flags/shop/f" {
		t.Errorf("copy response %v", m)
	}
	audit := hfAudit(t, e)
	if len(audit) != entries+1 || audit[0].Comment != "only on" ||
		fmt.Sprint(audit[0].Accesses) != "[{copyFlagConfigFrom proj/shop:env/production:flag/f} {copyFlagConfigTo proj/shop:env/test:flag/f}]" {
		t.Errorf("copy audit: %d new entries, latest %+v", len(audit)-entries, audit[0])
	}

	// excludedActions copies everything else; the target keeps its salt.
	hfObj(e, htReq{Method: "POST", Path: "/api/v2/flags/shop/f/copy",
		Body: `{"source":{"key":"production","currentVersion":` + fmt.Sprint(prod.Version) + `},"target":{"key":"test"},"excludedActions":["updateRules"]}`}, 201)
	test2 := hfGet(t, e, "f").Environments["test"]
	if fxJSON(t, test2.Targets) != fxJSON(t, prod.Targets) || len(test2.Rules) != 0 || *test2.OffVariation != 0 ||
		fxJSON(t, test2.Fallthrough) != fxJSON(t, prod.Fallthrough) || test2.Salt != test.Salt || test2.Version != test.Version+1 {
		t.Errorf("excludedActions [updateRules] gave %s", fxJSON(t, test2))
	}

	// Everything by default.
	hfObj(e, htReq{Method: "POST", Path: "/api/v2/flags/shop/f/copy", Body: `{"source":{"key":"production"},"target":{"key":"test"}}`}, 201)
	test3 := hfGet(t, e, "f").Environments["test"]
	if fxJSON(t, test3.Rules) != fxJSON(t, prod.Rules) {
		t.Errorf("full copy: rules %s, want %s", fxJSON(t, test3.Rules), fxJSON(t, prod.Rules))
	}

	before := hfGet(t, e, "f")
	entries = len(hfAudit(t, e))
	for _, tc := range []struct {
		name   string
		path   string
		body   string
		status int
		code   string
	}{
		{"stale target version", "", `{"source":{"key":"production"},"target":{"key":"test","currentVersion":1}}`, 409, CodeOptimisticLocking},
		{"stale source version", "", `{"source":{"key":"production","currentVersion":99},"target":{"key":"test"}}`, 409, CodeOptimisticLocking},
		{"same environment", "", `{"source":{"key":"test"},"target":{"key":"test"}}`, 400, CodeInvalidRequest},
		{"unknown environment", "", `{"source":{"key":"staging"},"target":{"key":"test"}}`, 400, CodeInvalidRequest},
		{"no target", "", `{"source":{"key":"production"}}`, 400, CodeInvalidRequest},
		{"unknown action", "", `{"source":{"key":"production"},"target":{"key":"test"},"includedActions":["updateEverything"]}`, 400, CodeInvalidRequest},
		{"both lists", "", `{"source":{"key":"production"},"target":{"key":"test"},"includedActions":["updateOn"],"excludedActions":["updateRules"]}`, 400, CodeInvalidRequest},
		{"malformed", "", `{"source":`, 400, CodeInvalidRequest},
		{"unknown flag", "/api/v2/flags/shop/nope/copy", `{"source":{"key":"production"},"target":{"key":"test"}}`, 404, CodeNotFound},
	} {
		path := tc.path
		if path == "" {
			path = "/api/v2/flags/shop/f/copy"
		}
		e.errorBody(htReq{Method: "POST", Path: path, Body: tc.body}, tc.status, tc.code)
		if after := hfGet(t, e, "f"); fxJSON(t, after) != fxJSON(t, before) || len(hfAudit(t, e)) != entries {
			t.Errorf("%s: a refused copy changed something", tc.name)
		}
	}
	hfSeen(t, c, "copyFeatureFlag", 201, 400, 409)
}

func TestHTTPFlags_RestrictedToken(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := hfConform(e)
	hfCreate(t, e, "f", FlagPost{})
	hfCreate(t, e, "other", FlagPost{})
	m := hfMember(t, e, "toggler@example.com", "",
		Statement{Effect: "allow", Resources: []string{"proj/shop"}, Actions: []string{"viewProject"}},
		Statement{Effect: "allow", Resources: []string{"proj/shop:env/production:flag/*"}, Actions: []string{"updateOn"}})
	tok, err := e.st.CreateToken(t.Context(), m.ID, TokenPost{Name: "toggler", CustomRoleIDs: m.CustomRoles})
	if err != nil {
		t.Fatal(err)
	}
	turn := func(env, kind string) string {
		return `{"environmentKey":"` + env + `","instructions":[{"kind":"` + kind + `"}]}`
	}
	for _, tc := range []struct {
		name   string
		req    htReq
		status int
	}{
		{"list", htReq{Method: "GET", Path: "/api/v2/flags/shop"}, 200},
		{"get", htReq{Method: "GET", Path: "/api/v2/flags/shop/f"}, 200},
		{"turn on in production", htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: turn("production", "turnFlagOn"), ContentType: hfSemantic}, 200},
		{"JSON Patch of on in production", htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: `[{"op":"replace","path":"/environments/production/on","value":false}]`}, 200},
		{"turn on in test", htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: turn("test", "turnFlagOn"), ContentType: hfSemantic}, 403},
		{"rename", htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: `{"name":"Mine now"}`}, 403},
		{"on and rules in production", htReq{Method: "PATCH", Path: "/api/v2/flags/shop/f", Body: `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"},{"kind":"addRule","variationId":"` + hfGet(t, e, "f").Variations[0].ID + `","clauses":[]}]}`, ContentType: hfSemantic}, 403},
		{"create", htReq{Method: "POST", Path: "/api/v2/flags/shop", Body: `{"key":"new","name":"New"}`}, 403},
		{"clone", htReq{Method: "POST", Path: "/api/v2/flags/shop?clone=f", Body: `{"key":"new","name":"New"}`}, 403},
		{"delete", htReq{Method: "DELETE", Path: "/api/v2/flags/shop/other"}, 403},
		{"copy", htReq{Method: "POST", Path: "/api/v2/flags/shop/f/copy", Body: `{"source":{"key":"test"},"target":{"key":"production"},"includedActions":["updateOn"]}`}, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, entries := hfGet(t, e, "f"), len(hfAudit(t, e))
			r := tc.req
			r.Auth = tok.Token
			if tc.status == 403 {
				e.errorBody(r, 403, CodeForbidden)
				if after := hfGet(t, e, "f"); fxJSON(t, after) != fxJSON(t, before) || len(hfAudit(t, e)) != entries {
					t.Errorf("a forbidden request changed something")
				}
				return
			}
			e.json(r, tc.status, nil)
		})
	}
	if _, err := e.st.GetFlag(t.Context(), "shop", "new"); err == nil {
		t.Errorf("a forbidden create created the flag")
	}
	if a := hfAudit(t, e)[0]; a.Token == nil || a.Token.ID != tok.ID {
		t.Errorf("the token's change is not audited as the token's: %+v", a)
	}
	hfSeen(t, c, "getFeatureFlags", 200)
	hfSeen(t, c, "getFeatureFlag", 200)
	hfSeen(t, c, "patchFeatureFlag", 200)
}

func TestHTTPFlags_WrongVerb(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	hfCreate(t, e, "f", FlagPost{})
	for _, tc := range []struct {
		method, path, allow string
	}{
		{"PUT", "/api/v2/flags/shop/f", "GET, HEAD, PATCH, DELETE"},
		{"PATCH", "/api/v2/flags/shop", "GET, HEAD, POST"},
		{"DELETE", "/api/v2/flags/shop", "GET, HEAD, POST"},
		{"GET", "/api/v2/flags/shop/f/copy", "POST"},
	} {
		resp, body := e.do(htReq{Method: tc.method, Path: tc.path})
		if resp.StatusCode != 405 || resp.Header.Get("Allow") != tc.allow {
			t.Errorf("%s %s: %d, Allow %q (want %q): %s", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), tc.allow, body)
		}
	}
	e.errorBody(htReq{Method: "PUT", Path: "/api/v2/flags/shop/f", Body: `{"name":"x"}`}, 405, CodeMethodNotAllowed)
}
