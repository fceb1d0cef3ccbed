package flagstore

import (
	"net/http"
	"strings"
)

// MethodOverrideHeader tunnels PATCH, PUT or DELETE through a POST, for
// clients and firewalls that allow only GET and POST.
const MethodOverrideHeader = "X-HTTP-Method-Override"

// methodOverride swaps a POST's method for the one its override header
// names (PATCH, PUT or DELETE, any case). Any other value is a 400; the
// header is ignored on other methods.
func methodOverride(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := r.Header.Get(MethodOverrideHeader)
		if v == "" || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		switch m := strings.ToUpper(strings.TrimSpace(v)); m {
		case http.MethodPatch, http.MethodPut, http.MethodDelete:
			r2 := r.Clone(r.Context())
			r2.Method = m
			next.ServeHTTP(w, r2)
		default:
			writeError(w, invalidf(MethodOverrideHeader, "%s may name PATCH, PUT or DELETE, not %q", MethodOverrideHeader, v))
		}
	})
}
