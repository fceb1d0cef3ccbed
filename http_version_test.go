package flagstore

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestHTTPVersion_Registry(t *testing.T) {
	t.Parallel()
	if !slices.IsSorted(apiVersions) || apiVersions[len(apiVersions)-1] != LatestAPIVersion {
		t.Errorf("apiVersions %v: want ascending, ending with LatestAPIVersion %d", apiVersions, LatestAPIVersion)
	}
	// A token's default version must be one the header accepts too.
	if !slices.Equal(apiVersions, tokenAPIVersions) {
		t.Errorf("apiVersions %v and tokenAPIVersions %v differ", apiVersions, tokenAPIVersions)
	}
	if v := APIVersionFrom(t.Context()); v != (APIVersion{Version: LatestAPIVersion}) {
		t.Errorf("APIVersionFrom outside a request = %+v, want the latest, not beta", v)
	}
}

func TestHTTPVersion_Resolve(t *testing.T) {
	t.Parallel()
	const tokenDefault = 20191212
	cases := []struct {
		name     string
		header   []string
		tokenVer int // the principal's default version; 0: none
		session  bool
		want     APIVersion
		bad      bool // 400 invalid_request
	}{
		{"no header", nil, 0, false, APIVersion{Version: LatestAPIVersion}, false},
		{"oldest", []string{"20160426"}, 0, false, APIVersion{Version: 20160426}, false},
		{"20191212", []string{"20191212"}, 0, false, APIVersion{Version: 20191212}, false},
		{"20210729", []string{"20210729"}, 0, false, APIVersion{Version: 20210729}, false},
		{"20220603", []string{"20220603"}, 0, false, APIVersion{Version: 20220603}, false},
		{"latest", []string{"20240415"}, 0, false, APIVersion{Version: 20240415}, false},
		{"spaces", []string{" 20220603 "}, 0, false, APIVersion{Version: 20220603}, false},
		{"beta", []string{"beta"}, 0, false, APIVersion{Version: LatestAPIVersion, Beta: true}, false},
		{"BETA", []string{"BETA"}, 0, false, APIVersion{Version: LatestAPIVersion, Beta: true}, false},
		{"token default", nil, tokenDefault, false, APIVersion{Version: tokenDefault}, false},
		{"header beats token", []string{"20220603"}, tokenDefault, false, APIVersion{Version: 20220603}, false},
		{"beta with token default", []string{"beta"}, tokenDefault, false, APIVersion{Version: tokenDefault, Beta: true}, false},
		{"token without default", nil, 0, false, APIVersion{Version: LatestAPIVersion}, false},
		{"session gets the latest", nil, 0, true, APIVersion{Version: LatestAPIVersion}, false},
		{"unknown date (G3)", []string{"20200101"}, 0, false, APIVersion{}, true},
		{"future date", []string{"20990101"}, 0, false, APIVersion{}, true},
		{"dashed date", []string{"2024-04-15"}, 0, false, APIVersion{}, true},
		{"word", []string{"latest"}, 0, false, APIVersion{}, true},
		{"empty", []string{""}, 0, false, APIVersion{}, true},
		{"decimal", []string{"20240415.0"}, 0, false, APIVersion{}, true},
		{"negative", []string{"-20240415"}, 0, false, APIVersion{}, true},
		{"comma list", []string{"20240415, beta"}, 0, false, APIVersion{}, true},
		{"unknown with token default", []string{"2"}, tokenDefault, false, APIVersion{}, true},
		{"repeated (G4)", []string{"20240415", "beta"}, 0, false, APIVersion{}, true},
		{"repeated identical", []string{"20240415", "20240415"}, 0, false, APIVersion{}, true},
		{"repeated beta", []string{"beta", "beta"}, 0, false, APIVersion{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got *APIVersion
			h := apiVersion(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				v := APIVersionFrom(r.Context())
				got = &v
				w.WriteHeader(http.StatusNoContent)
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/v2/versions", nil)
			for _, v := range tc.header {
				req.Header.Add(APIVersionHeader, v)
			}
			switch {
			case tc.session:
				req = req.WithContext(WithPrincipal(req.Context(), Principal{Kind: PrincipalMember, MemberID: "m1"}))
			case tc.tokenVer != 0 || tc.name == "token without default":
				req = req.WithContext(WithPrincipal(req.Context(),
					Principal{Kind: PrincipalServiceToken, TokenID: "t1", defaultAPIVersion: tc.tokenVer}))
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.bad {
				if got != nil {
					t.Errorf("a bad version reached the route as %+v", *got)
				}
				m := mwRecError(t, rec, http.StatusBadRequest, CodeInvalidRequest)
				errs, _ := m["errors"].([]any)
				if len(errs) != 1 || errs[0].(map[string]any)["attribute"] != APIVersionHeader {
					t.Errorf("errors %v, want one naming %s", m["errors"], APIVersionHeader)
				}
				if len(tc.header) == 1 {
					// G3: the message lists what is valid.
					msg, _ := m["message"].(string)
					for _, v := range apiVersions {
						if !strings.Contains(msg, strconv.Itoa(v)) {
							t.Errorf("message %q does not list version %d", msg, v)
						}
					}
				}
				return
			}
			if rec.Code != http.StatusNoContent || got == nil || *got != tc.want {
				t.Errorf("status %d, version %+v; want %+v", rec.Code, got, tc.want)
			}
		})
	}
}

func TestHTTPVersion_BetaGate(t *testing.T) {
	t.Parallel()
	betaRoute := &route{method: http.MethodGet, path: "/mwtest/beta", operationID: "mwGetBeta", beta: true}
	plainRoute := &route{method: http.MethodGet, path: "/mwtest/plain", operationID: "mwGetPlain"}
	cases := []struct {
		name   string
		rt     *route
		header string
		ok     bool
	}{
		{"beta route with beta", betaRoute, "beta", true},
		{"beta route with Beta", betaRoute, "Beta", true},
		{"beta route without header", betaRoute, "", false},
		{"beta route with the latest version", betaRoute, "20240415", false},
		{"beta route with an old version", betaRoute, "20160426", false},
		{"plain route without header", plainRoute, "", true},
		{"plain route with beta", plainRoute, "beta", true},
		{"plain route with a version", plainRoute, "20220603", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var next http.Handler = mwReply(http.StatusOK, "ok")
			if !tc.ok {
				next = mwUnreachable(t)
			}
			h := apiVersion(betaGate(tc.rt, next))
			req := httptest.NewRequest(http.MethodGet, "/api/v2"+tc.rt.path, nil)
			if tc.header != "" {
				req.Header.Set(APIVersionHeader, tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.ok {
				if rec.Code != http.StatusOK {
					t.Errorf("status %d, want 200", rec.Code)
				}
				return
			}
			m := mwRecError(t, rec, http.StatusForbidden, CodeForbidden)
			if msg, _ := m["message"].(string); !strings.Contains(msg, "LD-API-Version: beta") {
				t.Errorf("message %q does not tell the caller to send LD-API-Version: beta", msg)
			}
		})
	}
	if h := betaGate(plainRoute, mwReply(http.StatusOK, "")); h == nil {
		t.Error("betaGate of a plain route is nil")
	}
}

// mwBetaRoutes are test-only routes: a beta route reporting the version
// it got, and a public route doing the same.
func mwBetaRoutes(a *api) []*route {
	report := func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, APIVersionFrom(r.Context()))
	}
	return []*route{
		{method: http.MethodGet, path: "/mwtest/beta", operationID: "mwGetBeta", beta: true, handle: report},
		{method: http.MethodGet, path: "/mwtest/public", operationID: "mwGetPublic", public: true, handle: report},
	}
}

func TestHTTPVersion_ThroughHandler(t *testing.T) {
	t.Parallel()
	e, _ := mwServer(t, mwBetaRoutes)
	owner, err := e.st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	old, err := e.st.CreateToken(t.Context(), owner.ID, TokenPost{Name: "old", Role: RoleReader, DefaultAPIVersion: 20191212})
	if err != nil {
		t.Fatal(err)
	}
	ver := func(v ...string) http.Header { return http.Header{APIVersionHeader: v} }
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string     // of an error body
		want   APIVersion // of a success
	}{
		{"beta route with beta", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/beta", Header: ver("beta")}, http.StatusOK, "", APIVersion{Version: LatestAPIVersion, Beta: true}},
		{"beta route without header", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/beta"}, http.StatusForbidden, CodeForbidden, APIVersion{}},
		{"beta route with a version", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/beta", Header: ver("20240415")}, http.StatusForbidden, CodeForbidden, APIVersion{}},
		{"beta route, beta twice", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/beta", Header: ver("beta", "beta")}, http.StatusBadRequest, CodeInvalidRequest, APIVersion{}},
		{"beta route needs credentials first", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/beta", Auth: "-", Header: ver("beta")}, http.StatusUnauthorized, CodeUnauthorized, APIVersion{}},
		{"beta route with the old token's default", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/beta", Auth: old.Token, Header: ver("beta")}, http.StatusOK, "", APIVersion{Version: 20191212, Beta: true}},
		{"public route", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/public", Auth: "-"}, http.StatusOK, "", APIVersion{Version: LatestAPIVersion}},
		{"public route with a version", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/public", Auth: "-", Header: ver("20210729")}, http.StatusOK, "", APIVersion{Version: 20210729}},
		{"public route with a bad version", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/public", Auth: "-", Header: ver("nope")}, http.StatusBadRequest, CodeInvalidRequest, APIVersion{}},
		{"root with a bad version", htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-", Header: ver("20200101")}, http.StatusBadRequest, CodeInvalidRequest, APIVersion{}},
		{"root, repeated", htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-", Header: ver("20240415", "20240415")}, http.StatusBadRequest, CodeInvalidRequest, APIVersion{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := mwAs(e, t).do(tc.req)
			if tc.code != "" {
				mwError(t, resp.StatusCode, resp.Header, body, tc.status, tc.code)
				return
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			var got APIVersion
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if got != tc.want {
				t.Errorf("route got %+v, want %+v", got, tc.want)
			}
		})
	}

	t.Run("versions route with a token default", func(t *testing.T) {
		t.Parallel()
		e := mwAs(e, t)
		var v struct {
			CurrentVersion int  `json:"currentVersion"`
			Beta           bool `json:"beta"`
		}
		e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: old.Token}, http.StatusOK, &v)
		if v.CurrentVersion != 20191212 || v.Beta {
			t.Errorf("token default: %+v, want currentVersion 20191212", v)
		}
		e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "Bearer " + old.Token, Header: ver("20240415")}, http.StatusOK, &v)
		if v.CurrentVersion != 20240415 {
			t.Errorf("header over token default: %+v, want currentVersion 20240415", v)
		}
		e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: old.Token, Header: ver("beta")}, http.StatusOK, &v)
		if v.CurrentVersion != 20191212 || !v.Beta {
			t.Errorf("beta with token default: %+v, want beta, currentVersion 20191212", v)
		}
		e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: old.Token, Header: ver("20240415", "beta")}, http.StatusBadRequest, CodeInvalidRequest)
	})
}
