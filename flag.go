package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/internal/resource"
	"github.com/flagstore/flagstore/store"
)

func flagIndex(proj string) index { return index{coll: "f", scope: proj} }

func flagEntry(f *Flag) *entryOf {
	return &entryOf{key: f.Key, name: f.Name, created: f.CreationDate, tags: f.Tags, archived: f.Archived}
}

// CreateFlag creates a flag in a project, with a configuration in every
// environment seeded from its defaults. Without variations the flag is
// boolean ([true, false]); without defaults it serves the first variation
// when on and the last when off.
func (s *Store) CreateFlag(ctx context.Context, proj string, p FlagPost) (Flag, error) {
	return s.createFlag(ctx, proj, p, "")
}

// createFlag is CreateFlag; a clone names an existing flag whose variations
// and defaults (unless p gives its own) and every environment's targeting
// the new flag copies (see CloneFlag).
func (s *Store) createFlag(ctx context.Context, proj string, p FlagPost, clone string) (Flag, error) {
	if err := validKey("key", p.Key); err != nil {
		return Flag{}, err
	}
	now := s.nowMillis()
	f := Flag{
		Key:               p.Key,
		Name:              p.Name,
		Description:       p.Description,
		Variations:        slices.Clone(p.Variations),
		Defaults:          p.Defaults,
		Temporary:         true,
		Tags:              nonNil(slices.Clone(p.Tags)),
		MaintainerID:      p.MaintainerID,
		MaintainerTeamKey: p.MaintainerTeamKey,
		CustomProperties:  p.CustomProperties,
		CreationDate:      now,
		Version:           1,
		Experiments:       Experiments{Items: []any{}},
		GoalIDs:           []string{},
		Environments:      map[string]*FlagConfig{},
	}
	if p.Temporary != nil {
		f.Temporary = *p.Temporary
	}
	if f.CustomProperties == nil {
		f.CustomProperties = map[string]CustomProperty{}
	}
	if len(f.Variations) == 0 {
		f.Variations = []Variation{{Value: true}, {Value: false}}
	}
	for i := range f.Variations {
		if f.Variations[i].ID == "" {
			f.Variations[i].ID = s.newUUID()
		}
	}
	if f.Defaults == nil {
		f.Defaults = &FlagDefaults{OnVariation: 0, OffVariation: len(f.Variations) - 1}
	}
	var out Flag
	err := s.update(ctx, func(w *wtx) error {
		var pr Project
		if _, err := getProject(&w.rtx, proj, &pr); err != nil {
			return err
		}
		if err := applyFlagDefaults(&w.rtx, &pr, &p, &f); err != nil {
			return err
		}
		switch {
		case p.ClientSideAvailability != nil:
			f.ClientSideAvailability = *p.ClientSideAvailability
		case p.IncludeInSnippet != nil:
			f.ClientSideAvailability = ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: *p.IncludeInSnippet}
		case pr.DefaultClientSideAvailability != nil:
			f.ClientSideAvailability = *pr.DefaultClientSideAvailability
		default:
			f.ClientSideAvailability = ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: pr.IncludeInSnippetByDefault}
		}
		if ok, err := w.exists(flagKey(proj, p.Key)); err != nil || ok {
			if ok {
				return existsf("A flag with key %q already exists in project %q", p.Key, proj)
			}
			return err
		}
		var src *Flag
		if clone != "" {
			var err error
			if src, err = cloneSource(&w.rtx, proj, clone, &f, p); err != nil {
				return err
			}
		}
		var prereqs []Prerequisite
		for i, ip := range p.InitialPrerequisites {
			var pf Flag
			if _, err := getFlag(&w.rtx, proj, ip.Key, &pf); err != nil {
				return invalidf("initialPrerequisites", "initialPrerequisites[%d]: unknown flag %q", i, ip.Key)
			}
			idx := variationIndex(&pf, ip.VariationID)
			if idx < 0 {
				return invalidf("initialPrerequisites", "initialPrerequisites[%d]: flag %q has no variation %q", i, ip.Key, ip.VariationID)
			}
			prereqs = append(prereqs, Prerequisite{Key: ip.Key, Variation: idx})
		}
		err := each(&w.rtx, envPrefix(proj), func(_ string, d *envDoc) error {
			c := s.newConfig(&f, &d.Environment, p.IsFlagOn, now)
			c.Prerequisites = append(c.Prerequisites, prereqs...)
			if src != nil {
				copyTargeting(c, src.Environments[d.Key])
			}
			f.Environments[d.Key] = c
			return nil
		})
		if err != nil {
			return err
		}
		if err := raiseFromFlagTomb(w, proj, &f); err != nil {
			return err
		}
		raw, _, err := s.writeFlag(w, proj, nil, &f, 0)
		if err != nil {
			return err
		}
		names, err := envNames(&w.rtx, proj)
		if err != nil {
			return err
		}
		out = f
		fillEnvNames(&out, names)
		actions := []string{"createFlag"}
		if src != nil {
			actions = append(actions, "cloneFlag")
		}
		return s.recordFlag(w, proj, "created", &out, nil, raw, accessesOf(flagRes(proj, "*", out.Key), actions...))
	})
	if err != nil {
		return Flag{}, err // a refused call shows nothing
	}
	return out, nil
}

// newConfig is a flag's configuration in a new environment: off, serving
// the flag's default variations, with a fresh salt and selector.
func (s *Store) newConfig(f *Flag, env *Environment, on bool, now int64) *FlagConfig {
	d := FlagDefaults{OnVariation: 0, OffVariation: len(f.Variations) - 1}
	if f.Defaults != nil {
		d = *f.Defaults
	}
	return &FlagConfig{
		On:             on,
		Archived:       f.Archived,
		Salt:           s.hexUUID(),
		Sel:            s.hexUUID(),
		LastModified:   now,
		Version:        1,
		Targets:        []Target{},
		ContextTargets: []Target{},
		Rules:          []Rule{},
		Fallthrough:    VariationOrRollout{Variation: intPtr(d.OnVariation)},
		OffVariation:   intPtr(d.OffVariation),
		Prerequisites:  []Prerequisite{},
		TrackEvents:    env.DefaultTrackEvents,
	}
}

// variationIndex finds a variation by ID, or -1.
func variationIndex(f *Flag, id string) int {
	for i, v := range f.Variations {
		if v.ID == id {
			return i
		}
	}
	return -1
}

// GetFlag returns a flag with its configuration in every environment.
func (s *Store) GetFlag(ctx context.Context, proj, key string) (Flag, error) {
	var f Flag
	err := s.view(ctx, func(r *rtx) error {
		if err := readFlagInto(r, proj, key, &f); err != nil {
			return err
		}
		return s.authorizeView(ctx, r, proj)
	})
	if err != nil {
		return Flag{}, err // a refused call shows nothing
	}
	return f, nil
}

// getFlag decodes the stored flag; a missing one is a 404 naming the project
// or the flag.
func getFlag(r *rtx, proj, key string, f *Flag) (uint64, error) {
	it, err := getFlagItem(r, proj, key, f)
	return it.Version, err
}

// getFlagItem is getFlag that also returns the stored item, whose bytes
// the audit log records as they are.
func getFlagItem(r *rtx, proj, key string, f *Flag) (store.Item, error) {
	d, it, err := peekFlagItem(r, proj, key)
	if err != nil {
		return store.Item{}, err
	}
	*f = cloneFlag(d)
	return it, nil
}

// peekFlagItem is getFlagItem for callers that only read the flag: it is
// the cache's own, and must not be changed.
func peekFlagItem(r *rtx, proj, key string) (*Flag, store.Item, error) {
	d, it, err := peekCached(r, r.flags, cloneFlag, flagKey(proj, key))
	if errors.Is(err, store.ErrNotFound) {
		if _, perr := getProject(r, proj, &Project{}); perr != nil {
			return nil, store.Item{}, perr
		}
		return nil, store.Item{}, notFoundf("Unknown flag %q in project %q", key, proj)
	}
	return d, it, err
}

// readFlagInto reads a flag as callers see it: with each configuration's
// environment name filled in.
func readFlagInto(r *rtx, proj, key string, f *Flag) error {
	if _, err := getFlag(r, proj, key, f); err != nil {
		return err
	}
	names, err := envNames(r, proj)
	if err != nil {
		return err
	}
	fillEnvNames(f, names)
	return nil
}

func fillEnvNames(f *Flag, names map[string]string) {
	for k, c := range f.Environments {
		c.EnvironmentName = names[k]
	}
}

// envNames maps a project's environment keys to their names.
func envNames(r *rtx, proj string) (map[string]string, error) {
	names := map[string]string{}
	prefix := envIndex(proj).base() + "l/all/" + sortKey + sep
	err := r.tx.Scan(prefix, "", func(it store.Item) bool {
		names[it.Key[strings.LastIndexByte(it.Key, 0)+1:]] = string(it.Value)
		return true
	})
	return names, err
}

// ListFlags lists a project's flags, by default newest first; archived flags
// are listed only with ListOptions.Archived.
func (s *Store) ListFlags(ctx context.Context, proj string, o ListOptions) (List[Flag], error) {
	var out List[Flag]
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getProject(r, proj, &Project{}); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		keys, total, err := flagIndex(proj).page(r, o, "-creationDate")
		if err != nil {
			return err
		}
		names, err := envNames(r, proj)
		if err != nil {
			return err
		}
		out = List[Flag]{Items: make([]Flag, len(keys)), TotalCount: total}
		for i, k := range keys {
			if _, err := getFlag(r, proj, k, &out.Items[i]); err != nil {
				return err
			}
			fillEnvNames(&out.Items[i], names)
		}
		return nil
	})
	return out, err
}

// UpdateFlag applies fn to a copy of the flag and stores the result if it is
// valid, moving the versions: _version rises on any change; an environment's
// version rises when its configuration changes, and every environment's
// when the variations, client-side availability or archive state change.
// Computed fields (key, _version, creationDate, versions) cannot be changed.
// A change that changes nothing writes nothing.
func (s *Store) UpdateFlag(ctx context.Context, proj, key string, fn func(*Flag) error) (Flag, error) {
	return s.modifyFlag(ctx, proj, key, func(_ *wtx, f *Flag) error { return fn(f) })
}

// errDeleteFlag, returned by a modifyFlag callback, deletes the flag instead
// (semantic patch's deleteFlag instruction).
var errDeleteFlag = errors.New("delete the flag")

// modifyFlag is UpdateFlag for callbacks that read inside the transaction.
func (s *Store) modifyFlag(ctx context.Context, proj, key string, fn func(*wtx, *Flag) error) (Flag, error) {
	var out Flag
	err := s.update(ctx, func(w *wtx) error {
		before, bit, err := peekFlagItem(&w.rtx, proj, key) // read only
		if err != nil {
			return err
		}
		after := cloneFlag(before)
		names, err := envNames(&w.rtx, proj)
		if err != nil {
			return err
		}
		fillEnvNames(&after, names)
		if err := fn(w, &after); err != nil {
			if errors.Is(err, errDeleteFlag) {
				out = cloneFlag(before)
				fillEnvNames(&out, names)
				return s.deleteFlagIn(w, proj, key)
			}
			return err
		}
		raw, ch, err := s.writeFlag(w, proj, before, &after, bit.Version)
		if err != nil {
			return err
		}
		if raw == nil {
			// Nothing changed, nothing to record; the result is still a
			// read of the flag.
			out = cloneFlag(before)
			fillEnvNames(&out, names)
			return s.authorizeView(w.ctx, &w.rtx, proj)
		}
		out = after
		fillEnvNames(&out, names)
		return s.recordFlag(w, proj, flagVerb(before, &out), &out, bit.Value, raw, flagAccesses(proj, before, &out, ch))
	})
	if err != nil {
		return Flag{}, err // a refused call shows nothing
	}
	return out, nil
}

// ArchiveFlag archives a flag: it leaves the default list and SDKs stop
// seeing it. A flag that other flags use as a prerequisite cannot be archived.
func (s *Store) ArchiveFlag(ctx context.Context, proj, key string) (Flag, error) {
	return s.UpdateFlag(ctx, proj, key, func(f *Flag) error { f.Archived = true; return nil })
}

// RestoreFlag brings an archived flag back.
func (s *Store) RestoreFlag(ctx context.Context, proj, key string) (Flag, error) {
	return s.UpdateFlag(ctx, proj, key, func(f *Flag) error { f.Archived = false; return nil })
}

// DeleteFlag deletes a flag. A flag that another flag uses as a prerequisite
// cannot be deleted (ErrConflict).
func (s *Store) DeleteFlag(ctx context.Context, proj, key string) error {
	return s.update(ctx, func(w *wtx) error { return s.deleteFlagIn(w, proj, key) })
}

// deleteFlagIn deletes a flag inside a write transaction.
func (s *Store) deleteFlagIn(w *wtx, proj, key string) error {
	var f Flag
	fit, err := getFlagItem(&w.rtx, proj, key, &f)
	if err != nil {
		return err
	}
	if err := refuseIfDependents(&w.rtx, proj, key, "deleted"); err != nil {
		return err
	}
	if err := w.del(flagKey(proj, key)); err != nil {
		return err
	}
	if err := buryFlag(w, proj, &f); err != nil {
		return err
	}
	if err := flagIndex(proj).reindex(w, flagEntry(&f), nil); err != nil {
		return err
	}
	if err := rewriteRefs(w, flagRefs(proj, &f), nil); err != nil {
		return err
	}
	return s.recordFlag(w, proj, "deleted", &f, fit.Value, nil, accessesOf(flagRes(proj, "*", key), "deleteFlag"))
}

// refuseIfDependents is a 409 when other flags use key as a prerequisite.
func refuseIfDependents(r *rtx, proj, key, verb string) error {
	deps, err := r.keysUnder(prereqPrefix(proj, key))
	if err != nil {
		return err
	}
	if len(deps) > 0 {
		return inUsef("Flag %q cannot be %s: it is a prerequisite of %s", key, verb, strings.Join(deps, ", "))
	}
	return nil
}

// eachFlagUpdate applies fn to every flag of a project and stores each with
// _version raised (used when environments come and go).
func eachFlagUpdate(w *wtx, proj string, fn func(*Flag)) error {
	var keys []string
	err := each(&w.rtx, flagPrefix(proj), func(k string, _ *struct{}) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		var f Flag
		ver, err := getFlag(&w.rtx, proj, k, &f)
		if err != nil {
			return err
		}
		oldRefs := flagRefs(proj, &f)
		fn(&f)
		f.Version++
		if err := w.put(flagKey(proj, k), &f, ver); err != nil {
			return err
		}
		if err := rewriteRefs(w, oldRefs, flagRefs(proj, &f)); err != nil {
			return err
		}
	}
	return nil
}

// writeFlag normalises, validates and stores a flag (before is nil for a new
// one; writeFlag only reads it), moving versions and keeping its index
// entries and references. It returns the stored document, or nil when
// after changes nothing, and for an update what changed. after is then the
// stored flag, a copy of the store's own, shaped as decoding the document
// gives: without environment names, which are not stored.
func (s *Store) writeFlag(w *wtx, proj string, before, after *Flag, ver uint64) ([]byte, *flagChange, error) {
	// Work on memory of our own: the caller's callback may have put its
	// own slices and values into after.
	*after = cloneFlag(after)
	for _, c := range after.Environments {
		if c != nil {
			c.EnvironmentName = "" // not stored: before has none either
		}
	}
	if err := s.normaliseFlag(after); err != nil {
		return nil, nil, err
	}
	var ch *flagChange
	if before != nil {
		if err := checkFlagReadOnly(before, after); err != nil {
			return nil, nil, err
		}
		if ch = s.moveFlagVersions(before, after); ch == nil {
			return nil, nil, nil
		}
	}
	if err := validateFlag(after); err != nil {
		return nil, nil, err
	}
	if err := s.checkFlagRefs(&w.rtx, proj, before, after); err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(after)
	if err != nil {
		return nil, nil, newError(ErrInvalid, "cannot encode flag: %v", err)
	}
	if err := w.w.Put(flagKey(proj, after.Key), raw, ver); err != nil {
		return nil, nil, err
	}
	// after is the caller-free copy normaliseFlag shaped like decoded JSON,
	// so a deep copy of it is what decoding raw would give; the cache takes
	// it once the transaction commits.
	c := cloneFlag(after)
	w.flagDocs = append(w.flagDocs, pendingDoc[Flag]{flagKey(proj, after.Key), raw, &c})
	var oldEntry *entryOf
	var oldRefs map[string]bool
	if before != nil {
		oldEntry, oldRefs = flagEntry(before), flagRefs(proj, before)
	}
	if err := flagIndex(proj).reindex(w, oldEntry, flagEntry(after)); err != nil {
		return nil, nil, err
	}
	if err := rewriteRefs(w, oldRefs, flagRefs(proj, after)); err != nil {
		return nil, nil, err
	}
	if before != nil {
		if err := s.reindexDependents(w, proj, before, after); err != nil {
			return nil, nil, err
		}
	}
	return raw, ch, nil
}

// recordFlag writes the audit entry of a flag change; before and after are
// the stored documents (nil for a create or a delete).
func (s *Store) recordFlag(w *wtx, proj, verb string, target *Flag, before, after []byte, accesses []Access) error {
	return s.recordFlagTitled(w, proj, verb, "", target, before, after, accesses)
}

// recordFlagTitled is recordFlag with words added to the entry's title.
func (s *Store) recordFlagTitled(w *wtx, proj, verb, titleExtra string, target *Flag, before, after []byte, accesses []Access) error {
	var pr Project
	if _, err := getProject(&w.rtx, proj, &pr); err != nil {
		return err
	}
	c := change{kind: "flag", verb: verb, name: target.Name, resource: flagRes(proj, "*", target.Key),
		parent: &AuditParent{Name: pr.Name, Resource: projRes(proj)}, accesses: accesses, titleExtra: titleExtra,
		self: &resource.Part{Type: resource.TypeFlag, Name: target.Key, Tags: target.Tags}}
	if before != nil {
		c.before = json.RawMessage(before)
	}
	if after != nil {
		c.after = json.RawMessage(after)
	}
	return s.record(w, c)
}

// flagVerb says in a title what an update did.
func flagVerb(before, after *Flag) string {
	switch {
	case !before.Archived && after.Archived:
		return "archived"
	case before.Archived && !after.Archived:
		return "restored"
	}
	return "updated"
}
