package flagstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
)

// Most audit entries record a small change to a document that the
// previous entry about the same resource recorded in full. Storing both
// versions again would put a second copy of the document into every
// fsynced commit, so such an entry is chained instead: after its JSON it
// stores a reference to that previous entry, whose current version is this
// entry's previous version, and the delta from it to its current version
// (delta.go). Reading it follows the chain back to an entry stored whole;
// one is written at least every maxChain+1 entries, so reads stay short.
//
// The store remembers, per resource, the last entry it wrote and that
// entry's current version (Store.tails). An entry is chained only when the
// document's bytes before the change equal that version exactly, so a
// change the audit log did not see (a dependent flag rewritten, an
// environment added), a rolled-back write, another Store on the same
// backend or a restart only means the next entry is stored whole. Load,
// which replaces every key, makes the store forget them all.
//
// The chained form: snapChained, then uvarints for the depth (chained
// entries since a whole one, counting this one) and the length of the
// previous entry's key, the key, and the delta.
const snapChained = 0xfe

// maxChain bounds the chained entries that follow an entry stored whole.
const maxChain = 16

// auditTailsSize bounds how many resources the store remembers (with each
// one's document, which the flag cache usually holds as well).
const auditTailsSize = 10_000

// auditTail is the last entry the store wrote about a resource.
type auditTail struct {
	key   string // its a/ key
	cur   []byte // its current version, as stored; never changed
	depth int    // chained entries since one stored whole (0: it was)
}

// pendingTail is a tail to remember once its transaction commits.
type pendingTail struct {
	res  string
	tail auditTail
}

// appendEntrySnapshots appends the snapshots of an entry about res, to be
// stored at key, to buf: chained to the resource's last entry when the
// store remembers it and before is that entry's current version, else
// whole. It queues the entry as the resource's new tail in w.
func (s *Store) appendEntrySnapshots(buf []byte, w *wtx, res, key string, before, after any) ([]byte, error) {
	cur, ok := after.(json.RawMessage)
	if !ok {
		return appendSnapshots(buf, before, after) // not a stored document
	}
	prev, _ := before.(json.RawMessage)
	if tail, ok := s.tails.get(res); ok && prev != nil && tail.depth < maxChain && bytes.Equal(tail.cur, prev) {
		w.tails = append(w.tails, pendingTail{res, auditTail{key: key, cur: cur, depth: tail.depth + 1}})
		return appendChained(buf, tail.depth+1, tail.key, prev, cur), nil
	}
	w.tails = append(w.tails, pendingTail{res, auditTail{key: key, cur: cur}})
	return appendSnapshots(buf, before, after)
}

// appendChained appends the chained form of the change from prev to cur.
func appendChained(buf []byte, depth int, prevKey string, prev, cur []byte) []byte {
	buf = append(buf, snapChained)
	buf = binary.AppendUvarint(buf, uint64(depth))
	buf = binary.AppendUvarint(buf, uint64(len(prevKey)))
	buf = append(buf, prevKey...)
	return appendDelta(buf, prev, cur)
}

// chained is a parsed chained form.
type chained struct {
	depth   int
	prevKey string
	delta   []byte
}

func parseChained(b []byte) (chained, bool) {
	if len(b) == 0 || b[0] != snapChained {
		return chained{}, false
	}
	b = b[1:]
	depth, n := binary.Uvarint(b)
	if n <= 0 || depth < 1 || depth > maxChain {
		return chained{}, false
	}
	b = b[n:]
	keyLen, n := binary.Uvarint(b)
	if n <= 0 || keyLen > uint64(len(b)-n) {
		return chained{}, false
	}
	b = b[n:]
	return chained{depth: int(depth), prevKey: string(b[:keyLen]), delta: b[keyLen:]}, true
}

// chainedVersions fills e's versions from the chained form c, reading the
// entries it refers to through r.
func chainedVersions(r *rtx, c chained, e *AuditEntry) error {
	corrupt := func() error { return newError(ErrInternal, "corrupt audit chain at %s", c.prevKey) }
	it, err := r.tx.Get(c.prevKey)
	if err != nil {
		return corrupt()
	}
	// Depths fall by one down the chain to a whole entry, so reading ends.
	_, snap := splitEntry(it.Value)
	if pc, ok := parseChained(snap); (ok && pc.depth != c.depth-1) || (!ok && c.depth != 1) {
		return corrupt()
	}
	var prev AuditEntry
	if joined, err := entrySnapshots(r, it.Value, &prev); err != nil {
		return err
	} else if !joined || prev.CurrentVersion == nil {
		return corrupt()
	}
	after, ok := applyDelta(prev.CurrentVersion, c.delta)
	if !ok {
		return corrupt()
	}
	e.PreviousVersion, e.CurrentVersion = prev.CurrentVersion, after
	return nil
}
