package flagstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
)

// Fixtures of the flag status tests start with "fst".

const fstDay = 24 * time.Hour

// fstTurn switches a flag on or off in production.
func fstTurn(t *testing.T, st *Store, flag string, on bool) {
	t.Helper()
	_, err := st.UpdateFlag(t.Context(), "p", flag, func(f *Flag) error {
		f.Environments["production"].On = on
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// fstRecord records one report about flag in production.
func fstRecord(t *testing.T, st *Store, flag string, r FlagRequest) {
	t.Helper()
	if err := st.RecordFlagRequests(t.Context(), "p", "production", map[string]FlagRequest{flag: r}); err != nil {
		t.Fatal(err)
	}
}

// fstStatus is flag's status in production.
func fstStatus(t *testing.T, st *Store, flag string) FlagStatus {
	t.Helper()
	s, err := st.GetFlagStatus(t.Context(), "p", "production", flag)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fstRawKeys lists the stored keys under prefix.
func fstRawKeys(t *testing.T, st *Store, prefix string) []string {
	t.Helper()
	var out []string
	err := st.Backend().View(t.Context(), func(tx store.ReadTx) error {
		return tx.Scan(prefix, "", func(it store.Item) bool {
			out = append(out, it.Key)
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFlagStatus_OverTime(t *testing.T) {
	t.Parallel()
	now := func(c *tstClock) time.Time { return c.Now() }
	cases := []struct {
		name  string
		steps func(t *testing.T, st *Store, c *tstClock)
		want  string
		// requested says whether lastRequested is reported.
		requested bool
	}{
		{name: "created today, never requested", want: FlagStatusNew,
			steps: func(t *testing.T, st *Store, c *tstClock) { c.Advance(6 * fstDay) }},
		{name: "7 days old, never requested", want: FlagStatusInactive,
			steps: func(t *testing.T, st *Store, c *tstClock) { c.Advance(7 * fstDay) }},
		{name: "requested, off", want: FlagStatusActive, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				c.Advance(8 * fstDay)
				fstRecord(t, st, "f", FlagRequest{LastRequested: now(c), Variations: []int{1}})
			}},
		{name: "requested, on, changed in the last 7 days", want: FlagStatusActive, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				c.Advance(8 * fstDay)
				fstTurn(t, st, "f", true)
				c.Advance(6 * fstDay)
				fstRecord(t, st, "f", FlagRequest{Variations: []int{0}})
			}},
		{name: "requested, on, one variation, unchanged for 7 days", want: FlagStatusLaunched, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				fstTurn(t, st, "f", true)
				c.Advance(7 * fstDay)
				fstRecord(t, st, "f", FlagRequest{Variations: []int{0}})
			}},
		{name: "requested, on, two variations served", want: FlagStatusActive, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				fstTurn(t, st, "f", true)
				c.Advance(7 * fstDay)
				fstRecord(t, st, "f", FlagRequest{Variations: []int{0}})
				fstRecord(t, st, "f", FlagRequest{Variations: []int{1}})
			}},
		{name: "a variation served over 7 days ago no longer counts", want: FlagStatusLaunched, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				fstTurn(t, st, "f", true)
				fstRecord(t, st, "f", FlagRequest{Variations: []int{1}})
				st.flushFlagRequests()
				c.Advance(8 * fstDay)
				fstRecord(t, st, "f", FlagRequest{Variations: []int{0}})
			}},
		{name: "no variations reported, configuration serves one", want: FlagStatusLaunched, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				fstTurn(t, st, "f", true)
				c.Advance(7 * fstDay)
				fstRecord(t, st, "f", FlagRequest{})
			}},
		{name: "no variations reported, targets serve another", want: FlagStatusActive, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				_, err := st.UpdateFlag(t.Context(), "p", "f", func(f *Flag) error {
					c := f.Environments["production"]
					c.On = true
					c.Targets = []Target{{Values: []string{"alice"}, Variation: 1}}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				c.Advance(7 * fstDay)
				fstRecord(t, st, "f", FlagRequest{})
			}},
		{name: "last requested 7 days ago", want: FlagStatusInactive, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				fstTurn(t, st, "f", true)
				fstRecord(t, st, "f", FlagRequest{Variations: []int{0}})
				c.Advance(7 * fstDay)
			}},
		{name: "requested within 7 days of creation, then silent", want: FlagStatusInactive, requested: true,
			steps: func(t *testing.T, st *Store, c *tstClock) {
				c.Advance(fstDay)
				fstRecord(t, st, "f", FlagRequest{})
				st.flushFlagRequests()
				c.Advance(7 * fstDay)
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tstStore(t)
			tstMustProject(t, st, "p")
			tstMustFlag(t, st, "p", "f")
			tc.steps(t, st, clock)
			got := fstStatus(t, st, "f")
			if got.Name != tc.want {
				t.Fatalf("status %q, want %q", got.Name, tc.want)
			}
			if (got.LastRequested != nil) != tc.requested {
				t.Fatalf("lastRequested %v, want requested=%v", got.LastRequested, tc.requested)
			}
			// The status is the same once the queue is written.
			st.flushFlagRequests()
			if again := fstStatus(t, st, "f"); again.Name != got.Name || !sameTime(again.LastRequested, got.LastRequested) {
				t.Fatalf("after flush %+v, before %+v", again, got)
			}
		})
	}
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

func TestFlagStatus_RecordFlagRequests(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "f")
	tstMustFlag(t, st, "p", "g")
	ctx := t.Context()
	before, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	t1 := clock.Now().Add(time.Hour)
	err = st.RecordFlagRequests(ctx, "p", "production", map[string]FlagRequest{
		"f":       {LastRequested: t1, Default: "fallback", Variations: []int{0}},
		"g":       {},
		"missing": {LastRequested: t1},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Queued reports show at once.
	got := fstStatus(t, st, "f")
	if got.LastRequested == nil || !got.LastRequested.Equal(t1) || got.Default != "fallback" {
		t.Fatalf("queued status %+v", got)
	}
	if g := fstStatus(t, st, "g"); g.LastRequested == nil || !g.LastRequested.Equal(clock.Now()) || g.Default != nil {
		t.Fatalf("a report without a time means now: %+v", g)
	}
	if keys := fstRawKeys(t, st, flagRequestPrefix); len(keys) != 0 {
		t.Fatalf("written before the flush: %v", keys)
	}
	// An older report does not move lastRequested back, and keeps the
	// newer default.
	fstRecord(t, st, "f", FlagRequest{LastRequested: t1.Add(-time.Minute), Default: "older"})
	st.flushFlagRequests()
	want := []string{flagRequestKey("p", "f", "production"), flagRequestKey("p", "g", "production")}
	if keys := fstRawKeys(t, st, flagRequestPrefix); !equalStrings(keys, want) {
		t.Fatalf("stored %v, want %v (unknown flags are ignored)", keys, want)
	}
	got = fstStatus(t, st, "f")
	if !got.LastRequested.Equal(t1) || got.Default != "fallback" {
		t.Fatalf("stored status %+v", got)
	}
	// A newer one replaces both.
	t2 := t1.Add(time.Minute)
	fstRecord(t, st, "f", FlagRequest{LastRequested: t2, Default: map[string]any{"a": 1.0}})
	got = fstStatus(t, st, "f")
	if !got.LastRequested.Equal(t2) || got.Default.(map[string]any)["a"] != 1.0 {
		t.Fatalf("merged status %+v", got)
	}
	st.flushFlagRequests()
	// Recording writes no audit entry.
	after, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if after[0].ID != before[0].ID {
		t.Fatalf("recording flag requests wrote audit entry %q", after[0].Title)
	}
	// Statuses of the other environment are untouched.
	other, err := st.GetFlagStatus(ctx, "p", "test", "f")
	if err != nil || other.LastRequested != nil || other.Name != FlagStatusNew {
		t.Fatalf("test environment status %+v, %v", other, err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestFlagStatus_RecordFlagRequestsRefused(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	envCtx := func(proj, env string) context.Context {
		return WithPrincipal(context.Background(), Principal{Kind: PrincipalEnvironment,
			Credential: &Credential{Kind: CredentialSDKKey, ProjectKey: proj, EnvironmentKey: env}})
	}
	owner, err := st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(t.Context(), owner.ID, TokenPost{Name: "writer", Role: RoleWriter})
	if err != nil {
		t.Fatal(err)
	}
	tp, err := st.Authenticate(t.Context(), tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	ok := map[string]FlagRequest{"f": {}}
	cases := []struct {
		name     string
		ctx      context.Context
		proj     string
		env      string
		reqs     map[string]FlagRequest
		sentinel error
	}{
		{"own SDK credential", envCtx("p", "production"), "p", "production", ok, nil},
		{"host application", context.Background(), "p", "test", ok, nil},
		{"another environment's credential", envCtx("p", "test"), "p", "production", ok, ErrUnauthorized},
		{"an access token", WithPrincipal(context.Background(), tp), "p", "production", ok, ErrForbidden},
		{"bad project key", context.Background(), "", "production", ok, ErrInvalid},
		{"bad flag key", context.Background(), "p", "production", map[string]FlagRequest{"no/slash": {}}, ErrInvalid},
		{"negative variation", context.Background(), "p", "production", map[string]FlagRequest{"f": {Variations: []int{-1}}}, ErrInvalid},
		{"default not JSON", context.Background(), "p", "production", map[string]FlagRequest{"f": {Default: func() {}}}, ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := st.RecordFlagRequests(tc.ctx, tc.proj, tc.env, tc.reqs)
			if !errors.Is(err, tc.sentinel) || (tc.sentinel == nil) != (err == nil) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
		})
	}
}

func TestFlagStatus_DeletedFlagForgotten(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "f")
	fstRecord(t, st, "f", FlagRequest{Default: true})
	st.flushFlagRequests()
	if err := st.DeleteFlag(t.Context(), "p", "f"); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Millisecond)
	tstMustFlag(t, st, "p", "f")
	if got := fstStatus(t, st, "f"); got.Name != FlagStatusNew || got.LastRequested != nil || got.Default != nil {
		t.Fatalf("recreated flag inherits the old records: %+v", got)
	}
	st.sweepFlagRequests()
	if keys := fstRawKeys(t, st, flagRequestPrefix); len(keys) != 0 {
		t.Fatalf("sweep left %v", keys)
	}
	// A live record survives the sweep.
	fstRecord(t, st, "f", FlagRequest{})
	st.flushFlagRequests()
	st.sweepFlagRequests()
	if keys := fstRawKeys(t, st, flagRequestPrefix); len(keys) != 1 {
		t.Fatalf("sweep took a live record: %v", keys)
	}
	// So does one whose environment is deleted: its status cannot be read.
	if err := st.DeleteEnvironment(t.Context(), "p", "production"); err != nil {
		t.Fatal(err)
	}
	st.sweepFlagRequests()
	if keys := fstRawKeys(t, st, flagRequestPrefix); len(keys) != 0 {
		t.Fatalf("sweep left the deleted environment's record: %v", keys)
	}
}

func TestFlagStatus_ListAndAcrossEnvironments(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "b")
	tstMustFlag(t, st, "p", "a")
	clock.Advance(8 * fstDay)
	fstRecord(t, st, "a", FlagRequest{Default: false})
	ctx := t.Context()
	list, err := st.ListFlagStatuses(ctx, "p", "production")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].FlagKey != "a" || list[0].Name != FlagStatusActive || list[1].FlagKey != "b" || list[1].Name != FlagStatusInactive {
		t.Fatalf("list %+v", list)
	}
	across, err := st.GetFlagStatusAcrossEnvironments(ctx, "p", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(across) != 2 || across["production"].Name != FlagStatusActive || across["production"].Default != false || across["test"].Name != FlagStatusInactive {
		t.Fatalf("across %+v", across)
	}
	only, err := st.GetFlagStatusAcrossEnvironments(ctx, "p", "a", "test")
	if err != nil || len(only) != 1 || only["test"].Name != FlagStatusInactive {
		t.Fatalf("filtered %+v, %v", only, err)
	}
	for name, call := range map[string]func() error{
		"unknown env filter": func() error { _, err := st.GetFlagStatusAcrossEnvironments(ctx, "p", "a", "staging"); return err },
		"unknown flag":       func() error { _, err := st.GetFlagStatusAcrossEnvironments(ctx, "p", "zz"); return err },
		"unknown project":    func() error { _, err := st.ListFlagStatuses(ctx, "zz", "production"); return err },
		"unknown env":        func() error { _, err := st.ListFlagStatuses(ctx, "p", "staging"); return err },
		"unknown flag (one)": func() error { _, err := st.GetFlagStatus(ctx, "p", "production", "zz"); return err },
	} {
		if err := call(); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", name, err)
		}
	}
}

func TestFlagStatus_CloseWritesQueue(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/flags.db"
	clock := tstNewClock()
	st, err := Open(path, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "f")
	fstRecord(t, st, "f", FlagRequest{Default: "x"})
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordFlagRequests(context.Background(), "p", "production", map[string]FlagRequest{"f": {}}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("record after Close: %v", err)
	}
	st, err = Open(path, WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := fstStatus(t, st, "f"); got.LastRequested == nil || !got.LastRequested.Equal(clock.Now()) || got.Default != "x" {
		t.Fatalf("after reopening %+v", got)
	}
}
