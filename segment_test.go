package flagstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// fxCreateSeg creates a segment in fxProj, naming it after its key.
func fxCreateSeg(t testing.TB, st *Store, env, key string, p SegmentPost) Segment {
	t.Helper()
	p.Key = key
	if p.Name == "" {
		p.Name = "Segment " + key
	}
	s, err := st.CreateSegment(context.Background(), fxProj, env, p)
	if err != nil {
		t.Fatalf("CreateSegment %s/%s: %v", env, key, err)
	}
	return s
}

// fxGetSeg reads a segment of fxProj.
func fxGetSeg(t testing.TB, st *Store, env, key string) Segment {
	t.Helper()
	s, err := st.GetSegment(context.Background(), fxProj, env, key)
	if err != nil {
		t.Fatalf("GetSegment %s/%s: %v", env, key, err)
	}
	return s
}

// fxUpdateSeg updates a segment of fxProj and fails the test on error.
func fxUpdateSeg(t testing.TB, st *Store, env, key string, fn func(*Segment)) Segment {
	t.Helper()
	s, err := st.UpdateSegment(context.Background(), fxProj, env, key, func(s *Segment) error { fn(s); return nil })
	if err != nil {
		t.Fatalf("UpdateSegment %s/%s: %v", env, key, err)
	}
	return s
}

// fxSegMatch is a segment rule that includes the members of other.
func fxSegMatch(other ...string) SegmentRule {
	vals := make([]any, len(other))
	for i, o := range other {
		vals[i] = o
	}
	return SegmentRule{Clauses: []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: vals}}}
}

// fxSegFrozen records a segment's JSON and the store revision.
type fxSegFrozen struct {
	env, key, json string
	rev            uint64
}

func fxFreezeSeg(t testing.TB, st *Store, env, key string) fxSegFrozen {
	t.Helper()
	return fxSegFrozen{env: env, key: key, json: fxJSON(t, fxGetSeg(t, st, env, key)), rev: fxRev(t, st)}
}

func (fz fxSegFrozen) unchanged(t testing.TB, st *Store) {
	t.Helper()
	if got := fxJSON(t, fxGetSeg(t, st, fz.env, fz.key)); got != fz.json {
		t.Fatalf("segment %s/%s changed:\nbefore %s\nafter  %s", fz.env, fz.key, fz.json, got)
	}
	if rev := fxRev(t, st); rev != fz.rev {
		t.Fatalf("store revision moved from %d to %d", fz.rev, rev)
	}
}

func TestSegment_Create(t *testing.T) {
	t.Parallel()
	st, clk := fxSetup(t)
	now := clk.tick()
	got := fxCreateSeg(t, st, "production", "beta", SegmentPost{
		Name: "Beta users", Description: "early adopters", Tags: []string{"b", "a"},
	})
	stored := fxGetSeg(t, st, "production", "beta")
	if a, b := fxJSON(t, got), fxJSON(t, stored); a != b {
		t.Fatalf("CreateSegment and GetSegment disagree:\n%s\n%s", a, b)
	}
	if stored.Key != "beta" || stored.Name != "Beta users" || stored.Description != "early adopters" {
		t.Errorf("key/name/description = %q/%q/%q", stored.Key, stored.Name, stored.Description)
	}
	if !slices.Equal(stored.Tags, []string{"b", "a"}) {
		t.Errorf("tags = %v", stored.Tags)
	}
	if stored.Version != 1 || stored.CreationDate != now || stored.LastModifiedDate != now {
		t.Errorf("version %d creationDate %d lastModifiedDate %d, want 1, %d, %d",
			stored.Version, stored.CreationDate, stored.LastModifiedDate, now, now)
	}
	if stored.Rules == nil || len(stored.Rules) != 0 {
		t.Errorf("rules = %#v, want []", stored.Rules)
	}
	if len(stored.Included)+len(stored.Excluded)+len(stored.IncludedContexts)+len(stored.ExcludedContexts) != 0 {
		t.Errorf("new segment has targets: %s", fxJSON(t, stored))
	}
	if stored.Deleted || stored.Generation != 0 || stored.Unbounded {
		t.Errorf("deleted %v generation %d unbounded %v", stored.Deleted, stored.Generation, stored.Unbounded)
	}
	// JSON shows the required fields even when empty.
	js := fxJSON(t, fxCreateSeg(t, st, "production", "bare", SegmentPost{}))
	for _, field := range []string{`"tags":[]`, `"rules":[]`, `"version":1`, `"deleted":false`, `"generation":0`} {
		if !strings.Contains(js, field) {
			t.Errorf("segment JSON lacks %s: %s", field, js)
		}
	}

	big := fxCreateSeg(t, st, "test", "big", SegmentPost{Unbounded: true, UnboundedContextKind: "device"})
	if !big.Unbounded || big.UnboundedContextKind != "device" {
		t.Errorf("unbounded segment = %+v", big)
	}
}

func TestSegment_CreateErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreateSeg(t, st, "production", "beta", SegmentPost{Description: "first"})
	fz := fxFreezeSeg(t, st, "production", "beta")

	_, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Again"})
	fxErr(t, err, ErrAlreadyExists, CodeConflict)
	fz.unchanged(t, st)

	_, err = st.CreateSegment(ctx, fxProj, "nope", SegmentPost{Key: "s", Name: "S"})
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.CreateSegment(ctx, "nope", "production", SegmentPost{Key: "s", Name: "S"})
	fxErr(t, err, ErrNotFound, CodeNotFound)
	fz.unchanged(t, st)

	invalid := []SegmentPost{
		{Key: "", Name: "n"},
		{Key: "a b", Name: "n"},
		{Key: "a/b", Name: "n"},
		{Key: "_a", Name: "n"},
		{Key: strings.Repeat("s", 257), Name: "n"},
		{Key: "ok", Name: ""},
		{Key: "ok", Name: " \t"},
		{Key: "ok", Name: "n", Tags: []string{"bad tag"}},
		{Key: "ok", Name: "n", Tags: []string{"a", "a"}},
		{Key: "ok", Name: "n", Unbounded: true, UnboundedContextKind: "multi"},
	}
	for i, p := range invalid {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			_, err := st.CreateSegment(ctx, fxProj, "production", p)
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			fz.unchanged(t, st)
			if p.Key == "ok" {
				_, err = st.GetSegment(ctx, fxProj, "production", "ok")
				fxErr(t, err, ErrNotFound, CodeNotFound)
			}
		})
	}
	l, err := st.ListSegments(ctx, fxProj, "production", ListOptions{})
	if err != nil || l.TotalCount != 1 {
		t.Fatalf("segments after refused creates: %+v %v", l, err)
	}
}

func TestSegment_Get(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, _ := fxSetup(t)
	fxCreateSeg(t, st, "production", "beta", SegmentPost{Tags: []string{"x"}})
	fxUpdateSeg(t, st, "production", "beta", func(s *Segment) {
		s.Included = []string{"alice"}
		s.IncludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"acme"}}}
		s.Rules = []SegmentRule{{Clauses: []Clause{{Attribute: "email", Op: "endsWith", Values: []any{"@x.com"}}}}}
	})
	before := fxJSON(t, fxGetSeg(t, st, "production", "beta"))

	_, err := st.GetSegment(ctx, fxProj, "production", "nope")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.GetSegment(ctx, fxProj, "nope", "beta")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.GetSegment(ctx, "nope", "production", "beta")
	fxErr(t, err, ErrNotFound, CodeNotFound)

	// Returned segments are copies.
	mutate := func(s *Segment) {
		s.Name = "changed"
		s.Tags[0] = "y"
		s.Included[0] = "mallory"
		s.IncludedContexts[0].Values[0] = "evil"
		s.Rules[0].Clauses[0].Values[0] = "@evil.com"
		s.Rules = append(s.Rules, SegmentRule{})
	}
	got := fxGetSeg(t, st, "production", "beta")
	mutate(&got)
	upd := fxUpdateSeg(t, st, "production", "beta", func(*Segment) {})
	mutate(&upd)
	l, err := st.ListSegments(ctx, fxProj, "production", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mutate(&l.Items[0])
	if after := fxJSON(t, fxGetSeg(t, st, "production", "beta")); after != before {
		t.Fatalf("stored segment changed through a returned copy:\nbefore %s\nafter  %s", before, after)
	}
}

func TestSegment_Paging(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, clk := fxSetup(t)
	names := []string{"Echo", "Delta", "Charlie", "Bravo", "Alpha"}
	for i, n := range names {
		clk.tick()
		p := SegmentPost{Name: n}
		if i%2 == 0 {
			p.Tags = []string{"odd"}
		}
		fxCreateSeg(t, st, "production", fmt.Sprintf("s%d", i+1), p)
	}
	fxCreateSeg(t, st, "test", "elsewhere", SegmentPost{Tags: []string{"odd"}})

	keys := func(l List[Segment]) []string {
		out := make([]string, len(l.Items))
		for i, s := range l.Items {
			out[i] = s.Key
		}
		return out
	}
	cases := []struct {
		name  string
		o     ListOptions
		want  []string
		total int
	}{
		{"default newest first", ListOptions{}, []string{"s5", "s4", "s3", "s2", "s1"}, 5},
		{"limit", ListOptions{Limit: 2}, []string{"s5", "s4"}, 5},
		{"limit and offset", ListOptions{Limit: 2, Offset: 1}, []string{"s4", "s3"}, 5},
		{"last page", ListOptions{Limit: 2, Offset: 4}, []string{"s5", "s4", "s3", "s2", "s1"}[4:], 5},
		{"offset past the end", ListOptions{Offset: 9}, []string{}, 5},
		{"tag", ListOptions{Tag: "odd"}, []string{"s5", "s3", "s1"}, 3},
		{"tag with paging", ListOptions{Tag: "odd", Limit: 1, Offset: 1}, []string{"s3"}, 3},
		{"unknown tag", ListOptions{Tag: "none"}, []string{}, 0},
		{"sort key", ListOptions{Sort: "key"}, []string{"s1", "s2", "s3", "s4", "s5"}, 5},
		{"sort -key", ListOptions{Sort: "-key"}, []string{"s5", "s4", "s3", "s2", "s1"}, 5},
		{"sort name", ListOptions{Sort: "name"}, []string{"s5", "s4", "s3", "s2", "s1"}, 5},
		{"sort -name", ListOptions{Sort: "-name"}, []string{"s1", "s2", "s3", "s4", "s5"}, 5},
		{"sort creationDate", ListOptions{Sort: "creationDate"}, []string{"s1", "s2", "s3", "s4", "s5"}, 5},
		{"sort name with tag", ListOptions{Sort: "name", Tag: "odd"}, []string{"s5", "s3", "s1"}, 3},
		{"query", ListOptions{Query: "ha", Sort: "key"}, []string{"s3", "s5"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := st.ListSegments(ctx, fxProj, "production", tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := keys(l); !slices.Equal(got, tc.want) || l.TotalCount != tc.total {
				t.Errorf("got %v (total %d), want %v (total %d)", got, l.TotalCount, tc.want, tc.total)
			}
		})
	}

	for _, o := range []ListOptions{{Sort: "version"}, {Limit: -1}, {Offset: -1}, {Tag: "bad tag"}} {
		_, err := st.ListSegments(ctx, fxProj, "production", o)
		fxErr(t, err, ErrInvalid, CodeInvalidRequest)
	}
	_, err := st.ListSegments(ctx, fxProj, "nope", ListOptions{})
	fxErr(t, err, ErrNotFound, CodeNotFound)
	_, err = st.ListSegments(ctx, "nope", "production", ListOptions{})
	fxErr(t, err, ErrNotFound, CodeNotFound)

	// Updates move index entries: a retag and a rename show at once, and a
	// delete leaves the list.
	fxUpdateSeg(t, st, "production", "s3", func(s *Segment) { s.Tags = []string{"even"}; s.Name = "Zulu" })
	if err := st.DeleteSegment(ctx, fxProj, "production", "s1"); err != nil {
		t.Fatal(err)
	}
	l, err := st.ListSegments(ctx, fxProj, "production", ListOptions{Tag: "odd"})
	if err != nil || !slices.Equal(keys(l), []string{"s5"}) || l.TotalCount != 1 {
		t.Errorf("odd after retag and delete: %v (total %d) %v", keys(l), l.TotalCount, err)
	}
	l, err = st.ListSegments(ctx, fxProj, "production", ListOptions{Sort: "-name"})
	if err != nil || !slices.Equal(keys(l), []string{"s3", "s2", "s4", "s5"}) || l.TotalCount != 4 {
		t.Errorf("-name after rename and delete: %v (total %d) %v", keys(l), l.TotalCount, err)
	}
}

func TestSegment_Update(t *testing.T) {
	t.Parallel()
	weight := 25000
	cases := []struct {
		name  string
		fn    func(*Segment)
		check func(t *testing.T, s Segment)
	}{
		{"included", func(s *Segment) { s.Included = []string{"alice", "bob"} }, func(t *testing.T, s Segment) {
			if !slices.Equal(s.Included, []string{"alice", "bob"}) {
				t.Errorf("included = %v", s.Included)
			}
		}},
		{"excluded", func(s *Segment) { s.Excluded = []string{"mallory"} }, func(t *testing.T, s Segment) {
			if !slices.Equal(s.Excluded, []string{"mallory"}) {
				t.Errorf("excluded = %v", s.Excluded)
			}
		}},
		{"includedContexts", func(s *Segment) {
			s.IncludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"acme"}}, {ContextKind: "device", Values: []string{"d1"}}}
		}, func(t *testing.T, s Segment) {
			if got := fxJSON(t, s.IncludedContexts); got != `[{"contextKind":"org","values":["acme"]},{"contextKind":"device","values":["d1"]}]` {
				t.Errorf("includedContexts = %s", got)
			}
		}},
		{"excludedContexts", func(s *Segment) {
			s.ExcludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"evil-corp"}}}
		}, func(t *testing.T, s Segment) {
			if len(s.ExcludedContexts) != 1 || s.ExcludedContexts[0].Values[0] != "evil-corp" {
				t.Errorf("excludedContexts = %+v", s.ExcludedContexts)
			}
		}},
		{"rules", func(s *Segment) {
			s.Rules = []SegmentRule{
				{Clauses: []Clause{{Attribute: "email", Op: "endsWith", Values: []any{"@example.com"}}}, Description: "staff"},
				{Clauses: []Clause{{Attribute: "plan", Op: "in", Values: []any{"gold"}, ContextKind: "org"}},
					Weight: &weight, RolloutContextKind: "org", BucketBy: "key"},
			}
		}, func(t *testing.T, s Segment) {
			if len(s.Rules) != 2 {
				t.Fatalf("rules = %+v", s.Rules)
			}
			for i, r := range s.Rules {
				if _, err := uuid.Parse(r.ID); err != nil {
					t.Errorf("rules[%d]._id = %q", i, r.ID)
				}
				if _, err := uuid.Parse(r.Clauses[0].ID); err != nil {
					t.Errorf("rules[%d].clauses[0]._id = %q", i, r.Clauses[0].ID)
				}
			}
			if s.Rules[0].ID == s.Rules[1].ID {
				t.Error("rule ids repeat")
			}
			if s.Rules[0].Clauses[0].ContextKind != "user" || s.Rules[1].Clauses[0].ContextKind != "org" {
				t.Errorf("clause context kinds %q %q", s.Rules[0].Clauses[0].ContextKind, s.Rules[1].Clauses[0].ContextKind)
			}
			if r := s.Rules[1]; r.Weight == nil || *r.Weight != 25000 || r.RolloutContextKind != "org" || r.BucketBy != "key" {
				t.Errorf("weighted rule = %+v", r)
			}
		}},
		{"segmentMatch rule", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("other")} }, func(t *testing.T, s Segment) {
			if s.Rules[0].Clauses[0].ContextKind != "" {
				t.Errorf("segmentMatch clause got contextKind %q", s.Rules[0].Clauses[0].ContextKind)
			}
		}},
		{"name description tags", func(s *Segment) {
			s.Name, s.Description, s.Tags = "Renamed", "words", []string{"t1"}
		}, func(t *testing.T, s Segment) {
			if s.Name != "Renamed" || s.Description != "words" || !slices.Equal(s.Tags, []string{"t1"}) {
				t.Errorf("name %q description %q tags %v", s.Name, s.Description, s.Tags)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clk := fxSetup(t)
			created := fxCreateSeg(t, st, "production", "seg", SegmentPost{Tags: []string{"t0"}})
			fxCreateSeg(t, st, "production", "other", SegmentPost{})
			now := clk.tick()
			got := fxUpdateSeg(t, st, "production", "seg", tc.fn)
			stored := fxGetSeg(t, st, "production", "seg")
			if a, b := fxJSON(t, got), fxJSON(t, stored); a != b {
				t.Fatalf("UpdateSegment result differs from GetSegment:\n%s\n%s", a, b)
			}
			if stored.Version != 2 || stored.LastModifiedDate != now || stored.CreationDate != created.CreationDate {
				t.Errorf("version %d lastModifiedDate %d creationDate %d, want 2, %d, %d",
					stored.Version, stored.LastModifiedDate, stored.CreationDate, now, created.CreationDate)
			}
			tc.check(t, stored)

			// A second edit moves them again.
			later := clk.tick()
			s := fxUpdateSeg(t, st, "production", "seg", func(s *Segment) { s.Description = "again" })
			if s.Version != 3 || s.LastModifiedDate != later || s.CreationDate != created.CreationDate {
				t.Errorf("second edit: version %d lastModifiedDate %d", s.Version, s.LastModifiedDate)
			}
		})
	}
}

// TestSegment_UpdateInPlaceEdits: the callback may edit what it is given in
// place, down to elements of nested slices; each such edit is a change.
func TestSegment_UpdateInPlaceEdits(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(*Segment)
	}{
		{"tag element", func(s *Segment) { s.Tags[0] = "renamed" }},
		{"included element", func(s *Segment) { s.Included[0] = "carol" }},
		{"excluded element", func(s *Segment) { s.Excluded[0] = "dave" }},
		{"includedContexts value element", func(s *Segment) { s.IncludedContexts[0].Values[0] = "globex" }},
		{"excludedContexts value element", func(s *Segment) { s.ExcludedContexts[0].Values[0] = "initech" }},
		{"rule description", func(s *Segment) { s.Rules[0].Description = "changed" }},
		{"rule weight", func(s *Segment) { *s.Rules[0].Weight = 1000 }},
		{"clause value element", func(s *Segment) { s.Rules[0].Clauses[0].Values[0] = "@other.com" }},
		{"clause negate", func(s *Segment) { s.Rules[0].Clauses[0].Negate = true }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clk := fxSetup(t)
			fxCreateSeg(t, st, "production", "seg", SegmentPost{Tags: []string{"t"}})
			w := 50000
			fxUpdateSeg(t, st, "production", "seg", func(s *Segment) {
				s.Included, s.Excluded = []string{"alice"}, []string{"bob"}
				s.IncludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"acme"}}}
				s.ExcludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"umbrella"}}}
				s.Rules = []SegmentRule{{Weight: &w, Clauses: []Clause{{Attribute: "email", Op: "endsWith", Values: []any{"@example.com"}}}}}
			})
			before := fxGetSeg(t, st, "production", "seg")
			now := clk.tick()
			after := fxUpdateSeg(t, st, "production", "seg", tc.fn)
			stored := fxGetSeg(t, st, "production", "seg")
			if fxJSON(t, stored) == fxJSON(t, before) {
				t.Fatal("the in-place edit was not stored")
			}
			if fxJSON(t, stored) != fxJSON(t, after) {
				t.Fatal("UpdateSegment result differs from GetSegment")
			}
			if stored.Version != before.Version+1 || stored.LastModifiedDate != now {
				t.Errorf("version %d lastModifiedDate %d, want %d and %d", stored.Version, stored.LastModifiedDate, before.Version+1, now)
			}
		})
	}
}

func TestSegment_UpdateRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(*Segment)
	}{
		// Read-only fields.
		{"key", func(s *Segment) { s.Key = "other" }},
		{"version", func(s *Segment) { s.Version = 5 }},
		{"creationDate", func(s *Segment) { s.CreationDate = 1 }},
		{"deleted", func(s *Segment) { s.Deleted = true }},
		{"generation", func(s *Segment) { s.Generation = 2 }},
		{"unbounded", func(s *Segment) { s.Unbounded = true }},
		// Big segments are not served, so their context kind has no action.
		{"unboundedContextKind", func(s *Segment) { s.UnboundedContextKind = "device" }},
		// Shape.
		{"empty name", func(s *Segment) { s.Name = "" }},
		{"bad tag", func(s *Segment) { s.Tags = []string{"a b"} }},
		{"empty included key", func(s *Segment) { s.Included = []string{""} }},
		{"repeated excluded key", func(s *Segment) { s.Excluded = []string{"a", "a"} }},
		{"includedContexts without kind", func(s *Segment) {
			s.IncludedContexts = []SegmentTarget{{Values: []string{"x"}}}
		}},
		{"excludedContexts kind twice", func(s *Segment) {
			s.ExcludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"a"}}, {ContextKind: "org", Values: []string{"b"}}}
		}},
		{"rule with unknown op", func(s *Segment) {
			s.Rules = []SegmentRule{{Clauses: []Clause{{Attribute: "a", Op: "equals", Values: []any{"x"}}}}}
		}},
		{"rule with invalid regex", func(s *Segment) {
			s.Rules = []SegmentRule{{Clauses: []Clause{{Attribute: "a", Op: "matches", Values: []any{"[z-a]"}}}}}
		}},
		{"rule weight over 100000", func(s *Segment) {
			w := 100001
			s.Rules = []SegmentRule{{Clauses: []Clause{{Attribute: "a", Op: "in", Values: []any{"x"}}}, Weight: &w}}
		}},
		{"duplicate rule ids", func(s *Segment) {
			r := SegmentRule{ID: "r", Clauses: []Clause{{Attribute: "a", Op: "in", Values: []any{"x"}}}}
			s.Rules = []SegmentRule{r, r}
		}},
		// References.
		{"segmentMatch missing segment", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("nope")} }},
		{"segmentMatch one of two missing", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("other", "nope")} }},
		{"segmentMatch segment of another environment", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("test-only")} }},
		{"segmentMatch itself", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("seg")} }},
		{"segmentMatch itself in a second rule", func(s *Segment) {
			s.Rules = []SegmentRule{fxSegMatch("other"), fxSegMatch("seg")}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, clk := fxSetup(t)
			fxCreateSeg(t, st, "production", "seg", SegmentPost{})
			fxCreateSeg(t, st, "production", "other", SegmentPost{})
			fxCreateSeg(t, st, "test", "test-only", SegmentPost{})
			fz := fxFreezeSeg(t, st, "production", "seg")
			clk.tick()
			_, err := st.UpdateSegment(ctx, fxProj, "production", "seg", func(s *Segment) error {
				s.Included = append(s.Included, "rides-along")
				tc.fn(s)
				return nil
			})
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			fz.unchanged(t, st)
		})
	}

	t.Run("not found", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		st, _ := fxSetup(t)
		noop := func(*Segment) error { return nil }
		_, err := st.UpdateSegment(ctx, fxProj, "production", "nope", noop)
		fxErr(t, err, ErrNotFound, CodeNotFound)
		_, err = st.UpdateSegment(ctx, fxProj, "nope", "seg", noop)
		fxErr(t, err, ErrNotFound, CodeNotFound)
		_, err = st.UpdateSegment(ctx, "nope", "production", "seg", noop)
		fxErr(t, err, ErrNotFound, CodeNotFound)
	})
}

func TestSegment_UpdateNoop(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fn   func(*Segment)
	}{
		{"nothing", func(*Segment) {}},
		{"same values", func(s *Segment) { s.Name = "Segment seg"; s.Tags = []string{"t"} }},
		{"lastModifiedDate touched", func(s *Segment) { s.LastModifiedDate = 42 }},
		{"empty lists for nil", func(s *Segment) {
			s.Included, s.Excluded = []string{}, []string{}
			s.IncludedContexts = []SegmentTarget{}
			s.Rules = nil
			s.Tags = []string{"t"}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st, clk := fxSetup(t)
			fxCreateSeg(t, st, "production", "seg", SegmentPost{Tags: []string{"t"}})
			fz := fxFreezeSeg(t, st, "production", "seg")
			clk.tick()
			got := fxUpdateSeg(t, st, "production", "seg", tc.fn)
			if fxJSON(t, got) != fz.json {
				t.Errorf("no-op returned %s, want %s", fxJSON(t, got), fz.json)
			}
			fz.unchanged(t, st)
		})
	}
}

func TestSegment_RuleIDsStable(t *testing.T) {
	t.Parallel()
	st, clk := fxSetup(t)
	fxCreateSeg(t, st, "production", "seg", SegmentPost{})
	s := fxUpdateSeg(t, st, "production", "seg", func(s *Segment) {
		given := SegmentRule{ID: "mine", Clauses: []Clause{{ID: "c-mine", Attribute: "a", Op: "in", Values: []any{"x"}}}}
		s.Rules = []SegmentRule{{Clauses: []Clause{{Attribute: "email", Op: "contains", Values: []any{"@"}}}}, given}
	})
	if s.Rules[1].ID != "mine" || s.Rules[1].Clauses[0].ID != "c-mine" {
		t.Errorf("given ids not kept: %+v", s.Rules[1])
	}
	want := fxJSON(t, s.Rules)
	for _, edit := range []func(*Segment){
		func(s *Segment) { s.Name = "Renamed" },
		func(s *Segment) { s.Included = []string{"alice"} },
		func(s *Segment) { s.Tags = []string{"x"} },
	} {
		clk.tick()
		s = fxUpdateSeg(t, st, "production", "seg", edit)
		if got := fxJSON(t, s.Rules); got != want {
			t.Fatalf("rule ids changed:\nbefore %s\nafter  %s", want, got)
		}
	}
	s = fxUpdateSeg(t, st, "production", "seg", func(s *Segment) {
		s.Rules = append([]SegmentRule{{Clauses: []Clause{{Attribute: "b", Op: "in", Values: []any{"y"}}}}}, s.Rules...)
	})
	if got := fxJSON(t, s.Rules[1:]); got != want {
		t.Fatalf("inserting a rule changed the others' ids")
	}
	if s.Rules[0].ID == "" || s.Rules[0].Clauses[0].ID == "" {
		t.Errorf("inserted rule has no ids: %+v", s.Rules[0])
	}
}

func TestSegment_Cycles(t *testing.T) {
	t.Parallel()
	type edge struct{ from, to string }
	cases := []struct {
		name    string
		edges   []edge
		closing edge
	}{
		{"A->B->A", []edge{{"a", "b"}}, edge{"b", "a"}},
		{"A->B->C->A", []edge{{"a", "b"}, {"b", "c"}}, edge{"c", "a"}},
		{"A->B->C->B", []edge{{"a", "b"}, {"b", "c"}}, edge{"c", "b"}},
		{"A->B, A->C, C->B->A", []edge{{"a", "b"}, {"a", "c"}, {"c", "b"}}, edge{"b", "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, _ := fxSetup(t)
			for _, env := range []string{"production", "test"} {
				for _, k := range []string{"a", "b", "c"} {
					fxCreateSeg(t, st, env, k, SegmentPost{})
				}
			}
			add := func(s *Segment, to string) { s.Rules = append(s.Rules, fxSegMatch(to)) }
			for _, e := range tc.edges {
				fxUpdateSeg(t, st, "production", e.from, func(s *Segment) { add(s, e.to) })
			}
			fz := fxFreezeSeg(t, st, "production", tc.closing.from)
			_, err := st.UpdateSegment(ctx, fxProj, "production", tc.closing.from, func(s *Segment) error {
				add(s, tc.closing.to)
				return nil
			})
			fxErr(t, err, ErrInvalid, CodeInvalidRequest)
			fz.unchanged(t, st)
			// The other environment's segments are independent: the same
			// edge there closes nothing.
			fxUpdateSeg(t, st, "test", tc.closing.from, func(s *Segment) { add(s, tc.closing.to) })
		})
	}
}

func TestSegment_DeleteInUse(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("by a flag rule", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		fxCreateSeg(t, st, "production", "beta", SegmentPost{})
		fxCreateSeg(t, st, "test", "beta", SegmentPost{})
		fxCreate(t, st, "flag", FlagPost{})
		fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["production"].Rules = []Rule{fxSegRule(0, "beta")} })

		fz := fxFreezeSeg(t, st, "production", "beta")
		err := st.DeleteSegment(ctx, fxProj, "production", "beta")
		fxErr(t, err, ErrConflict, CodeConflict)
		if !strings.Contains(err.Error(), "flag") {
			t.Errorf("error does not name the flag: %v", err)
		}
		fz.unchanged(t, st)

		// The same key in test is not in use.
		if err := st.DeleteSegment(ctx, fxProj, "test", "beta"); err != nil {
			t.Fatalf("delete of the unused test segment: %v", err)
		}

		// Disabling the rule still uses the segment; removing it frees it.
		fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["production"].Rules[0].Disabled = true })
		fxErr(t, st.DeleteSegment(ctx, fxProj, "production", "beta"), ErrConflict, CodeConflict)
		fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["production"].Rules = nil })
		if err := st.DeleteSegment(ctx, fxProj, "production", "beta"); err != nil {
			t.Fatalf("delete after the rule was removed: %v", err)
		}
		_, err = st.GetSegment(ctx, fxProj, "production", "beta")
		fxErr(t, err, ErrNotFound, CodeNotFound)
		fxErr(t, st.DeleteSegment(ctx, fxProj, "production", "beta"), ErrNotFound, CodeNotFound)
		// The flag can no longer refer to it.
		_, err = st.UpdateFlag(ctx, fxProj, "flag", func(f *Flag) error {
			f.Environments["production"].Rules = []Rule{fxSegRule(0, "beta")}
			return nil
		})
		fxErr(t, err, ErrInvalid, CodeInvalidRequest)
	})

	t.Run("by a deleted flag", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		fxCreateSeg(t, st, "production", "beta", SegmentPost{})
		fxCreate(t, st, "flag", FlagPost{})
		fxUpdate(t, st, "flag", func(f *Flag) {
			f.Environments["production"].Rules = []Rule{fxRule(1, "@x.com"), fxSegRule(0, "beta")}
		})
		fxErr(t, st.DeleteSegment(ctx, fxProj, "production", "beta"), ErrConflict, CodeConflict)
		if err := st.DeleteFlag(ctx, fxProj, "flag"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSegment(ctx, fxProj, "production", "beta"); err != nil {
			t.Fatalf("delete after the flag was deleted: %v", err)
		}
	})

	t.Run("by another segment", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		fxCreateSeg(t, st, "production", "inner", SegmentPost{})
		fxCreateSeg(t, st, "production", "outer", SegmentPost{})
		fxUpdateSeg(t, st, "production", "outer", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("inner")} })

		fz := fxFreezeSeg(t, st, "production", "inner")
		err := st.DeleteSegment(ctx, fxProj, "production", "inner")
		fxErr(t, err, ErrConflict, CodeConflict)
		if !strings.Contains(err.Error(), "outer") {
			t.Errorf("error does not name the segment: %v", err)
		}
		fz.unchanged(t, st)

		fxUpdateSeg(t, st, "production", "outer", func(s *Segment) { s.Rules = nil })
		if err := st.DeleteSegment(ctx, fxProj, "production", "inner"); err != nil {
			t.Fatalf("delete after the reference was removed: %v", err)
		}
	})

	t.Run("by a deleted segment", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		fxCreateSeg(t, st, "production", "inner", SegmentPost{})
		fxCreateSeg(t, st, "production", "outer", SegmentPost{})
		fxUpdateSeg(t, st, "production", "outer", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("inner")} })
		fxErr(t, st.DeleteSegment(ctx, fxProj, "production", "inner"), ErrConflict, CodeConflict)
		if err := st.DeleteSegment(ctx, fxProj, "production", "outer"); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteSegment(ctx, fxProj, "production", "inner"); err != nil {
			t.Fatalf("delete after the user was deleted: %v", err)
		}
	})

	t.Run("by both", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		fxCreateSeg(t, st, "production", "inner", SegmentPost{})
		fxCreateSeg(t, st, "production", "outer", SegmentPost{})
		fxUpdateSeg(t, st, "production", "outer", func(s *Segment) { s.Rules = []SegmentRule{fxSegMatch("inner")} })
		fxCreate(t, st, "flag", FlagPost{})
		fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["production"].Rules = []Rule{fxSegRule(0, "inner")} })
		fxUpdateSeg(t, st, "production", "outer", func(s *Segment) { s.Rules = nil })
		fxErr(t, st.DeleteSegment(ctx, fxProj, "production", "inner"), ErrConflict, CodeConflict)
		fxUpdate(t, st, "flag", func(f *Flag) { f.Environments["production"].Rules = nil })
		if err := st.DeleteSegment(ctx, fxProj, "production", "inner"); err != nil {
			t.Fatal(err)
		}
	})
}

func TestSegment_PerEnv(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, clk := fxSetup(t)
	fxCreateSeg(t, st, "production", "beta", SegmentPost{Name: "Prod beta"})
	clk.tick()
	fxCreateSeg(t, st, "test", "beta", SegmentPost{Name: "Test beta"})
	testBefore := fxJSON(t, fxGetSeg(t, st, "test", "beta"))

	p := fxUpdateSeg(t, st, "production", "beta", func(s *Segment) { s.Included = []string{"alice"} })
	if p.Version != 2 {
		t.Errorf("production version %d", p.Version)
	}
	if got := fxJSON(t, fxGetSeg(t, st, "test", "beta")); got != testBefore {
		t.Errorf("test segment changed with production's:\n%s\n%s", testBefore, got)
	}
	q := fxGetSeg(t, st, "test", "beta")
	if q.Name != "Test beta" || q.Version != 1 || len(q.Included) != 0 {
		t.Errorf("test segment = %+v", q)
	}

	if err := st.DeleteSegment(ctx, fxProj, "production", "beta"); err != nil {
		t.Fatal(err)
	}
	if got := fxJSON(t, fxGetSeg(t, st, "test", "beta")); got != testBefore {
		t.Errorf("test segment changed when production's was deleted")
	}
	l, err := st.ListSegments(ctx, fxProj, "test", ListOptions{})
	if err != nil || l.TotalCount != 1 || l.Items[0].Name != "Test beta" {
		t.Errorf("test segments: %+v %v", l, err)
	}
	l, err = st.ListSegments(ctx, fxProj, "production", ListOptions{})
	if err != nil || l.TotalCount != 0 {
		t.Errorf("production segments: %+v %v", l, err)
	}
	// Recreating it in production starts afresh, at a version above its
	// deletion (version 3 on the SDK side), so SDKs take it.
	p = fxCreateSeg(t, st, "production", "beta", SegmentPost{})
	if p.Version != 4 || len(p.Included) != 0 {
		t.Errorf("recreated segment = %+v", p)
	}

	// Segments go with their environment.
	if err := st.DeleteEnvironment(ctx, fxProj, "test"); err != nil {
		t.Fatal(err)
	}
	_, err = st.GetSegment(ctx, fxProj, "test", "beta")
	fxErr(t, err, ErrNotFound, CodeNotFound)
	fxGetSeg(t, st, "production", "beta")
	if _, err := st.CreateEnvironment(ctx, fxProj, EnvironmentPost{Key: "test", Name: "Test", Color: "F5A623"}); err != nil {
		t.Fatal(err)
	}
	l, err = st.ListSegments(ctx, fxProj, "test", ListOptions{})
	if err != nil || l.TotalCount != 0 || len(l.Items) != 0 {
		t.Errorf("recreated environment has segments: %+v %v", l, err)
	}
}
