package flagstore

import (
	"net/http"
)

// CORS as LaunchDarkly allows it: any origin. A request's Origin is echoed
// (with credentials allowed, for the host's session cookies), else "*".
// Preflights are answered here, before authentication, with 204.
const (
	corsAllowMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS, REPORT"
	corsAllowHeaders = "Accept, Content-Type, Content-Length, Accept-Encoding, Authorization, LD-API-Version, X-HTTP-Method-Override, " +
		// what LaunchDarkly's JavaScript and mobile SDKs send
		"X-LaunchDarkly-User-Agent, X-LaunchDarkly-Payload-ID, X-LaunchDarkly-Event-Schema, X-LaunchDarkly-Wrapper, " +
		"X-LaunchDarkly-Tags, Cache-Control, If-None-Match"
	corsExposeHeaders = "X-Ratelimit-Global-Remaining, X-Ratelimit-Route-Remaining, X-Ratelimit-Reset, Retry-After, X-Request-Id"
	corsMaxAge        = "300"
)

func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if origin := r.Header.Get("Origin"); origin != "" {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
		} else {
			h.Set("Access-Control-Allow-Origin", "*")
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", corsAllowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
