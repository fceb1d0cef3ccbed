package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStore_CreateProjectDefaultEnvironments(t *testing.T) {
	t.Parallel()
	st, clock := tstStoreDefaultGens(t)
	ctx := t.Context()

	p, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Key != "shop" || p.Name != "Shop" {
		t.Errorf("key/name = %q/%q", p.Key, p.Name)
	}
	if !tstHex24.MatchString(p.ID) {
		t.Errorf("_id %q is not 24 hex digits", p.ID)
	}
	if p.Tags == nil || len(p.Tags) != 0 {
		t.Errorf("tags = %#v, want empty non-nil", p.Tags)
	}
	if p.CreationDate != clock.Millis() {
		t.Errorf("creationDate = %d, want %d", p.CreationDate, clock.Millis())
	}
	if p.DefaultClientSideAvailability == nil ||
		*p.DefaultClientSideAvailability != (ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: false}) {
		t.Errorf("defaultClientSideAvailability = %+v", p.DefaultClientSideAvailability)
	}

	want := []struct{ key, name, color string }{
		{"production", "Production", "417505"},
		{"test", "Test", "F5A623"},
	}
	if len(p.Environments) != len(want) {
		t.Fatalf("got %d environments, want %d: %+v", len(p.Environments), len(want), p.Environments)
	}
	seen := map[string]string{p.ID: "project _id"}
	for i, w := range want {
		e := p.Environments[i]
		if e.Key != w.key || e.Name != w.name || e.Color != w.color {
			t.Errorf("environment %d = %q/%q/%q, want %q/%q/%q", i, e.Key, e.Name, e.Color, w.key, w.name, w.color)
		}
		if !tstHex24.MatchString(e.ID) {
			t.Errorf("%s: _id %q is not 24 hex digits", e.Key, e.ID)
		}
		tstCheckPrefixedUUID(t, e.Key+" apiKey", e.APIKey, "sdk-")
		tstCheckPrefixedUUID(t, e.Key+" mobileKey", e.MobileKey, "mob-")
		if e.Version != 1 || e.CreationDate != clock.Millis() {
			t.Errorf("%s: version %d, creationDate %d", e.Key, e.Version, e.CreationDate)
		}
		if e.Tags == nil || len(e.Tags) != 0 {
			t.Errorf("%s: tags = %#v, want empty non-nil", e.Key, e.Tags)
		}
		if e.DefaultTTL != 0 || e.SecureMode || e.DefaultTrackEvents || e.RequireComments || e.ConfirmChanges || e.Critical {
			t.Errorf("%s: unexpected non-default settings %+v", e.Key, e)
		}
		for _, s := range []string{e.ID, e.APIKey, e.MobileKey, strings.TrimPrefix(e.APIKey, "sdk-"), strings.TrimPrefix(e.MobileKey, "mob-")} {
			if prev, dup := seen[s]; dup {
				t.Errorf("%s: %q repeats %s", e.Key, s, prev)
			}
			seen[s] = e.Key
		}
		got, err := st.GetEnvironment(ctx, "shop", e.Key)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Errorf("GetEnvironment(%s) = %+v, want %+v", e.Key, got, e)
		}
	}

	// GET returns the project without its environments.
	got, err := st.GetProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	wantGet := p
	wantGet.Environments = nil
	if !reflect.DeepEqual(got, wantGet) {
		t.Errorf("GetProject = %+v, want %+v", got, wantGet)
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"tags":[]`) || strings.Contains(string(b), `"environments"`) {
		t.Errorf("JSON of GetProject = %s", b)
	}
	envs := tstAllEnvs(t, st, "shop")
	if envs.TotalCount != 2 || !reflect.DeepEqual(envs.Items, p.Environments) {
		t.Errorf("ListEnvironments = %+v, want %+v", envs, p.Environments)
	}

	// A second project gets fresh credentials too.
	q, err := st.CreateProject(ctx, ProjectPost{Key: "shop2", Name: "Shop 2"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range q.Environments {
		for _, s := range []string{e.ID, e.APIKey, e.MobileKey} {
			if prev, dup := seen[s]; dup {
				t.Errorf("shop2/%s: %q repeats %s", e.Key, s, prev)
			}
		}
	}
}

func TestStore_CreateProjectWithEnvironments(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()

	post := ProjectPost{
		Key:                       "mobile-app",
		Name:                      "Mobile app",
		Tags:                      []string{"team-a", "ios"},
		IncludeInSnippetByDefault: true,
		Environments: []EnvironmentPost{
			{Key: "dev", Name: "Development", Color: "abcdef", DefaultTTL: 5, SecureMode: true, DefaultTrackEvents: true,
				RequireComments: true, ConfirmChanges: true, Tags: []string{"internal"}, Critical: false},
			{Key: "live", Name: "Live", Color: "00FF00", Critical: true},
		},
	}
	p, err := st.CreateProject(ctx, post)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.Tags, post.Tags) || !p.IncludeInSnippetByDefault {
		t.Errorf("project = %+v", p)
	}
	if p.DefaultClientSideAvailability == nil || *p.DefaultClientSideAvailability != (ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: true}) {
		t.Errorf("defaultClientSideAvailability = %+v, want mobile and environment id", p.DefaultClientSideAvailability)
	}
	if got := tstKeys(p.Environments); !slices.Equal(got, []string{"dev", "live"}) {
		t.Fatalf("environments = %v, want exactly the given ones", got)
	}
	dev := p.Environments[0]
	want := Environment{
		ID: dev.ID, Key: "dev", Name: "Development", APIKey: dev.APIKey, MobileKey: dev.MobileKey, Color: "abcdef",
		DefaultTTL: 5, SecureMode: true, DefaultTrackEvents: true, RequireComments: true, ConfirmChanges: true,
		Tags: []string{"internal"}, CreationDate: clock.Millis(), Version: 1,
	}
	if !reflect.DeepEqual(dev, want) {
		t.Errorf("dev = %+v\nwant %+v", dev, want)
	}
	if !p.Environments[1].Critical || p.Environments[1].Color != "00FF00" {
		t.Errorf("live = %+v", p.Environments[1])
	}
	// The injected generators make every ID and key.
	for _, e := range p.Environments {
		if !tstHex24.MatchString(e.ID) || !strings.HasPrefix(e.ID, "0000000000") {
			t.Errorf("%s: _id %q does not come from the ID generator", e.Key, e.ID)
		}
		for _, k := range []string{e.APIKey, e.MobileKey} {
			if !strings.Contains(k, "-0000-4000-8000-") {
				t.Errorf("%s: key %q does not come from the UUID generator", e.Key, k)
			}
		}
	}
	envs := tstAllEnvs(t, st, "mobile-app")
	if !reflect.DeepEqual(envs.Items, p.Environments) || envs.TotalCount != 2 {
		t.Errorf("ListEnvironments = %+v", envs)
	}

	// An explicit defaultClientSideAvailability wins over the legacy flag.
	q, err := st.CreateProject(ctx, ProjectPost{Key: "web", Name: "Web", IncludeInSnippetByDefault: true,
		DefaultClientSideAvailability: &ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: false}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetProject(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.DefaultClientSideAvailability == nil || *got.DefaultClientSideAvailability != (ClientSideAvailability{}) ||
		*q.DefaultClientSideAvailability != (ClientSideAvailability{}) {
		t.Errorf("defaultClientSideAvailability = %+v", got.DefaultClientSideAvailability)
	}
}

// The project that CreateProject returns is the caller's own copy: changing
// the request afterwards does not change it.
func TestStore_CreateProjectReturnsCopy(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tags := []string{"a", "b"}
	avail := &ClientSideAvailability{UsingMobileKey: true}
	envTags := []string{"x"}
	p, err := st.CreateProject(t.Context(), ProjectPost{Key: "p", Name: "P", Tags: tags, DefaultClientSideAvailability: avail,
		Environments: []EnvironmentPost{{Key: "e", Name: "E", Color: "000000", Tags: envTags}}})
	if err != nil {
		t.Fatal(err)
	}
	tags[0], envTags[0] = "changed", "changed"
	avail.UsingEnvironmentID = true
	if p.Tags[0] != "a" || p.Environments[0].Tags[0] != "x" || p.DefaultClientSideAvailability.UsingEnvironmentID {
		t.Errorf("result aliases the request: %+v", p)
	}
}

func TestStore_CreateProjectKeys(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	for _, key := range []string{"a", "0", "A", "a.b_c-d", "9lives", strings.Repeat("k", maxKeyLength)} {
		if _, err := st.CreateProject(t.Context(), ProjectPost{Key: key, Name: "n"}); err != nil {
			t.Errorf("CreateProject(%q): %v", key, err)
		}
	}
	// Keys are case-sensitive.
	if _, err := st.CreateProject(t.Context(), ProjectPost{Key: "a.B_c-d", Name: "n"}); err != nil {
		t.Errorf("CreateProject differing only in case: %v", err)
	}
	if n := tstAllProjects(t, st).TotalCount; n != 7 {
		t.Errorf("TotalCount = %d, want 7", n)
	}
}

func TestStore_CreateProjectDuplicateKey(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	orig := tstMustProject(t, st, "shop")
	before := tstSave(t, st)

	_, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Another",
		Environments: []EnvironmentPost{{Key: "other", Name: "Other", Color: "123456"}}})
	tstExists(t, err)

	if after := tstSave(t, st); string(after) != string(before) {
		t.Errorf("a refused create changed the store")
	}
	got, err := st.GetProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != orig.Name || got.ID != orig.ID {
		t.Errorf("project changed: %+v", got)
	}
	if keys := tstKeys(tstAllEnvs(t, st, "shop").Items); !slices.Equal(keys, []string{"production", "test"}) {
		t.Errorf("environments = %v", keys)
	}
}

func TestStore_CreateProjectInvalid(t *testing.T) {
	t.Parallel()
	okEnv := EnvironmentPost{Key: "prod", Name: "Prod", Color: "417505"}
	withEnv := func(e EnvironmentPost) []EnvironmentPost { return []EnvironmentPost{okEnv, e} }
	cases := []struct {
		name string
		post ProjectPost
		attr string
	}{
		{"empty key", ProjectPost{Key: "", Name: "n"}, "key"},
		{"key starts with dash", ProjectPost{Key: "-shop", Name: "n"}, "key"},
		{"key starts with dot", ProjectPost{Key: ".shop", Name: "n"}, "key"},
		{"key starts with underscore", ProjectPost{Key: "_shop", Name: "n"}, "key"},
		{"key with slash", ProjectPost{Key: "sh/op", Name: "n"}, "key"},
		{"key with space", ProjectPost{Key: "sh op", Name: "n"}, "key"},
		{"key with non-ASCII", ProjectPost{Key: "shöp", Name: "n"}, "key"},
		{"key with NUL", ProjectPost{Key: "shop\x00", Name: "n"}, "key"},
		{"key too long", ProjectPost{Key: strings.Repeat("k", maxKeyLength+1), Name: "n"}, "key"},
		{"empty name", ProjectPost{Key: "shop", Name: ""}, "name"},
		{"blank name", ProjectPost{Key: "shop", Name: " \t "}, "name"},
		{"name too long", ProjectPost{Key: "shop", Name: strings.Repeat("n", 1025)}, "name"},
		{"name not UTF-8", ProjectPost{Key: "shop", Name: "Sh\xffop"}, "name"},
		{"empty tag", ProjectPost{Key: "shop", Name: "n", Tags: []string{""}}, "tags"},
		{"tag with space", ProjectPost{Key: "shop", Name: "n", Tags: []string{"a b"}}, "tags"},
		{"tag with slash", ProjectPost{Key: "shop", Name: "n", Tags: []string{"a/b"}}, "tags"},
		{"duplicate tag", ProjectPost{Key: "shop", Name: "n", Tags: []string{"a", "a"}}, "tags"},
		{"tag too long", ProjectPost{Key: "shop", Name: "n", Tags: []string{strings.Repeat("t", maxKeyLength+1)}}, "tags"},
		{"duplicate environment keys", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(okEnv)}, "environments"},
		{"environment color with #", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "E", Color: "#41750"})}, "environments.color"},
		{"environment color short", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "E", Color: "41750"})}, "environments.color"},
		{"environment color not hex", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "E", Color: "GGGGGG"})}, "environments.color"},
		{"environment color empty", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "E"})}, "environments.color"},
		{"environment key invalid", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "-e", Name: "E", Color: "000000"})}, "environments.key"},
		{"environment name empty", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Color: "000000"})}, "environments.name"},
		{"environment name not UTF-8", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "\xc3", Color: "000000"})}, "environments.name"},
		{"environment negative ttl", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "E", Color: "000000", DefaultTTL: -1})}, "environments.defaultTtl"},
		{"environment bad tag", ProjectPost{Key: "shop", Name: "n", Environments: withEnv(EnvironmentPost{Key: "e", Name: "E", Color: "000000", Tags: []string{"x y"}})}, "environments.tags"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := tstStore(t)
			tstMustProject(t, st, "existing")
			before := tstAllProjects(t, st)
			beforeRev := tstRevision(t, st)

			_, err := st.CreateProject(t.Context(), tc.post)
			tstInvalid(t, err, tc.attr)

			after := tstAllProjects(t, st)
			if !reflect.DeepEqual(after, before) {
				t.Errorf("project list changed: %v -> %v", tstKeys(before.Items), tstKeys(after.Items))
			}
			if rev := tstRevision(t, st); rev != beforeRev {
				t.Errorf("revision moved from %d to %d", beforeRev, rev)
			}
			if tc.post.Key != "" && !strings.ContainsAny(tc.post.Key, "/\x00") {
				_, err := st.GetProject(t.Context(), tc.post.Key)
				tstNotFound(t, err)
			}
		})
	}
}

func TestStore_CreateProjectConcurrent(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = st.CreateProject(t.Context(), ProjectPost{Key: "same", Name: "Same"})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			tstExists(t, err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent creates of one key succeeded, want 1", ok)
	}

	keys := make([]string, n)
	projects := make([]Project, n)
	for i := range n {
		keys[i] = "p" + strings.Repeat("x", i)
		wg.Go(func() {
			var err error
			projects[i], err = st.CreateProject(t.Context(), ProjectPost{Key: keys[i], Name: keys[i]})
			if err != nil {
				t.Errorf("CreateProject(%q): %v", keys[i], err)
			}
		})
	}
	wg.Wait()
	if got := tstAllProjects(t, st).TotalCount; got != n+1 {
		t.Errorf("TotalCount = %d, want %d", got, n+1)
	}
	creds := map[string]bool{}
	for _, p := range projects {
		for _, e := range p.Environments {
			for _, c := range []string{e.ID, e.APIKey, e.MobileKey} {
				if creds[c] {
					t.Errorf("credential %q handed out twice", c)
				}
				creds[c] = true
				got, err := st.LookupCredential(t.Context(), c)
				if err != nil || got.ProjectKey != p.Key || got.EnvironmentKey != e.Key {
					t.Errorf("LookupCredential(%q) = %+v, %v; want %s/%s", c, got, err, p.Key, e.Key)
				}
			}
		}
	}
}

func TestStore_GetProject(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	created, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop", Tags: []string{"t1"}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetProject(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	created.Environments = nil
	if !reflect.DeepEqual(got, created) {
		t.Errorf("GetProject = %+v, want %+v", got, created)
	}
	for _, key := range []string{"Shop", "shop2", "sho", "", "shop/", "p/shop", "../shop", "shop\x00"} {
		_, err := st.GetProject(ctx, key)
		tstNotFound(t, err)
	}
	// The result is a copy.
	got.Tags[0] = "changed"
	again, _ := st.GetProject(ctx, "shop")
	if again.Tags[0] != "t1" {
		t.Errorf("GetProject result aliases stored data")
	}
}

func TestStore_UpdateProject(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	orig := tstMustProject(t, st, "shop")
	orig.Environments = nil
	clock.Advance(time.Minute)

	got, err := st.UpdateProject(ctx, "shop", func(p *Project) error {
		p.Name = "Renamed"
		p.Tags = []string{"blue", "green"}
		p.IncludeInSnippetByDefault = true
		p.DefaultClientSideAvailability = &ClientSideAvailability{UsingEnvironmentID: true}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := orig
	want.Name, want.Tags, want.IncludeInSnippetByDefault = "Renamed", []string{"blue", "green"}, true
	want.DefaultClientSideAvailability = &ClientSideAvailability{UsingEnvironmentID: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("UpdateProject = %+v\nwant %+v", got, want)
	}
	if read, _ := st.GetProject(ctx, "shop"); !reflect.DeepEqual(read, want) {
		t.Errorf("GetProject after update = %+v\nwant %+v", read, want)
	}
	tagged, err := st.ListProjects(ctx, ListOptions{Tag: "green"})
	if err != nil || tagged.TotalCount != 1 || tstKeys(tagged.Items)[0] != "shop" {
		t.Errorf("ListProjects(tag green) = %+v, %v", tagged, err)
	}

	// Clearing the tags stores an empty list.
	got, err = st.UpdateProject(ctx, "shop", func(p *Project) error { p.Tags = nil; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got.Tags == nil || len(got.Tags) != 0 {
		t.Errorf("tags after clearing = %#v", got.Tags)
	}
	if tagged, _ := st.ListProjects(ctx, ListOptions{Tag: "green"}); tagged.TotalCount != 0 || len(tagged.Items) != 0 {
		t.Errorf("ListProjects(tag green) after clearing = %+v", tagged)
	}

	_, err = st.UpdateProject(ctx, "nope", func(*Project) error { return nil })
	tstNotFound(t, err)
}

func TestStore_UpdateProjectRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(*Project)
		attr string
	}{
		{"key", func(p *Project) { p.Key = "other" }, "key"},
		{"_id", func(p *Project) { p.ID = "ffffffffffffffffffffffff" }, "_id"},
		{"creationDate", func(p *Project) { p.CreationDate++ }, "creationDate"},
		{"environments", func(p *Project) { p.Environments = []Environment{{Key: "x"}} }, "environments"},
		{"empty name", func(p *Project) { p.Name = "" }, "name"},
		{"blank name", func(p *Project) { p.Name = "   " }, "name"},
		{"name not UTF-8", func(p *Project) { p.Name = "\xff" }, "name"},
		{"bad tag", func(p *Project) { p.Tags = []string{"no spaces"} }, "tags"},
		{"duplicate tag", func(p *Project) { p.Tags = []string{"a", "a"} }, "tags"},
		{"valid change with a key change", func(p *Project) { p.Name = "ok"; p.Key = "x" }, "key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, _ := tstStore(t)
			tstMustProject(t, st, "shop")
			before, _ := st.GetProject(t.Context(), "shop")
			save := tstSave(t, st)

			_, err := st.UpdateProject(t.Context(), "shop", func(p *Project) error { tc.fn(p); return nil })
			tstInvalid(t, err, tc.attr)

			after, err := st.GetProject(t.Context(), "shop")
			if err != nil || !reflect.DeepEqual(after, before) {
				t.Errorf("project changed: %+v, %v", after, err)
			}
			if string(tstSave(t, st)) != string(save) {
				t.Errorf("a refused update changed the store")
			}
		})
	}

	t.Run("callback error", func(t *testing.T) {
		t.Parallel()
		st, _ := tstStore(t)
		tstMustProject(t, st, "shop")
		save := tstSave(t, st)
		boom := errors.New("boom")
		_, err := st.UpdateProject(t.Context(), "shop", func(p *Project) error { p.Name = "changed"; return boom })
		if err == nil {
			t.Fatal("UpdateProject ignored the callback's error")
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("error %v is not an *Error", err)
		}
		if string(tstSave(t, st)) != string(save) {
			t.Errorf("a failed update changed the store")
		}
	})
}

func TestStore_UpdateProjectNoop(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	before, _ := st.GetProject(ctx, "shop")
	rev := tstRevision(t, st)

	for name, fn := range map[string]func(*Project) error{
		"nothing":         func(*Project) error { return nil },
		"same name":       func(p *Project) error { p.Name = before.Name; return nil },
		"nil for no tags": func(p *Project) error { p.Tags = nil; return nil },
	} {
		got, err := st.UpdateProject(ctx, "shop", fn)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, before) {
			t.Errorf("%s: UpdateProject = %+v, want %+v", name, got, before)
		}
		if r := tstRevision(t, st); r != rev {
			t.Errorf("%s: a no-op update wrote (revision %d -> %d)", name, rev, r)
		}
	}
}

func TestStore_DeleteProjectCascades(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()

	// "app" is a prefix of "app2": deleting it must not touch app2.
	var doomed, kept Project
	for _, key := range []string{"app", "app2"} {
		p, err := st.CreateProject(ctx, ProjectPost{Key: key, Name: key, Tags: []string{"shared"}})
		if err != nil {
			t.Fatal(err)
		}
		tstMustFlag(t, st, key, "prereq", "ft")
		tstMustFlag(t, st, key, "dependent")
		tstMustSegment(t, st, key, "production", "beta")
		tstMustSegment(t, st, key, "test", "beta")
		if _, err := st.UpdateFlag(ctx, key, "dependent", func(f *Flag) error {
			c := f.Environments["production"]
			c.Prerequisites = []Prerequisite{{Key: "prereq", Variation: 0}}
			c.Rules = []Rule{{Variation: intPtr(0), Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"beta"}}}}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if key == "app" {
			doomed = p
		} else {
			kept = p
		}
	}
	// A retired, still valid key of the doomed project.
	old := doomed.Environments[0].APIKey
	if _, err := st.ResetSDKKey(ctx, "app", "production", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LookupCredential(ctx, old); err != nil {
		t.Fatalf("retired key before delete: %v", err)
	}
	reset := tstMustEnv(t, st, "app", "production")
	keysBefore := tstRawKeys(t, st, "")

	if err := st.DeleteProject(ctx, "app"); err != nil {
		t.Fatal(err)
	}

	_, err := st.GetProject(ctx, "app")
	tstNotFound(t, err)
	_, err = st.ListEnvironments(ctx, "app", ListOptions{})
	tstNotFound(t, err)
	_, err = st.GetEnvironment(ctx, "app", "production")
	tstNotFound(t, err)
	_, err = st.GetFlag(ctx, "app", "dependent")
	tstNotFound(t, err)
	_, err = st.ListFlags(ctx, "app", ListOptions{})
	tstNotFound(t, err)
	_, err = st.GetSegment(ctx, "app", "production", "beta")
	tstNotFound(t, err)
	secrets := []string{old, reset.APIKey}
	for _, e := range doomed.Environments {
		secrets = append(secrets, e.APIKey, e.MobileKey, e.ID)
	}
	for _, s := range secrets {
		_, err := st.LookupCredential(ctx, s)
		tstNotFound(t, err)
	}
	all := tstAllProjects(t, st)
	if keys := tstKeys(all.Items); !slices.Equal(keys, []string{"app2"}) || all.TotalCount != 1 {
		t.Errorf("projects after delete = %v (total %d)", keys, all.TotalCount)
	}
	if l, _ := st.ListProjects(ctx, ListOptions{Tag: "shared"}); l.TotalCount != 1 {
		t.Errorf("tagged TotalCount after delete = %d, want 1", l.TotalCount)
	}
	// Nothing of the project is left in the key space, and app2 lost nothing.
	for _, k := range tstRawKeys(t, st, "") {
		if k == "p/app" || strings.Contains(k, "/app/") || strings.HasSuffix(k, "/app") || strings.HasSuffix(k, "\x00app") {
			t.Errorf("key %q of the deleted project is left", k)
		}
	}
	for _, k := range keysBefore {
		if strings.Contains(k, "app2") && !slices.Contains(tstRawKeys(t, st, k), k) {
			t.Errorf("key %q of the other project is gone", k)
		}
	}

	// The other project is intact.
	if _, err := st.GetFlag(ctx, "app2", "dependent"); err != nil {
		t.Error(err)
	}
	if _, err := st.GetSegment(ctx, "app2", "production", "beta"); err != nil {
		t.Error(err)
	}
	for _, e := range kept.Environments {
		for _, s := range []string{e.APIKey, e.MobileKey, e.ID} {
			if c, err := st.LookupCredential(ctx, s); err != nil || c.ProjectKey != "app2" {
				t.Errorf("LookupCredential(%q) = %+v, %v", s, c, err)
			}
		}
	}
	err = st.DeleteSegment(ctx, "app2", "production", "beta")
	tstErr(t, err, ErrConflict, 409, CodeConflict)

	// A new project with the same key starts empty.
	p, err := st.CreateProject(ctx, ProjectPost{Key: "app", Name: "Again"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID == doomed.ID {
		t.Errorf("new project reuses the old _id")
	}
	flags, err := st.ListFlags(ctx, "app", ListOptions{})
	if err != nil || flags.TotalCount != 0 || len(flags.Items) != 0 {
		t.Errorf("ListFlags of recreated project = %+v, %v", flags, err)
	}
	if archived, _ := st.ListFlags(ctx, "app", ListOptions{Archived: true}); archived.TotalCount != 0 {
		t.Errorf("archived flags of recreated project = %+v", archived)
	}
	segs, err := st.ListSegments(ctx, "app", "production", ListOptions{})
	if err != nil || segs.TotalCount != 0 || len(segs.Items) != 0 {
		t.Errorf("ListSegments of recreated project = %+v, %v", segs, err)
	}
	if envs := tstAllEnvs(t, st, "app"); envs.TotalCount != 2 || !reflect.DeepEqual(envs.Items, p.Environments) {
		t.Errorf("ListEnvironments of recreated project = %+v", envs)
	}
	// Creating flags and segments with the old keys works.
	tstMustFlag(t, st, "app", "dependent")
	tstMustSegment(t, st, "app", "production", "beta")
	if err := st.DeleteSegment(ctx, "app", "production", "beta"); err != nil {
		t.Errorf("DeleteSegment of a fresh segment: %v (stale references?)", err)
	}
	if err := st.DeleteFlag(ctx, "app", "dependent"); err != nil {
		t.Errorf("DeleteFlag: %v", err)
	}
}

func TestStore_DeleteProjectLast(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()

	err := st.DeleteProject(ctx, "nope")
	tstNotFound(t, err)

	tstMustProject(t, st, "one")
	err = st.DeleteProject(ctx, "one")
	tstInvalid(t, err, "")
	if _, err := st.GetProject(ctx, "one"); err != nil {
		t.Errorf("the last project is gone: %v", err)
	}

	tstMustProject(t, st, "two")
	if err := st.DeleteProject(ctx, "one"); err != nil {
		t.Fatalf("DeleteProject with two projects: %v", err)
	}
	err = st.DeleteProject(ctx, "two")
	tstInvalid(t, err, "")
	if got := tstAllProjects(t, st); got.TotalCount != 1 || tstKeys(got.Items)[0] != "two" {
		t.Errorf("projects = %+v", got)
	}
	err = st.DeleteProject(ctx, "one")
	tstNotFound(t, err)
}

// Every failure of the Go API is an *Error wrapping its sentinel, with a
// UUID id and the right status.
func TestStore_ErrorShape(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	tstMustFlag(t, st, "shop", "f")

	cases := []struct {
		name     string
		call     func() error
		sentinel error
		status   int
		code     string
	}{
		{"get unknown project", func() error { _, err := st.GetProject(ctx, "x"); return err }, ErrNotFound, 404, CodeNotFound},
		{"get unknown environment", func() error { _, err := st.GetEnvironment(ctx, "shop", "x"); return err }, ErrNotFound, 404, CodeNotFound},
		{"environment of unknown project", func() error { _, err := st.GetEnvironment(ctx, "x", "production"); return err }, ErrNotFound, 404, CodeNotFound},
		{"unknown credential", func() error { _, err := st.LookupCredential(ctx, "sdk-x"); return err }, ErrNotFound, 404, CodeNotFound},
		{"duplicate project", func() error { _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "n"}); return err }, ErrAlreadyExists, 409, CodeConflict},
		{"duplicate environment", func() error {
			_, err := st.CreateEnvironment(ctx, "shop", EnvironmentPost{Key: "test", Name: "T", Color: "000000"})
			return err
		}, ErrAlreadyExists, 409, CodeConflict},
		{"invalid project", func() error { _, err := st.CreateProject(ctx, ProjectPost{Key: "-"}); return err }, ErrInvalid, 400, CodeInvalidRequest},
		{"bad list option", func() error { _, err := st.ListProjects(ctx, ListOptions{Limit: -1}); return err }, ErrInvalid, 400, CodeInvalidRequest},
		{"expiry in the past", func() error {
			_, err := st.ResetSDKKey(ctx, "shop", "production", clock.Now().Add(-time.Second))
			return err
		}, ErrInvalid, 400, CodeInvalidRequest},
		{"load garbage", func() error { return st.Load(ctx, strings.NewReader("garbage")) }, ErrInvalid, 400, CodeInvalidRequest},
		{"cancelled context", func() error {
			c, cancel := context.WithCancel(ctx)
			cancel()
			_, err := st.GetProject(c, "shop")
			return err
		}, ErrUnavailable, 503, CodeServiceUnavailable},
	}
	ids := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := tstErr(t, tc.call(), tc.sentinel, tc.status, tc.code)
			if ids[e.ID] {
				t.Errorf("error id %q reused", e.ID)
			}
			ids[e.ID] = true
		})
	}

	t.Run("closed store", func(t *testing.T) {
		st, _ := tstStore(t)
		tstMustProject(t, st, "shop")
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		for name, call := range map[string]func() error{
			"GetProject":       func() error { _, err := st.GetProject(ctx, "shop"); return err },
			"CreateProject":    func() error { _, err := st.CreateProject(ctx, ProjectPost{Key: "x", Name: "x"}); return err },
			"LookupCredential": func() error { _, err := st.LookupCredential(ctx, "sdk-x"); return err },
			"ListProjects":     func() error { _, err := st.ListProjects(ctx, ListOptions{}); return err },
			"Save":             func() error { return st.Save(ctx, &strings.Builder{}) },
		} {
			t.Run(name, func(t *testing.T) { tstErr(t, call(), ErrUnavailable, 503, CodeServiceUnavailable) })
		}
	})
}
