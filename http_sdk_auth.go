package flagstore

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// sdkCredentialKey is the request-context key of the environment credential
// an SDK route was called with.
type sdkCredentialKey struct{}

// sdkAuth admits requests whose Authorization header carries an
// environment credential of the given kind, raw as LaunchDarkly's SDKs send
// it or after the old "api_key " scheme, and puts the credential in the
// request's context. Anything else is 401, the answer after which an SDK
// gives up; so is an access token, which opens the REST API only.
func (a *api) sdkAuth(kind CredentialKind, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := sdkSecret(r)
		if secret == "" || strings.ContainsAny(secret, " \t") {
			writeError(w, newError(ErrUnauthorized, "Invalid SDK credential"))
			return
		}
		c, err := a.s.LookupCredential(r.Context(), secret)
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && c.Kind != kind:
			writeError(w, newError(ErrUnauthorized, "Invalid SDK credential"))
			return
		case err != nil:
			writeError(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sdkCredentialKey{}, c)))
	})
}

// sdkSecret is the credential's secret as the request presented it.
func sdkSecret(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "api_key ")
}

// sdkCredential is the credential sdkAuth admitted.
func sdkCredential(r *http.Request) Credential {
	c, _ := r.Context().Value(sdkCredentialKey{}).(Credential)
	return c
}
