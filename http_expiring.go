package flagstore

import (
	"net/http"
)

// The expiring-target routes of flags: the context form and the legacy
// user form. PATCH takes only semantic patch
// (Content-Type: application/json; domain-model=launchdarkly.semanticpatch):
// a body that is not JSON is a 415, a JSON body without the parameter a
// 400. A well-formed patch answers 200 with a per-instruction report, even
// when some or all of its instructions failed.

// expiringTargetRoutes are the four expiring-target routes of flags.
func (a *api) expiringTargetRoutes() []*route {
	const ctx = "/flags/{projectKey}/{featureFlagKey}/expiring-targets/{environmentKey}"
	const user = "/flags/{projectKey}/{featureFlagKey}/expiring-user-targets/{environmentKey}"
	return []*route{
		{method: http.MethodGet, path: ctx, operationID: "getExpiringContextTargets", handle: a.getExpiringContextTargets},
		{method: http.MethodPatch, path: ctx, operationID: "patchExpiringTargets", handle: a.patchExpiringTargets},
		{method: http.MethodGet, path: user, operationID: "getExpiringUserTargets", handle: a.getExpiringUserTargets},
		{method: http.MethodPatch, path: user, operationID: "patchExpiringUserTargets", handle: a.patchExpiringUserTargets},
	}
}

// expiringPathKeys reads the project, flag and environment of a route.
func expiringPathKeys(r *http.Request) (proj, flag, env string) {
	return r.PathValue("projectKey"), r.PathValue("featureFlagKey"), r.PathValue("environmentKey")
}

// expiringLinks are the links of a flag's expiring targets in env.
func expiringLinks(proj, flag, env, kind string) Links {
	return selfLinks(apiPath("flags", proj, flag, kind, env), apiPath("flags", proj, flag))
}

// expiringPatch reads a PATCH body that must be a semantic patch, and
// returns its instructions with the request's context carrying the
// patch's comment.
func expiringPatch(r *http.Request) (*http.Request, []Instruction, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, nil, invalidf("", "cannot read the request body: %v", err)
	}
	p, err := ParsePatch(r.Header.Get("Content-Type"), body)
	if err != nil {
		return nil, nil, err
	}
	if p.Kind != SemanticPatch {
		return nil, nil, invalidf("Content-Type",
			"expiring targets are updated only with semantic patch: send Content-Type: application/json; %s", SemanticPatchMediaType)
	}
	if p.Comment != "" {
		r = r.WithContext(WithComment(r.Context(), p.Comment))
	}
	return r, p.Instructions, nil
}

func (a *api) getExpiringContextTargets(w http.ResponseWriter, r *http.Request) error {
	proj, flag, env := expiringPathKeys(r)
	items, err := a.s.GetExpiringTargets(r.Context(), proj, flag, env)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items, "_links": expiringLinks(proj, flag, env, "expiring-targets")})
}

func (a *api) patchExpiringTargets(w http.ResponseWriter, r *http.Request) error {
	proj, flag, env := expiringPathKeys(r)
	r, ins, err := expiringPatch(r)
	if err != nil {
		return err
	}
	res, err := a.s.PatchExpiringTargets(r.Context(), proj, flag, env, ins)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		ExpiringTargetPatchResult
		Links Links `json:"_links"`
	}{res, expiringLinks(proj, flag, env, "expiring-targets")})
}

func (a *api) getExpiringUserTargets(w http.ResponseWriter, r *http.Request) error {
	proj, flag, env := expiringPathKeys(r)
	items, err := a.s.GetExpiringUserTargets(r.Context(), proj, flag, env)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items, "_links": expiringLinks(proj, flag, env, "expiring-user-targets")})
}

func (a *api) patchExpiringUserTargets(w http.ResponseWriter, r *http.Request) error {
	proj, flag, env := expiringPathKeys(r)
	r, ins, err := expiringPatch(r)
	if err != nil {
		return err
	}
	res, err := a.s.PatchExpiringUserTargets(r.Context(), proj, flag, env, ins)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		ExpiringUserTargetPatchResult
		Links Links `json:"_links"`
	}{res, expiringLinks(proj, flag, env, "expiring-user-targets")})
}
