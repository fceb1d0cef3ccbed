package flagstore

import (
	"bytes"
	"encoding/json"

	"github.com/flagstore/flagstore/store"
)

// An audit entry is stored as one value at a/{date}/{seq}: the JSON of its
// auditRecord, a newline, and its snapshots (audit_snapshot.go). json's
// encoder never writes a raw newline inside a document, so the first one
// ends the entry's JSON. Listings decode that part alone; the detailed
// form also decodes the snapshots. Entries written before the two were
// joined hold JSON only, with their snapshots at as/{id}.

// auditRecord is the stored form of an AuditEntry: the same fields, less
// the titles and descriptions, which are derived on reading (fillTitles),
// and the snapshots, which follow the JSON; empty optional fields are left
// out. The conversion between the two types is free, and fails to compile
// if their fields part.
type auditRecord struct {
	ID               string          `json:"_id"`
	AccountID        string          `json:"_accountId,omitempty"`
	Date             int64           `json:"date"`
	Accesses         []Access        `json:"accesses"`
	Kind             string          `json:"kind"`
	Name             string          `json:"name"`
	Description      string          `json:"-"`
	ShortDescription string          `json:"-"`
	Comment          string          `json:"comment,omitempty"`
	Member           *AuditMember    `json:"member,omitempty"`
	Token            *AuditToken     `json:"token,omitempty"`
	TitleVerb        string          `json:"titleVerb"`
	Title            string          `json:"-"`
	Target           AuditTarget     `json:"target"`
	Parent           *AuditParent    `json:"parent,omitempty"`
	Delta            json.RawMessage `json:"delta,omitempty"`
	Merge            json.RawMessage `json:"merge,omitempty"`
	PreviousVersion  json.RawMessage `json:"-"`
	CurrentVersion   json.RawMessage `json:"-"`
}

// maxEntriesPerTx bounds the entries one transaction records, so that
// auditSeq stays unique.
const maxEntriesPerTx = 1 << 20

// auditSeq orders the entries of one millisecond in commit order: the
// revision the transaction commits as, then the entry's place in it.
func auditSeq(w *wtx) (uint64, error) {
	if len(w.entries) >= maxEntriesPerTx {
		return 0, newError(ErrInternal, "audit: more than %d entries in one transaction", maxEntriesPerTx)
	}
	return (w.tx.Revision()+1)*maxEntriesPerTx + uint64(len(w.entries)), nil
}

// putEntry writes e, an entry about the resource res, at key, with before
// and after as its snapshots. Its scratch buffer comes from a pool of the
// store's: Put copies the value.
func (s *Store) putEntry(w *wtx, key string, e *AuditEntry, res string, before, after any) error {
	buf, _ := s.entryBufs.Get().(*[]byte)
	if buf == nil {
		buf = new([]byte)
	}
	defer s.entryBufs.Put(buf)
	val := bytes.NewBuffer((*buf)[:0])
	if err := json.NewEncoder(val).Encode((*auditRecord)(e)); err != nil { // ends in '\n'
		return newError(ErrInternal, "audit: %v", err)
	}
	v, err := s.appendEntrySnapshots(val.Bytes(), w, res, key, before, after)
	if err != nil {
		return err
	}
	*buf = v
	return w.w.Put(key, v, store.Absent)
}

// splitEntry parts a stored entry into its JSON and its snapshots (nil for
// an entry whose snapshots are at as/{id}).
func splitEntry(v []byte) (js, snap []byte) {
	if i := bytes.IndexByte(v, '\n'); i >= 0 {
		return v[:i], v[i+1:]
	}
	return v, nil
}

// decodeEntry decodes the JSON of a stored entry into e: the summary form,
// without titles and snapshots.
func decodeEntry(v []byte, e *AuditEntry) error {
	js, _ := splitEntry(v)
	return json.Unmarshal(js, (*auditRecord)(e))
}

// entrySnapshots fills e's versions from the stored entry v, following a
// chain through r (audit_chain.go); it reports false, changing nothing,
// for an entry whose snapshots are at as/{id}.
func entrySnapshots(r *rtx, v []byte, e *AuditEntry) (bool, error) {
	_, snap := splitEntry(v)
	if snap == nil {
		return false, nil
	}
	switch {
	case len(snap) > 0 && snap[0] == snapChained:
		c, ok := parseChained(snap)
		if !ok {
			return true, newError(ErrInternal, "corrupt audit chain")
		}
		return true, chainedVersions(r, c, e)
	case len(snap) > 0 && snap[0] == '{':
		if err := json.Unmarshal(snap, e); err != nil {
			return true, newError(ErrInternal, "corrupt audit snapshot: %v", err)
		}
		return true, nil
	}
	return true, decodeSnapshots(snap, e)
}
