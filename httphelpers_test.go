package flagstore

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// htAdminSecret is the admin token of every htServer.
const htAdminSecret = "api-test-admin-0000000000000000"

// htEnv is an HTTP test environment: an in-memory store with the project
// "shop" (environments production and test), served by its handler, and an
// admin token.
type htEnv struct {
	t   testing.TB
	st  *Store
	srv *httptest.Server
}

// htServer starts an htEnv, closed when the test ends.
func htServer(t testing.TB, opts ...HandlerOption) *htEnv {
	t.Helper()
	st, err := Open(":memory:")
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
	srv := httptest.NewServer(st.Handler(opts...))
	t.Cleanup(srv.Close)
	return &htEnv{t: t, st: st, srv: srv}
}

// htReq describes one request; Auth defaults to the admin token ("-" sends
// none), ContentType to application/json when there is a body.
type htReq struct {
	Method      string
	Path        string
	Body        any // string, []byte, or a value to encode as JSON
	Auth        string
	ContentType string
	Header      http.Header
}

// do sends a request and returns the response with its body read.
func (e *htEnv) do(r htReq) (*http.Response, []byte) {
	e.t.Helper()
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = bytes.NewReader([]byte(b))
	case []byte:
		body = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(e.t.Context(), r.Method, e.srv.URL+r.Path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	switch r.Auth {
	case "":
		req.Header.Set("Authorization", htAdminSecret)
	case "-":
	default:
		req.Header.Set("Authorization", r.Auth)
	}
	if body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// json sends a request, checks the status, and decodes the body into out
// (when out is not nil).
func (e *htEnv) json(r htReq, status int, out any) {
	e.t.Helper()
	resp, body := e.do(r)
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", r.Method, r.Path, resp.StatusCode, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("%s %s: decode %s: %v", r.Method, r.Path, body, err)
		}
	}
}

// errorBody checks a LaunchDarkly error response: status and code.
func (e *htEnv) errorBody(r htReq, status int, code string) {
	e.t.Helper()
	var body struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		ID      string `json:"id"`
	}
	e.json(r, status, &body)
	if body.Code != code || body.Message == "" || body.ID == "" {
		e.t.Fatalf("%s %s: error body %+v, want code %s", r.Method, r.Path, body, code)
	}
}
