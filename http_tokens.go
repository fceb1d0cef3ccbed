package flagstore

import (
	"net/http"
	"strconv"
	"time"
)

// tokenRoutes are the access tokens family.
func (a *api) tokenRoutes() []*route {
	const one = "/tokens/{id}"
	return []*route{
		{method: http.MethodGet, path: "/tokens", operationID: "getTokens", handle: a.getTokens},
		{method: http.MethodPost, path: "/tokens", operationID: "postToken", handle: a.postToken},
		{method: http.MethodGet, path: one, operationID: "getToken", handle: a.getToken},
		{method: http.MethodPatch, path: one, operationID: "patchToken", handle: a.patchToken},
		{method: http.MethodDelete, path: one, operationID: "deleteToken", handle: a.deleteToken},
		{method: http.MethodPost, path: one + "/reset", operationID: "resetToken", handle: a.resetToken},
	}
}

// tokenRep is LaunchDarkly's Token. Its token field holds the whole secret
// only in the answers of postToken and resetToken, the last four
// characters anywhere else (the store keeps nothing more).
type tokenRep struct {
	Token
	// Member shadows Token's, adding the member's links.
	Member *tokenMemberRep `json:"_member,omitempty"`
	Links  Links           `json:"_links"`
}

// tokenMemberRep is LaunchDarkly's MemberSummary of a token's member, with its links.
type tokenMemberRep struct {
	MemberSummary
	Links Links `json:"_links"`
}

func newTokenRep(t Token) tokenRep {
	out := tokenRep{Token: t, Links: selfLinks(apiPath("tokens", t.ID), apiPath("tokens"))}
	if t.Member != nil {
		out.Member = &tokenMemberRep{MemberSummary: *t.Member, Links: selfLinks(apiPath("members", t.Member.ID), apiPath("members"))}
	}
	return out
}

// getTokens lists the access tokens the caller may see: every service
// token and the caller's member's personal tokens, or, for an admin with
// showAll, every token.
func (a *api) getTokens(w http.ResponseWriter, r *http.Request) error {
	limit, offset, err := pageOptions(r, DefaultTokenLimit, 0)
	if err != nil {
		return err
	}
	showAll, err := queryBool(r, "showAll")
	if err != nil {
		return err
	}
	list, err := a.s.ListTokens(r.Context(), TokenListOptions{ShowAll: showAll, Limit: limit, Offset: offset})
	if err != nil {
		return err
	}
	out := collection[tokenRep]{Items: make([]tokenRep, len(list.Items)), TotalCount: list.TotalCount,
		Links: pageLinks(r, apiPath("tokens"), limit, offset, list.TotalCount)}
	for i, t := range list.Items {
		out.Items[i] = newTokenRep(t)
	}
	return writeJSON(w, http.StatusOK, out)
}

// postToken creates an access token belonging to the calling member and
// answers with its whole secret, which no later read shows.
//
// A service token has no member of its own: the member recorded on it is
// the one who created it, and minting a personal token for that member
// would let the service token act as them. So a service-token caller may
// create service tokens only (they record its creator as their memberId,
// as LaunchDarkly does for every service token); asking it for a personal
// token is 403.
func (a *api) postToken(w http.ResponseWriter, r *http.Request) error {
	var post TokenPost
	if err := decodeBody(r, &post); err != nil {
		return err
	}
	p, ok := PrincipalFrom(r.Context())
	if !ok || p.MemberID == "" {
		return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: no member to create the token for")
	}
	if p.Kind == PrincipalServiceToken && !post.ServiceToken {
		return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: a service token can create only service tokens (serviceToken: true)")
	}
	t, err := a.s.CreateToken(r.Context(), p.MemberID, post)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, newTokenRep(t))
}

// getToken returns one access token, with the end of its secret.
func (a *api) getToken(w http.ResponseWriter, r *http.Request) error {
	t, err := a.s.GetToken(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newTokenRep(t))
}

// patchToken updates an access token with JSON Patch.
func (a *api) patchToken(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := a.s.GetToken(r.Context(), id); err != nil {
		return err // unknown, or another member's personal token
	}
	t, err := a.s.PatchToken(r.Context(), id, patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newTokenRep(t))
}

// deleteToken deletes an access token; its secrets stop working at once.
func (a *api) deleteToken(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if _, err := a.s.GetToken(r.Context(), id); err != nil {
		return err
	}
	if err := a.s.DeleteToken(r.Context(), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetToken gives a token a new secret and answers with it whole; with
// expiry (Unix ms, in the future) the old secret works until then.
func (a *api) resetToken(w http.ResponseWriter, r *http.Request) error {
	var expiry time.Time
	if v := r.URL.Query().Get("expiry"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return invalidf("expiry", "expiry must be a time in Unix milliseconds")
		}
		if ms > 0 {
			expiry = time.UnixMilli(ms)
		}
	}
	id := r.PathValue("id")
	if _, err := a.s.GetToken(r.Context(), id); err != nil {
		return err
	}
	t, err := a.s.ResetToken(r.Context(), id, expiry)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newTokenRep(t))
}
