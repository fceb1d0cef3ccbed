package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flagstore/flagstore"
)

func TestSetupAdminToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("from the environment", func(t *testing.T) {
		t.Parallel()
		st, err := flagstore.Open(":memory:")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		const secret = "api-test-secret-0123456789"
		var out bytes.Buffer
		for range 2 { // idempotent
			if err := setupAdminToken(ctx, st, secret, &out); err != nil {
				t.Fatal(err)
			}
		}
		if out.Len() != 0 {
			t.Errorf("printed %q although the secret was given", out.String())
		}
		p, err := st.Authenticate(ctx, secret)
		if err != nil {
			t.Fatal(err)
		}
		d, err := st.Allowed(ctx, p, "createRole", "role/anything")
		if err != nil || !d.Allowed {
			t.Fatalf("the admin token may not manage roles: %+v %v", d, err)
		}
		l, _ := st.ListTokens(ctx, flagstore.TokenListOptions{})
		if l.TotalCount != 1 {
			t.Fatalf("%d tokens after two setups", l.TotalCount)
		}
		if err := setupAdminToken(ctx, st, "short", &out); err == nil {
			t.Error("a short secret was accepted")
		}
	})

	t.Run("printed once on a new store", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "flags.db")
		st, err := flagstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		if err := setupAdminToken(ctx, st, "", &out); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		secret := lines[len(lines)-1]
		if !strings.HasPrefix(secret, "api-") {
			t.Fatalf("no secret printed: %q", out.String())
		}
		st.Close()

		st, err = flagstore.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		out.Reset()
		if err := setupAdminToken(ctx, st, "", &out); err != nil {
			t.Fatal(err)
		}
		if out.Len() != 0 {
			t.Errorf("printed again on restart: %q", out.String())
		}
		if _, err := st.Authenticate(ctx, secret); err != nil {
			t.Fatalf("the printed secret does not authenticate after restart: %v", err)
		}
	})
}
