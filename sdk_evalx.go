package flagstore

import (
	"encoding/json"
	"slices"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	evaluation "github.com/launchdarkly/go-server-sdk-evaluation/v3"
)

// Client-side and mobile SDKs do not evaluate flags: the service evaluates
// every flag they may see for one context and sends the results, as a map
// by flag key that LaunchDarkly calls "evalx". This file computes that map
// with LaunchDarkly's own evaluator over the environment's SDK data.

// evalxEntry is one flag's result in an evalx map. Version orders updates
// of the entry on a stream (SDKs take a patch only with a higher version);
// it is the revision of the environment's data, which rises whenever any
// change could alter a result, including a change to a segment or to a
// prerequisite that leaves the flag's own version alone. FlagVersion is
// the flag's version, which SDKs put in their analytics events.
type evalxEntry struct {
	Key                  string                     `json:"key,omitempty"` // set in stream patches only
	Value                ldvalue.Value              `json:"value"`
	Variation            ldvalue.OptionalInt        `json:"variation"`
	Version              uint64                     `json:"version"`
	FlagVersion          int                        `json:"flagVersion"`
	TrackEvents          bool                       `json:"trackEvents,omitempty"`
	TrackReason          bool                       `json:"trackReason,omitempty"`
	Reason               *ldreason.EvaluationReason `json:"reason,omitempty"`
	DebugEventsUntilDate int64                      `json:"debugEventsUntilDate,omitempty"`
	Prerequisites        []string                   `json:"prerequisites,omitempty"`
}

// sameResult reports whether two entries say the same thing to an SDK,
// whatever their versions.
func (e *evalxEntry) sameResult(o *evalxEntry) bool {
	return e.Value.Equal(o.Value) && e.Variation == o.Variation && e.FlagVersion == o.FlagVersion &&
		e.TrackEvents == o.TrackEvents && e.TrackReason == o.TrackReason &&
		(e.Reason == nil) == (o.Reason == nil) && (e.Reason == nil || *e.Reason == *o.Reason) &&
		e.DebugEventsUntilDate == o.DebugEventsUntilDate && slices.Equal(e.Prerequisites, o.Prerequisites)
}

// evalxMap is the evalx payload: every visible flag's result, by key.
type evalxMap map[string]*evalxEntry

// visibleTo reports whether a credential of kind may see flag it: the
// client-side ID only flags available to it, a mobile key only flags
// available to mobile keys, an SDK key every flag.
func visibleTo(kind CredentialKind, it *sdkItem) bool {
	if it.withheld {
		return false
	}
	switch kind {
	case CredentialClientSideID:
		return it.flag.ClientSideAvailability.UsingEnvironmentID
	case CredentialMobileKey:
		return it.flag.ClientSideAvailability.UsingMobileKey
	default:
		return true
	}
}

// evalx evaluates every flag of d a credential of kind may see for c. As
// LaunchDarkly does, a reason is included when withReasons asks for it, and
// always for an evaluation that is part of an experiment, which SDKs must
// then track with its reason.
func evalx(d *sdkData, kind CredentialKind, c ldcontext.Context, withReasons bool) evalxMap {
	ev := evaluation.NewEvaluator(d)
	out := evalxMap{}
	for key, it := range d.flags {
		if !visibleTo(kind, it) {
			continue
		}
		f := it.flag
		var prereqs []string
		res := ev.Evaluate(f, c, func(pe evaluation.PrerequisiteFlagEvent) {
			if pe.TargetFlagKey == f.Key {
				prereqs = append(prereqs, pe.PrerequisiteFlag.Key)
			}
		})
		e := &evalxEntry{
			Value:                res.Detail.Value,
			Variation:            res.Detail.VariationIndex,
			Version:              d.rev,
			FlagVersion:          f.Version,
			TrackEvents:          f.TrackEvents || res.IsExperiment,
			TrackReason:          res.IsExperiment,
			DebugEventsUntilDate: int64(f.DebugEventsUntilDate),
			Prerequisites:        prereqs,
		}
		if withReasons || res.IsExperiment {
			r := res.Detail.Reason
			e.Reason = &r
		}
		out[key] = e
	}
	return out
}

// encode is the evalx payload as JSON, flags in key order.
func (m evalxMap) encode() []byte {
	b, err := json.Marshal(map[string]*evalxEntry(m))
	if err != nil {
		// Values come from parsed JSON and reasons marshal themselves;
		// this cannot fail.
		panic("flagstore: cannot encode an evalx map: " + err.Error())
	}
	return b
}

// changes returns the stream events that bring an SDK holding m up to
// next: a patch for each flag whose result is new or different, a delete
// for each flag it may no longer see. Both carry version, the revision of
// next, so that SDKs take them.
func (m evalxMap) changes(next evalxMap, version uint64) []*sdkFrame {
	keys := make([]string, 0, len(m)+len(next))
	for k := range m {
		keys = append(keys, k)
	}
	for k := range next {
		if m[k] == nil {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []*sdkFrame
	for _, k := range keys {
		old, cur := m[k], next[k]
		switch {
		case cur == nil:
			b, _ := json.Marshal(struct {
				Key     string `json:"key"`
				Version uint64 `json:"version"`
			}{k, version})
			out = append(out, newFrame("delete", b))
		case old == nil || !old.sameResult(cur):
			p := *cur
			p.Key, p.Version = k, version
			b, _ := json.Marshal(&p)
			out = append(out, newFrame("patch", b))
		}
	}
	return out
}
