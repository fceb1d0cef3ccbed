package flagstore

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
)

// The server-side SDK routes: what LaunchDarkly's server-side SDKs call on
// their streaming, polling and events base URIs, all on this handler, so
// one URL (with http.StripPrefix, any prefix) serves an SDK whole. They
// take the environment's SDK key and live outside /api/v2.

// DefaultSDKHeartbeat is how often an idle SDK stream gets a comment line;
// LaunchDarkly's SDKs drop a stream that is silent for five minutes.
const DefaultSDKHeartbeat = 3 * time.Minute

// WithSDKHeartbeat sets the interval of SDK stream heartbeats (default
// DefaultSDKHeartbeat); shorten it behind proxies with idle timeouts.
func WithSDKHeartbeat(d time.Duration) HandlerOption {
	return func(c *handlerConfig) { c.heartbeat = d }
}

// sdkRoute is one route of the SDK side: a mux pattern and its handler,
// behind the credential check the route names.
type sdkRoute struct {
	pattern string
	// cred is the credential the route takes: in the Authorization header,
	// or for CredentialClientSideID in the {envId} path segment; "" for
	// routes that check their own.
	cred   CredentialKind
	handle func(w http.ResponseWriter, r *http.Request) error
}

// serverSDKRoutes are the routes of the server-side SDKs.
func (a *api) serverSDKRoutes() []sdkRoute {
	return []sdkRoute{
		{"GET /all", CredentialSDKKey, a.sdkStream},
		{"GET /sdk/latest-all", CredentialSDKKey, a.sdkLatestAll},
		{"GET /sdk/latest-flags/{key}", CredentialSDKKey, a.sdkLatestItem("flags")},
		{"GET /sdk/latest-segments/{key}", CredentialSDKKey, a.sdkLatestItem("segments")},
		{"POST /bulk", CredentialSDKKey, a.sdkEvents},
		{"POST /diagnostic", CredentialSDKKey, a.sdkDiagnostic},
	}
}

// registerSDK mounts the SDK routes.
func (a *api) registerSDK(routes []sdkRoute) {
	for _, rt := range routes {
		h := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := rt.handle(w, r); err != nil {
				writeError(w, sdkError(err))
			}
		}))
		if rt.cred != "" {
			h = a.sdkAuth(rt.cred, h)
		}
		a.router.mux.Handle(rt.pattern, h)
	}
}

// sdkError maps a store error to what an SDK should hear: an environment
// that vanished under its credential is 401 (the credential is dead); one
// that cannot be loaded is 503, which SDKs retry.
func sdkError(err error) error {
	var e *Error
	switch {
	case errors.Is(err, ErrNotFound):
		return newError(ErrUnauthorized, "Invalid SDK credential")
	case errors.As(err, &e) && e.Status < http.StatusInternalServerError:
		return err
	default:
		return newError(ErrUnavailable, "The environment is not ready")
	}
}

// sdkRefOf is the environment of the request's credential.
func sdkRefOf(r *http.Request) sdkRef {
	c := sdkCredential(r)
	return sdkRef{c.ProjectKey, c.EnvironmentKey}
}

// sdkStream serves GET /all: a put of the whole environment, then a patch
// or delete for every change, with heartbeats, until the client leaves.
func (a *api) sdkStream(w http.ResponseWriter, r *http.Request) error {
	ref := sdkRefOf(r)
	d, err := a.s.sdk.data(r.Context(), ref, nil)
	if err != nil {
		return err
	}
	return a.followEnv(w, r, ref, d.envID, func(write func(*sdkFrame) error, f *sdkFrame) error { return write(f) })
}

// followEnv serves an event stream that follows an environment's SDK feed:
// on each frame of the feed (nil for a heartbeat) fn decides what to write.
func (a *api) followEnv(w http.ResponseWriter, r *http.Request, ref sdkRef, envID string,
	fn func(write func(*sdkFrame) error, f *sdkFrame) error) error {
	ctx, cred, cancel := streamCredential(r)
	defer cancel()
	return a.serveStream(w, r, envID, func(write func(*sdkFrame) error) error {
		return a.s.sdk.stream(ctx, ref, cred, a.cfg.heartbeat, func(f *sdkFrame) error { return fn(write, f) })
	})
}

// streamCredential is the context and credential a stream runs with: the
// stream ends when the key it was opened with is reset (cred) or, for a
// retired key, at the key's expiry (the context's deadline). A client-side
// ID never changes; its streams end only with their environment.
func streamCredential(r *http.Request) (ctx context.Context, cred string, cancel context.CancelFunc) {
	c := sdkCredential(r)
	if c.Kind != CredentialClientSideID {
		cred = sdkSecret(r)
	}
	if c.Expires == 0 {
		return r.Context(), cred, func() {}
	}
	ctx, cancel = context.WithDeadline(r.Context(), time.UnixMilli(c.Expires))
	return ctx, cred, cancel
}

// serveStream answers with an event stream fed by run; the stream's frames
// go out as written, each flushed at once. A nil frame is a heartbeat.
func (a *api) serveStream(w http.ResponseWriter, r *http.Request, envID string, run func(func(*sdkFrame) error) error) error {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the host's write timeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache, no-store, must-revalidate")
	h.Set("X-Accel-Buffering", "no")
	if envID != "" {
		h.Set("X-LD-EnvID", envID)
	}
	started := false
	err := run(func(f *sdkFrame) error {
		if !started {
			started = true
			w.WriteHeader(http.StatusOK)
		}
		b := []byte(":\n")
		if f != nil {
			b = f.sse
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	})
	if err != nil && !started {
		return err
	}
	return nil // once the stream began, its end is the answer
}

// sdkLatestAll serves GET /sdk/latest-all, the polling payload, from the
// environment's encoded cache, with an ETag.
func (a *api) sdkLatestAll(w http.ResponseWriter, r *http.Request) error {
	d, err := a.s.sdk.data(r.Context(), sdkRefOf(r), nil)
	if err != nil {
		return err
	}
	body, etag, _ := d.payload()
	writeCached(w, r, d.envID, etag, body)
	return nil
}

// writeCached writes a cached JSON body, or 304 when the client holds it.
func writeCached(w http.ResponseWriter, r *http.Request, envID, etag string, body []byte) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Add("Vary", "Authorization")
	if envID != "" {
		h.Set("X-LD-EnvID", envID)
	}
	if etagMatch(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}

// sdkLatestItem serves one flag or segment, as older SDKs fetch them.
func (a *api) sdkLatestItem(kind string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		d, err := a.s.sdk.data(r.Context(), sdkRefOf(r), nil)
		if err != nil {
			return err
		}
		items := d.flags
		if kind == "segments" {
			items = d.segs
		}
		it := items[r.PathValue("key")]
		if it == nil || it.withheld {
			writeError(w, notFoundf("Unknown %s %q", strings.TrimSuffix(kind, "s"), r.PathValue("key")))
			return nil
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(it.json)
		return nil
	}
}
