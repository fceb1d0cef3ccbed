package flagstore

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"testing"

	"github.com/klauspost/compress/s2"
)

// Snapshots decode from every form stores have written: raw JSON after an
// entry's JSON (now), an S2 block there or at as/{id}, and a raw deflate
// stream at as/{id}; anything else is corrupt.
func TestAuditSnapshot_StoredForms(t *testing.T) {
	t.Parallel()
	snap, err := appendSnapshots(nil, json.RawMessage(`{"v":1}`), json.RawMessage(`{"v":2}`))
	if err != nil {
		t.Fatal(err)
	}
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.BestSpeed)
	_, _ = w.Write(snap)
	_ = w.Close()
	if deflated.Bytes()[0] == snapS2 {
		t.Fatal("a deflate stream starts with the S2 marker")
	}
	s2form := append([]byte{snapS2}, s2.Encode(nil, snap)...)
	entry := []byte(`{"_id":"e"}` + "\n")
	for _, tc := range []struct {
		name   string
		joined bool // after the entry's JSON, else at as/{id}
		stored []byte
		ok     bool
	}{
		{"joined JSON", true, snap, true},
		{"joined s2", true, s2form, true},
		{"apart s2", false, s2form, true},
		{"apart deflate", false, deflated.Bytes(), true},
		{"truncated s2", false, s2form[:4], false},
		{"joined truncated JSON", true, snap[:5], false},
		{"apart JSON", false, snap, false},
		{"empty", false, nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e AuditEntry
			var err error
			if tc.joined {
				var ok bool
				ok, err = entrySnapshots(nil, append(entry, tc.stored...), &e)
				if !ok {
					t.Fatal("snapshots after the entry were not found")
				}
			} else {
				err = decodeSnapshots(tc.stored, &e)
			}
			if !tc.ok {
				if !errors.Is(err, ErrInternal) {
					t.Fatalf("want an internal error, got %v", err)
				}
				return
			}
			if err != nil || string(e.PreviousVersion) != `{"v":1}` || string(e.CurrentVersion) != `{"v":2}` {
				t.Fatalf("got %s, %s, %v", e.PreviousVersion, e.CurrentVersion, err)
			}
		})
	}
	if ok, err := entrySnapshots(nil, []byte(`{"_id":"e"}`), &AuditEntry{}); ok || err != nil {
		t.Fatalf("an entry without snapshots: %v, %v", ok, err)
	}
}
