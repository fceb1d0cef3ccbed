package flagstore

import (
	"net/http"
)

// recoverPanics turns a panic in a handler into LaunchDarkly's 500 error
// body, so no panic reaches the host's server. http.ErrAbortHandler, the
// deliberate way to abort a response, passes through.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, newError(ErrInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
