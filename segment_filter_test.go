package flagstore

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// sgFilterFixture is the segments every filter case is matched against.
var sgFilterFixture = []Segment{
	{Key: "beta", Name: "Beta testers", Description: "Early access", Tags: []string{"enterprise", "beta"}},
	{Key: "staff", Name: "Staff", Description: "Toggle owners", Tags: []string{"internal"}},
	{Key: "big", Name: "Big list", Tags: []string{}, Unbounded: true},
	{Key: "toggle-fans", Name: "Fans", Tags: []string{"beta"}},
}

// sgMatching lists the fixture keys a filter keeps, in fixture order.
func sgMatching(t *testing.T, expr string) []string {
	t.Helper()
	f, err := ParseSegmentFilter(expr)
	if err != nil {
		t.Fatalf("ParseSegmentFilter(%q): %v", expr, err)
	}
	out := []string{}
	for i := range sgFilterFixture {
		if f.Match(&sgFilterFixture[i]) {
			out = append(out, sgFilterFixture[i].Key)
		}
	}
	return out
}

func TestSegmentFilter_Match(t *testing.T) {
	t.Parallel()
	all := []string{"beta", "staff", "big", "toggle-fans"}
	cases := []struct {
		expr string
		want []string
	}{
		{"", all},
		{"   ", all},
		// query: key, name or description, ignoring case; a list is any of.
		{`query equals "toggle"`, []string{"staff", "toggle-fans"}},
		{`query equals "BETA"`, []string{"beta"}},
		{`query equals "early"`, []string{"beta"}},
		{`query equals ["staff", "big"]`, []string{"staff", "big"}},
		{`query equals fans`, []string{"toggle-fans"}},
		{`query equals "nothing"`, []string{}},
		// tags: any of the tags.
		{`tags anyOf ["enterprise", "internal"]`, []string{"beta", "staff"}},
		{`tags anyOf ["beta"]`, []string{"beta", "toggle-fans"}},
		{`tags anyOf []`, []string{}},
		{`tags anyOf "internal"`, []string{"staff"}},
		// keys.
		{`includedKeys anyOf ["beta","big","missing"]`, []string{"beta", "big"}},
		{`keys anyOf ["staff"]`, []string{"staff"}},
		{`excludedKeys anyOf ["beta","big"]`, []string{"staff", "toggle-fans"}},
		{`excludedKeys anyOf []`, all},
		// unbounded and external.
		{`unbounded equals true`, []string{"big"}},
		{`unbounded equals false`, []string{"beta", "staff", "toggle-fans"}},
		{`unbounded equals "true"`, []string{"big"}},
		{`external exists true`, []string{}},
		{`external exists false`, all},
		// AND, OR, precedence and grouping.
		{`tags anyOf ["enterprise", "beta"],query equals "toggle"`, []string{"toggle-fans"}},
		{`tags anyOf ["beta"] , unbounded equals false , excludedKeys anyOf ["beta"]`, []string{"toggle-fans"}},
		{`unbounded equals true|tags anyOf ["internal"]`, []string{"staff", "big"}},
		{`unbounded equals true | query equals "fans", tags anyOf ["internal"]`, []string{"big"}},
		{`(unbounded equals true | query equals "fans"), tags anyOf ["beta"]`, []string{"toggle-fans"}},
		{`((query equals "beta") | (query equals "staff")),excludedKeys anyOf ["staff"]`, []string{"beta"}},
		{`query equals "a,b|c"`, []string{}},
		{`query equals "list\"quoted"`, []string{}},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			t.Parallel()
			if got := sgMatching(t, c.expr); !slices.Equal(got, c.want) {
				t.Errorf("filter %q kept %v, want %v", c.expr, got, c.want)
			}
		})
	}
}

func TestSegmentFilter_Errors(t *testing.T) {
	t.Parallel()
	cases := []struct{ expr, mention string }{
		{`query`, "operator"},
		{`query equals`, "value"},
		{`query:beta`, "operator"},
		{`tags:beta`, "operator"},
		{`name equals "x"`, "unsupported filter field"},
		{`view equals "v"`, "unsupported filter field"},
		{`type equals "standard"`, "unsupported filter field"},
		{`query anyOf ["x"]`, "operator equals"},
		{`tags equals "x"`, "operator anyOf"},
		{`includedKeys equals "x"`, "operator anyOf"},
		{`excludedKeys exists true`, "operator anyOf"},
		{`unbounded anyOf [true]`, "operator equals"},
		{`external equals true`, "operator exists"},
		{`unbounded equals maybe`, "true or false"},
		{`unbounded equals [true]`, "true or false"},
		{`external exists 1`, "true or false"},
		{`tags anyOf [1, 2]`, "strings"},
		{`query equals ["a", null]`, "strings"},
		{`tags anyOf ["a"`, "unterminated"},
		{`query equals "open`, "unterminated"},
		{`query equals "bad \x escape"`, "malformed"},
		{`tags anyOf ["a",]`, "malformed"},
		{`query equals "a",`, "missing a term"},
		{`,query equals "a"`, "field name"},
		{`query equals "a"|`, "missing a term"},
		{`query equals "a",,unbounded equals true`, "field name"},
		{`(query equals "a"`, "missing )"},
		{`query equals "a")`, "unexpected"},
		{`()`, "field name"},
		{`query equals "a" unbounded equals true`, "unexpected"},
		{strings.Repeat("(", 40) + `query equals "a"` + strings.Repeat(")", 40), "nest"},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			t.Parallel()
			f, err := ParseSegmentFilter(c.expr)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseSegmentFilter(%q) = %v, %v; want ErrInvalid", c.expr, f, err)
			}
			if e := AsError(err); !strings.Contains(e.Message, c.mention) || len(e.Errors) != 1 || e.Errors[0].Attribute != "filter" {
				t.Errorf("error %+v, want a filter error mentioning %q", e, c.mention)
			}
		})
	}
}

// sgQueryStore is a store whose environment shop/production holds four
// segments created a second apart (a, B, c, d) and renamed so that
// lastModified order differs from creation order.
func sgQueryStore(t *testing.T) *Store {
	t.Helper()
	st, clock := tstStore(t)
	tstMustProject(t, st, "shop")
	for _, s := range []SegmentPost{
		{Key: "a", Name: "delta", Tags: []string{"x"}},
		{Key: "b", Name: "Bravo"},
		{Key: "c", Name: "alpha", Tags: []string{"x"}},
		{Key: "d", Name: "charlie"},
	} {
		clock.Advance(time.Second)
		if _, err := st.CreateSegment(t.Context(), "shop", "production", s); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"c", "a"} { // modified: b, d (at creation), then c, a
		clock.Advance(time.Second)
		if _, err := st.UpdateSegment(t.Context(), "shop", "production", k, func(s *Segment) error {
			s.Description = "touched"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func TestQuerySegments(t *testing.T) {
	t.Parallel()
	st := sgQueryStore(t)
	cases := []struct {
		q     SegmentQuery
		want  []string
		total int
	}{
		{SegmentQuery{}, []string{"d", "c", "b", "a"}, 4},
		{SegmentQuery{Sort: "creationDate"}, []string{"a", "b", "c", "d"}, 4},
		{SegmentQuery{Sort: "name"}, []string{"c", "b", "d", "a"}, 4},
		{SegmentQuery{Sort: "-name"}, []string{"a", "d", "b", "c"}, 4},
		{SegmentQuery{Sort: "lastModified"}, []string{"b", "d", "c", "a"}, 4},
		{SegmentQuery{Sort: "-lastModified"}, []string{"a", "c", "d", "b"}, 4},
		{SegmentQuery{Sort: "-lastModified, name"}, []string{"a", "c", "d", "b"}, 4},
		{SegmentQuery{Limit: 2}, []string{"d", "c"}, 4},
		{SegmentQuery{Limit: 2, Offset: 3}, []string{"a"}, 4},
		{SegmentQuery{Offset: 9}, []string{}, 4},
		{SegmentQuery{Limit: maxInt, Offset: 1, Sort: "creationDate"}, []string{"b", "c", "d"}, 4},
		{SegmentQuery{Filter: `tags anyOf ["x"]`, Sort: "name"}, []string{"c", "a"}, 2},
		{SegmentQuery{Filter: `query equals "touched"`, Limit: 1}, []string{"c"}, 2},
	}
	for _, c := range cases {
		l, err := st.QuerySegments(t.Context(), "shop", "production", c.q)
		if err != nil {
			t.Fatalf("QuerySegments(%+v): %v", c.q, err)
		}
		got := []string{}
		for _, s := range l.Items {
			got = append(got, s.Key)
		}
		if !slices.Equal(got, c.want) || l.TotalCount != c.total {
			t.Errorf("QuerySegments(%+v) = %v (total %d), want %v (total %d)", c.q, got, l.TotalCount, c.want, c.total)
		}
	}
	for _, c := range []struct {
		env  string
		q    SegmentQuery
		want error
	}{
		{"production", SegmentQuery{Sort: "key"}, ErrInvalid},
		{"production", SegmentQuery{Sort: "name,"}, ErrInvalid},
		{"production", SegmentQuery{Limit: -1}, ErrInvalid},
		{"production", SegmentQuery{Offset: -1}, ErrInvalid},
		{"production", SegmentQuery{Filter: "nope"}, ErrInvalid},
		{"staging", SegmentQuery{}, ErrNotFound},
	} {
		if _, err := st.QuerySegments(t.Context(), "shop", c.env, c.q); !errors.Is(err, c.want) {
			t.Errorf("QuerySegments(%s, %+v) = %v, want %v", c.env, c.q, err, c.want)
		}
	}
	if _, err := st.QuerySegments(t.Context(), "nope", "production", SegmentQuery{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
	// Segments of another environment are not listed.
	if l, err := st.QuerySegments(t.Context(), "shop", "test", SegmentQuery{}); err != nil || l.TotalCount != 0 || len(l.Items) != 0 || l.Items == nil {
		t.Errorf("test environment: %+v, %v", l, err)
	}
}

func TestSegmentUsers(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	tstMustSegment(t, st, "shop", "production", "beta")
	tstMustSegment(t, st, "shop", "production", "outer")
	tstMustSegment(t, st, "shop", "test", "beta")
	tstMustFlag(t, st, "shop", "checkout")
	tstMustFlag(t, st, "shop", "banner")
	segRule := func(seg string) []Clause {
		return []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{seg}}}
	}
	for _, fk := range []string{"checkout", "banner"} {
		if _, err := st.UpdateFlag(ctx, "shop", fk, func(f *Flag) error {
			v := 0
			f.Environments["production"].Rules = []Rule{{Variation: &v, Clauses: segRule("beta")}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.UpdateSegment(ctx, "shop", "production", "outer", func(s *Segment) error {
		s.Rules = []SegmentRule{{Clauses: segRule("beta")}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	flags, segs, err := st.SegmentUsers(ctx, "shop", "production", "beta")
	if err != nil || !slices.Equal(flags, []string{"banner", "checkout"}) || !slices.Equal(segs, []string{"outer"}) {
		t.Fatalf("SegmentUsers(production/beta) = %v, %v, %v", flags, segs, err)
	}
	flags, segs, err = st.SegmentUsers(ctx, "shop", "test", "beta")
	if err != nil || len(flags) != 0 || len(segs) != 0 || flags == nil || segs == nil {
		t.Fatalf("SegmentUsers(test/beta) = %#v, %#v, %v", flags, segs, err)
	}
	for _, c := range [][3]string{{"nope", "production", "beta"}, {"shop", "nope", "beta"}, {"shop", "production", "nope"}} {
		if _, _, err := st.SegmentUsers(ctx, c[0], c[1], c[2]); !errors.Is(err, ErrNotFound) {
			t.Errorf("SegmentUsers(%v) = %v, want ErrNotFound", c, err)
		}
	}
}
