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

type handlerConfig struct {
	log *slog.Logger
}

// WithHandlerLogger makes the handler log one line per request (method, path,
// status, bytes written, duration) to l at level Info. By default the handler
// logs nothing.
func WithHandlerLogger(l *slog.Logger) HandlerOption {
	return func(c *handlerConfig) { c.log = l }
}

// Handler returns the store's HTTP handler, to mount on the host's mux:
//
//	mux.Handle("/", st.Handler())
//
// or under a prefix with [http.StripPrefix]. It serves no REST resource yet:
// every request is answered with LaunchDarkly's error body
// {"code","message","id"}, 404 not_found for a path it does not know.
func (s *Store) Handler(opts ...HandlerOption) http.Handler {
	var c handlerConfig
	for _, o := range opts {
		o(&c)
	}
	r := newRouter()
	var h http.Handler = r
	if c.log != nil {
		h = logRequests(c.log, h)
	}
	return h
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
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
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

// logRequests logs one line per request to l.
func logRequests(l *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(rw, req)
		if rw.status == 0 {
			rw.status = http.StatusOK
		}
		l.LogAttrs(req.Context(), slog.LevelInfo, "request",
			slog.String("method", req.Method),
			slog.String("path", req.URL.Path),
			slog.Int("status", rw.status),
			slog.Int64("bytes", rw.bytes),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

// statusWriter records the status and size of a response. Unwrap lets
// [http.ResponseController] reach the underlying writer (Flush, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx responses are not the status
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
