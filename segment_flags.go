package flagstore

import (
	"context"
	"errors"
	"strings"
)

// SegmentUsers lists what uses a segment: the keys of the flags whose rules
// in the segment's environment match it, and the keys of the segments of
// that environment whose rules match it, each in key order. These are what
// keep [Store.DeleteSegment] from deleting it. An unknown project,
// environment or segment is ErrNotFound.
func (s *Store) SegmentUsers(ctx context.Context, proj, env, key string) (flags, segments []string, err error) {
	err = s.view(ctx, func(r *rtx) error {
		if _, err := getSegment(r, proj, env, key, &Segment{}); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		flags, segments, err = segmentUsers(r, proj, env, key)
		return err
	})
	return flags, segments, err
}

// segmentUsers reads a segment's reference keys.
func segmentUsers(r *rtx, proj, env, key string) (flags, segments []string, err error) {
	users, err := r.keysUnder(segUsePrefix(proj, env, key))
	if err != nil {
		return nil, nil, err
	}
	flags, segments = []string{}, []string{}
	for _, u := range users {
		switch kind, k, _ := strings.Cut(u, ":"); kind {
		case "f":
			flags = append(flags, k)
		case "s":
			segments = append(segments, k)
		}
	}
	return flags, segments, nil
}

// segmentFlagRef names one flag that uses a segment.
type segmentFlagRef struct {
	Key  string
	Name string
}

// segmentWithFlags reads a segment and the flags that use it, in one
// transaction (what getSegment's _flags shows).
func (s *Store) segmentWithFlags(ctx context.Context, proj, env, key string) (Segment, []segmentFlagRef, error) {
	var seg Segment
	var refs []segmentFlagRef
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getSegment(r, proj, env, key, &seg); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		flags, _, err := segmentUsers(r, proj, env, key)
		if err != nil {
			return err
		}
		refs = make([]segmentFlagRef, 0, len(flags))
		for _, fk := range flags {
			var f Flag
			if _, err := getFlag(r, proj, fk, &f); err != nil {
				if errors.Is(err, ErrNotFound) {
					continue // a stale reference; the flag is gone
				}
				return err
			}
			refs = append(refs, segmentFlagRef{Key: f.Key, Name: f.Name})
		}
		return nil
	})
	if err != nil {
		return Segment{}, nil, err // a refused call shows nothing
	}
	return seg, refs, nil
}
