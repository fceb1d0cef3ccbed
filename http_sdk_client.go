package flagstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
)

// The client-side and mobile SDK routes: LaunchDarkly's JavaScript SDKs
// name their environment by its client-side ID in the path, mobile SDKs
// send the mobile key in the Authorization header. Neither gets flag rules:
// the handler evaluates every flag available to the credential for the
// SDK's context and sends the results (see evalx). The SDK key may call the
// evalx routes too, as ld-relay allows, for languages without an SDK.

// clientSDKRoutes are the routes of the client-side and mobile SDKs.
func (a *api) clientSDKRoutes() []sdkRoute {
	var routes []sdkRoute
	// Each evaluation route has its context in the path (GET) or the body
	// (REPORT), under the current name and the old "user" one.
	evalx := []struct {
		prefix string
		cred   CredentialKind
	}{
		{"/sdk/evalx/{envId}", CredentialClientSideID},
		{"/msdk/evalx", CredentialMobileKey},
		{"/sdk/evalx", CredentialSDKKey},
	}
	for _, e := range evalx {
		h := a.evalxHandler(e.cred)
		routes = append(routes,
			sdkRoute{"GET " + e.prefix + "/contexts/{context}", e.cred, h},
			sdkRoute{"GET " + e.prefix + "/users/{context}", e.cred, h},
			sdkRoute{"REPORT " + e.prefix + "/context", e.cred, h},
			sdkRoute{"REPORT " + e.prefix + "/user", e.cred, h},
		)
	}
	return append(routes,
		sdkRoute{"GET /eval/{envId}/{context}", CredentialClientSideID, a.evalxStream(CredentialClientSideID)},
		sdkRoute{"REPORT /eval/{envId}", CredentialClientSideID, a.evalxStream(CredentialClientSideID)},
		sdkRoute{"GET /meval/{context}", CredentialMobileKey, a.evalxStream(CredentialMobileKey)},
		sdkRoute{"REPORT /meval", CredentialMobileKey, a.evalxStream(CredentialMobileKey)},
		sdkRoute{"GET /ping/{envId}", CredentialClientSideID, a.pingStream},
		sdkRoute{"GET /mping", CredentialMobileKey, a.pingStream},
		sdkRoute{"POST /events/bulk/{envId}", CredentialClientSideID, a.sdkEvents},
		sdkRoute{"POST /events/diagnostic/{envId}", CredentialClientSideID, a.sdkDiagnostic},
		sdkRoute{"POST /mobile", CredentialMobileKey, a.sdkEvents},
		sdkRoute{"POST /mobile/events", CredentialMobileKey, a.sdkEvents},
		sdkRoute{"POST /mobile/events/bulk", CredentialMobileKey, a.sdkEvents},
		sdkRoute{"POST /mobile/events/diagnostic", CredentialMobileKey, a.sdkDiagnostic},
		sdkRoute{"GET /sdk/goals/{envId}", CredentialClientSideID, a.sdkGoals},
	)
}

// evalxHandler serves the evaluation routes: every flag the credential may
// see, evaluated for the request's context, with reasons when the query
// says withReasons=true, and an ETag.
func (a *api) evalxHandler(kind CredentialKind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := a.requestContext(w, r, kind)
		if err != nil {
			return err
		}
		d, err := a.s.sdk.data(r.Context(), sdkRefOf(r), nil)
		if err != nil {
			return err
		}
		body := evalx(d, kind, c, withReasons(r)).encode()
		writeCached(w, r, d.envID, etagOf(body), body)
		return nil
	}
}

// withReasons reports whether a request asks for evaluation reasons.
func withReasons(r *http.Request) bool { return r.URL.Query().Get("withReasons") == "true" }

// requestContext is the evaluation context of a client-side request: the
// {context} path segment, base64url-encoded JSON (padded or not), or the
// JSON body of a REPORT (415 if it says it is something else). Both
// LaunchDarkly's context format and the old user format are accepted; a
// context without a key is refused. For the client-side ID, the
// environment's secure mode is enforced.
func (a *api) requestContext(w http.ResponseWriter, r *http.Request, kind CredentialKind) (ldcontext.Context, error) {
	var raw []byte
	if seg := r.PathValue("context"); seg != "" {
		b, err := decodeBase64URL(seg)
		if err != nil {
			return ldcontext.Context{}, invalidf("context", "the context is not base64url: %v", err)
		}
		raw = b
	} else {
		if ct := r.Header.Get("Content-Type"); ct != "" && !isJSONMediaType(ct) {
			return ldcontext.Context{}, newError(ErrUnsupportedMediaType, "the context must be JSON, not %s", ct)
		}
		b, err := limitedBody(w, r, a.cfg.maxBody)
		if err != nil {
			return ldcontext.Context{}, err
		}
		raw = b
	}
	var c ldcontext.Context
	if err := c.UnmarshalJSON(raw); err != nil {
		return ldcontext.Context{}, invalidf("context", "invalid context: %v", err)
	}
	if !c.Multiple() && c.Key() == "" {
		return ldcontext.Context{}, invalidf("context", "invalid context: it must have a key")
	}
	if kind == CredentialClientSideID {
		if err := a.checkSecureMode(r, c); err != nil {
			return ldcontext.Context{}, err
		}
	}
	return c, nil
}

// checkSecureMode enforces an environment's secure mode, in which a
// browser may only evaluate contexts the host's backend has signed: the
// h query parameter must be the hex HMAC-SHA256 of the context's fully
// qualified key under the environment's SDK key, as the server-side SDKs'
// SecureModeHash computes it. LaunchDarkly refuses anything else with 400.
func (a *api) checkSecureMode(r *http.Request, c ldcontext.Context) error {
	cred := sdkCredential(r)
	env, err := a.s.GetEnvironment(r.Context(), cred.ProjectKey, cred.EnvironmentKey)
	if err != nil || !env.SecureMode {
		return err
	}
	mac := hmac.New(sha256.New, []byte(env.APIKey))
	mac.Write([]byte(c.FullyQualifiedKey()))
	want := hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(r.URL.Query().Get("h")), []byte(want)) {
		return invalidf("h", "the environment is in secure mode: the context's hash (h) is missing or wrong")
	}
	return nil
}

// decodeBase64URL decodes base64url with or without padding; SDKs differ.
// The standard alphabet is taken too, for hand-made URLs.
func decodeBase64URL(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	s = strings.NewReplacer("+", "-", "/", "_").Replace(s)
	return base64.RawURLEncoding.DecodeString(s)
}

// sdkGoals serves the JavaScript SDK's goals: flagstore has no click or
// page-view goals, so the list is empty.
func (a *api) sdkGoals(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte("[]"))
	return nil
}
