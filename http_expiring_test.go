package flagstore

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// hxSemantic is the Content-Type of a semantic patch.
const hxSemantic = "application/json; domain-model=launchdarkly.semanticpatch"

// hxTargeted gives flag f of hxServer user targets alice and bob on its
// first variation in production, and returns the variations' IDs.
func hxTargeted(e *htEnv) (v0, v1 string) {
	e.t.Helper()
	f, err := e.st.UpdateFlag(e.t.Context(), "shop", "f", func(f *Flag) error {
		f.Environments["production"].Targets = []Target{{Values: []string{"alice", "bob"}, Variation: 0}}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return f.Variations[0].ID, f.Variations[1].ID
}

// hxPatchResult is ExpiringTargetPatchResponse as a client decodes it.
type hxPatchResult struct {
	Items []struct {
		ID             string         `json:"_id"`
		Version        int            `json:"_version"`
		ExpirationDate int64          `json:"expirationDate"`
		ContextKind    string         `json:"contextKind"`
		ContextKey     string         `json:"contextKey"`
		UserKey        string         `json:"userKey"`
		VariationID    string         `json:"variationId"`
		ResourceID     map[string]any `json:"_resourceId"`
	} `json:"items"`
	Links                  map[string]Link `json:"_links"`
	TotalInstructions      *int            `json:"totalInstructions"`
	SuccessfulInstructions *int            `json:"successfulInstructions"`
	FailedInstructions     *int            `json:"failedInstructions"`
	Errors                 []struct {
		InstructionIndex int    `json:"instructionIndex"`
		Message          string `json:"message"`
	} `json:"errors"`
}

func TestHTTPExpiring_ContextTargets(t *testing.T) {
	t.Parallel()
	e, clock := hxServer(t)
	v0, _ := hxTargeted(e)
	const path = "/api/v2/flags/shop/f/expiring-targets/production"
	due := clock.Now().Add(time.Hour).UnixMilli()
	body := map[string]any{
		"comment": "trial ends",
		"instructions": []map[string]any{
			{"kind": "addExpiringTarget", "value": due, "variationId": v0, "contextKey": "alice", "contextKind": "user"},
			{"kind": "addExpiringTarget", "value": due, "variationId": v0, "contextKey": "carol", "contextKind": "user"},
		},
	}
	var res hxPatchResult
	e.json(htReq{Method: http.MethodPatch, Path: path, Body: body, ContentType: hxSemantic}, http.StatusOK, &res)
	if *res.TotalInstructions != 2 || *res.SuccessfulInstructions != 1 || *res.FailedInstructions != 1 ||
		len(res.Errors) != 1 || res.Errors[0].InstructionIndex != 1 || !strings.Contains(res.Errors[0].Message, "carol") {
		t.Fatalf("report %+v", res)
	}
	it := res.Items
	if len(it) != 1 || len(it[0].ID) != 24 || it[0].Version != 1 || it[0].ExpirationDate != due || it[0].ContextKey != "alice" ||
		it[0].ContextKind != "user" || it[0].VariationID != v0 {
		t.Fatalf("items %+v", it)
	}
	wantRes := map[string]any{"kind": "flag", "projectKey": "shop", "environmentKey": "production", "key": "f", "flagKey": "f"}
	if b, _ := json.Marshal(it[0].ResourceID); string(b) != mustJSON(wantRes) {
		t.Fatalf("_resourceId %s", b)
	}
	hxLink(t, res.Links, "self", path)
	hxLink(t, res.Links, "parent", "/api/v2/flags/shop/f")
	// The comment is in the audit log.
	entries, err := e.st.ListAuditLog(t.Context(), AuditListOptions{Limit: 1})
	if err != nil || entries[0].Comment != "trial ends" || entries[0].Accesses[0].Action != "updateExpiringTargets" {
		t.Fatalf("audit %+v, %v", entries, err)
	}

	var got hxPatchResult
	e.json(htReq{Method: http.MethodGet, Path: path}, http.StatusOK, &got)
	if len(got.Items) != 1 || got.Items[0].ID != it[0].ID || got.TotalInstructions != nil {
		t.Fatalf("GET %+v", got)
	}
	hxLink(t, got.Links, "self", path)

	// An empty list is [], and errors always come as a list.
	e.json(htReq{Method: http.MethodPatch, Path: path, ContentType: hxSemantic, Body: map[string]any{"instructions": []map[string]any{
		{"kind": "updateExpiringTarget", "value": due + 1000, "variationId": v0, "contextKey": "alice", "version": 1},
		{"kind": "removeExpiringTarget", "variationId": v0, "contextKey": "alice", "contextKind": "user"},
	}}}, http.StatusOK, &res)
	if len(res.Items) != 0 || *res.SuccessfulInstructions != 2 || res.Errors == nil {
		t.Fatalf("after removal %+v", res)
	}
	_, raw := e.do(htReq{Method: http.MethodGet, Path: path})
	if !strings.Contains(string(raw), `"items":[]`) {
		t.Fatalf("empty GET %s", raw)
	}
}

func TestHTTPExpiring_UserTargets(t *testing.T) {
	t.Parallel()
	e, clock := hxServer(t)
	v0, _ := hxTargeted(e)
	const path = "/api/v2/flags/shop/f/expiring-user-targets/production"
	due := clock.Now().Add(time.Hour).UnixMilli()
	var res hxPatchResult
	e.json(htReq{Method: http.MethodPatch, Path: path, ContentType: hxSemantic, Body: map[string]any{"instructions": []map[string]any{
		{"kind": "addExpireUserTargetDate", "userKey": "bob", "value": due, "variationId": v0},
	}}}, http.StatusOK, &res)
	if *res.SuccessfulInstructions != 1 || len(res.Items) != 1 || res.Items[0].UserKey != "bob" || res.Items[0].ContextKey != "" {
		t.Fatalf("legacy patch %+v", res)
	}
	_, raw := e.do(htReq{Method: http.MethodGet, Path: path})
	if !strings.Contains(string(raw), `"userKey":"bob"`) || strings.Contains(string(raw), "contextKey") {
		t.Fatalf("legacy GET %s", raw)
	}
	// The same target through the context route.
	_, raw = e.do(htReq{Method: http.MethodGet, Path: "/api/v2/flags/shop/f/expiring-targets/production"})
	if !strings.Contains(string(raw), `"contextKey":"bob"`) {
		t.Fatalf("context GET %s", raw)
	}
	// Carried out by the job's work: bob leaves the targeting.
	clock.Advance(time.Hour)
	if err := e.st.expireDueTargets(clock.Now()); err != nil {
		t.Fatal(err)
	}
	f, err := e.st.GetFlag(t.Context(), "shop", "f")
	if err != nil || strings.Join(f.Environments["production"].Targets[0].Values, ",") != "alice" {
		t.Fatalf("targets after expiry %+v, %v", f.Environments["production"].Targets, err)
	}
}

func TestHTTPExpiring_Errors(t *testing.T) {
	t.Parallel()
	e, clock := hxServer(t)
	v0, _ := hxTargeted(e)
	reader := hxToken(e, RoleReader)
	const ctxPath = "/api/v2/flags/shop/f/expiring-targets/production"
	const userPath = "/api/v2/flags/shop/f/expiring-user-targets/production"
	add := map[string]any{"instructions": []map[string]any{
		{"kind": "addExpiringTarget", "value": clock.Now().Add(time.Hour).UnixMilli(), "variationId": v0, "contextKey": "alice"},
	}}
	addUser := map[string]any{"instructions": []map[string]any{
		{"kind": "addExpireUserTargetDate", "value": clock.Now().Add(time.Hour).UnixMilli(), "variationId": v0, "userKey": "alice"},
	}}
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		{"no token", htReq{Method: http.MethodGet, Path: ctxPath, Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized},
		{"no token on patch", htReq{Method: http.MethodPatch, Path: ctxPath, Auth: "-", Body: add, ContentType: hxSemantic}, http.StatusUnauthorized, CodeUnauthorized},
		{"reader patches", htReq{Method: http.MethodPatch, Path: ctxPath, Auth: reader, Body: add, ContentType: hxSemantic}, http.StatusForbidden, CodeForbidden},
		{"reader patches users", htReq{Method: http.MethodPatch, Path: userPath, Auth: reader, Body: addUser, ContentType: hxSemantic}, http.StatusForbidden, CodeForbidden},
		{"unknown flag", htReq{Method: http.MethodGet, Path: "/api/v2/flags/shop/nope/expiring-targets/production"}, http.StatusNotFound, CodeNotFound},
		{"unknown environment", htReq{Method: http.MethodGet, Path: "/api/v2/flags/shop/f/expiring-user-targets/staging"}, http.StatusNotFound, CodeNotFound},
		{"unknown project", htReq{Method: http.MethodPatch, Path: "/api/v2/flags/nope/f/expiring-targets/production", Body: add, ContentType: hxSemantic}, http.StatusNotFound, CodeNotFound},
		{"JSON without the semantic parameter", htReq{Method: http.MethodPatch, Path: ctxPath, Body: add}, http.StatusBadRequest, CodeInvalidRequest},
		{"JSON Patch", htReq{Method: http.MethodPatch, Path: ctxPath, Body: `[{"op":"remove","path":"/items/0"}]`, ContentType: hxSemantic}, http.StatusBadRequest, CodeInvalidRequest},
		{"merge body", htReq{Method: http.MethodPatch, Path: userPath, Body: map[string]any{"items": []any{}}}, http.StatusBadRequest, CodeInvalidRequest},
		{"not JSON", htReq{Method: http.MethodPatch, Path: ctxPath, Body: "kind=addExpiringTarget", ContentType: "text/plain"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"malformed JSON", htReq{Method: http.MethodPatch, Path: ctxPath, Body: `{"instructions":[`, ContentType: hxSemantic}, http.StatusBadRequest, CodeInvalidRequest},
		{"no instructions", htReq{Method: http.MethodPatch, Path: ctxPath, Body: `{"instructions":[]}`, ContentType: hxSemantic}, http.StatusBadRequest, CodeInvalidRequest},
		{"unknown kind", htReq{Method: http.MethodPatch, Path: ctxPath, Body: `{"instructions":[{"kind":"turnFlagOn"}]}`, ContentType: hxSemantic}, http.StatusBadRequest, CodeInvalidRequest},
		{"context kind on the user route", htReq{Method: http.MethodPatch, Path: userPath, Body: add, ContentType: hxSemantic}, http.StatusBadRequest, CodeInvalidRequest},
		{"DELETE", htReq{Method: http.MethodDelete, Path: ctxPath}, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				sub := &htEnv{t: t, st: e.st, srv: e.srv}
				sub.errorBody(tc.req, tc.status, tc.code)
			})
		}
	})
	// A reader may read, and nothing was stored.
	var res hxPatchResult
	e.json(htReq{Method: http.MethodGet, Path: ctxPath, Auth: reader}, http.StatusOK, &res)
	if len(res.Items) != 0 {
		t.Fatalf("a refused patch stored %+v", res.Items)
	}
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
