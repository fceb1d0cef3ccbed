package flagstore

import (
	"maps"
	"net/http"
	"slices"
	"strings"
)

// identityRoutes describe the caller.
func (a *api) identityRoutes() []*route {
	return []*route{
		{method: http.MethodGet, path: "/caller-identity", operationID: "getCallerIdentity", handle: a.getCallerIdentity},
	}
}

// callerIdentityRep is LaunchDarkly's CallerIdentityRep. flagstore hosts a
// single account, so accountId is left out, as are the environment and
// project fields, which describe SDK credentials this API refuses, and
// scopes, which flagstore's tokens do not have.
type callerIdentityRep struct {
	AuthKind     string `json:"authKind"`
	TokenKind    string `json:"tokenKind,omitempty"`
	TokenID      string `json:"tokenId,omitempty"`
	TokenName    string `json:"tokenName,omitempty"`
	MemberID     string `json:"memberId,omitempty"`
	ServiceToken bool   `json:"serviceToken"`
}

// getCallerIdentity describes the principal of the request: an access
// token (personal or service) or a member's session.
func (a *api) getCallerIdentity(w http.ResponseWriter, r *http.Request) error {
	p, ok := PrincipalFrom(r.Context())
	if !ok {
		return newError(ErrUnauthorized, "Unauthorized")
	}
	rep := callerIdentityRep{MemberID: p.MemberID}
	switch p.Kind {
	case PrincipalPersonalToken, PrincipalServiceToken:
		rep.AuthKind, rep.TokenID = "token", p.TokenID
		rep.TokenKind = "personal"
		if p.Kind == PrincipalServiceToken {
			rep.TokenKind, rep.ServiceToken = "service", true
		}
		if p.actor.Token != nil {
			rep.TokenName = p.actor.Token.Name
		}
	case PrincipalMember:
		rep.AuthKind = "session"
	default:
		return newError(ErrUnauthorized, "Unauthorized")
	}
	return writeJSON(w, http.StatusOK, rep)
}

// tagRoutes list the tags in use.
func (a *api) tagRoutes() []*route {
	return []*route{
		{method: http.MethodGet, path: "/tags", operationID: "getTags", handle: a.getTags},
	}
}

// tagKinds are the resource kinds getTags collects tags from.
var tagKinds = []string{"project", "environment", "flag", "segment"}

// getTags lists, sorted and without repeats, the tags of the projects,
// environments, flags and segments the caller may view: kind (repeatable
// or comma-separated) narrows the kinds, pre keeps tags with that prefix,
// archived=true adds archived flags' tags; limit (at most 1000) and offset
// page the list.
func (a *api) getTags(w http.ResponseWriter, r *http.Request) error {
	kinds := map[string]bool{}
	for _, v := range r.URL.Query()["kind"] {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			if !slices.Contains(tagKinds, k) {
				return invalidf("kind", "unsupported kind %q (supported: %s)", k, strings.Join(tagKinds, ", "))
			}
			kinds[k] = true
		}
	}
	if len(kinds) == 0 {
		for _, k := range tagKinds {
			kinds[k] = true
		}
	}
	archived, err := queryBool(r, "archived")
	if err != nil {
		return err
	}
	limit, offset, err := pageOptions(r, 1000, 1000)
	if err != nil {
		return err
	}
	pre := r.URL.Query().Get("pre")
	ctx := r.Context()
	set := map[string]bool{}
	add := func(tags []string) {
		for _, t := range tags {
			if strings.HasPrefix(t, pre) {
				set[t] = true
			}
		}
	}
	// skip tolerates a project the caller may not look into.
	skip := func(err error) error {
		if e := AsError(err); e != nil && (e.Status == http.StatusForbidden || e.Status == http.StatusNotFound) {
			return nil
		}
		return err
	}
	all := ListOptions{Limit: maxInt}
	projects, err := a.s.ListProjects(ctx, all)
	if err != nil {
		return err
	}
	for _, p := range projects.Items {
		if kinds["project"] {
			add(p.Tags)
		}
		if kinds["flag"] {
			for _, arch := range []bool{false, archived} {
				o := all
				o.Archived = arch
				flags, err := a.s.ListFlags(ctx, p.Key, o)
				if err != nil {
					if err := skip(err); err != nil {
						return err
					}
					break
				}
				for _, f := range flags.Items {
					add(f.Tags)
				}
				if !archived {
					break
				}
			}
		}
		if !kinds["environment"] && !kinds["segment"] {
			continue
		}
		envs, err := a.s.ListEnvironments(ctx, p.Key, all)
		if err != nil {
			if err := skip(err); err != nil {
				return err
			}
			continue
		}
		for _, e := range envs.Items {
			if kinds["environment"] {
				add(e.Tags)
			}
			if !kinds["segment"] {
				continue
			}
			segs, err := a.s.ListSegments(ctx, p.Key, e.Key, all)
			if err != nil {
				if err := skip(err); err != nil {
					return err
				}
				continue
			}
			for _, s := range segs.Items {
				add(s.Tags)
			}
		}
	}
	tags := slices.Sorted(maps.Keys(set))
	return writeJSON(w, http.StatusOK, collection[string]{
		Items:      nonNil(pageOf(tags, limit, offset)),
		Links:      pageLinks(r, apiPath("tags"), limit, offset, len(tags)),
		TotalCount: len(tags),
	})
}
