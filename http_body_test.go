package flagstore

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// mwStream hides a reader's length, so a request carrying it is chunked.
type mwStream struct{ r io.Reader }

func (s mwStream) Read(p []byte) (int, error) { return s.r.Read(p) }

// mwFailingBody fails every read.
type mwFailingBody struct{}

func (mwFailingBody) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

const mwSemanticPatch = "application/json; domain-model=launchdarkly.semanticpatch"

func TestHTTPBody_JSONBody(t *testing.T) {
	t.Parallel()
	const limit = 64
	fits := `{"name":"` + strings.Repeat("x", limit-11) + `"}` // exactly limit bytes
	over := `{"name":"` + strings.Repeat("x", limit-10) + `"}` // one byte more
	if len(fits) != limit || len(over) != limit+1 {
		t.Fatalf("fixture sizes %d, %d", len(fits), len(over))
	}
	cases := []struct {
		name    string
		method  string
		ct      string
		body    string
		chunked bool
		status  int    // 200: reached the route with the body
		code    string // of an error body
	}{
		{"JSON POST", http.MethodPost, "application/json", `{"a":1}`, false, http.StatusOK, ""},
		{"charset", http.MethodPost, "application/json; charset=utf-8", `{"a":1}`, false, http.StatusOK, ""},
		{"upper case", http.MethodPut, "Application/JSON", `{"a":1}`, false, http.StatusOK, ""},
		{"semantic patch", http.MethodPatch, mwSemanticPatch, `{"instructions":[]}`, false, http.StatusOK, ""},
		{"merge patch (G11)", http.MethodPatch, "application/merge-patch+json", `{"name":"x"}`, false, http.StatusOK, ""},
		{"JSON patch (G11)", http.MethodPatch, "application/json-patch+json", `[{"op":"remove","path":"/a"}]`, false, http.StatusOK, ""},
		{"REPORT", "REPORT", "application/json", `{"a":1}`, false, http.StatusOK, ""},
		{"exactly the limit", http.MethodPost, "application/json", fits, false, http.StatusOK, ""},
		{"chunked, within the limit", http.MethodPost, "application/json", fits, true, http.StatusOK, ""},
		{"empty body, form type (G12)", http.MethodPost, "application/x-www-form-urlencoded", "", false, http.StatusOK, ""},
		{"empty body, text (G12)", http.MethodPost, "text/plain", "", false, http.StatusOK, ""},
		{"empty body, no type (G12)", http.MethodPost, "", "", false, http.StatusOK, ""},
		{"empty chunked body, form type (G12)", http.MethodPost, "application/x-www-form-urlencoded", "", true, http.StatusOK, ""},
		{"blank body, text", http.MethodPost, "text/plain", " \r\n\t", false, http.StatusOK, ""},
		{"GET body not checked", http.MethodGet, "text/plain", "hello", false, http.StatusOK, ""},
		{"text body", http.MethodPost, "text/plain", `{"a":1}`, false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"form body", http.MethodPost, "application/x-www-form-urlencoded", "a=1", false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"no type", http.MethodPatch, "", `{"a":1}`, false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"text/json", http.MethodPut, "text/json", `{"a":1}`, false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"not quite JSON", http.MethodPost, "application/jsonx", `{"a":1}`, false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"+json of another top type", http.MethodPost, "text/foo+json", `{"a":1}`, false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"malformed type", http.MethodPost, "application/json; =", `{"a":1}`, false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"multipart", http.MethodPost, "multipart/form-data; boundary=x", "--x--", false, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"Content-Length over the limit", http.MethodPost, "application/json", over, false, http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge},
		{"chunked over the limit", http.MethodPatch, "application/json", over, true, http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge},
		{"too large before the type is looked at", http.MethodPost, "text/plain", over + over, false, http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var next http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil || string(b) != tc.body {
					t.Errorf("route read %q, %v; want %q", b, err, tc.body)
				}
				if r.Method != http.MethodGet && r.ContentLength != int64(len(tc.body)) {
					t.Errorf("route's ContentLength %d, want %d", r.ContentLength, len(tc.body))
				}
				w.WriteHeader(http.StatusOK)
			})
			if tc.status != http.StatusOK {
				next = mwUnreachable(t)
			}
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = mwStream{body}
			}
			req := httptest.NewRequest(tc.method, "/api/v2/mwtest/things", body)
			if tc.chunked {
				req.ContentLength = -1
				req.TransferEncoding = []string{"chunked"}
			}
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			rec := httptest.NewRecorder()
			jsonBody(limit, next).ServeHTTP(rec, req)
			if tc.code != "" {
				m := mwRecError(t, rec, tc.status, tc.code)
				if msg, _ := m["message"].(string); tc.status == http.StatusRequestEntityTooLarge && !strings.Contains(msg, "64 bytes") {
					t.Errorf("413 message %q does not give the limit", msg)
				}
				return
			}
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
		})
	}

	t.Run("unreadable body", func(t *testing.T) {
		t.Parallel()
		req := httptest.NewRequest(http.MethodPost, "/api/v2/mwtest/things", mwFailingBody{})
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		jsonBody(limit, mwUnreachable(t)).ServeHTTP(rec, req)
		mwRecError(t, rec, http.StatusBadRequest, CodeInvalidRequest)
	})
}

func TestHTTPBody_IsJSONMediaType(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"application/json":                  true,
		"application/json;charset=UTF-8":    true,
		mwSemanticPatch:                     true,
		"application/merge-patch+json":      true,
		"application/json-patch+json":       true,
		"application/vnd.api+json":          true,
		"APPLICATION/JSON":                  true,
		"":                                  false,
		"text/plain":                        false,
		"text/json":                         false,
		"application/xml":                   false,
		"application/json-seq":              false,
		"application/x-www-form-urlencoded": false,
		"application/":                      false,
		"json":                              false,
	}
	for ct, want := range cases {
		if got := isJSONMediaType(ct); got != want {
			t.Errorf("isJSONMediaType(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestHTTPBody_DecodeBody(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		body io.Reader // nil: no body
		ok   bool
	}{
		{"object", strings.NewReader(`{"key":"a","n":2}`), true},
		{"surrounding space", strings.NewReader(" \n{\"key\":\"a\"}\n"), true},
		{"unknown fields ignored", strings.NewReader(`{"key":"a","other":true}`), true},
		{"no body", nil, false},
		{"empty", strings.NewReader(""), false},
		{"blank", strings.NewReader(" \n\t"), false},
		{"truncated", strings.NewReader(`{"key":`), false},
		{"two values", strings.NewReader(`{"key":"a"} {"key":"b"}`), false},
		{"wrong shape", strings.NewReader(`["a"]`), false},
		{"wrong field type", strings.NewReader(`{"n":"two"}`), false},
		{"unreadable", mwFailingBody{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodPost, "/", tc.body)
			if tc.body == nil {
				req.Body = nil
			}
			var v struct {
				Key string `json:"key"`
				N   int    `json:"n"`
			}
			err := decodeBody(req, &v)
			if tc.ok {
				if err != nil || v.Key != "a" {
					t.Errorf("decodeBody: %+v, %v; want key a", v, err)
				}
				return
			}
			tstErr(t, err, ErrInvalid, http.StatusBadRequest, CodeInvalidRequest)
		})
	}
}

// mwBodyRoutes are test-only routes: POST /mwtest/echo decodes its body and
// answers it; POST /mwtest/reset takes no body (like a key reset); PATCH
// /mwtest/echo answers its body's media type.
func mwBodyRoutes(a *api) []*route {
	return []*route{
		{method: http.MethodPost, path: "/mwtest/echo", operationID: "mwEcho", handle: func(w http.ResponseWriter, r *http.Request) error {
			var v map[string]any
			if err := decodeBody(r, &v); err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, v)
		}},
		{method: http.MethodPost, path: "/mwtest/reset", operationID: "mwReset", handle: func(w http.ResponseWriter, r *http.Request) error {
			return writeJSON(w, http.StatusOK, map[string]bool{"reset": true})
		}},
		{method: http.MethodPatch, path: "/mwtest/echo", operationID: "mwPatchEcho", handle: func(w http.ResponseWriter, r *http.Request) error {
			b, err := readBody(r)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusOK, map[string]string{"contentType": r.Header.Get("Content-Type"), "body": string(b)})
		}},
	}
}

func TestHTTPBody_ThroughHandler(t *testing.T) {
	t.Parallel()
	const limit = 128
	e, _ := mwServer(t, mwBodyRoutes, WithMaxBodyBytes(limit))
	big := `{"name":"` + strings.Repeat("x", limit) + `"}`
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string // of an error body
	}{
		{"JSON", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/echo", Body: `{"name":"x"}`}, http.StatusOK, ""},
		{"empty body with a form type (G12)", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/reset", Body: "",
			ContentType: "application/x-www-form-urlencoded"}, http.StatusOK, ""},
		{"no body, no type", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/reset"}, http.StatusOK, ""},
		{"semantic patch", htReq{Method: http.MethodPatch, Path: "/api/v2/mwtest/echo", Body: `{"instructions":[]}`, ContentType: mwSemanticPatch}, http.StatusOK, ""},
		{"merge patch (G11)", htReq{Method: http.MethodPatch, Path: "/api/v2/mwtest/echo", Body: `{"name":"y"}`, ContentType: "application/merge-patch+json"}, http.StatusOK, ""},
		{"JSON patch (G11)", htReq{Method: http.MethodPatch, Path: "/api/v2/mwtest/echo", Body: `[]`, ContentType: "application/json-patch+json"}, http.StatusOK, ""},
		{"text (415)", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/echo", Body: `{"name":"x"}`, ContentType: "text/plain"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{"empty JSON body is the route's 400", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/echo", Body: ""}, http.StatusBadRequest, CodeInvalidRequest},
		{"malformed JSON is the route's 400", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/echo", Body: `{"name":`}, http.StatusBadRequest, CodeInvalidRequest},
		{"Content-Length over the limit", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/echo", Body: big}, http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge},
		{"over the limit, unauthenticated", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/echo", Body: big, Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized},
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
			if tc.req.Method == http.MethodPatch {
				var got map[string]string
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatal(err)
				}
				if got["contentType"] != tc.req.ContentType || got["body"] != tc.req.Body {
					t.Errorf("route got %v, want the body and its type", got)
				}
			}
		})
	}

	chunked := []struct {
		name   string
		body   string
		status int
	}{
		{"chunked within the limit", `{"name":"x"}`, http.StatusOK},
		{"chunked over the limit", big, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range chunked {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/api/v2/mwtest/echo", mwStream{strings.NewReader(tc.body)})
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", htAdminSecret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.status != http.StatusOK {
				mwError(t, resp.StatusCode, resp.Header, b, tc.status, CodeRequestEntityTooLarge)
			} else if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d; body %s", resp.StatusCode, tc.status, b)
			}
		})
	}

	t.Run("default limit", func(t *testing.T) {
		t.Parallel()
		h := mwHandler(e.st, mwBodyRoutes) // no WithMaxBodyBytes
		for _, tc := range []struct {
			size   int
			status int
		}{{DefaultMaxBodyBytes, http.StatusOK}, {DefaultMaxBodyBytes + 1, http.StatusRequestEntityTooLarge}} {
			body := `{"name":"` + strings.Repeat("x", tc.size-11) + `"}`
			req := httptest.NewRequest(http.MethodPost, "/api/v2/mwtest/echo", strings.NewReader(body))
			req.Header.Set("Authorization", htAdminSecret)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.status != http.StatusOK {
				mwRecError(t, rec, tc.status, CodeRequestEntityTooLarge)
			} else if rec.Code != tc.status {
				t.Errorf("%d bytes: status %d, want %d", len(body), rec.Code, tc.status)
			}
		}
	})
}
