package flagstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// jsonEqual answers as comparing the JSON encodings would, on its fast
// paths for scalars and string lists as on its general one.
func TestJSONEqual(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		a, b any
		want bool
	}{
		{"same bool", true, true, true},
		{"other bool", true, false, false},
		{"same int", 3, 3, true},
		{"other int", 3, 4, false},
		{"int and float", 3, 3.0, true},
		{"same string", "a", "a", true},
		{"other string", "a", "b", false},
		{"invalid UTF-8 encodes alike", "a\xff", "a\xfe", true},
		{"nil and empty list", []string(nil), []string{}, false},
		{"same list", []string{"a"}, []string{"a"}, true},
		{"other list", []string{"a"}, []string{"b"}, false},
		{"both nil lists", []string(nil), []string(nil), true},
		{"string and list", "a", []string{"a"}, false},
		{"structs", FlagDefaults{OnVariation: 1}, FlagDefaults{OnVariation: 1}, true},
		{"other structs", FlagDefaults{OnVariation: 1}, FlagDefaults{OnVariation: 0}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := jsonEqual(tc.a, tc.b); got != tc.want {
				t.Fatalf("jsonEqual(%#v, %#v) = %v", tc.a, tc.b, got)
			}
		})
	}
}

// What UpdateFlag returns is what a read decoded from the stored document
// gives, whatever the callback left in the flag.
func TestUpdateFlag_ReturnsTheStoredFlag(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	fxCreate(t, st, "dep", fxPost("dep"))
	fxCreate(t, st, "f", FlagPost{Variations: []Variation{{Value: 1}, {Value: 2.5}, {Value: 3}}})
	for _, tc := range []struct {
		name string
		fn   func(*Flag)
	}{
		{"toggle", func(f *Flag) { f.Environments["production"].On = true }},
		{"rules with int values", func(f *Flag) {
			r := fxRule(1, "@example.com")
			r.Clauses = append(r.Clauses, Clause{Attribute: "n", Op: "in", Values: []any{1, int64(2), []int{3}}})
			f.Environments["test"].Rules = []Rule{r}
		}},
		{"rollout with an empty allocation", func(f *Flag) {
			f.Environments["production"].Fallthrough = VariationOrRollout{Rollout: &Rollout{
				Variations:           []WeightedVariation{{Variation: 0, Weight: 60000}, {Variation: 2, Weight: 40000}},
				ExperimentAllocation: map[string]any{},
			}}
		}},
		{"targets, prerequisites, properties", func(f *Flag) {
			c := f.Environments["test"]
			c.Targets = []Target{{Values: []string{"u1"}, Variation: 1}}
			c.Prerequisites = []Prerequisite{{Key: "dep", Variation: 0}}
			f.CustomProperties = map[string]CustomProperty{"p": {Name: "P", Value: []string{"x"}}}
			f.Tags = []string{"t"}
			f.Environments["production"].EnvironmentName = "renamed by the callback"
		}},
		{"no change", func(*Flag) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fxUpdate(t, st, "f", tc.fn)
			st.flags.drop(flagKey(fxProj, "f")) // the next read decodes
			if want := fxGet(t, st, "f"); !reflect.DeepEqual(got, want) {
				t.Fatalf("UpdateFlag returned\n%#v\nbut a read gives\n%#v", got, want)
			}
		})
	}
}

// Writes read the cached flag in place: none of them may change it, so
// every cached decoding still encodes as the bytes it was decoded from.
func TestFlagCache_WritesLeaveEntriesIntact(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	fxCreate(t, st, "dep", fxPost("dep"))
	fxCreate(t, st, "f", FlagPost{Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})
	ctx := t.Context()
	writes := []func() error{
		func() error {
			_, err := st.UpdateFlag(ctx, fxProj, "f", func(f *Flag) error {
				f.Environments["test"].Rules = []Rule{fxRule(2, "@x")}
				f.Environments["test"].Prerequisites = []Prerequisite{{Key: "dep", Variation: 1}}
				return nil
			})
			return err
		},
		func() error { // refused: a bad index, after changing much
			_, err := st.UpdateFlag(ctx, fxProj, "f", func(f *Flag) error {
				f.Name, f.Tags = "renamed", []string{"t"}
				f.Environments["production"].Fallthrough.Variation = intPtr(9)
				return nil
			})
			if err == nil {
				t.Error("a bad fallthrough was accepted")
			}
			return nil
		},
		func() error { // refused late: the prerequisite does not exist
			_, err := st.UpdateFlag(ctx, fxProj, "f", func(f *Flag) error {
				f.Environments["production"].Prerequisites = []Prerequisite{{Key: "nope", Variation: 0}}
				return nil
			})
			if err == nil {
				t.Error("a missing prerequisite was accepted")
			}
			return nil
		},
		func() error { // a dry run goes all the way, then rolls back
			_, err := st.UpdateFlag(WithDryRun(ctx), fxProj, "f", func(f *Flag) error {
				f.Environments["production"].On = true
				return nil
			})
			return err
		},
		func() error { // no change
			_, err := st.UpdateFlag(ctx, fxProj, "f", func(*Flag) error { return nil })
			return err
		},
		func() error { // variations move under a dependent
			_, err := st.UpdateFlag(ctx, fxProj, "dep", func(f *Flag) error {
				f.Variations[0], f.Variations[1] = f.Variations[1], f.Variations[0]
				return nil
			})
			return err
		},
		func() error { _, err := st.ArchiveFlag(ctx, fxProj, "f"); return err },
		func() error { return st.DeleteFlag(ctx, fxProj, "f") },
	}
	for i, write := range writes {
		fxGet(t, st, "f") // cache both flags' current bytes
		fxGet(t, st, "dep")
		if err := write(); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		st.flags.mu.Lock()
		for key, e := range st.flags.m {
			if got, _ := json.Marshal(e.doc); string(got) != string(e.raw) {
				t.Errorf("write %d changed the cached %s:\n%s\nwas decoded from\n%s", i, key, got, e.raw)
			}
		}
		st.flags.mu.Unlock()
	}
}

// A patch sees a flag as its JSON does, with the description shown even
// when empty.
func TestFlagPatchDocument_AsTheFlagsJSON(t *testing.T) {
	t.Parallel()
	for _, desc := range []string{"", "described"} {
		f := Flag{Key: "k", Name: "n", Description: desc, Tags: []string{}, MaintainerID: "m",
			Environments: map[string]*FlagConfig{"e": {Targets: []Target{}}}}
		var want map[string]any
		b, _ := json.Marshal(&f)
		_ = json.Unmarshal(b, &want)
		want["description"] = desc
		var got map[string]any
		doc, err := flagPatchDocument(&f)
		if err != nil || json.Unmarshal(doc, &got) != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("description %q: patch document\n%s\nwant the flag's JSON with a description\n%s", desc, doc, b)
		}
	}
}
