package flagstore

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// projectRoutes are the projects family and the project's flag defaults.
func (a *api) projectRoutes() []*route {
	const one = "/projects/{projectKey}"
	return []*route{
		{method: http.MethodGet, path: "/projects", operationID: "getProjects", handle: a.getProjects},
		{method: http.MethodPost, path: "/projects", operationID: "postProject", handle: a.postProject},
		{method: http.MethodGet, path: one, operationID: "getProject", handle: a.getProject},
		{method: http.MethodPatch, path: one, operationID: "patchProject", handle: a.patchProject},
		{method: http.MethodDelete, path: one, operationID: "deleteProject", handle: a.deleteProject},
		{method: http.MethodGet, path: one + "/flag-defaults", operationID: "getFlagDefaultsByProject", handle: a.getFlagDefaults},
		{method: http.MethodPut, path: one + "/flag-defaults", operationID: "putFlagDefaultsByProject", handle: a.putFlagDefaults},
		{method: http.MethodPatch, path: one + "/flag-defaults", operationID: "patchFlagDefaultsByProject", handle: a.patchFlagDefaults},
	}
}

// projectRep is LaunchDarkly's Project: environments, only when expanded,
// are a collection.
type projectRep struct {
	Project
	Environments *collection[environmentRep] `json:"environments,omitempty"`
	Links        Links                       `json:"_links"`
}

// projectFullRep is LaunchDarkly's ProjectRep (create and update): every
// environment, as a plain array.
type projectFullRep struct {
	Project
	Environments []environmentRep `json:"environments"`
	Links        Links            `json:"_links"`
}

// projectLinks are a project's self, parent, environments and flag
// defaults links.
func projectLinks(key string) Links {
	l := selfLinks(apiPath("projects", key), apiPath("projects"))
	l["environments"] = jsonLink(apiPath("projects", key, "environments"))
	l["flagDefaults"] = jsonLink(apiPath("projects", key, "flag-defaults"))
	return l
}

func newProjectRep(p Project) projectRep {
	p.Environments = nil
	return projectRep{Project: p, Links: projectLinks(p.Key)}
}

func newProjectFullRep(p Project, envs []Environment) projectFullRep {
	p.Environments = nil
	out := projectFullRep{Project: p, Environments: make([]environmentRep, len(envs)), Links: projectLinks(p.Key)}
	for i := range envs {
		out.Environments[i] = newEnvironmentRep(p.Key, envs[i])
	}
	return out
}

// expandEnvironments reports whether a project read includes its
// environments: when asked with expand=environments, and always under API
// versions before 20220603, which listed them unasked.
func expandEnvironments(r *http.Request) (bool, error) {
	ex, err := expandSet(r, "environments")
	if err != nil {
		return false, err
	}
	return ex["environments"] || APIVersionFrom(r.Context()).Version < 20220603, nil
}

// withEnvironments adds the first page of a project's environments to its
// representation, as the collection LaunchDarkly's Project carries.
func (a *api) withEnvironments(ctx context.Context, rep *projectRep) error {
	list, err := a.s.ListEnvironments(ctx, rep.Key, ListOptions{})
	if err != nil {
		return err
	}
	c := newEnvironmentCollection(rep.Key, list.Items, list.TotalCount)
	c.Links = pathPageLinks(apiPath("projects", rep.Key, "environments"), DefaultLimit, 0, list.TotalCount)
	rep.Environments = &c
	return nil
}

// pathPageLinks are pageLinks for a collection nested in another
// resource, whose links carry no query but limit and offset.
func pathPageLinks(path string, limit, offset, total int) Links {
	return pageLinks(&http.Request{URL: &url.URL{}}, path, limit, offset, total)
}

// listSort reads the sort parameter: one of the fields the endpoint
// supports, optionally with a leading "-" for descending order.
func listSort(r *http.Request, allowed ...string) (string, error) {
	v := strings.TrimSpace(r.URL.Query().Get("sort"))
	if v == "" {
		return "", nil
	}
	if !slices.Contains(allowed, strings.TrimPrefix(v, "-")) {
		return "", invalidf("sort", "unsupported sort %q: sort by one of %s, with a leading - for descending order", v, strings.Join(allowed, ", "))
	}
	return v, nil
}

// splitFilterValue splits a filter value on sep, dropping empty and
// repeated parts. For tags the separator is "+", which a query string that
// did not encode it as %2B turns into a space; both are accepted.
func splitFilterValue(v, seps string) []string {
	var out []string
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if !slices.Contains(out, part) {
			out = append(out, part)
		}
	}
	return out
}

// hasAllTags reports whether have carries every tag in want.
func hasAllTags(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

// pageOf returns one page of items already filtered and ordered.
func pageOf[T any](items []T, limit, offset int) []T {
	from := min(offset, len(items))
	to := min(from+limit, len(items))
	return items[from:to]
}

// getProjects lists projects: filter query, tags (all of them, "+"-joined)
// and keys (any of them, "|"-joined); sort name or createdOn; expand
// environments.
func (a *api) getProjects(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, DefaultLimit, 0)
	if err != nil {
		return err
	}
	terms, err := filterTerms(r, "query", "tags", "keys")
	if err != nil {
		return err
	}
	sort, err := listSort(r, "name", "createdOn")
	if err != nil {
		return err
	}
	expand, err := expandEnvironments(r)
	if err != nil {
		return err
	}
	tags := splitFilterValue(terms["tags"], "+ ")
	keys := splitFilterValue(terms["keys"], "|")
	if _, ok := terms["keys"]; ok && len(keys) == 0 {
		return invalidf("filter", "the keys filter needs at least one key")
	}
	o := ListOptions{Query: terms["query"], Sort: sort}
	if len(tags) > 0 {
		o.Tag = tags[0]
	}
	var items []Project
	var total int
	if len(tags) <= 1 && len(keys) == 0 {
		// The store's index filters and pages by itself.
		o.Limit, o.Offset = limit, offset
		list, err := a.s.ListProjects(r.Context(), o)
		if err != nil {
			return err
		}
		items, total = list.Items, list.TotalCount
	} else {
		o.Limit = maxInt
		list, err := a.s.ListProjects(r.Context(), o)
		if err != nil {
			return err
		}
		kept := list.Items[:0]
		for _, p := range list.Items {
			if hasAllTags(p.Tags, tags) && (len(keys) == 0 || slices.Contains(keys, p.Key)) {
				kept = append(kept, p)
			}
		}
		items, total = pageOf(kept, limit, offset), len(kept)
	}
	out := collection[projectRep]{Items: make([]projectRep, len(items)), TotalCount: total,
		Links: pageLinks(r, apiPath("projects"), limit, offset, total)}
	for i, p := range items {
		out.Items[i] = newProjectRep(p)
		if expand {
			if err := a.withEnvironments(r.Context(), &out.Items[i]); err != nil {
				return err
			}
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// projectPostBody is LaunchDarkly's ProjectPost as it arrives: its
// environments may name a source, which a new project cannot clone from.
type projectPostBody struct {
	ProjectPost
	Environments []environmentPostBody `json:"environments"`
}

// postProject creates a project with its environments (LaunchDarkly's
// "production" and "test" when the body names none).
func (a *api) postProject(w http.ResponseWriter, r *http.Request) error {
	var body projectPostBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	post := body.ProjectPost
	post.Environments = nil
	for i, e := range body.Environments {
		if e.Source != nil {
			return invalidf("environments", "environments[%d]: a new project's environments cannot be cloned from a source", i)
		}
		post.Environments = append(post.Environments, e.post())
	}
	p, err := a.s.CreateProject(r.Context(), post)
	if err != nil {
		return err
	}
	envs := p.Environments
	a.maskSDKKeys(r.Context(), p.Key, envs)
	return writeJSON(w, http.StatusCreated, newProjectFullRep(p, envs))
}

// getProject returns one project, with its environments when expanded.
func (a *api) getProject(w http.ResponseWriter, r *http.Request) error {
	expand, err := expandEnvironments(r)
	if err != nil {
		return err
	}
	p, err := a.s.GetProject(r.Context(), r.PathValue("projectKey"))
	if err != nil {
		return err
	}
	rep := newProjectRep(p)
	if expand {
		if err := a.withEnvironments(r.Context(), &rep); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, rep)
}

// patchProject updates a project with JSON Patch and returns it with all
// its environments.
func (a *api) patchProject(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if patch.Kind != JSONPatch {
		return invalidf("", "a project is updated with JSON Patch, not %s", patch.Kind)
	}
	p, err := a.s.PatchProject(r.Context(), r.PathValue("projectKey"), patch)
	if err != nil {
		return err
	}
	envs, err := a.s.ListEnvironments(r.Context(), p.Key, ListOptions{Limit: maxInt})
	if errors.Is(err, ErrForbidden) {
		// The change is made; one who may make it but not view the
		// project's environments gets the project without them.
		envs, err = List[Environment]{}, nil
	}
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newProjectFullRep(p, envs.Items))
}

// deleteProject deletes a project and everything in it.
func (a *api) deleteProject(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteProject(r.Context(), r.PathValue("projectKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// flagDefaultsRep is LaunchDarkly's flagDefaultsRep.
type flagDefaultsRep struct {
	ProjectFlagDefaults
	Links Links `json:"_links"`
}

// upsertPayloadRep is LaunchDarkly's upsertPayloadRep, the answer to a
// change of the flag defaults: the defaults without their key.
type upsertPayloadRep struct {
	Tags                          []string               `json:"tags"`
	Temporary                     bool                   `json:"temporary"`
	BooleanDefaults               BooleanFlagDefaults    `json:"booleanDefaults"`
	DefaultClientSideAvailability ClientSideAvailability `json:"defaultClientSideAvailability"`
	Links                         Links                  `json:"_links"`
}

func flagDefaultsLinks(proj string) Links {
	return selfLinks(apiPath("projects", proj, "flag-defaults"), apiPath("projects", proj))
}

func newUpsertPayloadRep(proj string, d ProjectFlagDefaults) upsertPayloadRep {
	return upsertPayloadRep{Tags: d.Tags, Temporary: d.Temporary, BooleanDefaults: d.BooleanDefaults,
		DefaultClientSideAvailability: d.DefaultClientSideAvailability, Links: flagDefaultsLinks(proj)}
}

// getFlagDefaults returns the defaults a project gives new flags.
func (a *api) getFlagDefaults(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	d, err := a.s.GetFlagDefaults(r.Context(), proj)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, flagDefaultsRep{ProjectFlagDefaults: d, Links: flagDefaultsLinks(proj)})
}

// flagDefaultsBody is LaunchDarkly's UpsertFlagDefaultsPayload, with
// pointers so that a missing required field can be told from a zero one.
type flagDefaultsBody struct {
	Tags            *[]string `json:"tags"`
	Temporary       *bool     `json:"temporary"`
	BooleanDefaults *struct {
		TrueDisplayName  *string `json:"trueDisplayName"`
		FalseDisplayName *string `json:"falseDisplayName"`
		TrueDescription  *string `json:"trueDescription"`
		FalseDescription *string `json:"falseDescription"`
		OnVariation      *int    `json:"onVariation"`
		OffVariation     *int    `json:"offVariation"`
	} `json:"booleanDefaults"`
	DefaultClientSideAvailability *struct {
		UsingMobileKey     *bool `json:"usingMobileKey"`
		UsingEnvironmentID *bool `json:"usingEnvironmentId"`
	} `json:"defaultClientSideAvailability"`
}

// defaults checks that every field the payload requires is present and
// returns the defaults it describes.
func (b *flagDefaultsBody) defaults() (ProjectFlagDefaults, error) {
	var missing []string
	need := func(present bool, name string) {
		if !present {
			missing = append(missing, name)
		}
	}
	need(b.Tags != nil, "tags")
	need(b.Temporary != nil, "temporary")
	need(b.BooleanDefaults != nil, "booleanDefaults")
	need(b.DefaultClientSideAvailability != nil, "defaultClientSideAvailability")
	if bd := b.BooleanDefaults; bd != nil {
		need(bd.TrueDisplayName != nil, "booleanDefaults.trueDisplayName")
		need(bd.FalseDisplayName != nil, "booleanDefaults.falseDisplayName")
		need(bd.TrueDescription != nil, "booleanDefaults.trueDescription")
		need(bd.FalseDescription != nil, "booleanDefaults.falseDescription")
		need(bd.OnVariation != nil, "booleanDefaults.onVariation")
		need(bd.OffVariation != nil, "booleanDefaults.offVariation")
	}
	if c := b.DefaultClientSideAvailability; c != nil {
		need(c.UsingMobileKey != nil, "defaultClientSideAvailability.usingMobileKey")
		need(c.UsingEnvironmentID != nil, "defaultClientSideAvailability.usingEnvironmentId")
	}
	if len(missing) > 0 {
		return ProjectFlagDefaults{}, invalidf(missing[0], "missing required fields: %s", strings.Join(missing, ", "))
	}
	bd, c := b.BooleanDefaults, b.DefaultClientSideAvailability
	return ProjectFlagDefaults{
		Tags:      *b.Tags,
		Temporary: *b.Temporary,
		BooleanDefaults: BooleanFlagDefaults{
			TrueDisplayName: *bd.TrueDisplayName, FalseDisplayName: *bd.FalseDisplayName,
			TrueDescription: *bd.TrueDescription, FalseDescription: *bd.FalseDescription,
			OnVariation: *bd.OnVariation, OffVariation: *bd.OffVariation,
		},
		DefaultClientSideAvailability: ClientSideAvailability{UsingMobileKey: *c.UsingMobileKey, UsingEnvironmentID: *c.UsingEnvironmentID},
	}, nil
}

// putFlagDefaults replaces a project's flag defaults; every field of the
// payload is required.
func (a *api) putFlagDefaults(w http.ResponseWriter, r *http.Request) error {
	var body flagDefaultsBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	d, err := body.defaults()
	if err != nil {
		return err
	}
	proj := r.PathValue("projectKey")
	out, err := a.s.PutFlagDefaults(r.Context(), proj, d)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newUpsertPayloadRep(proj, out))
}

// patchFlagDefaults updates a project's flag defaults with JSON Patch or a
// merge patch.
func (a *api) patchFlagDefaults(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	proj := r.PathValue("projectKey")
	out, err := a.s.PatchFlagDefaults(r.Context(), proj, patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newUpsertPayloadRep(proj, out))
}

// maskSDKKeys hides the SDK and mobile keys of the environments the
// request's principal may not view them in (viewSdkKey), as reads do: a
// create, update or reset answers with the environment, and must not show
// keys that a read of it would hide.
func (a *api) maskSDKKeys(ctx context.Context, proj string, envs []Environment) {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return
	}
	for i := range envs {
		d, err := a.s.Allowed(ctx, p, "viewSdkKey", envRes(proj, envs[i].Key))
		if err != nil || !d.Allowed {
			envs[i] = maskEnv(envs[i])
		}
	}
}
