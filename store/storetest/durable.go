package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/flagstore/flagstore/store"
)

// RunDurable checks that a persistent backend keeps every acknowledged
// write, with its version, and the revision across Close and reopen, and
// that rolled-back work stays gone. newStore is called once per subtest and
// returns an Opener for a new, empty store; every call of that Opener opens
// the same store again (after the suite closed the previous handle).
// Backends that pass it should pass [Run] too.
func RunDurable(t *testing.T, newStore func(t *testing.T) Opener) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"Reopen", testReopen},
		{"ReopenEmpty", testReopenEmpty},
		{"ReopenAfterRollback", testReopenAfterRollback},
		{"ManyReopens", testManyReopens},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// closeStore closes b and fails the test on error.
func closeStore(t *testing.T, b store.Backend) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

// sameState compares two snapshots item by item.
func sameState(t *testing.T, what string, got, want map[string]store.Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d keys; want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: key %q lost", what, k)
			continue
		}
		if !bytes.Equal(g.Value, w.Value) || g.Version != w.Version {
			t.Errorf("%s: %q = %q@%d; want %q@%d", what, k, g.Value, g.Version, w.Value, w.Version)
		}
	}
}

func testReopen(t *testing.T, open Opener) {
	b := openFresh(t, open)
	binary := []byte("\x00\r\n*2\r\n$3\r\ndel\r\n\xff")
	put(t, b, "", "the empty key", store.Absent)
	put(t, b, "d/a", "a", store.Absent)
	put(t, b, "d/b", "b", store.Absent)
	put(t, b, "d/c", "c", store.Absent)
	put(t, b, "d/b", "b2", store.Any)
	update(t, b, func(tx store.WriteTx) error {
		tx.SetNote([]byte("bulk"))
		for i := range 50 {
			if err := tx.Put(fmt.Sprintf("d/bulk/%02d", i), bytes.Repeat([]byte{byte(i)}, 100*i), store.Absent); err != nil {
				return err
			}
		}
		if err := tx.Put("d/bin", binary, store.Absent); err != nil {
			return err
		}
		return tx.Put("d/empty", nil, store.Absent)
	})
	update(t, b, func(tx store.WriteTx) error { return tx.Delete("d/c", store.Any) })
	want, rev := snapshot(t, b)
	closeStore(t, b)

	b = openFresh(t, open)
	got, grev := snapshot(t, b)
	if grev != rev {
		t.Errorf("revision %d after reopen; want %d", grev, rev)
	}
	sameState(t, "after reopen", got, want)
	if it := mustGet(t, b, "d/empty"); it.Value == nil || len(it.Value) != 0 {
		t.Errorf("empty value after reopen: %#v", it.Value)
	}
	// Versions carry over: a conditional write with a pre-reopen version
	// succeeds, and the revision continues.
	rec, from := subscribe(t, b)
	if from != rev {
		t.Errorf("Subscribe after reopen returned %d; want %d", from, rev)
	}
	put(t, b, "d/a", "a2", want["d/a"].Version)
	if it := mustGet(t, b, "d/a"); it.Version != rev+1 {
		t.Errorf("first write after reopen has version %d; want %d", it.Version, rev+1)
	}
	if c := rec.waitFor(t, 1)[0]; c.Revision != rev+1 {
		t.Errorf("first event after reopen has revision %d; want %d", c.Revision, rev+1)
	}
	want, rev = snapshot(t, b)
	closeStore(t, b)

	b = openFresh(t, open)
	got, grev = snapshot(t, b)
	if grev != rev {
		t.Errorf("revision %d after second reopen; want %d", grev, rev)
	}
	sameState(t, "after second reopen", got, want)
}

func testReopenEmpty(t *testing.T, open Opener) {
	closeStore(t, openFresh(t, open))
	b := openFresh(t, open)
	if items, rev := snapshot(t, b); len(items) != 0 || rev != 0 {
		t.Fatalf("reopened empty store: %d keys, revision %d", len(items), rev)
	}
	put(t, b, "k", "v", store.Absent)
	if v := mustGet(t, b, "k").Version; v != 1 {
		t.Errorf("first version = %d; want 1", v)
	}
}

func testReopenAfterRollback(t *testing.T, open Opener) {
	b := openFresh(t, open)
	put(t, b, "keep", "1", store.Absent)
	boom := errors.New("boom")
	err := b.Update(context.Background(), func(tx store.WriteTx) error {
		if err := tx.Put("gone", []byte("x"), store.Absent); err != nil {
			return err
		}
		if err := tx.Delete("keep", store.Any); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v; want boom", err)
	}
	update(t, b, func(tx store.WriteTx) error { // writes that cancel out
		if err := tx.Put("tmp", []byte("x"), store.Absent); err != nil {
			return err
		}
		return tx.Delete("tmp", store.Any)
	})
	closeStore(t, b)
	b = openFresh(t, open)
	items, rev := snapshot(t, b)
	if rev != 1 || len(items) != 1 || string(items["keep"].Value) != "1" {
		t.Errorf("after reopen: revision %d, items %v; want only keep at revision 1", rev, items)
	}
}

func testManyReopens(t *testing.T, open Opener) {
	const rounds = 5
	for i := range rounds {
		b := openFresh(t, open)
		if r, want := revision(t, b), uint64(max(0, 2*i-1)); r != want {
			t.Fatalf("round %d: revision %d; want %d", i, r, want)
		}
		put(t, b, fmt.Sprintf("round/%d", i), fmt.Sprint(i), store.Absent)
		if i > 0 {
			prev := mustGet(t, b, fmt.Sprintf("round/%d", i-1))
			put(t, b, prev.Key, "overwritten", prev.Version)
		}
		closeStore(t, b)
	}
	b := openFresh(t, open)
	items, rev := snapshot(t, b)
	if rev != 2*rounds-1 || len(items) != rounds {
		t.Errorf("after %d rounds: revision %d, %d keys", rounds, rev, len(items))
	}
	// The last round created round/4 (revision 8), then overwrote round/3 (9).
	if it := items[fmt.Sprintf("round/%d", rounds-1)]; string(it.Value) != fmt.Sprint(rounds-1) || it.Version != rev-1 {
		t.Errorf("last created key %+v; want version %d", it, rev-1)
	}
	if it := items[fmt.Sprintf("round/%d", rounds-2)]; string(it.Value) != "overwritten" || it.Version != rev {
		t.Errorf("last overwritten key %+v; want version %d", it, rev)
	}
}
