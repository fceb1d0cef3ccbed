package flagstore

import (
	"slices"
	"testing"
)

// A change of a flag's variations follows into the flags that require it as
// a prerequisite; removing a required variation is refused.
func TestFlag_VariationChangesFollowIntoDependents(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	fxCreate(t, st, "p", FlagPost{Key: "p", Name: "P", Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})
	fxCreate(t, st, "d", fxPost("d"))
	fxUpdate(t, st, "d", func(f *Flag) {
		f.Environments["production"].Prerequisites = []Prerequisite{{Key: "p", Variation: 2}}
	})
	dBefore := fxGet(t, st, "d")

	// Reorder: "c" moves to the front; d must now require index 0.
	fxUpdate(t, st, "p", func(f *Flag) {
		v := f.Variations
		f.Variations = []Variation{v[2], v[0], v[1]}
		f.Defaults = &FlagDefaults{OnVariation: 1, OffVariation: 2}
		for _, c := range f.Environments {
			c.Fallthrough = VariationOrRollout{Variation: intPtr(1)}
			c.OffVariation = intPtr(2)
		}
	})
	d := fxGet(t, st, "d")
	if got := d.Environments["production"].Prerequisites[0].Variation; got != 0 {
		t.Fatalf("after reorder d requires index %d, want 0", got)
	}
	if d.Environments["production"].Version != dBefore.Environments["production"].Version+1 || d.Version != dBefore.Version+1 {
		t.Fatalf("d's versions did not move: %d/%d", d.Version, d.Environments["production"].Version)
	}
	if d.Environments["test"].Version != dBefore.Environments["test"].Version {
		t.Fatal("d's test environment moved although its targeting did not change")
	}

	// Removing the required variation is refused and changes nothing.
	frozenP, frozenD := fxFreeze(t, st, "p"), fxFreeze(t, st, "d")
	_, err := st.UpdateFlag(t.Context(), fxProj, "p", func(f *Flag) error {
		f.Variations = f.Variations[1:]
		f.Defaults = &FlagDefaults{OnVariation: 0, OffVariation: 1}
		for _, c := range f.Environments {
			c.Fallthrough = VariationOrRollout{Variation: intPtr(0)}
			c.OffVariation = intPtr(1)
		}
		return nil
	})
	fxErr(t, err, ErrConflict, CodeConflict)
	frozenP.unchanged(t, st)
	frozenD.unchanged(t, st)

	// Removing another variation shifts d's index down.
	fxUpdate(t, st, "p", func(f *Flag) {
		f.Variations = slices.Delete(f.Variations, 1, 2) // drop "a"
		f.Defaults = &FlagDefaults{OnVariation: 0, OffVariation: 1}
		for _, c := range f.Environments {
			c.Fallthrough = VariationOrRollout{Variation: intPtr(0)}
			c.OffVariation = intPtr(1)
		}
	})
	if got := fxGet(t, st, "d").Environments["production"].Prerequisites[0].Variation; got != 0 {
		t.Fatalf("d requires index %d, want 0 (still \"c\")", got)
	}
	if v := fxGet(t, st, "p").Variations[0].Value; v != "c" {
		t.Fatalf("p's first variation is %v", v)
	}
}
