package flagstore

// Expiring targets (LaunchDarkly's scheduled removal of individual
// targets): a context individually targeted by a variation of a flag in
// one environment can be given a time at which it leaves that targeting.
//
// They are kept apart from the flag, one document per (flag, environment,
// context kind, context key), with an index by due time:
//
//	xt/{proj}/{flag}/{env}/{kind}/{key}          the expiring target
//	xd/{due:016x}/{proj}/{flag}/{env}/{kind}/{key}   due-time index (empty)
//
// so that changing them never moves the flag's versions, and the store's
// background job finds what is due with one ordered scan. When a target is
// due the job removes it from the flag through the flag's ordinary checked
// write (validated, audited, versions moved) and deletes its documents in
// the same transaction.
//
// A patch reports per instruction, as LaunchDarkly's does: the instructions
// that apply are stored even when others fail, and the result counts both
// and lists the failures by index. Only a malformed request (an unknown
// instruction kind) fails as a whole.
//
// Where LaunchDarkly's documentation is silent, this file decides:
//   - The context must already be individually targeted by the variation
//     (LaunchDarkly: "the flag must already individually target the
//     context"); adding an expiring target never adds the target. The
//     instruction fails otherwise.
//   - The expiry must be in the future (by the injected clock).
//   - A context has at most one expiring target per flag and environment:
//     adding a second fails (update it instead); update and remove must
//     name the variation it was scheduled on. Removing one that is not
//     scheduled succeeds and changes nothing.
//   - contextKind defaults to "user".
//   - A patch's items are the environment's expiring targets after it, as
//     the GET returns them.
//   - An expiring target whose context is no longer targeted by its
//     variation, whose variation is gone, or whose flag or environment was
//     deleted (even if created again under the same key: each target
//     records the flag's creationDate and the environment's _id) no longer
//     exists: reads skip it, a patch or the job's sweep deletes it.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flagstore/flagstore/store"
)

// ExpiringTarget is a scheduled removal of a context from a flag's
// individual targeting (LaunchDarkly's ExpiringTarget).
type ExpiringTarget struct {
	ID      string `json:"_id"`
	Version int    `json:"_version"`
	// ExpirationDate is when the context leaves the targeting (Unix ms).
	ExpirationDate int64              `json:"expirationDate"`
	ContextKind    string             `json:"contextKind"`
	ContextKey     string             `json:"contextKey"`
	VariationID    string             `json:"variationId"`
	ResourceID     ExpiringResourceID `json:"_resourceId"`
}

// ExpiringResourceID names the flag and environment of an expiring target.
type ExpiringResourceID struct {
	Kind           string `json:"kind"`
	ProjectKey     string `json:"projectKey"`
	EnvironmentKey string `json:"environmentKey"`
	Key            string `json:"key"`
	// FlagKey repeats Key (LaunchDarkly keeps it, deprecated).
	FlagKey string `json:"flagKey"`
}

// ExpiringUserTarget is the legacy, user-only form of an expiring target
// (LaunchDarkly's ExpiringUserTargetItem).
type ExpiringUserTarget struct {
	ID             string             `json:"_id"`
	Version        int                `json:"_version"`
	ExpirationDate int64              `json:"expirationDate"`
	UserKey        string             `json:"userKey"`
	VariationID    string             `json:"variationId"`
	ResourceID     ExpiringResourceID `json:"_resourceId"`
}

// ExpiringTargetError is one failed instruction of a patch.
type ExpiringTargetError struct {
	InstructionIndex int    `json:"instructionIndex"`
	Message          string `json:"message"`
}

// ExpiringTargetPatchResult reports a patch of expiring targets, one
// instruction at a time (LaunchDarkly's ExpiringTargetPatchResponse).
type ExpiringTargetPatchResult struct {
	// Items are the environment's expiring targets after the patch.
	Items                  []ExpiringTarget      `json:"items"`
	TotalInstructions      int                   `json:"totalInstructions"`
	SuccessfulInstructions int                   `json:"successfulInstructions"`
	FailedInstructions     int                   `json:"failedInstructions"`
	Errors                 []ExpiringTargetError `json:"errors"`
}

// ExpiringUserTargetPatchResult is ExpiringTargetPatchResult in the legacy
// user-only form (LaunchDarkly's ExpiringUserTargetPatchResponse).
type ExpiringUserTargetPatchResult struct {
	Items                  []ExpiringUserTarget  `json:"items"`
	TotalInstructions      int                   `json:"totalInstructions"`
	SuccessfulInstructions int                   `json:"successfulInstructions"`
	FailedInstructions     int                   `json:"failedInstructions"`
	Errors                 []ExpiringTargetError `json:"errors"`
}

// Key space of expiring targets.
const (
	expiringPrefix    = "xt/"
	expiringDuePrefix = "xd/"
)

func expiringEnvPrefix(proj, flag, env string) string {
	return expiringPrefix + proj + sep + flag + sep + env + sep
}

func expiringKey(proj, flag, env, kind, key string) string {
	return expiringEnvPrefix(proj, flag, env) + kind + sep + key
}

func expiringDueKey(due int64, proj, flag, env, kind, key string) string {
	return fmt.Sprintf("%s%016x/%s/%s/%s/%s/%s", expiringDuePrefix, uint64(due), proj, flag, env, kind, key)
}

// expiringDoc is a stored expiring target.
type expiringDoc struct {
	ID             string `json:"_id"`
	Version        int    `json:"_version"`
	ExpirationDate int64  `json:"expirationDate"`
	VariationID    string `json:"variationId"`
	// FlagCreated and EnvID name the flag and environment it was made for.
	FlagCreated int64  `json:"flagCreated"`
	EnvID       string `json:"envId"`
}

// xtSlot is one context of one kind.
type xtSlot struct{ kind, key string }

// xtScope is the flag and environment a request is about.
type xtScope struct {
	proj, flag, env string
}

func (sc xtScope) resourceID() ExpiringResourceID {
	return ExpiringResourceID{Kind: "flag", ProjectKey: sc.proj, EnvironmentKey: sc.env, Key: sc.flag, FlagKey: sc.flag}
}

func (sc xtScope) target(sl xtSlot, d *expiringDoc) ExpiringTarget {
	return ExpiringTarget{ID: d.ID, Version: d.Version, ExpirationDate: d.ExpirationDate, ContextKind: sl.kind,
		ContextKey: sl.key, VariationID: d.VariationID, ResourceID: sc.resourceID()}
}

// targets lists docs as ExpiringTargets, soonest first.
func (sc xtScope) targets(docs map[xtSlot]*expiringDoc) []ExpiringTarget {
	out := make([]ExpiringTarget, 0, len(docs))
	for sl, d := range docs {
		out = append(out, sc.target(sl, d))
	}
	slices.SortFunc(out, func(a, b ExpiringTarget) int {
		return cmp.Or(cmp.Compare(a.ExpirationDate, b.ExpirationDate), strings.Compare(a.ContextKind, b.ContextKind),
			strings.Compare(a.ContextKey, b.ContextKey))
	})
	return out
}

// userTargets is the legacy form of the user targets among ts.
func userTargets(ts []ExpiringTarget) []ExpiringUserTarget {
	out := []ExpiringUserTarget{}
	for _, t := range ts {
		if t.ContextKind == "user" {
			out = append(out, ExpiringUserTarget{ID: t.ID, Version: t.Version, ExpirationDate: t.ExpirationDate,
				UserKey: t.ContextKey, VariationID: t.VariationID, ResourceID: t.ResourceID})
		}
	}
	return out
}

// expiringLive reports whether an expiring target still applies: made for
// this flag and environment, its variation still there, and the context
// still individually targeted by it.
func expiringLive(f *Flag, envID string, env string, sl xtSlot, d *expiringDoc) bool {
	c := f.Environments[env]
	if c == nil || d.FlagCreated != f.CreationDate || envID == "" || d.EnvID != envID {
		return false
	}
	v := variationIndex(f, d.VariationID)
	return v >= 0 && fiOwner(c, sl.kind, sl.key) == v
}

// xtLoad reads a flag's expiring targets in one environment, split into
// the live ones and the keys of the dead ones.
func xtLoad(r *rtx, sc xtScope, f *Flag, envID string) (map[xtSlot]*expiringDoc, []string, error) {
	live := map[xtSlot]*expiringDoc{}
	var dead []string
	prefix := expiringEnvPrefix(sc.proj, sc.flag, sc.env)
	var ferr error
	err := r.tx.Scan(prefix, "", func(it store.Item) bool {
		parts := splitKeyN(it.Key[len(prefix):], 2)
		d := new(expiringDoc)
		if parts == nil || json.Unmarshal(it.Value, d) != nil {
			ferr = newError(ErrInternal, "corrupt expiring target at %s", it.Key)
			return false
		}
		sl := xtSlot{parts[0], parts[1]}
		if expiringLive(f, envID, sc.env, sl, d) {
			live[sl] = d
		} else {
			dead = append(dead, it.Key, expiringDueKey(d.ExpirationDate, sc.proj, sc.flag, sc.env, sl.kind, sl.key))
		}
		return true
	})
	if ferr != nil {
		return nil, nil, ferr
	}
	return live, dead, err
}

// xtOpen reads the flag and environment of a request: 404 for an unknown
// project, flag or environment.
func xtOpen(r *rtx, sc xtScope) (*Flag, string, error) {
	var f Flag
	if _, err := getFlag(r, sc.proj, sc.flag, &f); err != nil {
		return nil, "", err
	}
	var d envDoc
	if _, err := getEnv(r, sc.proj, sc.env, &d); err != nil {
		return nil, "", err
	}
	return &f, d.ID, nil
}

// GetExpiringTargets returns the expiring targets of a flag in one
// environment, soonest first.
func (s *Store) GetExpiringTargets(ctx context.Context, proj, flag, env string) ([]ExpiringTarget, error) {
	sc := xtScope{proj, flag, env}
	var out []ExpiringTarget
	err := s.view(ctx, func(r *rtx) error {
		f, envID, err := xtOpen(r, sc)
		if err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		live, _, err := xtLoad(r, sc, f, envID)
		out = sc.targets(live)
		return err
	})
	return out, err
}

// GetExpiringUserTargets is GetExpiringTargets in the legacy form: the
// expiring targets of context kind user.
func (s *Store) GetExpiringUserTargets(ctx context.Context, proj, flag, env string) ([]ExpiringUserTarget, error) {
	ts, err := s.GetExpiringTargets(ctx, proj, flag, env)
	if err != nil {
		return nil, err
	}
	return userTargets(ts), nil
}

// Instruction kinds of the two forms.
const (
	xtAdd    = "add"
	xtUpdate = "update"
	xtRemove = "remove"
)

var (
	xtContextKinds = map[string]string{
		"addExpiringTarget": xtAdd, "updateExpiringTarget": xtUpdate, "removeExpiringTarget": xtRemove,
	}
	xtUserKinds = map[string]string{
		"addExpireUserTargetDate": xtAdd, "updateExpireUserTargetDate": xtUpdate, "removeExpireUserTargetDate": xtRemove,
	}
)

// PatchExpiringTargets applies instructions (addExpiringTarget,
// updateExpiringTarget, removeExpiringTarget) to a flag's expiring targets
// in one environment. Each instruction succeeds or fails on its own; the
// result counts them and lists the failures. The change is audited (action
// updateExpiringTargets), with the comment of WithComment. The error is
// for the request as a whole: an unknown instruction kind (ErrInvalid), an
// unknown project, flag or environment, or a refused permission.
func (s *Store) PatchExpiringTargets(ctx context.Context, proj, flag, env string, ins []Instruction) (ExpiringTargetPatchResult, error) {
	return s.patchExpiring(ctx, xtScope{proj, flag, env}, ins, false)
}

// PatchExpiringUserTargets is PatchExpiringTargets in the legacy user-only
// form, with the instruction kinds addExpireUserTargetDate,
// updateExpireUserTargetDate and removeExpireUserTargetDate (userKey
// instead of contextKey and contextKind).
func (s *Store) PatchExpiringUserTargets(ctx context.Context, proj, flag, env string, ins []Instruction) (ExpiringUserTargetPatchResult, error) {
	res, err := s.patchExpiring(ctx, xtScope{proj, flag, env}, ins, true)
	if err != nil {
		return ExpiringUserTargetPatchResult{}, err
	}
	return ExpiringUserTargetPatchResult{Items: userTargets(res.Items), TotalInstructions: res.TotalInstructions,
		SuccessfulInstructions: res.SuccessfulInstructions, FailedInstructions: res.FailedInstructions, Errors: res.Errors}, nil
}

func (s *Store) patchExpiring(ctx context.Context, sc xtScope, ins []Instruction, legacy bool) (ExpiringTargetPatchResult, error) {
	kinds, other, otherPath := xtContextKinds, xtUserKinds, "expiring-user-targets"
	if legacy {
		kinds, other, otherPath = xtUserKinds, xtContextKinds, "expiring-targets"
	}
	if len(ins) == 0 {
		return ExpiringTargetPatchResult{}, invalidf("instructions", "a semantic patch needs at least one instruction")
	}
	for i, in := range ins {
		if _, ok := kinds[in.Kind]; !ok {
			if _, ok := other[in.Kind]; ok {
				return ExpiringTargetPatchResult{}, invalidf(fmt.Sprintf("instructions[%d].kind", i),
					"instruction kind %q belongs to the %s endpoint", in.Kind, otherPath)
			}
			return ExpiringTargetPatchResult{}, invalidf(fmt.Sprintf("instructions[%d].kind", i), "unknown instruction kind %q", in.Kind)
		}
	}
	var res ExpiringTargetPatchResult
	err := s.update(ctx, func(w *wtx) error {
		res = ExpiringTargetPatchResult{TotalInstructions: len(ins), Errors: []ExpiringTargetError{}}
		f, envID, err := xtOpen(&w.rtx, sc)
		if err != nil {
			return err
		}
		accesses := accessesOf(flagRes(sc.proj, sc.env, sc.flag), "updateExpiringTargets")
		if err := s.authorize(ctx, &w.rtx, accesses, nil); err != nil {
			return err
		}
		live, dead, err := xtLoad(&w.rtx, sc, f, envID)
		if err != nil {
			return err
		}
		for _, k := range dead {
			if err := w.del(k); err != nil {
				return err
			}
		}
		before := sc.targets(live)
		a := xtApplier{s: s, sc: sc, f: f, envID: envID, now: s.nowMillis(), legacy: legacy, docs: map[xtSlot]*expiringDoc{}}
		for sl, d := range live {
			c := *d
			a.docs[sl] = &c
		}
		for i, in := range ins {
			if err := a.apply(kinds[in.Kind], in); err != nil {
				res.Errors = append(res.Errors, ExpiringTargetError{InstructionIndex: i, Message: err.Error()})
				continue
			}
			res.SuccessfulInstructions++
		}
		res.FailedInstructions = len(res.Errors)
		res.Items = sc.targets(a.docs)
		changed, err := xtWrite(w, sc, live, a.docs)
		if err != nil || !changed {
			return err
		}
		var pr Project
		if _, err := getProject(&w.rtx, sc.proj, &pr); err != nil {
			return err
		}
		envName := sc.env
		if names, err := envNames(&w.rtx, sc.proj); err == nil && names[sc.env] != "" {
			envName = names[sc.env]
		}
		return s.record(w, change{kind: "flag", verb: "updated the expiring targets of", name: f.Name,
			resource: flagRes(sc.proj, sc.env, sc.flag), titleExtra: "in " + envName,
			parent: &AuditParent{Name: pr.Name, Resource: projRes(sc.proj)}, accesses: accesses,
			before: before, after: res.Items})
	})
	if err != nil {
		return ExpiringTargetPatchResult{}, err
	}
	return res, nil
}

// xtWrite stores the difference between the expiring targets read (old)
// and those after the instructions (new), and reports whether there was
// any.
func xtWrite(w *wtx, sc xtScope, old, new map[xtSlot]*expiringDoc) (bool, error) {
	changed := false
	for sl, o := range old {
		n := new[sl]
		if n != nil && *n == *o {
			continue
		}
		changed = true
		if err := w.del(expiringDueKey(o.ExpirationDate, sc.proj, sc.flag, sc.env, sl.kind, sl.key)); err != nil {
			return false, err
		}
		if n == nil {
			if err := w.del(expiringKey(sc.proj, sc.flag, sc.env, sl.kind, sl.key)); err != nil {
				return false, err
			}
		}
	}
	for sl, n := range new {
		if o := old[sl]; o != nil && *n == *o {
			continue
		}
		changed = true
		if err := w.put(expiringKey(sc.proj, sc.flag, sc.env, sl.kind, sl.key), n, storeAny); err != nil {
			return false, err
		}
		if err := w.mark(expiringDueKey(n.ExpirationDate, sc.proj, sc.flag, sc.env, sl.kind, sl.key)); err != nil {
			return false, err
		}
	}
	return changed, nil
}

// xtApplier applies the instructions of one patch to docs, the
// environment's live expiring targets.
type xtApplier struct {
	s      *Store
	sc     xtScope
	f      *Flag
	envID  string
	now    int64
	legacy bool
	docs   map[xtSlot]*expiringDoc
}

// xtParams holds the parameters of every expiring-target instruction.
type xtParams struct {
	Value       json.RawMessage `json:"value"`
	VariationID *string         `json:"variationId"`
	ContextKey  *string         `json:"contextKey"`
	ContextKind *string         `json:"contextKind"`
	UserKey     *string         `json:"userKey"`
	Version     *int            `json:"version"`
}

// apply runs one instruction; its error is the message the result reports.
func (a *xtApplier) apply(op string, in Instruction) error {
	var p xtParams
	if err := in.decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("parameter %q has the wrong type: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return fmt.Errorf("malformed parameters: %v", err)
	}
	sl, err := a.slot(&p)
	if err != nil {
		return err
	}
	if p.VariationID == nil || *p.VariationID == "" {
		return errors.New(`parameter "variationId" is required`)
	}
	vid := *p.VariationID
	v := variationIndex(a.f, vid)
	if v < 0 {
		return fmt.Errorf("variationId %q is not a variation of flag %q", vid, a.f.Key)
	}
	cur := a.docs[sl]
	if op == xtRemove {
		switch {
		case cur == nil:
			return nil // nothing scheduled: nothing to remove
		case cur.VariationID != vid:
			return fmt.Errorf("the removal of %s is scheduled on variation %q, not %q", a.name(sl), cur.VariationID, vid)
		}
		delete(a.docs, sl)
		return nil
	}
	due, err := a.due(p.Value)
	if err != nil {
		return err
	}
	if fiOwner(a.f.Environments[a.sc.env], sl.kind, sl.key) != v {
		return fmt.Errorf("%s is not individually targeted by variation %q in environment %q; add it as a target first",
			a.name(sl), vid, a.sc.env)
	}
	switch op {
	case xtAdd:
		if cur != nil {
			return fmt.Errorf("the removal of %s is already scheduled; update it instead", a.name(sl))
		}
		a.docs[sl] = &expiringDoc{ID: a.s.newID(), Version: 1, ExpirationDate: due, VariationID: vid,
			FlagCreated: a.f.CreationDate, EnvID: a.envID}
	case xtUpdate:
		switch {
		case cur == nil:
			return fmt.Errorf("the removal of %s is not scheduled; add it instead", a.name(sl))
		case cur.VariationID != vid:
			return fmt.Errorf("the removal of %s is scheduled on variation %q, not %q", a.name(sl), cur.VariationID, vid)
		case p.Version != nil && *p.Version != cur.Version:
			return fmt.Errorf("version %d does not match the expiring target's current version %d", *p.Version, cur.Version)
		}
		if cur.ExpirationDate != due {
			c := *cur
			c.ExpirationDate = due
			c.Version++
			a.docs[sl] = &c
		}
	}
	return nil
}

// slot reads the context an instruction names.
func (a *xtApplier) slot(p *xtParams) (xtSlot, error) {
	if a.legacy {
		if p.UserKey == nil || *p.UserKey == "" {
			return xtSlot{}, errors.New(`parameter "userKey" is required`)
		}
		return xtSlot{"user", *p.UserKey}, nil
	}
	if p.ContextKey == nil || *p.ContextKey == "" {
		return xtSlot{}, errors.New(`parameter "contextKey" is required`)
	}
	kind := "user"
	if p.ContextKind != nil && *p.ContextKind != "" {
		kind = *p.ContextKind
		if err := validContextKind("contextKind", kind); err != nil {
			return xtSlot{}, errors.New(err.Message)
		}
	}
	return xtSlot{kind, *p.ContextKey}, nil
}

// due reads the value parameter: a future time in Unix milliseconds.
func (a *xtApplier) due(raw json.RawMessage) (int64, error) {
	if fiAbsent(raw) {
		return 0, errors.New(`parameter "value" is required: the removal time in Unix milliseconds`)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, errors.New(`parameter "value" must be a time in Unix milliseconds`)
	}
	ms, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil || f != float64(int64(f)) {
			return 0, errors.New(`parameter "value" must be a whole number of Unix milliseconds`)
		}
		ms = int64(f)
	}
	if ms <= a.now {
		return 0, fmt.Errorf(`parameter "value" must be in the future (now is %d)`, a.now)
	}
	return ms, nil
}

// name names a context in messages.
func (a *xtApplier) name(sl xtSlot) string {
	if a.legacy {
		return fmt.Sprintf("user %q", sl.key)
	}
	return fmt.Sprintf("context %q of kind %q", sl.key, sl.kind)
}

// ---- carrying out expiring targets (the background job's work) ----

// expireBatchMax bounds the due targets one expireDueTargets handles; the
// rest wait for the next tick.
const expireBatchMax = 1000

// xtDue is one entry of the due-time index.
type xtDue struct {
	raw             string
	at              int64
	proj, flag, env string
	slot            xtSlot
}

func parseDue(key string) (xtDue, bool) {
	parts := splitKeyN(strings.TrimPrefix(key, expiringDuePrefix), 6)
	if parts == nil {
		return xtDue{}, false
	}
	at, err := strconv.ParseUint(parts[0], 16, 64)
	if err != nil {
		return xtDue{}, false
	}
	return xtDue{raw: key, at: int64(at), proj: parts[1], flag: parts[2], env: parts[3], slot: xtSlot{parts[4], parts[5]}}, true
}

// expireDueTargets removes every expiring target due at now from its flag:
// one checked, audited flag write per flag, which also deletes the expiring
// targets it carried out. It returns the first error met; what failed is
// tried again on the next call.
func (s *Store) expireDueTargets(now time.Time) error {
	s.jobs.expireMu.Lock()
	defer s.jobs.expireMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ms := now.UnixMilli()
	var due, bad []xtDue
	err := s.view(ctx, func(r *rtx) error {
		due, bad = nil, nil
		return r.tx.Scan(expiringDuePrefix, "", func(it store.Item) bool {
			d, ok := parseDue(it.Key)
			if !ok {
				bad = append(bad, xtDue{raw: it.Key})
				return true
			}
			if d.at > ms {
				return false
			}
			due = append(due, d)
			return len(due) < expireBatchMax
		})
	})
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		if err := s.dropDue(ctx, bad); err != nil {
			return err
		}
	}
	groups := map[[2]string][]xtDue{}
	var order [][2]string
	for _, d := range due {
		k := [2]string{d.proj, d.flag}
		if groups[k] == nil {
			order = append(order, k)
		}
		groups[k] = append(groups[k], d)
	}
	var first error
	for _, k := range order {
		if err := s.expireFlagTargets(ctx, k[0], k[1], groups[k]); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// expireFlagTargets carries out the due expiring targets of one flag.
func (s *Store) expireFlagTargets(ctx context.Context, proj, flag string, due []xtDue) error {
	wctx := WithComment(ctx, "Scheduled removal of expiring targets")
	_, err := s.modifyFlag(wctx, proj, flag, func(w *wtx, f *Flag) error {
		ids := newIDCache(&w.rtx)
		for _, d := range due {
			doc, ok, err := takeDue(w, d)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			envID, err := ids.envID(proj, d.env)
			if err != nil {
				return err
			}
			if !expiringLive(f, envID, d.env, d.slot, doc) {
				continue
			}
			c := f.Environments[d.env]
			removeTarget(c, d.slot, variationIndex(f, doc.VariationID))
		}
		return nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid):
		// The flag is gone, or the write is refused for good: the
		// expiring targets cannot be carried out, so they go.
		if errors.Is(err, ErrInvalid) {
			s.log.Warn("expiring targets dropped: the flag refused their removal", "project", proj, "flag", flag, "err", err)
		}
		return s.dropDue(ctx, due)
	default:
		return err
	}
}

// takeDue deletes a due-index entry and, if the expiring target it points
// at is still due at that time, the target too, which it returns.
func takeDue(w *wtx, d xtDue) (*expiringDoc, bool, error) {
	if ok, err := w.exists(d.raw); err != nil || !ok {
		return nil, false, err
	}
	if err := w.del(d.raw); err != nil {
		return nil, false, err
	}
	key := expiringKey(d.proj, d.flag, d.env, d.slot.kind, d.slot.key)
	var doc expiringDoc
	if _, err := w.get(key, &doc); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, err
	}
	if doc.ExpirationDate != d.at {
		return nil, false, nil // rescheduled: its own index entry stands
	}
	return &doc, true, w.del(key)
}

// dropDue deletes due-index entries and their expiring targets without
// touching any flag.
func (s *Store) dropDue(ctx context.Context, due []xtDue) error {
	return s.update(ctx, func(w *wtx) error {
		for _, d := range due {
			if d.proj == "" {
				if err := w.del(d.raw); err != nil {
					return err
				}
				continue
			}
			if _, _, err := takeDue(w, d); err != nil {
				return err
			}
		}
		return nil
	})
}

// removeTarget takes a context out of variation v's individual targets,
// dropping a list it empties.
func removeTarget(c *FlagConfig, sl xtSlot, v int) {
	edit := func(ts []Target) []Target {
		out := make([]Target, 0, len(ts))
		for _, t := range ts {
			if t.Variation == v && fiTargetKind(&t) == sl.kind && slices.Contains(t.Values, sl.key) {
				t.Values = slices.DeleteFunc(slices.Clone(t.Values), func(k string) bool { return k == sl.key })
				if len(t.Values) == 0 {
					continue
				}
			}
			out = append(out, t)
		}
		return out
	}
	c.Targets, c.ContextTargets = edit(c.Targets), edit(c.ContextTargets)
}

// sweepExpiring deletes the expiring targets that no longer apply (see
// expiringLive), with their due-index entries.
func (s *Store) sweepExpiring() { s.sweep("dead expiring targets", deadExpiring) }

// deadExpiring lists the keys (document and due-index entry) of every
// expiring target that no longer applies.
func deadExpiring(r *rtx) ([]string, error) {
	var dead []string
	ids := newIDCache(r)
	var ferr error
	err := r.tx.Scan(expiringPrefix, "", func(it store.Item) bool {
		parts := splitKeyN(it.Key[len(expiringPrefix):], 5)
		var d expiringDoc
		if parts == nil || json.Unmarshal(it.Value, &d) != nil {
			dead = append(dead, it.Key)
			return true
		}
		proj, flag, env, sl := parts[0], parts[1], parts[2], xtSlot{parts[3], parts[4]}
		f, err := ids.flag(proj, flag)
		if err != nil {
			ferr = err
			return false
		}
		envID, err := ids.envID(proj, env)
		if err != nil {
			ferr = err
			return false
		}
		if f == nil || !expiringLive(f, envID, env, sl, &d) {
			dead = append(dead, it.Key, expiringDueKey(d.ExpirationDate, proj, flag, env, sl.kind, sl.key))
		}
		return true
	})
	if ferr != nil {
		return nil, ferr
	}
	return dead, err
}
