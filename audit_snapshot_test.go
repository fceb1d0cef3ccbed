package flagstore

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"errors"
	"testing"
)

// Snapshots decode from both stored forms: S2 (written now) and the raw
// deflate streams that earlier stores wrote; anything else is corrupt.
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
	for _, tc := range []struct {
		name   string
		stored []byte
		ok     bool
	}{
		{"s2", appendEncoded(nil, snap), true},
		{"deflate", deflated.Bytes(), true},
		{"truncated s2", appendEncoded(nil, snap)[:4], false},
		{"not compressed", snap, false},
		{"empty", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e AuditEntry
			err := decodeSnapshots(tc.stored, &e)
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
}
