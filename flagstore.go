// Package flagstore is an embeddable feature-flag store compatible with
// LaunchDarkly's REST API v2 and SDK protocol.
//
// Open a durable store on a buntdb file, or an in-memory one for tests:
//
//	st, err := flagstore.Open("flags.db")     // fsync on every commit
//	st, err := flagstore.Open(":memory:")     // no persistence
//
// Then read and write projects, environments, flags and segments through the
// Go API, whose calls take a context first and return copies, or mount
// [Store.Handler] on an HTTP mux. Every error is an [*Error] wrapping one of
// the sentinels ([ErrNotFound], [ErrConflict], ...), so errors.Is and
// errors.As both work.
package flagstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/flagstore/flagstore/store"
	"github.com/google/uuid"
)

// Store is a feature-flag store. It is safe for concurrent use.
type Store struct {
	db      store.Backend
	now     func() time.Time
	newID   func() string
	newUUID func() string
	log     *slog.Logger
	flags   *docCache[Flag]
	// projects caches decoded projects, as flags does flags.
	projects *docCache[Project]
	// entryBufs pools the scratch buffers of audit entries.
	entryBufs sync.Pool
	// tails are the resources' last audit entries (audit_chain.go).
	tails boundedMap[auditTail]
	// tokens caches decoded tokens and records their use.
	tokens tokenRuntime
	// jobs is the background job: expiring targets, flag requests.
	jobs storeJobs
	// sdk serves environments to SDKs (sdk_hub.go).
	sdk *sdkHub
	// hooks delivers webhooks from the outbox (webhook_delivery.go).
	hooks *webhookRuntime

	closeOnce sync.Once
	closeErr  error
}

// flagCacheSize and projectCacheSize bound how many decoded flags and
// projects the store keeps.
const (
	flagCacheSize    = 10_000
	projectCacheSize = 1_000
)

// Option configures a Store at Open.
type Option func(*config)

type config struct {
	now     func() time.Time
	newID   func() string
	idSet   bool // newID came from an option
	newUUID func() string
	log     *slog.Logger
	backend store.Backend
	sync    store.SyncPolicy
	hooks   webhookConfig
}

// WithClock replaces the wall clock, so tests get exact timestamps.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithIDGenerator replaces the generator of account-scoped object IDs
// (project, environment and client-side IDs: 24 hex characters by default).
func WithIDGenerator(gen func() string) Option {
	return func(c *config) { c.newID, c.idSet = gen, true }
}

// WithUUIDGenerator replaces the generator of UUIDs, used for variation, rule
// and clause IDs, SDK and mobile keys, salts and selectors.
func WithUUIDGenerator(gen func() string) Option { return func(c *config) { c.newUUID = gen } }

// WithLogger sets the structured logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithSync sets the durability policy of the buntdb file (default
// store.SyncAlways: an acknowledged write is on disk). It has no effect on
// ":memory:" or with WithBackend.
func WithSync(p store.SyncPolicy) Option { return func(c *config) { c.sync = p } }

// WithBackend makes the store use b instead of opening buntdb at the path;
// Open's path is then ignored. The store owns b and closes it.
func WithBackend(b store.Backend) Option { return func(c *config) { c.backend = b } }

// Open opens the store at path: a buntdb file, created if missing, or
// ":memory:" for a store that keeps nothing after Close.
func Open(path string, opts ...Option) (*Store, error) {
	c := config{
		now:     time.Now,
		newUUID: uuid.NewString,
		log:     slog.New(slog.DiscardHandler),
		sync:    store.SyncAlways,
	}
	for _, o := range opts {
		o(&c)
	}
	if !c.idSet {
		c.newID = newObjectIDs(c.now)
	}
	if c.now == nil || c.newID == nil || c.newUUID == nil || c.log == nil {
		return nil, invalidf("", "flagstore: an option was given a nil value")
	}
	hooks, err := newWebhookRuntime(c.hooks)
	if err != nil {
		return nil, err
	}
	db := c.backend
	if db == nil {
		if path == "" {
			return nil, invalidf("path", "flagstore: path must be a file name or %q", ":memory:")
		}
		b, err := store.Open(path, store.WithSync(c.sync))
		if err != nil {
			return nil, fmt.Errorf("flagstore: open %s: %w", path, err)
		}
		db = b
	}
	st := &Store{db: db, now: c.now, newID: c.newID, newUUID: c.newUUID, log: c.log,
		flags: newDocCache[Flag](flagCacheSize), projects: newDocCache[Project](projectCacheSize),
		tails: boundedMap[auditTail]{max: auditTailsSize}, hooks: hooks}
	st.sdk = newSDKHub(st)
	return startJobs(withOwner(st)) // a new store starts with its owner member (member.go)
}

// Close closes the store and its backend. Calls after Close fail with
// ErrUnavailable.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopJobs()
		s.sdk.close()
		s.closeTokens()
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// Backend returns the storage backend, for tools that work below the model
// (backups of the raw key space, diagnostics).
func (s *Store) Backend() store.Backend { return s.db }

// nowMillis is the injected clock in Unix milliseconds.
func (s *Store) nowMillis() int64 { return s.now().UnixMilli() }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// hexUUID is a UUID from the injected generator without its dashes: the
// shape of flag salts and selectors.
func (s *Store) hexUUID() string {
	u := s.newUUID()
	out := make([]byte, 0, len(u))
	for i := 0; i < len(u); i++ {
		if u[i] != '-' {
			out = append(out, u[i])
		}
	}
	return string(out)
}

// view runs fn in a read transaction, converting backend and panic failures
// into *Error.
func (s *Store) view(ctx context.Context, fn func(*rtx) error) (err error) {
	defer recoverInto(&err)
	if err := refuseEnvironmentPrincipal(ctx); err != nil {
		return err
	}
	err = s.db.View(ctx, func(tx store.ReadTx) error { return fn(&rtx{tx: tx, flags: s.flags, projects: s.projects}) })
	return storeErr(err)
}

// update runs fn in a write transaction; nothing is written unless fn
// returns nil.
func (s *Store) update(ctx context.Context, fn func(*wtx) error) (err error) {
	defer recoverInto(&err)
	if err := refuseEnvironmentPrincipal(ctx); err != nil {
		return err
	}
	var done *wtx       // the transaction, once it has done all it does
	var revision uint64 // the revision it commits as
	err = s.db.Update(ctx, func(tx store.WriteTx) error {
		w := &wtx{rtx: rtx{tx: tx, flags: s.flags, projects: s.projects}, w: tx, ctx: ctx}
		if err := fn(w); err != nil {
			return err
		}
		if isDryRun(ctx) {
			return errDryRun // everything checked; roll back
		}
		done, revision = w, tx.Revision()+1
		return nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	if err == nil && done != nil {
		if done.replacesAll {
			s.tails.reset()
		}
		for _, d := range done.flagDocs {
			s.flags.put(d.key, revision, d.raw, d.doc)
		}
		for _, p := range done.tails {
			s.tails.set(p.res, p.tail)
		}
		if done.outbox {
			s.hooks.wake() // deliveries were queued: send them now
		}
	}
	return storeErr(err)
}

// errDryRun rolls back a dry run's transaction after every check passed.
var errDryRun = errors.New("dry run")

// dryRunKey marks a context whose writes are checked but not stored.
type dryRunKey struct{}

// WithDryRun returns a context whose writes run every check and return the
// would-be result, but store nothing and record nothing, as LaunchDarkly's
// dryRun query parameter does.
func WithDryRun(ctx context.Context) context.Context {
	return context.WithValue(ctx, dryRunKey{}, true)
}

func isDryRun(ctx context.Context) bool {
	v, _ := ctx.Value(dryRunKey{}).(bool)
	return v
}

// recoverInto turns a panic inside a transaction into an internal error, so
// no panic reaches a caller; the backend has already rolled back.
func recoverInto(err *error) {
	if r := recover(); r != nil {
		*err = newError(ErrInternal, "internal error: %v", r)
	}
}

// storeErr maps the storage seam's sentinels onto the API's.
func storeErr(err error) error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrConflict):
		return conflictf("Conflict. Optimistic lock error. Try again later.")
	case errors.Is(err, store.ErrNotFound):
		return notFoundf("Invalid resource identifier")
	case errors.Is(err, store.ErrClosed):
		return newError(ErrUnavailable, "the store is closed")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return AsError(err)
	default:
		return AsError(err)
	}
}
