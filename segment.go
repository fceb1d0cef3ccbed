package flagstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/internal/resource"
)

func segIndex(proj, env string) index { return index{coll: "s", scope: proj + sep + env} }

func segEntry(s *Segment) *entryOf {
	return &entryOf{key: s.Key, name: s.Name, created: s.CreationDate, tags: s.Tags}
}

// CreateSegment creates an empty segment in one environment of a project.
func (s *Store) CreateSegment(ctx context.Context, proj, env string, p SegmentPost) (Segment, error) {
	now := s.nowMillis()
	seg := Segment{
		Key:                  p.Key,
		Name:                 p.Name,
		Description:          p.Description,
		Tags:                 nonNil(slices.Clone(p.Tags)),
		CreationDate:         now,
		LastModifiedDate:     now,
		Included:             []string{},
		Excluded:             []string{},
		Rules:                []SegmentRule{},
		Version:              1,
		Unbounded:            p.Unbounded,
		UnboundedContextKind: p.UnboundedContextKind,
	}
	if err := validateSegment(&seg); err != nil {
		return Segment{}, err
	}
	err := s.update(ctx, func(w *wtx) error {
		if _, err := getEnv(&w.rtx, proj, env, &envDoc{}); err != nil {
			return err
		}
		if ok, err := w.exists(segKey(proj, env, p.Key)); err != nil || ok {
			if ok {
				return existsf("A segment with key %q already exists in environment %q", p.Key, env)
			}
			return err
		}
		if err := raiseFromSegmentTomb(w, proj, env, &seg); err != nil {
			return err
		}
		if err := w.put(segKey(proj, env, p.Key), &seg, 0); err != nil {
			return err
		}
		if err := segIndex(proj, env).reindex(w, nil, segEntry(&seg)); err != nil {
			return err
		}
		return s.recordSegment(w, proj, env, "created", nil, &seg, "createSegment")
	})
	if err != nil {
		return Segment{}, err
	}
	return seg, nil
}

// GetSegment returns one segment of an environment.
func (s *Store) GetSegment(ctx context.Context, proj, env, key string) (Segment, error) {
	var seg Segment
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getSegment(r, proj, env, key, &seg); err != nil {
			return err
		}
		return s.authorizeView(ctx, r, proj)
	})
	if err != nil {
		return Segment{}, err // a refused call shows nothing
	}
	return seg, nil
}

func getSegment(r *rtx, proj, env, key string, seg *Segment) (uint64, error) {
	v, err := r.get(segKey(proj, env, key), seg)
	if err != nil {
		if _, eerr := getEnv(r, proj, env, &envDoc{}); eerr != nil {
			return 0, eerr
		}
		return 0, notFoundOr(err, "Unknown segment %q in environment %q", key, env)
	}
	return v, nil
}

// ListSegments lists an environment's segments, by default newest first.
func (s *Store) ListSegments(ctx context.Context, proj, env string, o ListOptions) (List[Segment], error) {
	var out List[Segment]
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getEnv(r, proj, env, &envDoc{}); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		keys, total, err := segIndex(proj, env).page(r, o, "-creationDate")
		if err != nil {
			return err
		}
		out = List[Segment]{Items: make([]Segment, len(keys)), TotalCount: total}
		for i, k := range keys {
			if _, err := getSegment(r, proj, env, k, &out.Items[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// UpdateSegment applies fn to a copy of the segment and stores the result if
// it is valid; version rises by one and lastModifiedDate moves. Key,
// version, dates, deleted and generation are read-only.
func (s *Store) UpdateSegment(ctx context.Context, proj, env, key string, fn func(*Segment) error) (Segment, error) {
	var out Segment
	err := s.update(ctx, func(w *wtx) error {
		var before Segment
		ver, err := getSegment(&w.rtx, proj, env, key, &before)
		if err != nil {
			return err
		}
		after := cloneSegment(&before)
		if err := fn(&after); err != nil {
			return err
		}
		switch {
		case after.Key != before.Key:
			return invalidf("key", "a segment's key cannot change")
		case after.Version != before.Version:
			return invalidf("version", "version is read-only")
		case after.CreationDate != before.CreationDate:
			return invalidf("creationDate", "creationDate is read-only")
		case after.Deleted != before.Deleted:
			return invalidf("deleted", "deleted is read-only")
		case after.Generation != before.Generation:
			return invalidf("generation", "generation is read-only")
		case after.Unbounded != before.Unbounded:
			return invalidf("unbounded", "a segment cannot change between big and regular")
		case after.UnboundedContextKind != before.UnboundedContextKind:
			return invalidf("unboundedContextKind", "unboundedContextKind is read-only")
		}
		after.LastModifiedDate = before.LastModifiedDate
		s.normaliseSegment(&after)
		if jsonEqual(&before, &after) {
			out = before
			return s.authorizeView(w.ctx, &w.rtx, proj) // the result is a read
		}
		if err := validateSegment(&after); err != nil {
			return err
		}
		if err := checkSegmentRefs(&w.rtx, proj, env, &after); err != nil {
			return err
		}
		after.Version++
		after.LastModifiedDate = s.nowMillis()
		if err := w.put(segKey(proj, env, key), &after, ver); err != nil {
			return err
		}
		if err := segIndex(proj, env).reindex(w, segEntry(&before), segEntry(&after)); err != nil {
			return err
		}
		out = after
		if err := rewriteRefs(w, segmentRefs(proj, env, &before), segmentRefs(proj, env, &after)); err != nil {
			return err
		}
		return s.recordSegment(w, proj, env, "updated", &before, &after, changedActions(segmentFieldActions, &before, &after)...)
	})
	if err != nil {
		return Segment{}, err // a refused call shows nothing
	}
	return out, nil
}

// normaliseSegment gives rules and clauses IDs and fills empty lists.
func (s *Store) normaliseSegment(seg *Segment) {
	seg.Tags = nonNil(seg.Tags)
	seg.Included, seg.Excluded = nonNil(seg.Included), nonNil(seg.Excluded)
	seg.Rules = nonNil(seg.Rules)
	for i := range seg.Rules {
		r := &seg.Rules[i]
		if r.ID == "" {
			r.ID = s.newUUID()
		}
		r.Clauses = nonNil(r.Clauses)
		s.normaliseClauses(r.Clauses)
	}
}

// checkSegmentRefs checks that the segments a segment's rules match exist in
// the same environment and that segment references form no cycle.
func checkSegmentRefs(r *rtx, proj, env string, seg *Segment) error {
	load := func(key string) (*Segment, error) {
		if key == seg.Key {
			return seg, nil
		}
		var o Segment
		if _, err := r.get(segKey(proj, env, key), &o); err != nil {
			return nil, nil
		}
		return &o, nil
	}
	for i, rule := range seg.Rules {
		for _, other := range segmentMatches(rule.Clauses) {
			o, err := load(other)
			if err != nil {
				return err
			}
			if o == nil {
				return invalidf(fmt.Sprintf("rules[%d].clauses", i), "segment %q does not exist in environment %q", other, env)
			}
		}
	}
	// Depth-first search for a path back to seg.
	seen := map[string]bool{}
	var walk func(key string, path []string) (string, error)
	walk = func(key string, path []string) (string, error) {
		o, err := load(key)
		if err != nil || o == nil {
			return "", err
		}
		for _, rule := range o.Rules {
			for _, next := range segmentMatches(rule.Clauses) {
				if next == seg.Key {
					return strings.Join(append(path, next), " -> "), nil
				}
				if seen[next] {
					continue
				}
				seen[next] = true
				if cyc, err := walk(next, append(path, next)); err != nil || cyc != "" {
					return cyc, err
				}
			}
		}
		return "", nil
	}
	cyc, err := walk(seg.Key, []string{seg.Key})
	if err != nil {
		return err
	}
	if cyc != "" {
		return invalidf("rules", "segment references form a cycle: %s", cyc)
	}
	return nil
}

// segmentRefs lists the reference keys a segment owns: one per segment its
// rules match.
func segmentRefs(proj, env string, seg *Segment) map[string]bool {
	refs := map[string]bool{}
	for _, r := range seg.Rules {
		for _, other := range segmentMatches(r.Clauses) {
			refs[segUsePrefix(proj, env, other)+"s:"+seg.Key] = true
		}
	}
	return refs
}

// DeleteSegment deletes a segment. A segment that a flag rule or another
// segment uses cannot be deleted (ErrConflict).
func (s *Store) DeleteSegment(ctx context.Context, proj, env, key string) error {
	return s.update(ctx, func(w *wtx) error {
		var seg Segment
		if _, err := getSegment(&w.rtx, proj, env, key, &seg); err != nil {
			return err
		}
		// Permission first: a caller that may not delete the segment gets
		// a 403, not the in-use 409 that would describe its users.
		if err := s.authorize(w.ctx, &w.rtx, accessesOf(segmentRes(proj, env, key), "deleteSegment"), nil); err != nil {
			return err
		}
		users, err := w.keysUnder(segUsePrefix(proj, env, key))
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return inUsef("Segment %q cannot be deleted: it is used by %s", key, describeUsers(users))
		}
		if err := w.del(segKey(proj, env, key)); err != nil {
			return err
		}
		if err := burySegment(w, proj, env, &seg); err != nil {
			return err
		}
		if err := segIndex(proj, env).reindex(w, segEntry(&seg), nil); err != nil {
			return err
		}
		if err := rewriteRefs(w, segmentRefs(proj, env, &seg), nil); err != nil {
			return err
		}
		return s.recordSegment(w, proj, env, "deleted", &seg, nil, "deleteSegment")
	})
}

// describeUsers turns "f:key" and "s:key" reference suffixes into prose.
func describeUsers(users []string) string {
	out := make([]string, len(users))
	for i, u := range users {
		kind, key, _ := strings.Cut(u, ":")
		if kind == "f" {
			out[i] = "flag " + key
		} else {
			out[i] = "segment " + key
		}
	}
	return strings.Join(out, ", ")
}

// recordSegment writes the audit entry of a segment change; before or after
// is nil for a create or a delete.
func (s *Store) recordSegment(w *wtx, proj, env, verb string, before, after *Segment, actions ...string) error {
	var d envDoc
	if _, err := getEnv(&w.rtx, proj, env, &d); err != nil {
		return err
	}
	target := before
	if after != nil {
		target = after
	}
	res := segmentRes(proj, env, target.Key)
	c := change{kind: "segment", verb: verb, name: target.Name, resource: res,
		parent: &AuditParent{Name: d.Name, Resource: envRes(proj, env)}, accesses: accessesOf(res, actions...),
		self: &resource.Part{Type: resource.TypeSegment, Name: target.Key, Tags: target.Tags}}
	if before != nil {
		c.before = before
	}
	if after != nil {
		c.after = after
	}
	return s.record(w, c)
}
