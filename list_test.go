package flagstore

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

func TestStore_ListProjectsPaging(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	var all []string
	for i := range 25 {
		key := fmt.Sprintf("p%02d", i)
		tstMustProject(t, st, key)
		all = append(all, key)
		clock.Advance(time.Second)
	}

	l, err := st.ListProjects(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if keys := tstKeys(l.Items); !slices.Equal(keys, all[:DefaultLimit]) || l.TotalCount != 25 {
		t.Errorf("default page = %v (total %d), want the first %d of 25", keys, l.TotalCount, DefaultLimit)
	}
	if DefaultLimit != 20 {
		t.Errorf("DefaultLimit = %d, want 20", DefaultLimit)
	}
	for _, p := range l.Items {
		if p.Environments != nil {
			t.Errorf("listed project %s carries environments", p.Key)
		}
	}

	cases := []struct {
		limit, offset int
		want          []string
	}{
		{10, 0, all[0:10]},
		{10, 10, all[10:20]},
		{10, 20, all[20:25]},
		{10, 25, nil},
		{10, 100, nil},
		{1, 24, all[24:25]},
		{25, 0, all},
		{1000, 3, all[3:]},
		{0, 5, all[5:25]},
		{3, 22, all[22:25]},
	}
	for _, tc := range cases {
		l, err := st.ListProjects(ctx, ListOptions{Limit: tc.limit, Offset: tc.offset})
		if err != nil {
			t.Errorf("limit %d offset %d: %v", tc.limit, tc.offset, err)
			continue
		}
		if keys := tstKeys(l.Items); !slices.Equal(keys, tc.want) && !(len(keys) == 0 && len(tc.want) == 0) || l.TotalCount != 25 {
			t.Errorf("limit %d offset %d: %v (total %d), want %v (total 25)", tc.limit, tc.offset, keys, l.TotalCount, tc.want)
		}
		if l.Items == nil {
			t.Errorf("limit %d offset %d: Items is nil, want an empty list", tc.limit, tc.offset)
		}
	}

	// Walking pages visits every project once, in order, for every sort.
	for _, sort := range []string{"", "key", "-key", "name", "-name", "creationDate", "-creationDate", "createdOn", "-createdOn"} {
		full, err := st.ListProjects(ctx, ListOptions{Limit: 100, Sort: sort})
		if err != nil {
			t.Fatalf("sort %q: %v", sort, err)
		}
		var walked []string
		for off := 0; off < 30; off += 7 {
			page, err := st.ListProjects(ctx, ListOptions{Limit: 7, Offset: off, Sort: sort})
			if err != nil {
				t.Fatal(err)
			}
			walked = append(walked, tstKeys(page.Items)...)
		}
		if !slices.Equal(walked, tstKeys(full.Items)) || len(walked) != 25 {
			t.Errorf("sort %q: pages give %v, full list %v", sort, walked, tstKeys(full.Items))
		}
	}

	for _, o := range []ListOptions{{Limit: -1}, {Offset: -1}, {Limit: -5, Offset: -5}} {
		_, err := st.ListProjects(ctx, o)
		tstInvalid(t, err, "")
	}
	_, err = st.ListProjects(ctx, ListOptions{Limit: -1})
	tstInvalid(t, err, "limit")
	_, err = st.ListProjects(ctx, ListOptions{Offset: -1})
	tstInvalid(t, err, "offset")
}

// tstSortFixture creates three projects whose key, name and creation orders
// all differ:
//
//	key     name    created
//	b-proj  Zulu    first
//	a-proj  mike    second
//	c-proj  Alpha   third
func tstSortFixture(t *testing.T) *Store {
	t.Helper()
	st, clock := tstStore(t)
	for _, p := range []ProjectPost{
		{Key: "b-proj", Name: "Zulu", Tags: []string{"red", "blue"}},
		{Key: "a-proj", Name: "mike", Tags: []string{"blue"}},
		{Key: "c-proj", Name: "Alpha"},
	} {
		if _, err := st.CreateProject(t.Context(), p); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Millisecond)
	}
	return st
}

func TestStore_ListProjectsSort(t *testing.T) {
	t.Parallel()
	st := tstSortFixture(t)
	cases := []struct {
		sort string
		want []string
	}{
		{"", []string{"b-proj", "a-proj", "c-proj"}},
		{"creationDate", []string{"b-proj", "a-proj", "c-proj"}},
		{"createdOn", []string{"b-proj", "a-proj", "c-proj"}},
		{"-creationDate", []string{"c-proj", "a-proj", "b-proj"}},
		{"-createdOn", []string{"c-proj", "a-proj", "b-proj"}},
		{"key", []string{"a-proj", "b-proj", "c-proj"}},
		{"-key", []string{"c-proj", "b-proj", "a-proj"}},
		{"name", []string{"c-proj", "a-proj", "b-proj"}},
		{"-name", []string{"b-proj", "a-proj", "c-proj"}},
	}
	for _, tc := range cases {
		t.Run("sort="+tc.sort, func(t *testing.T) {
			t.Parallel()
			l, err := st.ListProjects(t.Context(), ListOptions{Sort: tc.sort})
			if err != nil {
				t.Fatal(err)
			}
			if keys := tstKeys(l.Items); !slices.Equal(keys, tc.want) || l.TotalCount != 3 {
				t.Errorf("got %v (total %d), want %v", keys, l.TotalCount, tc.want)
			}
			// Paging respects the order.
			l, err = st.ListProjects(t.Context(), ListOptions{Sort: tc.sort, Limit: 1, Offset: 1})
			if err != nil {
				t.Fatal(err)
			}
			if keys := tstKeys(l.Items); !slices.Equal(keys, tc.want[1:2]) || l.TotalCount != 3 {
				t.Errorf("second page of one: %v (total %d), want %v", keys, l.TotalCount, tc.want[1:2])
			}
		})
	}
	for _, bad := range []string{"foo", "-", "--key", "Key", "NAME", "version", "key,name", " key", "+key"} {
		t.Run("bad sort="+bad, func(t *testing.T) {
			t.Parallel()
			_, err := st.ListProjects(t.Context(), ListOptions{Sort: bad})
			tstInvalid(t, err, "sort")
		})
	}
}

func TestStore_ListProjectsFilters(t *testing.T) {
	t.Parallel()
	st := tstSortFixture(t)
	ctx := t.Context()
	cases := []struct {
		name string
		o    ListOptions
		want []string
		tot  int
	}{
		{"tag blue", ListOptions{Tag: "blue"}, []string{"b-proj", "a-proj"}, 2},
		{"tag red", ListOptions{Tag: "red"}, []string{"b-proj"}, 1},
		{"tag blue by name", ListOptions{Tag: "blue", Sort: "name"}, []string{"a-proj", "b-proj"}, 2},
		{"tag blue page 2", ListOptions{Tag: "blue", Limit: 1, Offset: 1}, []string{"a-proj"}, 2},
		{"tag blue past the end", ListOptions{Tag: "blue", Offset: 2}, nil, 2},
		{"unknown tag", ListOptions{Tag: "green"}, nil, 0},
		{"tags are case-sensitive", ListOptions{Tag: "BLUE"}, nil, 0},
		{"query on key", ListOptions{Query: "a-pr"}, []string{"a-proj"}, 1},
		{"query on key, upper case", ListOptions{Query: "C-PROJ"}, []string{"c-proj"}, 1},
		{"query on name", ListOptions{Query: "zul"}, []string{"b-proj"}, 1},
		{"query on name, mixed case", ListOptions{Query: "MiKe"}, []string{"a-proj"}, 1},
		{"query matching all keys", ListOptions{Query: "proj"}, []string{"b-proj", "a-proj", "c-proj"}, 3},
		{"query matching name or key", ListOptions{Query: "a"}, []string{"a-proj", "c-proj"}, 2},
		{"query paged", ListOptions{Query: "proj", Limit: 1}, []string{"b-proj"}, 3},
		{"query paged with offset", ListOptions{Query: "proj", Limit: 1, Offset: 2}, []string{"c-proj"}, 3},
		{"query sorted by name", ListOptions{Query: "proj", Sort: "-name"}, []string{"b-proj", "a-proj", "c-proj"}, 3},
		{"query without match", ListOptions{Query: "xyz"}, nil, 0},
		{"query without match, offset", ListOptions{Query: "xyz", Offset: 3}, nil, 0},
		{"query and tag", ListOptions{Query: "ZULU", Tag: "blue"}, []string{"b-proj"}, 1},
		{"query and tag, no match", ListOptions{Query: "alpha", Tag: "blue"}, nil, 0},
		{"query spanning key and name does not match", ListOptions{Query: "b-projzulu"}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l, err := st.ListProjects(ctx, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if keys := tstKeys(l.Items); !slices.Equal(keys, tc.want) && !(len(keys) == 0 && len(tc.want) == 0) || l.TotalCount != tc.tot {
				t.Errorf("ListProjects(%+v) = %v (total %d), want %v (total %d)", tc.o, keys, l.TotalCount, tc.want, tc.tot)
			}
		})
	}
	for _, bad := range []string{"a b", "a/b", "ö"} {
		_, err := st.ListProjects(ctx, ListOptions{Tag: bad})
		tstInvalid(t, err, "tag")
	}
}

func TestStore_ListProjectsAfterChanges(t *testing.T) {
	t.Parallel()
	st := tstSortFixture(t)
	ctx := t.Context()
	list := func(o ListOptions) ([]string, int) {
		t.Helper()
		l, err := st.ListProjects(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		return tstKeys(l.Items), l.TotalCount
	}

	// Renaming re-sorts under name sort and changes what a query finds.
	if _, err := st.UpdateProject(ctx, "b-proj", func(p *Project) error { p.Name = "Aardvark"; return nil }); err != nil {
		t.Fatal(err)
	}
	if keys, _ := list(ListOptions{Sort: "name"}); !slices.Equal(keys, []string{"b-proj", "c-proj", "a-proj"}) {
		t.Errorf("by name after rename: %v", keys)
	}
	if keys, _ := list(ListOptions{Sort: "-name"}); !slices.Equal(keys, []string{"a-proj", "c-proj", "b-proj"}) {
		t.Errorf("by -name after rename: %v", keys)
	}
	if keys, n := list(ListOptions{Query: "zulu"}); len(keys) != 0 || n != 0 {
		t.Errorf("old name still found: %v (%d)", keys, n)
	}
	if keys, n := list(ListOptions{Query: "aardv"}); !slices.Equal(keys, []string{"b-proj"}) || n != 1 {
		t.Errorf("new name not found: %v (%d)", keys, n)
	}
	// A case-only rename is found under its new spelling too.
	if _, err := st.UpdateProject(ctx, "b-proj", func(p *Project) error { p.Name = "AARDVARK"; return nil }); err != nil {
		t.Fatal(err)
	}
	if keys, n := list(ListOptions{Query: "aardvark", Sort: "name"}); !slices.Equal(keys, []string{"b-proj"}) || n != 1 {
		t.Errorf("case-only rename: %v (%d)", keys, n)
	}
	// Creation order and keys do not move.
	if keys, _ := list(ListOptions{}); !slices.Equal(keys, []string{"b-proj", "a-proj", "c-proj"}) {
		t.Errorf("by creationDate after rename: %v", keys)
	}

	// Retagging moves items between tag filters.
	if _, err := st.UpdateProject(ctx, "c-proj", func(p *Project) error { p.Tags = []string{"blue"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateProject(ctx, "b-proj", func(p *Project) error { p.Tags = []string{"red"}; return nil }); err != nil {
		t.Fatal(err)
	}
	if keys, n := list(ListOptions{Tag: "blue"}); !slices.Equal(keys, []string{"a-proj", "c-proj"}) || n != 2 {
		t.Errorf("tag blue after retag: %v (%d)", keys, n)
	}
	if keys, n := list(ListOptions{Tag: "red"}); !slices.Equal(keys, []string{"b-proj"}) || n != 1 {
		t.Errorf("tag red after retag: %v (%d)", keys, n)
	}

	// Deleting updates every count.
	if err := st.DeleteProject(ctx, "a-proj"); err != nil {
		t.Fatal(err)
	}
	if keys, n := list(ListOptions{}); !slices.Equal(keys, []string{"b-proj", "c-proj"}) || n != 2 {
		t.Errorf("after delete: %v (%d)", keys, n)
	}
	if keys, n := list(ListOptions{Tag: "blue"}); !slices.Equal(keys, []string{"c-proj"}) || n != 1 {
		t.Errorf("tag blue after delete: %v (%d)", keys, n)
	}
	if keys, n := list(ListOptions{Query: "proj", Limit: 1}); len(keys) != 1 || n != 2 {
		t.Errorf("query after delete: %v (%d)", keys, n)
	}
	for _, sort := range []string{"key", "name", "creationDate"} {
		if keys, n := list(ListOptions{Sort: sort}); len(keys) != 2 || n != 2 || slices.Contains(keys, "a-proj") {
			t.Errorf("sort %s after delete: %v (%d)", sort, keys, n)
		}
	}
}

func TestStore_ListFlags(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "shop")
	tstMustProject(t, st, "other")
	for _, f := range []FlagPost{
		{Key: "dark-mode", Name: "Dark Mode", Tags: []string{"ui"}},
		{Key: "checkout", Name: "New checkout", Tags: []string{"ui", "payments"}},
		{Key: "banner", Name: "Promo BANNER"},
		{Key: "old-search", Name: "Old search", Tags: []string{"ui"}},
	} {
		if _, err := st.CreateFlag(ctx, "shop", f); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	tstMustFlag(t, st, "other", "dark-mode-other", "ui")
	if _, err := st.ArchiveFlag(ctx, "shop", "old-search"); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name string
		o    ListOptions
		want []string
		tot  int
	}{
		{"default is newest first, live only", ListOptions{}, []string{"banner", "checkout", "dark-mode"}, 3},
		{"oldest first", ListOptions{Sort: "creationDate"}, []string{"dark-mode", "checkout", "banner"}, 3},
		{"by key", ListOptions{Sort: "key"}, []string{"banner", "checkout", "dark-mode"}, 3},
		{"by name", ListOptions{Sort: "name"}, []string{"dark-mode", "checkout", "banner"}, 3},
		{"by -name", ListOptions{Sort: "-name"}, []string{"banner", "checkout", "dark-mode"}, 3},
		{"paged", ListOptions{Limit: 2, Offset: 1}, []string{"checkout", "dark-mode"}, 3},
		{"tag ui", ListOptions{Tag: "ui"}, []string{"checkout", "dark-mode"}, 2},
		{"tag payments", ListOptions{Tag: "payments"}, []string{"checkout"}, 1},
		{"query on name", ListOptions{Query: "banner"}, []string{"banner"}, 1},
		{"query on key", ListOptions{Query: "DARK-"}, []string{"dark-mode"}, 1},
		{"query excludes archived", ListOptions{Query: "search"}, nil, 0},
		{"query paged", ListOptions{Query: "e", Limit: 1, Offset: 1}, []string{"checkout"}, 3},
		{"archived", ListOptions{Archived: true}, []string{"old-search"}, 1},
		{"archived with tag", ListOptions{Archived: true, Tag: "ui"}, []string{"old-search"}, 1},
		{"archived with other tag", ListOptions{Archived: true, Tag: "payments"}, nil, 0},
		{"archived with query", ListOptions{Archived: true, Query: "OLD"}, []string{"old-search"}, 1},
		{"archived with query, no match", ListOptions{Archived: true, Query: "banner"}, nil, 0},
		{"archived by name", ListOptions{Archived: true, Sort: "name"}, []string{"old-search"}, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, err := st.ListFlags(ctx, "shop", tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if keys := tstKeys(l.Items); !slices.Equal(keys, tc.want) && !(len(keys) == 0 && len(tc.want) == 0) || l.TotalCount != tc.tot {
				t.Errorf("ListFlags(%+v) = %v (total %d), want %v (total %d)", tc.o, keys, l.TotalCount, tc.want, tc.tot)
			}
		})
	}
	_, err := st.ListFlags(ctx, "shop", ListOptions{Sort: "version"})
	tstInvalid(t, err, "sort")
	_, err = st.ListFlags(ctx, "nope", ListOptions{})
	tstNotFound(t, err)

	// Restoring brings the flag back; archiving another moves it out.
	if _, err := st.RestoreFlag(ctx, "shop", "old-search"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ArchiveFlag(ctx, "shop", "banner"); err != nil {
		t.Fatal(err)
	}
	l, _ := st.ListFlags(ctx, "shop", ListOptions{})
	if keys := tstKeys(l.Items); !slices.Equal(keys, []string{"old-search", "checkout", "dark-mode"}) || l.TotalCount != 3 {
		t.Errorf("live after restore = %v (%d)", keys, l.TotalCount)
	}
	l, _ = st.ListFlags(ctx, "shop", ListOptions{Tag: "ui"})
	if l.TotalCount != 3 {
		t.Errorf("tag ui after restore: total %d, want 3", l.TotalCount)
	}
	l, _ = st.ListFlags(ctx, "shop", ListOptions{Archived: true})
	if keys := tstKeys(l.Items); !slices.Equal(keys, []string{"banner"}) || l.TotalCount != 1 {
		t.Errorf("archived after archive = %v (%d)", keys, l.TotalCount)
	}

	// Renaming re-sorts; deleting counts.
	if _, err := st.UpdateFlag(ctx, "shop", "dark-mode", func(f *Flag) error { f.Name = "Zebra"; return nil }); err != nil {
		t.Fatal(err)
	}
	l, _ = st.ListFlags(ctx, "shop", ListOptions{Sort: "name"})
	if keys := tstKeys(l.Items); !slices.Equal(keys, []string{"checkout", "old-search", "dark-mode"}) {
		t.Errorf("by name after rename: %v", keys)
	}
	if err := st.DeleteFlag(ctx, "shop", "checkout"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFlag(ctx, "shop", "banner"); err != nil {
		t.Fatal(err)
	}
	l, _ = st.ListFlags(ctx, "shop", ListOptions{})
	if keys := tstKeys(l.Items); !slices.Equal(keys, []string{"old-search", "dark-mode"}) || l.TotalCount != 2 {
		t.Errorf("after delete = %v (%d)", keys, l.TotalCount)
	}
	if l, _ := st.ListFlags(ctx, "shop", ListOptions{Archived: true}); l.TotalCount != 0 || len(l.Items) != 0 {
		t.Errorf("archived after delete = %v (%d)", tstKeys(l.Items), l.TotalCount)
	}
	if l, _ := st.ListFlags(ctx, "shop", ListOptions{Tag: "payments"}); l.TotalCount != 0 {
		t.Errorf("tag payments after delete: total %d", l.TotalCount)
	}
	// The other project's flags never showed up.
	if l, _ := st.ListFlags(ctx, "other", ListOptions{}); l.TotalCount != 1 {
		t.Errorf("other project: total %d", l.TotalCount)
	}
}

// Names outside ASCII round-trip, and queries on them ignore case.
func TestStore_ListProjectsUnicodeNames(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	for _, p := range []ProjectPost{
		{Key: "eu", Name: "Éclair ÜBER Straße"},
		{Key: "jp", Name: "名前 プロジェクト"},
		{Key: "slash", Name: "a/b\\c \"quoted\""},
	} {
		created, err := st.CreateProject(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := st.GetProject(ctx, p.Key); got.Name != p.Name || created.Name != p.Name {
			t.Errorf("name %q came back as %q / %q", p.Name, created.Name, got.Name)
		}
		clock.Advance(time.Millisecond)
	}
	for q, want := range map[string][]string{
		"éclair":      {"eu"},
		"über":        {"eu"},
		"STRASSE":     nil,
		"straße":      {"eu"},
		"プロジェクト":      {"jp"},
		"A/B":         {"slash"},
		`\c "QUOTED"`: {"slash"},
		"b\\c":        {"slash"},
		"\"":          {"slash"},
		"/":           {"slash"},
		"j":           {"jp"},
	} {
		l, err := st.ListProjects(ctx, ListOptions{Query: q})
		if err != nil {
			t.Fatal(err)
		}
		if keys := tstKeys(l.Items); !slices.Equal(keys, want) && !(len(keys) == 0 && len(want) == 0) || l.TotalCount != len(want) {
			t.Errorf("Query %q = %v (total %d), want %v", q, keys, l.TotalCount, want)
		}
	}
	l, err := st.ListProjects(ctx, ListOptions{Sort: "name"})
	if err != nil {
		t.Fatal(err)
	}
	if keys := tstKeys(l.Items); !slices.Equal(keys, []string{"slash", "eu", "jp"}) {
		t.Errorf("by name: %v", keys)
	}
}
