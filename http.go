package flagstore

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/google/uuid"
)

// HandlerOption configures the handler returned by [Store.Handler].
type HandlerOption func(*handlerConfig)

// handlerConfig holds the handler's settings; the zero value of each is
// LaunchDarkly's behaviour or flagstore's documented default.
type handlerConfig struct {
	log       *slog.Logger
	sessions  *SessionAuth
	maxBody   int64
	rateLimit RateLimitOptions
	heartbeat time.Duration
}

// WithHandlerLogger makes the handler log one line per request (method, path,
// status, bytes written, duration, request id) to l at level Info. By
// default the handler logs nothing.
func WithHandlerLogger(l *slog.Logger) HandlerOption {
	return func(c *handlerConfig) { c.log = l }
}

// WithSessions lets the host application's signed-in members call the API
// with their sessions (see [SessionAuth]); by default only access tokens
// authenticate.
func WithSessions(sa SessionAuth) HandlerOption {
	return func(c *handlerConfig) { c.sessions = &sa }
}

// WithMaxBodyBytes limits request bodies (default DefaultMaxBodyBytes); a
// larger body is refused with 413.
func WithMaxBodyBytes(n int64) HandlerOption {
	return func(c *handlerConfig) { c.maxBody = n }
}

// WithRateLimit sets the request rate limits (default: none).
func WithRateLimit(o RateLimitOptions) HandlerOption {
	return func(c *handlerConfig) { c.rateLimit = o }
}

// DefaultMaxBodyBytes is the request body limit when none is configured.
const DefaultMaxBodyBytes = 1 << 20

// apiPrefix is where LaunchDarkly's REST API lives.
const apiPrefix = "/api/v2"

// Handler returns the store's HTTP handler, to mount on the host's mux:
//
//	mux.Handle("/", st.Handler())
//
// or under a prefix with [http.StripPrefix]. It serves LaunchDarkly's REST
// API v2 under /api/v2, with LaunchDarkly's conventions: access-token or
// session authentication, JSON bodies, CORS, rate limits, method override,
// API versions and beta routes, and LaunchDarkly's error body
// {"code","message","id"} for every failure, unknown routes included.
func (s *Store) Handler(opts ...HandlerOption) http.Handler {
	c := handlerConfig{maxBody: DefaultMaxBodyBytes, heartbeat: DefaultSDKHeartbeat}
	for _, o := range opts {
		o(&c)
	}
	a := &api{s: s, cfg: c, router: newRouter(), routes: map[string]*route{}}
	a.limiter = newRateLimiter(c.rateLimit, s.now)
	for _, rt := range a.allRoutes() {
		a.register(rt)
	}
	a.registerSDK(a.serverSDKRoutes())
	a.registerSDK(a.clientSDKRoutes())
	// Outermost first: every response gets a request id and CORS headers,
	// panics become 500s, and a tunnelled verb is in place before routing.
	var h http.Handler = a.router
	h = methodOverride(h)
	h = cors(h)
	h = recoverPanics(h)
	if c.log != nil {
		h = logRequests(c.log, h)
	}
	h = requestID(h)
	return h
}

// api is one mounted handler: its store, settings and routes.
type api struct {
	s       *Store
	cfg     handlerConfig
	router  *router
	routes  map[string]*route // by mux pattern
	limiter *rateLimiter
}

// route is one operation of the REST API.
type route struct {
	method      string
	path        string // under /api/v2, with {wildcards}
	operationID string
	// beta routes answer only requests with LD-API-Version: beta.
	beta bool
	// public routes need no authentication.
	public bool
	// multipart routes take a multipart/form-data body instead of JSON
	// (see multipartBody).
	multipart bool
	handle    func(w http.ResponseWriter, r *http.Request) error
}

// pattern is the route's http.ServeMux pattern.
func (rt *route) pattern() string { return rt.method + " " + apiPrefix + rt.path }

// register mounts a route behind its per-route middleware: authentication,
// API version, beta gate, rate limit, and the JSON body rules.
func (a *api) register(rt *route) {
	a.routes[rt.pattern()] = rt
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := rt.handle(w, r); err != nil {
			writeError(w, err)
		}
	})
	if rt.multipart {
		h = multipartBody(a.cfg.maxBody, h)
	} else {
		h = jsonBody(a.cfg.maxBody, h)
	}
	h = a.limiter.middleware(rt, h)
	h = betaGate(rt, h)
	h = apiVersion(h)
	if !rt.public {
		h = a.authenticate(h)
	}
	a.router.mux.Handle(rt.pattern(), h)
}

// allRoutes lists every route the handler serves.
func (a *api) allRoutes() []*route {
	var out []*route
	for _, family := range [][]*route{
		a.rootRoutes(),
		a.openAPIRoutes(),
		a.projectRoutes(),
		a.environmentRoutes(),
		a.segmentRoutes(),
		a.flagRoutes(),
		a.flagStatusRoutes(),
		a.expiringTargetRoutes(),
		a.auditLogRoutes(),
		a.identityRoutes(),
		a.tagRoutes(),
		a.metricRoutes(),
		a.tokenRoutes(),
		a.roleRoutes(),
		a.memberRoutes(),
		a.teamRoutes(),
		a.memberBulkRoutes(),
		a.webhookRoutes(),
	} {
		out = append(out, family...)
	}
	return out
}

// router is an [http.ServeMux] on which routes are registered with Go
// method patterns ("GET /api/v2/flags/{projectKey}"), and whose misses are
// answered with LaunchDarkly's error body instead of the mux's plain text or
// redirects: 404 not_found for an unknown or unclean path ("/api//v2"), 405
// method_not_allowed (with an Allow header) for a known path asked with a
// verb no pattern serves.
type router struct {
	mux *http.ServeMux
}

func newRouter() *router {
	r := &router{mux: http.NewServeMux()}
	// "/" matches every method and path that no other pattern matches, so
	// the mux never writes its own 404 or 405.
	r.mux.HandleFunc("/", r.miss)
	return r
}

func (r *router) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.RequestURI == "*": // "OPTIONS *": the mux would answer a bare 400
		writeError(w, newError(ErrInvalid, "Invalid request"))
	case req.Method != http.MethodConnect && cleanPath(req.URL.Path) != req.URL.Path:
		// The mux would redirect to the cleaned path, with a Location that
		// is wrong when the handler is mounted under http.StripPrefix. No
		// resource lives at an unclean path, so say so.
		writeError(w, notFoundf("Invalid resource identifier"))
	default:
		r.mux.ServeHTTP(w, req)
	}
}

// cleanPath is the canonical form of p that http.ServeMux routes on: rooted,
// without "." or ".." elements or repeated slashes, keeping a trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

// probeMethods are the verbs miss tries when deciding between 404 and 405.
var probeMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, "REPORT",
}

// miss answers a request that only the catch-all matched: 405 if another
// verb would have matched a registered pattern, 404 otherwise.
func (r *router) miss(w http.ResponseWriter, req *http.Request) {
	var allow []string
	probe := new(http.Request)
	for _, m := range probeMethods {
		if m == req.Method {
			continue
		}
		*probe = *req
		probe.Method = m
		if _, pattern := r.mux.Handler(probe); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, newError(ErrMethodNotAllowed, "Method not allowed"))
		return
	}
	writeError(w, notFoundf("Invalid resource identifier"))
}

// writeError writes err as LaunchDarkly's error body with its status. Any
// error is accepted: [AsError] turns one that is not an [*Error] into a 500
// that leaks nothing. Headers already set (Allow for a 405, Retry-After for a
// 429) are kept; a stale Content-Length is dropped.
func writeError(w http.ResponseWriter, err error) {
	e := AsError(err)
	if e == nil {
		e = newError(ErrInternal, "internal error")
	}
	if e.Status < 400 || e.Status > 599 || e.Code == "" || e.ID == "" {
		// A hand-built *Error: fill in what the body promises, on a copy.
		c := *e
		if c.Status < 400 || c.Status > 599 {
			c.Status, c.Code = http.StatusInternalServerError, CodeInternalError
		}
		if c.Code == "" {
			c.Code = CodeInternalError
		}
		if c.ID == "" {
			c.ID = uuid.NewString()
		}
		e = &c
	}
	if rid := w.Header().Get(RequestIDHeader); rid != "" && e.ID != rid {
		// Within a request the error's id is the request's (X-Request-Id,
		// and the log line's requestId), so a failure can be traced.
		c := *e
		c.ID = rid
		e = &c
	}
	body, mErr := json.Marshal(e)
	if mErr != nil {
		// Only the strings and field errors are marshalled; this cannot
		// happen, but the client still gets a well-formed body.
		body, _ = json.Marshal(newError(ErrInternal, "internal error"))
	}
	h := w.Header()
	h.Del("Content-Length")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	_, _ = w.Write(append(body, '\n'))
}
