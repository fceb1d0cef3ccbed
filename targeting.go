package flagstore

// The targeting vocabulary shared by flags and segments. Field names and JSON
// tags are LaunchDarkly's; stored targeting refers to variations by index.

// Clause operators LaunchDarkly's evaluator understands.
var clauseOps = map[string]bool{
	"in": true, "endsWith": true, "startsWith": true, "matches": true, "contains": true,
	"lessThan": true, "lessThanOrEqual": true, "greaterThan": true, "greaterThanOrEqual": true,
	"before": true, "after": true, "semVerEqual": true, "semVerLessThan": true,
	"semVerGreaterThan": true, "segmentMatch": true,
}

// Clause is one condition of a rule: the context attribute, the operator and
// the values it is compared with.
type Clause struct {
	ID          string `json:"_id,omitempty"`
	Attribute   string `json:"attribute"`
	Op          string `json:"op"`
	Values      []any  `json:"values"`
	ContextKind string `json:"contextKind,omitempty"`
	Negate      bool   `json:"negate"`
}

// WeightedVariation is one bucket of a percentage rollout; Weight is in
// thousandths of a percent.
type WeightedVariation struct {
	Variation int  `json:"variation"`
	Weight    int  `json:"weight"`
	Untracked bool `json:"_untracked,omitempty"`
}

// Rollout serves variations by percentage; its weights sum to 100000.
type Rollout struct {
	Variations           []WeightedVariation `json:"variations"`
	BucketBy             string              `json:"bucketBy,omitempty"`
	ContextKind          string              `json:"contextKind,omitempty"`
	Seed                 *int                `json:"seed,omitempty"`
	ExperimentAllocation map[string]any      `json:"experimentAllocation,omitempty"`
}

// VariationOrRollout is a flag's fallthrough (default rule): exactly one of a
// variation index or a rollout.
type VariationOrRollout struct {
	Variation *int     `json:"variation,omitempty"`
	Rollout   *Rollout `json:"rollout,omitempty"`
}

// Rule is one targeting rule of a flag: when every clause matches, it serves
// its variation or rollout. Rules are tried in order; the first match wins.
type Rule struct {
	ID          string   `json:"_id,omitempty"`
	Disabled    bool     `json:"disabled,omitempty"`
	Variation   *int     `json:"variation,omitempty"`
	Rollout     *Rollout `json:"rollout,omitempty"`
	Clauses     []Clause `json:"clauses"`
	TrackEvents bool     `json:"trackEvents"`
	Description string   `json:"description,omitempty"`
	Ref         string   `json:"ref,omitempty"`
}

// Target serves one variation to a list of context keys of one kind.
type Target struct {
	Values      []string `json:"values"`
	Variation   int      `json:"variation"`
	ContextKind string   `json:"contextKind,omitempty"`
}

// Prerequisite requires another flag of the project to serve the given
// variation index before this flag's targeting applies.
type Prerequisite struct {
	Key       string `json:"key"`
	Variation int    `json:"variation"`
}

// ClientSideAvailability says which client-side credentials may see a flag.
type ClientSideAvailability struct {
	UsingMobileKey     bool `json:"usingMobileKey"`
	UsingEnvironmentID bool `json:"usingEnvironmentId"`
}

// intPtr returns a pointer to a copy of v.
func intPtr(v int) *int { return &v }
