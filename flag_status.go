package flagstore

// Flag statuses (LaunchDarkly's FlagStatusRep): how a flag is used in one
// environment, derived from what SDKs report evaluating and from the
// flag's own state. The evaluation side enters through RecordFlagRequests,
// which the SDK event routes call; the statuses are computed on read.
//
// Recording an evaluation is cheap: RecordFlagRequests merges the report
// into memory under a mutex and returns. The store's background job (at
// the end of this file; it also carries out expiring targets) writes
// what is queued every few seconds (and at Close), one transaction for the
// whole batch, with no audit entry. A crash loses at most those seconds of
// lastRequested times, which only ever move a status towards "inactive".
// Reads merge what is queued, so a status reflects a report at once.
//
// Where LaunchDarkly's documentation is silent, this file decides:
//   - "Requested recently" and "changed recently" mean within the last
//     7 days of the injected clock; the flag's change time is the
//     environment's lastModified.
//   - launched needs the flag on, exactly one variation served in the last
//     7 days, and no change for 7 days. When no report of the last 7 days
//     named its variations, the configuration decides: it must be able to
//     serve only one variation.
//   - A flag requested in the last 7 days is never "new" or "inactive";
//     one never requested is "new" for its first 7 days, then "inactive".
//   - What was recorded for a flag or environment that was since deleted
//     and created again under the same key is ignored (each record names
//     the flag's creationDate and the environment's _id), and swept later.

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagstore/flagstore/store"
)

// Flag status names.
const (
	FlagStatusNew      = "new"
	FlagStatusInactive = "inactive"
	FlagStatusActive   = "active"
	FlagStatusLaunched = "launched"
)

// flagStatusWindow is the 7 days over which requests and changes count.
const flagStatusWindow = 7 * 24 * time.Hour

// FlagStatus is a flag's status in one environment (LaunchDarkly's
// FeatureFlagStatus). FlagKey and EnvironmentKey say whose status it is.
type FlagStatus struct {
	FlagKey        string `json:"-"`
	EnvironmentKey string `json:"-"`
	// Name is new, inactive, active or launched.
	Name string `json:"name"`
	// LastRequested is when an SDK last evaluated the flag; nil if never.
	LastRequested *time.Time `json:"lastRequested,omitempty"`
	// Default is the fallback value the application's code passed when it
	// last evaluated the flag; nil if none was reported.
	Default any `json:"default,omitempty"`
}

// FlagRequest is what SDKs reported evaluating one flag: the latest
// evaluation time, the fallback value the code passed, and the indexes of
// the variations served.
type FlagRequest struct {
	// LastRequested is the latest evaluation; the zero time means now.
	LastRequested time.Time
	// Default is the fallback value seen from code (nil: not reported).
	Default any
	// Variations are the indexes of the variations served.
	Variations []int
}

// flagRequestDoc is what the store keeps per (project, flag, environment)
// at fq/{proj}/{flag}/{env}.
type flagRequestDoc struct {
	LastRequested int64           `json:"lastRequested"`
	Default       json.RawMessage `json:"default,omitempty"`
	// Served maps a variation index to when it was last served.
	Served map[string]int64 `json:"served,omitempty"`
	// FlagCreated and EnvID name the flag and environment the record is
	// about, so one about a deleted flag or environment is not read as
	// about a new one with the same key.
	FlagCreated int64  `json:"flagCreated"`
	EnvID       string `json:"envId"`
}

const flagRequestPrefix = "fq/"

func flagRequestKey(proj, flag, env string) string {
	return flagRequestPrefix + proj + sep + flag + sep + env
}

// fqRef names one (project, environment, flag).
type fqRef struct{ proj, env, flag string }

// fqPending is what is queued for one fqRef.
type fqPending struct {
	last   int64
	def    json.RawMessage
	served map[int]int64
}

// merge folds another report into p.
func (p *fqPending) merge(q *fqPending) {
	if q.last >= p.last {
		p.last = q.last
		if q.def != nil {
			p.def = q.def
		}
	} else if p.def == nil {
		p.def = q.def
	}
	if p.served == nil && len(q.served) > 0 {
		p.served = map[int]int64{}
	}
	for v, t := range q.served {
		p.served[v] = max(p.served[v], t)
	}
}

// flagRequestQueueMax bounds the flags queued between two writes; reports
// about further flags are dropped until the next write.
const flagRequestQueueMax = 1 << 16

// flagRequests is a Store's queue of reported evaluations.
type flagRequests struct {
	mu       sync.Mutex
	pending  map[fqRef]*fqPending
	inflight map[fqRef]*fqPending // the batch being written
	closed   bool                 // the store is closing: record nothing more
	writeMu  sync.Mutex           // held while a batch is taken and written
}

// RecordFlagRequests records what SDKs evaluated in one environment: for
// each flag key, the latest evaluation time, the default value seen from
// code and the variations served. It is the hook of the SDK event routes,
// and cheap: it queues the reports in memory and returns; the store writes
// them in batches, with no audit entry. Flags that do not exist are
// ignored when the batch is written. A principal in ctx, if any, must be
// that environment's own SDK credential.
func (s *Store) RecordFlagRequests(ctx context.Context, proj, env string, reqs map[string]FlagRequest) error {
	if err := ctx.Err(); err != nil {
		return AsError(err)
	}
	if p, ok := PrincipalFrom(ctx); ok {
		switch {
		case p.Kind != PrincipalEnvironment:
			return newError(ErrForbidden, "flag requests are recorded with the environment's SDK credential")
		case p.Credential == nil || p.Credential.ProjectKey != proj || p.Credential.EnvironmentKey != env:
			return newError(ErrUnauthorized, "this credential may not record flag requests in environment %q of project %q", env, proj)
		}
	}
	if err := validKey("projectKey", proj); err != nil {
		return err
	}
	if err := validKey("environmentKey", env); err != nil {
		return err
	}
	now := s.nowMillis()
	batch := make(map[fqRef]*fqPending, len(reqs))
	for key, r := range reqs {
		if err := validKey("featureFlagKey", key); err != nil {
			return err
		}
		p := &fqPending{last: now}
		if !r.LastRequested.IsZero() {
			p.last = r.LastRequested.UnixMilli()
		}
		if r.Default != nil {
			b, err := json.Marshal(r.Default)
			if err != nil {
				return invalidf("default", "the default value of flag %q cannot be encoded as JSON: %v", key, err)
			}
			p.def = b
		}
		for _, v := range r.Variations {
			if v < 0 {
				return invalidf("variations", "flag %q: variation index %d is negative", key, v)
			}
			if p.served == nil {
				p.served = map[int]int64{}
			}
			p.served[v] = p.last
		}
		batch[fqRef{proj, env, key}] = p
	}
	q := &s.jobs.requests
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return newError(ErrUnavailable, "the store is closed")
	}
	if q.pending == nil {
		q.pending = map[fqRef]*fqPending{}
	}
	dropped := 0
	for ref, p := range batch {
		if cur, ok := q.pending[ref]; ok {
			cur.merge(p)
			continue
		}
		if len(q.pending) >= flagRequestQueueMax {
			dropped++
			continue
		}
		q.pending[ref] = p
	}
	if dropped > 0 {
		s.log.Debug("flag requests dropped: queue full", "flags", dropped)
	}
	return nil
}

// queued returns what is queued or being written for ref (nil if nothing).
func (q *flagRequests) queued(ref fqRef) *fqPending {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out *fqPending
	for _, m := range []map[fqRef]*fqPending{q.inflight, q.pending} {
		if p := m[ref]; p != nil {
			if out == nil {
				out = &fqPending{}
			}
			out.merge(p)
		}
	}
	return out
}

// flushFlagRequests writes every queued report now, in one transaction,
// and returns once a batch being written concurrently is done too (the
// background job and Close call it; so do tests).
func (s *Store) flushFlagRequests() {
	q := &s.jobs.requests
	q.writeMu.Lock()
	defer q.writeMu.Unlock()
	q.mu.Lock()
	batch := q.pending
	q.pending, q.inflight = nil, batch
	q.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	defer func() {
		q.mu.Lock()
		q.inflight = nil
		q.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	refs := slices.SortedFunc(maps.Keys(batch), func(a, b fqRef) int {
		return strings.Compare(a.proj+sep+a.flag+sep+a.env, b.proj+sep+b.flag+sep+b.env)
	})
	err := s.update(ctx, func(w *wtx) error {
		ids := newIDCache(&w.rtx)
		for _, ref := range refs {
			envID, err := ids.envID(ref.proj, ref.env)
			if err != nil {
				return err
			}
			f, err := ids.flag(ref.proj, ref.flag)
			if err != nil {
				return err
			}
			if f == nil || envID == "" || f.Environments[ref.env] == nil {
				continue // deleted, or never there
			}
			key := flagRequestKey(ref.proj, ref.flag, ref.env)
			var d flagRequestDoc
			ver, err := w.get(key, &d)
			switch {
			case errors.Is(err, store.ErrNotFound):
				ver = store.Absent
			case err != nil:
				return err
			}
			if d.FlagCreated != f.CreationDate || d.EnvID != envID {
				d = flagRequestDoc{FlagCreated: f.CreationDate, EnvID: envID}
			}
			d.merge(batch[ref])
			if err := w.put(key, &d, ver); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Debug("flag requests not recorded", "flags", len(batch), "err", err)
		q.mu.Lock() // queue them again, for the next write
		if q.pending == nil {
			q.pending = map[fqRef]*fqPending{}
		}
		for ref, p := range batch {
			if cur, ok := q.pending[ref]; ok {
				cur.merge(p)
			} else if len(q.pending) < flagRequestQueueMax {
				q.pending[ref] = p
			}
		}
		q.mu.Unlock()
	}
}

// merge folds queued reports into a stored record, forgetting variations
// not served within the status window of the latest request.
func (d *flagRequestDoc) merge(p *fqPending) {
	if p == nil {
		return
	}
	if p.last >= d.LastRequested {
		d.LastRequested = p.last
		if p.def != nil {
			d.Default = p.def
		}
	} else if d.Default == nil {
		d.Default = p.def
	}
	for v, t := range p.served {
		if d.Served == nil {
			d.Served = map[string]int64{}
		}
		k := strconv.Itoa(v)
		d.Served[k] = max(d.Served[k], t)
	}
	cutoff := d.LastRequested - flagStatusWindow.Milliseconds()
	maps.DeleteFunc(d.Served, func(_ string, t int64) bool { return t <= cutoff })
}

// GetFlagStatus returns a flag's status in one environment.
func (s *Store) GetFlagStatus(ctx context.Context, proj, env, flag string) (FlagStatus, error) {
	var out FlagStatus
	err := s.view(ctx, func(r *rtx) error {
		var f Flag
		if _, err := getFlag(r, proj, flag, &f); err != nil {
			return err
		}
		var d envDoc
		if _, err := getEnv(r, proj, env, &d); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		st, err := s.flagStatus(r, proj, &f, &d.Environment)
		out = st
		return err
	})
	return out, err
}

// ListFlagStatuses returns the status of every flag of a project in one
// environment, by flag key.
func (s *Store) ListFlagStatuses(ctx context.Context, proj, env string) ([]FlagStatus, error) {
	out := []FlagStatus{}
	err := s.view(ctx, func(r *rtx) error {
		var d envDoc
		if _, err := getEnv(r, proj, env, &d); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		keys, err := r.keysUnder(flagPrefix(proj))
		if err != nil {
			return err
		}
		for _, k := range keys {
			var f Flag
			if _, err := getFlag(r, proj, k, &f); err != nil {
				return err
			}
			st, err := s.flagStatus(r, proj, &f, &d.Environment)
			if err != nil {
				return err
			}
			out = append(out, st)
		}
		return nil
	})
	return out, err
}

// GetFlagStatusAcrossEnvironments returns a flag's status in every
// environment of its project, by environment key, or in the environments
// named (an unknown one is ErrNotFound).
func (s *Store) GetFlagStatusAcrossEnvironments(ctx context.Context, proj, flag string, envs ...string) (map[string]FlagStatus, error) {
	out := map[string]FlagStatus{}
	err := s.view(ctx, func(r *rtx) error {
		var f Flag
		if _, err := getFlag(r, proj, flag, &f); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		if len(envs) == 0 {
			var err error
			if envs, err = r.keysUnder(envPrefix(proj)); err != nil {
				return err
			}
		}
		for _, env := range envs {
			var d envDoc
			if _, err := getEnv(r, proj, env, &d); err != nil {
				return err
			}
			st, err := s.flagStatus(r, proj, &f, &d.Environment)
			if err != nil {
				return err
			}
			out[env] = st
		}
		return nil
	})
	return out, err
}

// flagStatus computes a flag's status in env from what is stored and
// queued about its requests.
func (s *Store) flagStatus(r *rtx, proj string, f *Flag, env *Environment) (FlagStatus, error) {
	var d flagRequestDoc
	if _, err := r.get(flagRequestKey(proj, f.Key, env.Key), &d); err != nil && !errors.Is(err, store.ErrNotFound) {
		return FlagStatus{}, err
	}
	if d.FlagCreated != f.CreationDate || d.EnvID != env.ID {
		d = flagRequestDoc{} // about a flag or environment since deleted
	}
	d.merge(s.jobs.requests.queued(fqRef{proj, env.Key, f.Key}))
	st := FlagStatus{FlagKey: f.Key, EnvironmentKey: env.Key}
	if d.LastRequested > 0 {
		t := time.UnixMilli(d.LastRequested).UTC()
		st.LastRequested = &t
	}
	if d.Default != nil {
		if err := json.Unmarshal(d.Default, &st.Default); err != nil {
			return FlagStatus{}, newError(ErrInternal, "corrupt flag request record of %q: %v", f.Key, err)
		}
	}
	st.Name = statusName(s.nowMillis(), f, f.Environments[env.Key], &d)
	return st, nil
}

// statusName applies LaunchDarkly's definitions at time now (Unix ms).
func statusName(now int64, f *Flag, c *FlagConfig, d *flagRequestDoc) string {
	window := flagStatusWindow.Milliseconds()
	since := now - window
	switch {
	case d.LastRequested == 0 && f.CreationDate > since:
		return FlagStatusNew
	case d.LastRequested <= since:
		return FlagStatusInactive
	case c == nil || !c.On || c.LastModified > since:
		return FlagStatusActive
	}
	served := 0
	for _, t := range d.Served {
		if t > since {
			served++
		}
	}
	if served == 0 {
		served = len(servableVariations(c))
	}
	if served == 1 {
		return FlagStatusLaunched
	}
	return FlagStatusActive
}

// servableVariations lists the variations an environment's configuration
// can serve while on: those of individual targets, rules, the default rule
// (rollout buckets of weight above zero), and the off variation when a
// prerequisite may fail.
func servableVariations(c *FlagConfig) map[int]bool {
	out := map[int]bool{}
	serve := func(v *int, r *Rollout) {
		if v != nil {
			out[*v] = true
		}
		if r != nil {
			for _, w := range r.Variations {
				if w.Weight > 0 {
					out[w.Variation] = true
				}
			}
		}
	}
	for _, t := range slices.Concat(c.Targets, c.ContextTargets) {
		if len(t.Values) > 0 {
			out[t.Variation] = true
		}
	}
	for _, rule := range c.Rules {
		if !rule.Disabled {
			serve(rule.Variation, rule.Rollout)
		}
	}
	serve(c.Fallthrough.Variation, c.Fallthrough.Rollout)
	if len(c.Prerequisites) > 0 {
		serve(c.OffVariation, nil)
	}
	return out
}

// sweepFlagRequests deletes the records about flags and environments that
// no longer exist (or exist anew under the same key).
func (s *Store) sweepFlagRequests() { s.sweep("stale flag request records", deadFlagRequests) }

// deadFlagRequests lists the keys of records whose flag or environment is
// gone or was created anew.
func deadFlagRequests(r *rtx) ([]string, error) {
	var dead []string
	ids := newIDCache(r)
	var ferr error
	err := r.tx.Scan(flagRequestPrefix, "", func(it store.Item) bool {
		parts := splitKeyN(it.Key[len(flagRequestPrefix):], 3)
		var d flagRequestDoc
		if parts == nil || json.Unmarshal(it.Value, &d) != nil {
			dead = append(dead, it.Key)
			return true
		}
		f, err := ids.flag(parts[0], parts[1])
		if err != nil {
			ferr = err
			return false
		}
		envID, err := ids.envID(parts[0], parts[2])
		if err != nil {
			ferr = err
			return false
		}
		if f == nil || f.CreationDate != d.FlagCreated || envID == "" || envID != d.EnvID {
			dead = append(dead, it.Key)
		}
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	return dead, err
}

// splitKeyN splits a key suffix into exactly n parts at "/", the last of
// which may itself hold "/"; nil if there are fewer.
func splitKeyN(s string, n int) []string {
	out := make([]string, 0, n)
	for i := 0; i < n-1; i++ {
		j := strings.IndexByte(s, '/')
		if j < 0 {
			return nil
		}
		out = append(out, s[:j])
		s = s[j+1:]
	}
	return append(out, s)
}

// ---- the store's background job ----

// storeJobs is the Store's background job: every second it removes the
// expiring targets that are due; every few seconds it writes the queued
// flag requests; now and then it sweeps records left by deleted flags and
// environments. Open starts it and Close stops it.
type storeJobs struct {
	stop, done chan struct{}
	expireMu   sync.Mutex // one expireDueTargets at a time
	requests   flagRequests
}

// Periods of the background job, in ticks of jobTick.
const (
	jobTick            = time.Second
	flushRequestsEvery = 5
	sweepExpiringEvery = 60
	sweepRequestsEvery = 3600
)

// startJobs starts the background job of a store Open just made.
func startJobs(s *Store, err error) (*Store, error) {
	if err != nil {
		return s, err
	}
	s.jobs.stop, s.jobs.done = make(chan struct{}), make(chan struct{})
	go s.runJobs()
	s.startWebhooks()
	return s, nil
}

// stopJobs stops the background job and writes the queued flag requests.
func (s *Store) stopJobs() {
	s.stopWebhooks()
	j := &s.jobs
	if j.stop != nil {
		close(j.stop)
		<-j.done
	}
	j.requests.mu.Lock()
	j.requests.closed = true
	j.requests.mu.Unlock()
	s.flushFlagRequests()
}

func (s *Store) runJobs() {
	j := &s.jobs
	defer close(j.done)
	t := time.NewTicker(jobTick)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-j.stop:
			return
		case <-t.C:
		}
		if err := s.expireDueTargets(s.now()); err != nil {
			s.log.Warn("expiring targets not removed", "err", err)
		}
		if n%flushRequestsEvery == 0 {
			s.flushFlagRequests()
		}
		if n%sweepExpiringEvery == 0 {
			s.sweepExpiring()
		}
		if n%sweepRequestsEvery == 0 {
			s.sweepFlagRequests()
		}
	}
}

// sweep deletes the keys dead lists, if a read finds any, in a transaction
// that asks dead again; what names them is for the log.
func (s *Store) sweep(what string, dead func(*rtx) ([]string, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var keys []string
	err := s.view(ctx, func(r *rtx) error {
		var err error
		keys, err = dead(r)
		return err
	})
	if err != nil || len(keys) == 0 {
		return
	}
	err = s.update(ctx, func(w *wtx) error {
		again, err := dead(&w.rtx)
		if err != nil {
			return err
		}
		for _, k := range again {
			if err := w.del(k); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Debug(what+" not swept", "err", err)
	}
}

// idCache reads, once each within a transaction, what tells a flag or an
// environment from an earlier one of the same key: the flag itself (its
// creationDate) and the environment's _id.
type idCache struct {
	r     *rtx
	flags map[string]*Flag  // proj/flag → flag, nil if missing
	envs  map[string]string // proj/env → _id, "" if missing
}

func newIDCache(r *rtx) *idCache {
	return &idCache{r: r, flags: map[string]*Flag{}, envs: map[string]string{}}
}

// flag returns a project's flag, or nil if it does not exist.
func (c *idCache) flag(proj, key string) (*Flag, error) {
	f, ok := c.flags[proj+sep+key]
	if !ok {
		f = new(Flag)
		if _, err := getFlag(c.r, proj, key, f); err != nil {
			if !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			f = nil
		}
		c.flags[proj+sep+key] = f
	}
	return f, nil
}

// envID returns an environment's _id, or "" if it does not exist.
func (c *idCache) envID(proj, env string) (string, error) {
	id, ok := c.envs[proj+sep+env]
	if !ok {
		var d envDoc
		if _, err := c.r.get(envKey(proj, env), &d); err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		id = d.ID
		c.envs[proj+sep+env] = id
	}
	return id, nil
}
