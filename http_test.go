package flagstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// decodeErrorBody checks that body is exactly LaunchDarkly's error body,
// {"code","message","id"} with an optional "errors", and that id is a UUID.
func decodeErrorBody(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	for k := range m {
		switch k {
		case "code", "message", "id", "errors":
		default:
			t.Errorf("unexpected field %q in error body %s", k, body)
		}
	}
	for _, k := range []string{"code", "message", "id"} {
		if s, ok := m[k].(string); !ok || s == "" {
			t.Errorf("error body field %q = %#v, want a non-empty string", k, m[k])
		}
	}
	id, _ := m["id"].(string)
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("error id %q is not a UUID: %v", id, err)
	}
	return m
}

func TestHandlerUnknownPathsAre404(t *testing.T) {
	t.Parallel()
	st, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	srv := httptest.NewServer(st.Handler())
	t.Cleanup(srv.Close)

	cases := []struct{ method, path string }{
		{http.MethodGet, "/"},
		{http.MethodGet, "/nope"},
		{http.MethodGet, "/api/v2/nothing-here"},
		{http.MethodGet, "/api/v2/nothing-here/shop?env=production"},
		{http.MethodPost, "/api/v2/nothing-here"},
		{http.MethodPatch, "/api/v2/nothing-here/shop/new-checkout"},
		{http.MethodDelete, "/api/v2/nothing/here"},
		{http.MethodPut, "/not-an-api/latest-all"},
		{http.MethodOptions, "/api/v2/nothing-here"},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		var body io.Reader
		if tc.method == http.MethodPost || tc.method == http.MethodPatch {
			body = strings.NewReader(`{"key":"shop","name":"Shop"}`)
		}
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, body)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", tc.method, tc.path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", tc.method, tc.path, ct)
		}
		m := decodeErrorBody(t, b)
		if m["code"] != CodeNotFound || m["message"] != "Invalid resource identifier" {
			t.Errorf("%s %s: body %s, want code not_found, message %q", tc.method, tc.path, b, "Invalid resource identifier")
		}
		id, _ := m["id"].(string)
		if seen[id] {
			t.Errorf("error id %s repeated: each failure needs its own", id)
		}
		seen[id] = true
	}
}

func TestHandlerHeadIs404WithoutBody(t *testing.T) {
	t.Parallel()
	st, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	rec := httptest.NewRecorder()
	st.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/api/v2/no-such-route", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("HEAD: status %d, want 404", rec.Code)
	}
}

func TestHandlerUncleanPathsAre404NotRedirects(t *testing.T) {
	t.Parallel()
	st, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	h := st.Handler()
	for _, p := range []string{"/api//v2", "/api/v2/../v2/flags", "//x", "/a/./b", "/api/v2/."} {
		t.Run(p, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.URL.Path = p
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotFound || rec.Header().Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want 404 without a redirect", rec.Code, rec.Header().Get("Location"))
			}
			if m := decodeErrorBody(t, rec.Body.Bytes()); m["code"] != CodeNotFound {
				t.Errorf("code %v, want not_found", m["code"])
			}
		})
	}
	t.Run("OPTIONS *", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodOptions, "*", nil))
		if rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d, want 400", rec.Code)
		}
		if m := decodeErrorBody(t, rec.Body.Bytes()); m["code"] != CodeInvalidRequest {
			t.Errorf("code %v, want invalid_request", m["code"])
		}
	})
}

func TestHandlerUnderStripPrefix(t *testing.T) {
	t.Parallel()
	st, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	mux := http.NewServeMux()
	mux.Handle("/flags/", http.StripPrefix("/flags", st.Handler()))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/flags/api/v2/no-such-route", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rec.Code)
	}
	if m := decodeErrorBody(t, rec.Body.Bytes()); m["code"] != CodeNotFound {
		t.Errorf("code %v, want not_found", m["code"])
	}
}

// TestRouterMethodNotAllowed checks the 405 path that routes registered in
// later work rely on: a known path asked with another verb.
func TestRouterMethodNotAllowed(t *testing.T) {
	t.Parallel()
	r := newRouter()
	r.mux.HandleFunc("GET /api/v2/things/{key}", func(w http.ResponseWriter, req *http.Request) {
		_, _ = io.WriteString(w, req.PathValue("key"))
	})
	r.mux.HandleFunc("DELETE /api/v2/things/{key}", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})

	cases := []struct {
		method, path string
		status       int
		code, allow  string
	}{
		{http.MethodGet, "/api/v2/things/a", http.StatusOK, "", ""},
		{http.MethodPost, "/api/v2/things/a", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GET, HEAD, DELETE"},
		{http.MethodPatch, "/api/v2/things/a", http.StatusMethodNotAllowed, CodeMethodNotAllowed, "GET, HEAD, DELETE"},
		{http.MethodGet, "/api/v2/things", http.StatusNotFound, CodeNotFound, ""},
		{http.MethodPost, "/api/v2/other/a", http.StatusNotFound, CodeNotFound, ""},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tc.status, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tc.allow {
				t.Errorf("Allow %q, want %q", got, tc.allow)
			}
			if tc.code == "" {
				return
			}
			if m := decodeErrorBody(t, rec.Body.Bytes()); m["code"] != tc.code {
				t.Errorf("code %v, want %s", m["code"], tc.code)
			}
		})
	}
}

func TestWriteErrorMapsSentinels(t *testing.T) {
	t.Parallel()
	cases := []struct {
		sentinel error
		status   int
		code     string
	}{
		{ErrInvalid, http.StatusBadRequest, CodeInvalidRequest},
		{ErrUnauthorized, http.StatusUnauthorized, CodeUnauthorized},
		{ErrForbidden, http.StatusForbidden, CodeForbidden},
		{ErrNotFound, http.StatusNotFound, CodeNotFound},
		{ErrMethodNotAllowed, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
		{ErrAlreadyExists, http.StatusConflict, CodeConflict},
		{ErrConflict, http.StatusConflict, CodeOptimisticLocking},
		{ErrTooLarge, http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge},
		{ErrUnsupportedMediaType, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
		{ErrPatchFailed, http.StatusUnprocessableEntity, CodePatchFailed},
		{ErrRateLimited, http.StatusTooManyRequests, CodeRateLimited},
		{ErrUnavailable, http.StatusServiceUnavailable, CodeServiceUnavailable},
		{ErrInternal, http.StatusInternalServerError, CodeInternalError},
	}
	covered := map[error]bool{}
	for _, tc := range cases {
		covered[tc.sentinel] = true
	}
	for s := range sentinelInfo {
		if !covered[s] {
			t.Errorf("sentinel %q has no case in this table", s)
		}
	}

	for _, tc := range cases {
		for _, form := range []struct {
			name string
			err  error
		}{
			{"bare", tc.sentinel},
			{"wrapped", fmt.Errorf("loading flag: %w", tc.sentinel)},
			{"*Error", newError(tc.sentinel, "details")},
		} {
			t.Run(tc.sentinel.Error()+"/"+form.name, func(t *testing.T) {
				t.Parallel()
				rec := httptest.NewRecorder()
				writeError(rec, form.err)
				if rec.Code != tc.status {
					t.Errorf("status %d, want %d", rec.Code, tc.status)
				}
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q, want application/json", ct)
				}
				m := decodeErrorBody(t, rec.Body.Bytes())
				if m["code"] != tc.code {
					t.Errorf("code %v, want %s", m["code"], tc.code)
				}
				if !errors.Is(form.err, tc.sentinel) {
					t.Errorf("errors.Is(%v, %v) = false", form.err, tc.sentinel)
				}
			})
		}
	}
}

func TestWriteErrorOtherErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		err     error
		status  int
		code    string
		message string
	}{
		{"plain error leaks nothing", errors.New("open /secret/path: permission denied"), 500, CodeInternalError, "internal error"},
		{"nil", nil, 500, CodeInternalError, "internal error"},
		{"hand-built without status or id", &Error{Message: "oops"}, 500, CodeInternalError, "oops"},
		{"hand-built with status", &Error{Status: 404, Code: CodeNotFound, Message: "gone"}, 404, CodeNotFound, "gone"},
		{"validation", invalidf("key", "key must be present"), 400, CodeInvalidRequest, "key must be present"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			writeError(rec, tc.err)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			m := decodeErrorBody(t, rec.Body.Bytes())
			if m["code"] != tc.code || m["message"] != tc.message {
				t.Errorf("body %s, want code %s, message %q", rec.Body, tc.code, tc.message)
			}
		})
	}

	t.Run("validation errors listed", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		writeError(rec, invalidf("key", "key must be present"))
		var body struct {
			Errors []FieldError `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if len(body.Errors) != 1 || body.Errors[0].Attribute != "key" {
			t.Errorf("errors %+v, want one naming attribute key", body.Errors)
		}
	})

	t.Run("keeps Allow, drops Content-Length", func(t *testing.T) {
		t.Parallel()
		rec := httptest.NewRecorder()
		rec.Header().Set("Allow", "GET, HEAD")
		rec.Header().Set("Content-Length", "3")
		writeError(rec, ErrMethodNotAllowed)
		if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
			t.Errorf("Allow %q, want it kept", got)
		}
		if got := rec.Header().Get("Content-Length"); got != "" {
			t.Errorf("Content-Length %q, want it dropped", got)
		}
	})
}

func TestHandlerLogger(t *testing.T) {
	t.Parallel()
	st, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	var buf bytes.Buffer
	h := st.Handler(WithHandlerLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v2/no-such-route", nil))

	var line struct {
		Msg    string `json:"msg"`
		Method string `json:"method"`
		Path   string `json:"path"`
		Status int    `json:"status"`
		Bytes  int    `json:"bytes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
		t.Fatalf("log is not one JSON line: %v\n%s", err, buf.Bytes())
	}
	if line.Method != "GET" || line.Path != "/api/v2/no-such-route" || line.Status != 404 || line.Bytes != rec.Body.Len() {
		t.Errorf("log line %+v, want GET /api/v2/no-such-route 404 %d bytes", line, rec.Body.Len())
	}
	if c := rec.Result().Header.Get("Content-Type"); c != "application/json" {
		t.Errorf("Content-Type %q through the logger, want application/json", c)
	}
}
