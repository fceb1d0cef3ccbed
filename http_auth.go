package flagstore

import (
	"net/http"
)

// authenticate resolves the request's credentials (an access token in the
// Authorization header, or the host's session) to a principal and puts it in
// the request's context, so every store call the route makes is checked
// against it and audited with it as the actor. Failure is LaunchDarkly's 401.
func (a *api) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.s.AuthenticateRequest(r, a.cfg.sessions)
		if err != nil {
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}
