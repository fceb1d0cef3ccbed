package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Fixtures of the expiring-target tests start with "xtt".

// xttFixture is a store with project p and flag f whose production
// targeting serves variation 0 to users alice and bob and variation 1 to
// org acme; test serves variation 0 to user alice.
type xttFixture struct {
	st    *Store
	clock *tstClock
	v0    string // variation IDs
	v1    string
}

func xttNew(t *testing.T) *xttFixture {
	t.Helper()
	st, clock := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "f")
	f := xttTarget(t, st, "f")
	return &xttFixture{st: st, clock: clock, v0: f.Variations[0].ID, v1: f.Variations[1].ID}
}

// xttTarget gives flag f of project p the fixture's individual targets.
func xttTarget(t *testing.T, st *Store, flag string) Flag {
	t.Helper()
	f, err := st.UpdateFlag(t.Context(), "p", flag, func(f *Flag) error {
		prod := f.Environments["production"]
		prod.Targets = []Target{{Values: []string{"alice", "bob"}, Variation: 0, ContextKind: "user"}}
		prod.ContextTargets = []Target{{Values: []string{"acme"}, Variation: 1, ContextKind: "org"}}
		f.Environments["test"].Targets = []Target{{Values: []string{"alice"}, Variation: 0, ContextKind: "user"}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// xttIns builds an instruction.
func xttIns(kind string, params map[string]any) Instruction {
	in := Instruction{Kind: kind, Params: map[string]json.RawMessage{}}
	for k, v := range params {
		b, _ := json.Marshal(v)
		in.Params[k] = b
	}
	return in
}

// in is a time from now, in Unix ms.
func (x *xttFixture) in(d time.Duration) int64 { return x.clock.Now().Add(d).UnixMilli() }

// add is an addExpiringTarget instruction.
func (x *xttFixture) add(kind, key, variation string, due int64) Instruction {
	return xttIns("addExpiringTarget", map[string]any{"contextKind": kind, "contextKey": key, "variationId": variation, "value": due})
}

func (x *xttFixture) patch(t *testing.T, env string, ins ...Instruction) ExpiringTargetPatchResult {
	t.Helper()
	res, err := x.st.PatchExpiringTargets(t.Context(), "p", "f", env, ins)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (x *xttFixture) get(t *testing.T, env string) []ExpiringTarget {
	t.Helper()
	ts, err := x.st.GetExpiringTargets(t.Context(), "p", "f", env)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// xttSlots summarises targets as "kind:key@variation+due/version" with
// due relative to base in minutes.
func xttSlots(ts []ExpiringTarget, base int64, x *xttFixture) []string {
	out := []string{}
	for _, tg := range ts {
		v := "v?"
		switch tg.VariationID {
		case x.v0:
			v = "v0"
		case x.v1:
			v = "v1"
		}
		out = append(out, tg.ContextKind+":"+tg.ContextKey+"@"+v+"+"+strconv.FormatInt((tg.ExpirationDate-base)/60000, 10)+"/"+strconv.Itoa(tg.Version))
	}
	return out
}

func TestExpiringTargets_PatchPerInstruction(t *testing.T) {
	t.Parallel()
	type ins func(x *xttFixture) Instruction
	add := func(kind, key string, v1 bool, minutes int) ins {
		return func(x *xttFixture) Instruction {
			v := x.v0
			if v1 {
				v = x.v1
			}
			return x.add(kind, key, v, x.in(time.Duration(minutes)*time.Minute))
		}
	}
	raw := func(kind string, params map[string]any) ins {
		return func(x *xttFixture) Instruction {
			p := map[string]any{}
			for k, v := range params {
				switch v {
				case "$v0":
					v = x.v0
				case "$v1":
					v = x.v1
				case "$60":
					v = x.in(time.Hour)
				}
				p[k] = v
			}
			return xttIns(kind, p)
		}
	}
	cases := []struct {
		name   string
		ins    []ins
		failed []int    // indexes of the instructions that fail
		items  []string // xttSlots of the result
	}{
		{name: "add", ins: []ins{add("user", "alice", false, 60)}, items: []string{"user:alice@v0+60/1"}},
		{name: "add a context kind", ins: []ins{add("org", "acme", true, 30)}, items: []string{"org:acme@v1+30/1"}},
		{name: "contextKind defaults to user",
			ins:   []ins{raw("addExpiringTarget", map[string]any{"contextKey": "bob", "variationId": "$v0", "value": "$60"})},
			items: []string{"user:bob@v0+60/1"}},
		{name: "add a context not targeted", ins: []ins{add("user", "carol", false, 60)}, failed: []int{0}, items: []string{}},
		{name: "add on another variation than the target's", ins: []ins{add("user", "alice", true, 60)}, failed: []int{0}, items: []string{}},
		{name: "add of the wrong kind", ins: []ins{add("org", "alice", false, 60)}, failed: []int{0}, items: []string{}},
		{name: "add in the past", ins: []ins{add("user", "alice", false, 0)}, failed: []int{0}, items: []string{}},
		{name: "add twice", ins: []ins{add("user", "alice", false, 60), add("user", "alice", false, 90)}, failed: []int{1},
			items: []string{"user:alice@v0+60/1"}},
		{name: "missing and malformed parameters", ins: []ins{
			raw("addExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v0"}),
			raw("addExpiringTarget", map[string]any{"variationId": "$v0", "value": "$60"}),
			raw("addExpiringTarget", map[string]any{"contextKey": "alice", "value": "$60"}),
			raw("addExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "nope", "value": "$60"}),
			raw("addExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v0", "value": "soon"}),
			raw("addExpiringTarget", map[string]any{"contextKey": 7, "variationId": "$v0", "value": "$60"}),
			raw("addExpiringTarget", map[string]any{"contextKey": "alice", "contextKind": "multi", "variationId": "$v0", "value": "$60"}),
			raw("addExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v0", "value": 1.5e15}),
		}, failed: []int{0, 1, 2, 3, 4, 5, 6}, items: []string{"user:alice@v0+24971446960/1"}},
		{name: "add then update", ins: []ins{add("user", "alice", false, 60),
			raw("updateExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v0", "value": "$60", "version": 1}),
			raw("updateExpiringTarget", map[string]any{"contextKind": "user", "contextKey": "alice", "variationId": "$v0", "value": 1e13}),
		}, items: []string{"user:alice@v0+138113626/2"}},
		{name: "update with a stale version", ins: []ins{add("user", "alice", false, 60),
			raw("updateExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v0", "value": 1e13, "version": 2}),
		}, failed: []int{1}, items: []string{"user:alice@v0+60/1"}},
		{name: "update of a context not scheduled", ins: []ins{
			raw("updateExpiringTarget", map[string]any{"contextKey": "bob", "variationId": "$v0", "value": "$60"}),
		}, failed: []int{0}, items: []string{}},
		{name: "update naming another variation", ins: []ins{add("user", "alice", false, 60),
			raw("updateExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v1", "value": 1e13}),
		}, failed: []int{1}, items: []string{"user:alice@v0+60/1"}},
		{name: "add then remove", ins: []ins{add("user", "alice", false, 60),
			raw("removeExpiringTarget", map[string]any{"contextKey": "alice", "contextKind": "user", "variationId": "$v0"}),
		}, items: []string{}},
		{name: "remove of a context not scheduled", ins: []ins{
			raw("removeExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v0"}),
		}, items: []string{}},
		{name: "remove naming another variation", ins: []ins{add("user", "alice", false, 60),
			raw("removeExpiringTarget", map[string]any{"contextKey": "alice", "variationId": "$v1"}),
		}, failed: []int{1}, items: []string{"user:alice@v0+60/1"}},
		{name: "mixed", ins: []ins{add("user", "alice", false, 60), add("user", "carol", false, 60), add("org", "acme", true, 10),
			add("user", "bob", false, 120)},
			failed: []int{1}, items: []string{"org:acme@v1+10/1", "user:alice@v0+60/1", "user:bob@v0+120/1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := xttNew(t)
			base := x.in(0)
			var ins []Instruction
			for _, mk := range tc.ins {
				ins = append(ins, mk(x))
			}
			before, err := x.st.ListAuditLog(t.Context(), AuditListOptions{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			res := x.patch(t, "production", ins...)
			var failed []int
			for _, e := range res.Errors {
				if e.Message == "" {
					t.Errorf("instruction %d failed without a message", e.InstructionIndex)
				}
				failed = append(failed, e.InstructionIndex)
			}
			if !slices.Equal(failed, tc.failed) {
				t.Fatalf("failed %v, want %v; errors %+v", failed, tc.failed, res.Errors)
			}
			if res.TotalInstructions != len(ins) || res.FailedInstructions != len(tc.failed) || res.SuccessfulInstructions != len(ins)-len(tc.failed) {
				t.Fatalf("counts %d/%d/%d", res.TotalInstructions, res.SuccessfulInstructions, res.FailedInstructions)
			}
			if got := xttSlots(res.Items, base, x); !slices.Equal(got, tc.items) {
				t.Fatalf("items %v, want %v", got, tc.items)
			}
			if got := xttSlots(x.get(t, "production"), base, x); !slices.Equal(got, tc.items) {
				t.Fatalf("stored %v, want %v", got, tc.items)
			}
			for _, it := range res.Items {
				if len(it.ID) != 24 || it.ResourceID != (ExpiringResourceID{Kind: "flag", ProjectKey: "p", EnvironmentKey: "production", Key: "f", FlagKey: "f"}) {
					t.Fatalf("item %+v", it)
				}
			}
			// One audit entry when something changed, none otherwise.
			after, err := x.st.ListAuditLog(t.Context(), AuditListOptions{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			// Every case starts with none, so it changed something iff
			// some are left.
			if changed := len(tc.items) > 0; changed != (after[0].ID != before[0].ID) {
				t.Fatalf("audit entry written: %v, want %v", after[0].ID != before[0].ID, changed)
			}
			if len(tc.items) > 0 {
				e := after[0]
				if len(e.Accesses) != 1 || e.Accesses[0] != (Access{Action: "updateExpiringTargets", Resource: "proj/p:env/production:flag/f"}) ||
					!strings.Contains(e.Title, "updated the expiring targets of the flag") {
					t.Fatalf("audit entry %+v", e)
				}
			}
			// The flag itself is untouched.
			f, err := x.st.GetFlag(t.Context(), "p", "f")
			if err != nil || f.Version != 2 {
				t.Fatalf("flag _version %d, %v", f.Version, err)
			}
		})
	}
}

func TestExpiringTargets_RequestErrors(t *testing.T) {
	t.Parallel()
	x := xttNew(t)
	ctx := t.Context()
	owner, err := x.st.Owner(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := x.st.CreateToken(ctx, owner.ID, TokenPost{Name: "reader", Role: RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	p, err := x.st.Authenticate(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	reader := WithPrincipal(context.Background(), p)
	ok := []Instruction{x.add("user", "alice", x.v0, x.in(time.Hour))}
	cases := []struct {
		name           string
		ctx            context.Context
		proj, flag, en string
		ins            []Instruction
		sentinel       error
	}{
		{"no instructions", ctx, "p", "f", "production", nil, ErrInvalid},
		{"unknown kind", ctx, "p", "f", "production", append(slices.Clone(ok), xttIns("turnFlagOn", nil)), ErrInvalid},
		{"legacy kind", ctx, "p", "f", "production", []Instruction{xttIns("addExpireUserTargetDate", nil)}, ErrInvalid},
		{"unknown project", ctx, "q", "f", "production", ok, ErrNotFound},
		{"unknown flag", ctx, "p", "g", "production", ok, ErrNotFound},
		{"unknown environment", ctx, "p", "f", "staging", ok, ErrNotFound},
		{"reader", reader, "p", "f", "production", ok, ErrForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := x.st.PatchExpiringTargets(tc.ctx, tc.proj, tc.flag, tc.en, tc.ins)
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
		})
	}
	if ts := x.get(t, "production"); len(ts) != 0 {
		t.Fatalf("a refused patch stored %+v", ts)
	}
	// The reader may read them.
	if _, err := x.st.GetExpiringTargets(reader, "p", "f", "production"); err != nil {
		t.Fatal(err)
	}
	if _, err := x.st.GetExpiringTargets(ctx, "p", "f", "staging"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown environment: %v", err)
	}
}

func TestExpiringTargets_Expiry(t *testing.T) {
	t.Parallel()
	x := xttNew(t)
	ctx := t.Context()
	x.patch(t, "production",
		x.add("user", "alice", x.v0, x.in(time.Hour)),
		x.add("org", "acme", x.v1, x.in(time.Hour)),
		x.add("user", "bob", x.v0, x.in(2*time.Hour)))
	x.patch(t, "test", x.add("user", "alice", x.v0, x.in(time.Hour)))
	// Alice's removal in test is moved later.
	res := x.patch(t, "test", xttIns("updateExpiringTarget", map[string]any{"contextKey": "alice", "variationId": x.v0, "value": x.in(3 * time.Hour)}))
	if res.FailedInstructions != 0 {
		t.Fatal(res.Errors)
	}
	before, err := x.st.GetFlag(ctx, "p", "f")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.st.expireDueTargets(x.clock.Now().Add(59 * time.Minute)); err != nil {
		t.Fatal(err)
	}
	if f, _ := x.st.GetFlag(ctx, "p", "f"); f.Version != before.Version {
		t.Fatal("a target not yet due was removed")
	}
	x.clock.Advance(time.Hour)
	if err := x.st.expireDueTargets(x.clock.Now()); err != nil {
		t.Fatal(err)
	}
	after, err := x.st.GetFlag(ctx, "p", "f")
	if err != nil {
		t.Fatal(err)
	}
	prod, test := after.Environments["production"], after.Environments["test"]
	if !slices.Equal(prod.Targets[0].Values, []string{"bob"}) || len(prod.ContextTargets) != 0 {
		t.Fatalf("production targets %+v %+v", prod.Targets, prod.ContextTargets)
	}
	if !slices.Equal(test.Targets[0].Values, []string{"alice"}) {
		t.Fatalf("the rescheduled target went: %+v", test.Targets)
	}
	if after.Version != before.Version+1 || prod.Version != before.Environments["production"].Version+1 ||
		test.Version != before.Environments["test"].Version {
		t.Fatalf("versions _version %d→%d, production %d→%d, test %d→%d", before.Version, after.Version,
			before.Environments["production"].Version, prod.Version, before.Environments["test"].Version, test.Version)
	}
	if got := xttSlots(x.get(t, "production"), x.in(0), x); !slices.Equal(got, []string{"user:bob@v0+60/1"}) {
		t.Fatalf("left in production %v", got)
	}
	entries, err := x.st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	e := entries[0]
	if e.Comment != "Scheduled removal of expiring targets" || !strings.Contains(e.Title, "updated the flag") ||
		!slices.Contains(e.Accesses, Access{Action: "updateTargets", Resource: "proj/p:env/production:flag/f"}) {
		t.Fatalf("audit entry %+v", e)
	}
	// Done once: the documents and their due entries are gone.
	if keys := fstRawKeys(t, x.st, expiringDuePrefix); len(keys) != 2 {
		t.Fatalf("due index %v", keys)
	}
	if keys := fstRawKeys(t, x.st, expiringPrefix); len(keys) != 2 {
		t.Fatalf("expiring targets %v", keys)
	}
	if err := x.st.expireDueTargets(x.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if f, _ := x.st.GetFlag(ctx, "p", "f"); f.Version != after.Version {
		t.Fatal("a second run changed the flag again")
	}
	// The rest go in their time.
	x.clock.Advance(2 * time.Hour)
	if err := x.st.expireDueTargets(x.clock.Now()); err != nil {
		t.Fatal(err)
	}
	final, _ := x.st.GetFlag(ctx, "p", "f")
	if n := len(final.Environments["production"].Targets) + len(final.Environments["test"].Targets); n != 0 {
		t.Fatalf("targets left %+v %+v", final.Environments["production"].Targets, final.Environments["test"].Targets)
	}
	if keys := append(fstRawKeys(t, x.st, expiringPrefix), fstRawKeys(t, x.st, expiringDuePrefix)...); len(keys) != 0 {
		t.Fatalf("keys left %v", keys)
	}
}

func TestExpiringTargets_DeadTargets(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// kill makes the fixture's expiring target of alice in production
		// no longer apply.
		kill func(t *testing.T, x *xttFixture)
		// gone says whether reads answer 404 afterwards.
		gone bool
	}{
		{name: "target removed", kill: func(t *testing.T, x *xttFixture) {
			_, err := x.st.UpdateFlag(t.Context(), "p", "f", func(f *Flag) error {
				f.Environments["production"].Targets[0].Values = []string{"bob"}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{name: "target moved to another variation", kill: func(t *testing.T, x *xttFixture) {
			_, err := x.st.UpdateFlag(t.Context(), "p", "f", func(f *Flag) error {
				f.Environments["production"].Targets = []Target{{Values: []string{"bob"}, Variation: 0}, {Values: []string{"alice"}, Variation: 1}}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}},
		{name: "flag deleted", gone: true, kill: func(t *testing.T, x *xttFixture) {
			if err := x.st.DeleteFlag(t.Context(), "p", "f"); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "flag deleted and created again", kill: func(t *testing.T, x *xttFixture) {
			if err := x.st.DeleteFlag(t.Context(), "p", "f"); err != nil {
				t.Fatal(err)
			}
			x.clock.Advance(time.Millisecond)
			tstMustFlag(t, x.st, "p", "f")
			f := xttTarget(t, x.st, "f")
			x.v0, x.v1 = f.Variations[0].ID, f.Variations[1].ID
		}},
		{name: "environment deleted", gone: true, kill: func(t *testing.T, x *xttFixture) {
			if err := x.st.DeleteEnvironment(t.Context(), "p", "production"); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "environment deleted and created again", kill: func(t *testing.T, x *xttFixture) {
			if err := x.st.DeleteEnvironment(t.Context(), "p", "production"); err != nil {
				t.Fatal(err)
			}
			if _, err := x.st.CreateEnvironment(t.Context(), "p", EnvironmentPost{Key: "production", Name: "Production", Color: "417505"}); err != nil {
				t.Fatal(err)
			}
			xttTarget(t, x.st, "f")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			x := xttNew(t)
			x.patch(t, "production", x.add("user", "alice", x.v0, x.in(time.Hour)))
			x.patch(t, "test", x.add("user", "alice", x.v0, x.in(time.Hour)))
			tc.kill(t, x)
			ts, err := x.st.GetExpiringTargets(t.Context(), "p", "f", "production")
			switch {
			case tc.gone && !errors.Is(err, ErrNotFound):
				t.Fatalf("read after delete: %v", err)
			case !tc.gone && (err != nil || len(ts) != 0):
				t.Fatalf("dead target still listed: %+v, %v", ts, err)
			}
			x.st.sweepExpiring()
			prefix := expiringEnvPrefix("p", "f", "production")
			if keys := fstRawKeys(t, x.st, prefix); len(keys) != 0 {
				t.Fatalf("sweep left %v", keys)
			}
			for _, k := range fstRawKeys(t, x.st, expiringDuePrefix) {
				if strings.Contains(k, "/production/") {
					t.Fatalf("sweep left due entry %s", k)
				}
			}
			// What still applies stays: the test environment's target,
			// unless the whole flag went.
			want := 1
			if strings.HasPrefix(tc.name, "flag deleted") {
				want = 0
			}
			if keys := fstRawKeys(t, x.st, expiringEnvPrefix("p", "f", "test")); len(keys) != want {
				t.Fatalf("test environment keys %v, want %d", keys, want)
			}
			// A context scheduled anew gets a fresh expiring target.
			if !tc.gone {
				res := x.patch(t, "production", x.add("user", "bob", x.v0, x.in(time.Hour)))
				if res.FailedInstructions != 0 || len(res.Items) != 1 || res.Items[0].Version != 1 {
					t.Fatalf("add after kill: %+v", res)
				}
			}
		})
	}
}

func TestExpiringTargets_ExpiryOfDeadTargets(t *testing.T) {
	t.Parallel()
	x := xttNew(t)
	ctx := t.Context()
	x.patch(t, "production", x.add("user", "alice", x.v0, x.in(time.Hour)))
	// Alice leaves the targeting by hand before her time.
	if _, err := x.st.UpdateFlag(ctx, "p", "f", func(f *Flag) error {
		f.Environments["production"].Targets[0].Values = []string{"bob"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, x.st, "p", "g")
	g := xttTarget(t, x.st, "g")
	if _, err := x.st.PatchExpiringTargets(ctx, "p", "g", "production",
		[]Instruction{x.add("user", "alice", g.Variations[0].ID, x.in(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	if err := x.st.DeleteFlag(ctx, "p", "g"); err != nil {
		t.Fatal(err)
	}
	before, _ := x.st.GetFlag(ctx, "p", "f")
	x.clock.Advance(time.Hour)
	if err := x.st.expireDueTargets(x.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if f, _ := x.st.GetFlag(ctx, "p", "f"); f.Version != before.Version {
		t.Fatal("a dead expiring target changed the flag")
	}
	if keys := append(fstRawKeys(t, x.st, expiringPrefix), fstRawKeys(t, x.st, expiringDuePrefix)...); len(keys) != 0 {
		t.Fatalf("keys left %v", keys)
	}
}

func TestExpiringTargets_Legacy(t *testing.T) {
	t.Parallel()
	x := xttNew(t)
	ctx := t.Context()
	due := x.in(time.Hour)
	res, err := x.st.PatchExpiringUserTargets(ctx, "p", "f", "production", []Instruction{
		xttIns("addExpireUserTargetDate", map[string]any{"userKey": "alice", "variationId": x.v0, "value": due}),
		xttIns("addExpireUserTargetDate", map[string]any{"contextKey": "bob", "variationId": x.v0, "value": due}),
		xttIns("updateExpireUserTargetDate", map[string]any{"userKey": "alice", "variationId": x.v0, "value": due + 1, "version": 1}),
		xttIns("removeExpireUserTargetDate", map[string]any{"userKey": "bob", "variationId": x.v0}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.SuccessfulInstructions != 3 || res.FailedInstructions != 1 || res.Errors[0].InstructionIndex != 1 ||
		!strings.Contains(res.Errors[0].Message, "userKey") {
		t.Fatalf("result %+v", res)
	}
	if len(res.Items) != 1 || res.Items[0].UserKey != "alice" || res.Items[0].Version != 2 || res.Items[0].ExpirationDate != due+1 {
		t.Fatalf("items %+v", res.Items)
	}
	// The legacy read lists user targets only.
	x.patch(t, "production", x.add("org", "acme", x.v1, due))
	users, err := x.st.GetExpiringUserTargets(ctx, "p", "f", "production")
	if err != nil || len(users) != 1 || users[0].UserKey != "alice" {
		t.Fatalf("legacy read %+v, %v", users, err)
	}
	if all := x.get(t, "production"); len(all) != 2 {
		t.Fatalf("context read %+v", all)
	}
	if _, err := x.st.PatchExpiringUserTargets(ctx, "p", "f", "production", []Instruction{x.add("user", "bob", x.v0, due)}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("context kind on the legacy form: %v", err)
	}
}

func TestExpiringTargets_BackgroundJob(t *testing.T) {
	t.Parallel()
	x := xttNew(t)
	x.patch(t, "production", x.add("user", "alice", x.v0, x.in(time.Hour)))
	x.clock.Advance(time.Hour)
	// The store's own job carries it out within a tick or two.
	deadline := time.Now().Add(10 * jobTick)
	for {
		f, err := x.st.GetFlag(t.Context(), "p", "f")
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(f.Environments["production"].Targets[0].Values, []string{"bob"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not carried out: targets %+v", f.Environments["production"].Targets)
		}
		time.Sleep(jobTick / 10)
	}
	if keys := append(fstRawKeys(t, x.st, expiringPrefix), fstRawKeys(t, x.st, expiringDuePrefix)...); len(keys) != 0 {
		t.Fatalf("keys left %v", keys)
	}
}
