package flagstore

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/flagstore/flagstore/store"
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

// An entry whose snapshots an earlier store deflated reads as it did.
func TestAuditSnapshot_DeflatedEntryReads(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	fxCreate(t, st, "f", fxPost("f"))
	fxUpdate(t, st, "f", func(f *Flag) { f.Environments["test"].On = true })
	list, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	want, err := st.GetAuditEntry(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	snap, _ := appendSnapshots(nil, want.PreviousVersion, want.CurrentVersion)
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.BestSpeed)
	_, _ = w.Write(snap)
	_ = w.Close()
	err = st.db.Update(context.Background(), func(tx store.WriteTx) error {
		return tx.Put(auditSnapPrefix+want.ID, deflated.Bytes(), store.Any)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetAuditEntry(ctx, want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.PreviousVersion, want.PreviousVersion) || !bytes.Equal(got.CurrentVersion, want.CurrentVersion) {
		t.Fatalf("deflated snapshots read back as\n%s\n%s", got.PreviousVersion, got.CurrentVersion)
	}
}
