package flagstore

import (
	"context"
	"testing"
)

// azBenchStore is an in-memory store with project shop, flag new-checkout,
// a writer member and a writer personal token of it; it returns the
// token's secret.
func azBenchStore(b *testing.B) (*Store, string) {
	b.Helper()
	st, err := Open(":memory:")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "new-checkout", Name: "New checkout", Tags: []string{"checkout"}}); err != nil {
		b.Fatal(err)
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: "dev@example.com", Role: RoleWriter}})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := st.CreateToken(ctx, ms[0].ID, TokenPost{Name: "ci", Role: RoleWriter})
	if err != nil {
		b.Fatal(err)
	}
	return st, tok.Token
}

// azBenchGrant is the baseline's idea of a token: who it acts for and the
// role it has.
type azBenchGrant struct {
	memberID string
	role     string
}

// BenchmarkTokenAuth: resolving an access token and deciding updateOn on a
// flag in production (Authenticate, then Allowed, whose decision checks the
// token's role and its member's as a ceiling, with the flag's tags and the
// environment's critical property read from the store), against a plain
// map lookup of the secret and a comparison of the role.
func BenchmarkTokenAuth(b *testing.B) {
	st, secret := azBenchStore(b)
	grants := map[string]azBenchGrant{secret: {memberID: "m", role: RoleWriter}}
	for i := range 1000 { // a realistic number of other tokens
		grants[secret+string(rune('a'+i%26))+string(rune('a'+i/26))] = azBenchGrant{memberID: "x", role: RoleReader}
	}
	ctx := context.Background()
	const spec = "proj/shop:env/production:flag/new-checkout"

	b.Run("authenticate+decide", func(b *testing.B) {
		var p pairTimer
		allowed := 0
		for i := 0; i < b.N; i++ {
			err := timeIt(&p.ours, func() error {
				pr, err := st.Authenticate(ctx, secret)
				if err != nil {
					return err
				}
				d, err := st.Allowed(ctx, pr, "updateOn", spec)
				if d.Allowed {
					allowed++
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			_ = timeIt(&p.base, func() error {
				if g, ok := grants[secret]; ok && g.role == RoleWriter {
					allowed++
				}
				return nil
			})
		}
		b.StopTimer()
		if allowed != 2*b.N {
			b.Fatalf("%d of %d decisions allowed", allowed, 2*b.N)
		}
		p.report(b)
	})

	b.Run("authenticate", func(b *testing.B) {
		var p pairTimer
		found := 0
		for i := 0; i < b.N; i++ {
			err := timeIt(&p.ours, func() error {
				pr, err := st.Authenticate(ctx, secret)
				if pr.TokenID != "" {
					found++
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			_ = timeIt(&p.base, func() error {
				if g, ok := grants[secret]; ok && g.memberID != "" {
					found++
				}
				return nil
			})
		}
		b.StopTimer()
		if found != 2*b.N {
			b.Fatalf("%d of %d lookups found", found, 2*b.N)
		}
		p.report(b)
	})
}
