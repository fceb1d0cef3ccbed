package flagstore

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// APIVersionHeader selects the API version of a request: a dated version
// such as 20240415, or "beta" for beta routes.
const APIVersionHeader = "LD-API-Version"

// LaunchDarkly's API versions, oldest first; the last is the latest.
var apiVersions = []int{20160426, 20191212, 20210729, 20220603, 20240415}

// LatestAPIVersion is the version a request gets when neither its header
// nor its token names one.
const LatestAPIVersion = 20240415

// APIVersion is the version a request resolved to.
type APIVersion struct {
	// Version is the dated version in effect.
	Version int
	// Beta is true when the request sent LD-API-Version: beta.
	Beta bool
}

type apiVersionKey struct{}

// APIVersionFrom returns the API version of the request a context belongs
// to (the latest, outside a request).
func APIVersionFrom(ctx context.Context) APIVersion {
	if v, ok := ctx.Value(apiVersionKey{}).(APIVersion); ok {
		return v
	}
	return APIVersion{Version: LatestAPIVersion}
}

// apiVersion resolves the request's version once: the LD-API-Version header
// (a known dated version, or beta), else the token's default version, else
// the latest. An unknown or repeated header is a 400.
func apiVersion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := APIVersion{Version: LatestAPIVersion}
		if p, ok := PrincipalFrom(r.Context()); ok && p.defaultAPIVersion != 0 {
			v.Version = p.defaultAPIVersion
		}
		values := r.Header.Values(APIVersionHeader)
		switch {
		case len(values) > 1:
			writeError(w, invalidf(APIVersionHeader, "%s was sent %d times; send it once", APIVersionHeader, len(values)))
			return
		case len(values) == 1:
			h := strings.TrimSpace(values[0])
			if strings.EqualFold(h, "beta") {
				v.Beta = true
				break
			}
			n, err := strconv.Atoi(h)
			if err != nil || !slices.Contains(apiVersions, n) {
				writeError(w, invalidf(APIVersionHeader, "unknown %s %q: use beta or one of %v", APIVersionHeader, h, apiVersions))
				return
			}
			v.Version = n
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiVersionKey{}, v)))
	})
}

// betaGate answers a beta route with 403 unless the request asked for beta.
func betaGate(rt *route, next http.Handler) http.Handler {
	if !rt.beta {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !APIVersionFrom(r.Context()).Beta {
			writeError(w, newError(ErrForbidden, "%s is a beta resource: send the header %s: beta", rt.operationID, APIVersionHeader))
			return
		}
		next.ServeHTTP(w, r)
	})
}
