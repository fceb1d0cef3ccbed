package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/tidwall/buntdb"
)

// ErrReservedKey is returned by the buntdb backend for a Put or Delete of a
// key that starts with [ReservedPrefix]; such keys hold the backend's own
// bookkeeping and are invisible to Get and Scan.
var ErrReservedKey = errors.New("store: reserved key")

// ReservedPrefix starts every key the buntdb backend keeps for itself (the
// store-wide revision and the file format marker). Callers must not use it.
const ReservedPrefix = "\x00"

// Reserved keys. They sort before every caller key except "".
const (
	revisionKey = ReservedPrefix + "revision"
	formatKey   = ReservedPrefix + "format"
	// formatValue marks a buntdb file written by this backend; a new value
	// encoding gets a new marker (value.go).
	formatValue = "flagstore/buntdb/2"
	// formatV1 marks files from before values could be compressed. They
	// load as they are, and are marked anew, since older code cannot read
	// the compressed values written from then on.
	formatV1 = "flagstore/buntdb/1"
)

// SyncPolicy says when the buntdb backend fsyncs its append-only file.
type SyncPolicy int

// Sync policies, mirroring buntdb's Config.SyncPolicy. The zero value is the
// safe default.
const (
	// SyncAlways fsyncs on every commit before Update returns, so an
	// acknowledged write survives a crash or power loss.
	SyncAlways SyncPolicy = iota
	// SyncEverySecond fsyncs from a background goroutine once a second: a
	// power loss can drop the last second of acknowledged writes (a process
	// crash loses nothing, the data is in the OS page cache).
	SyncEverySecond
	// SyncNever leaves flushing to the OS (and Close). For tests and
	// throwaway data.
	SyncNever
)

// String names the policy for logs and flags.
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncEverySecond:
		return "every-second"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", int(p))
}

// options collects what the Option values set.
type options struct {
	sync       SyncPolicy
	autoShrink bool
}

// Option configures [Open].
type Option func(*options)

// WithSync sets the fsync policy of a file store (default [SyncAlways]). It
// has no effect on ":memory:".
func WithSync(p SyncPolicy) Option {
	return func(o *options) { o.sync = p }
}

// WithAutoShrink turns buntdb's background rewrite of the append-only file
// on or off (default on). Without it the file grows with every write; turn
// it off to control when the file is rewritten, e.g. in benchmarks.
func WithAutoShrink(on bool) Option {
	return func(o *options) { o.autoShrink = on }
}

// BuntDB is the [Backend] on github.com/tidwall/buntdb: an in-memory B-tree
// of every key, persisted as an append-only file.
//
// Each value is stored behind an 8-byte big-endian version header, S2-
// compressed when that saves an eighth or more (value.go), and the
// store-wide revision lives under a reserved key written in the same buntdb
// transaction as the data. Writers are serialised; readers run in parallel
// with each other but wait while a write transaction (including its fn and,
// under SyncAlways, its fsync) holds buntdb's lock. Transaction functions
// must therefore not start another transaction on the same store.
//
// Close returns [ErrClosed] if the store was already closed.
type BuntDB struct {
	db     *buntdb.DB
	closed atomic.Bool

	// wmu serialises Update, Subscribe and Close, so that revision
	// assignment, commit and enqueueing on the feed happen as one step.
	wmu sync.Mutex
	rev uint64 // last committed revision; guarded by wmu
	// scratch is the writer's buffer for compressing values; guarded by wmu.
	scratch []byte

	feed feed
}

var _ Backend = (*BuntDB)(nil)

// Open opens the buntdb store at path, creating the file if needed; path
// ":memory:" keeps everything in memory. Opening a file replays its log,
// checks it was written by this backend and restores the revision.
func Open(path string, opts ...Option) (*BuntDB, error) {
	o := options{sync: SyncAlways, autoShrink: true}
	for _, opt := range opts {
		opt(&o)
	}
	var policy buntdb.SyncPolicy
	switch o.sync {
	case SyncAlways:
		policy = buntdb.Always
	case SyncEverySecond:
		policy = buntdb.EverySecond
	case SyncNever:
		policy = buntdb.Never
	default:
		return nil, fmt.Errorf("store: invalid sync policy %v", o.sync)
	}
	if path == "" {
		return nil, errors.New("store: empty path (use \":memory:\" for no file)")
	}
	db, err := buntdb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	cfg.SyncPolicy = policy
	cfg.AutoShrinkDisabled = !o.autoShrink
	if err := db.SetConfig(cfg); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b := &BuntDB{db: db}
	b.feed.init()
	if err := b.load(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return b, nil
}

// load checks every stored value, restores the revision and marks a new
// store with the format key.
//
// The revision becomes the larger of the stored one and the highest key
// version: buntdb writes a commit with a single write(2), but a crash that
// tears that write can keep some of its records and lose the revision key,
// and versions must never be handed out twice.
func (b *BuntDB) load() error {
	var (
		stored, maxVersion uint64
		format             string
		hasFormat, hasRev  bool
		userKeys           int
		bad                string
	)
	err := b.db.View(func(tx *buntdb.Tx) error {
		return tx.Ascend("", func(key, raw string) bool {
			switch {
			case key == formatKey:
				format, hasFormat = raw, true
			case key == revisionKey:
				v, ok := decodeVersion(raw)
				if !ok || len(raw) != headerLen {
					bad = key
					return false
				}
				stored, hasRev = v, true
			case isReserved(key):
				// Unknown bookkeeping from a newer format: the format
				// check below rejects the file.
			default:
				v, ok := decodeVersion(raw)
				if !ok {
					bad = key
					return false
				}
				maxVersion = max(maxVersion, v)
				userKeys++
			}
			return true
		})
	})
	if err != nil {
		return err
	}
	switch {
	case bad != "":
		return fmt.Errorf("corrupt or foreign value at key %q", bad)
	case hasFormat && format != formatValue && format != formatV1:
		return fmt.Errorf("unsupported data format %q (want %q)", format, formatValue)
	case !hasFormat && (userKeys > 0 || hasRev):
		return errors.New("not a flagstore buntdb file (no format marker)")
	}
	b.rev = max(stored, maxVersion)
	if format == formatValue && stored == b.rev {
		return nil
	}
	return b.db.Update(func(tx *buntdb.Tx) error {
		if _, _, err := tx.Set(formatKey, formatValue, nil); err != nil {
			return err
		}
		if b.rev == 0 {
			return nil
		}
		_, _, err := tx.Set(revisionKey, encodeValue(b.rev, nil, nil), nil)
		return err
	})
}

// View implements [Backend.View].
func (b *BuntDB) View(ctx context.Context, fn func(ReadTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b.closed.Load() {
		return ErrClosed
	}
	btx, err := b.db.Begin(false)
	if err != nil {
		return mapErr(err)
	}
	t := &txn{btx: btx}
	defer func() {
		t.done = true
		_ = btx.Rollback()
	}()
	return fn(t)
}

// Update implements [Backend.Update]. The commit's revision is assigned,
// written, fsynced (under SyncAlways) and queued for subscribers before
// Update returns.
func (b *BuntDB) Update(ctx context.Context, fn func(WriteTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil { // cancelled while waiting for the lock
		return err
	}
	btx, err := b.db.Begin(true)
	if err != nil {
		return mapErr(err)
	}
	t := &txn{btx: btx, writable: true, rev: b.rev, next: b.rev + 1, scratch: &b.scratch}
	finished := false
	defer func() {
		t.done = true
		if !finished {
			_ = btx.Rollback()
		}
	}()

	if err := fn(t); err != nil {
		return err
	}
	t.done = true
	if t.liveOps() == 0 {
		return nil // nothing changed; the deferred rollback undoes no-ops
	}
	var commit Commit
	if b.feed.active() {
		if commit, err = t.commit(); err != nil {
			return err
		}
	}
	if _, _, err := btx.Set(revisionKey, encodeValue(t.next, nil, nil), nil); err != nil {
		return mapErr(err)
	}
	finished = true // buntdb's Commit rolls back itself on failure
	if err := btx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", mapErr(err))
	}
	b.rev = t.next
	if commit.Ops != nil {
		b.feed.publish(commit)
	}
	return nil
}

// Subscribe implements [Backend.Subscribe]. Each subscription has its own
// unbounded queue and goroutine; fn calls are sequential. A panic in fn is
// not recovered. fn must not call Close: Close waits for a running fn.
func (b *BuntDB) Subscribe(ctx context.Context, fn func(Commit)) (uint64, error) {
	if fn == nil {
		return 0, errors.New("store: Subscribe with nil func")
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if b.closed.Load() {
		return 0, ErrClosed
	}
	if err := b.feed.subscribe(ctx, fn); err != nil {
		return 0, err
	}
	return b.rev, nil
}

// Close implements [Backend.Close]: it waits for a running Update, flushes
// and closes the file, ends every subscription (dropping commits not yet
// delivered) and waits for running subscriber callbacks to return. A second
// Close returns [ErrClosed].
func (b *BuntDB) Close() error {
	b.wmu.Lock()
	if b.closed.Swap(true) {
		b.wmu.Unlock()
		return ErrClosed
	}
	err := b.db.Close()
	b.wmu.Unlock()
	b.feed.close()
	if err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// mapErr turns buntdb's closed-database error into ErrClosed.
func mapErr(err error) error {
	if errors.Is(err, buntdb.ErrDatabaseClosed) {
		return ErrClosed
	}
	return err
}

// readRevision returns the revision stored in the snapshot btx reads.
func readRevision(btx *buntdb.Tx) uint64 {
	raw, err := btx.Get(revisionKey)
	if err != nil {
		return 0
	}
	v, _ := decodeVersion(raw)
	return v
}

// isReserved reports whether key belongs to the backend.
func isReserved(key string) bool {
	return strings.HasPrefix(key, ReservedPrefix)
}
