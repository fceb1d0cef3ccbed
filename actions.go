package flagstore

import (
	"slices"
	"strings"
)

// The one table from what a write changes to the LaunchDarkly action that
// the change needs: a field of the resource's JSON representation, named by
// its JSON key, maps to an action. Updates of every dialect (Go callbacks,
// JSON Patch, merge patch, semantic patch) are compared before and after
// through these tables, so the audit log's accesses and the policy checks
// agree whatever the dialect. Semantic instructions also name their action
// directly (flagInstructionAction, segmentInstructionAction); both routes
// end in the same names.

// fieldAction names the action that changing one field needs.
type fieldAction[T any] struct {
	field  string
	get    func(*T) any
	action string
}

// flagFieldActions covers a flag's flag-wide fields.
var flagFieldActions = []fieldAction[Flag]{
	{"name", func(f *Flag) any { return f.Name }, "updateName"},
	{"description", func(f *Flag) any { return f.Description }, "updateDescription"},
	{"tags", func(f *Flag) any { return f.Tags }, "updateTags"},
	{"temporary", func(f *Flag) any { return f.Temporary }, "updateTemporary"},
	{"deprecated", func(f *Flag) any { return f.Deprecated }, "updateDeprecated"},
	{"archived", func(f *Flag) any { return f.Archived }, "updateGlobalArchived"},
	{"includeInSnippet", func(f *Flag) any { return f.IncludeInSnippet }, "updateIncludeInSnippet"},
	{"clientSideAvailability", func(f *Flag) any { return f.ClientSideAvailability }, "updateClientSideFlagAvailability"},
	{"variations", func(f *Flag) any { return f.Variations }, "updateFlagVariations"},
	{"defaults", func(f *Flag) any { return f.Defaults }, "updateFlagDefaultVariations"},
	{"customProperties", func(f *Flag) any { return f.CustomProperties }, "updateFlagCustomProperties"},
	{"maintainerId", func(f *Flag) any { return f.MaintainerID }, "updateMaintainer"},
	{"maintainerTeamKey", func(f *Flag) any { return f.MaintainerTeamKey }, "updateMaintainer"},
}

// flagConfigFieldActions covers one environment's targeting of a flag.
var flagConfigFieldActions = []fieldAction[FlagConfig]{
	{"on", func(c *FlagConfig) any { return c.On }, "updateOn"},
	{"targets", func(c *FlagConfig) any { return c.Targets }, "updateTargets"},
	{"contextTargets", func(c *FlagConfig) any { return c.ContextTargets }, "updateTargets"},
	{"rules", func(c *FlagConfig) any { return c.Rules }, "updateRules"},
	{"fallthrough", func(c *FlagConfig) any { return c.Fallthrough }, "updateFallthrough"},
	{"offVariation", func(c *FlagConfig) any { return c.OffVariation }, "updateOffVariation"},
	{"prerequisites", func(c *FlagConfig) any { return c.Prerequisites }, "updatePrerequisites"},
	{"trackEvents", func(c *FlagConfig) any { return c.TrackEvents }, "updateTrackEvents"},
	{"trackEventsFallthrough", func(c *FlagConfig) any { return c.TrackEventsFallthrough }, "updateFlagFallthroughTrackEvents"},
	{"salt", func(c *FlagConfig) any { return c.Salt }, "updateFlagSalt"},
	{"sel", func(c *FlagConfig) any { return c.Sel }, "updateFlagSalt"},
}

// segmentFieldActions covers a segment.
var segmentFieldActions = []fieldAction[Segment]{
	{"name", func(s *Segment) any { return s.Name }, "updateName"},
	{"description", func(s *Segment) any { return s.Description }, "updateDescription"},
	{"tags", func(s *Segment) any { return s.Tags }, "updateTags"},
	{"included", func(s *Segment) any { return s.Included }, "updateIncluded"},
	{"includedContexts", func(s *Segment) any { return s.IncludedContexts }, "updateIncluded"},
	{"excluded", func(s *Segment) any { return s.Excluded }, "updateExcluded"},
	{"excludedContexts", func(s *Segment) any { return s.ExcludedContexts }, "updateExcluded"},
	{"rules", func(s *Segment) any { return s.Rules }, "updateRules"},
}

// projectFieldActions covers a project.
var projectFieldActions = []fieldAction[Project]{
	{"name", func(p *Project) any { return p.Name }, "updateProjectName"},
	{"tags", func(p *Project) any { return p.Tags }, "updateTags"},
	{"includeInSnippetByDefault", func(p *Project) any { return p.IncludeInSnippetByDefault }, "updateIncludeInSnippetByDefault"},
	{"defaultClientSideAvailability", func(p *Project) any { return p.DefaultClientSideAvailability }, "updateDefaultClientSideAvailability"},
}

// environmentFieldActions covers an environment's own settings.
var environmentFieldActions = []fieldAction[Environment]{
	{"name", func(e *Environment) any { return e.Name }, "updateName"},
	{"color", func(e *Environment) any { return e.Color }, "updateColor"},
	{"tags", func(e *Environment) any { return e.Tags }, "updateTags"},
	{"defaultTtl", func(e *Environment) any { return e.DefaultTTL }, "updateTtl"},
	{"secureMode", func(e *Environment) any { return e.SecureMode }, "updateSecureMode"},
	{"defaultTrackEvents", func(e *Environment) any { return e.DefaultTrackEvents }, "updateDefaultTrackEvents"},
	{"requireComments", func(e *Environment) any { return e.RequireComments }, "updateRequireComments"},
	{"confirmChanges", func(e *Environment) any { return e.ConfirmChanges }, "updateConfirmChanges"},
	{"critical", func(e *Environment) any { return e.Critical }, "updateCritical"},
	{"apiKey", func(e *Environment) any { return e.APIKey }, "updateApiKey"},
	{"mobileKey", func(e *Environment) any { return e.MobileKey }, "updateMobileKey"},
}

// metricFieldActions covers a metric. Key and kind are read-only.
var metricFieldActions = []fieldAction[Metric]{
	{"name", func(m *Metric) any { return m.Name }, "updateName"},
	{"description", func(m *Metric) any { return m.Description }, "updateDescription"},
	{"tags", func(m *Metric) any { return m.Tags }, "updateTags"},
	{"maintainerId", func(m *Metric) any { return m.MaintainerID }, "updateMaintainer"},
	{"isNumeric", func(m *Metric) any { return m.IsNumeric }, "updateNumeric"},
	{"successCriteria", func(m *Metric) any { return m.SuccessCriteria }, "updateNumericSuccess"},
	{"unit", func(m *Metric) any { return m.Unit }, "updateNumericUnit"},
	{"eventKey", func(m *Metric) any { return m.EventKey }, "updateEventKey"},
	{"randomizationUnits", func(m *Metric) any { return m.RandomizationUnits }, "updateRandomizationUnits"},
	{"unitAggregationType", func(m *Metric) any { return m.UnitAggregationType }, "updateUnitAggregationType"},
	{"selector", func(m *Metric) any { return m.Selector }, "updateSelector"},
	{"urls", func(m *Metric) any { return m.URLs }, "updateUrls"},
	{"eventDefault", func(m *Metric) any { return m.EventDefault }, "updateEventDefault"},
}

// roleFieldActions covers a custom role. resourceCategory has no action in
// LaunchDarkly's list and is read-only after creation.
var roleFieldActions = []fieldAction[CustomRole]{
	{"name", func(r *CustomRole) any { return r.Name }, "updateName"},
	{"description", func(r *CustomRole) any { return r.Description }, "updateDescription"},
	{"policy", func(r *CustomRole) any { return r.Policy }, "updatePolicy"},
	{"basePermissions", func(r *CustomRole) any { return r.BasePermissions }, "updateBasePermissions"},
}

// webhookFieldActions covers a webhook. LaunchDarkly's updateQuery is for
// a legacy field this store does not have.
var webhookFieldActions = []fieldAction[Webhook]{
	{"name", func(h *Webhook) any { return h.Name }, "updateName"},
	{"url", func(h *Webhook) any { return h.URL }, "updateUrl"},
	{"secret", func(h *Webhook) any { return h.Secret }, "updateSecret"},
	{"on", func(h *Webhook) any { return h.On }, "updateOn"},
	{"statements", func(h *Webhook) any { return h.Statements }, "updateStatements"},
	{"tags", func(h *Webhook) any { return h.Tags }, "updateTags"},
}

// memberFieldActions covers a member: LaunchDarkly lets only its roles and
// role attributes change.
var memberFieldActions = []fieldAction[Member]{
	{"role", func(m *Member) any { return m.Role }, "updateRole"},
	{"customRoles", func(m *Member) any { return m.CustomRoles }, "updateCustomRole"},
	{"roleAttributes", func(m *Member) any { return m.RoleAttributes }, "updateMemberRoleAttributes"},
}

// teamFieldActions covers a team. Membership changes that keep the count
// and permission-grant changes are added by PatchTeam itself.
var teamFieldActions = []fieldAction[Team]{
	{"name", func(t *Team) any { return t.Name }, "updateTeamName"},
	{"description", func(t *Team) any { return t.Description }, "updateTeamDescription"},
	{"customRoleKeys", func(t *Team) any { return t.CustomRoleKeys }, "updateTeamCustomRoles"},
	{"roleAttributes", func(t *Team) any { return t.RoleAttributes }, "updateTeamRoleAttributes"},
	{"members", func(t *Team) any { return t.Members }, "updateTeamMembers"},
}

// tokenFieldActions covers an access token. A token's defaultApiVersion
// decides how its requests are read, so it is guarded like its policy.
var tokenFieldActions = []fieldAction[Token]{
	{"name", func(t *Token) any { return t.Name }, "updateAccessTokenName"},
	{"description", func(t *Token) any { return t.Description }, "updateAccessTokenDescription"},
	{"role", func(t *Token) any { return t.Role }, "updateAccessTokenPolicy"},
	{"customRoleIds", func(t *Token) any { return t.CustomRoleIDs }, "updateAccessTokenPolicy"},
	{"inlineRole", func(t *Token) any { return t.InlineRole }, "updateAccessTokenPolicy"},
	{"defaultApiVersion", func(t *Token) any { return t.DefaultAPIVersion }, "updateAccessTokenPolicy"},
}

// changedActions lists, once each and in table order, the actions of the
// fields that differ between before and after.
func changedActions[T any](table []fieldAction[T], before, after *T) []string {
	var out []string
	for _, fa := range table {
		if !jsonEqual(fa.get(before), fa.get(after)) && !slices.Contains(out, fa.action) {
			out = append(out, fa.action)
		}
	}
	return out
}

// pathAction returns the action a JSON Pointer into a resource needs: the
// action of the table field its first segment names.
func pathAction[T any](table []fieldAction[T], pointer string) (string, bool) {
	field, _, _ := strings.Cut(strings.TrimPrefix(pointer, "/"), "/")
	for _, fa := range table {
		if fa.field == field {
			return fa.action, true
		}
	}
	return "", false
}

// flagPathAction returns the action a JSON Pointer into a flag needs, and
// the environment it is scoped to ("" for flag-wide fields).
func flagPathAction(pointer string) (action, env string, ok bool) {
	parts := strings.SplitN(strings.TrimPrefix(pointer, "/"), "/", 3)
	if parts[0] == "environments" && len(parts) == 3 {
		a, ok := pathAction(flagConfigFieldActions, "/"+parts[2])
		return a, parts[1], ok
	}
	a, ok := pathAction(flagFieldActions, pointer)
	return a, "", ok
}
