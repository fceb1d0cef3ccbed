package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// auditLog lists the whole audit log, newest first, by following Before.
func auditLog(t *testing.T, st *Store) []AuditEntry {
	t.Helper()
	var all []AuditEntry
	before := int64(0)
	for {
		page, err := st.ListAuditLog(t.Context(), AuditListOptions{Limit: 20, Before: before})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.Kind == "member" && e.Target.Name == OwnerEmail { // Open's owner bootstrap
				continue
			}
			all = append(all, e)
		}
		if len(page) < 20 {
			return all
		}
		before = page[len(page)-1].Date
	}
}

// Every successful write records exactly one entry, with its comment and
// the actions it took; failed and no-op writes record nothing.
func TestAudit_EveryWriteOnce(t *testing.T) {
	t.Parallel()
	st, clk := fxOpen(t)
	ctx := t.Context()
	type step struct {
		name     string
		write    func(ctx context.Context) error
		kind     string
		accesses []Access
		verb     string
	}
	steps := []step{
		{"create project", func(ctx context.Context) error {
			_, err := st.CreateProject(ctx, ProjectPost{Key: "p", Name: "P"})
			return err
		}, "project", []Access{{"createProject", "proj/p"}}, "created the project P"},
		{"update project", func(ctx context.Context) error {
			_, err := st.UpdateProject(ctx, "p", func(p *Project) error { p.Name = "P2"; p.Tags = []string{"x"}; return nil })
			return err
		}, "project", []Access{{"updateProjectName", "proj/p"}, {"updateTags", "proj/p"}}, "updated the project P2"},
		{"create environment", func(ctx context.Context) error {
			_, err := st.CreateEnvironment(ctx, "p", EnvironmentPost{Key: "qa", Name: "QA", Color: "FFFFFF"})
			return err
		}, "environment", []Access{{"createEnvironment", "proj/p:env/qa"}}, "created the environment QA"},
		{"update environment", func(ctx context.Context) error {
			_, err := st.UpdateEnvironment(ctx, "p", "qa", func(e *Environment) error { e.Color = "000000"; return nil })
			return err
		}, "environment", []Access{{"updateColor", "proj/p:env/qa"}}, "updated the environment QA"},
		{"reset sdk key", func(ctx context.Context) error {
			_, err := st.ResetSDKKey(ctx, "p", "qa", time.Time{})
			return err
		}, "environment", []Access{{"updateApiKey", "proj/p:env/qa"}}, "reset a key of the environment QA"},
		{"create flag", func(ctx context.Context) error {
			_, err := st.CreateFlag(ctx, "p", FlagPost{Key: "f", Name: "F"})
			return err
		}, "flag", []Access{{"createFlag", "proj/p:env/*:flag/f"}}, "created the flag F"},
		{"turn flag on", func(ctx context.Context) error {
			_, err := st.UpdateFlag(ctx, "p", "f", func(f *Flag) error { f.Environments["qa"].On = true; return nil })
			return err
		}, "flag", []Access{{"updateOn", "proj/p:env/qa:flag/f"}}, "updated the flag F"},
		{"rename and retarget", func(ctx context.Context) error {
			_, err := st.UpdateFlag(ctx, "p", "f", func(f *Flag) error {
				f.Name = "F2"
				f.Environments["production"].Targets = []Target{{Values: []string{"u"}, Variation: 0}}
				return nil
			})
			return err
		}, "flag", []Access{{"updateName", "proj/p:env/*:flag/f"}, {"updateTargets", "proj/p:env/production:flag/f"}}, "updated the flag F2"},
		{"archive flag", func(ctx context.Context) error {
			_, err := st.ArchiveFlag(ctx, "p", "f")
			return err
		}, "flag", []Access{{"updateGlobalArchived", "proj/p:env/*:flag/f"}}, "archived the flag F2"},
		{"create segment", func(ctx context.Context) error {
			_, err := st.CreateSegment(ctx, "p", "qa", SegmentPost{Key: "s", Name: "S"})
			return err
		}, "segment", []Access{{"createSegment", "proj/p:env/qa:segment/s"}}, "created the segment S"},
		{"update segment", func(ctx context.Context) error {
			_, err := st.UpdateSegment(ctx, "p", "qa", "s", func(s *Segment) error { s.Included = []string{"a"}; return nil })
			return err
		}, "segment", []Access{{"updateIncluded", "proj/p:env/qa:segment/s"}}, "updated the segment S"},
		{"delete segment", func(ctx context.Context) error { return st.DeleteSegment(ctx, "p", "qa", "s") },
			"segment", []Access{{"deleteSegment", "proj/p:env/qa:segment/s"}}, "deleted the segment S"},
		{"delete flag", func(ctx context.Context) error { return st.DeleteFlag(ctx, "p", "f") },
			"flag", []Access{{"deleteFlag", "proj/p:env/*:flag/f"}}, "deleted the flag F2"},
		{"delete environment", func(ctx context.Context) error { return st.DeleteEnvironment(ctx, "p", "qa") },
			"environment", []Access{{"deleteEnvironment", "proj/p:env/qa"}}, "deleted the environment QA"},
	}
	for i, s := range steps {
		clk.tick()
		comment := "step " + s.name
		if err := s.write(WithComment(ctx, comment)); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		log := auditLog(t, st)
		if len(log) != i+1 {
			t.Fatalf("%s: log holds %d entries, want %d", s.name, len(log), i+1)
		}
		e := log[0]
		if e.Comment != comment || e.Kind != s.kind || !slices.Equal(e.Accesses, s.accesses) || e.TitleVerb != s.verb {
			t.Fatalf("%s: entry %+v", s.name, e)
		}
		if e.Date != clk.millis() || e.Title != "The host application "+s.verb {
			t.Fatalf("%s: date %d title %q", s.name, e.Date, e.Title)
		}
	}

	// Failed and no-op writes record nothing.
	n := len(auditLog(t, st))
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "p", Name: "dup"}); !errors.Is(err, ErrAlreadyExists) {
		t.Fatal(err)
	}
	if _, err := st.UpdateProject(ctx, "p", func(p *Project) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateEnvironment(ctx, "p", "test", func(e *Environment) error { e.Color = "bad"; return nil }); !errors.Is(err, ErrInvalid) {
		t.Fatal(err)
	}
	if got := len(auditLog(t, st)); got != n {
		t.Fatalf("failed or no-op writes were recorded: %d entries, want %d", got, n)
	}
}

// The detailed form carries the before and after snapshots; lists carry
// the summary form; environment keys are masked.
func TestAudit_DetailAndMasking(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	fxCreate(t, st, "f", fxPost("f"))
	before := fxGet(t, st, "f")
	after := fxUpdate(t, st, "f", func(f *Flag) { f.Environments["test"].On = true })
	list, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if list[0].PreviousVersion != nil || list[0].CurrentVersion != nil {
		t.Fatal("the list form should not carry snapshots")
	}
	e, err := st.GetAuditEntry(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var prev, cur Flag
	if err := json.Unmarshal(e.PreviousVersion, &prev); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(e.CurrentVersion, &cur); err != nil {
		t.Fatal(err)
	}
	// Snapshots are the stored documents, which hold no environment names.
	if !jsonEqual(prev, *stripNames(&before)) || !jsonEqual(cur, *stripNames(&after)) {
		t.Fatalf("snapshots differ from the flag before and after:\n%s\n%s", e.PreviousVersion, e.CurrentVersion)
	}
	if _, err := st.GetAuditEntry(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown entry: %v", err)
	}

	env, err := st.ResetSDKKey(ctx, fxProj, "test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	list, _ = st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	e, _ = st.GetAuditEntry(ctx, list[0].ID)
	if strings.Contains(string(e.CurrentVersion), env.APIKey) || strings.Contains(string(e.PreviousVersion), env.MobileKey) {
		t.Fatalf("audit snapshots hold environment keys: %s", e.CurrentVersion)
	}
	if !strings.Contains(string(e.CurrentVersion), env.APIKey[len(env.APIKey)-4:]) {
		t.Fatal("masked key should keep its last four characters")
	}
}

func TestAudit_ListOptions(t *testing.T) {
	t.Parallel()
	st, clk := fxOpen(t)
	ctx := t.Context()
	var dates []int64
	for i := range 25 {
		clk.tick()
		key := "p" + string(rune('a'+i))
		if _, err := st.CreateProject(WithComment(ctx, "note "+key), ProjectPost{Key: key, Name: "Project " + key}); err != nil {
			t.Fatal(err)
		}
		dates = append(dates, clk.millis())
	}
	all := auditLog(t, st)
	if len(all) != 25 {
		t.Fatalf("%d entries", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Date >= all[i-1].Date {
			t.Fatal("not newest first")
		}
	}
	page, _ := st.ListAuditLog(ctx, AuditListOptions{})
	if len(page) != 10 {
		t.Fatalf("default limit gave %d", len(page))
	}
	page, _ = st.ListAuditLog(ctx, AuditListOptions{Before: dates[5], Limit: 20})
	if len(page) != 6 || page[0].Date != dates[4] { // 5 projects and Open's owner bootstrap
		t.Fatalf("before: %d entries", len(page))
	}
	page, _ = st.ListAuditLog(ctx, AuditListOptions{After: dates[20], Limit: 20})
	if len(page) != 4 || page[3].Date != dates[21] {
		t.Fatalf("after: %d entries", len(page))
	}
	page, _ = st.ListAuditLog(ctx, AuditListOptions{After: dates[2], Before: dates[6], Limit: 20})
	if len(page) != 3 {
		t.Fatalf("window: %d entries", len(page))
	}
	page, _ = st.ListAuditLog(ctx, AuditListOptions{Query: "NOTE PC", Limit: 20})
	if len(page) != 1 || page[0].Comment != "note pc" {
		t.Fatalf("query: %+v", page)
	}
	for _, bad := range []AuditListOptions{{Limit: 21}, {Limit: -1}, {Before: -5}} {
		if _, err := st.ListAuditLog(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%+v: %v", bad, err)
		}
	}
}

// Entries written in the same millisecond keep their commit order.
func TestAudit_SameMillisecondOrder(t *testing.T) {
	t.Parallel()
	st, _ := fxOpen(t)  // the clock does not move
	for i := range 15 { // within one page: before/after page by millisecond
		if _, err := st.CreateProject(t.Context(), ProjectPost{Key: "p" + strings.Repeat("x", i+1), Name: "P"}); err != nil {
			t.Fatal(err)
		}
	}
	log := auditLog(t, st)
	if len(log) != 15 {
		t.Fatalf("%d entries", len(log))
	}
	for i, e := range log {
		want := "proj/p" + strings.Repeat("x", 15-i)
		if e.Target.Resources[0] != want {
			t.Fatalf("entry %d is %s, want %s", i, e.Target.Resources[0], want)
		}
	}
}

func TestAudit_Actor(t *testing.T) {
	t.Parallel()
	st, _ := fxOpen(t)
	ctx := WithActor(t.Context(), Actor{Member: &AuditMember{ID: "m1", Email: "ada@example.com", FirstName: "Ada", LastName: "L"}})
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "p", Name: "P"}); err != nil {
		t.Fatal(err)
	}
	e := auditLog(t, st)[0]
	if e.Member == nil || e.Member.ID != "m1" || e.Title != "Ada L created the project P" {
		t.Fatalf("%+v", e)
	}
}

func TestAudit_SpecFilter(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	fxCreate(t, st, "checkout", fxPost("checkout"))
	fxCreate(t, st, "search", fxPost("search"))
	fxUpdate(t, st, "checkout", func(f *Flag) { f.Environments["production"].On = true })
	fxUpdate(t, st, "search", func(f *Flag) { f.Environments["test"].On = true })
	fxUpdate(t, st, "search", func(f *Flag) { f.Name = "Search 2" })
	if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	titles := func(spec string) []string {
		t.Helper()
		list, err := st.ListAuditLog(ctx, AuditListOptions{Spec: spec, Limit: 20})
		if err != nil {
			t.Fatalf("%s: %v", spec, err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.TitleVerb)
		}
		return out
	}
	tests := []struct {
		spec string
		want []string
	}{
		{"proj/" + fxProj + ":env/production:flag/*", []string{"updated the flag Search 2", "updated the flag Flag checkout", "created the flag Flag search", "created the flag Flag checkout"}},
		{"proj/*:env/test:flag/search", []string{"updated the flag Search 2", "updated the flag Flag search", "created the flag Flag search"}},
		{"proj/*:env/*:flag/check*", []string{"updated the flag Flag checkout", "created the flag Flag checkout"}},
		{"proj/*:env/*:segment/*", []string{"created the segment Beta"}},
		{"proj/*", []string{"created the project Project"}},
		{"proj/*:env/production:flag/*;mobile", nil},
	}
	for _, tt := range tests {
		if got := titles(tt.spec); !slices.Equal(got, tt.want) {
			t.Errorf("%s:\n got %q\nwant %q", tt.spec, got, tt.want)
		}
	}
	if _, err := st.ListAuditLog(ctx, AuditListOptions{Spec: "proj/:::"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad spec: %v", err)
	}
}
