package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// The feature flag routes: list, create (and clone), get, update in the
// three PATCH dialects, delete, and copy between environments. Flag
// statuses and expiring targets have their own files.
//
// Where LaunchDarkly is silent, these routes decide:
//   - An env or filterEnv naming no environment of the project is a 404,
//     a status both GET operations declare; an empty one is a 400. In a
//     copy body, an unknown environment is a 400 (copyFeatureFlag declares
//     no 404 but for the flag itself).
//   - A create body with purpose or migrationSettings is a 400: the store
//     has no migration or holdout flags. With clone, isFlagOn and
//     initialPrerequisites are a 400 (the clone copies both).
//   - expand=codeReferences, evaluation and migrationSettings are accepted
//     where LaunchDarkly offers them; evaluation adds an empty
//     evaluation.contextKinds to each environment shown (the store sees no
//     evaluations), the others add nothing (no code references, no
//     migration flags). Any other value is a 400.
//   - compare=true is a 400: LaunchDarkly removed it in 20240415, and the
//     store does not compute totalCountWithDifferences.
//   - API versions before 20240415 list every flag unless limit is given,
//     and show every environment unless narrowed.

// flagRoutes are the feature flag routes.
func (a *api) flagRoutes() []*route {
	return []*route{
		{method: http.MethodGet, path: "/flags/{projectKey}", operationID: "getFeatureFlags", handle: a.getFeatureFlags},
		{method: http.MethodPost, path: "/flags/{projectKey}", operationID: "postFeatureFlag", handle: a.postFeatureFlag},
		{method: http.MethodGet, path: "/flags/{projectKey}/{featureFlagKey}", operationID: "getFeatureFlag", handle: a.getFeatureFlag},
		{method: http.MethodPatch, path: "/flags/{projectKey}/{featureFlagKey}", operationID: "patchFeatureFlag", handle: a.patchFeatureFlag},
		{method: http.MethodDelete, path: "/flags/{projectKey}/{featureFlagKey}", operationID: "deleteFeatureFlag", handle: a.deleteFeatureFlag},
		{method: http.MethodPost, path: "/flags/{projectKey}/{featureFlagKey}/copy", operationID: "copyFeatureFlag", handle: a.copyFeatureFlag},
	}
}

// flagRep is a flag as the API shows it (FeatureFlag): the stored flag
// with its links, its maintainer, and its environments' representations.
type flagRep struct {
	Flag
	// Description is shown even when empty, as LaunchDarkly shows it and
	// as JSON Patch sees it.
	Description    string                    `json:"description"`
	Links          Links                     `json:"_links"`
	Maintainer     *flagMaintainerRep        `json:"_maintainer,omitempty"`
	MaintainerTeam *flagMaintainerTeamRep    `json:"_maintainerTeam,omitempty"`
	Environments   map[string]*flagConfigRep `json:"environments,omitempty"`
}

// flagMaintainerRep is the maintainer member (MemberSummary).
type flagMaintainerRep struct {
	MemberSummary
	Links Links `json:"_links"`
}

// flagMaintainerTeamRep is the maintainer team (MaintainerTeam).
type flagMaintainerTeamRep struct {
	Key   string `json:"key"`
	Name  string `json:"name"`
	Links Links  `json:"_links"`
}

// flagConfigRep is one environment's configuration (FeatureFlagConfig).
// Its list fields are pointers so that the summary form can leave them
// out while the detailed form shows empty lists as [].
type flagConfigRep struct {
	FlagConfig
	Targets        *[]Target          `json:"targets,omitempty"`
	ContextTargets *[]Target          `json:"contextTargets,omitempty"`
	Rules          *[]Rule            `json:"rules,omitempty"`
	Prerequisites  *[]Prerequisite    `json:"prerequisites,omitempty"`
	Site           Link               `json:"_site"`
	Summary        flagSummaryRep     `json:"_summary"`
	Evaluation     *flagEvaluationRep `json:"evaluation,omitempty"`
}

// flagSummaryRep counts what each variation is served by (FlagSummary).
type flagSummaryRep struct {
	Variations    map[string]flagVariationSummary `json:"variations"`
	Prerequisites int                             `json:"prerequisites"`
}

// flagVariationSummary is one variation's counts (VariationSummary):
// rules (with clauses) and nullRules (without clauses) that serve it, alone
// or with a positive rollout weight; its individual targets' keys, of
// kind user (targets) and of other kinds (contextTargets); whether the
// fallthrough and the off variation serve it; and, when the fallthrough is
// a rollout, its weight there and the rollout's bucketBy.
type flagVariationSummary struct {
	Rules          int    `json:"rules"`
	NullRules      int    `json:"nullRules"`
	Targets        int    `json:"targets"`
	ContextTargets int    `json:"contextTargets"`
	IsFallthrough  bool   `json:"isFallthrough,omitempty"`
	IsOff          bool   `json:"isOff,omitempty"`
	Rollout        int    `json:"rollout,omitempty"`
	BucketBy       string `json:"bucketBy,omitempty"`
}

// flagEvaluationRep is expand=evaluation (FlagConfigEvaluation).
type flagEvaluationRep struct {
	ContextKinds []string `json:"contextKinds"`
}

// flagShape says how much of a flag a response shows.
type flagShape struct {
	// envs narrows the environments shown (nil: all of them).
	envs []string
	// noEnvs leaves the environments map out.
	noEnvs bool
	// summary leaves each environment's targets, contextTargets, rules and
	// prerequisites out.
	summary bool
	// evaluation adds each environment's evaluation block.
	evaluation bool
}

// flagPeople looks up maintainers once per request.
type flagPeople struct {
	s       *Store
	members map[string]*flagMaintainerRep
	teams   map[string]*flagMaintainerTeamRep
}

func newFlagPeople(s *Store) *flagPeople {
	return &flagPeople{s: s, members: map[string]*flagMaintainerRep{}, teams: map[string]*flagMaintainerTeamRep{}}
}

// member is the maintainer member, nil once the member is gone.
func (p *flagPeople) member(ctx context.Context, id string) (*flagMaintainerRep, error) {
	if rep, ok := p.members[id]; ok {
		return rep, nil
	}
	m, err := p.s.GetMember(ctx, id)
	var rep *flagMaintainerRep
	switch {
	case err == nil:
		rep = &flagMaintainerRep{MemberSummary: *summarizeMember(&m), Links: selfLinks(apiPath("members", m.ID), "")}
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	p.members[id] = rep
	return rep, nil
}

// team is the maintainer team, nil once the team is gone.
func (p *flagPeople) team(ctx context.Context, key string) (*flagMaintainerTeamRep, error) {
	if rep, ok := p.teams[key]; ok {
		return rep, nil
	}
	t, err := p.s.GetTeam(ctx, key)
	var rep *flagMaintainerTeamRep
	switch {
	case err == nil:
		rep = &flagMaintainerTeamRep{Key: t.Key, Name: t.Name, Links: selfLinks(apiPath("teams", t.Key), apiPath("teams"))}
	case !errors.Is(err, ErrNotFound):
		return nil, err
	}
	p.teams[key] = rep
	return rep, nil
}

// rep builds a flag's representation in the given shape.
func (p *flagPeople) rep(ctx context.Context, proj string, f Flag, shape flagShape) (*flagRep, error) {
	out := &flagRep{Description: f.Description, Links: selfLinks(apiPath("flags", proj, f.Key), apiPath("flags", proj))}
	var err error
	if f.MaintainerID != "" {
		if out.Maintainer, err = p.member(ctx, f.MaintainerID); err != nil {
			return nil, err
		}
	}
	if f.MaintainerTeamKey != "" {
		if out.MaintainerTeam, err = p.team(ctx, f.MaintainerTeamKey); err != nil {
			return nil, err
		}
	}
	if !shape.noEnvs {
		out.Environments = make(map[string]*flagConfigRep, len(f.Environments))
		for env, c := range f.Environments {
			if c == nil || shape.envs != nil && !slices.Contains(shape.envs, env) {
				continue
			}
			out.Environments[env] = flagConfigRepOf(proj, env, &f, c, shape)
		}
	}
	f.Environments = nil
	out.Flag = f
	return out, nil
}

// flagConfigRepOf builds one environment's representation.
func flagConfigRepOf(proj, env string, f *Flag, c *FlagConfig, shape flagShape) *flagConfigRep {
	rep := &flagConfigRep{
		FlagConfig: *c,
		Site:       siteLink("/" + url.PathEscape(proj) + "/" + url.PathEscape(env) + "/features/" + url.PathEscape(f.Key)),
		Summary:    flagSummaryOf(len(f.Variations), c),
	}
	if !shape.summary {
		rep.Targets, rep.ContextTargets = &c.Targets, &c.ContextTargets
		rep.Rules, rep.Prerequisites = &c.Rules, &c.Prerequisites
	}
	if shape.evaluation {
		rep.Evaluation = &flagEvaluationRep{ContextKinds: []string{}}
	}
	return rep
}

// flagSummaryOf counts, per variation, what serves it in one environment.
func flagSummaryOf(n int, c *FlagConfig) flagSummaryRep {
	vs := make([]flagVariationSummary, n)
	at := func(i int) *flagVariationSummary {
		if i < 0 || i >= n {
			return nil
		}
		return &vs[i]
	}
	for _, t := range c.Targets {
		if v := at(t.Variation); v != nil {
			v.Targets += len(t.Values)
		}
	}
	for _, t := range c.ContextTargets {
		if v := at(t.Variation); v != nil {
			v.ContextTargets += len(t.Values)
		}
	}
	for _, r := range c.Rules {
		count := func(v *flagVariationSummary) {
			if len(r.Clauses) == 0 {
				v.NullRules++
			} else {
				v.Rules++
			}
		}
		if r.Variation != nil {
			if v := at(*r.Variation); v != nil {
				count(v)
			}
		} else if r.Rollout != nil {
			seen := map[int]bool{}
			for _, wv := range r.Rollout.Variations {
				if v := at(wv.Variation); v != nil && wv.Weight > 0 && !seen[wv.Variation] {
					seen[wv.Variation] = true
					count(v)
				}
			}
		}
	}
	if fv := c.Fallthrough.Variation; fv != nil {
		if v := at(*fv); v != nil {
			v.IsFallthrough = true
		}
	} else if ro := c.Fallthrough.Rollout; ro != nil {
		for _, wv := range ro.Variations {
			if v := at(wv.Variation); v != nil {
				v.Rollout += wv.Weight
				v.BucketBy = ro.BucketBy
			}
		}
	}
	if c.OffVariation != nil {
		if v := at(*c.OffVariation); v != nil {
			v.IsOff = true
		}
	}
	out := flagSummaryRep{Variations: make(map[string]flagVariationSummary, n), Prerequisites: len(c.Prerequisites)}
	for i, v := range vs {
		out.Variations[strconv.Itoa(i)] = v
	}
	return out
}

// queryEnvs reads the repeatable env parameter, each key once.
func queryEnvs(r *http.Request) ([]string, error) {
	var out []string
	for _, e := range r.URL.Query()["env"] {
		if e == "" {
			return nil, invalidf("env", "env must name an environment")
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// getFeatureFlag answers getFeatureFlag: one flag with every environment,
// or the ones env names.
func (a *api) getFeatureFlag(w http.ResponseWriter, r *http.Request) error {
	proj, key := r.PathValue("projectKey"), r.PathValue("featureFlagKey")
	envs, err := queryEnvs(r)
	if err != nil {
		return err
	}
	expand, err := expandSet(r, "evaluation", "migrationSettings")
	if err != nil {
		return err
	}
	f, err := a.s.GetFlag(r.Context(), proj, key)
	if err != nil {
		return err
	}
	for _, e := range envs {
		if _, ok := f.Environments[e]; !ok {
			return notFoundf("Unknown environment %q in project %q", e, proj)
		}
	}
	return a.writeFlag(w, r, http.StatusOK, proj, f, flagShape{envs: envs, evaluation: expand["evaluation"]})
}

// writeFlag writes one flag's representation.
func (a *api) writeFlag(w http.ResponseWriter, r *http.Request, status int, proj string, f Flag, shape flagShape) error {
	rep, err := newFlagPeople(a.s).rep(r.Context(), proj, f, shape)
	if err != nil {
		return err
	}
	return writeJSON(w, status, rep)
}

// flagCreateBody is FeatureFlagBody, with the fields of flag kinds the
// store does not have, so that they can be refused.
type flagCreateBody struct {
	FlagPost
	Purpose           *string         `json:"purpose"`
	MigrationSettings json.RawMessage `json:"migrationSettings"`
}

// postFeatureFlag answers postFeatureFlag: 201 with the new flag; with
// clone, the new flag copies an existing flag's targeting.
func (a *api) postFeatureFlag(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	var body flagCreateBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Purpose != nil || body.MigrationSettings != nil {
		return invalidf("purpose", "migration and holdout flags are not supported")
	}
	var f Flag
	var err error
	q := r.URL.Query()
	if q.Has("clone") {
		f, err = a.s.CloneFlag(r.Context(), proj, q.Get("clone"), body.FlagPost)
	} else {
		f, err = a.s.CreateFlag(r.Context(), proj, body.FlagPost)
	}
	if err != nil {
		return err
	}
	return a.writeFlag(w, r, http.StatusCreated, proj, f, flagShape{})
}

// patchFeatureFlag answers patchFeatureFlag in any of the three dialects,
// with dryRun. ignoreConflicts is accepted and changes nothing: the store
// has no scheduled changes or approval requests to conflict with.
func (a *api) patchFeatureFlag(w http.ResponseWriter, r *http.Request) error {
	proj, key := r.PathValue("projectKey"), r.PathValue("featureFlagKey")
	p, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if _, err := queryBool(r, "ignoreConflicts"); err != nil {
		return err
	}
	f, err := a.s.PatchFlag(r.Context(), proj, key, p)
	if err != nil {
		return err
	}
	return a.writeFlag(w, r, http.StatusOK, proj, f, flagShape{})
}

// deleteFeatureFlag answers deleteFeatureFlag: 204, or 409 while another
// flag uses this one as a prerequisite.
func (a *api) deleteFeatureFlag(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteFlag(r.Context(), r.PathValue("projectKey"), r.PathValue("featureFlagKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// copyFeatureFlag answers copyFeatureFlag: 201 with the flag after its
// targeting was copied from one environment to another.
func (a *api) copyFeatureFlag(w http.ResponseWriter, r *http.Request) error {
	proj, key := r.PathValue("projectKey"), r.PathValue("featureFlagKey")
	var body FlagCopy
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	f, err := a.s.CopyFlagConfig(r.Context(), proj, key, body)
	if err != nil {
		return err
	}
	return a.writeFlag(w, r, http.StatusCreated, proj, f, flagShape{})
}
