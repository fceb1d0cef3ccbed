package flagstore

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSDKAuth(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	a := &api{s: e.st}
	var seen Credential
	h := a.sdkAuth(CredentialSDKKey, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = sdkCredential(r)
		w.WriteHeader(http.StatusNoContent)
	}))
	for _, tc := range []struct {
		name, auth string
		want       int
	}{
		{"raw SDK key", prod.APIKey, http.StatusNoContent},
		{"api_key scheme", "api_key " + prod.APIKey, http.StatusNoContent},
		{"none", "", http.StatusUnauthorized},
		{"unknown SDK key", "sdk-00000000-0000-4000-8000-000000000000", http.StatusUnauthorized},
		{"mobile key", prod.MobileKey, http.StatusUnauthorized},
		{"client-side ID", prod.ID, http.StatusUnauthorized},
		{"access token", htAdminSecret, http.StatusUnauthorized},
		{"other scheme", "Bearer " + prod.APIKey, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen = Credential{}
			r := httptest.NewRequest("GET", "/all", nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.want, w.Body)
			}
			if tc.want == http.StatusNoContent && (seen.ProjectKey != "shop" || seen.EnvironmentKey != "production") {
				t.Errorf("credential = %+v", seen)
			}
			if tc.want == http.StatusUnauthorized && (seen != Credential{}) {
				t.Errorf("refused request reached the handler")
			}
		})
	}
}
