package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/flagstore/flagstore/store"
	"github.com/flagstore/flagstore/store/storetest"
)

// openT opens a store and fails the test on error.
func openT(t testing.TB, path string, opts ...store.Option) *store.BuntDB {
	t.Helper()
	b, err := store.Open(path, opts...)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	return b
}

func TestBuntDBMemory(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Backend { return openT(t, ":memory:") })
}

func TestBuntDBFile(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) store.Backend {
		return openT(t, filepath.Join(t.TempDir(), "flags.db"))
	})
}

func TestBuntDBDurable(t *testing.T) {
	t.Parallel()
	for _, policy := range []store.SyncPolicy{store.SyncAlways, store.SyncEverySecond, store.SyncNever} {
		t.Run(policy.String(), func(t *testing.T) {
			t.Parallel()
			storetest.RunDurable(t, func(t *testing.T) storetest.Opener {
				path := filepath.Join(t.TempDir(), "flags.db")
				return func(t *testing.T) store.Backend { return openT(t, path, store.WithSync(policy)) }
			})
		})
	}
}

func TestBuntDBReservedKeys(t *testing.T) {
	t.Parallel()
	b := openT(t, ":memory:")
	defer b.Close()
	ctx := context.Background()
	if err := b.Update(ctx, func(tx store.WriteTx) error { return tx.Put("", []byte("empty key"), store.Absent) }); err != nil {
		t.Fatalf("Put of the empty key: %v", err)
	}
	for _, key := range []string{store.ReservedPrefix, store.ReservedPrefix + "revision", store.ReservedPrefix + "x"} {
		err := b.Update(ctx, func(tx store.WriteTx) error { return tx.Put(key, []byte("x"), store.Any) })
		if !errors.Is(err, store.ErrReservedKey) {
			t.Errorf("Put(%q) = %v; want ErrReservedKey", key, err)
		}
		err = b.Update(ctx, func(tx store.WriteTx) error { return tx.Delete(key, store.Any) })
		if !errors.Is(err, store.ErrReservedKey) {
			t.Errorf("Delete(%q) = %v; want ErrReservedKey", key, err)
		}
	}
	err := b.View(ctx, func(tx store.ReadTx) error {
		if _, err := tx.Get(store.ReservedPrefix + "revision"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get of the revision key = %v; want ErrNotFound", err)
		}
		var keys []string
		for _, prefix := range []string{"", store.ReservedPrefix} {
			if err := tx.Scan(prefix, "", func(it store.Item) bool {
				keys = append(keys, it.Key)
				return true
			}); err != nil {
				return err
			}
		}
		if len(keys) != 1 || keys[0] != "" {
			t.Errorf("Scan shows %q; want only the empty key", keys)
		}
		if tx.Revision() != 1 {
			t.Errorf("Revision = %d; want 1", tx.Revision())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuntDBOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	foreign := filepath.Join(dir, "foreign.db")
	writeRaw(t, foreign, map[string]string{"k": "a plain value"})
	shortValue := filepath.Join(dir, "short.db")
	writeRaw(t, shortValue, map[string]string{"\x00format": "flagstore/buntdb/1", "k": "short"})
	otherFormat := filepath.Join(dir, "other.db")
	writeRaw(t, otherFormat, map[string]string{"\x00format": "flagstore/buntdb/99"})
	cases := []struct {
		name string
		path string
		opts []store.Option
	}{
		{"empty path", "", nil},
		{"bad sync policy", ":memory:", []store.Option{store.WithSync(store.SyncPolicy(42))}},
		{"missing directory", filepath.Join(dir, "no", "such", "dir.db"), nil},
		{"foreign buntdb file", foreign, nil},
		{"value without header", shortValue, nil},
		{"unknown format", otherFormat, nil},
	}
	for _, tc := range cases {
		if b, err := store.Open(tc.path, tc.opts...); err == nil {
			b.Close()
			t.Errorf("%s: Open succeeded", tc.name)
		}
	}
}

// writeRaw writes keys to a buntdb file directly.
func writeRaw(t *testing.T, path string, kv map[string]string) {
	t.Helper()
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *buntdb.Tx) error {
		for k, v := range kv {
			if _, _, err := tx.Set(k, v, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuntDBRevisionRecovery simulates a torn commit that kept a data record
// but lost the revision key: the reopened store must not reuse the version.
func TestBuntDBRevisionRecovery(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	b := openT(t, path)
	ctx := context.Background()
	put := func(key string) error {
		return b.Update(ctx, func(tx store.WriteTx) error { return tx.Put(key, []byte("v"), store.Any) })
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	writeRaw(t, path, map[string]string{"b": "\x00\x00\x00\x00\x00\x00\x00\x07torn"})

	b = openT(t, path)
	defer b.Close()
	rev, err := b.Subscribe(ctx, func(store.Commit) {})
	if err != nil || rev != 7 {
		t.Fatalf("Subscribe after recovery = %d, %v; want 7", rev, err)
	}
	if err := put("c"); err != nil {
		t.Fatal(err)
	}
	err = b.View(ctx, func(tx store.ReadTx) error {
		it, err := tx.Get("c")
		if err != nil || it.Version != 8 || tx.Revision() != 8 {
			t.Errorf("after recovery: c = %+v, %v; revision %d; want version and revision 8", it, err, tx.Revision())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBuntDBTxAfterReturn(t *testing.T) {
	t.Parallel()
	b := openT(t, ":memory:")
	defer b.Close()
	ctx := context.Background()
	var wtx store.WriteTx
	var rtx store.ReadTx
	if err := b.Update(ctx, func(tx store.WriteTx) error { wtx = tx; return tx.Put("k", nil, store.Any) }); err != nil {
		t.Fatal(err)
	}
	if err := b.View(ctx, func(tx store.ReadTx) error { rtx = tx; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := wtx.Put("late", []byte("x"), store.Any); err == nil {
		t.Error("Put on a finished WriteTx succeeded")
	}
	if _, err := wtx.Get("k"); err == nil {
		t.Error("Get on a finished WriteTx succeeded")
	}
	if _, err := rtx.Get("k"); err == nil {
		t.Error("Get on a finished ReadTx succeeded")
	}
	if err := rtx.Scan("", "", func(store.Item) bool { return true }); err == nil {
		t.Error("Scan on a finished ReadTx succeeded")
	}
}

// TestBuntDBSubscriberCopies checks that subscribers do not share bytes.
func TestBuntDBSubscriberCopies(t *testing.T) {
	t.Parallel()
	b := openT(t, ":memory:")
	defer b.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	seen := make([][]byte, 3)
	for i := range seen {
		wg.Add(1)
		if _, err := b.Subscribe(ctx, func(c store.Commit) {
			defer wg.Done()
			seen[i] = c.Ops[0].After
			copy(c.Ops[0].After, "XXXXX")
			copy(c.Note, "XXXXX")
		}); err != nil {
			t.Fatal(err)
		}
	}
	value := []byte("hello")
	if err := b.Update(ctx, func(tx store.WriteTx) error {
		tx.SetNote([]byte("note!"))
		return tx.Put("k", value, store.Absent)
	}); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if string(value) != "hello" {
		t.Errorf("subscriber changed the caller's value: %q", value)
	}
	for i := range seen {
		for j := range seen {
			if i != j && &seen[i][0] == &seen[j][0] {
				t.Fatalf("subscribers %d and %d share bytes", i, j)
			}
		}
	}
	err := b.View(ctx, func(tx store.ReadTx) error {
		it, err := tx.Get("k")
		if err != nil || !bytes.Equal(it.Value, []byte("hello")) {
			t.Errorf("stored value after subscribers wrote to theirs: %q, %v", it.Value, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuntDBAutoShrink checks that a file rewritten by buntdb's shrink
// reopens with the same contents.
func TestBuntDBAutoShrink(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	b := openT(t, path, store.WithSync(store.SyncNever), store.WithAutoShrink(false))
	ctx := context.Background()
	for i := range 300 {
		if err := b.Update(ctx, func(tx store.WriteTx) error {
			return tx.Put(fmt.Sprintf("k/%d", i%10), fmt.Appendf(nil, "%d", i), store.Any)
		}); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	// Shrink through buntdb directly, as its background job would.
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Shrink(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	b = openT(t, path)
	defer b.Close()
	err = b.View(ctx, func(tx store.ReadTx) error {
		if tx.Revision() != 300 {
			t.Errorf("revision after shrink = %d; want 300", tx.Revision())
		}
		for i := range 10 {
			it, err := tx.Get(fmt.Sprintf("k/%d", i))
			if want := fmt.Sprint(290 + i); err != nil || string(it.Value) != want || it.Version != uint64(291+i) {
				t.Errorf("k/%d = %+v, %v; want %s at version %d", i, it, err, want, 291+i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuntDBScanSeesOwnWrites pins down the buntdb backend's choice for
// writes during a Scan in a WriteTx: the scan continues from its position
// in the current data, so it skips keys deleted ahead and visits keys
// created ahead.
func TestBuntDBScanSeesOwnWrites(t *testing.T) {
	t.Parallel()
	b := openT(t, ":memory:")
	defer b.Close()
	ctx := context.Background()
	err := b.Update(ctx, func(tx store.WriteTx) error {
		for i := range 200 {
			if err := tx.Put(fmt.Sprintf("w/%03d", i), nil, store.Absent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var visited []string
	err = b.Update(ctx, func(tx store.WriteTx) error {
		var werr error
		err := tx.Scan("w/", "", func(it store.Item) bool {
			visited = append(visited, it.Key)
			if it.Key == "w/010" {
				for i := 11; i <= 20 && werr == nil; i++ {
					werr = tx.Delete(fmt.Sprintf("w/%03d", i), store.Any)
				}
				if werr == nil {
					werr = tx.Put("w/0105", nil, store.Absent) // sorts after w/010
				}
			}
			return werr == nil
		})
		if err != nil {
			return err
		}
		return werr
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(visited) != 191 || visited[10] != "w/010" || visited[11] != "w/0105" || visited[12] != "w/021" {
		t.Errorf("visited %d keys, around the writes: %q", len(visited), visited[9:14])
	}
}
