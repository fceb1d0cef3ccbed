package flagstore

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHTTPOverride_Middleware(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		method   string
		override []string
		want     string // method the next handler sees; "" for a 400
	}{
		{"PATCH", http.MethodPost, []string{"PATCH"}, http.MethodPatch},
		{"lower case", http.MethodPost, []string{"patch"}, http.MethodPatch},
		{"mixed case and spaces", http.MethodPost, []string{"  Put "}, http.MethodPut},
		{"DELETE", http.MethodPost, []string{"delete"}, http.MethodDelete},
		{"no header", http.MethodPost, nil, http.MethodPost},
		{"empty header", http.MethodPost, []string{""}, http.MethodPost},
		{"GET is not tunnelled", http.MethodPost, []string{"GET"}, ""},
		{"HEAD is not tunnelled", http.MethodPost, []string{"HEAD"}, ""},
		{"POST is not an override", http.MethodPost, []string{"POST"}, ""},
		{"OPTIONS is not tunnelled", http.MethodPost, []string{"OPTIONS"}, ""},
		{"REPORT is not tunnelled", http.MethodPost, []string{"REPORT"}, ""},
		{"junk", http.MethodPost, []string{"FROB"}, ""},
		{"blank", http.MethodPost, []string{"   "}, ""},
		{"a list", http.MethodPost, []string{"PATCH, PUT"}, ""},
		{"ignored on GET", http.MethodGet, []string{"DELETE"}, http.MethodGet},
		{"ignored on PUT", http.MethodPut, []string{"DELETE"}, http.MethodPut},
		{"junk ignored on PATCH", http.MethodPatch, []string{"FROB"}, http.MethodPatch},
		{"ignored on DELETE", http.MethodDelete, []string{"GET"}, http.MethodDelete},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const body = `{"op":"replace"}`
			var seen string
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				seen = r.Method
				b, _ := io.ReadAll(r.Body)
				if string(b) != body || r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/api/v2/things/a" {
					t.Errorf("next got %s %s %q (%s), want the request unchanged but for the verb", r.Method, r.URL.Path, b, r.Header.Get("Content-Type"))
				}
				w.WriteHeader(http.StatusNoContent)
			})
			req := httptest.NewRequest(tc.method, "/api/v2/things/a", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			for _, v := range tc.override {
				req.Header.Add(MethodOverrideHeader, v)
			}
			rec := httptest.NewRecorder()
			methodOverride(next).ServeHTTP(rec, req)
			if req.Method != tc.method {
				t.Errorf("the caller's request was changed to %s", req.Method)
			}
			if tc.want == "" {
				if seen != "" {
					t.Errorf("a bad override reached the next handler as %s", seen)
				}
				m := mwRecError(t, rec, http.StatusBadRequest, CodeInvalidRequest)
				errs, _ := m["errors"].([]any)
				if len(errs) != 1 || errs[0].(map[string]any)["attribute"] != MethodOverrideHeader {
					t.Errorf("errors %v, want one naming %s", m["errors"], MethodOverrideHeader)
				}
				return
			}
			if rec.Code != http.StatusNoContent || seen != tc.want {
				t.Errorf("status %d, next saw %q; want 204 as %s", rec.Code, seen, tc.want)
			}
		})
	}
}

// mwEchoRoutes are test-only routes answering 200 with the verb they were
// reached as and the body they read: PATCH and DELETE /mwtest/things/{key},
// POST /mwtest/things.
func mwEchoRoutes(a *api) []*route {
	echo := func(w http.ResponseWriter, r *http.Request) error {
		b, err := readBody(r)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusOK, map[string]string{"method": r.Method, "key": r.PathValue("key"), "body": string(b)})
	}
	return []*route{
		{method: http.MethodPatch, path: "/mwtest/things/{key}", operationID: "mwPatchThing", handle: echo},
		{method: http.MethodDelete, path: "/mwtest/things/{key}", operationID: "mwDeleteThing", handle: echo},
		{method: http.MethodPost, path: "/mwtest/things", operationID: "mwPostThing", handle: echo},
	}
}

func TestHTTPOverride_ThroughHandler(t *testing.T) {
	t.Parallel()
	e, _ := mwServer(t, mwEchoRoutes)
	const semantic = "application/json; domain-model=launchdarkly.semanticpatch"
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string // of an error body
		method string // the route reached
		allow  string // of a 405
	}{
		{"tunnelled PATCH", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things/a", Body: `[{"op":"replace","path":"/name","value":"x"}]`,
			Header: http.Header{MethodOverrideHeader: {"PATCH"}}}, http.StatusOK, "", http.MethodPatch, ""},
		{"tunnelled semantic patch", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things/a", Body: `{"instructions":[]}`, ContentType: semantic,
			Header: http.Header{MethodOverrideHeader: {"patch"}}}, http.StatusOK, "", http.MethodPatch, ""},
		{"tunnelled DELETE", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things/a",
			Header: http.Header{MethodOverrideHeader: {"DELETE"}}}, http.StatusOK, "", http.MethodDelete, ""},
		{"plain POST", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things", Body: `{}`}, http.StatusOK, "", http.MethodPost, ""},
		{"override on GET ignored", htReq{Method: http.MethodGet, Path: "/api/v2/versions",
			Header: http.Header{MethodOverrideHeader: {"DELETE"}}}, http.StatusOK, "", "", ""},
		{"target verb's body rules", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things/a", Body: "name=x", ContentType: "text/plain",
			Header: http.Header{MethodOverrideHeader: {"PATCH"}}}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType, "", ""},
		{"still authenticated", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things/a", Auth: "-",
			Header: http.Header{MethodOverrideHeader: {"DELETE"}}}, http.StatusUnauthorized, CodeUnauthorized, "", ""},
		{"verb the path lacks", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/things/a", Body: `{}`,
			Header: http.Header{MethodOverrideHeader: {"PUT"}}}, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "PATCH, DELETE"},
		{"read-only path", htReq{Method: http.MethodPost, Path: "/api/v2/versions",
			Header: http.Header{MethodOverrideHeader: {"PATCH"}}}, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "GET, HEAD"},
		{"GET override is 400", htReq{Method: http.MethodPost, Path: "/api/v2/versions",
			Header: http.Header{MethodOverrideHeader: {"GET"}}}, http.StatusBadRequest, CodeInvalidRequest, "", ""},
		{"junk override is 400 before routing", htReq{Method: http.MethodPost, Path: "/api/v2/nothing-here",
			Header: http.Header{MethodOverrideHeader: {"FROB"}}}, http.StatusBadRequest, CodeInvalidRequest, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := mwAs(e, t).do(tc.req)
			if tc.code != "" {
				mwError(t, resp.StatusCode, resp.Header, body, tc.status, tc.code)
				if tc.allow != "" && resp.Header.Get("Allow") != tc.allow {
					t.Errorf("Allow %q, want %q", resp.Header.Get("Allow"), tc.allow)
				}
				return
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			if tc.method == "" {
				return
			}
			var got map[string]string
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			want, _ := tc.req.Body.(string)
			if got["method"] != tc.method || got["body"] != want {
				t.Errorf("route saw %v, want %s with body %q", got, tc.method, want)
			}
		})
	}
}
