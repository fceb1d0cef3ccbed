package flagstore

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// mwList splits a comma-separated header value into lower-case items.
func mwList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// mwCheckListHas checks that a comma-separated header lists each of want.
func mwCheckListHas(t *testing.T, h http.Header, name string, want ...string) {
	t.Helper()
	got := mwList(strings.Join(h.Values(name), ","))
	for _, w := range want {
		if !slices.Contains(got, strings.ToLower(w)) {
			t.Errorf("%s %q lacks %s", name, h.Values(name), w)
		}
	}
}

// mwCheckCORS checks the CORS headers every response carries (G6): the
// Origin echoed with credentials allowed and Vary: Origin, or "*" without
// credentials; the rate-limit and request-id headers exposed.
func mwCheckCORS(t *testing.T, h http.Header, origin string) {
	t.Helper()
	acao, acac := h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials")
	if origin == "" {
		if acao != "*" || acac != "" {
			t.Errorf("no Origin: Allow-Origin %q, Allow-Credentials %q; want *, none", acao, acac)
		}
	} else {
		if acao != origin || acac != "true" {
			t.Errorf("Origin %s: Allow-Origin %q, Allow-Credentials %q; want it echoed, true", origin, acao, acac)
		}
		mwCheckListHas(t, h, "Vary", "Origin")
	}
	mwCheckListHas(t, h, "Access-Control-Expose-Headers",
		"X-Ratelimit-Global-Remaining", "X-Ratelimit-Route-Remaining", "X-Ratelimit-Reset", "Retry-After", RequestIDHeader)
}

// mwCheckPreflight checks a preflight's answer: 204, no body, and the
// methods and headers a browser may use (the documented five headers plus
// LD-API-Version and X-HTTP-Method-Override, and the headers LaunchDarkly's
// JavaScript and mobile SDKs send, with REPORT), cached for 300 seconds.
func mwCheckPreflight(t *testing.T, status int, h http.Header, body []byte) {
	t.Helper()
	if status != http.StatusNoContent || len(body) != 0 {
		t.Errorf("preflight: %d with %d bytes, want 204 without a body", status, len(body))
	}
	mwCheckListHas(t, h, "Access-Control-Allow-Methods", "GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "REPORT")
	mwCheckListHas(t, h, "Access-Control-Allow-Headers", "Accept", "Content-Type", "Content-Length", "Accept-Encoding",
		"Authorization", APIVersionHeader, MethodOverrideHeader,
		"X-LaunchDarkly-User-Agent", "X-LaunchDarkly-Payload-ID", "X-LaunchDarkly-Event-Schema",
		"X-LaunchDarkly-Wrapper", "X-LaunchDarkly-Tags", "Cache-Control", "If-None-Match")
	if got := h.Get("Access-Control-Max-Age"); got != "300" {
		t.Errorf("Access-Control-Max-Age %q, want 300", got)
	}
}

func TestHTTPCORS_Middleware(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		method    string
		header    http.Header
		origin    string // expected echo, "" for *
		preflight bool
	}{
		{"no origin", http.MethodGet, nil, "", false},
		{"origin echoed", http.MethodGet, http.Header{"Origin": {"https://app.example"}}, "https://app.example", false},
		{"origin with port", http.MethodPost, http.Header{"Origin": {"http://localhost:8080"}}, "http://localhost:8080", false},
		{"error responses too", http.MethodDelete, http.Header{"Origin": {"https://other.example"}}, "https://other.example", false},
		{"preflight with origin", http.MethodOptions, http.Header{"Origin": {"https://app.example"},
			"Access-Control-Request-Method": {"PATCH"}, "Access-Control-Request-Headers": {"authorization, ld-api-version, content-type"}},
			"https://app.example", true},
		{"preflight without origin", http.MethodOptions, http.Header{"Access-Control-Request-Method": {"DELETE"}}, "", true},
		{"OPTIONS that is no preflight", http.MethodOptions, http.Header{"Origin": {"https://app.example"}}, "https://app.example", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			called := false
			h := cors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				if tc.method == http.MethodDelete {
					writeError(w, newError(ErrUnauthorized, "Invalid access token"))
					return
				}
				w.WriteHeader(http.StatusOK)
			}))
			req := httptest.NewRequest(tc.method, "/api/v2/versions", nil)
			for k, vs := range tc.header {
				req.Header[k] = vs
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			mwCheckCORS(t, rec.Header(), tc.origin)
			if tc.preflight {
				if called {
					t.Error("a preflight reached the next handler")
				}
				mwCheckPreflight(t, rec.Code, rec.Header(), rec.Body.Bytes())
				return
			}
			if !called {
				t.Fatal("the request did not reach the next handler")
			}
			if rec.Header().Get("Access-Control-Allow-Methods") != "" || rec.Header().Get("Access-Control-Max-Age") != "" {
				t.Errorf("preflight headers on an ordinary response: %v", rec.Header())
			}
		})
	}
}

func TestHTTPCORS_KeepsVary(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	rec.Header().Add("Vary", "Accept-Encoding") // from an outer middleware
	req := httptest.NewRequest(http.MethodGet, "/api/v2", nil)
	req.Header.Set("Origin", "https://app.example")
	cors(mwReply(http.StatusOK, "")).ServeHTTP(rec, req)
	mwCheckListHas(t, rec.Header(), "Vary", "Accept-Encoding", "Origin")
}

func TestHTTPCORS_ThroughHandler(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	const origin = "https://console.example"
	cases := []struct {
		name      string
		req       htReq
		origin    string
		status    int
		preflight bool
	}{
		{"preflight needs no credentials", htReq{Method: http.MethodOptions, Path: "/api/v2/versions", Auth: "-",
			Header: http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"GET"},
				"Access-Control-Request-Headers": {"Authorization, LD-API-Version"}}}, origin, http.StatusNoContent, true},
		{"preflight of a tunnelled verb", htReq{Method: http.MethodOptions, Path: "/api/v2/versions", Auth: "-",
			Header: http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"POST"},
				"Access-Control-Request-Headers": {"X-HTTP-Method-Override"}}}, origin, http.StatusNoContent, true},
		{"preflight with a bad token", htReq{Method: http.MethodOptions, Path: "/api/v2/versions", Auth: "api-wrong",
			Header: http.Header{"Access-Control-Request-Method": {"GET"}}}, "", http.StatusNoContent, true},
		{"OPTIONS without a preflight", htReq{Method: http.MethodOptions, Path: "/api/v2/versions",
			Header: http.Header{"Origin": {origin}}}, origin, http.StatusMethodNotAllowed, false},
		{"success with origin", htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{"Origin": {origin}}}, origin, http.StatusOK, false},
		{"success without origin", htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, "", http.StatusOK, false},
		{"public route", htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-", Header: http.Header{"Origin": {origin}}}, origin, http.StatusOK, false},
		{"401 readable by the page", htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-", Header: http.Header{"Origin": {origin}}}, origin, http.StatusUnauthorized, false},
		{"404 without origin", htReq{Method: http.MethodGet, Path: "/api/v2/nothing-here"}, "", http.StatusNotFound, false},
		{"400 with origin", htReq{Method: http.MethodGet, Path: "/api/v2/versions",
			Header: http.Header{"Origin": {origin}, APIVersionHeader: {"nope"}}}, origin, http.StatusBadRequest, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := mwAs(e, t).do(tc.req)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			mwCheckCORS(t, resp.Header, tc.origin)
			mwRequestID(t, resp.Header)
			if tc.preflight {
				mwCheckPreflight(t, resp.StatusCode, resp.Header, body)
			}
		})
	}
}
