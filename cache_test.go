package flagstore

import (
	"context"
	"errors"
	"testing"

	"github.com/flagstore/flagstore/store"
)

// cachedVersion is the version the flag cache holds for flag key of
// fxProj (0: none).
func cachedVersion(st *Store, key string) uint64 {
	st.flags.mu.Lock()
	defer st.flags.mu.Unlock()
	return st.flags.m[flagKey(fxProj, key)].version
}

// storedVersion is the stored version of flag key of fxProj.
func storedVersion(t *testing.T, st *Store, key string) uint64 {
	t.Helper()
	var v uint64
	err := st.db.View(context.Background(), func(tx store.ReadTx) error {
		var err error
		v, err = tx.Version(flagKey(fxProj, key))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The flag cache holds committed values only: a write is cached once it
// commits, and a value a transaction wrote itself, read back inside it or
// rolled back, never is, so no later read can be served it.
func TestDocCache_CommittedOnly(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	fxCreate(t, st, "f", fxPost("f"))
	committed := fxUpdate(t, st, "f", func(f *Flag) { f.Environments["test"].On = true })
	if v := storedVersion(t, st, "f"); cachedVersion(st, "f") != v {
		t.Fatalf("after a commit the cache holds version %d, the store %d", cachedVersion(st, "f"), v)
	}

	// Written, read back and rolled back in one transaction.
	rollback := errors.New("roll back")
	err := st.update(ctx, func(w *wtx) error {
		before, bit, err := peekFlagItem(&w.rtx, fxProj, "f")
		if err != nil {
			return err
		}
		after := cloneFlag(before)
		after.Environments["test"].On = false
		if _, _, err := st.writeFlag(w, fxProj, before, &after, bit.Version); err != nil {
			return err
		}
		var own Flag
		it, err := getFlagItem(&w.rtx, fxProj, "f", &own)
		if err != nil {
			return err
		}
		if own.Environments["test"].On || it.Version != w.tx.Revision()+1 {
			t.Errorf("the transaction does not read its own write: on %v at version %d", own.Environments["test"].On, it.Version)
		}
		if cachedVersion(st, "f") == it.Version {
			t.Error("the transaction's own write was cached before it committed")
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatal(err)
	}
	// A dry run goes the whole way, then rolls back.
	if _, err := st.UpdateFlag(WithDryRun(ctx), fxProj, "f", func(f *Flag) error { f.Name = "dry"; return nil }); err != nil {
		t.Fatal(err)
	}
	// The next commit reuses the rolled-back revision for f itself; the
	// cache must not answer with what was rolled back.
	second := fxUpdate(t, st, "f", func(f *Flag) { f.Name = "second" })
	got := fxGet(t, st, "f")
	if !got.Environments["test"].On || got.Name != "second" || got.Version != committed.Version+1 {
		t.Fatalf("a read after rollbacks gives %+v, want %+v", got, second)
	}
	if v := storedVersion(t, st, "f"); cachedVersion(st, "f") != v {
		t.Fatalf("the cache holds version %d, the store %d", cachedVersion(st, "f"), v)
	}
}
