package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/flagstore/flagstore/store"
)

// ---- conditional writes ----

func testConditionalPut(t *testing.T, b store.Backend) {
	// Existing keys are written twice so a stale version exists.
	cases := []struct {
		name   string
		exists bool
		expect func(old, cur uint64) uint64
		want   error
	}{
		{"Absent/missing", false, func(_, _ uint64) uint64 { return store.Absent }, nil},
		{"Absent/existing", true, func(_, _ uint64) uint64 { return store.Absent }, store.ErrConflict},
		{"current", true, func(_, cur uint64) uint64 { return cur }, nil},
		{"stale", true, func(old, _ uint64) uint64 { return old }, store.ErrConflict},
		{"future", true, func(_, cur uint64) uint64 { return cur + 1000 }, store.ErrConflict},
		{"version/missing", false, func(_, _ uint64) uint64 { return 1 }, store.ErrConflict},
		{"Any/existing", true, func(_, _ uint64) uint64 { return store.Any }, nil},
		{"Any/missing", false, func(_, _ uint64) uint64 { return store.Any }, nil},
	}
	for _, tc := range cases {
		key := "cp/" + tc.name
		var old, cur uint64
		if tc.exists {
			put(t, b, key, "v1", store.Absent)
			old = mustGet(t, b, key).Version
			put(t, b, key, "v2", old)
			cur = mustGet(t, b, key).Version
		}
		rev := revision(t, b)
		err := b.Update(context.Background(), func(tx store.WriteTx) error {
			return tx.Put(key, []byte("new"), tc.expect(old, cur))
		})
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: Put error %v; want %v", tc.name, err, tc.want)
			continue
		}
		if tc.want == nil {
			it := mustGet(t, b, key)
			if string(it.Value) != "new" || it.Version != rev+1 || revision(t, b) != rev+1 {
				t.Errorf("%s: after Put: %+v, revision %d (was %d)", tc.name, it, revision(t, b), rev)
			}
			continue
		}
		if r := revision(t, b); r != rev {
			t.Errorf("%s: failed Put moved revision %d -> %d", tc.name, rev, r)
		}
		if tc.exists {
			if it := mustGet(t, b, key); string(it.Value) != "v2" || it.Version != cur {
				t.Errorf("%s: failed Put changed the key: %+v", tc.name, it)
			}
		} else {
			wantMissing(t, b, key)
		}
	}
}

func testConditionalDelete(t *testing.T, b store.Backend) {
	cases := []struct {
		name   string
		exists bool
		expect func(old, cur uint64) uint64
		want   error
		gone   bool // the key is deleted afterwards
	}{
		{"Any/missing", false, func(_, _ uint64) uint64 { return store.Any }, nil, true},
		{"Absent/missing", false, func(_, _ uint64) uint64 { return store.Absent }, store.ErrNotFound, true},
		{"version/missing", false, func(_, _ uint64) uint64 { return 1 }, store.ErrNotFound, true},
		{"Absent/existing", true, func(_, _ uint64) uint64 { return store.Absent }, store.ErrConflict, false},
		{"stale", true, func(old, _ uint64) uint64 { return old }, store.ErrConflict, false},
		{"current", true, func(_, cur uint64) uint64 { return cur }, nil, true},
		{"Any/existing", true, func(_, _ uint64) uint64 { return store.Any }, nil, true},
	}
	for _, tc := range cases {
		key := "cd/" + tc.name
		var old, cur uint64
		if tc.exists {
			put(t, b, key, "v1", store.Absent)
			old = mustGet(t, b, key).Version
			put(t, b, key, "v2", old)
			cur = mustGet(t, b, key).Version
		}
		rev := revision(t, b)
		err := b.Update(context.Background(), func(tx store.WriteTx) error {
			return tx.Delete(key, tc.expect(old, cur))
		})
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: Delete error %v; want %v", tc.name, err, tc.want)
			continue
		}
		wantRev := rev
		if tc.exists && tc.gone {
			wantRev++
		}
		if r := revision(t, b); r != wantRev {
			t.Errorf("%s: revision %d -> %d; want %d", tc.name, rev, r, wantRev)
		}
		if tc.gone {
			wantMissing(t, b, key)
		} else if it := mustGet(t, b, key); it.Version != cur {
			t.Errorf("%s: failed Delete changed the key: %+v", tc.name, it)
		}
	}
}

// ---- transactions ----

func testAtomic(t *testing.T, b store.Backend) {
	put(t, b, "keep", "1", store.Absent)
	keep := mustGet(t, b, "keep")
	rec, _ := subscribe(t, b)
	rev := revision(t, b)
	boom := errors.New("boom")

	err := b.Update(context.Background(), func(tx store.WriteTx) error {
		for i := range 20 {
			if err := tx.Put(fmt.Sprintf("tmp/%d", i), []byte("x"), store.Absent); err != nil {
				return err
			}
		}
		if err := tx.Delete("keep", store.Any); err != nil {
			return err
		}
		tx.SetNote([]byte("never"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v; want the fn's error", err)
	}
	err = b.Update(context.Background(), func(tx store.WriteTx) error {
		if err := tx.Put("tmp/x", []byte("x"), store.Absent); err != nil {
			return err
		}
		return tx.Put("keep", []byte("2"), store.Absent) // conflicts
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("Update returned %v; want ErrConflict", err)
	}

	if r := revision(t, b); r != rev {
		t.Errorf("failed transactions moved revision %d -> %d", rev, r)
	}
	if got := mustGet(t, b, "keep"); string(got.Value) != "1" || got.Version != keep.Version {
		t.Errorf("keep = %+v; want %+v", got, keep)
	}
	err = b.View(context.Background(), func(tx store.ReadTx) error {
		if keys := scanKeys(t, tx, "tmp/", ""); len(keys) != 0 {
			t.Errorf("rolled-back keys visible: %q", keys)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, b, "after", "1", store.Absent)
	if got := rec.waitFor(t, 1); got[0].Revision != rev+1 || len(got[0].Ops) != 1 || got[0].Ops[0].Key != "after" {
		t.Errorf("first event after rolled-back transactions: %+v", got[0])
	}
}

func testPanic(t *testing.T, b store.Backend) {
	expectPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: panic did not propagate", name)
			}
		}()
		f()
	}
	expectPanic("Update", func() {
		_ = b.Update(context.Background(), func(tx store.WriteTx) error {
			if err := tx.Put("panic", []byte("x"), store.Any); err != nil {
				return err
			}
			panic("boom")
		})
	})
	expectPanic("View", func() {
		_ = b.View(context.Background(), func(tx store.ReadTx) error { panic("boom") })
	})
	wantMissing(t, b, "panic")
	if r := revision(t, b); r != 0 {
		t.Errorf("revision after panicking Update = %d; want 0", r)
	}
	put(t, b, "after", "1", store.Absent) // locks were released
	mustGet(t, b, "after")
}

func testReadYourWrites(t *testing.T, b store.Backend) {
	put(t, b, "r/1", "old", store.Absent)
	v1 := mustGet(t, b, "r/1").Version
	update(t, b, func(tx store.WriteTx) error {
		if err := tx.Put("r/1", []byte("new"), v1); err != nil {
			return err
		}
		it, err := tx.Get("r/1")
		if err != nil || string(it.Value) != "new" || it.Version == v1 {
			t.Errorf("Get after Put in tx: %+v, %v", it, err)
		}
		if err := tx.Put("r/2", []byte("two"), store.Absent); err != nil {
			return err
		}
		if keys := scanKeys(t, tx, "r/", ""); len(keys) != 2 {
			t.Errorf("Scan in tx after Put: %q", keys)
		}
		if err := tx.Delete("r/1", it.Version); err != nil {
			t.Errorf("Delete with the version read in tx: %v", err)
		}
		if _, err := tx.Get("r/1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get after Delete in tx: %v", err)
		}
		if keys := scanKeys(t, tx, "r/", ""); len(keys) != 1 || keys[0] != "r/2" {
			t.Errorf("Scan in tx after Delete: %q", keys)
		}
		if err := tx.Put("r/1", []byte("again"), store.Absent); err != nil {
			t.Errorf("re-create after Delete in tx: %v", err)
		}
		two, err := tx.Get("r/2")
		if err != nil {
			return err
		}
		return tx.Put("r/2", []byte("two'"), two.Version)
	})
	rev := revision(t, b)
	for key, want := range map[string]string{"r/1": "again", "r/2": "two'"} {
		if it := mustGet(t, b, key); string(it.Value) != want || it.Version != rev {
			t.Errorf("%s = %+v; want %q at version %d", key, it, want, rev)
		}
	}
}

func testReadOnly(t *testing.T, b store.Backend) {
	put(t, b, "ro", "1", store.Absent)
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		w, ok := tx.(store.WriteTx)
		if !ok {
			return nil // nothing to check: the type has no write methods
		}
		if err := w.Put("ro2", []byte("x"), store.Any); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Put in View: %v; want ErrReadOnly", err)
		}
		if err := w.Delete("ro", store.Any); !errors.Is(err, store.ErrReadOnly) {
			t.Errorf("Delete in View: %v; want ErrReadOnly", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantMissing(t, b, "ro2")
	mustGet(t, b, "ro")
}

func testRevision(t *testing.T, b store.Backend) {
	rec, start := subscribe(t, b)
	if start != 0 {
		t.Errorf("Subscribe on empty store returned revision %d", start)
	}
	put(t, b, "a", "1", store.Absent)
	if r, v := revision(t, b), mustGet(t, b, "a").Version; r != 1 || v != 1 {
		t.Fatalf("after first commit: revision %d, version %d; want 1, 1", r, v)
	}
	update(t, b, func(tx store.WriteTx) error {
		if err := tx.Put("b", []byte("2"), store.Absent); err != nil {
			return err
		}
		return tx.Put("a", []byte("2"), store.Any)
	})
	if r, va, vb := revision(t, b), mustGet(t, b, "a").Version, mustGet(t, b, "b").Version; r != 2 || va != 2 || vb != 2 {
		t.Fatalf("after second commit: revision %d, versions %d %d; want 2", r, va, vb)
	}
	// None of these writes anything.
	empty := []struct {
		name string
		fn   func(store.WriteTx) error
	}{
		{"read only", func(tx store.WriteTx) error { _, err := tx.Get("a"); return err }},
		{"note only", func(tx store.WriteTx) error { tx.SetNote([]byte("n")); return nil }},
		{"delete missing", func(tx store.WriteTx) error { return tx.Delete("zzz", store.Any) }},
		{"ignored conflict", func(tx store.WriteTx) error {
			if err := tx.Put("a", nil, store.Absent); !errors.Is(err, store.ErrConflict) {
				return fmt.Errorf("Put: %v; want ErrConflict", err)
			}
			return nil
		}},
		{"create then delete", func(tx store.WriteTx) error {
			if err := tx.Put("tmp", []byte("x"), store.Absent); err != nil {
				return err
			}
			if err := tx.Put("tmp", []byte("y"), store.Any); err != nil {
				return err
			}
			return tx.Delete("tmp", store.Any)
		}},
	}
	for _, tc := range empty {
		if err := b.Update(context.Background(), tc.fn); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r := revision(t, b); r != 2 {
			t.Errorf("%s: revision moved to %d", tc.name, r)
		}
	}
	wantMissing(t, b, "tmp")
	put(t, b, "c", "3", store.Absent)
	got := rec.waitFor(t, 3)
	for i, c := range got {
		if c.Revision != uint64(i+1) {
			t.Errorf("event %d has revision %d; want %d", i, c.Revision, i+1)
		}
	}
	if len(got) != 3 {
		t.Errorf("%d events; want 3 (empty transactions must not emit)", len(got))
	}
}

// testVersion: Version agrees with Get, before and after a write, inside
// the writing transaction and outside it, and a missing key is ErrNotFound.
func testVersion(t *testing.T, b store.Backend) {
	put(t, b, "ver/a", "1", store.Absent)
	v1 := mustGet(t, b, "ver/a").Version
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		if v, err := tx.Version("ver/a"); err != nil || v != v1 {
			t.Errorf("Version = %d, %v; want %d", v, err, v1)
		}
		if _, err := tx.Version("ver/missing"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Version of a missing key: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	update(t, b, func(tx store.WriteTx) error {
		if err := tx.Put("ver/a", []byte("2"), v1); err != nil {
			return err
		}
		it, err := tx.Get("ver/a")
		if err != nil {
			return err
		}
		if v, err := tx.Version("ver/a"); err != nil || v != it.Version || v != tx.Revision()+1 {
			t.Errorf("Version after Put in tx = %d, %v; Get says %d, revision %d", v, err, it.Version, tx.Revision())
		}
		if err := tx.Delete("ver/a", it.Version); err != nil {
			return err
		}
		if _, err := tx.Version("ver/a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Version after Delete in tx: %v", err)
		}
		return tx.Put("ver/a", []byte("3"), store.Absent)
	})
	if got := mustGet(t, b, "ver/a"); got.Version != revision(t, b) || string(got.Value) != "3" {
		t.Errorf("after the commit: %+v, revision %d", got, revision(t, b))
	}
}
