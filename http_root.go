package flagstore

import (
	"net/http"
)

// rootRoutes are the API's root resources.
func (a *api) rootRoutes() []*route {
	return []*route{
		{method: http.MethodGet, path: "", operationID: "getRoot", public: true, handle: a.getRoot},
		{method: http.MethodGet, path: "/versions", operationID: "getVersions", handle: a.getVersions},
	}
}

// getRoot lists the top-level collections (LaunchDarkly's RootResponse,
// whose map is "links" without an underscore).
func (a *api) getRoot(w http.ResponseWriter, r *http.Request) error {
	links := Links{}
	for _, c := range []string{"projects", "flags", "segments", "members", "roles", "teams", "tokens", "auditlog", "versions"} {
		links[c] = jsonLink(apiPath(c))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"links": links})
}

// getVersions reports the API versions and the one this request resolved
// to.
func (a *api) getVersions(w http.ResponseWriter, r *http.Request) error {
	v := APIVersionFrom(r.Context())
	return writeJSON(w, http.StatusOK, map[string]any{
		"validVersions":  apiVersions,
		"latestVersion":  LatestAPIVersion,
		"currentVersion": v.Version,
		"beta":           v.Beta,
	})
}
