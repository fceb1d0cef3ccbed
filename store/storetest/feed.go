package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
)

// ---- change feed ----

func testEvents(t *testing.T, b store.Backend) {
	put(t, b, "e/a", "a0", store.Absent)
	put(t, b, "e/b", "b0", store.Absent)
	rec, start := subscribe(t, b)
	if start != 2 {
		t.Errorf("Subscribe returned %d; want 2", start)
	}
	update(t, b, func(tx store.WriteTx) error {
		tx.SetNote([]byte("alice: hello"))
		steps := []func() error{
			func() error { return tx.Put("e/c", []byte("c1"), store.Absent) },
			func() error { return tx.Put("e/a", []byte("a1"), store.Any) },
			func() error { return tx.Put("e/a", []byte("a2"), store.Any) },
			func() error { return tx.Delete("e/b", store.Any) },
			func() error { return tx.Put("e/c", []byte("c2"), store.Any) },
			func() error { return tx.Put("e/empty", []byte{}, store.Absent) },
			func() error { return tx.Put("e/tmp", []byte("t"), store.Absent) },
			func() error { return tx.Delete("e/tmp", store.Any) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, b, func(tx store.WriteTx) error {
		if err := tx.Delete("e/c", store.Any); err != nil {
			return err
		}
		return tx.Put("e/c", []byte("c3"), store.Absent)
	})
	got := rec.waitFor(t, 2)
	if got[0].Revision != 3 || string(got[0].Note) != "alice: hello" {
		t.Errorf("first event: revision %d, note %q", got[0].Revision, got[0].Note)
	}
	checkOps(t, got[0], []store.Op{
		{Key: "e/c", Before: nil, After: []byte("c2")},
		{Key: "e/a", Before: []byte("a0"), After: []byte("a2")},
		{Key: "e/b", Before: []byte("b0"), After: nil},
		{Key: "e/empty", Before: nil, After: []byte{}},
	})
	if got[1].Revision != 4 || len(got[1].Note) != 0 {
		t.Errorf("second event: revision %d, note %q", got[1].Revision, got[1].Note)
	}
	checkOps(t, got[1], []store.Op{{Key: "e/c", Before: []byte("c2"), After: []byte("c3")}})
}

// testConcurrent runs writers that each bump a counter and append a log key
// per commit, with readers checking snapshots and several subscribers
// checking that every commit arrives once and in order.
func testConcurrent(t *testing.T, b store.Backend) {
	const writers, commits, subscribers = 4, 25, 3
	var recs []*recorder
	for range subscribers {
		r, start := subscribe(t, b)
		if start != 0 {
			t.Fatalf("Subscribe returned %d on an empty store", start)
		}
		recs = append(recs, r)
	}
	ctx := context.Background()
	var writing, reading sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		reading.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				checkSnapshot(t, b)
			}
		})
	}
	for w := range writers {
		writing.Go(func() {
			ctr := fmt.Sprintf("ctr/%d", w)
			for i := range commits {
				err := store.ErrConflict
				for errors.Is(err, store.ErrConflict) { // optimistic backends may conflict
					err = b.Update(ctx, func(tx store.WriteTx) error {
						expect := store.Absent
						n := 0
						if it, err := tx.Get(ctr); err == nil {
							expect = it.Version
							if n, err = strconv.Atoi(string(it.Value)); err != nil {
								return err
							}
						} else if !errors.Is(err, store.ErrNotFound) {
							return err
						}
						tx.SetNote([]byte(ctr))
						if err := tx.Put(ctr, []byte(strconv.Itoa(n+1)), expect); err != nil {
							return err
						}
						return tx.Put(fmt.Sprintf("log/%d/%03d", w, i), []byte(ctr), store.Absent)
					})
				}
				if err != nil {
					t.Errorf("writer %d commit %d: %v", w, i, err)
					return
				}
			}
		})
	}
	writing.Wait()
	close(stop)
	reading.Wait()

	const total = writers * commits
	if r := revision(t, b); r != total {
		t.Errorf("revision %d after %d commits", r, total)
	}
	for i, r := range recs {
		got := r.waitFor(t, total)
		if len(got) != total {
			t.Errorf("subscriber %d got %d commits; want %d", i, len(got), total)
		}
		next := map[string]int{}
		for j, c := range got {
			if c.Revision != uint64(j+1) {
				t.Errorf("subscriber %d: event %d has revision %d", i, j, c.Revision)
				break
			}
			if len(c.Ops) != 2 || c.Ops[0].Key != string(c.Note) {
				t.Errorf("subscriber %d: bad commit %+v", i, c)
				break
			}
			next[c.Ops[0].Key]++
			if want := strconv.Itoa(next[c.Ops[0].Key]); string(c.Ops[0].After) != want {
				t.Errorf("subscriber %d: %s went to %q; want %s", i, c.Ops[0].Key, c.Ops[0].After, want)
			}
		}
	}
}

// checkSnapshot checks that one View sees whole commits only: the counters
// add up to the number of log keys and no version exceeds the revision.
func checkSnapshot(t *testing.T, b store.Backend) {
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		rev, sum, logs := tx.Revision(), 0, 0
		err := tx.Scan("ctr/", "", func(it store.Item) bool {
			n, _ := strconv.Atoi(string(it.Value))
			sum += n
			if it.Version > rev {
				t.Errorf("%s has version %d above revision %d", it.Key, it.Version, rev)
			}
			return true
		})
		if err != nil {
			return err
		}
		if err := tx.Scan("log/", "", func(store.Item) bool { logs++; return true }); err != nil {
			return err
		}
		if sum != logs || uint64(logs) != rev {
			t.Errorf("torn snapshot: counters sum %d, %d log keys, revision %d", sum, logs, rev)
		}
		return nil
	})
	if err != nil {
		t.Errorf("View: %v", err)
	}
}

func testSubscribeCancel(t *testing.T, b store.Backend) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cancelled := newRecorder()
	if _, err := b.Subscribe(ctx, cancelled.fn); err != nil {
		t.Fatal(err)
	}
	control, _ := subscribe(t, b)
	put(t, b, "k", "1", store.Absent)
	cancelled.waitFor(t, 1)
	cancel()
	put(t, b, "k", "2", store.Any)
	put(t, b, "k", "3", store.Any)
	control.waitFor(t, 3)
	time.Sleep(20 * time.Millisecond)
	if got := cancelled.got(); len(got) != 1 {
		t.Errorf("cancelled subscription got %d commits; want 1", len(got))
	}
}

// testSubscribeThenView pairs a snapshot with the feed while a writer runs
// and checks that snapshot plus later commits equals the final state.
func testSubscribeThenView(t *testing.T, b store.Backend) {
	const commits = 60
	started := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		defer once.Do(func() { close(started) }) // even if a commit fails
		for i := range commits {
			if i == 10 {
				once.Do(func() { close(started) })
			}
			key := fmt.Sprintf("sv/%d", i%7)
			err := b.Update(context.Background(), func(tx store.WriteTx) error {
				if i%5 == 4 {
					return tx.Delete(key, store.Any)
				}
				return tx.Put(key, []byte(strconv.Itoa(i)), store.Any)
			})
			if err != nil {
				t.Errorf("commit %d: %v", i, err)
				return
			}
		}
	})
	<-started
	rec, from := subscribe(t, b)
	state, snap := snapshot(t, b)
	if snap < from {
		t.Errorf("View after Subscribe saw revision %d < %d", snap, from)
	}
	wg.Wait()
	final, last := snapshot(t, b)
	var got []store.Commit
	if last > from {
		got = rec.waitFor(t, int(last-from))
	}
	for i, c := range got {
		if c.Revision != from+uint64(i)+1 {
			t.Fatalf("event %d has revision %d; want %d", i, c.Revision, from+uint64(i)+1)
		}
		if c.Revision <= snap {
			continue
		}
		for _, op := range c.Ops {
			if op.After == nil {
				delete(state, op.Key)
			} else {
				state[op.Key] = store.Item{Key: op.Key, Value: op.After, Version: c.Revision}
			}
		}
	}
	if len(state) != len(final) {
		t.Fatalf("snapshot+feed has %d keys; final state %d", len(state), len(final))
	}
	for k, want := range final {
		if it := state[k]; string(it.Value) != string(want.Value) || it.Version != want.Version {
			t.Errorf("%s: snapshot+feed %q@%d; final %q@%d", k, it.Value, it.Version, want.Value, want.Version)
		}
	}
}

func testContextDone(t *testing.T, b store.Backend) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel2()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want error
	}{
		{"cancelled", cancelled, context.Canceled},
		{"deadline", expired, context.DeadlineExceeded},
	} {
		called := false
		if err := b.View(tc.ctx, func(store.ReadTx) error { called = true; return nil }); !errors.Is(err, tc.want) {
			t.Errorf("%s: View = %v; want %v", tc.name, err, tc.want)
		}
		err := b.Update(tc.ctx, func(tx store.WriteTx) error {
			called = true
			return tx.Put("ctx", []byte("x"), store.Any)
		})
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: Update = %v; want %v", tc.name, err, tc.want)
		}
		rec := newRecorder()
		if _, err := b.Subscribe(tc.ctx, rec.fn); !errors.Is(err, tc.want) {
			t.Errorf("%s: Subscribe = %v; want %v", tc.name, err, tc.want)
		}
		if called {
			t.Errorf("%s: transaction function ran", tc.name)
		}
		wantMissing(t, b, "ctx")
		put(t, b, "after/"+tc.name, "x", store.Absent)
		time.Sleep(10 * time.Millisecond)
		if n := len(rec.got()); n != 0 {
			t.Errorf("%s: subscriber with a done context got %d commits", tc.name, n)
		}
	}
}

// ---- Close ----

func testClose(t *testing.T, b store.Backend) {
	put(t, b, "k", "v", store.Absent)
	rec, _ := subscribe(t, b)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
		t.Errorf("second Close = %v; want nil or ErrClosed", err)
	}
	ctx := context.Background()
	if err := b.View(ctx, func(store.ReadTx) error { return nil }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("View after Close = %v", err)
	}
	if err := b.Update(ctx, func(tx store.WriteTx) error { return tx.Put("x", nil, store.Any) }); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Update after Close = %v", err)
	}
	if _, err := b.Subscribe(ctx, func(store.Commit) {}); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Subscribe after Close = %v", err)
	}
	if n := len(rec.got()); n != 0 {
		t.Errorf("subscriber got %d commits", n)
	}
}

func testCloseSlowSubscriber(t *testing.T, b store.Backend) {
	var closed atomic.Bool
	var calls, late atomic.Int32
	_, err := b.Subscribe(context.Background(), func(store.Commit) {
		if closed.Load() {
			late.Add(1)
		}
		calls.Add(1)
		time.Sleep(2 * time.Millisecond)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 {
		put(t, b, fmt.Sprintf("slow/%d", i), "x", store.Absent)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed.Store(true)
	time.Sleep(30 * time.Millisecond)
	if n := late.Load(); n != 0 {
		t.Errorf("subscriber called %d times after Close returned", n)
	}
	t.Logf("slow subscriber saw %d of 40 commits before Close", calls.Load())
}
