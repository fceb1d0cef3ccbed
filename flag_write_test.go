package flagstore

import (
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
