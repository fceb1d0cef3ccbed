package flagstore

import (
	"encoding/hex"
	"slices"
	"testing"
	"time"
)

// Default IDs are ObjectIDs: 24 hex characters that start with the clock's
// seconds and rise one after another.
func TestObjectIDs(t *testing.T) {
	t.Parallel()
	at := time.Unix(0x65a1b2c3, 0)
	gen := newObjectIDs(func() time.Time { return at })
	ids := make([]string, 1000)
	for i := range ids {
		ids[i] = gen()
	}
	for _, id := range ids {
		if b, err := hex.DecodeString(id); err != nil || len(b) != 12 {
			t.Fatalf("%q is not 12 bytes of hex", id)
		}
		if id[:8] != "65a1b2c3" {
			t.Fatalf("%q does not start with the clock's seconds", id)
		}
	}
	// The 3-byte counter starts anywhere, so it may wrap once in a run.
	if !slices.IsSorted(ids) {
		wraps := 0
		for i := 1; i < len(ids); i++ {
			if ids[i] < ids[i-1] {
				wraps++
			}
		}
		if wraps > 1 {
			t.Fatalf("IDs of one second should rise: %d falls", wraps)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
		t.Fatal("duplicate IDs")
	}
	if other := newObjectIDs(func() time.Time { return at })(); other[8:18] == ids[0][8:18] {
		t.Fatal("two generators share their random part")
	}

	st, err := Open(":memory:", WithClock(func() time.Time { return at }))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p, err := st.CreateProject(t.Context(), ProjectPost{Key: "p", Name: "P"})
	if err != nil {
		t.Fatal(err)
	}
	if p.ID[:8] != "65a1b2c3" || len(p.ID) != 24 {
		t.Fatalf("a store's default ID %q is not an ObjectID of its clock", p.ID)
	}
}
