package flagstore

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
	"github.com/google/uuid"
)

// Fixtures shared by the project, environment, credential, list and backup
// tests. Every name starts with "tst" so that other test files of the
// package can define their own fixtures freely.

// tstEpoch is where every test clock starts.
var tstEpoch = time.Date(2024, 4, 15, 12, 0, 0, 0, time.UTC)

// tstClock is a manual clock for WithClock; it moves only when told to.
type tstClock struct {
	mu  sync.Mutex
	now time.Time
}

func tstNewClock() *tstClock { return &tstClock{now: tstEpoch} }

// Now is the clock's current time.
func (c *tstClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *tstClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Millis is the clock's current time in Unix milliseconds.
func (c *tstClock) Millis() int64 { return c.Now().UnixMilli() }

// tstIDGen returns a goroutine-safe generator of 24-hex-digit object IDs:
// 000000000000000000000001, 000000000000000000000002, ...
func tstIDGen() func() string {
	var n atomic.Uint64
	return func() string { return fmt.Sprintf("%024x", n.Add(1)) }
}

// tstUUIDGen returns a goroutine-safe generator of distinct, well-formed
// UUIDs: 00000000-0000-4000-8000-000000000001, ...
func tstUUIDGen() func() string {
	var n atomic.Uint64
	return func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n.Add(1)) }
}

// tstStore opens a ":memory:" store with a manual clock and deterministic ID
// and UUID generators, closed when the test ends. Extra options come last,
// so they can replace the defaults.
func tstStore(t testing.TB, opts ...Option) (*Store, *tstClock) {
	t.Helper()
	clock := tstNewClock()
	all := append([]Option{WithClock(clock.Now), WithIDGenerator(tstIDGen()), WithUUIDGenerator(tstUUIDGen())}, opts...)
	st, err := Open(":memory:", all...)
	if err != nil {
		t.Fatalf("Open(:memory:): %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, clock
}

// tstStoreDefaultGens opens a ":memory:" store with the manual clock but the
// default (random) ID and UUID generators.
func tstStoreDefaultGens(t testing.TB) (*Store, *tstClock) {
	t.Helper()
	clock := tstNewClock()
	st, err := Open(":memory:", WithClock(clock.Now))
	if err != nil {
		t.Fatalf("Open(:memory:): %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, clock
}

// tstMustProject creates a project with the default environments.
func tstMustProject(t testing.TB, st *Store, key string) Project {
	t.Helper()
	p, err := st.CreateProject(t.Context(), ProjectPost{Key: key, Name: "Project " + key})
	if err != nil {
		t.Fatalf("CreateProject(%q): %v", key, err)
	}
	return p
}

// tstMustFlag creates a boolean flag.
func tstMustFlag(t testing.TB, st *Store, proj, key string, tags ...string) Flag {
	t.Helper()
	f, err := st.CreateFlag(t.Context(), proj, FlagPost{Key: key, Name: "Flag " + key, Tags: tags})
	if err != nil {
		t.Fatalf("CreateFlag(%q, %q): %v", proj, key, err)
	}
	return f
}

// tstMustSegment creates a segment.
func tstMustSegment(t testing.TB, st *Store, proj, env, key string) Segment {
	t.Helper()
	s, err := st.CreateSegment(t.Context(), proj, env, SegmentPost{Key: key, Name: "Segment " + key})
	if err != nil {
		t.Fatalf("CreateSegment(%q, %q, %q): %v", proj, env, key, err)
	}
	return s
}

// tstMustEnv returns one environment of a project.
func tstMustEnv(t testing.TB, st *Store, proj, env string) Environment {
	t.Helper()
	e, err := st.GetEnvironment(t.Context(), proj, env)
	if err != nil {
		t.Fatalf("GetEnvironment(%q, %q): %v", proj, env, err)
	}
	return e
}

// tstErr checks that err is an *Error of the sentinel's class, with the
// given HTTP status and LaunchDarkly code and a UUID id, and returns it.
func tstErr(t testing.TB, err error, sentinel error, status int, code string) *Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v (%d %s)", sentinel, status, code)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("error %v: errors.Is(err, %v) = false", err, sentinel)
	}
	if e.Status != status {
		t.Errorf("error %v: Status = %d, want %d", err, e.Status, status)
	}
	if e.Code != code {
		t.Errorf("error %v: Code = %q, want %q", err, e.Code, code)
	}
	if _, perr := uuid.Parse(e.ID); perr != nil || len(e.ID) != 36 {
		t.Errorf("error %v: ID %q is not a UUID", err, e.ID)
	}
	if e.Message == "" {
		t.Errorf("error %v: empty Message", err)
	}
	return e
}

// tstInvalid checks for a 400 invalid_request; a non-empty attr must be
// named by one of its field errors.
func tstInvalid(t testing.TB, err error, attr string) *Error {
	t.Helper()
	e := tstErr(t, err, ErrInvalid, 400, CodeInvalidRequest)
	if attr != "" && !slices.ContainsFunc(e.Errors, func(f FieldError) bool { return f.Attribute == attr }) {
		t.Errorf("error %v: field errors %+v do not name %q", err, e.Errors, attr)
	}
	return e
}

// tstNotFound checks for a 404 not_found.
func tstNotFound(t testing.TB, err error) *Error {
	t.Helper()
	return tstErr(t, err, ErrNotFound, 404, CodeNotFound)
}

// tstExists checks for a 409 conflict of a create whose key is taken.
func tstExists(t testing.TB, err error) *Error {
	t.Helper()
	return tstErr(t, err, ErrAlreadyExists, 409, CodeConflict)
}

// tstKeys returns the keys of a list's items.
func tstKeys[T any](items []T) []string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		switch v := any(it).(type) {
		case Project:
			out = append(out, v.Key)
		case Environment:
			out = append(out, v.Key)
		case Flag:
			out = append(out, v.Key)
		case Segment:
			out = append(out, v.Key)
		default:
			panic(fmt.Sprintf("tstKeys: unsupported item type %T", it))
		}
	}
	return out
}

// tstAllProjects lists every project, oldest first.
func tstAllProjects(t testing.TB, st *Store) List[Project] {
	t.Helper()
	l, err := st.ListProjects(t.Context(), ListOptions{Limit: 1000})
	if err != nil {
		t.Fatalf("ListProjects: %v", err)
	}
	return l
}

// tstAllEnvs lists every environment of a project, oldest first.
func tstAllEnvs(t testing.TB, st *Store, proj string) List[Environment] {
	t.Helper()
	l, err := st.ListEnvironments(t.Context(), proj, ListOptions{Limit: 1000})
	if err != nil {
		t.Fatalf("ListEnvironments(%q): %v", proj, err)
	}
	return l
}

// tstSave returns the store's backup stream.
func tstSave(t testing.TB, st *Store) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := st.Save(t.Context(), &buf); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return buf.Bytes()
}

// tstRevision is the backend's last committed revision: it moves with every
// write that changed something.
func tstRevision(t testing.TB, st *Store) uint64 {
	t.Helper()
	var rev uint64
	if err := st.Backend().View(t.Context(), func(tx store.ReadTx) error {
		rev = tx.Revision()
		return nil
	}); err != nil {
		t.Fatalf("View: %v", err)
	}
	return rev
}

// tstRawKeys lists every key of the backend under prefix.
func tstRawKeys(t testing.TB, st *Store, prefix string) []string {
	t.Helper()
	var keys []string
	if err := st.Backend().View(t.Context(), func(tx store.ReadTx) error {
		return tx.Scan(prefix, "", func(it store.Item) bool {
			keys = append(keys, it.Key)
			return true
		})
	}); err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	return keys
}

// tstHex24 matches LaunchDarkly-shaped object IDs.
var tstHex24 = regexp.MustCompile(`^[0-9a-f]{24}$`)

// tstCheckPrefixedUUID checks that s is prefix followed by a UUID.
func tstCheckPrefixedUUID(t testing.TB, what, s, prefix string) {
	t.Helper()
	rest, ok := strings.CutPrefix(s, prefix)
	if !ok {
		t.Errorf("%s %q does not start with %q", what, s, prefix)
		return
	}
	if _, err := uuid.Parse(rest); err != nil || len(rest) != 36 {
		t.Errorf("%s %q: %q is not a UUID", what, s, rest)
	}
}

// stripNames returns a copy of f without the computed environment names,
// which are never stored.
func stripNames(f *Flag) *Flag {
	c := *f
	c.Environments = make(map[string]*FlagConfig, len(f.Environments))
	for k, v := range f.Environments {
		if v == nil {
			c.Environments[k] = nil
			continue
		}
		cc := *v
		cc.EnvironmentName = ""
		c.Environments[k] = &cc
	}
	return &c
}
