package flagstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"

	"github.com/flagstore/flagstore/store"
)

// storedFlag is the stored document of a flag of fxProj.
func storedFlag(t *testing.T, st *Store, key string) []byte {
	t.Helper()
	var v []byte
	err := st.db.View(context.Background(), func(tx store.ReadTx) error {
		it, err := tx.Get(flagKey(fxProj, key))
		v = it.Value
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// snapForm is the form of an entry's stored snapshots: 'c' chained, 'w'
// whole.
func snapForm(t *testing.T, st *Store, id string) byte {
	t.Helper()
	var form byte
	err := st.db.View(context.Background(), func(tx store.ReadTx) error {
		key, err := tx.Get(auditIDPrefix + id)
		if err != nil {
			return err
		}
		it, err := tx.Get(string(key.Value))
		if err != nil {
			return err
		}
		form = 'w'
		if _, snap := splitEntry(it.Value); len(snap) > 0 && snap[0] == snapChained {
			form = 'c'
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return form
}

// change is one recorded flag change and the stored documents around it.
type chainStep struct {
	id        string
	prev, cur []byte
}

// Entries about a flag chain to the one before whenever the flag's stored
// document is what that one recorded, with an entry stored whole at least
// every maxChain+1; every entry reads back the exact documents, chained or
// not, after a reopen too.
func TestAuditChain_ReadsBackExactly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	st, err := Open(path, WithSync(store.SyncNever))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: fxProj, Name: "Project"}); err != nil {
		t.Fatal(err)
	}
	fxCreate(t, st, "dep", fxPost("dep"))
	fxCreate(t, st, "f", FlagPost{Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})

	var steps []chainStep
	var forms []byte
	record := func(key string, write func() error) {
		t.Helper()
		prev := storedFlag(t, st, key)
		if err := write(); err != nil {
			t.Fatal(err)
		}
		list, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		steps = append(steps, chainStep{list[0].ID, prev, storedFlag(t, st, key)})
		forms = append(forms, snapForm(t, st, list[0].ID))
	}
	update := func(key string, fn func(*Flag)) {
		record(key, func() error {
			_, err := st.UpdateFlag(ctx, fxProj, key, func(f *Flag) error { fn(f); return nil })
			return err
		})
	}
	for i := range 2*maxChain + 3 { // a long run of one flag's toggles
		update("f", func(f *Flag) { f.Environments["production"].On = i%2 == 0 })
	}
	update("f", func(f *Flag) { f.Description = "at the start and the end" }) // wide change
	update("dep", func(f *Flag) { f.Name = "interleaved" })
	update("f", func(f *Flag) { f.Environments["test"].Rules = []Rule{fxRule(2, "@x")} })
	// Refused, dry and no-op writes record nothing and break nothing.
	if _, err := st.UpdateFlag(WithDryRun(ctx), fxProj, "f", func(f *Flag) error { f.Name = "dry"; return nil }); err != nil {
		t.Fatal(err)
	}
	_, _ = st.UpdateFlag(ctx, fxProj, "f", func(f *Flag) error { f.Environments["test"].OffVariation = intPtr(7); return nil })
	update("f", func(f *Flag) { f.Environments["test"].On = true })
	// A change the audit log does not record as the flag's own: moving
	// dep's variations rewrites f, which uses it as a prerequisite.
	update("f", func(f *Flag) { f.Environments["test"].Prerequisites = []Prerequisite{{Key: "dep", Variation: 1}} })
	update("dep", func(f *Flag) { f.Variations[0], f.Variations[1] = f.Variations[1], f.Variations[0] })
	update("f", func(f *Flag) { f.Environments["test"].On = false }) // f changed unseen: stored whole
	// A new environment adds a configuration to every flag, unseen too.
	if _, err := st.CreateEnvironment(ctx, fxProj, EnvironmentPost{Key: "staging", Name: "Staging", Color: "00ff00"}); err != nil {
		t.Fatal(err)
	}
	update("f", func(f *Flag) { f.Environments["staging"].On = true })
	update("f", func(f *Flag) { f.Environments["staging"].On = false })

	// The toggles chain to the create's entry, 16 deep, then one whole; the
	// other writes chain until f is changed unseen: by dep's variations,
	// then by the new environment.
	want := "cccccccccccccccc" + "w" + "cccccccccccccccc" + "w" + "c" + "cccccc" + "w" + "w" + "c"
	if string(forms) != want {
		t.Errorf("stored forms\n%s, want\n%s", forms, want)
	}
	check := func(when string) {
		t.Helper()
		for i, s := range steps {
			e, err := st.GetAuditEntry(ctx, s.id)
			if err != nil {
				t.Fatalf("%s: entry %d: %v", when, i, err)
			}
			if !bytes.Equal(e.PreviousVersion, s.prev) || !bytes.Equal(e.CurrentVersion, s.cur) {
				t.Fatalf("%s: entry %d (%c) reads\n%s\n%s\nwant\n%s\n%s", when, i, forms[i], e.PreviousVersion, e.CurrentVersion, s.prev, s.cur)
			}
		}
	}
	check("open")
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if st, err = Open(path, WithSync(store.SyncNever)); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check("reopened")
	update("f", func(f *Flag) { f.Name = "after a restart" }) // the store forgot: whole
	update("f", func(f *Flag) { f.Name = "and then" })
	if got := forms[len(forms)-2:]; string(got) != "wc" {
		t.Errorf("after reopening, forms %s, want wc", got)
	}
	check("reopened and written")
}

// A chain that leads nowhere, or whose depths do not fall to a whole
// entry, is reported as corrupt, never followed without end.
func TestAuditChain_Corrupt(t *testing.T) {
	t.Parallel()
	st, list := fxUpdatedFlag(t)
	ctx := t.Context()
	if snapForm(t, st, list[0].ID) != 'c' {
		t.Fatal("the update was not chained")
	}
	var key string
	var value []byte
	_ = st.db.View(ctx, func(tx store.ReadTx) error {
		k, _ := tx.Get(auditIDPrefix + list[0].ID)
		it, err := tx.Get(string(k.Value))
		key, value = string(k.Value), it.Value
		return err
	})
	js, snap := splitEntry(value)
	c, ok := parseChained(snap)
	if !ok {
		t.Fatal("unparsable chain")
	}
	for _, tc := range []struct {
		name string
		snap []byte
	}{
		{"missing entry", appendChained(nil, 1, "a/0/0", []byte("{}"), []byte("{}"))},
		{"itself", appendChained(nil, 1, key, []byte("{}"), []byte("{}"))},
		{"deeper than its link", appendChained(nil, 2, c.prevKey, []byte("{}"), []byte("{}"))},
		{"delta misfits", rawChained(1, c.prevKey, 1<<20, 0)},
		{"truncated", snap[:3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := append(append(append([]byte(nil), js...), '\n'), tc.snap...)
			err := st.db.Update(context.Background(), func(tx store.WriteTx) error { return tx.Put(key, v, store.Any) })
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.GetAuditEntry(ctx, list[0].ID); !errors.Is(err, ErrInternal) {
				t.Fatalf("want an internal error, got %v", err)
			}
		})
	}
}

// rawChained is a chained form with the given fields and a delta of one op
// that copies and skips as given and inserts "x".
func rawChained(depth int, prevKey string, copied, skip int) []byte {
	b := []byte{snapChained}
	b = binary.AppendUvarint(b, uint64(depth))
	b = binary.AppendUvarint(b, uint64(len(prevKey)))
	b = append(b, prevKey...)
	b = binary.AppendUvarint(b, uint64(copied))
	b = binary.AppendUvarint(b, uint64(skip))
	b = binary.AppendUvarint(b, 1)
	return append(b, 'x')
}

// Load replaces every key, audit entries included, so an entry written
// after it never links to one from before it, even when a flag's document
// is loaded with the very bytes the store last recorded.
func TestAuditChain_LoadForgets(t *testing.T) {
	t.Parallel()
	st, _ := fxUpdatedFlag(t)
	ctx := t.Context()
	var saved bytes.Buffer
	if err := st.Save(ctx, &saved); err != nil {
		t.Fatal(err)
	}
	var kept bytes.Buffer // the same store without its audit log
	for line := range bytes.Lines(saved.Bytes()) {
		if !bytes.Contains(line, []byte(`"k":"a/`)) && !bytes.Contains(line, []byte(`"k":"ai/`)) {
			kept.Write(line)
		}
	}
	if err := st.Load(ctx, &kept); err != nil {
		t.Fatal(err)
	}
	prev := storedFlag(t, st, "f")
	fxUpdate(t, st, "f", func(f *Flag) { f.Environments["test"].On = false })
	list, err := st.ListAuditLog(ctx, AuditListOptions{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	e, err := st.GetAuditEntry(ctx, list[0].ID)
	if err != nil || !bytes.Equal(e.PreviousVersion, prev) {
		t.Fatalf("the first entry after Load: %v; previous version %s, want %s", err, e.PreviousVersion, prev)
	}
}
