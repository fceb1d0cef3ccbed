package flagstore

import (
	"net/http"
)

// defaultRoleLimit is the page size of the custom roles list, as in
// LaunchDarkly.
const defaultRoleLimit = 20

// roleRoutes are the custom roles family.
func (a *api) roleRoutes() []*route {
	const one = "/roles/{customRoleKey}"
	return []*route{
		{method: http.MethodGet, path: "/roles", operationID: "getCustomRoles", handle: a.getCustomRoles},
		{method: http.MethodPost, path: "/roles", operationID: "postCustomRole", handle: a.postCustomRole},
		{method: http.MethodGet, path: one, operationID: "getCustomRole", handle: a.getCustomRole},
		{method: http.MethodPatch, path: one, operationID: "patchCustomRole", handle: a.patchCustomRole},
		{method: http.MethodDelete, path: one, operationID: "deleteCustomRole", handle: a.deleteCustomRole},
	}
}

// customRoleRep is LaunchDarkly's CustomRole.
type customRoleRep struct {
	CustomRole
	Links Links `json:"_links"`
}

func newCustomRoleRep(cr CustomRole) customRoleRep {
	if cr.Policy == nil {
		cr.Policy = []Statement{}
	}
	return customRoleRep{CustomRole: cr, Links: selfLinks(apiPath("roles", cr.Key), apiPath("roles"))}
}

// getCustomRoles lists custom roles in key order.
func (a *api) getCustomRoles(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, defaultRoleLimit, 0)
	if err != nil {
		return err
	}
	list, err := a.s.ListCustomRoles(r.Context(), ListOptions{Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := collection[customRoleRep]{Items: make([]customRoleRep, len(list.Items)), TotalCount: list.TotalCount,
		Links: pageLinks(r, apiPath("roles"), limit, offset, list.TotalCount)}
	for i, cr := range list.Items {
		out.Items[i] = newCustomRoleRep(cr)
	}
	return writeJSON(w, http.StatusOK, out)
}

// customRolePostBody is CustomRolePost as it arrives, with the policy a
// pointer so that a missing one can be told from an empty one.
type customRolePostBody struct {
	CustomRolePost
	Policy *[]Statement `json:"policy"`
}

// postCustomRole creates a custom role; key, name and policy are required
// and a taken key is 409.
func (a *api) postCustomRole(w http.ResponseWriter, r *http.Request) error {
	var body customRolePostBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	switch {
	case body.Key == "":
		return invalidf("key", "key is required")
	case body.Name == "":
		return invalidf("name", "name is required")
	case body.Policy == nil:
		return invalidf("policy", "policy is required")
	}
	post := body.CustomRolePost
	post.Policy = *body.Policy
	cr, err := a.s.CreateCustomRole(r.Context(), post)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newCustomRoleRep(cr))
}

// getCustomRole returns one custom role, by key or _id.
func (a *api) getCustomRole(w http.ResponseWriter, r *http.Request) error {
	cr, err := a.s.GetCustomRole(r.Context(), r.PathValue("customRoleKey"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newCustomRoleRep(cr))
}

// patchCustomRole updates a custom role (by key or _id) with JSON Patch or
// a merge patch.
func (a *api) patchCustomRole(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	cr, err := a.s.PatchCustomRole(r.Context(), r.PathValue("customRoleKey"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newCustomRoleRep(cr))
}

// deleteCustomRole deletes a custom role (by key or _id); one still
// assigned to a member, team or access token is 409.
func (a *api) deleteCustomRole(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteCustomRole(r.Context(), r.PathValue("customRoleKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
