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

// sdkAuth admits requests that carry an environment credential of the
// given kind and puts the credential in the request's context. Keys come
// in the Authorization header, raw as LaunchDarkly's SDKs send them or
// after the old "api_key " scheme; anything else is 401, the answer after
// which an SDK gives up, and so is an access token, which opens the REST
// API only. A client-side ID comes in the {envId} path segment: it is
// public and names a resource rather than proving anything, so LaunchDarkly
// answers an unknown one with 404.
func (a *api) sdkAuth(kind CredentialKind, next http.Handler) http.Handler {
	secret, refused := sdkSecret, func() error { return newError(ErrUnauthorized, "Invalid SDK credential") }
	if kind == CredentialClientSideID {
		secret = func(r *http.Request) string { return r.PathValue("envId") }
		refused = func() error { return notFoundf("Unknown client-side ID") }
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := secret(r)
		if secret == "" || strings.ContainsAny(secret, " \t") {
			writeError(w, refused())
			return
		}
		c, err := a.s.LookupCredential(r.Context(), secret)
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && c.Kind != kind:
			writeError(w, refused())
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
