package flagstore

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
	"github.com/google/uuid"
)

// Shared fixtures of flag_test.go and segment_test.go. Every name starts
// with fx.

// fxProj is the key of the project fxSetup creates.
const fxProj = "proj"

// fxT0 is the time, in Unix milliseconds, an fxClock starts at.
const fxT0 = int64(1_700_000_000_000)

// fxClock is an injectable clock that moves only when told to.
type fxClock struct{ ms atomic.Int64 }

func fxNewClock() *fxClock {
	c := &fxClock{}
	c.ms.Store(fxT0)
	return c
}

func (c *fxClock) now() time.Time { return time.UnixMilli(c.ms.Load()) }

// millis is the clock's current time in Unix milliseconds.
func (c *fxClock) millis() int64 { return c.ms.Load() }

// tick moves the clock one second forward and returns the new time.
func (c *fxClock) tick() int64 { return c.ms.Add(1000) }

// fxOpen opens an in-memory store on a fresh fxClock, closed at cleanup.
func fxOpen(t testing.TB) (*Store, *fxClock) {
	t.Helper()
	clk := fxNewClock()
	st, err := Open(":memory:", WithClock(clk.now))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, clk
}

// fxSetup opens a store and creates project fxProj with LaunchDarkly's
// default environments, production and test.
func fxSetup(t testing.TB) (*Store, *fxClock) {
	t.Helper()
	st, clk := fxOpen(t)
	if _, err := st.CreateProject(context.Background(), ProjectPost{Key: fxProj, Name: "Project"}); err != nil {
		t.Fatalf("CreateProject: %v", err)
	}
	return st, clk
}

// fxPost is a minimal create body.
func fxPost(key string) FlagPost { return FlagPost{Key: key, Name: "Flag " + key} }

// fxCreate creates a flag in fxProj, filling key and name when empty.
func fxCreate(t testing.TB, st *Store, key string, p FlagPost) Flag {
	t.Helper()
	if p.Key == "" {
		p.Key = key
	}
	if p.Name == "" {
		p.Name = "Flag " + key
	}
	f, err := st.CreateFlag(context.Background(), fxProj, p)
	if err != nil {
		t.Fatalf("CreateFlag %s: %v", key, err)
	}
	return f
}

// fxGet reads a flag of fxProj.
func fxGet(t testing.TB, st *Store, key string) Flag {
	t.Helper()
	f, err := st.GetFlag(context.Background(), fxProj, key)
	if err != nil {
		t.Fatalf("GetFlag %s: %v", key, err)
	}
	return f
}

// fxUpdate updates a flag of fxProj and fails the test on error.
func fxUpdate(t testing.TB, st *Store, key string, fn func(*Flag)) Flag {
	t.Helper()
	f, err := st.UpdateFlag(context.Background(), fxProj, key, func(f *Flag) error { fn(f); return nil })
	if err != nil {
		t.Fatalf("UpdateFlag %s: %v", key, err)
	}
	return f
}

// fxJSON is v's JSON encoding.
func fxJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	return string(b)
}

// fxRev is the store's revision: it moves with every commit that wrote.
func fxRev(t testing.TB, st *Store) uint64 {
	t.Helper()
	var rev uint64
	err := st.Backend().View(context.Background(), func(tx store.ReadTx) error {
		rev = tx.Revision()
		return nil
	})
	if err != nil {
		t.Fatalf("revision: %v", err)
	}
	return rev
}

// fxErr asserts that err is an *Error of the sentinel's class, and, when
// code is not empty, that it carries that code.
func fxErr(t testing.TB, err, sentinel error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v, got nil", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %v, got %v", sentinel, err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error, got %T: %v", err, err)
	}
	if code != "" && e.Code != code {
		t.Fatalf("want code %q, got %q (%v)", code, e.Code, err)
	}
	if sentinel == ErrInvalid && e.Status != 400 {
		t.Fatalf("want status 400, got %d", e.Status)
	}
	if (sentinel == ErrAlreadyExists || sentinel == ErrConflict) && e.Status != 409 {
		t.Fatalf("want status 409, got %d", e.Status)
	}
	if sentinel == ErrNotFound && e.Status != 404 {
		t.Fatalf("want status 404, got %d", e.Status)
	}
}

// fxFrozen records a flag's JSON and the store revision, to check later
// that a refused write changed nothing.
type fxFrozen struct {
	key  string
	json string
	rev  uint64
}

func fxFreeze(t testing.TB, st *Store, key string) fxFrozen {
	t.Helper()
	return fxFrozen{key: key, json: fxJSON(t, fxGet(t, st, key)), rev: fxRev(t, st)}
}

// unchanged asserts that GetFlag is byte-identical to the frozen state and
// that nothing was committed since.
func (fz fxFrozen) unchanged(t testing.TB, st *Store) {
	t.Helper()
	if got := fxJSON(t, fxGet(t, st, fz.key)); got != fz.json {
		t.Fatalf("flag %s changed:\nbefore %s\nafter  %s", fz.key, fz.json, got)
	}
	if rev := fxRev(t, st); rev != fz.rev {
		t.Fatalf("store revision moved from %d to %d", fz.rev, rev)
	}
}

// fxIsHex32 reports whether s looks like a dashless UUID.
func fxIsHex32(s string) bool {
	_, err := hex.DecodeString(s)
	return len(s) == 32 && err == nil
}

// fxValues collects the values of a flag's variations as JSON.
func fxValues(t testing.TB, f Flag) string {
	t.Helper()
	vals := make([]any, len(f.Variations))
	for i, v := range f.Variations {
		vals[i] = v.Value
	}
	return fxJSON(t, vals)
}

// fxRule is a rule serving variation v when the user's email ends with
// domain.
func fxRule(v int, domain string) Rule {
	return Rule{Variation: intPtr(v), Clauses: []Clause{{Attribute: "email", Op: "endsWith", Values: []any{domain}}}}
}

// fxSegRule is a flag rule that serves v to the members of segment seg.
func fxSegRule(v int, seg string) Rule {
	return Rule{Variation: intPtr(v), Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{seg}}}}
}

func TestFlag_CreateBooleanDefaults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, clk := fxOpen(t)
	_, err := st.CreateProject(ctx, ProjectPost{
		Key: fxProj, Name: "Project",
		DefaultClientSideAvailability: &ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: true},
		Environments: []EnvironmentPost{
			{Key: "production", Name: "Production", Color: "417505", DefaultTrackEvents: true},
			{Key: "test", Name: "Test", Color: "F5A623"},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.tick()
	created, err := st.CreateFlag(ctx, fxProj, FlagPost{Key: "new-checkout", Name: "New checkout"})
	if err != nil {
		t.Fatal(err)
	}
	got := fxGet(t, st, "new-checkout")
	if a, b := fxJSON(t, created), fxJSON(t, got); a != b {
		t.Fatalf("CreateFlag and GetFlag disagree:\n%s\n%s", a, b)
	}

	if got.Key != "new-checkout" || got.Name != "New checkout" {
		t.Errorf("key/name = %q/%q", got.Key, got.Name)
	}
	if got.Kind != KindBoolean {
		t.Errorf("kind = %q, want boolean", got.Kind)
	}
	if v := fxValues(t, got); v != "[true,false]" {
		t.Errorf("variation values = %s, want [true,false]", v)
	}
	ids := map[string]bool{}
	for i, v := range got.Variations {
		if _, err := uuid.Parse(v.ID); err != nil {
			t.Errorf("variations[%d]._id = %q is not a UUID", i, v.ID)
		}
		ids[v.ID] = true
	}
	if len(ids) != 2 {
		t.Errorf("variation _ids are not distinct: %v", got.Variations)
	}
	if got.Defaults == nil || *got.Defaults != (FlagDefaults{OnVariation: 0, OffVariation: 1}) {
		t.Errorf("defaults = %+v, want on 0 off 1", got.Defaults)
	}
	if !got.Temporary {
		t.Error("temporary = false, want true by default")
	}
	if want := (ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: true}); got.ClientSideAvailability != want {
		t.Errorf("clientSideAvailability = %+v, want the project's default %+v", got.ClientSideAvailability, want)
	}
	if !got.IncludeInSnippet {
		t.Error("includeInSnippet does not mirror usingEnvironmentId")
	}
	if got.Version != 1 {
		t.Errorf("_version = %d, want 1", got.Version)
	}
	if got.CreationDate != clk.millis() {
		t.Errorf("creationDate = %d, want %d", got.CreationDate, clk.millis())
	}
	if got.Archived || got.ArchivedDate != 0 || got.Deprecated {
		t.Errorf("new flag archived/deprecated: %+v", got)
	}
	if got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("tags = %#v, want []", got.Tags)
	}
	if got.CustomProperties == nil || len(got.CustomProperties) != 0 {
		t.Errorf("customProperties = %#v, want {}", got.CustomProperties)
	}
	if got.GoalIDs == nil || got.Experiments.Items == nil {
		t.Errorf("goalIds/experiments.items must be [] not null")
	}

	if len(got.Environments) != 2 {
		t.Fatalf("environments = %v, want production and test", got.Environments)
	}
	seen := map[string]string{}
	wantNames := map[string]string{"production": "Production", "test": "Test"}
	for env, c := range got.Environments {
		if c.Version != 1 {
			t.Errorf("%s: version = %d, want 1", env, c.Version)
		}
		if c.On {
			t.Errorf("%s: on, want off", env)
		}
		if c.Archived {
			t.Errorf("%s: archived", env)
		}
		if c.LastModified != clk.millis() {
			t.Errorf("%s: lastModified = %d, want %d", env, c.LastModified, clk.millis())
		}
		if c.Fallthrough.Rollout != nil || c.Fallthrough.Variation == nil || *c.Fallthrough.Variation != 0 {
			t.Errorf("%s: fallthrough = %+v, want variation 0", env, c.Fallthrough)
		}
		if c.OffVariation == nil || *c.OffVariation != 1 {
			t.Errorf("%s: offVariation = %v, want 1", env, c.OffVariation)
		}
		if c.Targets == nil || c.ContextTargets == nil || c.Rules == nil || c.Prerequisites == nil ||
			len(c.Targets)+len(c.ContextTargets)+len(c.Rules)+len(c.Prerequisites) != 0 {
			t.Errorf("%s: targeting not empty lists: %+v", env, c)
		}
		if c.EnvironmentName != wantNames[env] {
			t.Errorf("%s: _environmentName = %q, want %q", env, c.EnvironmentName, wantNames[env])
		}
		if want := env == "production"; c.TrackEvents != want {
			t.Errorf("%s: trackEvents = %v, want the environment's default %v", env, c.TrackEvents, want)
		}
		for what, v := range map[string]string{"salt": c.Salt, "sel": c.Sel} {
			if !fxIsHex32(v) {
				t.Errorf("%s: %s = %q, want 32 hex digits", env, what, v)
			}
			if prev, dup := seen[v]; dup {
				t.Errorf("%s: %s %q repeats %s", env, what, v, prev)
			}
			seen[v] = env + "." + what
		}
	}

	// A second flag gets salts and selectors of its own.
	other := fxCreate(t, st, "other", FlagPost{})
	for env, c := range other.Environments {
		for _, v := range []string{c.Salt, c.Sel} {
			if prev, dup := seen[v]; dup {
				t.Errorf("other.%s reuses %s", env, prev)
			}
		}
	}
}

func TestFlag_CreateOptions(t *testing.T) {
	t.Parallel()
	no, yes := false, true
	cases := []struct {
		name  string
		post  FlagPost
		check func(t *testing.T, f Flag)
	}{
		{
			name: "multivariate strings with defaults",
			post: FlagPost{
				Variations: []Variation{{Value: "red", Name: "Red"}, {Value: "green"}, {Value: "blue", Description: "cold"}},
				Defaults:   &FlagDefaults{OnVariation: 2, OffVariation: 1},
			},
			check: func(t *testing.T, f Flag) {
				if f.Kind != KindMultivariate {
					t.Errorf("kind = %q", f.Kind)
				}
				if v := fxValues(t, f); v != `["red","green","blue"]` {
					t.Errorf("values = %s", v)
				}
				if f.Variations[0].Name != "Red" || f.Variations[2].Description != "cold" {
					t.Errorf("variation names/descriptions lost: %+v", f.Variations)
				}
				for i, v := range f.Variations {
					if _, err := uuid.Parse(v.ID); err != nil {
						t.Errorf("variations[%d]._id = %q", i, v.ID)
					}
				}
				if *f.Defaults != (FlagDefaults{OnVariation: 2, OffVariation: 1}) {
					t.Errorf("defaults = %+v", f.Defaults)
				}
				for env, c := range f.Environments {
					if *c.Fallthrough.Variation != 2 || *c.OffVariation != 1 {
						t.Errorf("%s: fallthrough %d off %d, want 2 and 1", env, *c.Fallthrough.Variation, *c.OffVariation)
					}
				}
			},
		},
		{
			name: "multivariate without defaults serves first on, last off",
			post: FlagPost{Variations: []Variation{{Value: 1}, {Value: 2.5}, {Value: 3}}},
			check: func(t *testing.T, f Flag) {
				if f.Kind != KindMultivariate || fxValues(t, f) != "[1,2.5,3]" {
					t.Errorf("kind %q values %s", f.Kind, fxValues(t, f))
				}
				if *f.Defaults != (FlagDefaults{OnVariation: 0, OffVariation: 2}) {
					t.Errorf("defaults = %+v", f.Defaults)
				}
				for env, c := range f.Environments {
					if *c.Fallthrough.Variation != 0 || *c.OffVariation != 2 {
						t.Errorf("%s: fallthrough %d off %d", env, *c.Fallthrough.Variation, *c.OffVariation)
					}
				}
			},
		},
		{
			name: "JSON object variations",
			post: FlagPost{Variations: []Variation{{Value: map[string]any{"a": 1}}, {Value: map[string]any{"a": 2}}}},
			check: func(t *testing.T, f Flag) {
				if f.Kind != KindMultivariate || fxValues(t, f) != `[{"a":1},{"a":2}]` {
					t.Errorf("kind %q values %s", f.Kind, fxValues(t, f))
				}
			},
		},
		{
			name: "boolean given in reverse order",
			post: FlagPost{Variations: []Variation{{Value: false}, {Value: true}}},
			check: func(t *testing.T, f Flag) {
				if f.Kind != KindBoolean || fxValues(t, f) != "[false,true]" {
					t.Errorf("kind %q values %s", f.Kind, fxValues(t, f))
				}
			},
		},
		{
			name: "boolean with defaults",
			post: FlagPost{Defaults: &FlagDefaults{OnVariation: 1, OffVariation: 0}},
			check: func(t *testing.T, f Flag) {
				for env, c := range f.Environments {
					if *c.Fallthrough.Variation != 1 || *c.OffVariation != 0 {
						t.Errorf("%s: fallthrough %d off %d", env, *c.Fallthrough.Variation, *c.OffVariation)
					}
				}
			},
		},
		{
			name: "description and tags",
			post: FlagPost{Description: "the new checkout", Tags: []string{"checkout", "team.web"}},
			check: func(t *testing.T, f Flag) {
				if f.Description != "the new checkout" || !slices.Equal(f.Tags, []string{"checkout", "team.web"}) {
					t.Errorf("description %q tags %v", f.Description, f.Tags)
				}
			},
		},
		{
			name: "temporary false",
			post: FlagPost{Temporary: &no},
			check: func(t *testing.T, f Flag) {
				if f.Temporary {
					t.Error("temporary = true")
				}
			},
		},
		{
			name: "temporary true explicitly",
			post: FlagPost{Temporary: &yes},
			check: func(t *testing.T, f Flag) {
				if !f.Temporary {
					t.Error("temporary = false")
				}
			},
		},
		{
			name: "clientSideAvailability",
			post: FlagPost{ClientSideAvailability: &ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: true}},
			check: func(t *testing.T, f Flag) {
				if f.ClientSideAvailability != (ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: true}) || !f.IncludeInSnippet {
					t.Errorf("csa %+v includeInSnippet %v", f.ClientSideAvailability, f.IncludeInSnippet)
				}
			},
		},
		{
			name: "clientSideAvailability wins over includeInSnippet",
			post: FlagPost{ClientSideAvailability: &ClientSideAvailability{}, IncludeInSnippet: &yes},
			check: func(t *testing.T, f Flag) {
				if f.ClientSideAvailability != (ClientSideAvailability{}) || f.IncludeInSnippet {
					t.Errorf("csa %+v includeInSnippet %v", f.ClientSideAvailability, f.IncludeInSnippet)
				}
			},
		},
		{
			name: "includeInSnippet",
			post: FlagPost{IncludeInSnippet: &yes},
			check: func(t *testing.T, f Flag) {
				if f.ClientSideAvailability != (ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: true}) || !f.IncludeInSnippet {
					t.Errorf("csa %+v includeInSnippet %v", f.ClientSideAvailability, f.IncludeInSnippet)
				}
			},
		},
		{
			name: "project default clientSideAvailability",
			post: FlagPost{},
			check: func(t *testing.T, f Flag) {
				// fxSetup's project has the documented default: mobile yes,
				// environment ID no.
				if f.ClientSideAvailability != (ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: false}) || f.IncludeInSnippet {
					t.Errorf("csa %+v includeInSnippet %v", f.ClientSideAvailability, f.IncludeInSnippet)
				}
			},
		},
		{
			name: "maintainer",
			post: FlagPost{MaintainerID: "569f183514f4432160000007", MaintainerTeamKey: "team-web"},
			check: func(t *testing.T, f Flag) {
				if f.MaintainerID != "569f183514f4432160000007" || f.MaintainerTeamKey != "team-web" {
					t.Errorf("maintainer %q team %q", f.MaintainerID, f.MaintainerTeamKey)
				}
			},
		},
		{
			name: "customProperties",
			post: FlagPost{CustomProperties: map[string]CustomProperty{
				"jira.issues": {Name: "Jira issues", Value: []string{"WEB-1", "WEB-2"}},
			}},
			check: func(t *testing.T, f Flag) {
				want := `{"jira.issues":{"name":"Jira issues","value":["WEB-1","WEB-2"]}}`
				if got := fxJSON(t, f.CustomProperties); got != want {
					t.Errorf("customProperties = %s", got)
				}
			},
		},
		{
			name: "isFlagOn",
			post: FlagPost{IsFlagOn: true},
			check: func(t *testing.T, f Flag) {
				for env, c := range f.Environments {
					if !c.On || c.Version != 1 {
						t.Errorf("%s: on %v version %d, want on at version 1", env, c.On, c.Version)
					}
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := fxSetup(t)
			created := fxCreate(t, st, "flag", tc.post)
			got := fxGet(t, st, "flag")
			if a, b := fxJSON(t, created), fxJSON(t, got); a != b {
				t.Fatalf("CreateFlag and GetFlag disagree:\n%s\n%s", a, b)
			}
			if got.Version != 1 {
				t.Errorf("_version = %d", got.Version)
			}
			tc.check(t, got)
		})
	}
}

func TestFlag_CreateInitialPrerequisites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	color := fxCreate(t, st, "color", FlagPost{Variations: []Variation{{Value: "red"}, {Value: "green"}, {Value: "blue"}}})
	boolFlag := fxCreate(t, st, "gate", FlagPost{})

	got := fxCreate(t, st, "dependent", FlagPost{InitialPrerequisites: []InitialPrerequisite{
		{Key: "color", VariationID: color.Variations[2].ID},
		{Key: "gate", VariationID: boolFlag.Variations[0].ID},
	}})
	want := []Prerequisite{{Key: "color", Variation: 2}, {Key: "gate", Variation: 0}}
	for env, c := range got.Environments {
		if !slices.Equal(c.Prerequisites, want) {
			t.Errorf("%s: prerequisites = %+v, want %+v", env, c.Prerequisites, want)
		}
	}
	// The prerequisites are real: the prerequisite flags cannot be deleted.
	fxErr(t, st.DeleteFlag(ctx, fxProj, "color"), ErrConflict, CodeConflict)

	archived := fxCreate(t, st, "archived", FlagPost{})
	if _, err := st.ArchiveFlag(ctx, fxProj, "archived"); err != nil {
		t.Fatal(err)
	}

	bad := map[string][]InitialPrerequisite{
		"unknown flag":           {{Key: "nope", VariationID: color.Variations[0].ID}},
		"unknown variation":      {{Key: "color", VariationID: "not-a-variation"}},
		"variation of other":     {{Key: "color", VariationID: boolFlag.Variations[0].ID}},
		"empty variation":        {{Key: "color"}},
		"archived flag":          {{Key: "archived", VariationID: archived.Variations[0].ID}},
		"listed twice":           {{Key: "gate", VariationID: boolFlag.Variations[0].ID}, {Key: "gate", VariationID: boolFlag.Variations[1].ID}},
		"second of two is wrong": {{Key: "gate", VariationID: boolFlag.Variations[0].ID}, {Key: "color", VariationID: "x"}},
	}
	for name, prereqs := range bad {
		t.Run(name, func(t *testing.T) {
			rev := fxRev(t, st)
			_, err := st.CreateFlag(ctx, fxProj, FlagPost{Key: "new-flag", Name: "New", InitialPrerequisites: prereqs})
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			_, err = st.GetFlag(ctx, fxProj, "new-flag")
			fxErr(t, err, ErrNotFound, CodeNotFound)
			if fxRev(t, st) != rev {
				t.Fatal("a refused create wrote something")
			}
		})
	}
}

func TestFlag_CreateDuplicate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "dup", FlagPost{Description: "first"})
	fz := fxFreeze(t, st, "dup")
	_, err := st.CreateFlag(ctx, fxProj, FlagPost{Key: "dup", Name: "Second", Description: "second"})
	fxErr(t, err, ErrAlreadyExists, CodeConflict)
	fz.unchanged(t, st)

	// Keys are case-sensitive.
	fxCreate(t, st, "DUP", FlagPost{})
}

func TestFlag_NotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	noop := func(*Flag) error { return nil }

	_, err := st.CreateFlag(ctx, "nope", fxPost("flag"))
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.GetFlag(ctx, "nope", "flag")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.GetFlag(ctx, fxProj, "flag")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.UpdateFlag(ctx, fxProj, "flag", noop)
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.UpdateFlag(ctx, "nope", "flag", noop)
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.ArchiveFlag(ctx, fxProj, "flag")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.RestoreFlag(ctx, fxProj, "flag")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	fxErr(t, st.DeleteFlag(ctx, fxProj, "flag"), ErrNotFound, CodeNotFound)
	fxErr(t, st.DeleteFlag(ctx, "nope", "flag"), ErrNotFound, CodeNotFound)
}

func TestFlag_CreateInvalid(t *testing.T) {
	t.Parallel()
	vars := func(values ...any) []Variation {
		out := make([]Variation, len(values))
		for i, v := range values {
			out[i] = Variation{Value: v}
		}
		return out
	}
	cases := []struct {
		name string
		post FlagPost
	}{
		{"empty key", FlagPost{Key: "", Name: "n"}},
		{"key with space", FlagPost{Key: "a b", Name: "n"}},
		{"key with slash", FlagPost{Key: "a/b", Name: "n"}},
		{"key starting with dash", FlagPost{Key: "-a", Name: "n"}},
		{"key starting with dot", FlagPost{Key: ".a", Name: "n"}},
		{"key too long", FlagPost{Key: strings.Repeat("k", 257), Name: "n"}},
		{"empty name", FlagPost{Key: "flag", Name: ""}},
		{"blank name", FlagPost{Key: "flag", Name: "   "}},
		{"one variation", FlagPost{Key: "flag", Name: "n", Variations: vars("only")}},
		{"one boolean variation", FlagPost{Key: "flag", Name: "n", Variations: vars(true)}},
		{"duplicate strings", FlagPost{Key: "flag", Name: "n", Variations: vars("a", "b", "a")}},
		{"duplicate numbers", FlagPost{Key: "flag", Name: "n", Variations: vars(1, 1.0)}},
		{"duplicate objects", FlagPost{Key: "flag", Name: "n", Variations: vars(map[string]any{"a": 1, "b": 2}, map[string]any{"b": 2, "a": 1})}},
		{"duplicate booleans", FlagPost{Key: "flag", Name: "n", Variations: vars(true, true)}},
		{"null value", FlagPost{Key: "flag", Name: "n", Variations: vars("a", nil)}},
		{"mixed string and number", FlagPost{Key: "flag", Name: "n", Variations: vars("a", 1)}},
		{"mixed number and object", FlagPost{Key: "flag", Name: "n", Variations: vars(1, map[string]any{})}},
		{"boolean in multivariate", FlagPost{Key: "flag", Name: "n", Variations: vars(true, false, "maybe")}},
		{"duplicate variation ids", FlagPost{Key: "flag", Name: "n", Variations: []Variation{{ID: "x", Value: 1}, {ID: "x", Value: 2}}}},
		{"onVariation out of range", FlagPost{Key: "flag", Name: "n", Defaults: &FlagDefaults{OnVariation: 2, OffVariation: 1}}},
		{"offVariation out of range", FlagPost{Key: "flag", Name: "n", Defaults: &FlagDefaults{OnVariation: 0, OffVariation: 2}}},
		{"negative onVariation", FlagPost{Key: "flag", Name: "n", Defaults: &FlagDefaults{OnVariation: -1, OffVariation: 1}}},
		{"defaults out of range of multivariate", FlagPost{Key: "flag", Name: "n", Variations: vars("a", "b", "c"), Defaults: &FlagDefaults{OnVariation: 0, OffVariation: 3}}},
		{"tag with space", FlagPost{Key: "flag", Name: "n", Tags: []string{"ok", "not ok"}}},
		{"empty tag", FlagPost{Key: "flag", Name: "n", Tags: []string{""}}},
		{"duplicate tag", FlagPost{Key: "flag", Name: "n", Tags: []string{"a", "a"}}},
		{"custom property without name", FlagPost{Key: "flag", Name: "n", CustomProperties: map[string]CustomProperty{"k": {Value: []string{"v"}}}}},
		{"custom property with empty key", FlagPost{Key: "flag", Name: "n", CustomProperties: map[string]CustomProperty{"": {Name: "n"}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _ := fxSetup(t)
			rev := fxRev(t, st)
			_, err := st.CreateFlag(ctx, fxProj, tc.post)
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			if fxRev(t, st) != rev {
				t.Fatal("a refused create wrote something")
			}
			if tc.post.Key != "" {
				_, err = st.GetFlag(ctx, fxProj, tc.post.Key)
				fxErr(t, err, ErrNotFound, "")
			}
			l, err := st.ListFlags(ctx, fxProj, ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if l.TotalCount != 0 || len(l.Items) != 0 {
				t.Fatalf("a refused create shows up in the flag list: %+v", l)
			}
		})
	}
}

func TestFlag_GetReturnsCopies(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	post := FlagPost{
		Tags:             []string{"a", "b"},
		Variations:       []Variation{{Value: "x"}, {Value: "y"}},
		CustomProperties: map[string]CustomProperty{"k": {Name: "K", Value: []string{"v"}}},
	}
	created := fxCreate(t, st, "flag", post)
	fxUpdate(t, st, "flag", func(f *Flag) {
		c := f.Environments["production"]
		c.Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
		c.Rules = []Rule{fxRule(1, "@example.com")}
	})
	before := fxJSON(t, fxGet(t, st, "flag"))

	mutate := func(f *Flag) {
		f.Name = "changed"
		f.Tags[0] = "zzz"
		f.Tags = append(f.Tags, "c")
		f.Variations[0].Value = "mutated"
		f.Variations[1].ID = "mutated"
		f.Defaults.OnVariation = 1
		f.CustomProperties["k"].Value[0] = "mutated"
		f.CustomProperties["new"] = CustomProperty{Name: "new"}
		c := f.Environments["production"]
		c.On = true
		c.Version = 99
		*c.OffVariation = 0
		*c.Fallthrough.Variation = 1
		if len(c.Targets) > 0 {
			c.Targets[0].Values[0] = "mallory"
			c.Targets = append(c.Targets, Target{Values: []string{"eve"}, Variation: 1})
		}
		if len(c.Rules) > 0 {
			c.Rules[0].Clauses[0].Values[0] = "@evil.com"
			*c.Rules[0].Variation = 0
		}
		delete(f.Environments, "test")
		f.Environments["staging"] = &FlagConfig{}
	}

	// Mutating what any call returned leaves the store alone.
	got := fxGet(t, st, "flag")
	mutate(&got)
	mutate(&created)
	updated := fxUpdate(t, st, "flag", func(*Flag) {})
	mutate(&updated)
	l, err := st.ListFlags(ctx, fxProj, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Items {
		mutate(&l.Items[i])
	}
	// So does mutating the create body after the call.
	post.Tags[0] = "mutated"
	post.Variations[0].Value = "mutated"
	post.CustomProperties["k"].Value[0] = "mutated"

	if after := fxJSON(t, fxGet(t, st, "flag")); after != before {
		t.Fatalf("stored flag changed through a returned copy:\nbefore %s\nafter  %s", before, after)
	}

	// A pointer kept from an UpdateFlag callback has no hold on the store
	// either.
	var kept *Flag
	fxUpdate(t, st, "flag", func(f *Flag) { kept = f; f.Description = "kept" })
	before = fxJSON(t, fxGet(t, st, "flag"))
	mutate(kept)
	if after := fxJSON(t, fxGet(t, st, "flag")); after != before {
		t.Fatalf("stored flag changed through the callback's pointer")
	}
}

// TestFlag_ReadsAreDecodedJSON: whatever Go values a caller writes, a read
// returns the stored JSON decoded, the same values of the same types a
// fresh process would read, and never memory the caller still holds.
func TestFlag_ReadsAreDecodedJSON(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	roundTrips := func(what string, f Flag) {
		t.Helper()
		var rt Flag
		if err := json.Unmarshal([]byte(fxJSON(t, f)), &rt); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(f, rt) {
			t.Errorf("%s: the flag read holds values that are not decoded JSON:\n%#v\n%#v", what, f.Variations, rt.Variations)
		}
	}

	a, b := []string{"a"}, []string{"b"}
	created := fxCreate(t, st, "flag", FlagPost{Variations: []Variation{{Value: a}, {Value: b}}})
	a[0], b[0] = "mutated", "mutated"
	got := fxGet(t, st, "flag")
	if v := fxValues(t, got); v != `[["a"],["b"]]` {
		t.Errorf("after the caller reused its slices, GetFlag shows values %s", v)
	}
	roundTrips("CreateFlag", created)
	roundTrips("GetFlag after create", got)

	on, off := map[string]int{"n": 1}, map[string]int{"n": 2}
	in := []any{1, int64(2), "three"}
	updated := fxUpdate(t, st, "flag", func(f *Flag) {
		f.Variations[0].Value, f.Variations[1].Value = on, off
		f.Environments["production"].Rules = []Rule{{Variation: intPtr(0), Clauses: []Clause{{Attribute: "n", Op: "in", Values: in}}}}
	})
	on["n"], in[2] = 99, "mutated"
	got = fxGet(t, st, "flag")
	if v := fxValues(t, got); v != `[{"n":1},{"n":2}]` {
		t.Errorf("after the caller reused its maps, GetFlag shows values %s", v)
	}
	if v := fxJSON(t, got.Environments["production"].Rules[0].Clauses[0].Values); v != `[1,2,"three"]` {
		t.Errorf("after the caller reused its slice, clause values are %s", v)
	}
	roundTrips("UpdateFlag", updated)
	roundTrips("GetFlag after update", got)
	l, err := st.ListFlags(ctx, fxProj, ListOptions{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("ListFlags: %v", err)
	}
	roundTrips("ListFlags", l.Items[0])
}

func TestFlag_EnvNameFilled(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "flag", FlagPost{})
	want := map[string]string{"production": "Production", "test": "Test"}
	check := func(what string, f Flag) {
		t.Helper()
		for env, c := range f.Environments {
			if c.EnvironmentName != want[env] {
				t.Errorf("%s: %s._environmentName = %q, want %q", what, env, c.EnvironmentName, want[env])
			}
		}
	}
	check("GetFlag", fxGet(t, st, "flag"))
	check("UpdateFlag", fxUpdate(t, st, "flag", func(f *Flag) { f.Name = "renamed" }))
	l, err := st.ListFlags(ctx, fxProj, ListOptions{})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("ListFlags: %v %+v", err, l)
	}
	check("ListFlags", l.Items[0])

	// The callback sees the names too, and changing one is not a change.
	var seen string
	rev := fxRev(t, st)
	fxUpdate(t, st, "flag", func(f *Flag) {
		seen = f.Environments["test"].EnvironmentName
		f.Environments["test"].EnvironmentName = "Renamed"
	})
	if seen != "Test" {
		t.Errorf("callback saw _environmentName %q", seen)
	}
	if fxRev(t, st) != rev {
		t.Error("changing the computed _environmentName wrote something")
	}
	check("GetFlag after", fxGet(t, st, "flag"))

	// Renaming the environment shows in the flag.
	if _, err := st.UpdateEnvironment(ctx, fxProj, "test", func(e *Environment) error { e.Name = "QA"; return nil }); err != nil {
		t.Fatal(err)
	}
	want["test"] = "QA"
	check("after environment rename", fxGet(t, st, "flag"))
}

func TestFlag_UpdateVersions(t *testing.T) {
	t.Parallel()
	type bump int
	const (
		none bump = iota // nothing written
		flagOnly
		production
		test
		every
	)
	cases := []struct {
		name string
		fn   func(*Flag)
		want bump
	}{
		{"target in production", func(f *Flag) {
			f.Environments["production"].Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
		}, production},
		{"context target in test", func(f *Flag) {
			f.Environments["test"].ContextTargets = []Target{{Values: []string{"acme"}, Variation: 1, ContextKind: "org"}}
		}, test},
		{"rule in test", func(f *Flag) { f.Environments["test"].Rules = []Rule{fxRule(0, "@example.com")} }, test},
		{"turn on production", func(f *Flag) { f.Environments["production"].On = true }, production},
		{"offVariation in test", func(f *Flag) { f.Environments["test"].OffVariation = intPtr(0) }, test},
		{"fallthrough rollout in production", func(f *Flag) {
			f.Environments["production"].Fallthrough = VariationOrRollout{Rollout: &Rollout{
				Variations: []WeightedVariation{{Variation: 0, Weight: 50000}, {Variation: 1, Weight: 50000}},
			}}
		}, production},
		{"trackEvents in test", func(f *Flag) { f.Environments["test"].TrackEvents = true }, test},
		{"both environments", func(f *Flag) {
			f.Environments["production"].On = true
			f.Environments["test"].On = true
		}, every},
		{"name", func(f *Flag) { f.Name = "Renamed" }, flagOnly},
		{"description", func(f *Flag) { f.Description = "words" }, flagOnly},
		{"tags", func(f *Flag) { f.Tags = []string{"new-tag"} }, flagOnly},
		{"temporary", func(f *Flag) { f.Temporary = false }, flagOnly},
		{"defaults", func(f *Flag) { f.Defaults = &FlagDefaults{OnVariation: 1, OffVariation: 0} }, flagOnly},
		{"maintainer", func(f *Flag) { f.MaintainerID = "m-1" }, flagOnly},
		{"customProperties", func(f *Flag) { f.CustomProperties = map[string]CustomProperty{"k": {Name: "K", Value: []string{"v"}}} }, flagOnly},
		{"deprecated", func(f *Flag) { f.Deprecated = true }, flagOnly},
		{"variation name", func(f *Flag) { f.Variations[0].Name = "Enabled" }, every},
		{"variation order", func(f *Flag) { f.Variations[0], f.Variations[1] = f.Variations[1], f.Variations[0] }, every},
		{"clientSideAvailability", func(f *Flag) { f.ClientSideAvailability.UsingEnvironmentID = true }, every},
		{"archived", func(f *Flag) { f.Archived = true }, every},
		{"no-op: nothing", func(*Flag) {}, none},
		{"no-op: same values", func(f *Flag) {
			f.Name = "Flag flag"
			f.Environments["production"].On = false
			f.Tags = []string{}
		}, none},
		{"no-op: nil lists", func(f *Flag) {
			f.Tags = nil
			f.Environments["production"].Targets = nil
			f.Environments["production"].Rules = nil
			f.Environments["test"].Prerequisites = nil
		}, none},
		{"no-op: lastModified touched", func(f *Flag) { f.Environments["production"].LastModified = 1 }, none},
		{"no-op: archivedDate touched", func(f *Flag) { f.ArchivedDate = 12345 }, none},
		{"no-op: kind touched", func(f *Flag) { f.Kind = KindMultivariate }, none},
		{"no-op: _environmentName touched", func(f *Flag) { f.Environments["test"].EnvironmentName = "other" }, none},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clk := fxSetup(t)
			fxCreate(t, st, "flag", FlagPost{})
			before := fxGet(t, st, "flag")
			rev := fxRev(t, st)
			now := clk.tick()
			after := fxUpdate(t, st, "flag", tc.fn)
			if got := fxJSON(t, fxGet(t, st, "flag")); got != fxJSON(t, after) {
				t.Fatalf("UpdateFlag result differs from GetFlag:\n%s\n%s", fxJSON(t, after), got)
			}
			if tc.want == none {
				if got := fxJSON(t, after); got != fxJSON(t, before) {
					t.Fatalf("no-op changed the flag:\nbefore %s\nafter  %s", fxJSON(t, before), got)
				}
				if fxRev(t, st) != rev {
					t.Fatal("no-op wrote something")
				}
				return
			}
			if after.Version != before.Version+1 {
				t.Errorf("_version = %d, want %d", after.Version, before.Version+1)
			}
			if after.CreationDate != before.CreationDate {
				t.Errorf("creationDate moved")
			}
			for env, b := range before.Environments {
				a := after.Environments[env]
				moved := tc.want == every || tc.want == production && env == "production" || tc.want == test && env == "test"
				wantVer, wantMod := b.Version, b.LastModified
				if moved {
					wantVer, wantMod = b.Version+1, now
				}
				if a.Version != wantVer || a.LastModified != wantMod {
					t.Errorf("%s: version %d lastModified %d, want %d and %d", env, a.Version, a.LastModified, wantVer, wantMod)
				}
				if a.Salt != b.Salt || a.Sel != b.Sel {
					t.Errorf("%s: salt or sel changed", env)
				}
			}
		})
	}

	t.Run("sequence", func(t *testing.T) {
		t.Parallel()
		st, clk := fxSetup(t)
		fxCreate(t, st, "flag", FlagPost{})
		for i := range 3 {
			clk.tick()
			fxUpdate(t, st, "flag", func(f *Flag) {
				f.Environments["production"].Targets = []Target{{Values: []string{fmt.Sprint("u", i)}, Variation: 0}}
			})
		}
		t0 := clk.millis()
		clk.tick()
		f := fxUpdate(t, st, "flag", func(f *Flag) { f.Name = "Renamed" })
		clk.tick()
		fxUpdate(t, st, "flag", func(*Flag) {})
		f2 := fxGet(t, st, "flag")
		if f2.Version != 5 || f.Version != 5 {
			t.Errorf("_version = %d, want 5", f2.Version)
		}
		p, q := f2.Environments["production"], f2.Environments["test"]
		if p.Version != 4 || p.LastModified != t0 {
			t.Errorf("production version %d lastModified %d, want 4 and %d", p.Version, p.LastModified, t0)
		}
		if q.Version != 1 || q.LastModified != fxT0 {
			t.Errorf("test version %d lastModified %d, want 1 and %d", q.Version, q.LastModified, fxT0)
		}
	})

	t.Run("deprecatedDate", func(t *testing.T) {
		t.Parallel()
		st, clk := fxSetup(t)
		fxCreate(t, st, "flag", FlagPost{})
		now := clk.tick()
		f := fxUpdate(t, st, "flag", func(f *Flag) { f.Deprecated = true })
		if f.DeprecatedDate != now {
			t.Errorf("deprecatedDate = %d, want %d", f.DeprecatedDate, now)
		}
		clk.tick()
		f = fxUpdate(t, st, "flag", func(f *Flag) { f.Name = "x"; f.DeprecatedDate = 1 })
		if f.DeprecatedDate != now {
			t.Errorf("deprecatedDate = %d after an unrelated edit, want %d", f.DeprecatedDate, now)
		}
		f = fxUpdate(t, st, "flag", func(f *Flag) { f.Deprecated = false })
		if f.DeprecatedDate != 0 {
			t.Errorf("deprecatedDate = %d after undeprecating", f.DeprecatedDate)
		}
	})
}

// TestFlag_UpdateInPlaceEdits: the callback may edit what it is given in
// place, down to elements of nested slices and pointed-to values; each such
// edit is a change like any other.
func TestFlag_UpdateInPlaceEdits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		fn      func(*Flag)
		envWide bool   // every environment's version moves
		env     string // else this one's does ("" for none)
	}{
		{"tag element", func(f *Flag) { f.Tags[0] = "renamed" }, false, ""},
		{"custom property value element", func(f *Flag) { f.CustomProperties["k"].Value[0] = "v2" }, false, ""},
		{"defaults", func(f *Flag) { f.Defaults.OnVariation = 2 }, false, ""},
		{"variation object value", func(f *Flag) { f.Variations[0].Value.(map[string]any)["n"] = 10.0 }, true, ""},
		{"target value element", func(f *Flag) { f.Environments["production"].Targets[0].Values[0] = "carol" }, false, "production"},
		{"context target value element", func(f *Flag) { f.Environments["production"].ContextTargets[0].Values[0] = "globex" }, false, "production"},
		{"rule variation", func(f *Flag) { *f.Environments["production"].Rules[0].Variation = 2 }, false, "production"},
		{"clause value element", func(f *Flag) { f.Environments["production"].Rules[0].Clauses[0].Values[0] = "@other.com" }, false, "production"},
		{"rollout weight", func(f *Flag) {
			r := f.Environments["test"].Fallthrough.Rollout
			r.Variations[0].Weight, r.Variations[1].Weight = 40000, 60000
		}, false, "test"},
		{"rollout seed", func(f *Flag) { *f.Environments["test"].Fallthrough.Rollout.Seed = 2 }, false, "test"},
		{"offVariation", func(f *Flag) { *f.Environments["test"].OffVariation = 0 }, false, "test"},
		{"prerequisite variation", func(f *Flag) { f.Environments["production"].Prerequisites[0].Variation = 0 }, false, "production"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clk := fxSetup(t)
			fxCreate(t, st, "gate", FlagPost{})
			fxCreate(t, st, "flag", FlagPost{
				Tags:             []string{"t"},
				Variations:       []Variation{{Value: map[string]any{"n": 1}}, {Value: map[string]any{"n": 2}}, {Value: map[string]any{"n": 3}}},
				CustomProperties: map[string]CustomProperty{"k": {Name: "K", Value: []string{"v"}}},
			})
			seed := 1
			fxUpdate(t, st, "flag", func(f *Flag) {
				p := f.Environments["production"]
				p.Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
				p.ContextTargets = []Target{{Values: []string{"acme"}, Variation: 1, ContextKind: "org"}}
				p.Rules = []Rule{fxRule(1, "@example.com")}
				p.Prerequisites = []Prerequisite{{Key: "gate", Variation: 1}}
				f.Environments["test"].Fallthrough = VariationOrRollout{Rollout: &Rollout{
					Variations: []WeightedVariation{{Variation: 0, Weight: 50000}, {Variation: 1, Weight: 50000}}, Seed: &seed,
				}}
			})
			before := fxGet(t, st, "flag")
			now := clk.tick()
			after := fxUpdate(t, st, "flag", tc.fn)
			stored := fxGet(t, st, "flag")
			if fxJSON(t, stored) == fxJSON(t, before) {
				t.Fatal("the in-place edit was not stored")
			}
			if fxJSON(t, stored) != fxJSON(t, after) {
				t.Fatal("UpdateFlag result differs from GetFlag")
			}
			if stored.Version != before.Version+1 {
				t.Errorf("_version = %d, want %d", stored.Version, before.Version+1)
			}
			for env, b := range before.Environments {
				a := stored.Environments[env]
				wantVer := b.Version
				if tc.envWide || env == tc.env {
					wantVer++
				}
				if a.Version != wantVer {
					t.Errorf("%s: version %d, want %d", env, a.Version, wantVer)
				}
				if a.Version != b.Version && a.LastModified != now {
					t.Errorf("%s: lastModified %d, want %d", env, a.LastModified, now)
				}
			}
		})
	}
}

func TestFlag_UpdateReadOnly(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(*Flag)
	}{
		{"key", func(f *Flag) { f.Key = "other" }},
		{"_version up", func(f *Flag) { f.Version++ }},
		{"_version down", func(f *Flag) { f.Version = 0 }},
		{"creationDate", func(f *Flag) { f.CreationDate = 42 }},
		{"environment version", func(f *Flag) { f.Environments["test"].Version = 7 }},
		{"add environment", func(f *Flag) {
			c := *f.Environments["test"]
			f.Environments["staging"] = &c
		}},
		{"remove environment", func(f *Flag) { delete(f.Environments, "test") }},
		{"nil environment", func(f *Flag) { f.Environments["test"] = nil }},
		{"drop every environment", func(f *Flag) { f.Environments = nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, clk := fxSetup(t)
			fxCreate(t, st, "flag", FlagPost{})
			fz := fxFreeze(t, st, "flag")
			clk.tick()
			_, err := st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
				// A legal edit rides along and must be refused with the rest.
				f.Name = "Renamed"
				f.Environments["production"].On = true
				tc.fn(f)
				return nil
			})
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			fz.unchanged(t, st)
		})
	}

	t.Run("callback error", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		st, _ := fxSetup(t)
		fxCreate(t, st, "flag", FlagPost{})
		fz := fxFreeze(t, st, "flag")
		_, err := st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
			f.Name = "Renamed"
			return invalidf("name", "refused by the caller")
		})
		fxErr(t, err, ErrInvalid, CodeInvalidRequest)
		fz.unchanged(t, st)

		_, err = st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
			f.Name = "Renamed"
			return errors.New("caller's own error")
		})
		if err == nil {
			t.Fatal("a callback error was swallowed")
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("want *Error, got %T", err)
		}
		fz.unchanged(t, st)

		_, err = st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
			f.Name = "Renamed"
			panic("callback panics")
		})
		fxErr(t, err, ErrInternal, CodeInternalError)
		fz.unchanged(t, st)
	})
}

func TestFlag_UpdateValidation(t *testing.T) {
	t.Parallel()
	prodCfg := func(f *Flag) *FlagConfig { return f.Environments["production"] }
	testCfg := func(f *Flag) *FlagConfig { return f.Environments["test"] }
	rollout := func(weights ...int) *Rollout {
		r := &Rollout{}
		for i, w := range weights {
			r.Variations = append(r.Variations, WeightedVariation{Variation: i, Weight: w})
		}
		return r
	}
	clause := func(op string, values ...any) func(*Flag) {
		return func(f *Flag) {
			prodCfg(f).Rules = []Rule{{Variation: intPtr(0), Clauses: []Clause{{Attribute: "a", Op: op, Values: values}}}}
		}
	}
	cases := []struct {
		name string
		fn   func(*Flag)
	}{
		// Flag-wide fields.
		{"empty name", func(f *Flag) { f.Name = "" }},
		{"bad tag", func(f *Flag) { f.Tags = []string{"no spaces"} }},
		{"one variation", func(f *Flag) { f.Variations = f.Variations[:1] }},
		{"duplicate variation values", func(f *Flag) { f.Variations[1].Value = true }},
		{"null variation value", func(f *Flag) { f.Variations[1].Value = nil }},
		{"mixed variation types", func(f *Flag) {
			f.Variations = []Variation{{Value: "a"}, {Value: 2}}
		}},
		{"defaults out of range", func(f *Flag) { f.Defaults = &FlagDefaults{OnVariation: 0, OffVariation: 2} }},
		{"variation removed under targeting", func(f *Flag) {
			f.Variations = []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}
			prodCfg(f).OffVariation = intPtr(2)
			f.Variations = f.Variations[:2]
			f.Defaults = nil
		}},
		// Individual targets.
		{"target variation out of range", func(f *Flag) {
			prodCfg(f).Targets = []Target{{Values: []string{"alice"}, Variation: 2}}
		}},
		{"target variation negative", func(f *Flag) {
			prodCfg(f).Targets = []Target{{Values: []string{"alice"}, Variation: -1}}
		}},
		{"context target variation out of range", func(f *Flag) {
			testCfg(f).ContextTargets = []Target{{Values: []string{"acme"}, Variation: 5, ContextKind: "org"}}
		}},
		{"two user lists for one variation", func(f *Flag) {
			prodCfg(f).Targets = []Target{{Values: []string{"a"}, Variation: 0}, {Values: []string{"b"}, Variation: 0}}
		}},
		{"two org lists for one variation", func(f *Flag) {
			testCfg(f).ContextTargets = []Target{
				{Values: []string{"a"}, Variation: 1, ContextKind: "org"},
				{Values: []string{"b"}, Variation: 1, ContextKind: "org"},
			}
		}},
		{"user list in targets and contextTargets for one variation", func(f *Flag) {
			prodCfg(f).Targets = []Target{{Values: []string{"a"}, Variation: 0}}
			prodCfg(f).ContextTargets = []Target{{Values: []string{"b"}, Variation: 0, ContextKind: "user"}}
		}},
		{"one key served two variations", func(f *Flag) {
			prodCfg(f).Targets = []Target{{Values: []string{"a"}, Variation: 0}, {Values: []string{"a"}, Variation: 1}}
		}},
		// Rules.
		{"rule with variation and rollout", func(f *Flag) {
			r := fxRule(0, "@x.com")
			r.Rollout = rollout(50000, 50000)
			prodCfg(f).Rules = []Rule{r}
		}},
		{"rule with neither variation nor rollout", func(f *Flag) {
			r := fxRule(0, "@x.com")
			r.Variation = nil
			prodCfg(f).Rules = []Rule{r}
		}},
		{"rule variation out of range", func(f *Flag) { prodCfg(f).Rules = []Rule{fxRule(2, "@x.com")} }},
		{"rule rollout weights under 100000", func(f *Flag) {
			r := fxRule(0, "@x.com")
			r.Variation, r.Rollout = nil, rollout(50000, 49999)
			testCfg(f).Rules = []Rule{r}
		}},
		{"rule rollout weights over 100000", func(f *Flag) {
			r := fxRule(0, "@x.com")
			r.Variation, r.Rollout = nil, rollout(60000, 40001)
			testCfg(f).Rules = []Rule{r}
		}},
		{"rule rollout variation out of range", func(f *Flag) {
			r := fxRule(0, "@x.com")
			r.Variation, r.Rollout = nil, rollout(50000, 0, 50000)
			testCfg(f).Rules = []Rule{r}
		}},
		{"duplicate rule ids", func(f *Flag) {
			a, b := fxRule(0, "@a.com"), fxRule(1, "@b.com")
			a.ID, b.ID = "same", "same"
			prodCfg(f).Rules = []Rule{a, b}
		}},
		// Fallthrough and off variation.
		{"fallthrough out of range", func(f *Flag) { prodCfg(f).Fallthrough = VariationOrRollout{Variation: intPtr(2)} }},
		{"fallthrough negative", func(f *Flag) { prodCfg(f).Fallthrough = VariationOrRollout{Variation: intPtr(-1)} }},
		{"fallthrough empty", func(f *Flag) { testCfg(f).Fallthrough = VariationOrRollout{} }},
		{"fallthrough both", func(f *Flag) {
			testCfg(f).Fallthrough = VariationOrRollout{Variation: intPtr(0), Rollout: rollout(100000)}
		}},
		{"fallthrough rollout weights", func(f *Flag) {
			testCfg(f).Fallthrough = VariationOrRollout{Rollout: rollout(30000, 30000)}
		}},
		{"offVariation out of range", func(f *Flag) { prodCfg(f).OffVariation = intPtr(2) }},
		{"offVariation negative", func(f *Flag) { testCfg(f).OffVariation = intPtr(-1) }},
		// Clauses.
		{"unknown clause op", clause("equals", "x")},
		{"empty clause op", clause("", "x")},
		{"matches with invalid regex", clause("matches", "(unclosed")},
		{"matches with a number", clause("matches", 3)},
		{"clause without values", clause("in")},
		{"clause without attribute", func(f *Flag) {
			prodCfg(f).Rules = []Rule{{Variation: intPtr(0), Clauses: []Clause{{Op: "in", Values: []any{"x"}}}}}
		}},
		// Prerequisites.
		{"prerequisite missing flag", func(f *Flag) { prodCfg(f).Prerequisites = []Prerequisite{{Key: "nope", Variation: 0}} }},
		{"prerequisite itself", func(f *Flag) { prodCfg(f).Prerequisites = []Prerequisite{{Key: "flag", Variation: 0}} }},
		{"prerequisite archived", func(f *Flag) { testCfg(f).Prerequisites = []Prerequisite{{Key: "archived", Variation: 0}} }},
		{"prerequisite variation out of range", func(f *Flag) {
			prodCfg(f).Prerequisites = []Prerequisite{{Key: "gate", Variation: 2}}
		}},
		{"prerequisite variation out of multivariate range", func(f *Flag) {
			prodCfg(f).Prerequisites = []Prerequisite{{Key: "color", Variation: 3}}
		}},
		{"prerequisite variation negative", func(f *Flag) {
			prodCfg(f).Prerequisites = []Prerequisite{{Key: "gate", Variation: -1}}
		}},
		{"prerequisite listed twice", func(f *Flag) {
			prodCfg(f).Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}, {Key: "gate", Variation: 1}}
		}},
		// Segments.
		{"segmentMatch missing everywhere", func(f *Flag) { prodCfg(f).Rules = []Rule{fxSegRule(0, "nope")} }},
		{"segmentMatch on a segment of another environment", func(f *Flag) { testCfg(f).Rules = []Rule{fxSegRule(0, "beta")} }},
		{"segmentMatch one of two missing", func(f *Flag) {
			r := fxSegRule(0, "beta")
			r.Clauses[0].Values = append(r.Clauses[0].Values, "nope")
			prodCfg(f).Rules = []Rule{r}
		}},
		{"segmentMatch with a non-key", func(f *Flag) { prodCfg(f).Rules = []Rule{fxSegRule(0, "not a key")} }},
		{"segmentMatch with a number", clause("segmentMatch", 7)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _ := fxSetup(t)
			fxCreate(t, st, "gate", FlagPost{})
			fxCreate(t, st, "color", FlagPost{Variations: []Variation{{Value: "r"}, {Value: "g"}, {Value: "b"}}})
			fxCreate(t, st, "archived", FlagPost{})
			if _, err := st.ArchiveFlag(ctx, fxProj, "archived"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
				t.Fatal(err)
			}
			fxCreate(t, st, "flag", FlagPost{})
			fz := fxFreeze(t, st, "flag")
			_, err := st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error { tc.fn(f); return nil })
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			fz.unchanged(t, st)
		})
	}
}

// TestFlag_UpdateTargetingAccepted is the positive control of
// TestFlag_UpdateValidation: full targeting is stored as given.
func TestFlag_UpdateTargetingAccepted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "gate", FlagPost{})
	fxCreate(t, st, "color", FlagPost{Variations: []Variation{{Value: "r"}, {Value: "g"}, {Value: "b"}}})
	if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	fxCreate(t, st, "flag", FlagPost{Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})
	seed := 7
	got := fxUpdate(t, st, "flag", func(f *Flag) {
		c := f.Environments["production"]
		c.On = true
		c.Targets = []Target{{Values: []string{"alice", "bob"}, Variation: 0}, {Values: []string{"carol"}, Variation: 2}}
		c.ContextTargets = []Target{
			{Values: []string{}, Variation: 0, ContextKind: "user"},
			{Values: []string{"acme"}, Variation: 0, ContextKind: "org"},
			{Values: []string{"acme"}, Variation: 1, ContextKind: "device"},
		}
		c.Rules = []Rule{
			fxSegRule(1, "beta"),
			{Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 10000}, {Variation: 2, Weight: 90000}}, BucketBy: "email", Seed: &seed},
				Clauses: []Clause{
					{Attribute: "email", Op: "matches", Values: []any{`^[a-z]+@example\.com$`}},
					{Attribute: "age", Op: "greaterThanOrEqual", Values: []any{18}, ContextKind: "user", Negate: true},
					{Attribute: "created", Op: "before", Values: []any{"2024-01-01T00:00:00Z", 1700000000000}},
				},
				Description: "adults", TrackEvents: true},
		}
		c.Fallthrough = VariationOrRollout{Rollout: &Rollout{Variations: []WeightedVariation{
			{Variation: 0, Weight: 33333}, {Variation: 1, Weight: 33333}, {Variation: 2, Weight: 33334},
		}}}
		c.OffVariation = intPtr(2)
		c.Prerequisites = []Prerequisite{{Key: "gate", Variation: 1}, {Key: "color", Variation: 2}}
		f.Environments["test"].Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}}
	})
	if a, b := fxJSON(t, got), fxJSON(t, fxGet(t, st, "flag")); a != b {
		t.Fatalf("UpdateFlag result differs from GetFlag:\n%s\n%s", a, b)
	}
	c := got.Environments["production"]
	if !c.On || c.Version != 2 || len(c.Targets) != 2 || len(c.ContextTargets) != 3 || len(c.Rules) != 2 ||
		c.Fallthrough.Rollout == nil || *c.OffVariation != 2 || len(c.Prerequisites) != 2 {
		t.Fatalf("production stored as %s", fxJSON(t, c))
	}
	if c.Targets[1].ContextKind != "user" {
		t.Errorf("user target stored with contextKind %q", c.Targets[1].ContextKind)
	}
	if cl := c.Rules[0].Clauses[0]; cl.ContextKind != "" {
		t.Errorf("segmentMatch clause got contextKind %q", cl.ContextKind)
	}
	if cl := c.Rules[1].Clauses[0]; cl.ContextKind != "user" {
		t.Errorf("clause contextKind defaulted to %q, want user", cl.ContextKind)
	}
	if r := c.Rules[1].Rollout; r.BucketBy != "email" || r.Seed == nil || *r.Seed != 7 {
		t.Errorf("rollout = %+v", r)
	}
	// The prerequisite flags are now in use.
	fxErr(t, st.DeleteFlag(ctx, fxProj, "gate"), ErrConflict, CodeConflict)
	fxErr(t, st.DeleteFlag(ctx, fxProj, "color"), ErrConflict, CodeConflict)
	fxErr(t, st.DeleteSegment(ctx, fxProj, "production", "beta"), ErrConflict, CodeConflict)
}

func TestFlag_PrerequisiteCycles(t *testing.T) {
	t.Parallel()
	prereq := func(env, on string) func(*Flag) {
		return func(f *Flag) {
			c := f.Environments[env]
			c.Prerequisites = append(c.Prerequisites, Prerequisite{Key: on, Variation: 0})
		}
	}
	type edge struct{ from, env, to string }
	cases := []struct {
		name    string
		edges   []edge // accepted, in order
		closing edge   // refused
	}{
		{"A->B->A", []edge{{"a", "production", "b"}}, edge{"b", "production", "a"}},
		{"A->B->C->A", []edge{{"a", "production", "b"}, {"b", "production", "c"}}, edge{"c", "production", "a"}},
		{"A->B->C->A built from the middle", []edge{{"b", "test", "c"}, {"c", "test", "a"}}, edge{"a", "test", "b"}},
		{"A->B->C->D->B", []edge{{"a", "production", "b"}, {"b", "production", "c"}, {"c", "production", "d"}}, edge{"d", "production", "b"}},
		{"cycle alongside other prerequisites", []edge{{"a", "production", "d"}, {"a", "production", "b"}, {"b", "production", "c"}}, edge{"c", "production", "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _ := fxSetup(t)
			for _, k := range []string{"a", "b", "c", "d"} {
				fxCreate(t, st, k, FlagPost{})
			}
			for _, e := range tc.edges {
				fxUpdate(t, st, e.from, prereq(e.env, e.to))
			}
			fz := fxFreeze(t, st, tc.closing.from)
			_, err := st.UpdateFlag(ctx, fxProj, tc.closing.from, func(f *Flag) error {
				prereq(tc.closing.env, tc.closing.to)(f)
				return nil
			})
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			fz.unchanged(t, st)

			// The same edge in the other environment closes no cycle.
			other := "test"
			if tc.closing.env == "test" {
				other = "production"
			}
			fxUpdate(t, st, tc.closing.from, prereq(other, tc.closing.to))
		})
	}

	t.Run("closing edge in a create is impossible", func(t *testing.T) {
		t.Parallel()
		// A new flag has no dependents, so initialPrerequisites cannot
		// close a cycle; a diamond is fine.
		st, _ := fxSetup(t)
		d := fxCreate(t, st, "d", FlagPost{})
		b := fxCreate(t, st, "b", FlagPost{InitialPrerequisites: []InitialPrerequisite{{Key: "d", VariationID: d.Variations[0].ID}}})
		c := fxCreate(t, st, "c", FlagPost{InitialPrerequisites: []InitialPrerequisite{{Key: "d", VariationID: d.Variations[0].ID}}})
		fxCreate(t, st, "a", FlagPost{InitialPrerequisites: []InitialPrerequisite{
			{Key: "b", VariationID: b.Variations[0].ID}, {Key: "c", VariationID: c.Variations[1].ID},
		}})
	})
}

func TestFlag_SegmentMatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "flag", FlagPost{})
	if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}

	fz := fxFreeze(t, st, "flag")
	_, err := st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
		f.Environments["test"].Rules = []Rule{fxSegRule(0, "beta")}
		return nil
	})
	fxErr(t, err, ErrInvalid, CodeInvalidRequest)
	fz.unchanged(t, st)

	f := fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["production"].Rules = []Rule{fxSegRule(0, "beta")} })
	if n := len(f.Environments["production"].Rules); n != 1 {
		t.Fatalf("rules = %d", n)
	}

	// Once the segment exists in test too, test may use it.
	if _, err := st.CreateSegment(ctx, fxProj, "test", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["test"].Rules = []Rule{fxSegRule(1, "beta")} })
}

func TestFlag_RuleAndClauseIDs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, clk := fxSetup(t)
	fxCreate(t, st, "flag", FlagPost{})
	if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	f := fxUpdate(t, st, "flag", func(f *Flag) {
		r := fxRule(0, "@example.com")
		r.Clauses = append(r.Clauses, Clause{Attribute: "country", Op: "in", Values: []any{"NZ"}})
		given := fxRule(1, "@given.com")
		given.ID = "my-rule"
		given.Clauses[0].ID = "my-clause"
		f.Environments["production"].Rules = []Rule{r, given, fxSegRule(1, "beta")}
	})
	rules := f.Environments["production"].Rules
	ids := map[string]bool{}
	for i, r := range rules {
		if i == 1 {
			if r.ID != "my-rule" || r.Clauses[0].ID != "my-clause" {
				t.Errorf("given ids not kept: %+v", r)
			}
			continue
		}
		if _, err := uuid.Parse(r.ID); err != nil {
			t.Errorf("rules[%d]._id = %q, want a UUID", i, r.ID)
		}
		ids[r.ID] = true
		for j, c := range r.Clauses {
			if _, err := uuid.Parse(c.ID); err != nil {
				t.Errorf("rules[%d].clauses[%d]._id = %q, want a UUID", i, j, c.ID)
			}
			ids[c.ID] = true
		}
	}
	if len(ids) != 5 {
		t.Errorf("assigned ids are not distinct: %v", ids)
	}
	want := fxJSON(t, rules)

	// Later updates of all kinds keep the ids.
	edits := []func(*Flag){
		func(f *Flag) { f.Name = "Renamed" },
		func(f *Flag) { f.Environments["production"].On = true },
		func(f *Flag) { f.Environments["test"].Rules = []Rule{fxRule(0, "@test.com")} },
		func(f *Flag) { f.Variations[0].Name = "On" },
		func(f *Flag) { f.Archived = true },
		func(f *Flag) { f.Archived = false },
	}
	for i, edit := range edits {
		clk.tick()
		f = fxUpdate(t, st, "flag", edit)
		if got := fxJSON(t, f.Environments["production"].Rules); got != want {
			t.Fatalf("edit %d changed rule ids:\nbefore %s\nafter  %s", i, want, got)
		}
	}
	testRule := f.Environments["test"].Rules[0]
	if _, err := uuid.Parse(testRule.ID); err != nil {
		t.Errorf("test rule _id %q", testRule.ID)
	}

	// Inserting a rule in front keeps the ids of the rules that move.
	f = fxUpdate(t, st, "flag", func(f *Flag) {
		c := f.Environments["production"]
		c.Rules = append([]Rule{fxRule(0, "@first.com")}, c.Rules...)
	})
	if got := fxJSON(t, f.Environments["production"].Rules[1:]); got != want {
		t.Fatalf("inserting a rule changed the others' ids:\nbefore %s\nafter  %s", want, got)
	}
	if id := f.Environments["production"].Rules[0].ID; id == "" || ids[id] {
		t.Errorf("inserted rule _id %q is empty or reused", id)
	}
	// A clause added to an existing rule gets an id; the others stay.
	f = fxUpdate(t, st, "flag", func(f *Flag) {
		r := &f.Environments["production"].Rules[1]
		r.Clauses = append(r.Clauses, Clause{Attribute: "plan", Op: "in", Values: []any{"gold"}})
	})
	r := f.Environments["production"].Rules[1]
	if r.ID != rules[0].ID || r.Clauses[0].ID != rules[0].Clauses[0].ID || r.Clauses[2].ID == "" {
		t.Errorf("clause ids after adding a clause: %+v", r.Clauses)
	}
}

func TestFlag_ArchiveRestore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, clk := fxSetup(t)
	fxCreate(t, st, "flag", FlagPost{Tags: []string{"t"}})
	before := fxGet(t, st, "flag")

	archivedAt := clk.tick()
	f, err := st.ArchiveFlag(ctx, fxProj, "flag")
	if err != nil {
		t.Fatal(err)
	}
	if a, b := fxJSON(t, f), fxJSON(t, fxGet(t, st, "flag")); a != b {
		t.Fatalf("ArchiveFlag result differs from GetFlag")
	}
	if !f.Archived || f.ArchivedDate != archivedAt {
		t.Errorf("archived %v archivedDate %d, want true and %d", f.Archived, f.ArchivedDate, archivedAt)
	}
	if f.Version != before.Version+1 {
		t.Errorf("_version = %d", f.Version)
	}
	for env, c := range f.Environments {
		if !c.Archived || c.Version != before.Environments[env].Version+1 || c.LastModified != archivedAt {
			t.Errorf("%s: archived %v version %d lastModified %d", env, c.Archived, c.Version, c.LastModified)
		}
	}
	// Archived flags leave the default list.
	live, err := st.ListFlags(ctx, fxProj, ListOptions{})
	if err != nil || live.TotalCount != 0 {
		t.Errorf("live flags after archive: %+v, %v", live, err)
	}
	arch, err := st.ListFlags(ctx, fxProj, ListOptions{Archived: true, Tag: "t"})
	if err != nil || arch.TotalCount != 1 || arch.Items[0].Key != "flag" {
		t.Errorf("archived flags: %+v, %v", arch, err)
	}

	// Archiving again changes nothing.
	rev := fxRev(t, st)
	clk.tick()
	again, err := st.ArchiveFlag(ctx, fxProj, "flag")
	if err != nil {
		t.Fatal(err)
	}
	if fxJSON(t, again) != fxJSON(t, f) || fxRev(t, st) != rev {
		t.Errorf("archiving an archived flag wrote something")
	}
	// An archived flag can still be edited; its configs stay archived.
	clk.tick()
	f = fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["test"].On = true })
	if !f.Archived || f.ArchivedDate != archivedAt || !f.Environments["test"].Archived {
		t.Errorf("edit of an archived flag: archived %v date %d", f.Archived, f.ArchivedDate)
	}

	restoredAt := clk.tick()
	v := f.Version
	envVers := map[string]int{}
	for env, c := range f.Environments {
		envVers[env] = c.Version
	}
	f, err = st.RestoreFlag(ctx, fxProj, "flag")
	if err != nil {
		t.Fatal(err)
	}
	if f.Archived || f.ArchivedDate != 0 || f.Version != v+1 {
		t.Errorf("restored: archived %v archivedDate %d _version %d", f.Archived, f.ArchivedDate, f.Version)
	}
	for env, c := range f.Environments {
		if c.Archived || c.Version != envVers[env]+1 || c.LastModified != restoredAt {
			t.Errorf("%s after restore: archived %v version %d lastModified %d", env, c.Archived, c.Version, c.LastModified)
		}
	}
	live, err = st.ListFlags(ctx, fxProj, ListOptions{})
	if err != nil || live.TotalCount != 1 {
		t.Errorf("live flags after restore: %+v, %v", live, err)
	}
	rev = fxRev(t, st)
	if _, err := st.RestoreFlag(ctx, fxProj, "flag"); err != nil || fxRev(t, st) != rev {
		t.Errorf("restoring a live flag: %v, wrote %v", err, fxRev(t, st) != rev)
	}
}

func TestFlag_ArchivePrerequisite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "gate", FlagPost{})
	fxCreate(t, st, "dependent", FlagPost{})
	fxUpdate(t, st, "dependent", func(f *Flag) {
		f.Environments["test"].Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}}
	})
	fz := fxFreeze(t, st, "gate")
	_, err := st.ArchiveFlag(ctx, fxProj, "gate")
	fxErr(t, err, ErrConflict, CodeConflict)
	fz.unchanged(t, st)
	_, err = st.UpdateFlag(ctx, fxProj, "gate", func(f *Flag) error { f.Archived = true; f.Name = "x"; return nil })
	fxErr(t, err, ErrConflict, CodeConflict)
	fz.unchanged(t, st)

	// Archiving the dependent is fine, and does not free the prerequisite.
	if _, err := st.ArchiveFlag(ctx, fxProj, "dependent"); err != nil {
		t.Fatal(err)
	}
	_, err = st.ArchiveFlag(ctx, fxProj, "gate")
	fxErr(t, err, ErrConflict, CodeConflict)

	fxUpdate(t, st, "dependent", func(f *Flag) { f.Environments["test"].Prerequisites = nil })
	if _, err := st.ArchiveFlag(ctx, fxProj, "gate"); err != nil {
		t.Fatalf("archive after the prerequisite is gone: %v", err)
	}
}

func TestFlag_Delete(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "solo", FlagPost{Tags: []string{"x"}})
	if err := st.DeleteFlag(ctx, fxProj, "solo"); err != nil {
		t.Fatal(err)
	}
	_, err := st.GetFlag(ctx, fxProj, "solo")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	fxErr(t, st.DeleteFlag(ctx, fxProj, "solo"), ErrNotFound, CodeNotFound)
	l, err := st.ListFlags(ctx, fxProj, ListOptions{Tag: "x"})
	if err != nil || l.TotalCount != 0 || len(l.Items) != 0 {
		t.Fatalf("deleted flag still listed: %+v %v", l, err)
	}
	// The key is free again, and the new flag starts over.
	f := fxCreate(t, st, "solo", FlagPost{})
	if f.Version != 1 {
		t.Errorf("recreated flag at _version %d", f.Version)
	}

	// A prerequisite in any one environment blocks the delete.
	for _, env := range []string{"production", "test"} {
		t.Run("prerequisite in "+env, func(t *testing.T) {
			fxCreate(t, st, "gate", FlagPost{})
			fxCreate(t, st, "dependent", FlagPost{})
			fxUpdate(t, st, "dependent", func(f *Flag) {
				f.Environments[env].Prerequisites = []Prerequisite{{Key: "gate", Variation: 1}}
			})
			fz := fxFreeze(t, st, "gate")
			err := st.DeleteFlag(ctx, fxProj, "gate")
			fxErr(t, err, ErrConflict, CodeConflict)
			if !strings.Contains(err.Error(), "dependent") {
				t.Errorf("error does not name the dependent: %v", err)
			}
			fz.unchanged(t, st)

			fxUpdate(t, st, "dependent", func(f *Flag) { f.Environments[env].Prerequisites = nil })
			if err := st.DeleteFlag(ctx, fxProj, "gate"); err != nil {
				t.Fatalf("delete after the prerequisite was removed: %v", err)
			}
			_, err = st.GetFlag(ctx, fxProj, "gate")
			fxErr(t, err, ErrNotFound, CodeNotFound)
			if err := st.DeleteFlag(ctx, fxProj, "dependent"); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("prerequisite in both environments", func(t *testing.T) {
		fxCreate(t, st, "gate", FlagPost{})
		fxCreate(t, st, "dependent", FlagPost{})
		fxUpdate(t, st, "dependent", func(f *Flag) {
			for _, c := range f.Environments {
				c.Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}}
			}
		})
		// Removing it from one environment still leaves the other.
		fxUpdate(t, st, "dependent", func(f *Flag) { f.Environments["production"].Prerequisites = nil })
		fxErr(t, st.DeleteFlag(ctx, fxProj, "gate"), ErrConflict, CodeConflict)
		// Deleting the dependent frees the prerequisite.
		if err := st.DeleteFlag(ctx, fxProj, "dependent"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteFlag(ctx, fxProj, "gate"); err != nil {
			t.Fatalf("delete after the dependent was deleted: %v", err)
		}
	})

	t.Run("a dependent may be deleted", func(t *testing.T) {
		fxCreate(t, st, "gate", FlagPost{})
		fxCreate(t, st, "dependent", FlagPost{})
		fxCreate(t, st, "top", FlagPost{})
		fxUpdate(t, st, "dependent", func(f *Flag) {
			f.Environments["production"].Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}}
		})
		fxUpdate(t, st, "top", func(f *Flag) {
			f.Environments["production"].Prerequisites = []Prerequisite{{Key: "dependent", Variation: 0}}
		})
		fxErr(t, st.DeleteFlag(ctx, fxProj, "dependent"), ErrConflict, CodeConflict)
		for _, k := range []string{"top", "dependent", "gate"} {
			if err := st.DeleteFlag(ctx, fxProj, k); err != nil {
				t.Fatalf("delete %s: %v", k, err)
			}
		}
	})
}

func TestFlag_EnvLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, clk := fxSetup(t)
	fxCreate(t, st, "color", FlagPost{
		Variations: []Variation{{Value: "r"}, {Value: "g"}, {Value: "b"}},
		Defaults:   &FlagDefaults{OnVariation: 2, OffVariation: 1},
	})
	fxCreate(t, st, "old", FlagPost{})
	if _, err := st.ArchiveFlag(ctx, fxProj, "old"); err != nil {
		t.Fatal(err)
	}
	before := fxGet(t, st, "color")

	addedAt := clk.tick()
	if _, err := st.CreateEnvironment(ctx, fxProj, EnvironmentPost{Key: "staging", Name: "Staging", Color: "000000", DefaultTrackEvents: true}); err != nil {
		t.Fatal(err)
	}
	f := fxGet(t, st, "color")
	c := f.Environments["staging"]
	if c == nil {
		t.Fatalf("no staging config: %s", fxJSON(t, f))
	}
	if c.On || c.Archived || c.Version != 1 || c.LastModified != addedAt || !c.TrackEvents || c.EnvironmentName != "Staging" {
		t.Errorf("staging config = %s", fxJSON(t, c))
	}
	if *c.Fallthrough.Variation != 2 || *c.OffVariation != 1 {
		t.Errorf("staging serves fallthrough %d off %d, want the defaults 2 and 1", *c.Fallthrough.Variation, *c.OffVariation)
	}
	if !fxIsHex32(c.Salt) || !fxIsHex32(c.Sel) || c.Salt == c.Sel {
		t.Errorf("staging salt %q sel %q", c.Salt, c.Sel)
	}
	for env, o := range before.Environments {
		if o.Salt == c.Salt || o.Sel == c.Sel {
			t.Errorf("staging reuses %s's salt or sel", env)
		}
		if fxJSON(t, f.Environments[env]) != fxJSON(t, o) {
			t.Errorf("%s changed when staging was added", env)
		}
	}
	if f.Version != before.Version+1 {
		t.Errorf("_version = %d, want %d", f.Version, before.Version+1)
	}
	if old := fxGet(t, st, "old"); old.Environments["staging"] == nil || !old.Environments["staging"].Archived {
		t.Errorf("archived flag's staging config is not archived: %s", fxJSON(t, old.Environments["staging"]))
	}
	// New flags get the new environment too.
	if n := fxCreate(t, st, "later", FlagPost{}); len(n.Environments) != 3 {
		t.Errorf("new flag has environments %v", n.Environments)
	}
	// The new config can be edited like any other.
	fxUpdate(t, st, "color", func(f *Flag) { f.Environments["staging"].On = true })

	// Deleting the environment drops its configs.
	if err := st.DeleteEnvironment(ctx, fxProj, "staging"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"color", "old", "later"} {
		f := fxGet(t, st, k)
		if _, ok := f.Environments["staging"]; ok || len(f.Environments) != 2 {
			t.Errorf("%s still has environments %v", k, f.Environments)
		}
	}
	// And the flag can still be written.
	fxUpdate(t, st, "color", func(f *Flag) { f.Name = "Color" })

	t.Run("prerequisite only in a deleted environment", func(t *testing.T) {
		if _, err := st.CreateEnvironment(ctx, fxProj, EnvironmentPost{Key: "qa", Name: "QA", Color: "ABCDEF"}); err != nil {
			t.Fatal(err)
		}
		fxCreate(t, st, "gate", FlagPost{})
		fxCreate(t, st, "dependent", FlagPost{})
		fxUpdate(t, st, "dependent", func(f *Flag) {
			f.Environments["qa"].Prerequisites = []Prerequisite{{Key: "gate", Variation: 0}}
		})
		fxErr(t, st.DeleteFlag(ctx, fxProj, "gate"), ErrConflict, CodeConflict)
		_, err := st.ArchiveFlag(ctx, fxProj, "gate")
		fxErr(t, err, ErrConflict, CodeConflict)
		if err := st.DeleteEnvironment(ctx, fxProj, "qa"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ArchiveFlag(ctx, fxProj, "gate"); err != nil {
			t.Fatalf("archive after the environment was deleted: %v", err)
		}
		if err := st.DeleteFlag(ctx, fxProj, "gate"); err != nil {
			t.Fatalf("delete after the environment was deleted: %v", err)
		}
	})

	t.Run("segment use only in a deleted environment", func(t *testing.T) {
		if _, err := st.CreateEnvironment(ctx, fxProj, EnvironmentPost{Key: "qa", Name: "QA", Color: "ABCDEF"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateSegment(ctx, fxProj, "qa", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
			t.Fatal(err)
		}
		fxUpdate(t, st, "color", func(f *Flag) { f.Environments["qa"].Rules = []Rule{fxSegRule(0, "beta")} })
		if err := st.DeleteEnvironment(ctx, fxProj, "qa"); err != nil {
			t.Fatal(err)
		}
		// Recreate the environment and the segment: the old flag rule went
		// with the old environment, so the segment is free to go.
		if _, err := st.CreateEnvironment(ctx, fxProj, EnvironmentPost{Key: "qa", Name: "QA", Color: "ABCDEF"}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetSegment(ctx, fxProj, "qa", "beta"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("segment survived its environment: %v", err)
		}
		if _, err := st.CreateSegment(ctx, fxProj, "qa", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
			t.Fatal(err)
		}
		if c := fxGet(t, st, "color").Environments["qa"]; len(c.Rules) != 0 || c.Version != 1 {
			t.Errorf("recreated environment's config = %s", fxJSON(t, c))
		}
		if err := st.DeleteSegment(ctx, fxProj, "qa", "beta"); err != nil {
			t.Fatalf("delete segment: %v", err)
		}
	})
}

func TestFlag_ConcurrentUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreate(t, st, "flag", FlagPost{})
	const workers, each = 20, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				v := fmt.Sprintf("user-%02d-%02d", g, i)
				_, err := st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
					c := f.Environments["production"]
					if len(c.Targets) == 0 {
						c.Targets = []Target{{Variation: 0}}
					}
					c.Targets[0].Values = append(c.Targets[0].Values, v)
					return nil
				})
				if err != nil {
					errs <- fmt.Errorf("%s: %w", v, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	f := fxGet(t, st, "flag")
	if f.Version != 1+workers*each {
		t.Errorf("_version = %d, want %d", f.Version, 1+workers*each)
	}
	p := f.Environments["production"]
	if p.Version != 1+workers*each {
		t.Errorf("production version = %d, want %d", p.Version, 1+workers*each)
	}
	if q := f.Environments["test"]; q.Version != 1 {
		t.Errorf("test version = %d, want 1", q.Version)
	}
	if len(p.Targets) != 1 {
		t.Fatalf("targets = %s", fxJSON(t, p.Targets))
	}
	got := slices.Sorted(slices.Values(p.Targets[0].Values))
	if len(got) != workers*each {
		t.Fatalf("%d values, want %d", len(got), workers*each)
	}
	for g := range workers {
		for i := range each {
			if _, ok := slices.BinarySearch(got, fmt.Sprintf("user-%02d-%02d", g, i)); !ok {
				t.Errorf("value user-%02d-%02d lost", g, i)
			}
		}
	}
}
