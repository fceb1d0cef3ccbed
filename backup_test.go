package flagstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tstPopulate fills st with two projects, custom environments, flags with
// targeting, prerequisites and segment rules, segments, an archived flag and
// a retired SDK key. It returns the secrets that must resolve.
func tstPopulate(t *testing.T, st *Store, clock *tstClock) []string {
	t.Helper()
	ctx := t.Context()
	shop := tstMustProject(t, st, "shop")
	clock.Advance(time.Second)
	blog, err := st.CreateProject(ctx, ProjectPost{Key: "blog", Name: "Blog", Tags: []string{"content"},
		IncludeInSnippetByDefault: true,
		Environments: []EnvironmentPost{
			{Key: "live", Name: "Live", Color: "00AA00", DefaultTrackEvents: true, Tags: []string{"prod"}, Critical: true},
			{Key: "draft", Name: "Draft", Color: "AAAAAA", DefaultTTL: 7},
		}})
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, err := st.CreateEnvironment(ctx, "shop", EnvironmentPost{Key: "staging", Name: "Staging", Color: "123abc"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnvironment(ctx, "shop", "test", func(e *Environment) error { e.Name = "QA"; return nil }); err != nil {
		t.Fatal(err)
	}

	for _, env := range []string{"production", "staging"} {
		seg, err := st.CreateSegment(ctx, "shop", env, SegmentPost{Key: "beta", Name: "Beta users", Tags: []string{"early"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateSegment(ctx, "shop", env, seg.Key, func(s *Segment) error {
			s.Included = []string{"alice", "bob"}
			s.Excluded = []string{"mallory"}
			s.IncludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"acme"}}}
			s.Rules = []SegmentRule{{Clauses: []Clause{{Attribute: "email", Op: "endsWith", Values: []any{"@example.com"}}}, Weight: intPtr(50000)}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	tstMustSegment(t, st, "blog", "live", "staff")
	clock.Advance(time.Second)

	if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "base", Name: "Base", Tags: []string{"core"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "color", Name: "Color", Description: "button color",
		Variations: []Variation{{Value: "red", Name: "Red"}, {Value: "green"}, {Value: "blue"}},
		Defaults:   &FlagDefaults{OnVariation: 1, OffVariation: 0},
		CustomProperties: map[string]CustomProperty{
			"jira": {Name: "Jira", Value: []string{"SHOP-1"}},
		}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFlag(ctx, "shop", "color", func(f *Flag) error {
		c := f.Environments["production"]
		c.On = true
		c.Targets = []Target{{Values: []string{"alice"}, Variation: 2}}
		c.ContextTargets = []Target{{Values: []string{"acme"}, Variation: 1, ContextKind: "org"}}
		c.Prerequisites = []Prerequisite{{Key: "base", Variation: 0}}
		c.Rules = []Rule{
			{Variation: intPtr(2), Description: "beta", Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{"beta"}}}},
			{Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 0, Weight: 30000}, {Variation: 1, Weight: 70000}}, BucketBy: "key"},
				Clauses: []Clause{{Attribute: "country", Op: "in", Values: []any{"NZ", "AU"}}, {Attribute: "age", Op: "greaterThan", Values: []any{18}}}},
		}
		c.Fallthrough = VariationOrRollout{Rollout: &Rollout{Variations: []WeightedVariation{{Variation: 1, Weight: 50000}, {Variation: 2, Weight: 50000}}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, st, "shop", "retired", "core")
	if _, err := st.ArchiveFlag(ctx, "shop", "retired"); err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, st, "blog", "comments")
	clock.Advance(time.Second)

	before := tstMustEnv(t, st, "shop", "production")
	if _, err := st.ResetSDKKey(ctx, "shop", "production", clock.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	secrets := []string{before.APIKey}
	for _, p := range []Project{shop, blog} {
		for _, e := range tstAllEnvs(t, st, p.Key).Items {
			secrets = append(secrets, e.APIKey, e.MobileKey, e.ID)
		}
	}
	return secrets
}

// tstSnapshot is everything the read API shows of a store.
type tstSnapshot struct {
	Projects     List[Project]
	Project      map[string]Project
	Environments map[string]List[Environment]
	Flags        map[string]List[Flag]
	Archived     map[string]List[Flag]
	Flag         map[string]Flag
	Segments     map[string]List[Segment]
	Segment      map[string]Segment
	Credentials  map[string]Credential
}

func tstTakeSnapshot(t *testing.T, st *Store, secrets []string) tstSnapshot {
	t.Helper()
	ctx := t.Context()
	s := tstSnapshot{
		Projects: tstAllProjects(t, st), Project: map[string]Project{}, Environments: map[string]List[Environment]{},
		Flags: map[string]List[Flag]{}, Archived: map[string]List[Flag]{}, Flag: map[string]Flag{},
		Segments: map[string]List[Segment]{}, Segment: map[string]Segment{}, Credentials: map[string]Credential{},
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range s.Projects.Items {
		got, err := st.GetProject(ctx, p.Key)
		must(err)
		s.Project[p.Key] = got
		envs := tstAllEnvs(t, st, p.Key)
		s.Environments[p.Key] = envs
		flags, err := st.ListFlags(ctx, p.Key, ListOptions{Limit: 100, Sort: "key"})
		must(err)
		s.Flags[p.Key] = flags
		archived, err := st.ListFlags(ctx, p.Key, ListOptions{Limit: 100, Archived: true})
		must(err)
		s.Archived[p.Key] = archived
		for _, f := range append(flags.Items, archived.Items...) {
			got, err := st.GetFlag(ctx, p.Key, f.Key)
			must(err)
			s.Flag[p.Key+"/"+f.Key] = got
		}
		for _, e := range envs.Items {
			segs, err := st.ListSegments(ctx, p.Key, e.Key, ListOptions{Limit: 100})
			must(err)
			s.Segments[p.Key+"/"+e.Key] = segs
			for _, sg := range segs.Items {
				got, err := st.GetSegment(ctx, p.Key, e.Key, sg.Key)
				must(err)
				s.Segment[p.Key+"/"+e.Key+"/"+sg.Key] = got
			}
		}
	}
	for _, sec := range secrets {
		c, err := st.LookupCredential(ctx, sec)
		must(err)
		s.Credentials[sec] = c
	}
	return s
}

func TestStore_SaveLoadRoundTrip(t *testing.T) {
	t.Parallel()
	src, clock := tstStore(t)
	secrets := tstPopulate(t, src, clock)
	want := tstTakeSnapshot(t, src, secrets)
	saved := tstSave(t, src)
	if len(want.Flag) != 4 || len(want.Segment) != 3 || len(want.Projects.Items) != 2 {
		t.Fatalf("fixture is smaller than intended: %d flags, %d segments", len(want.Flag), len(want.Segment))
	}

	// The target has its own clock and generators: nothing may depend on them.
	dst, dstClock := tstStore(t, WithIDGenerator(tstOtherIDGen()), WithUUIDGenerator(tstOtherUUIDGen()))
	dstClock.Advance(time.Minute)
	if err := dst.Load(t.Context(), bytes.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	got := tstTakeSnapshot(t, dst, secrets)
	if !reflect.DeepEqual(got, want) {
		for _, f := range []string{"Projects", "Project", "Environments", "Flags", "Archived", "Flag", "Segments", "Segment", "Credentials"} {
			g := reflect.ValueOf(got).FieldByName(f).Interface()
			w := reflect.ValueOf(want).FieldByName(f).Interface()
			if !reflect.DeepEqual(g, w) {
				gj, _ := json.Marshal(g)
				wj, _ := json.Marshal(w)
				t.Errorf("%s differ after Load (JSON equal: %v):\n got %s\nwant %s", f, bytes.Equal(gj, wj), gj, wj)
			}
		}
	}
	if again := tstSave(t, dst); !bytes.Equal(again, saved) {
		t.Errorf("Save after Load differs:\n%s\n---\n%s", again, saved)
	}
	// Saving twice gives the same bytes.
	if again := tstSave(t, src); !bytes.Equal(again, saved) {
		t.Errorf("two Saves of one store differ")
	}

	// The loaded store keeps working: indexes, counters and references came
	// along.
	ctx := t.Context()
	tstMustProject(t, dst, "third")
	if n := tstAllProjects(t, dst).TotalCount; n != 3 {
		t.Errorf("TotalCount after a create in the loaded store = %d, want 3", n)
	}
	err := dst.DeleteFlag(ctx, "shop", "base")
	tstErr(t, err, ErrConflict, 409, CodeConflict)
	err = dst.DeleteSegment(ctx, "shop", "production", "beta")
	tstErr(t, err, ErrConflict, 409, CodeConflict)
	if err := dst.DeleteSegment(ctx, "shop", "staging", "beta"); err != nil {
		t.Errorf("DeleteSegment of an unused segment: %v", err)
	}
	if l, _ := dst.ListFlags(ctx, "shop", ListOptions{Tag: "core", Archived: true}); l.TotalCount != 1 {
		t.Errorf("archived core flags in the loaded store: %d", l.TotalCount)
	}
	// The retired key keeps its expiry under the loaded store's clock.
	dstClock.Advance(2 * time.Hour)
	_, err = dst.LookupCredential(ctx, secrets[0])
	tstNotFound(t, err)
	if err := dst.DeleteEnvironment(ctx, "shop", "production"); err != nil {
		t.Fatal(err)
	}
	for _, sec := range secrets[:4] { // the retired and current production keys
		_, err := dst.LookupCredential(ctx, sec)
		tstNotFound(t, err)
	}
	// The source is untouched by all this.
	if again := tstSave(t, src); !bytes.Equal(again, saved) {
		t.Errorf("the source changed")
	}
}

func TestStore_SaveFormat(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	empty := tstSave(t, st)
	if !strings.HasPrefix(string(empty), `{"format":"flagstore-backup","version":1}`+"\n") {
		t.Errorf("Save of a new store = %q", empty)
	}
	tstMustProject(t, st, "shop")
	out := string(tstSave(t, st))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) < 2 || lines[0] != `{"format":"flagstore-backup","version":1}` {
		t.Fatalf("Save = %q", out)
	}
	prev := ""
	for _, l := range lines[1:] {
		var bl struct {
			K string  `json:"k"`
			V *string `json:"v"`
		}
		if err := json.Unmarshal([]byte(l), &bl); err != nil || bl.K == "" {
			t.Errorf("line %q: %v", l, err)
			continue
		}
		if bl.K <= prev {
			t.Errorf("keys out of order: %q after %q", bl.K, prev)
		}
		prev = bl.K
		if strings.HasPrefix(bl.K, "p/") && (bl.V == nil || !json.Valid([]byte(*bl.V))) {
			t.Errorf("project document is not stored as JSON text: %q", l)
		}
	}

	// A failing writer is an *Error.
	err := st.Save(t.Context(), tstFailWriter{})
	var e *Error
	if err == nil || !errors.As(err, &e) {
		t.Errorf("Save to a failing writer = %v", err)
	}
}

// tstOtherIDGen and tstOtherUUIDGen make IDs and UUIDs that never collide
// with tstIDGen's and tstUUIDGen's.
func tstOtherIDGen() func() string {
	g := tstIDGen()
	return func() string { return "ff" + g()[2:] }
}

func tstOtherUUIDGen() func() string {
	g := tstUUIDGen()
	return func() string { return "ffffffff" + g()[8:] }
}

type tstFailWriter struct{}

func (tstFailWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestStore_LoadInvalid(t *testing.T) {
	t.Parallel()
	const header = `{"format":"flagstore-backup","version":1}` + "\n"
	cases := []struct{ name, input string }{
		{"empty", ""},
		{"whitespace", " \n\t\n"},
		{"garbage", "garbage"},
		{"binary", "\x00\x01\x02\xff"},
		{"empty object", "{}\n"},
		{"array", "[]\n"},
		{"null", "null\n"},
		{"wrong format", `{"format":"something-else","version":1}` + "\n"},
		{"no version", `{"format":"flagstore-backup"}` + "\n"},
		{"future version", `{"format":"flagstore-backup","version":2}` + "\n"},
		{"header as string", `"flagstore-backup"` + "\n"},
		{"truncated header", `{"format":"flagstore-backup","vers`},
		{"garbage after header", header + "garbage\n"},
		{"truncated line", header + `{"k":"p/x","v":"{}"` + "\n"},
		{"line without key", header + `{"v":"{}"}` + "\n"},
		{"line with empty key", header + `{"k":"","v":"{}"}` + "\n"},
		{"null line", header + "null\n"},
		{"array line", header + `["p/x","{}"]` + "\n"},
		{"string line", header + `"p/x"` + "\n"},
		{"bad base64", header + `{"k":"p/x","b":"!!!"}` + "\n"},
		{"valid line then garbage", header + `{"k":"p/x","v":"{}"}` + "\n" + "}{\n"},
		{"reserved key", header + `{"k":"\u0000revision","v":"x"}` + "\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tstStore(t)
			secrets := tstPopulate(t, st, clock)
			before := tstSave(t, st)
			snap := tstTakeSnapshot(t, st, secrets)
			rev := tstRevision(t, st)

			err := st.Load(t.Context(), strings.NewReader(tc.input))
			tstInvalid(t, err, "")

			if after := tstSave(t, st); !bytes.Equal(after, before) {
				t.Errorf("a refused Load changed the store")
			}
			if got := tstTakeSnapshot(t, st, secrets); !reflect.DeepEqual(got, snap) {
				t.Errorf("a refused Load changed what the API shows")
			}
			if r := tstRevision(t, st); r != rev {
				t.Errorf("a refused Load committed (revision %d -> %d)", rev, r)
			}
		})
	}

	t.Run("cancelled context", func(t *testing.T) {
		t.Parallel()
		src, clock := tstStore(t)
		tstPopulate(t, src, clock)
		saved := tstSave(t, src)
		st, _ := tstStore(t)
		tstMustProject(t, st, "keep")
		before := tstSave(t, st)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := st.Load(ctx, bytes.NewReader(saved))
		tstErr(t, err, ErrUnavailable, 503, CodeServiceUnavailable)
		if !bytes.Equal(tstSave(t, st), before) {
			t.Errorf("a cancelled Load changed the store")
		}
	})
}

func TestStore_LoadReplaces(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	src, clock := tstStore(t)
	secrets := tstPopulate(t, src, clock)
	saved := tstSave(t, src)
	want := tstTakeSnapshot(t, src, secrets)

	// The target has content of its own, some of it under the same keys.
	dst, _ := tstStore(t, WithIDGenerator(tstOtherIDGen()), WithUUIDGenerator(tstOtherUUIDGen()))
	old := tstMustProject(t, dst, "old")
	shop, err := dst.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Other shop"})
	if err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, dst, "shop", "only-in-target")
	tstMustSegment(t, dst, "shop", "test", "only-in-target")

	if err := dst.Load(ctx, bytes.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	_, err = dst.GetProject(ctx, "old")
	tstNotFound(t, err)
	_, err = dst.GetFlag(ctx, "shop", "only-in-target")
	tstNotFound(t, err)
	_, err = dst.GetSegment(ctx, "shop", "test", "only-in-target")
	tstNotFound(t, err)
	for _, p := range []Project{old, shop} {
		for _, e := range p.Environments {
			for _, s := range []string{e.APIKey, e.MobileKey, e.ID} {
				_, err := dst.LookupCredential(ctx, s)
				tstNotFound(t, err)
			}
		}
	}
	if got := tstTakeSnapshot(t, dst, secrets); !reflect.DeepEqual(got, want) {
		t.Errorf("after Load the target does not show the backup's content")
	}
	if !bytes.Equal(tstSave(t, dst), saved) {
		t.Errorf("Save after Load differs from the backup")
	}

	// Loading an empty backup empties the store.
	var empty bytes.Buffer
	e, _ := tstStore(t)
	if err := e.Save(ctx, &empty); err != nil {
		t.Fatal(err)
	}
	if err := dst.Load(ctx, &empty); err != nil {
		t.Fatal(err)
	}
	if l := tstAllProjects(t, dst); l.TotalCount != 0 || len(l.Items) != 0 {
		t.Errorf("projects after loading an empty backup: %+v", l)
	}
	if keys, want := tstRawKeys(t, dst, ""), tstRawKeys(t, e, ""); !reflect.DeepEqual(keys, want) { // e holds only its owner
		t.Errorf("keys after loading an empty backup: %q, want %q", keys, want)
	}
}

// A backup loaded into a file store survives reopening it.
func TestStore_LoadIntoFileStore(t *testing.T) {
	t.Parallel()
	src, clock := tstStore(t)
	tstPopulate(t, src, clock)
	saved := tstSave(t, src)

	path := filepath.Join(t.TempDir(), "flags.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Load(t.Context(), bytes.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := tstSave(t, st); !bytes.Equal(got, saved) {
		t.Errorf("reopened store saves differently")
	}
}
