package flagstore

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// ffFilterFixture is a project of 30 flags with mixed tags, types,
// maintainers, availability, states and creation dates (one second
// apart, in key order), and every third flag's production targeting
// changed in reverse key order.
func ffFilterFixture(t *testing.T) (*Store, []Flag) {
	t.Helper()
	st, clk := fxSetup(t)
	ctx := context.Background()
	tagSets := [][]string{nil, {"beta"}, {"beta", "ui"}, {"ui"}, {"api", "beta"}}
	for i := range 30 {
		temp := i%3 != 0
		p := FlagPost{Key: fmt.Sprintf("k%02d", i), Name: fmt.Sprintf("Name %02d", (i*7)%30), Temporary: &temp, Tags: tagSets[i%5],
			ClientSideAvailability: &ClientSideAvailability{UsingEnvironmentID: i%2 == 0, UsingMobileKey: i%4 == 0}}
		switch i % 4 {
		case 1:
			p.MaintainerID = "m1"
		case 2:
			p.MaintainerID = "m2"
		case 3:
			p.MaintainerTeamKey = "t1"
		}
		fxCreate(t, st, p.Key, p)
		clk.tick()
	}
	for i := 29; i >= 0; i -= 3 {
		fxUpdate(t, st, fmt.Sprintf("k%02d", i), func(f *Flag) { f.Environments["production"].On = true })
		clk.tick()
	}
	for i := 5; i < 30; i += 7 {
		fxUpdate(t, st, fmt.Sprintf("k%02d", i), func(f *Flag) { f.Deprecated = true })
	}
	for _, k := range []string{"k04", "k13"} {
		if _, err := st.ArchiveFlag(ctx, fxProj, k); err != nil {
			t.Fatal(err)
		}
	}
	var all []Flag
	for i := range 30 {
		all = append(all, fxGet(t, st, fmt.Sprintf("k%02d", i)))
	}
	return st, all
}

// ffExpect computes a listing the slow way: filter every flag, then sort.
func ffExpect(all []Flag, o ListOptions, f FlagFilter) []string {
	sortBy, err := parseFlagSort(o.Sort, f.Environments)
	if err != nil {
		panic(err)
	}
	var tags []string
	if o.Tag != "" {
		tags = append(tags, o.Tag)
	}
	tags = append(tags, f.Tags...)
	var rows []flagSortRow
	for _, fl := range all {
		if fl.Archived != (o.Archived || f.State == "archived") {
			continue
		}
		q := strings.ToLower(o.Query)
		if q != "" && !strings.Contains(strings.ToLower(fl.Key), q) && !strings.Contains(strings.ToLower(fl.Name), q) {
			continue
		}
		if !f.keeps(&fl, tags) {
			continue
		}
		row := flagSortRow{key: fl.Key, name: strings.ToLower(fl.Name), created: fl.CreationDate, maintainer: fl.MaintainerID,
			temporary: fl.Temporary, tags: slices.Sorted(slices.Values(fl.Tags))}
		if len(f.Environments) > 0 {
			row.targeting = fl.Environments[f.Environments[0]].LastModified
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b flagSortRow) int {
		for _, by := range sortBy {
			c := compareFlagRows(by.field, &a, &b)
			if by.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return cmp.Compare(a.key, b.key)
	})
	out := []string{}
	for _, r := range rows {
		out = append(out, r.key)
	}
	return out
}

func TestStore_ListFlagsFiltered(t *testing.T) {
	t.Parallel()
	st, all := ffFilterFixture(t)
	ctx := context.Background()
	sorts := []string{"", "key", "-key", "name", "-name", "creationDate", "-createdOn", "maintainerId", "-type",
		"tags", "-tags", "type,-name", "maintainerId,-creationDate", "targetingModifiedDate", "-targetingModifiedDate"}
	filters := []struct {
		o ListOptions
		f FlagFilter
	}{
		{},
		{o: ListOptions{Tag: "beta"}},
		{o: ListOptions{Tag: "beta"}, f: FlagFilter{Tags: []string{"ui"}}},
		{f: FlagFilter{Tags: []string{"ui", "beta"}}},
		{o: ListOptions{Query: "name 1"}},
		{o: ListOptions{Archived: true}},
		{f: FlagFilter{State: "archived"}},
		{f: FlagFilter{State: "live"}},
		{f: FlagFilter{State: "deprecated", Type: "temporary"}},
		{f: FlagFilter{Type: "permanent", Tags: []string{"beta"}}},
		{f: FlagFilter{MaintainerID: "m1"}},
		{f: FlagFilter{MaintainerTeamKey: "t1", SDKAvailability: "client"}},
		{f: FlagFilter{SDKAvailability: "mobile"}},
		{f: FlagFilter{SDKAvailability: "anyClient"}},
		{f: FlagFilter{SDKAvailability: "server"}},
		{f: FlagFilter{CreatedBefore: all[12].CreationDate}},
		{o: ListOptions{Query: "k1"}, f: FlagFilter{CreatedBefore: all[15].CreationDate, Type: "temporary"}},
	}
	for _, fc := range filters {
		for _, sort := range sorts {
			o, f := fc.o, fc.f
			o.Sort = sort
			f.Environments = []string{"production"}
			name := fmt.Sprintf("%+v %+v", o, f)
			want := ffExpect(all, o, f)
			o.Limit = 100
			full, err := st.ListFlagsFiltered(ctx, fxProj, o, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if got := tstKeys(full.Items); !slices.Equal(got, want) && len(got)+len(want) > 0 || full.TotalCount != len(want) {
				t.Errorf("%s:\n got %v (total %d)\nwant %v", name, got, full.TotalCount, want)
			}
			var walked []string
			for off := 0; off < 35; off += 7 {
				o.Limit, o.Offset = 7, off
				page, err := st.ListFlagsFiltered(ctx, fxProj, o, f)
				if err != nil {
					t.Fatal(err)
				}
				if page.TotalCount != len(want) {
					t.Errorf("%s offset %d: total %d, want %d", name, off, page.TotalCount, len(want))
				}
				walked = append(walked, tstKeys(page.Items)...)
			}
			if !slices.Equal(walked, want) && len(walked)+len(want) > 0 {
				t.Errorf("%s: pages walk %v, want %v", name, walked, want)
			}
			for _, fl := range full.Items {
				if len(fl.Environments) != 1 || fl.Environments["production"] == nil || fl.Environments["production"].EnvironmentName == "" {
					t.Errorf("%s: %s carries environments %v", name, fl.Key, fl.Environments)
				}
			}
		}
	}
	// Without Environments, every environment is returned.
	l, err := st.ListFlagsFiltered(ctx, fxProj, ListOptions{Limit: 1}, FlagFilter{Type: "temporary"})
	if err != nil || len(l.Items) != 1 || len(l.Items[0].Environments) != 2 {
		t.Errorf("no Environments: %v, %v", l.Items, err)
	}
	// Live or deprecated flags among archived ones: none.
	if l, err := st.ListFlagsFiltered(ctx, fxProj, ListOptions{Archived: true}, FlagFilter{State: "live"}); err != nil || l.TotalCount != 0 || l.Items == nil {
		t.Errorf("archived and live: %+v, %v", l, err)
	}
}

func TestStore_ListFlagsFilteredErrors(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	fxCreate(t, st, "f", FlagPost{})
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		proj     string
		o        ListOptions
		f        FlagFilter
		sentinel error
	}{
		{"state", fxProj, ListOptions{}, FlagFilter{State: "retired"}, ErrInvalid},
		{"type", fxProj, ListOptions{}, FlagFilter{Type: "forever"}, ErrInvalid},
		{"sdkAvailability", fxProj, ListOptions{}, FlagFilter{SDKAvailability: "desktop"}, ErrInvalid},
		{"creationDate", fxProj, ListOptions{}, FlagFilter{CreatedBefore: -1}, ErrInvalid},
		{"tag", fxProj, ListOptions{}, FlagFilter{Tags: []string{"no spaces"}}, ErrInvalid},
		{"ListOptions tag", fxProj, ListOptions{Tag: "no spaces"}, FlagFilter{Type: "temporary"}, ErrInvalid},
		{"environment", fxProj, ListOptions{}, FlagFilter{Environments: []string{"staging"}}, ErrNotFound},
		{"sort field", fxProj, ListOptions{Sort: "popularity"}, FlagFilter{}, ErrInvalid},
		{"sort twice", fxProj, ListOptions{Sort: "key,-key"}, FlagFilter{}, ErrInvalid},
		{"targeting without env", fxProj, ListOptions{Sort: "targetingModifiedDate"}, FlagFilter{}, ErrInvalid},
		{"targeting combined", fxProj, ListOptions{Sort: "targetingModifiedDate,key"}, FlagFilter{Environments: []string{"test"}}, ErrInvalid},
		{"negative limit", fxProj, ListOptions{Limit: -1}, FlagFilter{}, ErrInvalid},
		{"unknown project", "nope", ListOptions{}, FlagFilter{}, ErrNotFound},
	} {
		_, err := st.ListFlagsFiltered(ctx, tc.proj, tc.o, tc.f)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		fxErr(t, err, tc.sentinel, "")
	}
}
