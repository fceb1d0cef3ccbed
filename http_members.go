package flagstore

import (
	"net/http"
	"strings"

	"github.com/google/uuid"
)

// memberRoutes are the account members family; the bulk PATCH /members
// (patchMembers) is in http_members_bulk.go.
func (a *api) memberRoutes() []*route {
	const one = "/members/{id}"
	return []*route{
		{method: http.MethodGet, path: "/members", operationID: "getMembers", handle: a.getMembers},
		{method: http.MethodPost, path: "/members", operationID: "postMembers", handle: a.postMembers},
		{method: http.MethodGet, path: one, operationID: "getMember", handle: a.getMember},
		{method: http.MethodPatch, path: one, operationID: "patchMember", handle: a.patchMember},
		{method: http.MethodDelete, path: one, operationID: "deleteMember", handle: a.deleteMember},
		{method: http.MethodPost, path: one + "/teams", operationID: "postMemberTeams", handle: a.postMemberTeams},
	}
}

// memberTeamRep is LaunchDarkly's MemberTeamSummaryRep.
type memberTeamRep struct {
	MemberTeam
	Links Links `json:"_links"`
}

// memberRep is LaunchDarkly's Member.
type memberRep struct {
	Member
	Teams []memberTeamRep `json:"teams,omitempty"`
	Links Links           `json:"_links"`
}

func newMemberRep(m Member) memberRep {
	out := memberRep{Member: m, Links: selfLinks(apiPath("members", m.ID), apiPath("members"))}
	if out.CustomRoles == nil {
		out.CustomRoles = []string{}
	}
	for _, t := range m.Teams {
		out.Teams = append(out.Teams, memberTeamRep{MemberTeam: t, Links: selfLinks(apiPath("teams", t.Key), "")})
	}
	out.Member.Teams = nil
	return out
}

func newMemberCollection(items []Member, total int, links Links) collection[memberRep] {
	out := collection[memberRep]{Items: make([]memberRep, len(items)), TotalCount: total, Links: links}
	for i, m := range items {
		out.Items[i] = newMemberRep(m)
	}
	return out
}

// getMembers lists members: filter query, role and team; sort displayName
// (or creationDate), either way round.
func (a *api) getMembers(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, DefaultLimit, 0)
	if err != nil {
		return err
	}
	terms, err := filterTerms(r, "query", "role", "team")
	if err != nil {
		return err
	}
	sort, err := listSort(r, "displayName", "creationDate")
	if err != nil {
		return err
	}
	if _, err := expandSet(r, "customRoles", "roleAttributes"); err != nil {
		return err
	}
	list, err := a.s.ListMembers(r.Context(), ListOptions{Limit: limit, Offset: offset, Query: terms["query"], Sort: sort},
		MemberFilter{Role: terms["role"], Team: terms["team"]})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newMemberCollection(list.Items, list.TotalCount,
		pageLinks(r, apiPath("members"), limit, offset, list.TotalCount)))
}

// inviteErrorBody is LaunchDarkly's 400 for invitations whose addresses
// clash: the error body with the offending addresses in invalid_emails.
type inviteErrorBody struct {
	Code          string   `json:"code"`
	Message       string   `json:"message"`
	ID            string   `json:"id"`
	InvalidEmails []string `json:"invalid_emails"`
}

// postMembers invites members: an array of invitations, all or nothing.
func (a *api) postMembers(w http.ResponseWriter, r *http.Request) error {
	var invites []MemberInvite
	if err := decodeBody(r, &invites); err != nil {
		return err
	}
	members, err := a.s.InviteMembers(r.Context(), invites)
	if err != nil {
		if e := AsError(err); e != nil && (e.Code == CodeDuplicateEmail || e.Code == CodeEmailAlreadyExists) {
			body := inviteErrorBody{Code: e.Code, Message: e.Message, ID: w.Header().Get(RequestIDHeader)}
			if body.ID == "" {
				body.ID = uuid.NewString()
			}
			for _, fe := range e.Errors {
				if fe.Attribute == "invalid_emails" {
					body.InvalidEmails = append(body.InvalidEmails, fe.Reason)
				}
			}
			return writeJSON(w, http.StatusBadRequest, body)
		}
		return err
	}
	return writeJSON(w, http.StatusCreated, newMemberCollection(members, len(members), selfLinks(apiPath("members"), "")))
}

// getMember returns one member.
func (a *api) getMember(w http.ResponseWriter, r *http.Request) error {
	if _, err := expandSet(r, "customRoles", "roleAttributes"); err != nil {
		return err
	}
	m, err := a.s.GetMember(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newMemberRep(m))
}

// patchMember updates a member's roles with JSON Patch.
func (a *api) patchMember(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if patch.Kind != JSONPatch {
		return invalidf("", "a member is updated with JSON Patch, not %s", patch.Kind)
	}
	m, err := a.s.PatchMember(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newMemberRep(m))
}

// deleteMember deletes a member; the owner cannot be deleted (409).
func (a *api) deleteMember(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteMember(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// memberTeamsBody is LaunchDarkly's MemberTeamsPostInput.
type memberTeamsBody struct {
	TeamKeys *[]string `json:"teamKeys"`
}

// postMemberTeams adds a member to teams.
func (a *api) postMemberTeams(w http.ResponseWriter, r *http.Request) error {
	var body memberTeamsBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.TeamKeys == nil {
		return invalidf("teamKeys", "teamKeys is required")
	}
	for _, k := range *body.TeamKeys {
		if strings.TrimSpace(k) == "" {
			return invalidf("teamKeys", "team keys must not be empty")
		}
	}
	m, err := a.s.AddMemberToTeams(r.Context(), r.PathValue("id"), *body.TeamKeys)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newMemberRep(m))
}
