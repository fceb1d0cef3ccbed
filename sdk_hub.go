package flagstore

import (
	"context"
	"encoding/json"
	"maps"
	"strings"
	"sync"

	"github.com/flagstore/flagstore/store"
)

// The SDK hub keeps, for each environment an SDK has asked for, its flags
// and segments in the SDK's data model, follows the store's change feed to
// keep them current, and fans each change out to the environment's open
// streams. Environments load on first use from a snapshot paired with the
// feed, so no change falls between the two.

// sdkRef names an environment.
type sdkRef struct{ proj, env string }

type sdkHub struct {
	s  *Store
	mu sync.Mutex
	// started is set once the hub follows the feed; applied is the last
	// revision it has applied, and caught is closed whenever it moves.
	started bool
	cancel  context.CancelFunc
	applied uint64
	caught  chan struct{}
	envs    map[sdkRef]*sdkEnv
	closed  bool
}

// sdkEnv is one loaded environment. Its fields are guarded by the hub's
// lock; data is immutable once published.
type sdkEnv struct {
	ref   sdkRef
	id    string // the client-side ID
	rev   uint64 // the snapshot's revision: later commits apply
	flags map[string]*sdkItem
	segs  map[string]*sdkItem
	data  *sdkData
	subs  map[*sdkSub]struct{}
	gone  bool
}

func newSDKHub(s *Store) *sdkHub {
	return &sdkHub{s: s, caught: make(chan struct{}), envs: map[sdkRef]*sdkEnv{}}
}

// start follows the feed; the caller holds h.mu.
func (h *sdkHub) start() error {
	if h.started {
		return nil
	}
	if h.closed {
		return newError(ErrUnavailable, "the store is closed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	rev, err := h.s.db.Subscribe(ctx, h.apply)
	if err != nil {
		cancel()
		return storeErr(err)
	}
	h.started, h.cancel, h.applied = true, cancel, rev
	return nil
}

// close ends every stream and stops following the feed.
func (h *sdkHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	if h.cancel != nil {
		h.cancel()
	}
	close(h.caught) // wakes every sync, which then sees closed
	for _, e := range h.envs {
		e.end()
	}
	h.envs = map[sdkRef]*sdkEnv{}
}

// env returns the loaded environment, loading it from a snapshot on first
// use. An unknown environment is ErrNotFound.
func (h *sdkHub) env(ctx context.Context, ref sdkRef) (*sdkEnv, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, newError(ErrUnavailable, "the store is closed")
	}
	if e := h.envs[ref]; e != nil {
		return e, nil
	}
	if err := h.start(); err != nil {
		return nil, err
	}
	e := &sdkEnv{ref: ref, flags: map[string]*sdkItem{}, segs: map[string]*sdkItem{}, subs: map[*sdkSub]struct{}{}}
	err := h.s.view(ctx, func(r *rtx) error {
		e.rev = r.tx.Revision()
		var d envDoc
		if _, err := getEnv(r, ref.proj, ref.env, &d); err != nil {
			return err
		}
		e.id = d.ID
		err := each(r, flagPrefix(ref.proj), func(_ string, f *Flag) error {
			if it := h.project(ref, f.Key, func() (*sdkItem, error) { return sdkFlag(f, ref.env) }); it != nil {
				e.flags[f.Key] = it
			}
			return nil
		})
		if err != nil {
			return err
		}
		return each(r, segPrefix(ref.proj, ref.env), func(_ string, sg *Segment) error {
			if it := h.project(ref, sg.Key, func() (*sdkItem, error) { return sdkSegment(sg) }); it != nil {
				e.segs[sg.Key] = it
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	e.publish(e.rev)
	h.envs[ref] = e
	return e, nil
}

// project runs a projection; an item the SDK would refuse is logged and
// left out, so that one bad item cannot stop a whole environment.
func (h *sdkHub) project(ref sdkRef, key string, fn func() (*sdkItem, error)) *sdkItem {
	it, err := fn()
	if err != nil {
		h.s.log.Error("sdk: item left out of the SDK data", "project", ref.proj, "environment", ref.env, "key", key, "err", err)
		return nil
	}
	return it
}

// data returns the environment's current SDK data, with every change
// committed before the call applied. check, if not nil, runs in the read
// transaction that takes the store's revision (an authorization, say).
func (h *sdkHub) data(ctx context.Context, ref sdkRef, check func(*rtx) error) (*sdkData, error) {
	if err := h.sync(ctx, check); err != nil {
		return nil, err
	}
	e, err := h.env(ctx, ref)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if e.gone {
		return nil, notFoundf("Unknown environment")
	}
	return e.data, nil
}

// sync waits until the hub has applied every commit made before the call,
// so a reader sees its own writes. check, if not nil, runs in the read
// transaction that takes the revision.
func (h *sdkHub) sync(ctx context.Context, check func(*rtx) error) error {
	var rev uint64
	err := h.s.view(ctx, func(r *rtx) error {
		rev = r.tx.Revision()
		if check != nil {
			return check(r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return newError(ErrUnavailable, "the store is closed")
		}
		if err := h.start(); err != nil {
			h.mu.Unlock()
			return err
		}
		done, ch := h.applied >= rev, h.caught
		h.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// apply takes one commit from the feed into every loaded environment it
// touches and sends the resulting events to their streams.
func (h *sdkHub) apply(c store.Commit) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	touched := map[*sdkEnv][]*sdkFrame{}
	for _, op := range c.Ops {
		kind, rest, _ := strings.Cut(op.Key, sep)
		switch kind {
		case "f":
			proj, key, _ := strings.Cut(rest, sep)
			h.applyFlag(c.Revision, proj, key, op, touched)
		case "s":
			parts := strings.SplitN(rest, sep, 3)
			if len(parts) == 3 {
				h.applySegment(c.Revision, sdkRef{parts[0], parts[1]}, parts[2], op, touched)
			}
		case "c":
			if op.After == nil {
				_, cred, _ := strings.Cut(rest, sep)
				h.revoke(cred)
			}
		case "e":
			proj, env, _ := strings.Cut(rest, sep)
			if e := h.envs[sdkRef{proj, env}]; e != nil && op.After == nil && c.Revision > e.rev {
				e.end()
				delete(h.envs, e.ref)
				delete(touched, e)
			}
		}
	}
	for e, frames := range touched {
		e.publish(c.Revision)
		e.send(frames)
	}
	h.applied = c.Revision
	close(h.caught)
	h.caught = make(chan struct{})
}

// applyFlag projects a changed flag onto each loaded environment of its
// project.
func (h *sdkHub) applyFlag(rev uint64, proj, key string, op store.Op, touched map[*sdkEnv][]*sdkFrame) {
	var envs []*sdkEnv
	for ref, e := range h.envs {
		if ref.proj == proj && rev > e.rev {
			envs = append(envs, e)
		}
	}
	if len(envs) == 0 {
		return
	}
	var f Flag
	deleted, ok := h.decodeOp(op, &f)
	if !ok {
		return
	}
	for _, e := range envs {
		var it *sdkItem
		switch c := f.Environments[e.ref.env]; {
		case !deleted:
			if it = h.project(e.ref, key, func() (*sdkItem, error) { return sdkFlag(&f, e.ref.env) }); it == nil {
				continue
			}
		case c != nil:
			it = &sdkItem{version: c.Version + 1, withheld: true}
		default:
			continue
		}
		if f := e.put(e.flags, "flags", key, it); f != nil {
			touched[e] = append(touched[e], f)
		}
	}
}

// applySegment projects a changed segment onto its environment, if loaded.
func (h *sdkHub) applySegment(rev uint64, ref sdkRef, key string, op store.Op, touched map[*sdkEnv][]*sdkFrame) {
	e := h.envs[ref]
	if e == nil || rev <= e.rev {
		return
	}
	var sg Segment
	deleted, ok := h.decodeOp(op, &sg)
	if !ok {
		return
	}
	it := &sdkItem{version: sg.Version + 1, withheld: true}
	if !deleted {
		if it = h.project(ref, key, func() (*sdkItem, error) { return sdkSegment(&sg) }); it == nil {
			return
		}
	}
	if f := e.put(e.segs, "segments", key, it); f != nil {
		touched[e] = append(touched[e], f)
	}
}

// decodeOp decodes the document a feed op carries into v: its value after
// the commit or, for a deletion (deleted), its value before. An
// undecodable document is logged and ok is false.
func (h *sdkHub) decodeOp(op store.Op, v any) (deleted, ok bool) {
	b := op.After
	if b == nil {
		b, deleted = op.Before, true
	}
	if b == nil {
		return false, false
	}
	if err := json.Unmarshal(b, v); err != nil {
		h.s.log.Error("sdk: undecodable document on the feed", "key", op.Key, "err", err)
		return false, false
	}
	return deleted, true
}

// put stores an item and returns the event that carries the change to
// SDKs, or nil when SDKs hold it already: they take only higher versions.
func (e *sdkEnv) put(items map[string]*sdkItem, kind, key string, it *sdkItem) *sdkFrame {
	old := items[key]
	if old != nil && (it.version < old.version || it.version == old.version && it.withheld == old.withheld) {
		return nil
	}
	items[key] = it
	if it.withheld {
		if old == nil || old.withheld {
			return nil // the SDKs never had it
		}
		return deleteFrame(kind, key, it.version)
	}
	return patchFrame(kind, key, it.json)
}

// publish replaces the environment's immutable data with its current
// items, as of revision rev.
func (e *sdkEnv) publish(rev uint64) {
	e.data = &sdkData{ref: e.ref, envID: e.id, rev: rev, flags: maps.Clone(e.flags), segs: maps.Clone(e.segs)}
}

// current returns an environment's latest data without waiting for the
// feed, or nil if the environment is not loaded.
func (h *sdkHub) current(ref sdkRef) *sdkData {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e := h.envs[ref]; e != nil && !e.gone {
		return e.data
	}
	return nil
}

// revoke ends the streams opened with a credential that was just deleted
// (a key reset without a grace period, or its environment's deletion).
func (h *sdkHub) revoke(cred string) {
	for _, e := range h.envs {
		for sub := range e.subs {
			if sub.cred == cred {
				sub.gone, sub.revoked = true, true
				sub.poke()
				delete(e.subs, sub)
			}
		}
	}
}

// end closes every stream of an environment that no longer exists.
func (e *sdkEnv) end() {
	e.gone = true
	for sub := range e.subs {
		sub.gone = true
		sub.poke()
	}
	e.subs = nil
}
