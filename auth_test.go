package flagstore

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStore_LookupCredential(t *testing.T) {
	t.Parallel()
	st, _ := tstStoreDefaultGens(t)
	ctx := t.Context()
	projects := []Project{tstMustProject(t, st, "shop"), tstMustProject(t, st, "blog")}

	for _, p := range projects {
		for _, e := range p.Environments {
			for _, c := range []struct {
				secret string
				kind   CredentialKind
			}{
				{e.APIKey, CredentialSDKKey},
				{e.MobileKey, CredentialMobileKey},
				{e.ID, CredentialClientSideID},
			} {
				got, err := st.LookupCredential(ctx, c.secret)
				want := Credential{Kind: c.kind, ProjectKey: p.Key, EnvironmentKey: e.Key}
				if err != nil || got != want {
					t.Errorf("LookupCredential(%q) = %+v, %v; want %+v", c.secret, got, err, want)
				}
			}
		}
	}

	prod := projects[0].Environments[0]
	unknown := []string{
		"", "sdk-", "mob-", "sdk-nope", "mob-nope", "nope",
		"sdk-00000000-0000-4000-8000-000000000000",
		projects[0].ID, // a project _id is no credential
		"mob-" + strings.TrimPrefix(prod.APIKey, "sdk-"), // right secret, wrong kind
		"sdk-" + strings.TrimPrefix(prod.MobileKey, "mob-"),
		"sdk-" + prod.ID,
		strings.ToUpper(prod.APIKey),
		prod.APIKey + " ",
		" " + prod.APIKey,
		"c/sdk/" + prod.APIKey,
		"sdk/" + prod.APIKey,
		"../" + prod.ID,
		prod.ID + "/",
	}
	for _, s := range unknown {
		_, err := st.LookupCredential(ctx, s)
		tstNotFound(t, err)
	}
}

// tstResetCase describes one of the two key resets.
type tstResetCase struct {
	name   string
	reset  func(*Store, context.Context, string, string, time.Time) (Environment, error)
	key    func(Environment) string
	other  func(Environment) string
	kind   CredentialKind
	prefix string
}

var tstResetCases = []tstResetCase{
	{"SDK", (*Store).ResetSDKKey, func(e Environment) string { return e.APIKey }, func(e Environment) string { return e.MobileKey }, CredentialSDKKey, "sdk-"},
	{"Mobile", (*Store).ResetMobileKey, func(e Environment) string { return e.MobileKey }, func(e Environment) string { return e.APIKey }, CredentialMobileKey, "mob-"},
}

func TestStore_ResetKeyWithoutExpiry(t *testing.T) {
	t.Parallel()
	for _, rc := range tstResetCases {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := tstStoreDefaultGens(t)
			ctx := t.Context()
			tstMustProject(t, st, "shop")
			before := tstMustEnv(t, st, "shop", "production")
			testEnv := tstMustEnv(t, st, "shop", "test")

			after, err := rc.reset(st, ctx, "shop", "production", time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			old, fresh := rc.key(before), rc.key(after)
			if fresh == old {
				t.Fatalf("the key did not change")
			}
			tstCheckPrefixedUUID(t, "new key", fresh, rc.prefix)
			if after.Version != before.Version+1 {
				t.Errorf("version = %d, want %d", after.Version, before.Version+1)
			}
			if rc.other(after) != rc.other(before) || after.ID != before.ID {
				t.Errorf("the other credentials changed")
			}
			if got := tstMustEnv(t, st, "shop", "production"); !reflect.DeepEqual(got, after) {
				t.Errorf("GetEnvironment = %+v, want %+v", got, after)
			}

			_, err = st.LookupCredential(ctx, old)
			tstNotFound(t, err)
			c, err := st.LookupCredential(ctx, fresh)
			if err != nil || c != (Credential{Kind: rc.kind, ProjectKey: "shop", EnvironmentKey: "production"}) {
				t.Errorf("LookupCredential(new) = %+v, %v", c, err)
			}
			for _, s := range []string{rc.other(after), after.ID, rc.key(testEnv), rc.other(testEnv), testEnv.ID} {
				if _, err := st.LookupCredential(ctx, s); err != nil {
					t.Errorf("LookupCredential(%q) after reset: %v", s, err)
				}
			}
		})
	}
}

func TestStore_ResetKeyWithExpiry(t *testing.T) {
	t.Parallel()
	for _, rc := range tstResetCases {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tstStore(t)
			ctx := t.Context()
			tstMustProject(t, st, "shop")
			orig := tstMustEnv(t, st, "shop", "production")
			old := rc.key(orig)

			expiry := clock.Now().Add(time.Hour)
			env, err := rc.reset(st, ctx, "shop", "production", expiry)
			if err != nil {
				t.Fatal(err)
			}
			fresh := rc.key(env)
			if fresh == old || !strings.HasPrefix(fresh, rc.prefix) {
				t.Fatalf("new key %q (old %q)", fresh, old)
			}
			c, err := st.LookupCredential(ctx, old)
			if err != nil || c != (Credential{Kind: rc.kind, ProjectKey: "shop", EnvironmentKey: "production", Expires: expiry.UnixMilli()}) {
				t.Errorf("LookupCredential(old) = %+v, %v", c, err)
			}

			clock.Advance(time.Hour - time.Millisecond)
			if _, err := st.LookupCredential(ctx, old); err != nil {
				t.Errorf("old key stopped working a millisecond before its expiry: %v", err)
			}
			clock.Advance(2 * time.Millisecond)
			_, err = st.LookupCredential(ctx, old)
			tstNotFound(t, err)
			if c, err := st.LookupCredential(ctx, fresh); err != nil || c.Expires != 0 {
				t.Errorf("new key after the old one expired: %+v, %v", c, err)
			}

			// Two overlapping retirements: each old key has its own expiry.
			k1 := fresh
			e2, err := rc.reset(st, ctx, "shop", "production", clock.Now().Add(10*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			k2 := rc.key(e2)
			e3, err := rc.reset(st, ctx, "shop", "production", clock.Now().Add(20*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			k3 := rc.key(e3)
			if e3.Version != orig.Version+3 {
				t.Errorf("version after three resets = %d, want %d", e3.Version, orig.Version+3)
			}
			for _, k := range []string{k1, k2, k3} {
				if _, err := st.LookupCredential(ctx, k); err != nil {
					t.Errorf("key %q: %v", k, err)
				}
			}
			clock.Advance(15 * time.Minute)
			_, err = st.LookupCredential(ctx, k1)
			tstNotFound(t, err)
			for _, k := range []string{k2, k3} {
				if _, err := st.LookupCredential(ctx, k); err != nil {
					t.Errorf("key %q: %v", k, err)
				}
			}
			clock.Advance(10 * time.Minute)
			_, err = st.LookupCredential(ctx, k2)
			tstNotFound(t, err)
			if _, err := st.LookupCredential(ctx, k3); err != nil {
				t.Errorf("current key: %v", err)
			}
			// A later reset without expiry leaves expired keys dead.
			if _, err := rc.reset(st, ctx, "shop", "production", time.Time{}); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{old, k1, k2, k3} {
				_, err := st.LookupCredential(ctx, k)
				tstNotFound(t, err)
			}
		})
	}
}

func TestStore_ResetKeyRefused(t *testing.T) {
	t.Parallel()
	for _, rc := range tstResetCases {
		t.Run(rc.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tstStore(t)
			ctx := t.Context()
			tstMustProject(t, st, "shop")
			before := tstMustEnv(t, st, "shop", "production")
			save := tstSave(t, st)

			for _, expiry := range []time.Time{clock.Now().Add(-time.Millisecond), clock.Now().Add(-24 * time.Hour), time.Unix(1, 0)} {
				_, err := rc.reset(st, ctx, "shop", "production", expiry)
				tstInvalid(t, err, "expiry")
			}
			_, err := rc.reset(st, ctx, "shop", "nope", time.Time{})
			tstNotFound(t, err)
			_, err = rc.reset(st, ctx, "nope", "production", time.Time{})
			tstNotFound(t, err)

			if string(tstSave(t, st)) != string(save) {
				t.Errorf("a refused reset changed the store")
			}
			if c, err := st.LookupCredential(ctx, rc.key(before)); err != nil || c.Expires != 0 {
				t.Errorf("key after refused resets: %+v, %v", c, err)
			}
		})
	}
}

func TestStore_DeleteEnvironmentRevokesCredentials(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	orig := tstMustEnv(t, st, "shop", "production")
	if _, err := st.ResetSDKKey(ctx, "shop", "production", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	mid := tstMustEnv(t, st, "shop", "production")
	if _, err := st.ResetSDKKey(ctx, "shop", "production", clock.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResetMobileKey(ctx, "shop", "production", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cur := tstMustEnv(t, st, "shop", "production")
	secrets := []string{orig.APIKey, orig.MobileKey, mid.APIKey, cur.APIKey, cur.MobileKey, cur.ID}
	for _, s := range secrets {
		if _, err := st.LookupCredential(ctx, s); err != nil {
			t.Fatalf("before delete, %q: %v", s, err)
		}
	}
	if err := st.DeleteEnvironment(ctx, "shop", "production"); err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		_, err := st.LookupCredential(ctx, s)
		tstNotFound(t, err)
	}
	if keys := tstRawKeys(t, st, "c/"); len(keys) != 3 {
		t.Errorf("credential keys left: %q, want only the test environment's three", keys)
	}
}

// While keys are being reset with an expiry, no credential of the
// environment stops resolving, even for a moment.
func TestStore_ResetKeyConcurrentLookups(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	orig := tstMustEnv(t, st, "shop", "production")
	expiry := clock.Now().Add(time.Hour)

	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		for range 20 {
			if _, err := st.ResetSDKKey(ctx, "shop", "production", expiry); err != nil {
				t.Error(err)
				return
			}
			if _, err := st.ResetMobileKey(ctx, "shop", "production", expiry); err != nil {
				t.Error(err)
				return
			}
		}
	})
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for _, s := range []string{orig.APIKey, orig.MobileKey, orig.ID} {
					if _, err := st.LookupCredential(ctx, s); err != nil {
						t.Errorf("LookupCredential(%q) during resets: %v", s, err)
						return
					}
				}
				e, err := st.GetEnvironment(ctx, "shop", "production")
				if err != nil {
					t.Error(err)
					return
				}
				for _, s := range []string{e.APIKey, e.MobileKey} {
					if _, err := st.LookupCredential(ctx, s); err != nil {
						t.Errorf("current key %q during resets: %v", s, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if e := tstMustEnv(t, st, "shop", "production"); e.Version != orig.Version+40 {
		t.Errorf("version after 40 resets = %d, want %d", e.Version, orig.Version+40)
	}
}
