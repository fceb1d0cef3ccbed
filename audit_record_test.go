package flagstore

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/flagstore/flagstore/store"
)

// An entry is one value, its JSON and then its snapshots; a patch's own
// line breaks are not kept, so the first newline ends the JSON.
func TestAuditRecord_OneValue(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	fxCreate(t, st, "f", fxPost("f"))
	ops := json.RawMessage("[\n  {\"op\": \"replace\", \"path\": \"/description\", \"value\": \"two\\nlines\"}\n]")
	if _, err := st.PatchFlag(ctx, fxProj, "f", Patch{Kind: JSONPatch, Ops: ops}); err != nil {
		t.Fatal(err)
	}
	list, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	e, err := st.GetAuditEntry(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	_ = json.Compact(&compact, ops)
	if !bytes.Equal(e.Delta, compact.Bytes()) {
		t.Fatalf("delta %s, want %s", e.Delta, compact.Bytes())
	}
	var cur Flag
	if err := json.Unmarshal(e.CurrentVersion, &cur); err != nil || cur.Description != "two\nlines" {
		t.Fatalf("current version %s: %v", e.CurrentVersion, err)
	}
	if keys := tstRawKeys(t, st, auditSnapPrefix); len(keys) != 0 {
		t.Fatalf("snapshots stored apart from their entries: %q", keys)
	}
}

// An entry an earlier store wrote, its JSON alone at a/ (with empty title
// fields) and its snapshots deflated at as/{id}, reads as it did, listed
// and whole.
func TestAuditRecord_EarlierLayoutReads(t *testing.T) {
	t.Parallel()
	st, list := fxUpdatedFlag(t)
	ctx := t.Context()
	want, err := st.GetAuditEntry(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}

	old := want
	old.Title, old.Description, old.ShortDescription = "", "", ""
	old.PreviousVersion, old.CurrentVersion = nil, nil
	entry, _ := json.Marshal(&old)
	snap, _ := appendSnapshots(nil, want.PreviousVersion, want.CurrentVersion)
	var deflated bytes.Buffer
	w, _ := flate.NewWriter(&deflated, flate.BestSpeed)
	_, _ = w.Write(snap)
	_ = w.Close()
	err = st.db.Update(context.Background(), func(tx store.WriteTx) error {
		key, err := tx.Get(auditIDPrefix + want.ID)
		if err != nil {
			return err
		}
		if err := tx.Put(string(key.Value), entry, store.Any); err != nil {
			return err
		}
		return tx.Put(auditSnapPrefix+want.ID, deflated.Bytes(), store.Absent)
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(entry), "\n") {
		t.Fatal("the earlier layout's JSON holds a newline")
	}

	got, err := st.GetAuditEntry(ctx, want.ID)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%+v, %v\nwant\n%+v", got, err, want)
	}
	relisted, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil || len(relisted) != 1 || !reflect.DeepEqual(relisted[0], list[0]) {
		t.Fatalf("listed\n%+v, %v\nwant\n%+v", relisted, err, list[0])
	}
}

// fxUpdatedFlag opens a store with flag f created and then updated, and
// returns it with the update's entry, as listed.
func fxUpdatedFlag(t *testing.T) (*Store, []AuditEntry) {
	t.Helper()
	st, _ := fxSetup(t)
	fxCreate(t, st, "f", fxPost("f"))
	fxUpdate(t, st, "f", func(f *Flag) { f.Environments["test"].On = true })
	list, err := st.ListAuditLog(t.Context(), AuditListOptions{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	return st, list
}
