package flagstore

import (
	"bytes"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// mwPanicRoutes are test-only routes that panic: with a value, or with
// http.ErrAbortHandler.
func mwPanicRoutes(a *api) []*route {
	return []*route{
		{method: http.MethodGet, path: "/mwtest/panic", operationID: "mwPanic", handle: func(w http.ResponseWriter, r *http.Request) error {
			panic("route exploded: secret detail")
		}},
		{method: http.MethodGet, path: "/mwtest/abort", operationID: "mwAbort", handle: func(w http.ResponseWriter, r *http.Request) error {
			panic(http.ErrAbortHandler)
		}},
	}
}

func TestHTTPRecover_PanicIs500(t *testing.T) {
	t.Parallel()
	var nilMap map[string]int
	cases := []struct {
		name  string
		panic func()
	}{
		{"string", func() { panic("boom: secret detail") }},
		{"error", func() { panic(errors.New("secret detail")) }},
		{"store error", func() { panic(notFoundf("secret detail")) }},
		{"wrapped sentinel", func() { panic(fmt.Errorf("secret detail: %w", ErrForbidden)) }},
		{"struct", func() { panic(struct{ Secret string }{"detail"}) }},
		{"runtime error", func() { nilMap["secret detail"] = 1 }},
		{"nil", func() { panic(nil) }}, // a *runtime.PanicNilError since Go 1.21
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := requestID(recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Access-Control-Allow-Origin", "*") // set by an outer middleware
				tc.panic()
			})))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v2/x", nil))
			m := mwRecError(t, rec, http.StatusInternalServerError, CodeInternalError)
			if m["message"] != "internal error" || strings.Contains(rec.Body.String(), "secret") {
				t.Errorf("body %s leaks the panic, want message \"internal error\"", rec.Body)
			}
			if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("headers set before the panic were lost: %v", rec.Header())
			}
			mwRequestID(t, rec.Header())
		})
	}
}

func TestHTTPRecover_NoPanicUntouched(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	recoverPanics(mwReply(http.StatusCreated, `{"ok":true}`)).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/x", nil))
	if rec.Code != http.StatusCreated || rec.Body.String() != `{"ok":true}` {
		t.Errorf("got %d %s, want the handler's own 201", rec.Code, rec.Body)
	}
}

func TestHTTPRecover_AbortHandlerPassesThrough(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	var got any
	func() {
		defer func() { got = recover() }()
		recoverPanics(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			panic(http.ErrAbortHandler)
		})).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	}()
	if got != http.ErrAbortHandler {
		t.Fatalf("recovered %v, want http.ErrAbortHandler re-panicked", got)
	}
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Errorf("an aborted response got a body: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
}

// mwSyncBuffer is a bytes.Buffer safe for the server's goroutines.
type mwSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *mwSyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *mwSyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestHTTPRecover_ThroughHandler(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	if _, err := st.EnsureAdminToken(t.Context(), htAdminSecret); err != nil {
		t.Fatal(err)
	}
	var sink mwLog
	srv := httptest.NewUnstartedServer(mwHandler(st, mwPanicRoutes, WithHandlerLogger(sink.logger())))
	var serverLog mwSyncBuffer
	srv.Config.ErrorLog = log.New(&serverLog, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	e := &htEnv{t: t, st: st, srv: srv}

	// A panicking route is LaunchDarkly's 500, with the handler's headers.
	resp, body := e.do(htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/panic", Header: http.Header{"Origin": {"https://app.example"}}})
	m := mwError(t, resp.StatusCode, resp.Header, body, http.StatusInternalServerError, CodeInternalError)
	if strings.Contains(string(body), "secret") || m["message"] != "internal error" {
		t.Errorf("500 body %s leaks the panic", body)
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example" {
		t.Errorf("500 lost its CORS headers: %v", resp.Header)
	}
	lines := sink.waitLines(t, 1)
	if len(lines) != 1 {
		t.Fatalf("log lines %v, want 1", lines)
	}
	mwCheckLogLine(t, lines[0], http.MethodGet, "/api/v2/mwtest/panic", http.StatusInternalServerError, len(body), resp.Header.Get(RequestIDHeader))

	// http.ErrAbortHandler aborts the response: the client sees no response
	// at all, the server logs no panic, and it keeps serving.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/v2/mwtest/abort", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", htAdminSecret)
	if resp, err := srv.Client().Do(req); err == nil {
		resp.Body.Close()
		t.Errorf("aborted route answered %d, want the connection dropped", resp.StatusCode)
	}
	// The client may retry the GET once on its dropped connection.
	lines = sink.waitLines(t, 2)
	if len(lines) < 2 || len(lines) > 3 {
		t.Errorf("log lines %v, want the aborted request's line (one per try)", lines)
	}
	for _, line := range lines[1:] {
		if line["path"] != "/api/v2/mwtest/abort" || line["aborted"] != true || line["status"] != float64(0) {
			t.Errorf("log line %v, want an aborted request with status 0", line)
		}
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, http.StatusOK, nil)
	if s := serverLog.String(); s != "" {
		t.Errorf("a panic reached the server: %s", s)
	}
}
