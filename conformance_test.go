package flagstore

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// LaunchDarkly's published OpenAPI document, cut to the core families by
// ldspec/subset.py, is the yardstick of every response: the
// conformance client validates each response it receives against the
// schema LaunchDarkly declares for that operation and status.

var (
	ldSpecOnce   sync.Once
	ldSpecRouter routers.Router
	ldSpecErr    error
)

// ldRouter loads the spec subset once per test binary.
func ldRouter(t testing.TB) routers.Router {
	t.Helper()
	ldSpecOnce.Do(func() {
		b, err := os.ReadFile("ldspec/ld-openapi-subset.json")
		if err != nil {
			ldSpecErr = err
			return
		}
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(b)
		if err != nil {
			ldSpecErr = err
			return
		}
		if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
			ldSpecErr = err
			return
		}
		doc.Servers = nil // match on paths alone: the test server's host varies
		ldSpecRouter, ldSpecErr = legacy.NewRouter(doc)
	})
	if ldSpecErr != nil {
		t.Fatalf("LaunchDarkly spec subset: %v", ldSpecErr)
	}
	return ldSpecRouter
}

// conformance records, per operationId, which statuses were validated.
type conformance struct {
	t      testing.TB
	errorf func(format string, args ...any) // t.Errorf, or a recorder
	router routers.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool
}

func newConformance(t testing.TB) *conformance {
	return &conformance{t: t, errorf: t.Errorf, router: ldRouter(t), seen: map[string]map[int]bool{}}
}

// check validates one exchange against the operation the spec routes it
// to: status declared (or a default), headers and body schema.
func (c *conformance) check(req *http.Request, reqBody []byte, resp *http.Response, body []byte) {
	c.t.Helper()
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.errorf("%s %s: not an operation of LaunchDarkly's spec: %v", req.Method, req.URL.Path, err)
		return
	}
	req = req.Clone(req.Context())
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(req.Context(), out); err != nil {
		c.errorf("%s %s (%s) → %d does not match LaunchDarkly's schema: %v\nbody: %.600s",
			req.Method, req.URL.Path, route.Operation.OperationID, resp.StatusCode, err, body)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	op := route.Operation.OperationID
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][resp.StatusCode] = true
}

// transport wraps an http.RoundTripper so every exchange is checked.
func (c *conformance) transport(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		var reqBody []byte
		if req.Body != nil {
			reqBody, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(reqBody))
		}
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		c.check(req, reqBody, resp, body)
		return resp, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// conform makes every request of e validated against LaunchDarkly's spec.
func (e *htEnv) conform() *conformance {
	c := newConformance(e.t)
	client := e.srv.Client()
	client.Transport = c.transport(client.Transport)
	return c
}

func TestConformance_SpecLoads(t *testing.T) {
	t.Parallel()
	ldRouter(t)
}

func TestConformance_Versions(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	c := e.conform()
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, http.StatusOK, nil)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-"}, http.StatusUnauthorized, nil)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-"}, http.StatusOK, nil)
	if !c.seen["getVersions"][http.StatusOK] || !c.seen["getRoot"][http.StatusOK] {
		t.Fatalf("validated: %v", c.seen)
	}
}

// The checker itself must catch a response that breaks the schema.
func TestConformance_CatchesMismatch(t *testing.T) {
	t.Parallel()
	c := newConformance(t)
	var got []string
	c.errorf = func(format string, args ...any) { got = append(got, format) }
	req, _ := http.NewRequest(http.MethodGet, "http://x/api/v2/versions", nil)
	resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}}
	c.check(req, nil, resp, []byte(`{"validVersions":"no","currentVersion":1}`))
	if len(got) != 1 {
		t.Fatalf("a bad body passed: %v", got)
	}
	got = nil
	c.check(req, nil, resp, []byte(`{"validVersions":[1],"latestVersion":1,"currentVersion":1,"beta":false}`))
	if len(got) != 0 {
		t.Fatalf("a good body failed: %v", got)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://x/api/v2/no-such-thing", nil)
	c.check(req, nil, resp, []byte(`{}`))
	if len(got) != 1 {
		t.Fatalf("an unknown operation passed: %v", got)
	}
}
