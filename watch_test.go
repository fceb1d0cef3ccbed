package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"
)

// collector gathers changes delivered by Watch.
type collector struct {
	mu  sync.Mutex
	got []Change
}

func (c *collector) add(ch Change) {
	c.mu.Lock()
	c.got = append(c.got, ch)
	c.mu.Unlock()
}

// wait returns the changes once n have arrived, or fails after a while.
func (c *collector) wait(t *testing.T, n int) []Change {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		if len(c.got) >= n {
			out := append([]Change(nil), c.got...)
			c.mu.Unlock()
			return out
		}
		c.mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("only %d of %d changes arrived", len(c.got), n)
	return nil
}

func TestWatch_DeliversEachChangeOnceInOrder(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var c collector
	if err := st.Watch(ctx, c.add); err != nil {
		t.Fatal(err)
	}
	fxCreate(t, st, "f", fxPost("f"))
	if _, err := st.UpdateFlag(WithComment(t.Context(), "ship it"), fxProj, "f", func(f *Flag) error {
		f.Environments["production"].On = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Neither a failed write nor a dry run nor a no-op is delivered.
	if _, err := st.CreateFlag(t.Context(), fxProj, fxPost("f")); !errors.Is(err, ErrAlreadyExists) {
		t.Fatal(err)
	}
	if _, err := st.UpdateFlag(WithDryRun(t.Context()), fxProj, "f", func(f *Flag) error { f.Name = "dry"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateFlag(t.Context(), fxProj, "f", func(f *Flag) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteFlag(t.Context(), fxProj, "f"); err != nil {
		t.Fatal(err)
	}
	got := c.wait(t, 3)
	time.Sleep(50 * time.Millisecond) // nothing more should come
	if got = c.wait(t, 3); len(got) != 3 {
		t.Fatalf("got %d changes, want 3", len(got))
	}
	verbs := []string{"created the flag Flag f", "updated the flag Flag f", "deleted the flag Flag f"}
	for i, ch := range got {
		if ch.Entry.TitleVerb != verbs[i] {
			t.Errorf("change %d: %q, want %q", i, ch.Entry.TitleVerb, verbs[i])
		}
		if i > 0 && ch.Revision <= got[i-1].Revision {
			t.Errorf("revisions not rising: %d after %d", ch.Revision, got[i-1].Revision)
		}
	}
	if got[1].Entry.Comment != "ship it" {
		t.Errorf("comment %q", got[1].Entry.Comment)
	}
	var prev, cur Flag
	if json.Unmarshal(got[1].Entry.PreviousVersion, &prev) != nil || json.Unmarshal(got[1].Entry.CurrentVersion, &cur) != nil {
		t.Fatal("update change lacks its versions")
	}
	if prev.Environments["production"].On || !cur.Environments["production"].On {
		t.Error("versions do not show the flag turning on")
	}
	if got[0].Entry.PreviousVersion != nil || got[2].Entry.CurrentVersion != nil {
		t.Error("create has a previous version or delete a current one")
	}
}

func TestWatch_StopsWithContext(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx, cancel := context.WithCancel(t.Context())
	var c collector
	if err := st.Watch(ctx, c.add); err != nil {
		t.Fatal(err)
	}
	fxCreate(t, st, "a", fxPost("a"))
	c.wait(t, 1)
	cancel()
	time.Sleep(20 * time.Millisecond)
	fxCreate(t, st, "b", fxPost("b"))
	time.Sleep(50 * time.Millisecond)
	if got := c.wait(t, 1); len(got) != 1 {
		t.Fatalf("got %d changes after cancel, want 1", len(got))
	}
}

func TestWatch_ClosedStore(t *testing.T) {
	t.Parallel()
	st, _ := fxOpen(t)
	st.Close()
	if err := st.Watch(t.Context(), func(Change) {}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("watch on a closed store: %v", err)
	}
}
