package flagstore

import (
	"context"
	"net/http"
	"slices"
)

// teamRoutes are the teams family; the CSV import (postTeamMembers) and
// the beta bulk PATCH /teams (patchTeams) are in http_members_bulk.go.
func (a *api) teamRoutes() []*route {
	const one = "/teams/{teamKey}"
	return []*route{
		{method: http.MethodGet, path: "/teams", operationID: "getTeams", handle: a.getTeams},
		{method: http.MethodPost, path: "/teams", operationID: "postTeam", handle: a.postTeam},
		{method: http.MethodGet, path: one, operationID: "getTeam", handle: a.getTeam},
		{method: http.MethodPatch, path: one, operationID: "patchTeam", handle: a.patchTeam},
		{method: http.MethodDelete, path: one, operationID: "deleteTeam", handle: a.deleteTeam},
		{method: http.MethodGet, path: one + "/maintainers", operationID: "getTeamMaintainers", handle: a.getTeamMaintainers},
		{method: http.MethodGet, path: one + "/roles", operationID: "getTeamRoles", handle: a.getTeamRoles},
	}
}

// teamExpands are the expand options a team read offers; LaunchDarkly's
// "projects" is not.
var teamExpands = []string{"members", "roles", "maintainers", "roleAttributes"}

// teamRoleRep is LaunchDarkly's TeamCustomRole.
type teamRoleRep struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// memberSummaryRep is LaunchDarkly's MemberSummary.
type memberSummaryRep struct {
	ID        string `json:"_id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Role      string `json:"role"`
	Links     Links  `json:"_links"`
}

// teamRep is LaunchDarkly's Team, with the expansions asked for.
type teamRep struct {
	Team
	Roles       *collection[teamRoleRep]      `json:"roles,omitempty"`
	Maintainers *collection[memberSummaryRep] `json:"maintainers,omitempty"`
	Links       Links                         `json:"_links"`
}

func teamLinks(key string) Links {
	l := selfLinks(apiPath("teams", key), apiPath("teams"))
	l["roles"] = jsonLink(apiPath("teams", key, "roles"))
	l["maintainers"] = jsonLink(apiPath("teams", key, "maintainers"))
	return l
}

// newTeamRep builds a team's representation with the expansions in ex.
func (a *api) newTeamRep(ctx context.Context, t Team, ex map[string]bool) (teamRep, error) {
	if t.CustomRoleKeys == nil {
		t.CustomRoleKeys = []string{}
	}
	if !ex["members"] {
		t.Members = nil
	} else if t.Members == nil {
		t.Members = &TeamMemberCount{}
	}
	if !ex["roleAttributes"] {
		t.RoleAttributes = nil
	}
	rep := teamRep{Team: t, Links: teamLinks(t.Key)}
	if ex["roles"] {
		c, err := a.teamRoles(ctx, t, DefaultLimit, 0)
		if err != nil {
			return teamRep{}, err
		}
		rep.Roles = &c
	}
	if ex["maintainers"] {
		c, err := a.teamMaintainers(ctx, t.Key, DefaultLimit, 0)
		if err != nil {
			return teamRep{}, err
		}
		rep.Maintainers = &c
	}
	return rep, nil
}

// teamRoles is one page of a team's custom roles.
func (a *api) teamRoles(ctx context.Context, t Team, limit, offset int) (collection[teamRoleRep], error) {
	keys := pageOf(t.CustomRoleKeys, limit, offset)
	out := collection[teamRoleRep]{Items: make([]teamRoleRep, 0, len(keys)), TotalCount: len(t.CustomRoleKeys),
		Links: pathPageLinks(apiPath("teams", t.Key, "roles"), limit, offset, len(t.CustomRoleKeys))}
	for _, k := range keys {
		cr, err := a.s.GetCustomRole(ctx, k)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, teamRoleRep{Key: cr.Key, Name: cr.Name})
	}
	return out, nil
}

// teamMaintainers is one page of the members the team granted maintainTeam.
func (a *api) teamMaintainers(ctx context.Context, key string, limit, offset int) (collection[memberSummaryRep], error) {
	all, err := a.s.ListMembers(ctx, ListOptions{Limit: maxInt}, MemberFilter{})
	if err != nil {
		return collection[memberSummaryRep]{}, err
	}
	var found []memberSummaryRep
	for _, m := range all.Items {
		for _, g := range m.PermissionGrants {
			if g.Resource == teamSpec(key) && (g.ActionSet == "maintainTeam" || slices.Contains(g.Actions, "maintainTeam")) {
				found = append(found, memberSummaryRep{ID: m.ID, Email: m.Email, FirstName: m.FirstName, LastName: m.LastName,
					Role: m.Role, Links: selfLinks(apiPath("members", m.ID), "")})
				break
			}
		}
	}
	items := pageOf(found, limit, offset)
	if items == nil {
		items = []memberSummaryRep{}
	}
	return collection[memberSummaryRep]{Items: items, TotalCount: len(found),
		Links: pathPageLinks(apiPath("teams", key, "maintainers"), limit, offset, len(found))}, nil
}

// getTeams lists teams: limit at most 100, filter query.
func (a *api) getTeams(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, DefaultLimit, 100)
	if err != nil {
		return err
	}
	terms, err := filterTerms(r, "query")
	if err != nil {
		return err
	}
	ex, err := expandSet(r, teamExpands...)
	if err != nil {
		return err
	}
	list, err := a.s.ListTeams(r.Context(), ListOptions{Limit: limit, Offset: offset, Query: terms["query"]})
	if err != nil {
		return err
	}
	out := collection[teamRep]{Items: make([]teamRep, len(list.Items)), TotalCount: list.TotalCount,
		Links: pageLinks(r, apiPath("teams"), limit, offset, list.TotalCount)}
	for i, t := range list.Items {
		if out.Items[i], err = a.newTeamRep(r.Context(), t, ex); err != nil {
			return err
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// postTeam creates a team.
func (a *api) postTeam(w http.ResponseWriter, r *http.Request) error {
	ex, err := expandSet(r, teamExpands...)
	if err != nil {
		return err
	}
	var body TeamPost
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	t, err := a.s.CreateTeam(r.Context(), body)
	if err != nil {
		return err
	}
	return a.writeTeam(w, r, http.StatusCreated, t, ex)
}

func (a *api) writeTeam(w http.ResponseWriter, r *http.Request, status int, t Team, ex map[string]bool) error {
	rep, err := a.newTeamRep(r.Context(), t, ex)
	if err != nil {
		return err
	}
	return writeJSON(w, status, rep)
}

// getTeam returns one team, with the expansions asked for.
func (a *api) getTeam(w http.ResponseWriter, r *http.Request) error {
	ex, err := expandSet(r, teamExpands...)
	if err != nil {
		return err
	}
	t, err := a.s.GetTeam(r.Context(), r.PathValue("teamKey"))
	if err != nil {
		return err
	}
	return a.writeTeam(w, r, http.StatusOK, t, ex)
}

// patchTeam updates a team with semantic patch.
func (a *api) patchTeam(w http.ResponseWriter, r *http.Request) error {
	ex, err := expandSet(r, teamExpands...)
	if err != nil {
		return err
	}
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if patch.Kind != SemanticPatch {
		return invalidf("", "a team is updated with semantic patch, not %s", patch.Kind)
	}
	t, err := a.s.PatchTeam(r.Context(), r.PathValue("teamKey"), patch)
	if err != nil {
		return err
	}
	return a.writeTeam(w, r, http.StatusOK, t, ex)
}

// deleteTeam deletes a team.
func (a *api) deleteTeam(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteTeam(r.Context(), r.PathValue("teamKey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// getTeamMaintainers lists the members who maintain a team.
func (a *api) getTeamMaintainers(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, DefaultLimit, 0)
	if err != nil {
		return err
	}
	key := r.PathValue("teamKey")
	if _, err := a.s.GetTeam(r.Context(), key); err != nil {
		return err
	}
	out, err := a.teamMaintainers(r.Context(), key, limit, offset)
	if err != nil {
		return err
	}
	out.Links = pageLinks(r, apiPath("teams", key, "maintainers"), limit, offset, out.TotalCount)
	return writeJSON(w, http.StatusOK, out)
}

// getTeamRoles lists a team's custom roles.
func (a *api) getTeamRoles(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, DefaultLimit, 0)
	if err != nil {
		return err
	}
	t, err := a.s.GetTeam(r.Context(), r.PathValue("teamKey"))
	if err != nil {
		return err
	}
	out, err := a.teamRoles(r.Context(), t, limit, offset)
	if err != nil {
		return err
	}
	out.Links = pageLinks(r, apiPath("teams", t.Key, "roles"), limit, offset, out.TotalCount)
	return writeJSON(w, http.StatusOK, out)
}
