package flagstore

import (
	"context"
	"testing"
)

func TestStore_CloneFlag(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := context.Background()
	src := fxCreate(t, st, "src", FlagPost{Variations: []Variation{{Value: 1.0, Name: "one"}, {Value: 2.0}}, Defaults: &FlagDefaults{OnVariation: 1, OffVariation: 0}})
	fxUpdate(t, st, "src", func(f *Flag) {
		c := f.Environments["test"]
		c.On, c.TrackEvents = true, true
		c.Rules = []Rule{fxRule(1, "@example.com")}
		c.Targets = []Target{{Values: []string{"bob"}, Variation: 0}}
	})
	src = fxGet(t, st, "src")

	c, err := st.CloneFlag(ctx, fxProj, "src", FlagPost{Key: "c", Name: "Clone", Tags: []string{"cloned"}})
	if err != nil {
		t.Fatal(err)
	}
	if fxValues(t, c) != fxValues(t, src) || c.Variations[0].Name != "one" || *c.Defaults != *src.Defaults || c.Tags[0] != "cloned" {
		t.Errorf("clone %s", fxJSON(t, c))
	}
	tc, sc := c.Environments["test"], src.Environments["test"]
	if !tc.On || !tc.TrackEvents || fxJSON(t, tc.Rules) != fxJSON(t, sc.Rules) || fxJSON(t, tc.Targets) != fxJSON(t, sc.Targets) {
		t.Errorf("test config %s, want the source's %s", fxJSON(t, tc), fxJSON(t, sc))
	}
	if c.Environments["production"].On || c.Environments["production"].Version != 1 {
		t.Errorf("production config %s", fxJSON(t, c.Environments["production"]))
	}

	// Variations given in the body replace the source's; targeting must
	// still fit them.
	c2, err := st.CloneFlag(ctx, fxProj, "src", FlagPost{Key: "c2", Name: "C2", Variations: []Variation{{Value: "x"}, {Value: "y"}}})
	if err != nil {
		t.Fatal(err)
	}
	if fxValues(t, c2) != `["x","y"]` || *c2.Environments["test"].Rules[0].Variation != 1 {
		t.Errorf("clone with variations %s", fxJSON(t, c2))
	}
	_, err = st.CloneFlag(ctx, fxProj, "src", FlagPost{Key: "c3", Name: "C3", Variations: []Variation{{Value: "x"}}})
	fxErr(t, err, ErrInvalid, "")

	fz := fxFreeze(t, st, "src")
	for _, tc := range []struct {
		name     string
		source   string
		p        FlagPost
		sentinel error
	}{
		{"no source", "", FlagPost{Key: "n", Name: "N"}, ErrInvalid},
		{"unknown source", "nope", FlagPost{Key: "n", Name: "N"}, ErrInvalid},
		{"isFlagOn", "src", FlagPost{Key: "n", Name: "N", IsFlagOn: true}, ErrInvalid},
		{"initialPrerequisites", "src", FlagPost{Key: "n", Name: "N", InitialPrerequisites: []InitialPrerequisite{{Key: "src", VariationID: src.Variations[0].ID}}}, ErrInvalid},
		{"taken key", "src", FlagPost{Key: "c", Name: "N"}, ErrAlreadyExists},
	} {
		_, err := st.CloneFlag(ctx, fxProj, tc.source, tc.p)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		fxErr(t, err, tc.sentinel, "")
	}
	fz.unchanged(t, st)
}

func TestStore_CopyFlagConfig(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := context.Background()
	fxCreate(t, st, "f", FlagPost{})
	if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "vip", Name: "VIP"}); err != nil {
		t.Fatal(err)
	}
	fxUpdate(t, st, "f", func(f *Flag) {
		c := f.Environments["production"]
		c.On, c.TrackEvents, c.TrackEventsFallthrough = true, true, true
		c.Rules = []Rule{fxRule(0, "@example.com")}
	})

	// Event tracking goes with a full copy, not with includedActions.
	out, err := st.CopyFlagConfig(ctx, fxProj, "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test"},
		IncludedActions: []string{"updateOn", "updateFlagConfigMigrationSettings"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.Environments["test"]; !c.On || c.TrackEvents || len(c.Rules) != 0 || c.EnvironmentName != "Test" {
		t.Errorf("includedActions [updateOn]: %s", fxJSON(t, c))
	}
	out, err = st.CopyFlagConfig(WithComment(ctx, "overridden"), fxProj, "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test"},
		Comment: "full copy"})
	if err != nil {
		t.Fatal(err)
	}
	if c := out.Environments["test"]; !c.TrackEvents || !c.TrackEventsFallthrough || len(c.Rules) != 1 {
		t.Errorf("full copy: %s", fxJSON(t, c))
	}
	entries, err := st.ListAuditLog(ctx, AuditListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if e := entries[0]; e.Comment != "full copy" || e.TitleVerb != "copied the flag Flag f configuration from Production to Test" {
		t.Errorf("audit entry %+v", e)
	}

	// A copy that changes nothing writes nothing.
	fz := fxFreeze(t, st, "f")
	if _, err := st.CopyFlagConfig(ctx, fxProj, "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test"}}); err != nil {
		t.Fatal(err)
	}
	fz.unchanged(t, st)

	// A rule matching a segment the target environment lacks is refused.
	fxUpdate(t, st, "f", func(f *Flag) { f.Environments["production"].Rules = []Rule{fxSegRule(0, "vip")} })
	fz = fxFreeze(t, st, "f")
	ver := fxGet(t, st, "f").Environments["test"].Version
	stale := ver - 1
	for _, tc := range []struct {
		name     string
		key      string
		c        FlagCopy
		sentinel error
	}{
		{"missing segment", "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test"}}, ErrInvalid},
		{"stale version", "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test", CurrentVersion: &stale},
			ExcludedActions: []string{"updateRules"}}, ErrConflict},
		{"no source", "f", FlagCopy{Target: FlagCopyEnvironment{Key: "test"}}, ErrInvalid},
		{"unknown target", "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "staging"}}, ErrInvalid},
		{"unknown flag", "nope", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test"}}, ErrNotFound},
	} {
		_, err := st.CopyFlagConfig(ctx, fxProj, tc.key, tc.c)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		fxErr(t, err, tc.sentinel, "")
	}
	fz.unchanged(t, st)
	// With the current version, the same copy goes through.
	if _, err := st.CopyFlagConfig(ctx, fxProj, "f", FlagCopy{Source: FlagCopyEnvironment{Key: "production"}, Target: FlagCopyEnvironment{Key: "test", CurrentVersion: &ver},
		ExcludedActions: []string{"updateRules"}}); err != nil {
		t.Errorf("current version: %v", err)
	}
}
