// Package store is flagstore's storage seam: a small transactional, ordered
// key/value interface with per-key versions, conditional writes and a change
// feed of committed writes.
//
// The root flagstore package keeps every resource as one JSON document under a
// structured key and writes its own secondary index keys in the same
// transaction, so any backend that implements [Backend] can serve it. The
// default backend, [Open], is buntdb: a file (fsync on every commit by
// default) or ":memory:". A backend on another engine (PostgreSQL, say) passes
// the conformance suite in store/storetest.
//
// Versions are revisions: every commit is stamped with a store-wide revision
// that rises by one per commit that changed something, and each key's Version
// is the revision of the commit that last wrote it. A conditional write names
// the version it read; if the key moved since, the write fails with
// [ErrConflict], and fn returning that error discards the whole transaction.
//
// A transaction function must not start another transaction on the same
// backend (a backend may serialise them and deadlock).
package store

import (
	"context"
	"errors"
)

// Sentinel errors of the storage seam. Backends return them (possibly
// wrapped), so callers test with errors.Is.
var (
	// ErrNotFound is returned by Get for a key that does not exist, and by a
	// conditional Delete of a missing key.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict is returned when a conditional write finds a version other
	// than the one it expected.
	ErrConflict = errors.New("store: version conflict")
	// ErrClosed is returned by every call on a closed backend.
	ErrClosed = errors.New("store: closed")
	// ErrReadOnly is returned when a write is attempted inside View.
	ErrReadOnly = errors.New("store: read-only transaction")
)

// Version conditions for WriteTx.Put and WriteTx.Delete.
const (
	// Absent as the expected version means "the key must not exist".
	Absent uint64 = 0
	// Any as the expected version makes the write unconditional.
	Any uint64 = ^uint64(0)
)

// Item is one stored key with its value and version. Value is the caller's
// own copy.
type Item struct {
	Key     string
	Value   []byte
	Version uint64
}

// ReadTx reads a consistent snapshot of the store.
type ReadTx interface {
	// Get returns the item at key, or ErrNotFound.
	Get(key string) (Item, error)
	// Version returns the version of the item at key, or ErrNotFound,
	// without its value: enough for a caller that keeps decoded values by
	// version to know whether its copy is current.
	Version(key string) (uint64, error)
	// Scan calls fn for each item whose key starts with prefix and sorts
	// after the key `after` (all of them when after is ""), in ascending key
	// order, until fn returns false. The Item passed to fn may be retained.
	// Inside a WriteTx, fn may call Put and Delete; whether the rest of the
	// scan sees keys written ahead of its position is up to the backend.
	Scan(prefix, after string, fn func(Item) bool) error
	// ScanReverse is Scan in descending key order: it visits the items
	// whose key starts with prefix and sorts before the key `before` (all
	// of them when before is ""), from the greatest down.
	ScanReverse(prefix, before string, fn func(Item) bool) error
	// Revision is the revision of the last commit visible to this
	// transaction (0 for an empty, never-written store).
	Revision() uint64
}

// WriteTx is a read-write transaction: everything in it commits together or
// not at all. Reads see the transaction's own writes.
type WriteTx interface {
	ReadTx
	// Put stores value at key if the key's current version equals expect
	// (Absent: the key must not exist; Any: unconditional). Otherwise it
	// returns ErrConflict. Put copies value: the caller may reuse it.
	Put(key string, value []byte, expect uint64) error
	// Delete removes key if its current version equals expect (Any:
	// unconditional, and a missing key is no error). A missing key with a
	// conditional expect is ErrNotFound; a version mismatch is ErrConflict.
	Delete(key string, expect uint64) error
	// SetNote attaches opaque bytes to this commit's Commit event (the
	// model layer uses it for the actor and comment). The note is delivered
	// to subscribers but not stored.
	SetNote(note []byte)
}

// Op is one key's change inside a commit.
type Op struct {
	Key string
	// Before is the value before the commit (nil if the key was created).
	Before []byte
	// After is the value after the commit (nil if the key was deleted).
	After []byte
}

// Commit is one committed write transaction as seen on the change feed. Ops
// are in the order the transaction first touched each key; a key written
// twice in one transaction appears once with its first Before and last After.
// A key created and then deleted in the same transaction has no Op, and a
// transaction whose writes all cancel out that way commits nothing.
type Commit struct {
	Revision uint64
	Ops      []Op
	Note     []byte
}

// Backend is a transactional, ordered key/value store with a change feed.
// It is safe for concurrent use.
type Backend interface {
	// View runs fn in a read-only transaction. If ctx is already done it
	// returns ctx.Err() without calling fn.
	View(ctx context.Context, fn func(ReadTx) error) error
	// Update runs fn in a read-write transaction and commits it if fn
	// returns nil. A transaction that wrote nothing commits nothing and
	// produces no event. Once Update returns nil the write is acknowledged:
	// under the backend's durability policy it survives a crash. If fn
	// returns an error or panics, nothing is written and the error (or
	// panic) passes through. If ctx is already done, Update returns
	// ctx.Err() without calling fn.
	Update(ctx context.Context, fn func(WriteTx) error) error
	// Subscribe delivers every commit after the subscription starts, once
	// and in revision order, to fn, from a goroutine of the backend's, until
	// ctx is done or the backend closes. fn must not call Update. A slow
	// subscriber never blocks writers: its commits are queued. Subscribe
	// returns the revision the subscription starts after: every commit with
	// a higher revision is delivered. To pair a snapshot with the feed
	// without a gap, Subscribe first, then View, and skip delivered commits
	// whose revision is at or below the snapshot's Revision. Once ctx is
	// done or Close has returned, fn is not called again.
	Subscribe(ctx context.Context, fn func(Commit)) (uint64, error)
	// Close releases the backend. Subscriptions end.
	Close() error
}
