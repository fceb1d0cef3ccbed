package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"

	"github.com/tidwall/buntdb"

	"github.com/flagstore/flagstore/store"
)

// readRaw returns the stored (encoded) value of key in a closed file.
func readRaw(t *testing.T, path, key string) string {
	t.Helper()
	db, err := buntdb.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v string
	err = db.View(func(tx *buntdb.Tx) error {
		v, err = tx.Get(key)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Values that compress well are stored compressed, flagged in the header;
// others as they are. Both read back unchanged after a reopen.
func TestBuntDBCompressedValues(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	random := make([]byte, 4096)
	_, _ = rand.Read(random)
	values := map[string][]byte{
		"json":   bytes.Repeat([]byte(`{"key":"new-checkout","on":true,"targets":[]},`), 80),
		"random": random,
		"small":  []byte(`{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`),
	}
	b := openT(t, path)
	err := b.Update(context.Background(), func(tx store.WriteTx) error {
		for k, v := range values {
			if err := tx.Put(k, v, store.Absent); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	for _, tc := range []struct {
		key        string
		compressed bool
	}{{"json", true}, {"random", false}, {"small", false}} {
		raw := readRaw(t, path, tc.key)
		if got := raw[0]&0x80 != 0; got != tc.compressed || got != (len(raw) < 8+len(values[tc.key])) {
			t.Errorf("%s: stored in %d bytes for %d, flagged %v; want compressed %v", tc.key, len(raw), len(values[tc.key]), got, tc.compressed)
		}
	}
	b = openT(t, path)
	defer b.Close()
	for k, v := range values {
		if it := mustGetT(t, b, k); !bytes.Equal(it.Value, v) || it.Version != 1 {
			t.Errorf("%s reads back as %d bytes at version %d", k, len(it.Value), it.Version)
		}
	}
}

// A file written before values could be compressed opens and reads, and
// is marked anew, so that older code refuses it rather than misread it.
func TestBuntDBFormat1File(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	writeRaw(t, path, map[string]string{
		"\x00format":   "flagstore/buntdb/1",
		"\x00revision": "\x00\x00\x00\x00\x00\x00\x00\x03",
		"k":            "\x00\x00\x00\x00\x00\x00\x00\x03" + `{"plain":"value, as version 1 stored it"}`,
	})
	b := openT(t, path)
	if it := mustGetT(t, b, "k"); string(it.Value) != `{"plain":"value, as version 1 stored it"}` || it.Version != 3 {
		t.Errorf("k = %q at version %d", it.Value, it.Version)
	}
	b.Close()
	if f := readRaw(t, path, "\x00format"); f != "flagstore/buntdb/2" {
		t.Fatalf("format marker %q after opening", f)
	}
}

// A compressed value that does not decode is an error, not a panic or a
// wrong value.
func TestBuntDBCorruptCompressedValue(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	writeRaw(t, path, map[string]string{
		"\x00format": "flagstore/buntdb/2",
		"k":          "\x80\x00\x00\x00\x00\x00\x00\x01\xff\xff\xff\xff\xff\xff\x01garbage",
	})
	b := openT(t, path)
	defer b.Close()
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		_, err := tx.Get("k")
		return err
	})
	if err == nil || errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of a corrupt value: %v", err)
	}
}

// mustGetT reads key in its own read transaction.
func mustGetT(t *testing.T, b store.Backend, key string) store.Item {
	t.Helper()
	var it store.Item
	err := b.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		it, err = tx.Get(key)
		return err
	})
	if err != nil {
		t.Fatalf("Get %s: %v", key, err)
	}
	return it
}
