package flagstore

import (
	"net/http"
	"time"
)

// The flag status routes (FlagStatusRep, FeatureFlagStatuses,
// FeatureFlagStatusAcrossEnvironments). Links point at resources that
// exist: a status's self link names its environment
// (/flag-statuses/{proj}/{env}/{flag}) and its parent is the flag, also
// across environments, where LaunchDarkly's example shows /flag-status.
// The env filter of the across-environments route may repeat; an
// environment it names that does not exist is a 404.

// flagStatusRoutes are the three flag status routes.
func (a *api) flagStatusRoutes() []*route {
	return []*route{
		{method: http.MethodGet, path: "/flag-statuses/{projectKey}/{environmentKey}", operationID: "getFeatureFlagStatuses", handle: a.getFeatureFlagStatuses},
		{method: http.MethodGet, path: "/flag-statuses/{projectKey}/{environmentKey}/{featureFlagKey}", operationID: "getFeatureFlagStatus", handle: a.getFeatureFlagStatus},
		{method: http.MethodGet, path: "/flag-status/{projectKey}/{featureFlagKey}", operationID: "getFeatureFlagStatusAcrossEnvironments", handle: a.getFeatureFlagStatusAcrossEnvironments},
	}
}

// flagStatusRep is one status with its links (FlagStatusRep).
type flagStatusRep struct {
	Name          string     `json:"name"`
	LastRequested *time.Time `json:"lastRequested,omitempty"`
	Default       any        `json:"default,omitempty"`
	Links         Links      `json:"_links"`
}

func newFlagStatusRep(proj string, st FlagStatus) flagStatusRep {
	return flagStatusRep{Name: st.Name, LastRequested: st.LastRequested, Default: st.Default,
		Links: selfLinks(apiPath("flag-statuses", proj, st.EnvironmentKey, st.FlagKey), apiPath("flags", proj, st.FlagKey))}
}

// getFeatureFlagStatuses lists the status of every flag in an environment.
func (a *api) getFeatureFlagStatuses(w http.ResponseWriter, r *http.Request) error {
	proj, env := r.PathValue("projectKey"), r.PathValue("environmentKey")
	sts, err := a.s.ListFlagStatuses(r.Context(), proj, env)
	if err != nil {
		return err
	}
	items := make([]flagStatusRep, len(sts))
	for i, st := range sts {
		items[i] = newFlagStatusRep(proj, st)
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"items":  items,
		"_links": Links{"self": jsonLink(apiPath("flag-statuses", proj, env))},
	})
}

// getFeatureFlagStatus is one flag's status in one environment.
func (a *api) getFeatureFlagStatus(w http.ResponseWriter, r *http.Request) error {
	proj := r.PathValue("projectKey")
	st, err := a.s.GetFlagStatus(r.Context(), proj, r.PathValue("environmentKey"), r.PathValue("featureFlagKey"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newFlagStatusRep(proj, st))
}

// getFeatureFlagStatusAcrossEnvironments is a flag's status in every
// environment, or in those the env parameters name.
func (a *api) getFeatureFlagStatusAcrossEnvironments(w http.ResponseWriter, r *http.Request) error {
	proj, flag := r.PathValue("projectKey"), r.PathValue("featureFlagKey")
	var envs []string
	for _, e := range r.URL.Query()["env"] {
		if e == "" {
			return invalidf("env", "env must name an environment")
		}
		envs = append(envs, e)
	}
	sts, err := a.s.GetFlagStatusAcrossEnvironments(r.Context(), proj, flag, envs...)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"key":          flag,
		"environments": sts,
		"_links":       selfLinks(apiPath("flag-status", proj, flag), apiPath("flags", proj, flag)),
	})
}
