package flagstore

import (
	"slices"
	"testing"
	"time"
)

func tstMustMetric(t *testing.T, st *Store, proj, key string, tags ...string) Metric {
	t.Helper()
	m, err := st.CreateMetric(t.Context(), proj, MetricPost{Key: key, Name: "Metric " + key, Kind: "custom", EventKey: "ev", Tags: tags})
	if err != nil {
		t.Fatalf("CreateMetric(%q, %q): %v", proj, key, err)
	}
	return m
}

func TestMetric_CreateGetListDelete(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "p")
	m := tstMustMetric(t, st, "p", "b", "x")
	if m.ID == "" || m.VersionID == "" || m.Version != 1 || m.CreationDate != clock.Now().UnixMilli() ||
		m.LastModified == nil || !slices.Equal(m.RandomizationUnits, []string{"user"}) {
		t.Fatalf("created %+v", m)
	}
	clock.Advance(time.Second)
	pv, err := st.CreateMetric(ctx, "p", MetricPost{Key: "a", Kind: "pageview", URLs: []map[string]any{{"kind": "substring", "substring": "/buy"}}})
	if err != nil {
		t.Fatal(err)
	}
	if pv.Name != "a" {
		t.Fatalf("name defaults to key: %+v", pv)
	}
	got, err := st.GetMetric(ctx, "p", "b")
	if err != nil || got.Key != "b" || got.ID != m.ID {
		t.Fatalf("get %+v %v", got, err)
	}
	l, err := st.ListMetrics(ctx, "p", ListOptions{})
	if err != nil || l.TotalCount != 2 || l.Items[0].Key != "b" || l.Items[1].Key != "a" {
		t.Fatalf("list %+v %v", l, err)
	}
	l, err = st.ListMetrics(ctx, "p", ListOptions{Sort: "name", Tag: "x"})
	if err != nil || l.TotalCount != 1 || l.Items[0].Key != "b" {
		t.Fatalf("tag list %+v %v", l, err)
	}
	if err := st.DeleteMetric(ctx, "p", "b"); err != nil {
		t.Fatal(err)
	}
	_, err = st.GetMetric(ctx, "p", "b")
	tstNotFound(t, err)
	tstNotFound(t, st.DeleteMetric(ctx, "p", "b"))
	if l, _ := st.ListMetrics(ctx, "p", ListOptions{}); l.TotalCount != 1 {
		t.Fatalf("after delete %+v", l)
	}
	entries, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 3})
	if err != nil || len(entries) != 3 || entries[0].Accesses[0] != (Access{"deleteMetric", "proj/p:metric/b"}) ||
		entries[1].Accesses[0].Action != "createMetric" {
		t.Fatalf("audit %+v %v", entries, err)
	}
}

func TestMetric_InvalidInputChangesNothing(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "p")
	tstMustMetric(t, st, "p", "m")
	before := tstRevision(t, st)
	url := []map[string]any{{"kind": "exact", "url": "https://x"}}
	for _, c := range []struct {
		post MetricPost
		attr string
	}{
		{MetricPost{Key: "", Kind: "custom", EventKey: "e"}, "key"},
		{MetricPost{Key: "a b", Kind: "custom", EventKey: "e"}, "key"},
		{MetricPost{Key: "k", Kind: "nope", EventKey: "e"}, "kind"},
		{MetricPost{Key: "k", Kind: "custom"}, "eventKey"},
		{MetricPost{Key: "k", Kind: "pageview"}, "urls"},
		{MetricPost{Key: "k", Kind: "click", URLs: url}, "selector"},
		{MetricPost{Key: "k", Kind: "pageview", URLs: []map[string]any{{"kind": "fuzzy"}}}, "urls"},
		{MetricPost{Key: "k", Kind: "pageview", URLs: url, IsNumeric: true}, "kind"},
		{MetricPost{Key: "k", Kind: "custom", EventKey: "e", IsNumeric: true}, "successCriteria"},
		{MetricPost{Key: "k", Kind: "custom", EventKey: "e", SuccessCriteria: "Better"}, "successCriteria"},
		{MetricPost{Key: "k", Kind: "custom", EventKey: "e", Unit: "u"}, "unit"},
		{MetricPost{Key: "k", Kind: "custom", EventKey: "e", UnitAggregationType: "max"}, "unitAggregationType"},
		{MetricPost{Key: "k", Kind: "custom", EventKey: "e", Tags: []string{"a", "a"}}, "tags"},
		{MetricPost{Key: "k", Kind: "custom", EventKey: "e", RandomizationUnits: []string{"user", "user"}}, "randomizationUnits"},
	} {
		_, err := st.CreateMetric(ctx, "p", c.post)
		tstInvalid(t, err, c.attr)
	}
	_, err := st.CreateMetric(ctx, "nope", MetricPost{Key: "k", Kind: "custom", EventKey: "e"})
	tstNotFound(t, err)
	_, err = st.CreateMetric(ctx, "p", MetricPost{Key: "m", Kind: "custom", EventKey: "e"})
	tstExists(t, err)
	_, err = st.ListMetrics(ctx, "p", ListOptions{Limit: 51})
	tstInvalid(t, err, "limit")
	_, err = st.ListMetrics(ctx, "nope", ListOptions{})
	tstNotFound(t, err)
	for _, fn := range []func(*Metric){
		func(m *Metric) { m.Key = "other" },
		func(m *Metric) { m.Kind = "pageview" },
		func(m *Metric) { m.ID = "x" },
		func(m *Metric) { m.Version = 7 },
		func(m *Metric) { m.CreationDate = 1 },
		func(m *Metric) { m.Name = "" },
		func(m *Metric) { m.EventKey = "" },
	} {
		_, err := st.UpdateMetric(ctx, "p", "m", func(m *Metric) error { fn(m); return nil })
		tstInvalid(t, err, "")
	}
	_, err = st.PatchMetric(ctx, "p", "m", Patch{Kind: MergePatch, Merge: []byte(`{"name":"x"}`)})
	tstInvalid(t, err, "")
	_, err = st.PatchMetric(ctx, "p", "m", Patch{Kind: JSONPatch, Ops: []byte(`[{"op":"test","path":"/_version","value":9},{"op":"replace","path":"/name","value":"x"}]`)})
	tstErr(t, err, ErrConflict, 409, CodeOptimisticLocking)
	if after := tstRevision(t, st); after != before {
		t.Fatalf("revision moved from %d to %d", before, after)
	}
}

func TestMetric_UpdateAndPatch(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "p")
	m := tstMustMetric(t, st, "p", "m")
	same, err := st.UpdateMetric(ctx, "p", "m", func(*Metric) error { return nil })
	if err != nil || same.Version != 1 || same.VersionID != m.VersionID {
		t.Fatalf("no-op update %+v %v", same, err)
	}
	up, err := st.UpdateMetric(ctx, "p", "m", func(m *Metric) error {
		m.Name, m.EventKey, m.Tags = "New", "ev2", []string{"t"}
		return nil
	})
	if err != nil || up.Version != 2 || up.VersionID == m.VersionID || up.Name != "New" {
		t.Fatalf("update %+v %v", up, err)
	}
	entries, _ := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	var actions []string
	for _, a := range entries[0].Accesses {
		actions = append(actions, a.Action)
	}
	if !slices.Equal(actions, []string{"updateName", "updateTags", "updateEventKey"}) {
		t.Fatalf("actions %v", actions)
	}
	pa, err := st.PatchMetric(ctx, "p", "m", Patch{Kind: JSONPatch, Ops: []byte(`[{"op":"test","path":"/_version","value":2},{"op":"replace","path":"/description","value":"d"}]`)})
	if err != nil || pa.Description != "d" || pa.Version != 3 {
		t.Fatalf("patch %+v %v", pa, err)
	}
	if l, _ := st.ListMetrics(ctx, "p", ListOptions{Tag: "t"}); l.TotalCount != 1 {
		t.Fatalf("reindexed tags: %+v", l)
	}
}

func TestMetric_DeleteProjectDropsMetrics(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "keep")
	tstMustProject(t, st, "p")
	tstMustMetric(t, st, "p", "m", "t")
	tstMustMetric(t, st, "keep", "m")
	if err := st.DeleteProject(t.Context(), "p"); err != nil {
		t.Fatal(err)
	}
	for _, prefix := range []string{"me/p/", "x/mt/p/", "n/mt/p/"} {
		if keys := tstRawKeys(t, st, prefix); len(keys) != 0 {
			t.Fatalf("left under %s: %v", prefix, keys)
		}
	}
	if _, err := st.GetMetric(t.Context(), "keep", "m"); err != nil {
		t.Fatal(err)
	}
}
