package flagstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// Fixtures shared by the middleware tests (http_log, http_recover,
// http_cors, http_override, http_version, http_ratelimit, http_body and
// http_auth); every name starts with "mw".

// mwHandler builds st's handler the way Store.Handler does, with extra
// test-only routes (built against the handler's api) registered behind the
// same per-route middleware as the real ones.
func mwHandler(st *Store, extra func(a *api) []*route, opts ...HandlerOption) http.Handler {
	c := handlerConfig{maxBody: DefaultMaxBodyBytes}
	for _, o := range opts {
		o(&c)
	}
	a := &api{s: st, cfg: c, router: newRouter(), routes: map[string]*route{}}
	a.limiter = newRateLimiter(c.rateLimit, st.now)
	routes := a.allRoutes()
	if extra != nil {
		routes = append(routes, extra(a)...)
	}
	for _, rt := range routes {
		a.register(rt)
	}
	var h http.Handler = a.router
	h = methodOverride(h)
	h = cors(h)
	h = recoverPanics(h)
	if c.log != nil {
		h = logRequests(c.log, h)
	}
	return requestID(h)
}

// mwServer is an htEnv serving mwHandler, on a store with a manual clock
// (which the rate limiter reads too) and the admin token htAdminSecret.
func mwServer(t testing.TB, extra func(a *api) []*route, opts ...HandlerOption) (*htEnv, *tstClock) {
	t.Helper()
	st, clock := tstStore(t)
	if _, err := st.EnsureAdminToken(t.Context(), htAdminSecret); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mwHandler(st, extra, opts...))
	t.Cleanup(srv.Close)
	return &htEnv{t: t, st: st, srv: srv}, clock
}

// mwAs is e reporting its failures to t, for subtests sharing a server.
func mwAs(e *htEnv, t testing.TB) *htEnv {
	c := *e
	c.t = t
	return &c
}

// mwReply is a handler answering status with body (nothing when empty).
func mwReply(status int, body string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		if body != "" {
			_, _ = w.Write([]byte(body))
		}
	})
}

// mwUnreachable is a handler the test expects never to be called.
func mwUnreachable(t testing.TB) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("%s %s reached the next handler", r.Method, r.URL.Path)
		w.WriteHeader(http.StatusTeapot)
	})
}

// mwRequestID checks that h carries a UUID request id and returns it.
func mwRequestID(t testing.TB, h http.Header) string {
	t.Helper()
	id := h.Get(RequestIDHeader)
	if _, err := uuid.Parse(id); err != nil {
		t.Errorf("%s %q is not a UUID: %v", RequestIDHeader, id, err)
	}
	return id
}

// mwError checks that a response is LaunchDarkly's error body with the
// status and code, whose id is the response's request id (when it has one),
// and returns the decoded body.
func mwError(t *testing.T, status int, h http.Header, body []byte, wantStatus int, wantCode string) map[string]any {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body %s", status, wantStatus, body)
	}
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	m := decodeErrorBody(t, body)
	if m["code"] != wantCode {
		t.Errorf("code %v, want %s; body %s", m["code"], wantCode, body)
	}
	if rid := h.Get(RequestIDHeader); rid != "" && m["id"] != rid {
		t.Errorf("error id %v, want the request id %s", m["id"], rid)
	}
	return m
}

// mwRecError is mwError for a recorded response.
func mwRecError(t *testing.T, rec *httptest.ResponseRecorder, wantStatus int, wantCode string) map[string]any {
	t.Helper()
	return mwError(t, rec.Code, rec.Header(), rec.Body.Bytes(), wantStatus, wantCode)
}

// mwLog is a goroutine-safe sink for a JSON slog logger.
type mwLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *mwLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *mwLog) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(l, nil)) }

// lines decodes every line logged so far.
func (l *mwLog) lines(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// waitLines waits (up to 5s) until n lines are logged and returns them:
// a server may log a moment after its client has the response.
func (l *mwLog) waitLines(t testing.TB, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := l.lines(t)
		if len(lines) >= n || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// mwCheckLogLine checks one request line of logRequests.
func mwCheckLogLine(t *testing.T, line map[string]any, method, path string, status, bytes int, requestID string) {
	t.Helper()
	if line["msg"] != "request" || line["level"] != "INFO" {
		t.Errorf("log line %v, want msg request at INFO", line)
	}
	if line["method"] != method || line["path"] != path {
		t.Errorf("log line %v, want %s %s", line, method, path)
	}
	if line["status"] != float64(status) || line["bytes"] != float64(bytes) {
		t.Errorf("log line %v, want status %d, bytes %d", line, status, bytes)
	}
	if line["requestId"] != requestID {
		t.Errorf("log line requestId %v, want %s", line["requestId"], requestID)
	}
	if d, ok := line["duration"].(float64); !ok || d < 0 {
		t.Errorf("log line duration %v, want a non-negative number", line["duration"])
	}
}

func TestHTTPLog_RequestID(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		next   http.Handler
		status int
		code   string // of an error body
	}{
		{"body", mwReply(http.StatusOK, `{"ok":true}`), http.StatusOK, ""},
		{"nothing written", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), http.StatusOK, ""},
		{"no content", mwReply(http.StatusNoContent, ""), http.StatusNoContent, ""},
		{"store error", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, notFoundf("Invalid resource identifier"))
		}), http.StatusNotFound, CodeNotFound},
		{"plain error", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, errors.New("disk on fire"))
		}), http.StatusInternalServerError, CodeInternalError},
		{"sentinel", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, ErrForbidden)
		}), http.StatusForbidden, CodeForbidden},
		{"hand-built error without id", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, &Error{Status: http.StatusBadRequest, Code: CodeInvalidRequest, Message: "bad"})
		}), http.StatusBadRequest, CodeInvalidRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var inside []string
			h := requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				inside = append(inside, RequestID(r.Context()))
				tc.next.ServeHTTP(w, r)
			}))
			seen := map[string]bool{}
			for i := range 3 {
				req := httptest.NewRequest(http.MethodGet, "/api/v2/x", nil)
				// A client's own id is not trusted: the handler makes its own.
				req.Header.Set(RequestIDHeader, "client-chosen")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d", rec.Code, tc.status)
				}
				id := mwRequestID(t, rec.Header())
				if id != inside[i] {
					t.Errorf("header id %s, context id %s: want the same", id, inside[i])
				}
				if seen[id] {
					t.Errorf("request id %s repeated", id)
				}
				seen[id] = true
				if tc.code != "" {
					// The error's id is the request's (mwRecError checks it).
					mwRecError(t, rec, tc.status, tc.code)
				}
			}
		})
	}
	t.Run("outside a request", func(t *testing.T) {
		t.Parallel()
		if id := RequestID(t.Context()); id != "" {
			t.Errorf("RequestID outside a request = %q, want empty", id)
		}
	})
}

func TestHTTPLog_RequestIDThroughHandler(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string // of an error body
	}{
		{"public route", htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-"}, http.StatusOK, ""},
		{"authenticated route", htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, http.StatusOK, ""},
		{"no credentials", htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized},
		{"unknown version", htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{APIVersionHeader: {"1"}}}, http.StatusBadRequest, CodeInvalidRequest},
		{"unknown path", htReq{Method: http.MethodGet, Path: "/api/v2/nothing-here"}, http.StatusNotFound, CodeNotFound},
		{"unclean path", htReq{Method: http.MethodGet, Path: "/api//v2"}, http.StatusNotFound, CodeNotFound},
		{"wrong verb", htReq{Method: http.MethodDelete, Path: "/api/v2/versions"}, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
		{"bad override", htReq{Method: http.MethodPost, Path: "/api/v2/versions", Header: http.Header{MethodOverrideHeader: {"GET"}}}, http.StatusBadRequest, CodeInvalidRequest},
		{"preflight", htReq{Method: http.MethodOptions, Path: "/api/v2/versions", Auth: "-",
			Header: http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}}}, http.StatusNoContent, ""},
	}
	var mu sync.Mutex
	seen := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := mwAs(e, t).do(tc.req)
			id := mwRequestID(t, resp.Header)
			if tc.code != "" {
				mwError(t, resp.StatusCode, resp.Header, body, tc.status, tc.code)
			} else if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
			}
			mu.Lock()
			defer mu.Unlock()
			if other, dup := seen[id]; dup {
				t.Errorf("request id %s also given to %q", id, other)
			}
			seen[id] = tc.name
		})
	}
}

func TestHTTPLog_OneLinePerRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		method string
		target string
		path   string // as logged: no query
		next   http.Handler
		status int
	}{
		{"status and body", http.MethodPost, "/api/v2/things", "/api/v2/things", mwReply(http.StatusCreated, "hello"), http.StatusCreated},
		{"implicit 200", http.MethodGet, "/api/v2/things?limit=5", "/api/v2/things", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("abc"))
		}), http.StatusOK},
		{"nothing written", http.MethodGet, "/api/v2", "/api/v2", http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), http.StatusOK},
		{"several writes", http.MethodGet, "/x", "/x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("ab"))
			_, _ = w.Write([]byte("cde"))
		}), http.StatusOK},
		{"informational first", http.MethodDelete, "/api/v2/things/a", "/api/v2/things/a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusNoContent)
		}), http.StatusNoContent},
		{"second WriteHeader ignored", http.MethodGet, "/x", "/x", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			w.WriteHeader(http.StatusInternalServerError)
		}), http.StatusAccepted},
		{"error body", http.MethodPatch, "/api/v2/things/a", "/api/v2/things/a", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, notFoundf("Invalid resource identifier"))
		}), http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sink mwLog
			h := requestID(logRequests(sink.logger(), tc.next))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			// A recorder's Code is the first WriteHeader, 1xx included.
			if rec.Code != tc.status && rec.Code >= 200 {
				t.Errorf("response status %d, want %d", rec.Code, tc.status)
			}
			lines := sink.lines(t)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %v", len(lines), lines)
			}
			mwCheckLogLine(t, lines[0], tc.method, tc.path, tc.status, rec.Body.Len(), rec.Header().Get(RequestIDHeader))
			if _, aborted := lines[0]["aborted"]; aborted {
				t.Errorf("completed request logged as aborted: %v", lines[0])
			}
		})
	}
}

func TestHTTPLog_AbortedRequestIsLogged(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		write  string
		status int
	}{
		{"before writing", "", 0},
		{"after writing", "partial", http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var sink mwLog
			h := requestID(logRequests(sink.logger(), recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.write != "" {
					_, _ = w.Write([]byte(tc.write))
				}
				panic(http.ErrAbortHandler)
			}))))
			rec := httptest.NewRecorder()
			func() {
				defer func() {
					if v := recover(); v != http.ErrAbortHandler {
						t.Errorf("recovered %v, want http.ErrAbortHandler to reach the server", v)
					}
				}()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v2/x", nil))
			}()
			lines := sink.lines(t)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %v", len(lines), lines)
			}
			mwCheckLogLine(t, lines[0], http.MethodGet, "/api/v2/x", tc.status, len(tc.write), rec.Header().Get(RequestIDHeader))
			if lines[0]["aborted"] != true {
				t.Errorf("log line %v, want aborted true", lines[0])
			}
		})
	}
}

func TestHTTPLog_ThroughHandler(t *testing.T) {
	t.Parallel()
	var sink mwLog
	e := htServer(t, WithHandlerLogger(sink.logger()))
	cases := []struct {
		req    htReq
		status int
	}{
		{htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-"}, http.StatusOK},
		{htReq{Method: http.MethodGet, Path: "/api/v2/versions?x=1"}, http.StatusOK},
		{htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-"}, http.StatusUnauthorized},
		{htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{APIVersionHeader: {"beta", "beta"}}}, http.StatusBadRequest},
		{htReq{Method: http.MethodPut, Path: "/api/v2/versions", Body: `{}`}, http.StatusMethodNotAllowed},
		{htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/nothing-here"}, http.StatusNotFound},
		{htReq{Method: http.MethodOptions, Path: "/api/v2/versions", Auth: "-", Header: http.Header{"Access-Control-Request-Method": {"GET"}}}, http.StatusNoContent},
	}
	for i, tc := range cases {
		resp, body := e.do(tc.req)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %s: status %d, want %d; body %s", tc.req.Method, tc.req.Path, resp.StatusCode, tc.status, body)
		}
		lines := sink.waitLines(t, i+1)
		if len(lines) != i+1 {
			t.Fatalf("after %d requests, %d log lines: %v", i+1, len(lines), lines)
		}
		path, _, _ := strings.Cut(tc.req.Path, "?")
		mwCheckLogLine(t, lines[i], tc.req.Method, path, tc.status, len(body), mwRequestID(t, resp.Header))
	}
}

func TestHTTPLog_StatusWriterUnwraps(t *testing.T) {
	t.Parallel()
	var sink mwLog
	flushErr := errors.New("not called")
	h := logRequests(sink.logger(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("x"))
		flushErr = http.NewResponseController(w).Flush()
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/watch", nil))
	if flushErr != nil || !rec.Flushed {
		t.Errorf("Flush through the logger: err %v, flushed %v; want it to reach the recorder", flushErr, rec.Flushed)
	}
}
