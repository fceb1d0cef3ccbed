package flagstore

// Flag is a feature flag in LaunchDarkly's representation (FeatureFlag): the
// flag-wide settings plus one targeting configuration per environment of its
// project. Fields starting with an underscore in JSON are computed.
type Flag struct {
	Key                    string                    `json:"key"`
	Name                   string                    `json:"name"`
	Description            string                    `json:"description,omitempty"`
	Kind                   string                    `json:"kind"`
	Variations             []Variation               `json:"variations"`
	Defaults               *FlagDefaults             `json:"defaults,omitempty"`
	Temporary              bool                      `json:"temporary"`
	Tags                   []string                  `json:"tags"`
	ClientSideAvailability ClientSideAvailability    `json:"clientSideAvailability"`
	IncludeInSnippet       bool                      `json:"includeInSnippet"`
	MaintainerID           string                    `json:"maintainerId,omitempty"`
	MaintainerTeamKey      string                    `json:"maintainerTeamKey,omitempty"`
	CustomProperties       map[string]CustomProperty `json:"customProperties"`
	Archived               bool                      `json:"archived"`
	ArchivedDate           int64                     `json:"archivedDate,omitempty"`
	Deprecated             bool                      `json:"deprecated"`
	DeprecatedDate         int64                     `json:"deprecatedDate,omitempty"`
	CreationDate           int64                     `json:"creationDate"`
	Version                int                       `json:"_version"`
	Experiments            Experiments               `json:"experiments"`
	GoalIDs                []string                  `json:"goalIds"`
	// Environments holds the targeting of each environment, by key.
	Environments map[string]*FlagConfig `json:"environments,omitempty"`
}

// Flag kinds.
const (
	KindBoolean      = "boolean"
	KindMultivariate = "multivariate"
)

// Variation is one value a flag can serve. Targeting refers to it by index;
// semantic patches refer to it by ID.
type Variation struct {
	ID          string `json:"_id"`
	Value       any    `json:"value"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// FlagDefaults are the variation indexes that seed a new environment's
// configuration: served when on (fallthrough) and when off.
type FlagDefaults struct {
	OnVariation  int `json:"onVariation"`
	OffVariation int `json:"offVariation"`
}

// CustomProperty is integration metadata attached to a flag.
type CustomProperty struct {
	Name  string   `json:"name"`
	Value []string `json:"value"`
}

// Experiments is LaunchDarkly's legacy experiment block, kept for shape.
type Experiments struct {
	BaselineIdx int   `json:"baselineIdx"`
	Items       []any `json:"items"`
}

// FlagConfig is a flag's targeting in one environment (FeatureFlagConfig).
// Version is what SDKs see and rises with every change to this environment's
// evaluation.
type FlagConfig struct {
	On                     bool               `json:"on"`
	Archived               bool               `json:"archived"`
	Salt                   string             `json:"salt"`
	Sel                    string             `json:"sel"`
	LastModified           int64              `json:"lastModified"`
	Version                int                `json:"version"`
	Targets                []Target           `json:"targets"`
	ContextTargets         []Target           `json:"contextTargets"`
	Rules                  []Rule             `json:"rules"`
	Fallthrough            VariationOrRollout `json:"fallthrough"`
	OffVariation           *int               `json:"offVariation,omitempty"`
	Prerequisites          []Prerequisite     `json:"prerequisites"`
	TrackEvents            bool               `json:"trackEvents"`
	TrackEventsFallthrough bool               `json:"trackEventsFallthrough"`
	DebugEventsUntilDate   *int64             `json:"_debugEventsUntilDate,omitempty"`
	// EnvironmentName is the environment's display name, filled on read.
	EnvironmentName string `json:"_environmentName"`
}

// FlagPost is the body that creates a flag (LaunchDarkly's FeatureFlagBody).
// Omitted variations make a boolean flag; omitted defaults serve the first
// variation when on and the last when off.
type FlagPost struct {
	Key                    string                    `json:"key"`
	Name                   string                    `json:"name"`
	Description            string                    `json:"description,omitempty"`
	Variations             []Variation               `json:"variations,omitempty"`
	Defaults               *FlagDefaults             `json:"defaults,omitempty"`
	Temporary              *bool                     `json:"temporary,omitempty"`
	Tags                   []string                  `json:"tags,omitempty"`
	ClientSideAvailability *ClientSideAvailability   `json:"clientSideAvailability,omitempty"`
	IncludeInSnippet       *bool                     `json:"includeInSnippet,omitempty"`
	CustomProperties       map[string]CustomProperty `json:"customProperties,omitempty"`
	MaintainerID           string                    `json:"maintainerId,omitempty"`
	MaintainerTeamKey      string                    `json:"maintainerTeamKey,omitempty"`
	InitialPrerequisites   []InitialPrerequisite     `json:"initialPrerequisites,omitempty"`
	IsFlagOn               bool                      `json:"isFlagOn,omitempty"`
}

// InitialPrerequisite names a prerequisite flag and the variation (by ID) it
// must serve, added to every environment of a new flag.
type InitialPrerequisite struct {
	Key         string `json:"key"`
	VariationID string `json:"variationId"`
}
