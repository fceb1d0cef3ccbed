// Package storetest is the conformance suite for [store.Backend]
// implementations. A backend's own test calls [Run] and, if it persists
// data, [RunDurable]:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Backend { return openEmpty(t) })
//	}
//
// The suite runs its subtests in parallel and is meant to be run with -race.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
)

// Opener opens a backend. For [Run] every call must return a new, empty
// store; for [RunDurable] every call reopens the same one. The suite closes
// what it opens (and ignores the error of a Close after its own), so an
// Opener need not register a Close itself.
type Opener func(t *testing.T) store.Backend

// waitTimeout bounds every wait for change-feed deliveries.
const waitTimeout = 20 * time.Second

// Run checks the behaviour the store package documents: reads and writes,
// ordered prefix scans, conditional writes, atomic transactions, revisions,
// the change feed, context handling and Close.
func Run(t *testing.T, open Opener) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, store.Backend)
	}{
		{"Empty", testEmpty},
		{"CRUD", testCRUD},
		{"ValueCopies", testValueCopies},
		{"Values", testValues},
		{"Scan", testScan},
		{"ScanStopAndRetain", testScanStopAndRetain},
		{"ScanWhileWriting", testScanWhileWriting},
		{"ScanReverse", testScanReverse},
		{"ConditionalPut", testConditionalPut},
		{"ConditionalDelete", testConditionalDelete},
		{"Atomic", testAtomic},
		{"PanicRollsBack", testPanic},
		{"ReadYourWrites", testReadYourWrites},
		{"Version", testVersion},
		{"ReadOnly", testReadOnly},
		{"Revision", testRevision},
		{"Events", testEvents},
		{"ConcurrentWritersAndSubscribers", testConcurrent},
		{"SubscribeCancel", testSubscribeCancel},
		{"SubscribeThenView", testSubscribeThenView},
		{"ContextDone", testContextDone},
		{"Close", testClose},
		{"CloseWithSlowSubscriber", testCloseSlowSubscriber},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, openFresh(t, open))
		})
	}
}

// openFresh opens a backend and closes it when the test ends.
func openFresh(t *testing.T, open Opener) store.Backend {
	t.Helper()
	b := open(t)
	if b == nil {
		t.Fatal("Opener returned nil")
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// ---- helpers ----

// update runs fn in Update and fails the test on error.
func update(t *testing.T, b store.Backend, fn func(store.WriteTx) error) {
	t.Helper()
	if err := b.Update(context.Background(), fn); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

// put writes one key in its own transaction.
func put(t *testing.T, b store.Backend, key, value string, expect uint64) {
	t.Helper()
	update(t, b, func(tx store.WriteTx) error { return tx.Put(key, []byte(value), expect) })
}

// get reads one key; err is the Get error.
func get(t *testing.T, b store.Backend, key string) (it store.Item, err error) {
	t.Helper()
	verr := b.View(context.Background(), func(tx store.ReadTx) error {
		it, err = tx.Get(key)
		return nil
	})
	if verr != nil {
		t.Fatalf("View: %v", verr)
	}
	return it, err
}

// mustGet reads a key that must exist.
func mustGet(t *testing.T, b store.Backend, key string) store.Item {
	t.Helper()
	it, err := get(t, b, key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	if it.Key != key {
		t.Fatalf("Get(%q).Key = %q", key, it.Key)
	}
	return it
}

// wantMissing checks that key does not exist.
func wantMissing(t *testing.T, b store.Backend, key string) {
	t.Helper()
	if it, err := get(t, b, key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %+v, %v; want ErrNotFound", key, it, err)
	}
}

// revision returns the store's current revision.
func revision(t *testing.T, b store.Backend) uint64 {
	t.Helper()
	var rev uint64
	if err := b.View(context.Background(), func(tx store.ReadTx) error {
		rev = tx.Revision()
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return rev
}

// snapshot returns every item and the revision of one View.
func snapshot(t *testing.T, b store.Backend) (map[string]store.Item, uint64) {
	t.Helper()
	items := map[string]store.Item{}
	var rev uint64
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		rev = tx.Revision()
		return tx.Scan("", "", func(it store.Item) bool {
			items[it.Key] = it
			return true
		})
	})
	if err != nil {
		t.Fatalf("View: %v", err)
	}
	return items, rev
}

// scanKeys returns the keys Scan visits in tx.
func scanKeys(t *testing.T, tx store.ReadTx, prefix, after string) []string {
	t.Helper()
	keys := []string{}
	if err := tx.Scan(prefix, after, func(it store.Item) bool {
		keys = append(keys, it.Key)
		return true
	}); err != nil {
		t.Fatalf("Scan(%q, %q): %v", prefix, after, err)
	}
	return keys
}

// recorder is a subscriber that keeps every commit it is given.
type recorder struct {
	mu      sync.Mutex
	commits []store.Commit
	signal  chan struct{}
}

func newRecorder() *recorder { return &recorder{signal: make(chan struct{}, 1)} }

// fn is the callback to pass to Subscribe.
func (r *recorder) fn(c store.Commit) {
	r.mu.Lock()
	r.commits = append(r.commits, c)
	r.mu.Unlock()
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// got returns a copy of what has been delivered so far.
func (r *recorder) got() []store.Commit {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.commits)
}

// waitFor waits until at least n commits arrived and returns them.
func (r *recorder) waitFor(t *testing.T, n int) []store.Commit {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		if got := r.got(); len(got) >= n {
			return got
		}
		select {
		case <-r.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %d commits; have %d", n, len(r.got()))
		}
	}
}

// subscribe subscribes a new recorder for the test's lifetime.
func subscribe(t *testing.T, b store.Backend) (*recorder, uint64) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	r := newRecorder()
	rev, err := b.Subscribe(ctx, r.fn)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return r, rev
}

// opString renders an op for messages; nil and empty differ.
func opString(op store.Op) string {
	show := func(b []byte) string {
		if b == nil {
			return "nil"
		}
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("{%s %s->%s}", op.Key, show(op.Before), show(op.After))
}

// sameBytes compares byte slices, telling nil from empty.
func sameBytes(a, b []byte) bool {
	return (a == nil) == (b == nil) && bytes.Equal(a, b)
}

// checkOps compares a commit's ops with want.
func checkOps(t *testing.T, c store.Commit, want []store.Op) {
	t.Helper()
	ok := len(c.Ops) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = c.Ops[i].Key == want[i].Key && sameBytes(c.Ops[i].Before, want[i].Before) &&
			sameBytes(c.Ops[i].After, want[i].After)
	}
	if !ok {
		var g, w []string
		for _, op := range c.Ops {
			g = append(g, opString(op))
		}
		for _, op := range want {
			w = append(w, opString(op))
		}
		t.Errorf("commit %d ops = %v; want %v", c.Revision, g, w)
	}
}

// ---- basic reads and writes ----

func testEmpty(t *testing.T, b store.Backend) {
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		if r := tx.Revision(); r != 0 {
			t.Errorf("Revision of empty store = %d", r)
		}
		if _, err := tx.Get("a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get on empty store: %v; want ErrNotFound", err)
		}
		if keys := scanKeys(t, tx, "", ""); len(keys) != 0 {
			t.Errorf("Scan of empty store: %q", keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testCRUD(t *testing.T, b store.Backend) {
	put(t, b, "flag/a", "one", store.Absent)
	it := mustGet(t, b, "flag/a")
	if string(it.Value) != "one" || it.Version == 0 {
		t.Fatalf("after create: %+v", it)
	}
	put(t, b, "flag/a", "two", it.Version)
	it2 := mustGet(t, b, "flag/a")
	if string(it2.Value) != "two" || it2.Version <= it.Version {
		t.Fatalf("after update: %+v (was version %d)", it2, it.Version)
	}
	put(t, b, "flag/b", "x", store.Any)
	update(t, b, func(tx store.WriteTx) error { return tx.Delete("flag/a", it2.Version) })
	wantMissing(t, b, "flag/a")
	wantMissing(t, b, "flag/zzz")
	if got := mustGet(t, b, "flag/b"); string(got.Value) != "x" {
		t.Fatalf("flag/b = %q", got.Value)
	}
	err := b.Update(context.Background(), func(tx store.WriteTx) error {
		if _, err := tx.Get("flag/a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get of deleted key in Update: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testValueCopies(t *testing.T, b store.Backend) {
	in := []byte("original")
	update(t, b, func(tx store.WriteTx) error {
		err := tx.Put("k", in, store.Absent)
		copy(in, "XXXXXXXX") // the caller may reuse its buffer after Put
		return err
	})
	it := mustGet(t, b, "k")
	if string(it.Value) != "original" {
		t.Fatalf("stored value changed with the caller's buffer: %q", it.Value)
	}
	copy(it.Value, "YYYYYYYY")
	if again := mustGet(t, b, "k"); string(again.Value) != "original" {
		t.Fatalf("Get returned an aliased value: %q", again.Value)
	}
}

func testValues(t *testing.T, b store.Backend) {
	big := make([]byte, 1<<20)
	for i := range big {
		big[i] = byte(i*7 + i>>8)
	}
	cases := []struct {
		name  string
		value []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"protocol-like", []byte("*3\r\n$3\r\nset\r\n\x00\xff")},
		{"zeros", make([]byte, 9)},
		{"1MiB", big},
		{"compressible", bytes.Repeat([]byte(`{"key":"a","on":true,"rules":[]},`), 200)},
	}
	for _, tc := range cases {
		put(t, b, "v/"+tc.name, string(tc.value), store.Absent)
	}
	for _, tc := range cases {
		it := mustGet(t, b, "v/"+tc.name)
		if it.Value == nil || !bytes.Equal(it.Value, tc.value) {
			t.Errorf("%s: got %d bytes (nil=%v); want %d bytes", tc.name, len(it.Value), it.Value == nil, len(tc.value))
		}
	}
}

// ---- scans ----

// scanFixture is a key set with tricky prefix boundaries.
var scanFixture = []string{
	"a", "a/", "a/1", "a/2", "a/2/x", "a/3", "a/\xff", "a0", "a\x00", "b", "b/1", "",
}

func testScan(t *testing.T, b store.Backend) {
	update(t, b, func(tx store.WriteTx) error {
		for _, k := range scanFixture {
			if err := tx.Put(k, []byte("v"+k), store.Absent); err != nil {
				return fmt.Errorf("Put(%q): %w", k, err)
			}
		}
		return nil
	})
	all := slices.Clone(scanFixture)
	slices.Sort(all)
	cases := []struct {
		prefix, after string
		want          []string
	}{
		{"", "", all},
		{"a/", "", []string{"a/", "a/1", "a/2", "a/2/x", "a/3", "a/\xff"}},
		{"a/", "a/1", []string{"a/2", "a/2/x", "a/3", "a/\xff"}},
		{"a/", "a/2", []string{"a/2/x", "a/3", "a/\xff"}},
		{"a/", "a/20", []string{"a/3", "a/\xff"}},
		{"a/", "a/\xff", []string{}},
		{"a/", "a", []string{"a/", "a/1", "a/2", "a/2/x", "a/3", "a/\xff"}},
		{"a/", "0", []string{"a/", "a/1", "a/2", "a/2/x", "a/3", "a/\xff"}},
		{"a/", "z", []string{}},
		{"a", "", []string{"a", "a/", "a/1", "a/2", "a/2/x", "a/3", "a/\xff", "a0", "a\x00"}},
		{"a0", "", []string{"a0"}},
		{"a/2", "", []string{"a/2", "a/2/x"}},
		{"b", "", []string{"b", "b/1"}},
		{"c", "", []string{}},
		{"", "b", []string{"b/1"}},
		{"", "a/3", []string{"a/\xff", "a0", "b", "b/1"}},
	}
	// "a\x00" sorts before "a/"; fix the expectation by sorting.
	for i := range cases {
		slices.Sort(cases[i].want)
	}
	for _, tc := range cases {
		name := fmt.Sprintf("prefix=%q,after=%q", tc.prefix, tc.after)
		for _, write := range []bool{false, true} {
			check := func(tx store.ReadTx) error {
				got := scanKeys(t, tx, tc.prefix, tc.after)
				if !slices.Equal(got, tc.want) {
					t.Errorf("%s (write tx %v): got %q; want %q", name, write, got, tc.want)
				}
				return nil
			}
			var err error
			if write {
				err = b.Update(context.Background(), func(tx store.WriteTx) error { return check(tx) })
			} else {
				err = b.View(context.Background(), check)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		return tx.Scan("a/", "", func(it store.Item) bool {
			if string(it.Value) != "v"+it.Key || it.Version == 0 {
				t.Errorf("Scan item %+v", it)
			}
			return true
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testScanStopAndRetain(t *testing.T, b store.Backend) {
	update(t, b, func(tx store.WriteTx) error {
		for i := range 200 {
			if err := tx.Put(fmt.Sprintf("s/%03d", i), fmt.Appendf(nil, "%d", i), store.Absent); err != nil {
				return err
			}
		}
		return nil
	})
	var kept []store.Item
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		return tx.Scan("s/", "s/010", func(it store.Item) bool {
			kept = append(kept, it)
			return len(kept) < 3
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 3 {
		t.Fatalf("early stop: fn called %d times; want 3", len(kept))
	}
	put(t, b, "s/011", "changed", store.Any)
	for i, it := range kept {
		if want := fmt.Sprintf("s/%03d", 11+i); it.Key != want || string(it.Value) != fmt.Sprint(11+i) {
			t.Errorf("retained item %d = %s=%q; want %s", i, it.Key, it.Value, want)
		}
	}
}

func testScanWhileWriting(t *testing.T, b store.Backend) {
	update(t, b, func(tx store.WriteTx) error {
		for i := range 150 {
			if err := tx.Put(fmt.Sprintf("w/%03d", i), []byte("x"), store.Absent); err != nil {
				return err
			}
		}
		return nil
	})
	// Delete every key the scan visits, and write elsewhere, in one Update.
	visited := 0
	update(t, b, func(tx store.WriteTx) error {
		var werr error
		err := tx.Scan("w/", "", func(it store.Item) bool {
			visited++
			if werr = tx.Delete(it.Key, it.Version); werr != nil {
				return false
			}
			werr = tx.Put("index/"+it.Key, []byte("moved"), store.Absent)
			return werr == nil
		})
		if err != nil {
			return err
		}
		return werr
	})
	if visited != 150 {
		t.Errorf("scan visited %d keys; want 150", visited)
	}
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		if keys := scanKeys(t, tx, "w/", ""); len(keys) != 0 {
			t.Errorf("keys left after delete-while-scanning: %d", len(keys))
		}
		if keys := scanKeys(t, tx, "index/w/", ""); len(keys) != 150 {
			t.Errorf("index keys written while scanning: %d; want 150", len(keys))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testScanReverse checks ScanReverse against Scan over the same fixture:
// for every prefix and bound it visits the same keys in the opposite order,
// and it stops when fn returns false.
func testScanReverse(t *testing.T, b store.Backend) {
	update(t, b, func(tx store.WriteTx) error {
		for _, k := range scanFixture {
			if err := tx.Put(k, []byte("v"+k), store.Absent); err != nil {
				return fmt.Errorf("Put(%q): %w", k, err)
			}
		}
		// More keys than one read chunk, to cross chunk boundaries.
		for i := range 150 {
			if err := tx.Put(fmt.Sprintf("m/%03d", i), nil, store.Absent); err != nil {
				return err
			}
		}
		return nil
	})
	reverse := func(tx store.ReadTx, prefix, before string) []string {
		keys := []string{}
		if err := tx.ScanReverse(prefix, before, func(it store.Item) bool {
			if string(it.Value) != "v"+it.Key && !strings.HasPrefix(it.Key, "m/") {
				t.Errorf("ScanReverse item %+v", it)
			}
			keys = append(keys, it.Key)
			return true
		}); err != nil {
			t.Fatalf("ScanReverse(%q, %q): %v", prefix, before, err)
		}
		return keys
	}
	cases := []struct{ prefix, before string }{
		{"", ""}, {"a/", ""}, {"a/", "a/2"}, {"a/", "a/2/x"}, {"a/", "a/\xff"}, {"a/", "a/"},
		{"a/", "b"}, {"a/", "0"}, {"a", ""}, {"a0", ""}, {"b", ""}, {"c", ""}, {"", "b"},
		{"m/", ""}, {"m/", "m/100"}, {"a/\xff", ""},
	}
	for _, write := range []bool{false, true} {
		check := func(tx store.ReadTx) error {
			for _, tc := range cases {
				var want []string
				for _, k := range scanKeys(t, tx, tc.prefix, "") {
					if tc.before == "" || k < tc.before {
						want = append(want, k)
					}
				}
				slices.Reverse(want)
				if want == nil {
					want = []string{}
				}
				if got := reverse(tx, tc.prefix, tc.before); !slices.Equal(got, want) {
					t.Errorf("ScanReverse(%q, %q) (write tx %v): got %q; want %q", tc.prefix, tc.before, write, got, want)
				}
			}
			n := 0
			if err := tx.ScanReverse("m/", "", func(store.Item) bool { n++; return n < 70 }); err != nil || n != 70 {
				t.Errorf("ScanReverse early stop: visited %d, err %v", n, err)
			}
			return nil
		}
		var err error
		if write {
			err = b.Update(context.Background(), func(tx store.WriteTx) error { return check(tx) })
		} else {
			err = b.View(context.Background(), check)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
