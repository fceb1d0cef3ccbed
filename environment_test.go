package flagstore

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStore_CreateEnvironment(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	p := tstMustProject(t, st, "shop")
	clock.Advance(time.Hour)

	post := EnvironmentPost{Key: "staging", Name: "Staging", Color: "a1B2c3", DefaultTTL: 10, SecureMode: true,
		DefaultTrackEvents: true, ConfirmChanges: true, RequireComments: true, Tags: []string{"pre"}, Critical: true}
	env, err := st.CreateEnvironment(ctx, "shop", post)
	if err != nil {
		t.Fatal(err)
	}
	want := Environment{ID: env.ID, Key: "staging", Name: "Staging", APIKey: env.APIKey, MobileKey: env.MobileKey,
		Color: "a1B2c3", DefaultTTL: 10, SecureMode: true, DefaultTrackEvents: true, RequireComments: true,
		ConfirmChanges: true, Tags: []string{"pre"}, Critical: true, CreationDate: clock.Millis(), Version: 1}
	if !reflect.DeepEqual(env, want) {
		t.Errorf("CreateEnvironment = %+v\nwant %+v", env, want)
	}
	if !tstHex24.MatchString(env.ID) {
		t.Errorf("_id %q", env.ID)
	}
	tstCheckPrefixedUUID(t, "apiKey", env.APIKey, "sdk-")
	tstCheckPrefixedUUID(t, "mobileKey", env.MobileKey, "mob-")
	for _, e := range p.Environments {
		if e.ID == env.ID || e.APIKey == env.APIKey || e.MobileKey == env.MobileKey {
			t.Errorf("new environment reuses credentials of %s", e.Key)
		}
	}
	if got := tstMustEnv(t, st, "shop", "staging"); !reflect.DeepEqual(got, env) {
		t.Errorf("GetEnvironment = %+v, want %+v", got, env)
	}
	all := tstAllEnvs(t, st, "shop")
	if keys := tstKeys(all.Items); !slices.Equal(keys, []string{"production", "test", "staging"}) || all.TotalCount != 3 {
		t.Errorf("ListEnvironments = %v (total %d)", keys, all.TotalCount)
	}
	for secret, kind := range map[string]CredentialKind{env.APIKey: CredentialSDKKey, env.MobileKey: CredentialMobileKey, env.ID: CredentialClientSideID} {
		c, err := st.LookupCredential(ctx, secret)
		if err != nil || c != (Credential{Kind: kind, ProjectKey: "shop", EnvironmentKey: "staging"}) {
			t.Errorf("LookupCredential(%q) = %+v, %v", secret, c, err)
		}
	}
	// Segments can live in the new environment.
	tstMustSegment(t, st, "shop", "staging", "beta")

	// The same key in another project is a different environment.
	tstMustProject(t, st, "other")
	if _, err := st.CreateEnvironment(ctx, "other", post); err != nil {
		t.Errorf("same environment key in another project: %v", err)
	}
}

func TestStore_CreateEnvironmentRefused(t *testing.T) {
	t.Parallel()
	ok := EnvironmentPost{Key: "staging", Name: "Staging", Color: "000000"}
	with := func(f func(*EnvironmentPost)) EnvironmentPost { p := ok; f(&p); return p }
	cases := []struct {
		name  string
		proj  string
		post  EnvironmentPost
		check func(t testing.TB, err error)
	}{
		{"duplicate key", "shop", with(func(p *EnvironmentPost) { p.Key = "production" }), func(t testing.TB, err error) { tstExists(t, err) }},
		{"unknown project", "nope", ok, func(t testing.TB, err error) { tstNotFound(t, err) }},
		{"empty key", "shop", with(func(p *EnvironmentPost) { p.Key = "" }), func(t testing.TB, err error) { tstInvalid(t, err, "key") }},
		{"key with slash", "shop", with(func(p *EnvironmentPost) { p.Key = "a/b" }), func(t testing.TB, err error) { tstInvalid(t, err, "key") }},
		{"key starts with dash", "shop", with(func(p *EnvironmentPost) { p.Key = "-a" }), func(t testing.TB, err error) { tstInvalid(t, err, "key") }},
		{"empty name", "shop", with(func(p *EnvironmentPost) { p.Name = "" }), func(t testing.TB, err error) { tstInvalid(t, err, "name") }},
		{"name not UTF-8", "shop", with(func(p *EnvironmentPost) { p.Name = "St\xe4ging" }), func(t testing.TB, err error) { tstInvalid(t, err, "name") }},
		{"bad color", "shop", with(func(p *EnvironmentPost) { p.Color = "#00000" }), func(t testing.TB, err error) { tstInvalid(t, err, "color") }},
		{"long color", "shop", with(func(p *EnvironmentPost) { p.Color = "0000000" }), func(t testing.TB, err error) { tstInvalid(t, err, "color") }},
		{"negative ttl", "shop", with(func(p *EnvironmentPost) { p.DefaultTTL = -5 }), func(t testing.TB, err error) { tstInvalid(t, err, "defaultTtl") }},
		{"bad tag", "shop", with(func(p *EnvironmentPost) { p.Tags = []string{"ok", "not ok"} }), func(t testing.TB, err error) { tstInvalid(t, err, "tags") }},
		// Validation comes first, even for an unknown project.
		{"invalid body for unknown project", "nope", with(func(p *EnvironmentPost) { p.Color = "" }), func(t testing.TB, err error) { tstInvalid(t, err, "color") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := tstStore(t)
			tstMustProject(t, st, "shop")
			tstMustFlag(t, st, "shop", "f")
			before := tstSave(t, st)
			_, err := st.CreateEnvironment(t.Context(), tc.proj, tc.post)
			tc.check(t, err)
			if string(tstSave(t, st)) != string(before) {
				t.Errorf("a refused create changed the store")
			}
		})
	}
}

func TestStore_CreateEnvironmentAddsFlagConfigs(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")

	multi, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "color", Name: "Color",
		Variations: []Variation{{Value: "red"}, {Value: "green"}, {Value: "blue"}},
		Defaults:   &FlagDefaults{OnVariation: 2, OffVariation: 1}})
	if err != nil {
		t.Fatal(err)
	}
	boolean := tstMustFlag(t, st, "shop", "switch")
	archived := tstMustFlag(t, st, "shop", "old")
	if _, err := st.ArchiveFlag(ctx, "shop", "old"); err != nil {
		t.Fatal(err)
	}
	// Give production some targeting, which a new environment must not copy.
	if _, err := st.UpdateFlag(ctx, "shop", "color", func(f *Flag) error {
		c := f.Environments["production"]
		c.On = true
		c.Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	prodBefore, err := st.GetFlag(ctx, "shop", "color")
	if err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Minute)
	for _, tc := range []struct {
		env   EnvironmentPost
		track bool
	}{
		{EnvironmentPost{Key: "tracked", Name: "Tracked", Color: "111111", DefaultTrackEvents: true}, true},
		{EnvironmentPost{Key: "quiet", Name: "Quiet", Color: "222222"}, false},
	} {
		if _, err := st.CreateEnvironment(ctx, "shop", tc.env); err != nil {
			t.Fatal(err)
		}
		for _, want := range []struct {
			flag          Flag
			on, off       int
			archived      bool
			variationsLen int
		}{
			{multi, 2, 1, false, 3},
			{boolean, 0, 1, false, 2},
			{archived, 0, 1, true, 2},
		} {
			f, err := st.GetFlag(ctx, "shop", want.flag.Key)
			if err != nil {
				t.Fatal(err)
			}
			c := f.Environments[tc.env.Key]
			if c == nil {
				t.Errorf("flag %s has no configuration in %s", f.Key, tc.env.Key)
				continue
			}
			if c.Version != 1 || c.On || c.Archived != want.archived || c.TrackEvents != tc.track || c.TrackEventsFallthrough {
				t.Errorf("%s/%s: version %d on %v archived %v trackEvents %v", f.Key, tc.env.Key, c.Version, c.On, c.Archived, c.TrackEvents)
			}
			if c.Fallthrough.Variation == nil || *c.Fallthrough.Variation != want.on || c.Fallthrough.Rollout != nil {
				t.Errorf("%s/%s: fallthrough = %+v, want variation %d", f.Key, tc.env.Key, c.Fallthrough, want.on)
			}
			if c.OffVariation == nil || *c.OffVariation != want.off {
				t.Errorf("%s/%s: offVariation = %v, want %d", f.Key, tc.env.Key, c.OffVariation, want.off)
			}
			if len(c.Targets) != 0 || len(c.Rules) != 0 || len(c.Prerequisites) != 0 || len(c.ContextTargets) != 0 {
				t.Errorf("%s/%s: new configuration has targeting: %+v", f.Key, tc.env.Key, c)
			}
			if c.Salt == "" || c.Salt == f.Environments["production"].Salt {
				t.Errorf("%s/%s: salt %q", f.Key, tc.env.Key, c.Salt)
			}
			if c.EnvironmentName != tc.env.Name {
				t.Errorf("%s/%s: _environmentName = %q", f.Key, tc.env.Key, c.EnvironmentName)
			}
			if c.LastModified != clock.Millis() {
				t.Errorf("%s/%s: lastModified = %d, want %d", f.Key, tc.env.Key, c.LastModified, clock.Millis())
			}
		}
	}
	// Existing configurations are untouched.
	after, _ := st.GetFlag(ctx, "shop", "color")
	if !reflect.DeepEqual(after.Environments["production"], prodBefore.Environments["production"]) {
		t.Errorf("production config changed:\n%+v\n%+v", after.Environments["production"], prodBefore.Environments["production"])
	}
	// A flag created afterwards gets a configuration in every environment.
	f := tstMustFlag(t, st, "shop", "later")
	var envs []string
	for k := range f.Environments {
		envs = append(envs, k)
	}
	slices.Sort(envs)
	if !slices.Equal(envs, []string{"production", "quiet", "test", "tracked"}) {
		t.Errorf("environments of a new flag = %v", envs)
	}
	if !f.Environments["tracked"].TrackEvents || f.Environments["quiet"].TrackEvents {
		t.Errorf("trackEvents of a new flag do not follow defaultTrackEvents")
	}
}

func TestStore_DeleteEnvironment(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	tstMustProject(t, st, "other")
	env, err := st.CreateEnvironment(ctx, "shop", EnvironmentPost{Key: "staging", Name: "Staging", Color: "333333"})
	if err != nil {
		t.Fatal(err)
	}
	// The same keys elsewhere must survive: "staging" in project "other", and
	// "stag" (a prefix) in "shop".
	if _, err := st.CreateEnvironment(ctx, "other", EnvironmentPost{Key: "staging", Name: "Staging", Color: "333333"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateEnvironment(ctx, "shop", EnvironmentPost{Key: "stag", Name: "Stag", Color: "333333"}); err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, st, "shop", "f")
	tstMustFlag(t, st, "other", "f")
	for _, e := range []string{"staging", "stag", "production"} {
		tstMustSegment(t, st, "shop", e, "beta")
		tstMustSegment(t, st, "shop", e, "gamma")
	}
	tstMustSegment(t, st, "other", "staging", "beta")
	// A flag rule in staging uses the staging segment.
	if _, err := st.UpdateFlag(ctx, "shop", "f", func(f *Flag) error {
		for _, e := range []string{"staging", "stag"} {
			f.Environments[e].Rules = []Rule{{Variation: intPtr(0), Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"beta"}}}}}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := st.GetFlag(ctx, "shop", "f")

	if err := st.DeleteEnvironment(ctx, "shop", "staging"); err != nil {
		t.Fatal(err)
	}

	_, err = st.GetEnvironment(ctx, "shop", "staging")
	tstNotFound(t, err)
	_, err = st.GetSegment(ctx, "shop", "staging", "beta")
	tstNotFound(t, err)
	_, err = st.ListSegments(ctx, "shop", "staging", ListOptions{})
	tstNotFound(t, err)
	for _, s := range []string{env.APIKey, env.MobileKey, env.ID} {
		_, err := st.LookupCredential(ctx, s)
		tstNotFound(t, err)
	}
	f, err := st.GetFlag(ctx, "shop", "f")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Environments["staging"]; ok {
		t.Errorf("flag still has a staging configuration")
	}
	for _, e := range []string{"production", "test", "stag"} {
		if !reflect.DeepEqual(f.Environments[e], before.Environments[e]) {
			t.Errorf("configuration in %s changed", e)
		}
	}
	if f.Version <= before.Version {
		t.Errorf("flag _version %d did not rise from %d", f.Version, before.Version)
	}
	envs, err := st.ListEnvironments(ctx, "shop", ListOptions{Sort: "key"})
	if err != nil {
		t.Fatal(err)
	}
	if keys := tstKeys(envs.Items); !slices.Equal(keys, []string{"production", "stag", "test"}) || envs.TotalCount != 3 {
		t.Errorf("environments = %v (total %d)", keys, envs.TotalCount)
	}

	// Neighbours are intact.
	for _, e := range []string{"stag", "production"} {
		segs, err := st.ListSegments(ctx, "shop", e, ListOptions{})
		if err != nil || segs.TotalCount != 2 {
			t.Errorf("segments of %s = %+v, %v", e, segs, err)
		}
	}
	if _, err := st.GetSegment(ctx, "other", "staging", "beta"); err != nil {
		t.Errorf("segment of the other project: %v", err)
	}
	if of, _ := st.GetFlag(ctx, "other", "f"); of.Environments["staging"] == nil {
		t.Errorf("flag of the other project lost its staging configuration")
	}
	err = st.DeleteSegment(ctx, "shop", "stag", "beta")
	tstErr(t, err, ErrConflict, 409, CodeConflict)

	// Recreating the environment starts it empty.
	again, err := st.CreateEnvironment(ctx, "shop", EnvironmentPost{Key: "staging", Name: "Staging again", Color: "444444"})
	if err != nil {
		t.Fatal(err)
	}
	if again.ID == env.ID || again.APIKey == env.APIKey {
		t.Errorf("recreated environment reuses credentials")
	}
	segs, err := st.ListSegments(ctx, "shop", "staging", ListOptions{})
	if err != nil || segs.TotalCount != 0 || len(segs.Items) != 0 {
		t.Errorf("segments of recreated environment = %+v, %v", segs, err)
	}
	f, _ = st.GetFlag(ctx, "shop", "f")
	if c := f.Environments["staging"]; c == nil || c.Version != 1 || len(c.Rules) != 0 || c.EnvironmentName != "Staging again" {
		t.Errorf("recreated configuration = %+v", c)
	}
	// The old segment keys are free and unreferenced.
	tstMustSegment(t, st, "shop", "staging", "beta")
	if err := st.DeleteSegment(ctx, "shop", "staging", "beta"); err != nil {
		t.Errorf("DeleteSegment in recreated environment: %v", err)
	}
}

func TestStore_DeleteEnvironmentRefused(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	_, err := st.CreateProject(ctx, ProjectPost{Key: "solo", Name: "Solo",
		Environments: []EnvironmentPost{{Key: "only", Name: "Only", Color: "000000"}, {Key: "second", Name: "Second", Color: "000000"}}})
	if err != nil {
		t.Fatal(err)
	}
	err = st.DeleteEnvironment(ctx, "solo", "nope")
	tstNotFound(t, err)
	err = st.DeleteEnvironment(ctx, "nope", "only")
	tstNotFound(t, err)

	if err := st.DeleteEnvironment(ctx, "solo", "second"); err != nil {
		t.Fatal(err)
	}
	only := tstMustEnv(t, st, "solo", "only")
	before := tstSave(t, st)
	err = st.DeleteEnvironment(ctx, "solo", "only")
	tstInvalid(t, err, "")
	if string(tstSave(t, st)) != string(before) {
		t.Errorf("a refused delete changed the store")
	}
	if c, err := st.LookupCredential(ctx, only.APIKey); err != nil || c.EnvironmentKey != "only" {
		t.Errorf("credential of the last environment: %+v, %v", c, err)
	}
	// After adding another, the first can go.
	if _, err := st.CreateEnvironment(ctx, "solo", EnvironmentPost{Key: "next", Name: "Next", Color: "000000"}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteEnvironment(ctx, "solo", "only"); err != nil {
		t.Errorf("DeleteEnvironment with two environments: %v", err)
	}
}

func TestStore_GetEnvironment(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	p := tstMustProject(t, st, "shop")
	got, err := st.GetEnvironment(ctx, "shop", "test")
	if err != nil || !reflect.DeepEqual(got, p.Environments[1]) {
		t.Errorf("GetEnvironment = %+v, %v; want %+v", got, err, p.Environments[1])
	}
	for _, c := range []struct{ proj, env string }{
		{"shop", "nope"}, {"shop", "Test"}, {"nope", "test"}, {"", ""}, {"shop", ""}, {"shop", "test/x"},
	} {
		_, err := st.GetEnvironment(ctx, c.proj, c.env)
		tstNotFound(t, err)
	}
	_, err = st.ListEnvironments(ctx, "nope", ListOptions{})
	tstNotFound(t, err)
}

func TestStore_UpdateEnvironment(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	orig := tstMustEnv(t, st, "shop", "test")
	clock.Advance(time.Hour)

	got, err := st.UpdateEnvironment(ctx, "shop", "test", func(e *Environment) error {
		e.Name = "QA"
		e.Color = "ABCDEF"
		e.Tags = []string{"qa"}
		e.DefaultTTL = 3
		e.SecureMode, e.DefaultTrackEvents, e.RequireComments, e.ConfirmChanges, e.Critical = true, true, true, true, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := orig
	want.Name, want.Color, want.Tags, want.DefaultTTL = "QA", "ABCDEF", []string{"qa"}, 3
	want.SecureMode, want.DefaultTrackEvents, want.RequireComments, want.ConfirmChanges, want.Critical = true, true, true, true, true
	want.Version = 2
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UpdateEnvironment = %+v\nwant %+v", got, want)
	}
	if read := tstMustEnv(t, st, "shop", "test"); !reflect.DeepEqual(read, want) {
		t.Errorf("GetEnvironment = %+v\nwant %+v", read, want)
	}

	// One version per real change.
	for i, fn := range []func(*Environment){
		func(e *Environment) { e.Name = "QA 2" },
		func(e *Environment) { e.Tags = nil },
		func(e *Environment) { e.Critical = false },
	} {
		got, err := st.UpdateEnvironment(ctx, "shop", "test", func(e *Environment) error { fn(e); return nil })
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 3+i {
			t.Errorf("change %d: version = %d, want %d", i, got.Version, 3+i)
		}
	}
	cur := tstMustEnv(t, st, "shop", "test")
	if cur.Tags == nil || len(cur.Tags) != 0 {
		t.Errorf("tags after clearing = %#v", cur.Tags)
	}

	// No-ops keep the version and write nothing.
	rev := tstRevision(t, st)
	for name, fn := range map[string]func(*Environment){
		"nothing":   func(*Environment) {},
		"same name": func(e *Environment) { e.Name = cur.Name },
		"nil tags":  func(e *Environment) { e.Tags = nil },
	} {
		got, err := st.UpdateEnvironment(ctx, "shop", "test", func(e *Environment) error { fn(e); return nil })
		if err != nil || !reflect.DeepEqual(got, cur) {
			t.Errorf("%s: UpdateEnvironment = %+v, %v; want %+v", name, got, err, cur)
		}
	}
	if r := tstRevision(t, st); r != rev {
		t.Errorf("no-op updates wrote: revision %d -> %d", rev, r)
	}

	// Name changes show in flags' _environmentName.
	tstMustFlag(t, st, "shop", "f")
	if _, err := st.UpdateEnvironment(ctx, "shop", "test", func(e *Environment) error { e.Name = "Renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	if f, _ := st.GetFlag(ctx, "shop", "f"); f.Environments["test"].EnvironmentName != "Renamed" {
		t.Errorf("_environmentName = %q", f.Environments["test"].EnvironmentName)
	}

	_, err = st.UpdateEnvironment(ctx, "shop", "nope", func(*Environment) error { return nil })
	tstNotFound(t, err)
	_, err = st.UpdateEnvironment(ctx, "nope", "test", func(*Environment) error { return nil })
	tstNotFound(t, err)
}

func TestStore_UpdateEnvironmentRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(*Environment)
		attr string
	}{
		{"key", func(e *Environment) { e.Key = "other" }, "key"},
		{"_id", func(e *Environment) { e.ID = "ffffffffffffffffffffffff" }, "_id"},
		{"apiKey", func(e *Environment) { e.APIKey = "sdk-00000000-0000-0000-0000-000000000000" }, "apiKey"},
		{"mobileKey", func(e *Environment) { e.MobileKey = "mob-00000000-0000-0000-0000-000000000000" }, ""},
		{"creationDate", func(e *Environment) { e.CreationDate = 1 }, "creationDate"},
		{"version", func(e *Environment) { e.Version = 7 }, "version"},
		{"version with a real change", func(e *Environment) { e.Name = "x"; e.Version++ }, "version"},
		{"empty name", func(e *Environment) { e.Name = "" }, "name"},
		{"name not UTF-8", func(e *Environment) { e.Name = "\xff\xfe" }, "name"},
		{"bad color", func(e *Environment) { e.Color = "red" }, "color"},
		{"negative ttl", func(e *Environment) { e.DefaultTTL = -1 }, "defaultTtl"},
		{"bad tag", func(e *Environment) { e.Tags = []string{"a", "a"} }, "tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := tstStore(t)
			tstMustProject(t, st, "shop")
			before := tstMustEnv(t, st, "shop", "production")
			save := tstSave(t, st)
			_, err := st.UpdateEnvironment(t.Context(), "shop", "production", func(e *Environment) error { tc.fn(e); return nil })
			tstInvalid(t, err, tc.attr)
			if after := tstMustEnv(t, st, "shop", "production"); !reflect.DeepEqual(after, before) {
				t.Errorf("environment changed: %+v", after)
			}
			if string(tstSave(t, st)) != string(save) {
				t.Errorf("a refused update changed the store")
			}
			if _, err := st.LookupCredential(t.Context(), before.APIKey); err != nil {
				t.Errorf("SDK key stopped working: %v", err)
			}
		})
	}
}

func TestStore_ListEnvironmentsNames(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	_, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop", Environments: []EnvironmentPost{
		{Key: "prod", Name: "Zeta", Color: "000000", Tags: []string{"live"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []EnvironmentPost{
		{Key: "dev", Name: "alpha", Color: "000000"},
		{Key: "canary", Name: "Mu", Color: "000000", Tags: []string{"live"}},
	} {
		clock.Advance(time.Second)
		if _, err := st.CreateEnvironment(ctx, "shop", e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		o    ListOptions
		want []string
		tot  int
	}{
		{ListOptions{}, []string{"prod", "dev", "canary"}, 3},
		{ListOptions{Sort: "-creationDate"}, []string{"canary", "dev", "prod"}, 3},
		{ListOptions{Sort: "key"}, []string{"canary", "dev", "prod"}, 3},
		{ListOptions{Sort: "-key"}, []string{"prod", "dev", "canary"}, 3},
		{ListOptions{Sort: "name"}, []string{"dev", "canary", "prod"}, 3},
		{ListOptions{Sort: "-name"}, []string{"prod", "canary", "dev"}, 3},
		{ListOptions{Limit: 2}, []string{"prod", "dev"}, 3},
		{ListOptions{Limit: 2, Offset: 2}, []string{"canary"}, 3},
		{ListOptions{Tag: "live"}, []string{"prod", "canary"}, 2},
		{ListOptions{Query: "ALP"}, []string{"dev"}, 1},
		{ListOptions{Query: "d"}, []string{"prod", "dev"}, 2},
	} {
		l, err := st.ListEnvironments(ctx, "shop", tc.o)
		if err != nil {
			t.Errorf("%+v: %v", tc.o, err)
			continue
		}
		if keys := tstKeys(l.Items); !slices.Equal(keys, tc.want) || l.TotalCount != tc.tot {
			t.Errorf("ListEnvironments(%+v) = %v (total %d), want %v (total %d)", tc.o, keys, l.TotalCount, tc.want, tc.tot)
		}
	}
	_, err = st.ListEnvironments(ctx, "shop", ListOptions{Sort: "color"})
	tstInvalid(t, err, "sort")

	// Renaming re-sorts.
	if _, err := st.UpdateEnvironment(ctx, "shop", "prod", func(e *Environment) error { e.Name = "Aaa"; return nil }); err != nil {
		t.Fatal(err)
	}
	l, _ := st.ListEnvironments(ctx, "shop", ListOptions{Sort: "name"})
	if keys := tstKeys(l.Items); !slices.Equal(keys, []string{"prod", "dev", "canary"}) {
		t.Errorf("after rename: %v", keys)
	}
	if l, _ := st.ListEnvironments(ctx, "shop", ListOptions{Query: strings.ToLower("Zeta")}); l.TotalCount != 0 {
		t.Errorf("the old name still matches: %v", tstKeys(l.Items))
	}
	// Deleting updates the counts.
	if err := st.DeleteEnvironment(ctx, "shop", "canary"); err != nil {
		t.Fatal(err)
	}
	if l, _ := st.ListEnvironments(ctx, "shop", ListOptions{Tag: "live"}); l.TotalCount != 1 || tstKeys(l.Items)[0] != "prod" {
		t.Errorf("tag live after delete = %v (total %d)", tstKeys(l.Items), l.TotalCount)
	}
}

// Environments and flags created concurrently end up fully connected: every
// flag has a configuration in every environment.
func TestStore_CreateEnvironmentConcurrentWithFlags(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := st.CreateEnvironment(ctx, "shop", EnvironmentPost{Key: fmt.Sprintf("env%d", i), Name: "E", Color: "000000"}); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: fmt.Sprintf("flag%d", i), Name: "F"}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	envs := tstAllEnvs(t, st, "shop")
	if envs.TotalCount != n+2 {
		t.Fatalf("%d environments, want %d", envs.TotalCount, n+2)
	}
	flags, err := st.ListFlags(ctx, "shop", ListOptions{Limit: 100})
	if err != nil || flags.TotalCount != n {
		t.Fatalf("ListFlags = %d, %v", flags.TotalCount, err)
	}
	for _, f := range flags.Items {
		for _, e := range envs.Items {
			if c := f.Environments[e.Key]; c == nil || c.Version != 1 {
				t.Errorf("flag %s in %s: %+v", f.Key, e.Key, c)
			}
		}
		if len(f.Environments) != n+2 {
			t.Errorf("flag %s has %d configurations", f.Key, len(f.Environments))
		}
	}
}
