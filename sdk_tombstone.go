package flagstore

import (
	"errors"

	"github.com/flagstore/flagstore/store"
)

// Tombstones keep the SDK version of a deleted flag or segment, so that one
// created again with the same key starts above it: an SDK ignores an item
// whose version is not above the one it holds, and it holds the deletion.
//
//	vt/f/{proj}/{flag}         flag: {env: version of its deletion}
//	vt/s/{proj}/{env}/{seg}    segment: version of its deletion

func flagTombKey(proj, flag string) string    { return "vt/f/" + proj + sep + flag }
func segTombKey(proj, env, seg string) string { return segTombPrefix(proj, env) + seg }
func segTombPrefix(proj, env string) string   { return "vt/s/" + proj + sep + env + sep }
func projectTombPrefixes(proj string) []string {
	return []string{"vt/f/" + proj + sep, "vt/s/" + proj + sep}
}

// buryFlag records the versions at which f's deletion reaches SDKs: one
// above each environment's current version.
func buryFlag(w *wtx, proj string, f *Flag) error {
	vs := make(map[string]int, len(f.Environments))
	for env, c := range f.Environments {
		vs[env] = c.Version + 1
	}
	return w.put(flagTombKey(proj, f.Key), vs, store.Any)
}

// raiseFromFlagTomb starts a recreated flag's environment versions above
// its tombstone and removes the tombstone.
func raiseFromFlagTomb(w *wtx, proj string, f *Flag) error {
	var vs map[string]int
	if _, err := w.get(flagTombKey(proj, f.Key), &vs); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	for env, c := range f.Environments {
		if v, ok := vs[env]; ok && c.Version <= v {
			c.Version = v + 1
		}
	}
	return w.del(flagTombKey(proj, f.Key))
}

// burySegment records the version at which sg's deletion reaches SDKs.
func burySegment(w *wtx, proj, env string, sg *Segment) error {
	return w.put(segTombKey(proj, env, sg.Key), sg.Version+1, store.Any)
}

// raiseFromSegmentTomb starts a recreated segment above its tombstone.
func raiseFromSegmentTomb(w *wtx, proj, env string, sg *Segment) error {
	var v int
	if _, err := w.get(segTombKey(proj, env, sg.Key), &v); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if sg.Version <= v {
		sg.Version = v + 1
	}
	return w.del(segTombKey(proj, env, sg.Key))
}
