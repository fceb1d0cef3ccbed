package flagstore

import (
	"context"
	"strings"
)

// CredentialKind names the kind of an environment credential.
type CredentialKind string

// The environment credentials LaunchDarkly's SDKs present.
const (
	// CredentialSDKKey is a server-side SDK key ("sdk-…").
	CredentialSDKKey CredentialKind = "sdkKey"
	// CredentialMobileKey is a mobile key ("mob-…").
	CredentialMobileKey CredentialKind = "mobileKey"
	// CredentialClientSideID is an environment's client-side ID (its _id).
	CredentialClientSideID CredentialKind = "clientSideId"
)

// Credential is what an environment credential resolves to.
type Credential struct {
	Kind           CredentialKind
	ProjectKey     string
	EnvironmentKey string
	// Expires is when a retired key stops working (Unix ms); 0 for a
	// current key.
	Expires int64
}

// LookupCredential finds the environment an SDK key, mobile key or
// client-side ID belongs to, with one keyed read. Retired keys work until
// their expiry. An unknown or expired credential is ErrNotFound.
func (s *Store) LookupCredential(ctx context.Context, secret string) (Credential, error) {
	kind, slot := CredentialClientSideID, credClientID
	switch {
	case strings.HasPrefix(secret, "sdk-"):
		kind, slot = CredentialSDKKey, credSDK
	case strings.HasPrefix(secret, "mob-"):
		kind, slot = CredentialMobileKey, credMobile
	}
	var c credential
	if secret == "" || strings.Contains(secret, sep) {
		return Credential{}, notFoundf("Unknown credential")
	}
	err := s.view(ctx, func(r *rtx) error {
		_, err := r.get(credKey(slot, secret), &c)
		return notFoundOr(err, "Unknown credential")
	})
	if err != nil {
		return Credential{}, err
	}
	if c.Expires != 0 && c.Expires <= s.nowMillis() {
		return Credential{}, notFoundf("Unknown credential")
	}
	return Credential{Kind: kind, ProjectKey: c.Project, EnvironmentKey: c.Environment, Expires: c.Expires}, nil
}
