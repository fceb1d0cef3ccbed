package flagstore

// Segment is a reusable set of contexts in one environment of a project
// (LaunchDarkly's UserSegment). Included and Excluded hold user-kind keys;
// IncludedContexts and ExcludedContexts hold keys of other kinds.
type Segment struct {
	Key                  string          `json:"key"`
	Name                 string          `json:"name"`
	Description          string          `json:"description,omitempty"`
	Tags                 []string        `json:"tags"`
	CreationDate         int64           `json:"creationDate"`
	LastModifiedDate     int64           `json:"lastModifiedDate"`
	Included             []string        `json:"included"`
	Excluded             []string        `json:"excluded"`
	IncludedContexts     []SegmentTarget `json:"includedContexts,omitempty"`
	ExcludedContexts     []SegmentTarget `json:"excludedContexts,omitempty"`
	Rules                []SegmentRule   `json:"rules"`
	Version              int             `json:"version"`
	Deleted              bool            `json:"deleted"`
	Unbounded            bool            `json:"unbounded,omitempty"`
	UnboundedContextKind string          `json:"unboundedContextKind,omitempty"`
	Generation           int             `json:"generation"`
}

// SegmentTarget lists keys of one context kind.
type SegmentTarget struct {
	ContextKind string   `json:"contextKind"`
	Values      []string `json:"values"`
}

// SegmentRule includes the contexts that match all its clauses; with a Weight
// (thousandths of a percent), only that share of them.
type SegmentRule struct {
	ID                 string   `json:"_id,omitempty"`
	Clauses            []Clause `json:"clauses"`
	Weight             *int     `json:"weight,omitempty"`
	RolloutContextKind string   `json:"rolloutContextKind,omitempty"`
	BucketBy           string   `json:"bucketBy,omitempty"`
	Description        string   `json:"description,omitempty"`
}

// SegmentPost is the body that creates a segment (LaunchDarkly's
// SegmentBody).
type SegmentPost struct {
	Key                  string   `json:"key"`
	Name                 string   `json:"name"`
	Description          string   `json:"description,omitempty"`
	Tags                 []string `json:"tags,omitempty"`
	Unbounded            bool     `json:"unbounded,omitempty"`
	UnboundedContextKind string   `json:"unboundedContextKind,omitempty"`
}
