package flagstore

import (
	"context"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/flagstore/flagstore/store"
)

// environmentRoutes are the environments family.
func (a *api) environmentRoutes() []*route {
	const list = "/projects/{projectKey}/environments"
	const one = list + "/{environmentKey}"
	return []*route{
		{method: http.MethodGet, path: list, operationID: "getEnvironmentsByProject", handle: a.getEnvironments},
		{method: http.MethodPost, path: list, operationID: "postEnvironment", handle: a.postEnvironment},
		{method: http.MethodGet, path: one, operationID: "getEnvironment", handle: a.getEnvironment},
		{method: http.MethodPatch, path: one, operationID: "patchEnvironment", handle: a.patchEnvironment},
		{method: http.MethodDelete, path: one, operationID: "deleteEnvironment", handle: a.deleteEnvironment},
		{method: http.MethodPost, path: one + "/apiKey", operationID: "resetEnvironmentSDKKey", handle: a.resetSDKKey},
		{method: http.MethodPost, path: one + "/mobileKey", operationID: "resetEnvironmentMobileKey", handle: a.resetMobileKey},
	}
}

// environmentRep is LaunchDarkly's Environment.
type environmentRep struct {
	Environment
	Links Links `json:"_links"`
}

func newEnvironmentRep(proj string, e Environment) environmentRep {
	return environmentRep{Environment: e, Links: selfLinks(
		apiPath("projects", proj, "environments", e.Key), apiPath("projects", proj, "environments"))}
}

// newEnvironmentCollection wraps environments in LaunchDarkly's
// Environments envelope; the caller sets the links.
func newEnvironmentCollection(proj string, envs []Environment, total int) collection[environmentRep] {
	c := collection[environmentRep]{Items: make([]environmentRep, len(envs)), TotalCount: total}
	for i := range envs {
		c.Items[i] = newEnvironmentRep(proj, envs[i])
	}
	return c
}

// getEnvironments lists a project's environments: filter query and tags
// (all of them, "+"-joined); sort name, createdOn or critical.
func (a *api) getEnvironments(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	limit, offset, err := pageOptions(r, DefaultLimit, 0)
	if err != nil {
		return err
	}
	terms, err := filterTerms(r, "query", "tags")
	if err != nil {
		return err
	}
	order, err := listSort(r, "name", "createdOn", "critical")
	if err != nil {
		return err
	}
	tags := splitFilterValue(terms["tags"], "+ ")
	o := ListOptions{Query: terms["query"]}
	if len(tags) > 0 {
		o.Tag = tags[0]
	}
	critical := order == "critical" || order == "-critical"
	if !critical {
		o.Sort = order
	}
	var items []Environment
	var total int
	if len(tags) <= 1 && !critical {
		o.Limit, o.Offset = limit, offset
		list, err := a.s.ListEnvironments(r.Context(), proj, o)
		if err != nil {
			return err
		}
		items, total = list.Items, list.TotalCount
	} else {
		// A project has few environments: filter and order them here.
		o.Limit = maxInt
		list, err := a.s.ListEnvironments(r.Context(), proj, o)
		if err != nil {
			return err
		}
		kept := list.Items[:0]
		for _, e := range list.Items {
			if hasAllTags(e.Tags, tags) {
				kept = append(kept, e)
			}
		}
		if critical {
			// Oldest first among equals; descending puts critical first.
			desc := order == "-critical"
			sort.SliceStable(kept, func(i, j int) bool { return kept[i].Critical != kept[j].Critical && kept[i].Critical == desc })
		}
		items, total = pageOf(kept, limit, offset), len(kept)
	}
	out := newEnvironmentCollection(proj, items, total)
	out.Links = pageLinks(r, apiPath("projects", proj, "environments"), limit, offset, total)
	return writeJSON(w, http.StatusOK, out)
}

// environmentSource is EnvironmentPost's source: the environment to clone
// and, optionally, the version it must be at.
type environmentSource struct {
	Key     string `json:"key"`
	Version *int   `json:"version"`
}

// environmentPostBody is LaunchDarkly's EnvironmentPost as it arrives, with
// pointers so that settings the body leaves out can come from a source.
type environmentPostBody struct {
	Key                string             `json:"key"`
	Name               string             `json:"name"`
	Color              string             `json:"color"`
	DefaultTTL         *int               `json:"defaultTtl"`
	SecureMode         *bool              `json:"secureMode"`
	DefaultTrackEvents *bool              `json:"defaultTrackEvents"`
	ConfirmChanges     *bool              `json:"confirmChanges"`
	RequireComments    *bool              `json:"requireComments"`
	Tags               []string           `json:"tags"`
	Critical           *bool              `json:"critical"`
	Source             *environmentSource `json:"source"`
}

// post is the create body with the settings the request gave.
func (b *environmentPostBody) post() EnvironmentPost {
	return b.over(&Environment{})
}

// over is the create body with the settings the request gave, and the
// others taken from base (a source environment, or zero values).
func (b *environmentPostBody) over(base *Environment) EnvironmentPost {
	p := EnvironmentPost{
		Key: b.Key, Name: b.Name, Color: b.Color,
		DefaultTTL: base.DefaultTTL, SecureMode: base.SecureMode, DefaultTrackEvents: base.DefaultTrackEvents,
		ConfirmChanges: base.ConfirmChanges, RequireComments: base.RequireComments,
		Tags: slices.Clone(base.Tags), Critical: base.Critical,
	}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	if b.DefaultTTL != nil {
		p.DefaultTTL = *b.DefaultTTL
	}
	set(&p.SecureMode, b.SecureMode)
	set(&p.DefaultTrackEvents, b.DefaultTrackEvents)
	set(&p.ConfirmChanges, b.ConfirmChanges)
	set(&p.RequireComments, b.RequireComments)
	set(&p.Critical, b.Critical)
	if b.Tags != nil {
		p.Tags = slices.Clone(b.Tags)
	}
	return p
}

// postEnvironment creates an environment, cloned from a source
// environment of the same project when the body names one.
func (a *api) postEnvironment(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	var body environmentPostBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	var env Environment
	var err error
	if body.Source != nil {
		env, err = a.s.cloneEnvironment(r.Context(), proj, *body.Source, &body)
	} else {
		env, err = a.s.CreateEnvironment(r.Context(), proj, body.post())
	}
	if err != nil {
		return err
	}
	return a.writeEnvironment(w, r, http.StatusCreated, proj, env)
}

// writeEnvironment answers with one environment, its keys masked unless
// the principal may view them.
func (a *api) writeEnvironment(w http.ResponseWriter, r *http.Request, status int, proj string, env Environment) error {
	envs := []Environment{env}
	a.maskSDKKeys(r.Context(), proj, envs)
	return writeJSON(w, status, newEnvironmentRep(proj, envs[0]))
}

// getEnvironment returns one environment.
func (a *api) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	env, err := a.s.GetEnvironment(r.Context(), proj, r.PathValue("environmentKey"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newEnvironmentRep(proj, env))
}

// patchEnvironment updates an environment with JSON Patch; a test of
// /version guards against concurrent changes.
func (a *api) patchEnvironment(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if patch.Kind != JSONPatch {
		return invalidf("", "an environment is updated with JSON Patch, not %s", patch.Kind)
	}
	proj := r.PathValue("projectKey")
	env, err := a.s.PatchEnvironment(r.Context(), proj, r.PathValue("environmentKey"), patch)
	if err != nil {
		return err
	}
	return a.writeEnvironment(w, r, http.StatusOK, proj, env)
}

// deleteEnvironment deletes an environment with its segments and its
// flags' configurations.
func (a *api) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteEnvironment(r.Context(), r.PathValue("projectKey"), r.PathValue("environmentKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetSDKKey gives the environment a new SDK key; with expiry (Unix ms)
// the old key keeps working until then.
func (a *api) resetSDKKey(w http.ResponseWriter, r *http.Request) error {
	var expiry time.Time
	if v := r.URL.Query().Get("expiry"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms <= 0 {
			return invalidf("expiry", "expiry must be a time in Unix milliseconds")
		}
		expiry = time.UnixMilli(ms)
	}
	proj := r.PathValue("projectKey")
	env, err := a.s.ResetSDKKey(r.Context(), proj, r.PathValue("environmentKey"), expiry)
	if err != nil {
		return err
	}
	return a.writeEnvironment(w, r, http.StatusOK, proj, env)
}

// resetMobileKey gives the environment a new mobile key; the old one stops
// working at once (LaunchDarkly's call takes no expiry).
func (a *api) resetMobileKey(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	env, err := a.s.ResetMobileKey(r.Context(), proj, r.PathValue("environmentKey"), time.Time{})
	if err != nil {
		return err
	}
	return a.writeEnvironment(w, r, http.StatusOK, proj, env)
}

// cloneEnvironment creates an environment from a source environment of
// the same project, in one transaction: the new environment takes the
// source's settings (defaultTtl, secureMode, defaultTrackEvents,
// confirmChanges, requireComments, tags, critical) except those the body
// gives, a copy of each of the source's segments, and a copy of every
// flag's targeting in the source (with a fresh salt, at version 1). Its
// key, name and color come from the body; its credentials are new. A
// source version other than the source's current one is a 409.
func (s *Store) cloneEnvironment(ctx context.Context, proj string, src environmentSource, body *environmentPostBody) (Environment, error) {
	if err := validKey("source.key", src.Key); err != nil {
		return Environment{}, err
	}
	var env Environment
	err := s.update(ctx, func(w *wtx) error {
		if _, err := getProject(&w.rtx, proj, &Project{}); err != nil {
			return err
		}
		var sd envDoc
		if _, err := w.get(envKey(proj, src.Key), &sd); err != nil {
			return invalidf("source.key", "unknown source environment %q in project %q", src.Key, proj)
		}
		if src.Version != nil && *src.Version != sd.Version {
			return conflictf("Conflict. The source environment %q is at version %d, not %d", src.Key, sd.Version, *src.Version)
		}
		post := body.over(&sd.Environment)
		if err := validEnvironmentPost("", &post); err != nil {
			return trimAttr(err)
		}
		var err error
		if env, err = s.createEnvironmentIn(w, proj, post); err != nil {
			return err
		}
		now := s.nowMillis()
		var segs []Segment
		if err := each(&w.rtx, segPrefix(proj, src.Key), func(_ string, seg *Segment) error {
			segs = append(segs, *seg)
			return nil
		}); err != nil {
			return err
		}
		for i := range segs {
			seg := &segs[i]
			seg.CreationDate, seg.LastModifiedDate, seg.Version = now, now, 1
			if err := w.put(segKey(proj, env.Key, seg.Key), seg, store.Absent); err != nil {
				return err
			}
			if err := segIndex(proj, env.Key).reindex(w, nil, segEntry(seg)); err != nil {
				return err
			}
			if err := rewriteRefs(w, nil, segmentRefs(proj, env.Key, seg)); err != nil {
				return err
			}
		}
		if err := eachFlagUpdate(w, proj, func(f *Flag) {
			c := cloneConfig(f.Environments[src.Key])
			if c == nil {
				return
			}
			c.Salt, c.Sel, c.LastModified, c.Version, c.EnvironmentName = s.hexUUID(), s.hexUUID(), now, 1, ""
			f.Environments[env.Key] = c
		}); err != nil {
			return err
		}
		return s.recordEnv(w, proj, "created", nil, &env, "createEnvironment")
	})
	if err != nil {
		return Environment{}, err
	}
	return env, nil
}
