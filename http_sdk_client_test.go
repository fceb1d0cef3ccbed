package flagstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
)

// csEnv is a client-side test environment: the htServer's project "shop"
// with flags of every availability and kind of targeting in production,
// and production's credentials.
type csEnv struct {
	*htEnv
	envID, mobKey, sdkKey string
}

// The flags of csServer: which credential may see each, by key.
var csVisible = map[CredentialKind][]string{
	CredentialClientSideID: {"both", "js-only", "prereq-child", "rollout", "rule"},
	CredentialMobileKey:    {"both", "mobile-only", "prereq-child", "rollout", "rule"},
	CredentialSDKKey:       {"both", "js-only", "mobile-only", "prereq-child", "rollout", "rule", "server-only"},
}

func csServer(t *testing.T, opts ...HandlerOption) *csEnv {
	t.Helper()
	e := htServer(t, opts...)
	st, ctx := e.st, t.Context()
	avail := func(env, mob bool) *ClientSideAvailability {
		return &ClientSideAvailability{UsingEnvironmentID: env, UsingMobileKey: mob}
	}
	for _, f := range []struct {
		key   string
		avail *ClientSideAvailability
	}{
		{"both", avail(true, true)},
		{"js-only", avail(true, false)},
		{"mobile-only", avail(false, true)},
		{"server-only", avail(false, false)},
		{"rule", avail(true, true)},
		{"rollout", avail(true, true)},
		{"prereq-child", avail(true, true)},
		{"archived", avail(true, true)},
		{"deleted", avail(true, true)},
	} {
		if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: f.key, Name: f.key, ClientSideAvailability: f.avail}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.CreateSegment(ctx, "shop", "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	csPatchSegment(t, st, "beta", `{"kind":"addIncludedUsers","values":["bob"]}`)
	v := func(key string, i int) string { return csVariationID(t, st, key, i) }
	csPatch(t, st, "both", `{"kind":"turnFlagOn"}`,
		fmt.Sprintf(`{"kind":"addTargets","variationId":%q,"values":["alice"]}`, v("both", 0)),
		fmt.Sprintf(`{"kind":"updateFallthroughVariationOrRollout","variationId":%q}`, v("both", 1)))
	csPatch(t, st, "rule", `{"kind":"turnFlagOn"}`,
		fmt.Sprintf(`{"kind":"addRule","variationId":%q,"clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]}`, v("rule", 0)),
		fmt.Sprintf(`{"kind":"updateFallthroughVariationOrRollout","variationId":%q}`, v("rule", 1)))
	csPatch(t, st, "rollout", `{"kind":"turnFlagOn"}`,
		fmt.Sprintf(`{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{%q:50000,%q:50000}}`, v("rollout", 0), v("rollout", 1)))
	csPatch(t, st, "prereq-child", `{"kind":"turnFlagOn"}`,
		fmt.Sprintf(`{"kind":"addPrerequisite","key":"both","variationId":%q}`, v("both", 0)),
		fmt.Sprintf(`{"kind":"updateFallthroughVariationOrRollout","variationId":%q}`, v("prereq-child", 0)))
	csPatch(t, st, "archived", `{"kind":"archiveFlag"}`)
	if err := st.DeleteFlag(ctx, "shop", "deleted"); err != nil {
		t.Fatal(err)
	}
	env := tstMustEnv(t, st, "shop", "production")
	return &csEnv{htEnv: e, envID: env.ID, mobKey: env.MobileKey, sdkKey: env.APIKey}
}

func csVariationID(t *testing.T, st *Store, key string, i int) string {
	t.Helper()
	f, err := st.GetFlag(t.Context(), "shop", key)
	if err != nil {
		t.Fatal(err)
	}
	return f.Variations[i].ID
}

// csPatch applies semantic-patch instructions to a flag in production.
func csPatch(t *testing.T, st *Store, key string, instructions ...string) {
	t.Helper()
	p := csParse(t, instructions)
	if _, err := st.PatchFlag(t.Context(), "shop", key, p); err != nil {
		t.Fatalf("patch %s: %v", key, err)
	}
}

func csPatchSegment(t *testing.T, st *Store, key string, instructions ...string) {
	t.Helper()
	if _, err := st.PatchSegment(t.Context(), "shop", "production", key, csParse(t, instructions)); err != nil {
		t.Fatalf("patch segment %s: %v", key, err)
	}
}

func csParse(t *testing.T, instructions []string) Patch {
	t.Helper()
	body := `{"environmentKey":"production","instructions":[` + strings.Join(instructions, ",") + `]}`
	p, err := ParsePatch("application/json; domain-model=launchdarkly.semanticpatch", []byte(body))
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return p
}

// csB64 is a context's JSON in base64url, padded or not.
func csB64(ctxJSON string, padded bool) string {
	if padded {
		return base64.URLEncoding.EncodeToString([]byte(ctxJSON))
	}
	return base64.RawURLEncoding.EncodeToString([]byte(ctxJSON))
}

// csEntry is an evalx entry as a test reads it.
type csEntry struct {
	Value                any             `json:"value"`
	Variation            *int            `json:"variation"`
	Version              *uint64         `json:"version"`
	FlagVersion          int             `json:"flagVersion"`
	TrackEvents          bool            `json:"trackEvents"`
	TrackReason          bool            `json:"trackReason"`
	Reason               json.RawMessage `json:"reason"`
	DebugEventsUntilDate *int64          `json:"debugEventsUntilDate"`
	Prerequisites        []string        `json:"prerequisites"`
}

// evalxReq is the request that evaluates ctxJSON with a credential of kind:
// GET with the context in the path, or REPORT with it in the body.
func (e *csEnv) evalxReq(kind CredentialKind, report bool, ctxJSON, query string) htReq {
	prefix, auth := "/sdk/evalx/"+e.envID, "-"
	switch kind {
	case CredentialMobileKey:
		prefix, auth = "/msdk/evalx", e.mobKey
	case CredentialSDKKey:
		prefix, auth = "/sdk/evalx", e.sdkKey
	}
	if report {
		return htReq{Method: "REPORT", Path: prefix + "/context" + query, Auth: auth, Body: ctxJSON}
	}
	return htReq{Method: http.MethodGet, Path: prefix + "/contexts/" + csB64(ctxJSON, false) + query, Auth: auth}
}

func (e *csEnv) evalx(r htReq) map[string]csEntry {
	e.t.Helper()
	var out map[string]csEntry
	e.json(r, http.StatusOK, &out)
	return out
}

func TestHTTPSDKClient_Availability(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	for kind, want := range csVisible {
		for _, report := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s report=%v", kind, report), func(t *testing.T) {
				got := slices.Sorted(maps.Keys(e.evalx(e.evalxReq(kind, report, `{"kind":"user","key":"carol"}`, ""))))
				if !slices.Equal(got, want) {
					t.Errorf("flags %v, want %v (archived, deleted and unavailable flags left out)", got, want)
				}
			})
		}
	}
}

func TestHTTPSDKClient_MatchesEvaluate(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	contexts := []struct{ name, json string }{
		{"targeted", `{"kind":"user","key":"alice"}`},
		{"segment member", `{"kind":"user","key":"bob","name":"Bob"}`},
		{"fallthrough", `{"kind":"user","key":"carol"}`},
		{"old user format", `{"key":"bob","custom":{"tier":"gold"}}`},
		{"multi-kind", `{"kind":"multi","user":{"key":"alice"},"org":{"key":"acme"}}`},
		{"other kind", `{"kind":"org","key":"acme"}`},
	}
	for _, c := range contexts {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var ldc ldcontext.Context
			if err := json.Unmarshal([]byte(c.json), &ldc); err != nil {
				t.Fatal(err)
			}
			want, err := e.st.EvaluateAll(t.Context(), "shop", "production", ldc)
			if err != nil {
				t.Fatal(err)
			}
			get := e.evalx(e.evalxReq(CredentialSDKKey, false, c.json, "?withReasons=true"))
			if len(get) != len(want) {
				t.Fatalf("%d flags, want %d", len(get), len(want))
			}
			for key, d := range want {
				g := get[key]
				wantValue, _ := json.Marshal(d.Value)
				gotValue, _ := json.Marshal(g.Value)
				wantReason, _ := json.Marshal(d.Reason)
				if string(gotValue) != string(wantValue) || g.Variation == nil || *g.Variation != d.VariationIndex.IntValue() ||
					string(g.Reason) != string(wantReason) {
					t.Errorf("%s: value %s variation %v reason %s; Evaluate says %s %v %s",
						key, gotValue, g.Variation, g.Reason, wantValue, d.VariationIndex, wantReason)
				}
			}
			// The client-side ID and the mobile key get the same results
			// for the flags they see.
			for _, kind := range []CredentialKind{CredentialClientSideID, CredentialMobileKey} {
				for key, g := range e.evalx(e.evalxReq(kind, false, c.json, "?withReasons=true")) {
					if !csSameResults(map[string]csEntry{key: g}, map[string]csEntry{key: get[key]}) {
						t.Errorf("%s, %s: %+v, the SDK key gets %+v", kind, key, g, get[key])
					}
				}
			}
			// The same answer by REPORT, by the "users" alias, with padding.
			for _, r := range []htReq{
				e.evalxReq(CredentialSDKKey, true, c.json, "?withReasons=true"),
				{Method: http.MethodGet, Path: "/sdk/evalx/users/" + csB64(c.json, true) + "?withReasons=true", Auth: e.sdkKey},
				{Method: "REPORT", Path: "/sdk/evalx/user?withReasons=true", Auth: e.sdkKey, Body: c.json},
			} {
				if other := e.evalx(r); !csSameResults(other, get) {
					t.Errorf("%s %s: %v, want %v", r.Method, r.Path, other, get)
				}
			}
		})
	}
}

// csSameResults compares two evalx maps, values by their JSON.
func csSameResults(a, b map[string]csEntry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestHTTPSDKClient_Entries(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	flag, err := e.st.GetFlag(t.Context(), "shop", "prereq-child")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []CredentialKind{CredentialClientSideID, CredentialMobileKey} {
		t.Run(string(kind), func(t *testing.T) {
			plain := e.evalx(e.evalxReq(kind, false, `{"kind":"user","key":"alice"}`, ""))
			reasons := e.evalx(e.evalxReq(kind, false, `{"kind":"user","key":"alice"}`, "?withReasons=true"))
			for key, g := range plain {
				if g.Reason != nil {
					t.Errorf("%s: reason %s without withReasons", key, g.Reason)
				}
				if g.Version == nil || *g.Version == 0 {
					t.Errorf("%s: no version", key)
				}
				if reasons[key].Reason == nil {
					t.Errorf("%s: no reason with withReasons=true", key)
				}
			}
			c := plain["prereq-child"]
			if !slices.Equal(c.Prerequisites, []string{"both"}) {
				t.Errorf("prerequisites %v, want [both]", c.Prerequisites)
			}
			if c.FlagVersion != flag.Environments["production"].Version {
				t.Errorf("flagVersion %d, want %d", c.FlagVersion, flag.Environments["production"].Version)
			}
			if got := string(reasons["both"].Reason); got != `{"kind":"TARGET_MATCH"}` {
				t.Errorf("both: reason %s, want TARGET_MATCH", got)
			}
		})
	}
}

func TestHTTPSDKClient_TrackEvents(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	// LaunchDarkly's rule: trackEvents when the flag asks for full events
	// or the evaluation counts for an experiment (here the fallthrough is
	// tracked), and then also trackReason and the reason, asked for or not.
	csPatch(t, e.st, "both", `{"kind":"updateTrackEvents","trackEvents":true}`)
	csPatch(t, e.st, "rule", `{"kind":"updateTrackEventsFallthrough","trackEvents":true}`)
	got := e.evalx(e.evalxReq(CredentialClientSideID, false, `{"key":"carol"}`, ""))
	if b := got["both"]; !b.TrackEvents || b.TrackReason || b.Reason != nil {
		t.Errorf("both: %+v, want trackEvents only", b)
	}
	if r := got["rule"]; !r.TrackEvents || !r.TrackReason || string(r.Reason) != `{"kind":"FALLTHROUGH"}` {
		t.Errorf("rule: %+v, want trackEvents, trackReason and the reason", r)
	}
	if r := got["rollout"]; r.TrackEvents || r.TrackReason || r.Reason != nil || r.DebugEventsUntilDate != nil {
		t.Errorf("rollout: %+v, want nothing tracked", r)
	}
}

func TestHTTPSDKClient_NoVariation(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	// A flag that is off without an off variation serves no variation:
	// LaunchDarkly's evalx says so with null.
	csPatch(t, e.st, "both", `{"kind":"turnFlagOff"}`)
	p, err := ParsePatch("application/json", []byte(`[{"op":"remove","path":"/environments/production/offVariation"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.st.PatchFlag(t.Context(), "shop", "both", p); err != nil {
		t.Fatal(err)
	}
	resp, body := e.do(e.evalxReq(CredentialClientSideID, false, `{"key":"alice"}`, ""))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	var raw map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if v, ok := raw["both"]["variation"]; !ok || string(v) != "null" || string(raw["both"]["value"]) != "null" {
		t.Errorf("both: %s, want value and variation null", body)
	}
}

func TestHTTPSDKClient_ETag(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	r := e.evalxReq(CredentialClientSideID, false, `{"key":"alice"}`, "")
	resp, _ := e.do(r)
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	r.Header = http.Header{"If-None-Match": {etag}}
	if resp, _ := e.do(r); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match: %d, want 304", resp.StatusCode)
	}
	csPatch(t, e.st, "both", `{"kind":"turnFlagOff"}`)
	if resp, _ := e.do(r); resp.StatusCode != http.StatusOK {
		t.Errorf("after a change: %d, want 200", resp.StatusCode)
	}
}

func TestHTTPSDKClient_BadCredentials(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	ctx := csB64(`{"key":"alice"}`, false)
	const unknownID = "0123456789abcdef01234567"
	cases := []struct {
		name   string
		req    htReq
		status int
	}{
		{"unknown client-side ID", htReq{Method: http.MethodGet, Path: "/sdk/evalx/" + unknownID + "/contexts/" + ctx, Auth: "-"}, 404},
		{"unknown client-side ID, REPORT", htReq{Method: "REPORT", Path: "/sdk/evalx/" + unknownID + "/context", Auth: "-", Body: `{"key":"a"}`}, 404},
		{"SDK key as client-side ID", htReq{Method: http.MethodGet, Path: "/sdk/evalx/" + e.sdkKey + "/contexts/" + ctx, Auth: "-"}, 404},
		{"mobile key as client-side ID", htReq{Method: http.MethodGet, Path: "/sdk/evalx/" + e.mobKey + "/users/" + ctx, Auth: "-"}, 404},
		{"unknown client-side ID, stream", htReq{Method: http.MethodGet, Path: "/eval/" + unknownID + "/" + ctx, Auth: "-"}, 404},
		{"unknown client-side ID, ping", htReq{Method: http.MethodGet, Path: "/ping/" + unknownID, Auth: "-"}, 404},
		{"unknown client-side ID, events", htReq{Method: http.MethodPost, Path: "/events/bulk/" + unknownID, Auth: "-", Body: `[]`}, 404},
		{"unknown client-side ID, goals", htReq{Method: http.MethodGet, Path: "/sdk/goals/" + unknownID, Auth: "-"}, 404},
		{"no mobile key", htReq{Method: http.MethodGet, Path: "/msdk/evalx/contexts/" + ctx, Auth: "-"}, 401},
		{"wrong mobile key", htReq{Method: http.MethodGet, Path: "/msdk/evalx/contexts/" + ctx, Auth: "mob-00000000-0000-0000-0000-000000000000"}, 401},
		{"SDK key for mobile", htReq{Method: http.MethodGet, Path: "/msdk/evalx/contexts/" + ctx, Auth: e.sdkKey}, 401},
		{"client-side ID for mobile", htReq{Method: "REPORT", Path: "/msdk/evalx/context", Auth: e.envID, Body: `{"key":"a"}`}, 401},
		{"access token for mobile", htReq{Method: http.MethodGet, Path: "/msdk/evalx/users/" + ctx, Auth: htAdminSecret}, 401},
		{"SDK key for mobile stream", htReq{Method: http.MethodGet, Path: "/meval/" + ctx, Auth: e.sdkKey}, 401},
		{"SDK key for mobile events", htReq{Method: http.MethodPost, Path: "/mobile/events/bulk", Auth: e.sdkKey, Body: `[]`}, 401},
		{"mobile key for SDK-key evalx", htReq{Method: http.MethodGet, Path: "/sdk/evalx/contexts/" + ctx, Auth: e.mobKey}, 401},
		{"access token for SDK-key evalx", htReq{Method: "REPORT", Path: "/sdk/evalx/context", Auth: htAdminSecret, Body: `{"key":"a"}`}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			code := map[int]string{401: CodeUnauthorized, 404: CodeNotFound}[tc.status]
			e.errorBody(tc.req, tc.status, code)
		})
	}
}

func TestHTTPSDKClient_BadContexts(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	for _, tc := range []struct{ name, path, body string }{
		{"not base64", "/contexts/!!!!", ""},
		{"not JSON", "/contexts/" + csB64("not json", false), ""},
		{"no key", "/contexts/" + csB64(`{"kind":"user","name":"x"}`, false), ""},
		{"empty key, old format", "/contexts/" + csB64(`{"key":""}`, false), ""},
		{"bad kind", "/contexts/" + csB64(`{"kind":"kind","key":"a"}`, false), ""},
		{"REPORT without body", "/context", "-"},
		{"REPORT with bad JSON", "/context", "{"},
		{"REPORT without key", "/user", `{"kind":"user"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := htReq{Method: http.MethodGet, Path: "/sdk/evalx/" + e.envID + tc.path, Auth: "-"}
			if tc.body != "" {
				r.Method = "REPORT"
				if tc.body != "-" {
					r.Body = tc.body
				}
			}
			e.errorBody(r, http.StatusBadRequest, CodeInvalidRequest)
		})
	}
	e.errorBody(htReq{Method: "REPORT", Path: "/sdk/evalx/" + e.envID + "/context", Auth: "-", Body: `{"key":"a"}`,
		ContentType: "text/plain"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
}

func TestHTTPSDKClient_SecureMode(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	if _, err := e.st.UpdateEnvironment(t.Context(), "shop", "production", func(env *Environment) error {
		env.SecureMode = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	hash := func(key string) string {
		mac := hmac.New(sha256.New, []byte(e.sdkKey))
		mac.Write([]byte(key))
		return hex.EncodeToString(mac.Sum(nil))
	}
	const alice, multi = `{"key":"alice"}`, `{"kind":"multi","user":{"key":"alice"},"org":{"key":"a:b"}}`
	for _, tc := range []struct {
		name, ctx, query string
		status           int
	}{
		{"signed", alice, "?h=" + hash("alice"), http.StatusOK},
		{"signed multi-kind, by its fully qualified key", multi, "?h=" + hash("org:a%3Ab:user:alice"), http.StatusOK},
		{"no hash", alice, "", http.StatusBadRequest},
		{"another context's hash", alice, "?h=" + hash("bob"), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, r := range []htReq{
				e.evalxReq(CredentialClientSideID, false, tc.ctx, tc.query),
				e.evalxReq(CredentialClientSideID, true, tc.ctx, tc.query),
			} {
				if resp, body := e.do(r); resp.StatusCode != tc.status {
					t.Errorf("%s %s: %d %s, want %d", r.Method, r.Path, resp.StatusCode, body, tc.status)
				}
			}
		})
	}
	// Mobile keys are secret: secure mode is for browsers only.
	e.json(e.evalxReq(CredentialMobileKey, false, alice, ""), http.StatusOK, nil)
}

func TestHTTPSDKClient_EventsAndGoals(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	events := `[{"kind":"summary","startDate":1,"endDate":2,"features":{"both":{"default":false,"counters":[{"variation":0,"version":2,"value":true,"count":1}]}}}]`
	for _, r := range []htReq{
		{Method: http.MethodPost, Path: "/events/bulk/" + e.envID, Auth: "-", Body: events},
		{Method: http.MethodPost, Path: "/events/diagnostic/" + e.envID, Auth: "-", Body: `{"kind":"diagnostic-init"}`},
		{Method: http.MethodPost, Path: "/mobile", Auth: e.mobKey, Body: events},
		{Method: http.MethodPost, Path: "/mobile/events", Auth: e.mobKey, Body: events},
		{Method: http.MethodPost, Path: "/mobile/events/bulk", Auth: e.mobKey, Body: events},
		{Method: http.MethodPost, Path: "/mobile/events/diagnostic", Auth: e.mobKey, Body: `{"kind":"diagnostic"}`},
	} {
		if resp, body := e.do(r); resp.StatusCode != http.StatusAccepted {
			t.Errorf("%s %s: %d %s, want 202", r.Method, r.Path, resp.StatusCode, body)
		}
	}
	var goals []any
	e.json(htReq{Method: http.MethodGet, Path: "/sdk/goals/" + e.envID, Auth: "-"}, http.StatusOK, &goals)
	if goals == nil || len(goals) != 0 {
		t.Errorf("goals %v, want []", goals)
	}
}

func TestHTTPSDKClient_CORS(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	const origin = "https://shop.example"
	resp, body := e.do(htReq{Method: http.MethodGet, Path: "/sdk/evalx/" + e.envID + "/contexts/" + csB64(`{"key":"a"}`, false),
		Auth: "-", Header: http.Header{"Origin": {origin}}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	mwCheckCORS(t, resp.Header, origin)
	resp, body = e.do(htReq{Method: http.MethodOptions, Path: "/sdk/evalx/" + e.envID + "/context", Auth: "-",
		Header: http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"REPORT"},
			"Access-Control-Request-Headers": {"content-type, x-launchdarkly-user-agent"}}})
	mwCheckCORS(t, resp.Header, origin)
	mwCheckPreflight(t, resp.StatusCode, resp.Header, body)
}
