package flagstore

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"
)

// The projection from the REST model to the data model LaunchDarkly's SDKs
// evaluate: one flag or segment as one environment sees it. Items are built
// as JSON in the SDK's field names and then parsed and re-encoded by the
// SDK's own data-model package, so what is served is what the SDK accepts,
// byte for byte as it would write it.

// sdkModel is the SDK serialization, shared (it is stateless).
var sdkModel = ldmodel.NewJSONDataModelSerialization()

// sdkFlagDoc is a flag in the SDK's field names, before the SDK's parser
// checks it.
type sdkFlagDoc struct {
	Key                    string             `json:"key"`
	Version                int                `json:"version"`
	On                     bool               `json:"on"`
	Prerequisites          []Prerequisite     `json:"prerequisites"`
	Targets                []sdkTarget        `json:"targets"`
	ContextTargets         []sdkTarget        `json:"contextTargets"`
	Rules                  []sdkFlagRule      `json:"rules"`
	Fallthrough            sdkVarOrRollout    `json:"fallthrough"`
	OffVariation           *int               `json:"offVariation"`
	Variations             []any              `json:"variations"`
	ClientSideAvailability sdkClientSideAvail `json:"clientSideAvailability"`
	ClientSide             bool               `json:"clientSide"`
	Salt                   string             `json:"salt"`
	TrackEvents            bool               `json:"trackEvents"`
	TrackEventsFallthrough bool               `json:"trackEventsFallthrough"`
	DebugEventsUntilDate   *int64             `json:"debugEventsUntilDate"`
	Deleted                bool               `json:"deleted"`
}

type sdkClientSideAvail struct {
	UsingMobileKey     bool `json:"usingMobileKey"`
	UsingEnvironmentID bool `json:"usingEnvironmentId"`
}

type sdkTarget struct {
	ContextKind string   `json:"contextKind,omitempty"`
	Values      []string `json:"values"`
	Variation   int      `json:"variation"`
}

type sdkClause struct {
	ContextKind string `json:"contextKind,omitempty"`
	Attribute   string `json:"attribute"`
	Op          string `json:"op"`
	Values      []any  `json:"values"`
	Negate      bool   `json:"negate"`
}

type sdkWeighted struct {
	Variation int  `json:"variation"`
	Weight    int  `json:"weight"`
	Untracked bool `json:"untracked,omitempty"`
}

type sdkRollout struct {
	Variations  []sdkWeighted `json:"variations"`
	BucketBy    string        `json:"bucketBy,omitempty"`
	ContextKind string        `json:"contextKind,omitempty"`
	Seed        *int          `json:"seed,omitempty"`
}

type sdkVarOrRollout struct {
	Variation *int        `json:"variation,omitempty"`
	Rollout   *sdkRollout `json:"rollout,omitempty"`
}

type sdkFlagRule struct {
	ID string `json:"id"`
	sdkVarOrRollout
	Clauses     []sdkClause `json:"clauses"`
	TrackEvents bool        `json:"trackEvents"`
}

type sdkSegmentDoc struct {
	Key                  string           `json:"key"`
	Version              int              `json:"version"`
	Included             []string         `json:"included"`
	Excluded             []string         `json:"excluded"`
	IncludedContexts     []sdkTarget      `json:"includedContexts"`
	ExcludedContexts     []sdkTarget      `json:"excludedContexts"`
	Rules                []sdkSegmentRule `json:"rules"`
	Salt                 string           `json:"salt"`
	Unbounded            bool             `json:"unbounded"`
	UnboundedContextKind string           `json:"unboundedContextKind,omitempty"`
	Generation           *int             `json:"generation"`
	Deleted              bool             `json:"deleted"`
}

type sdkSegmentRule struct {
	ID                 string      `json:"id"`
	Clauses            []sdkClause `json:"clauses"`
	Weight             *int        `json:"weight,omitempty"`
	BucketBy           string      `json:"bucketBy,omitempty"`
	RolloutContextKind string      `json:"rolloutContextKind,omitempty"`
}

// sdkItem is one flag or segment of an environment's SDK data: the parsed
// item for evaluation and its encoding for the wire. A withheld item (a
// deleted or archived flag, a deleted segment) is a tombstone: only its
// version counts.
type sdkItem struct {
	version  int
	withheld bool
	json     []byte
	flag     *ldmodel.FeatureFlag
	segment  *ldmodel.Segment
}

// sdkFlag projects flag f onto environment env. An archived flag, or one
// without that environment, is withheld.
func sdkFlag(f *Flag, env string) (*sdkItem, error) {
	c := f.Environments[env]
	if c == nil {
		return nil, nil
	}
	if f.Archived || c.Archived {
		return &sdkItem{version: c.Version, withheld: true}, nil
	}
	d := sdkFlagDoc{
		Key:                    f.Key,
		Version:                c.Version,
		On:                     c.On,
		Prerequisites:          nonNil(c.Prerequisites),
		Fallthrough:            sdkVOR(c.Fallthrough.Variation, c.Fallthrough.Rollout),
		OffVariation:           c.OffVariation,
		ClientSideAvailability: sdkClientSideAvail(f.ClientSideAvailability),
		ClientSide:             f.ClientSideAvailability.UsingEnvironmentID,
		Salt:                   c.Salt,
		TrackEvents:            c.TrackEvents,
		TrackEventsFallthrough: c.TrackEventsFallthrough,
		DebugEventsUntilDate:   c.DebugEventsUntilDate,
	}
	d.Targets, d.ContextTargets = sdkTargets(c.Targets, c.ContextTargets)
	for _, v := range f.Variations {
		d.Variations = append(d.Variations, v.Value)
	}
	d.Rules = []sdkFlagRule{}
	for _, r := range c.Rules {
		if r.Disabled {
			continue // a disabled rule takes no part in evaluation
		}
		d.Rules = append(d.Rules, sdkFlagRule{ID: r.ID, sdkVarOrRollout: sdkVOR(r.Variation, r.Rollout),
			Clauses: sdkClauses(r.Clauses), TrackEvents: r.TrackEvents})
	}
	m, out, err := throughSDK(&d, sdkModel.UnmarshalFeatureFlag, sdkModel.MarshalFeatureFlag, ldmodel.PreprocessFlag)
	if err != nil {
		return nil, fmt.Errorf("flag %s in %s: %w", f.Key, env, err)
	}
	return &sdkItem{version: c.Version, json: out, flag: m}, nil
}

// throughSDK encodes an item built in the SDK's field names, has the SDK's
// own parser read it (an item it refuses is an error), and returns the
// parsed item, preprocessed for evaluation, and the SDK's encoding of it.
func throughSDK[T any](doc any, parse func([]byte) (T, error), encode func(T) ([]byte, error), preprocess func(*T)) (*T, []byte, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, nil, err
	}
	m, err := parse(b)
	if err != nil {
		return nil, nil, fmt.Errorf("the SDK refuses it: %w", err)
	}
	out, err := encode(m)
	if err != nil {
		return nil, nil, err
	}
	preprocess(&m)
	return &m, out, nil
}

// sdkTargets splits targets the SDK's way: user-kind lists in targets, the
// others in contextTargets. When contextTargets is not empty it sets the
// order, and a user-kind entry without values stands for the user targets
// of its variation; one is added for any user list the order lacks.
func sdkTargets(targets, contextTargets []Target) (user, ctx []sdkTarget) {
	user, ctx = []sdkTarget{}, []sdkTarget{}
	isUser := func(t Target) bool { return t.ContextKind == "" || t.ContextKind == "user" }
	placeholders := map[int]bool{}
	for _, t := range contextTargets {
		if isUser(t) && len(t.Values) == 0 {
			placeholders[t.Variation] = true
		}
	}
	for _, t := range append(slices.Clone(targets), contextTargets...) {
		if isUser(t) && len(t.Values) > 0 {
			user = append(user, sdkTarget{Values: t.Values, Variation: t.Variation})
		}
	}
	var extra []sdkTarget
	for _, t := range user {
		if !placeholders[t.Variation] {
			placeholders[t.Variation] = true
			extra = append(extra, sdkTarget{ContextKind: "user", Values: []string{}, Variation: t.Variation})
		}
	}
	for _, t := range contextTargets {
		if isUser(t) {
			if len(t.Values) == 0 {
				ctx = append(ctx, sdkTarget{ContextKind: "user", Values: []string{}, Variation: t.Variation})
			}
			continue
		}
		ctx = append(ctx, sdkTarget{ContextKind: t.ContextKind, Values: nonNil(t.Values), Variation: t.Variation})
	}
	for _, t := range targets {
		if !isUser(t) {
			ctx = append(ctx, sdkTarget{ContextKind: t.ContextKind, Values: nonNil(t.Values), Variation: t.Variation})
		}
	}
	if len(ctx) == 0 {
		return user, ctx // only user targets: the SDK reads targets alone
	}
	return user, append(extra, ctx...)
}

func sdkVOR(variation *int, r *Rollout) sdkVarOrRollout {
	if r == nil {
		return sdkVarOrRollout{Variation: variation}
	}
	out := &sdkRollout{BucketBy: r.BucketBy, ContextKind: r.ContextKind, Seed: r.Seed, Variations: []sdkWeighted{}}
	for _, w := range r.Variations {
		out.Variations = append(out.Variations, sdkWeighted{Variation: w.Variation, Weight: w.Weight, Untracked: w.Untracked})
	}
	return sdkVarOrRollout{Rollout: out}
}

func sdkClauses(cs []Clause) []sdkClause {
	out := make([]sdkClause, 0, len(cs))
	for _, c := range cs {
		out = append(out, sdkClause{ContextKind: c.ContextKind, Attribute: c.Attribute, Op: c.Op,
			Values: nonNil(c.Values), Negate: c.Negate})
	}
	return out
}

// sdkSegment projects a stored segment. Its bucketing salt is its key: the
// REST representation has none, and the key is stable for the segment's
// life.
func sdkSegment(sg *Segment) (*sdkItem, error) {
	if sg.Deleted {
		return &sdkItem{version: sg.Version, withheld: true}, nil
	}
	d := sdkSegmentDoc{
		Key:                  sg.Key,
		Version:              sg.Version,
		Included:             nonNil(sg.Included),
		Excluded:             nonNil(sg.Excluded),
		IncludedContexts:     sdkSegTargets(sg.IncludedContexts),
		ExcludedContexts:     sdkSegTargets(sg.ExcludedContexts),
		Rules:                []sdkSegmentRule{},
		Salt:                 sg.Key,
		Unbounded:            sg.Unbounded,
		UnboundedContextKind: sg.UnboundedContextKind,
	}
	if sg.Unbounded {
		g := sg.Generation
		d.Generation = &g
	}
	for _, r := range sg.Rules {
		d.Rules = append(d.Rules, sdkSegmentRule{ID: r.ID, Clauses: sdkClauses(r.Clauses), Weight: r.Weight,
			BucketBy: r.BucketBy, RolloutContextKind: r.RolloutContextKind})
	}
	m, out, err := throughSDK(&d, sdkModel.UnmarshalSegment, sdkModel.MarshalSegment, ldmodel.PreprocessSegment)
	if err != nil {
		return nil, fmt.Errorf("segment %s: %w", sg.Key, err)
	}
	return &sdkItem{version: sg.Version, json: out, segment: m}, nil
}

func sdkSegTargets(ts []SegmentTarget) []sdkTarget {
	out := []sdkTarget{}
	for _, t := range ts {
		out = append(out, sdkTarget{ContextKind: t.ContextKind, Values: nonNil(t.Values)})
	}
	return out
}
