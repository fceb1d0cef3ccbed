package flagstore

import (
	"context"
	"slices"
)

// Copying targeting: CloneFlag makes a new flag with an existing one's
// targeting in every environment (LaunchDarkly's create with ?clone=), and
// CopyFlagConfig copies one flag's targeting from one environment of its
// project to another (LaunchDarkly's copyFeatureFlag).

// CloneFlag creates a flag as CreateFlag does, copying from the flag
// source of the same project its variations and defaults (unless p gives
// its own; the copies get fresh _ids) and, in every environment, its whole
// targeting: on/off, individual targets, rules, fallthrough, off
// variation, prerequisites and event tracking. Each environment gets a
// fresh salt and selector. IsFlagOn and InitialPrerequisites cannot be
// combined with a clone, which takes both from source. The audit entry
// records createFlag and cloneFlag.
func (s *Store) CloneFlag(ctx context.Context, proj, source string, p FlagPost) (Flag, error) {
	if source == "" {
		return Flag{}, invalidf("clone", "name the flag to clone")
	}
	if p.IsFlagOn {
		return Flag{}, invalidf("isFlagOn", "isFlagOn cannot be combined with clone: the clone copies each environment's on/off state")
	}
	if len(p.InitialPrerequisites) > 0 {
		return Flag{}, invalidf("initialPrerequisites", "initialPrerequisites cannot be combined with clone: the clone copies each environment's prerequisites")
	}
	return s.createFlag(ctx, proj, p, source)
}

// cloneSource reads the flag a new flag f clones and gives f its
// variations and defaults where the create body p gives none.
func cloneSource(r *rtx, proj, source string, f *Flag, p FlagPost) (*Flag, error) {
	var src Flag
	if _, err := getFlag(r, proj, source, &src); err != nil {
		return nil, invalidf("clone", "cannot clone flag %q: %s", source, AsError(err).Message)
	}
	if len(p.Variations) == 0 {
		f.Variations = slices.Clone(src.Variations)
		for i := range f.Variations {
			f.Variations[i].ID = ""
			f.Variations[i].Value = cloneJSON(f.Variations[i].Value)
		}
		if p.Defaults == nil && src.Defaults != nil {
			d := *src.Defaults
			f.Defaults = &d
		}
	}
	return &src, nil
}

// copyTargeting gives c the targeting of src (nil: none to copy), keeping
// c's salt, selector and versions.
func copyTargeting(c, src *FlagConfig) {
	if src == nil {
		return
	}
	s := cloneConfig(src)
	c.On = s.On
	c.Targets, c.ContextTargets = s.Targets, s.ContextTargets
	c.Rules = s.Rules
	c.Fallthrough = s.Fallthrough
	c.OffVariation = s.OffVariation
	c.Prerequisites = s.Prerequisites
	c.TrackEvents, c.TrackEventsFallthrough = s.TrackEvents, s.TrackEventsFallthrough
}

// FlagCopy is the body that copies a flag's targeting between two
// environments (LaunchDarkly's FlagCopyConfigPost).
type FlagCopy struct {
	Source FlagCopyEnvironment `json:"source"`
	Target FlagCopyEnvironment `json:"target"`
	// Comment is recorded with the change in the audit log.
	Comment string `json:"comment,omitempty"`
	// IncludedActions copies only these parts; ExcludedActions copies all
	// but these. Give at most one. The parts are updateOn, updateRules,
	// updateFallthrough, updateOffVariation, updatePrerequisites,
	// updateTargets and updateFlagConfigMigrationSettings (accepted; it
	// copies nothing, as the store has no migration flags).
	IncludedActions []string `json:"includedActions,omitempty"`
	ExcludedActions []string `json:"excludedActions,omitempty"`
}

// FlagCopyEnvironment names one side of a copy: an environment and,
// optionally, the version its configuration of the flag must be at.
type FlagCopyEnvironment struct {
	Key            string `json:"key"`
	CurrentVersion *int   `json:"currentVersion,omitempty"`
}

// flagCopyActions are the parts of an environment's targeting a copy can
// include or exclude.
var flagCopyActions = []string{
	"updateOn", "updateRules", "updateFallthrough", "updateOffVariation",
	"updatePrerequisites", "updateTargets", "updateFlagConfigMigrationSettings",
}

// CopyFlagConfig copies a flag's targeting from c.Source's environment to
// c.Target's, in one write with one audit entry (accesses
// copyFlagConfigFrom on the source and copyFlagConfigTo on the target,
// which are what a policy must allow). By default every part is copied:
// on/off, individual targets, rules, fallthrough, off variation,
// prerequisites, and the event-tracking settings; IncludedActions or
// ExcludedActions narrow the parts (event tracking, which has no action of
// its own, goes with a copy unless IncludedActions is given). The target
// keeps its salt and selector. A CurrentVersion that is not the
// environment's configuration version is ErrConflict; an unknown
// environment, the same environment on both sides, or an unknown action is
// ErrInvalid. A copy that changes nothing writes nothing.
func (s *Store) CopyFlagConfig(ctx context.Context, proj, key string, c FlagCopy) (Flag, error) {
	parts, err := copyParts(&c)
	if err != nil {
		return Flag{}, err
	}
	if c.Comment != "" {
		ctx = WithComment(ctx, c.Comment)
	}
	var out Flag
	err = s.update(ctx, func(w *wtx) error {
		var before Flag
		bit, err := getFlagItem(&w.rtx, proj, key, &before)
		if err != nil {
			return err
		}
		names, err := envNames(&w.rtx, proj)
		if err != nil {
			return err
		}
		for _, side := range []struct {
			attr string
			env  FlagCopyEnvironment
		}{{"source", c.Source}, {"target", c.Target}} {
			cfg := before.Environments[side.env.Key]
			if _, ok := names[side.env.Key]; !ok || cfg == nil {
				return invalidf(side.attr+".key", "unknown environment %q in project %q", side.env.Key, proj)
			}
			if v := side.env.CurrentVersion; v != nil && *v != cfg.Version {
				return conflictf("Conflict. The flag's configuration in environment %q is at version %d, not %d", side.env.Key, cfg.Version, *v)
			}
		}
		accesses := []Access{
			{Action: "copyFlagConfigFrom", Resource: flagRes(proj, c.Source.Key, key)},
			{Action: "copyFlagConfigTo", Resource: flagRes(proj, c.Target.Key, key)},
		}
		if err := s.authorize(ctx, &w.rtx, accesses, nil); err != nil {
			return err
		}
		after := cloneFlag(&before)
		src := cloneConfig(before.Environments[c.Source.Key])
		dst := after.Environments[c.Target.Key]
		for part, on := range parts {
			if !on {
				continue
			}
			switch part {
			case "updateOn":
				dst.On = src.On
			case "updateRules":
				dst.Rules = src.Rules
			case "updateFallthrough":
				dst.Fallthrough = src.Fallthrough
			case "updateOffVariation":
				dst.OffVariation = src.OffVariation
			case "updatePrerequisites":
				dst.Prerequisites = src.Prerequisites
			case "updateTargets":
				dst.Targets, dst.ContextTargets = src.Targets, src.ContextTargets
			case "trackEvents":
				dst.TrackEvents, dst.TrackEventsFallthrough = src.TrackEvents, src.TrackEventsFallthrough
			}
		}
		raw, _, err := s.writeFlag(w, proj, &before, &after, bit.Version)
		if err != nil {
			return err
		}
		if raw == nil {
			out = before
			fillEnvNames(&out, names)
			return nil // nothing changed, nothing to record
		}
		out = after
		fillEnvNames(&out, names)
		return s.recordFlagTitled(w, proj, "copied", "configuration from "+names[c.Source.Key]+" to "+names[c.Target.Key],
			&out, bit.Value, raw, accesses)
	})
	if err != nil {
		return Flag{}, err // a refused call shows nothing
	}
	return out, nil
}

// copyParts checks a copy's environments and action lists and returns the
// parts to copy ("trackEvents" stands for the event-tracking settings).
func copyParts(c *FlagCopy) (map[string]bool, error) {
	switch {
	case c.Source.Key == "":
		return nil, invalidf("source.key", "source.key is required")
	case c.Target.Key == "":
		return nil, invalidf("target.key", "target.key is required")
	case c.Source.Key == c.Target.Key:
		return nil, invalidf("target.key", "the source and target environments must differ")
	case c.IncludedActions != nil && c.ExcludedActions != nil:
		return nil, invalidf("includedActions", "give includedActions or excludedActions, not both")
	}
	for attr, list := range map[string][]string{"includedActions": c.IncludedActions, "excludedActions": c.ExcludedActions} {
		for _, a := range list {
			if !slices.Contains(flagCopyActions, a) {
				return nil, invalidf(attr, "unknown action %q: use %v", a, flagCopyActions)
			}
		}
	}
	parts := map[string]bool{"trackEvents": c.IncludedActions == nil}
	for _, a := range flagCopyActions {
		parts[a] = c.IncludedActions == nil
	}
	for _, a := range c.IncludedActions {
		parts[a] = true
	}
	for _, a := range c.ExcludedActions {
		parts[a] = false
	}
	return parts, nil
}
