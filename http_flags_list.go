package flagstore

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

// getFeatureFlags and its filter grammar.

// flagFilterFields are the filter fields the flag list answers.
var flagFilterFields = []string{
	"query", "tags", "state", "type", "maintainerId", "maintainerTeamKey",
	"sdkAvailability", "creationDate", "filterEnv", "archived",
}

// flagFilterUnsupported are LaunchDarkly's flag filter fields that need data
// the store does not keep (evaluations, experiments, code references,
// release pipelines) or that API version 20240415 removed.
var flagFilterUnsupported = []string{
	"evaluated", "hasExperiment", "codeReferences.min", "codeReferences.max",
	"contextKindsEvaluated", "applicationEvaluated", "releasePipeline", "guardedRollout",
	"followerId", "hasDataExport", "status", "contextKindTargeted", "segmentTargeted",
}

// flagFilterTerm is one field:value term of a flag list filter.
type flagFilterTerm struct{ field, value string }

// splitFlagFilter splits a filter into its terms at the commas outside
// JSON values, so that creationDate:{"before":…} may hold commas.
func splitFlagFilter(raw string) ([]flagFilterTerm, error) {
	var out []flagFilterTerm
	if raw == "" {
		return out, nil
	}
	depth, inString, escaped, start := 0, false, false, 0
	var parts []string
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			parts = append(parts, raw[start:i])
			start = i + 1
		}
	}
	if inString || depth != 0 {
		return nil, invalidf("filter", "filter %q has an unbalanced JSON value", raw)
	}
	parts = append(parts, raw[start:])
	seen := map[string]bool{}
	for _, p := range parts {
		field, value, ok := strings.Cut(strings.TrimSpace(p), ":")
		if !ok || field == "" {
			return nil, invalidf("filter", "filter term %q is not field:value", p)
		}
		if seen[field] {
			return nil, invalidf("filter", "filter field %q is given twice", field)
		}
		seen[field] = true
		out = append(out, flagFilterTerm{field, value})
	}
	return out, nil
}

// flagListQuery is a parsed getFeatureFlags request.
type flagListQuery struct {
	opts    ListOptions
	filter  FlagFilter
	envs    []string // env parameters, then filterEnv
	summary bool
	expand  map[string]bool
	// allPages is true when an older API version asked for no limit.
	allPages bool
}

// parseFlagList reads getFeatureFlags' parameters.
func parseFlagList(r *http.Request) (*flagListQuery, error) {
	q := r.URL.Query()
	out := &flagListQuery{summary: true}
	var err error
	if out.opts.Limit, out.opts.Offset, err = pageOptions(r, DefaultLimit, 0); err != nil {
		return nil, err
	}
	if !q.Has("limit") && APIVersionFrom(r.Context()).Version < 20240415 {
		out.allPages, out.opts.Limit = true, maxInt
	}
	if q.Has("summary") {
		if out.summary, err = queryBool(r, "summary"); err != nil {
			return nil, err
		}
	}
	if out.opts.Archived, err = queryBool(r, "archived"); err != nil {
		return nil, err
	}
	if compare, err := queryBool(r, "compare"); err != nil || compare {
		if err != nil {
			return nil, err
		}
		return nil, invalidf("compare", "compare is not supported: LaunchDarkly removed it in API version 20240415")
	}
	if out.expand, err = expandSet(r, "codeReferences", "evaluation", "migrationSettings"); err != nil {
		return nil, err
	}
	if out.envs, err = queryEnvs(r); err != nil {
		return nil, err
	}
	out.opts.Tag, out.opts.Sort = q.Get("tag"), q.Get("sort")
	terms, err := splitFlagFilter(q.Get("filter"))
	if err != nil {
		return nil, err
	}
	f := &out.filter
	for _, t := range terms {
		switch t.field {
		case "query":
			out.opts.Query = t.value
		case "tags":
			// "+" joins tags; a "+" sent unencoded arrives as a space.
			for _, tag := range strings.FieldsFunc(t.value, func(r rune) bool { return r == '+' || r == ' ' }) {
				if !slices.Contains(f.Tags, tag) {
					f.Tags = append(f.Tags, tag)
				}
			}
			if len(f.Tags) == 0 {
				return nil, invalidf("filter", "tags needs at least one tag")
			}
		case "state":
			f.State = t.value
		case "type":
			f.Type = t.value
		case "maintainerId":
			f.MaintainerID = t.value
		case "maintainerTeamKey":
			f.MaintainerTeamKey = t.value
		case "sdkAvailability":
			f.SDKAvailability = t.value
		case "creationDate":
			var cd struct {
				Before *int64 `json:"before"`
			}
			dec := json.NewDecoder(bytes.NewReader([]byte(t.value)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&cd); err != nil || !strings.HasPrefix(strings.TrimSpace(t.value), "{") {
				return nil, invalidf("filter", `creationDate must be an object such as {"before":1690527600000}`)
			}
			if cd.Before != nil {
				if *cd.Before <= 0 {
					return nil, invalidf("filter", "creationDate.before must be a positive Unix time in milliseconds")
				}
				f.CreatedBefore = *cd.Before
			}
		case "filterEnv":
			if t.value == "" {
				return nil, invalidf("filter", "filterEnv must name an environment")
			}
			if !slices.Contains(out.envs, t.value) {
				out.envs = append(out.envs, t.value)
			}
		case "archived":
			switch t.value {
			case "true":
				out.opts.Archived = true
			case "false":
			default:
				return nil, invalidf("filter", "archived must be true or false")
			}
		default:
			if slices.Contains(flagFilterUnsupported, t.field) {
				return nil, invalidf("filter", "filter field %q is not supported (supported: %s)", t.field, strings.Join(flagFilterFields, ", "))
			}
			return nil, invalidf("filter", "unknown filter field %q (supported: %s)", t.field, strings.Join(flagFilterFields, ", "))
		}
	}
	f.Environments = out.envs
	return out, nil
}

// getFeatureFlags answers getFeatureFlags: a page of the project's flags,
// in the summary form unless summary=0 comes with environments to show.
// Under API version 20240415 the environments map is shown only when env
// or filterEnv narrows the list; older versions show every environment
// otherwise.
func (a *api) getFeatureFlags(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	lq, err := parseFlagList(r)
	if err != nil {
		return err
	}
	l, err := a.s.ListFlagsFiltered(r.Context(), proj, lq.opts, lq.filter)
	if err != nil {
		return err
	}
	shape := flagShape{
		noEnvs:     len(lq.envs) == 0 && APIVersionFrom(r.Context()).Version >= 20240415,
		summary:    lq.summary || len(lq.envs) == 0,
		evaluation: lq.expand["evaluation"],
	}
	people := newFlagPeople(a.s)
	out := collection[*flagRep]{Items: make([]*flagRep, 0, len(l.Items)), TotalCount: l.TotalCount}
	for _, f := range l.Items {
		rep, err := people.rep(r.Context(), proj, f, shape)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, rep)
	}
	path := apiPath("flags", proj)
	if lq.allPages {
		self := path
		if r.URL.RawQuery != "" {
			self += "?" + r.URL.RawQuery
		}
		out.Links = Links{"self": jsonLink(self)}
	} else {
		out.Links = pageLinks(r, path, lq.opts.Limit, lq.opts.Offset, l.TotalCount)
	}
	return writeJSON(w, http.StatusOK, out)
}
