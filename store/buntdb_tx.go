package store

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/tidwall/buntdb"
)

// errTxDone is returned when a transaction is used after its View or Update
// callback returned.
var errTxDone = errors.New("store: transaction used after its callback returned")

// scanChunk is how many items a Scan inside a write transaction collects
// from buntdb before handing them to fn (buntdb forbids writes while it
// iterates, and fn may write).
const scanChunk = 64

// indexAfter is how many touched keys a write transaction tracks by linear
// search before it builds a map.
const indexAfter = 16

// touchedKey is a key a write transaction wrote, with its state before the
// first write and after the latest.
type touchedKey struct {
	key     string
	before  string // stored value before the transaction, if existed
	after   string // stored value now, if exists
	existed bool
	exists  bool
}

// txn is the buntdb backend's ReadTx and WriteTx. Read transactions also
// carry Put and Delete, which fail with ErrReadOnly, so a ReadTx asserted to
// WriteTx behaves as documented.
type txn struct {
	btx      *buntdb.Tx
	writable bool
	done     bool
	rev      uint64 // write: last committed revision
	next     uint64 // write: the revision this transaction commits as
	// readRev caches a read transaction's revision plus one (0: not yet
	// read); atomic because nothing stops fn sharing the tx.
	readRev atomic.Uint64

	touched []touchedKey
	index   map[string]int // key → position in touched, once it is long
	note    []byte
	writes  uint64  // buntdb writes so far; a Scan re-seeks when it moves
	scratch *[]byte // write: the store's buffer for compressing values
}

var _ WriteTx = (*txn)(nil)

// usable reports why the transaction cannot be used (for a write if write).
func (t *txn) usable(write bool) error {
	if t.done {
		return errTxDone
	}
	if write && !t.writable {
		return ErrReadOnly
	}
	return nil
}

// Revision implements [ReadTx.Revision]. Inside a write transaction it is
// the revision before this commit; keys the transaction writes carry the
// next one. A read transaction reads it from its snapshot on first use.
func (t *txn) Revision() uint64 {
	if t.writable {
		return t.rev
	}
	if r := t.readRev.Load(); r != 0 {
		return r - 1
	}
	r := readRevision(t.btx)
	t.readRev.Store(r + 1)
	return r
}

// lookup returns the stored (encoded) value at key.
func (t *txn) lookup(key string) (raw string, ok bool, err error) {
	raw, err = t.btx.Get(key)
	switch {
	case err == nil:
		return raw, true, nil
	case errors.Is(err, buntdb.ErrNotFound):
		return "", false, nil
	}
	return "", false, mapErr(err)
}

// stored returns the stored (encoded) value at a caller's key for a read;
// a missing or reserved key is ErrNotFound.
func (t *txn) stored(key string) (string, error) {
	if err := t.usable(false); err != nil {
		return "", err
	}
	if isReserved(key) {
		return "", ErrNotFound
	}
	raw, ok, err := t.lookup(key)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNotFound
	}
	return raw, nil
}

// Get implements [ReadTx.Get].
func (t *txn) Get(key string) (Item, error) {
	raw, err := t.stored(key)
	if err != nil {
		return Item{}, err
	}
	return decodeItem(key, raw)
}

// Version implements [ReadTx.Version].
func (t *txn) Version(key string) (uint64, error) {
	raw, err := t.stored(key)
	if err != nil {
		return 0, err
	}
	return versionOf(key, raw)
}

// versionOf reads the version of the stored value raw at key.
func versionOf(key, raw string) (uint64, error) {
	v, ok := decodeVersion(raw)
	if !ok {
		return 0, fmt.Errorf("store: corrupt value at key %q", key)
	}
	return v, nil
}

// decodeItem builds the caller's Item from a stored value.
func decodeItem(key, raw string) (Item, error) {
	v, err := versionOf(key, raw)
	if err != nil {
		return Item{}, err
	}
	value, err := valueBytes(raw)
	if err != nil {
		return Item{}, fmt.Errorf("%w at key %q", err, key)
	}
	return Item{Key: key, Value: value, Version: v}, nil
}

// Scan implements [ReadTx.Scan]. It seeks straight to the first candidate
// key and stops at the end of the prefix. Inside a write transaction fn may
// write; the scan then resumes after the last key it passed to fn, so it
// sees those writes.
func (t *txn) Scan(prefix, after string, fn func(Item) bool) error {
	if err := t.usable(false); err != nil {
		return err
	}
	if isReserved(prefix) {
		return nil
	}
	start := prefix
	if after != "" && after >= prefix {
		start = after + "\x00" // the smallest key greater than after
	}
	if t.writable {
		return t.scanWritable(prefix, start, fn)
	}
	var ferr error
	err := t.btx.AscendGreaterOrEqual("", start, func(key, raw string) bool {
		if !strings.HasPrefix(key, prefix) {
			return false
		}
		if isReserved(key) {
			return true
		}
		it, err := decodeItem(key, raw)
		if err != nil {
			ferr = err
			return false
		}
		return fn(it)
	})
	if err != nil {
		return mapErr(err)
	}
	return ferr
}

// scanWritable scans in chunks so that fn runs outside buntdb's iterator
// and may write. After a write it seeks again past the last key it visited.
func (t *txn) scanWritable(prefix, start string, fn func(Item) bool) error {
	type entry struct{ key, raw string }
	chunk := make([]entry, 0, scanChunk)
	pivot := start
	for {
		chunk = chunk[:0]
		err := t.btx.AscendGreaterOrEqual("", pivot, func(key, raw string) bool {
			if !strings.HasPrefix(key, prefix) {
				return false
			}
			if !isReserved(key) {
				chunk = append(chunk, entry{key, raw})
			}
			return len(chunk) < scanChunk
		})
		if err != nil {
			return mapErr(err)
		}
		end := len(chunk) < scanChunk
		writes := t.writes
		for _, e := range chunk {
			it, err := decodeItem(e.key, e.raw)
			if err != nil {
				return err
			}
			if !fn(it) {
				return nil
			}
			pivot = e.key + "\x00"
			if t.writes != writes {
				end = false // the rest of the chunk may be stale
				break
			}
		}
		if end {
			return nil
		}
	}
}

// Put implements [WriteTx.Put]. The key's new Version is the revision this
// transaction will commit as.
func (t *txn) Put(key string, value []byte, expect uint64) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if isReserved(key) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	if expect != Any {
		raw, ok, err := t.lookup(key)
		if err != nil {
			return err
		}
		if !ok {
			if expect != Absent {
				return ErrConflict
			}
		} else if v, _ := decodeVersion(raw); expect == Absent || v != expect {
			return ErrConflict
		}
	}
	enc := encodeValue(t.next, value, t.scratch)
	prev, existed, err := t.btx.Set(key, enc, nil)
	if err != nil {
		return mapErr(err)
	}
	t.record(key, prev, existed, enc, true)
	return nil
}

// Delete implements [WriteTx.Delete].
func (t *txn) Delete(key string, expect uint64) error {
	if err := t.usable(true); err != nil {
		return err
	}
	if isReserved(key) {
		return fmt.Errorf("%w: %q", ErrReservedKey, key)
	}
	if expect != Any {
		raw, ok, err := t.lookup(key)
		if err != nil {
			return err
		}
		if !ok {
			return ErrNotFound
		}
		if v, _ := decodeVersion(raw); v != expect {
			return ErrConflict // includes Absent: stored versions are never 0
		}
	}
	prev, err := t.btx.Delete(key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return nil // expect is Any
	}
	if err != nil {
		return mapErr(err)
	}
	t.record(key, prev, true, "", false)
	return nil
}

// SetNote implements [WriteTx.SetNote]; the bytes are copied. It does
// nothing in a read transaction or after the transaction ended.
func (t *txn) SetNote(note []byte) {
	if t.usable(true) != nil {
		return
	}
	t.note = append([]byte(nil), note...)
}

// record notes a write of key: its stored value before (if existed) and
// after (if exists). The first write of a key keeps its before.
func (t *txn) record(key, before string, existed bool, after string, exists bool) {
	t.writes++
	i := -1
	if t.index != nil {
		if j, seen := t.index[key]; seen {
			i = j
		}
	} else {
		for j := range t.touched {
			if t.touched[j].key == key {
				i = j
				break
			}
		}
	}
	if i >= 0 {
		t.touched[i].after, t.touched[i].exists = after, exists
		return
	}
	t.touched = append(t.touched, touchedKey{key: key, before: before, after: after, existed: existed, exists: exists})
	switch {
	case t.index != nil:
		t.index[key] = len(t.touched) - 1
	case len(t.touched) > indexAfter:
		t.index = make(map[string]int, 2*len(t.touched))
		for j := range t.touched {
			t.index[t.touched[j].key] = j
		}
	}
}

// liveOps counts the keys the transaction changed: all it wrote but those
// it created and deleted again.
func (t *txn) liveOps() int {
	n := 0
	for i := range t.touched {
		if t.touched[i].existed || t.touched[i].exists {
			n++
		}
	}
	return n
}

// commit builds the change-feed event.
func (t *txn) commit() (Commit, error) {
	ops := make([]Op, 0, len(t.touched))
	for _, e := range t.touched {
		if !e.existed && !e.exists {
			continue
		}
		op := Op{Key: e.key}
		var err error
		if e.existed {
			if op.Before, err = valueBytes(e.before); err != nil {
				return Commit{}, fmt.Errorf("%w at key %q", err, e.key)
			}
		}
		if e.exists {
			if op.After, err = valueBytes(e.after); err != nil {
				return Commit{}, fmt.Errorf("%w at key %q", err, e.key)
			}
		}
		ops = append(ops, op)
	}
	return Commit{Revision: t.next, Ops: ops, Note: t.note}, nil
}

// ScanReverse implements [ReadTx.ScanReverse]. It reads in chunks below a
// moving upper bound, so fn runs outside buntdb's iterator and may write.
func (t *txn) ScanReverse(prefix, before string, fn func(Item) bool) error {
	if err := t.usable(false); err != nil {
		return err
	}
	if isReserved(prefix) {
		return nil
	}
	// upper is an exclusive bound: the smaller of before and the first key
	// past every key with the prefix ("" for no bound).
	upper := prefixEnd(prefix)
	if before != "" && (upper == "" || before < upper) {
		upper = before
	}
	type entry struct{ key, raw string }
	chunk := make([]entry, 0, scanChunk)
	// Chunks start small and double, so a caller that wants only the last
	// key (a common use) reads one item, and a long scan few re-seeks.
	size := 1
	for {
		chunk = chunk[:0]
		visit := func(key, raw string) bool {
			if upper != "" && key >= upper {
				return true
			}
			if !strings.HasPrefix(key, prefix) {
				return false
			}
			if !isReserved(key) {
				chunk = append(chunk, entry{key, raw})
			}
			return len(chunk) < size
		}
		var err error
		if upper == "" {
			err = t.btx.Descend("", visit)
		} else {
			err = t.btx.DescendLessOrEqual("", upper, visit)
		}
		if err != nil {
			return mapErr(err)
		}
		for _, e := range chunk {
			it, err := decodeItem(e.key, e.raw)
			if err != nil {
				return err
			}
			if !fn(it) {
				return nil
			}
			upper = e.key
		}
		if len(chunk) < size {
			return nil
		}
		size = min(2*size, scanChunk)
	}
}

// prefixEnd returns the smallest key greater than every key that starts
// with prefix, or "" when there is none (an empty or all-0xff prefix).
func prefixEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}
