package ldsource

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"
	"github.com/launchdarkly/go-server-sdk/v7/interfaces"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoretypes"

	"github.com/flagstore/flagstore"
)

// The source's contract with the SDK, checked against a sink that records
// what it is told. The real SDK over this source is tested in the root
// package, next to the same checks over HTTP.

// recSink is a DataSourceUpdateSink that keeps what it receives.
type recSink struct {
	mu     sync.Mutex
	inits  int
	items  map[string]map[string]ldstoretypes.ItemDescriptor // by kind name, key
	status []interfaces.DataSourceStatus
}

func (r *recSink) Init(all []ldstoretypes.Collection) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inits++
	r.items = map[string]map[string]ldstoretypes.ItemDescriptor{}
	for _, c := range all {
		m := map[string]ldstoretypes.ItemDescriptor{}
		for _, it := range c.Items {
			m[it.Key] = it.Item
		}
		r.items[c.Kind.GetName()] = m
	}
	return true
}

func (r *recSink) Upsert(kind ldstoretypes.DataKind, key string, item ldstoretypes.ItemDescriptor) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.items[kind.GetName()][key] = item
	return true
}

func (r *recSink) UpdateStatus(state interfaces.DataSourceState, info interfaces.DataSourceErrorInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status = append(r.status, interfaces.DataSourceStatus{State: state, LastError: info})
}

func (r *recSink) GetDataStoreStatusProvider() interfaces.DataStoreStatusProvider { return nil }

// item returns the item under kind and key, and whether there is one.
func (r *recSink) item(kind, key string) (ldstoretypes.ItemDescriptor, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	it, ok := r.items[kind][key]
	return it, ok
}

// last returns the last status reported.
func (r *recSink) last() interfaces.DataSourceStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.status) == 0 {
		return interfaces.DataSourceStatus{State: interfaces.DataSourceStateInitializing}
	}
	return r.status[len(r.status)-1]
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// start builds and starts a source for proj/env and returns its sink and
// the channel it closes when ready; the source is closed when t ends.
func start(t *testing.T, st *flagstore.Store, proj, env string) (*recSink, *source, chan struct{}) {
	t.Helper()
	sink := &recSink{}
	ds, err := New(st, proj, env).Build(subsystems.BasicClientContext{DataSourceUpdateSink: sink})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	ds.Start(ready)
	t.Cleanup(func() { ds.Close() })
	return sink, ds.(*source), ready
}

func openStore(t *testing.T) *flagstore.Store {
	t.Helper()
	st, err := flagstore.Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.CreateProject(context.Background(), flagstore.ProjectPost{Key: "p", Name: "P"}); err != nil {
		t.Fatal(err)
	}
	return st
}

func waitReady(t *testing.T, ready chan struct{}) {
	t.Helper()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("the source never became ready")
	}
}

func TestSource_PutPatchDelete(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	if _, err := st.CreateFlag(ctx, "p", flagstore.FlagPost{Key: "f", Name: "F"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSegment(ctx, "p", "production", flagstore.SegmentPost{Key: "s", Name: "S"}); err != nil {
		t.Fatal(err)
	}
	sink, src, ready := start(t, st, "p", "production")
	waitReady(t, ready)
	if !src.IsInitialized() || sink.last().State != interfaces.DataSourceStateValid {
		t.Fatalf("after the put: initialized %v, status %+v", src.IsInitialized(), sink.last())
	}
	it, ok := sink.item("features", "f")
	if f, isFlag := it.Item.(*ldmodel.FeatureFlag); !ok || !isFlag || f.Key != "f" || f.On || it.Version != f.Version {
		t.Fatalf("flag f after the put: %+v", it)
	}
	if it, ok := sink.item("segments", "s"); !ok || it.Item.(*ldmodel.Segment).Key != "s" {
		t.Fatalf("segment s after the put: %+v", it)
	}

	if _, err := st.UpdateFlag(ctx, "p", "f", func(f *flagstore.Flag) error {
		f.Environments["production"].On = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the patch of f", func() bool {
		it, _ := sink.item("features", "f")
		f, _ := it.Item.(*ldmodel.FeatureFlag)
		return f != nil && f.On
	})

	before, _ := sink.item("segments", "s")
	if err := st.DeleteSegment(ctx, "p", "production", "s"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFlag(ctx, "p", "f"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deletions", func() bool {
		f, _ := sink.item("features", "f")
		s, _ := sink.item("segments", "s")
		return f.Item == nil && s.Item == nil
	})
	if s, _ := sink.item("segments", "s"); s.Version <= before.Version {
		t.Errorf("segment deletion version %d, want above %d", s.Version, before.Version)
	}
	if sink.inits != 1 {
		t.Errorf("%d puts, want 1", sink.inits)
	}
}

func TestSource_UnknownEnvironmentIsOff(t *testing.T) {
	st := openStore(t)
	sink, src, ready := start(t, st, "p", "staging")
	waitReady(t, ready)
	got := sink.last()
	if src.IsInitialized() || got.State != interfaces.DataSourceStateOff ||
		got.LastError.Kind != interfaces.DataSourceErrorKindErrorResponse || got.LastError.StatusCode != 404 {
		t.Fatalf("initialized %v, status %+v; want OFF with a 404", src.IsInitialized(), got)
	}
}

func TestSource_DeletedEnvironmentTurnsOff(t *testing.T) {
	st := openStore(t)
	sink, _, ready := start(t, st, "p", "test")
	waitReady(t, ready)
	if err := st.DeleteEnvironment(context.Background(), "p", "test"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "status OFF", func() bool { return sink.last().State == interfaces.DataSourceStateOff })
	if got := sink.last().LastError.StatusCode; got != 404 {
		t.Errorf("status code %d, want 404", got)
	}
}

func TestSource_ClosedStoreInterrupts(t *testing.T) {
	st := openStore(t)
	sink, src, ready := start(t, st, "p", "production")
	waitReady(t, ready)
	st.Close()
	waitFor(t, "status INTERRUPTED", func() bool { return sink.last().State == interfaces.DataSourceStateInterrupted })
	if got := sink.last().LastError; got.StatusCode != 503 {
		t.Errorf("last error %+v, want a 503", got)
	}
	// Close ends the retry loop at once.
	done := make(chan struct{})
	go func() { src.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	if !src.IsInitialized() {
		t.Error("a source stays initialized once it was")
	}
}

func TestSource_CloseBeforeStart(t *testing.T) {
	st := openStore(t)
	ds, err := New(st, "p", "production").Build(subsystems.BasicClientContext{DataSourceUpdateSink: &recSink{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := ds.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestSource_IgnoresOtherPaths(t *testing.T) {
	sink := &recSink{items: map[string]map[string]ldstoretypes.ItemDescriptor{}}
	s := &source{sink: sink}
	if err := s.apply(flagstore.SDKEvent{Name: "patch", Data: []byte(`{"path":"/other/x","data":{}}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.apply(flagstore.SDKEvent{Name: "patch", Data: []byte(`{"path":"/flags/x","data":{"key":"x","on":null}}`)}); err == nil {
		t.Fatal("a flag the SDK cannot parse was accepted")
	}
	if got := errorInfo(s.apply(flagstore.SDKEvent{Name: "put", Data: []byte(`{`)})); got.Kind != interfaces.DataSourceErrorKindInvalidData {
		t.Errorf("a malformed put reads as %+v", got)
	}
}
