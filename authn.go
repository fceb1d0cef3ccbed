package flagstore

import (
	"context"
	"net/http"
	"strings"
)

// MemberPrincipal returns the principal of a member signed in to the host
// application (a cookie session, in LaunchDarkly's terms), with the member's
// current roles.
func (s *Store) MemberPrincipal(ctx context.Context, memberID string) (Principal, error) {
	var p Principal
	err := s.view(ctx, func(r *rtx) error {
		var m Member
		if _, err := getMember(r, memberID, &m); err != nil {
			return newError(ErrUnauthorized, "Unauthorized: unknown member")
		}
		roles, err := memberRoles(r, &m)
		if err != nil {
			return err
		}
		p = Principal{Kind: PrincipalMember, MemberID: m.ID, actor: memberActor(&m), policies: &policySet{roles: roles}}
		return nil
	})
	return p, err
}

// memberActor is how the audit log names a member.
func memberActor(m *Member) Actor {
	return Actor{Member: &AuditMember{ID: m.ID, Email: m.Email, FirstName: m.FirstName, LastName: m.LastName}}
}

// memberRoles compiles everything a member may do. Owners and admins may do
// everything. Otherwise the member's custom roles and its teams' roles
// decide, with the member's and its teams' role attributes; a member with
// none of those has its base role, as LaunchDarkly puts it: "if the member
// has no additional roles, this role will be in effect". Permission grants
// (such as maintaining a team) add to either.
func memberRoles(r *rtx, m *Member) ([]rolePolicy, error) {
	if m.Role == RoleOwner || m.Role == RoleAdmin {
		bp, err := basePolicy(m.Role)
		return []rolePolicy{bp}, err
	}
	custom, teamRoles, attrs, err := memberPolicyInputs(r, m)
	if err != nil {
		return nil, err
	}
	var out []rolePolicy
	for _, cr := range append(custom, teamRoles...) {
		rp, err := customPolicy(cr.Key, cr.Policy, cr.BasePermissions, attrs)
		if err != nil {
			// A role whose statements cannot apply to this member (a bad
			// role attribute) grants nothing, rather than failing every
			// request the member makes.
			continue
		}
		out = append(out, rp)
	}
	if len(out) == 0 {
		bp, err := basePolicy(m.Role)
		if err != nil {
			return nil, err
		}
		out = append(out, bp)
	}
	// Every member may manage its own personal tokens, within its own
	// power (checkTokenGrant), as LaunchDarkly's members may; a member with
	// no access at all has no power to give a token. A member holding
	// custom roles has base role no_access too (see inviteRole), but its
	// roles give it power.
	hasPower := m.Role != RoleNoAccess || len(custom)+len(teamRoles) > 0
	if own, err := compilePolicy("own access tokens", []Statement{{Effect: "allow",
		Resources: []string{"member/" + m.ID + ":token/*"}, Actions: tokenSelfActions}}, nil); err == nil && hasPower {
		out = append(out, own)
	}
	if grants := grantStatements(m.PermissionGrants); len(grants) > 0 {
		if gp, err := compilePolicy("permission grants", grants, nil); err == nil {
			out = append(out, gp)
		}
	}
	return out, nil
}

// teamActionSets expands LaunchDarkly's named action sets of permission
// grants.
var teamActionSets = map[string][]string{
	"maintainTeam": {"updateTeamName", "updateTeamDescription", "updateTeamMembers", "viewTeam"},
}

// grantStatements turns permission grants into allow statements.
func grantStatements(grants []PermissionGrant) []Statement {
	var out []Statement
	for _, g := range grants {
		actions := g.Actions
		if set, ok := teamActionSets[g.ActionSet]; ok {
			actions = append(append([]string(nil), actions...), set...)
		}
		if len(actions) == 0 || g.Resource == "" {
			continue
		}
		out = append(out, Statement{Effect: "allow", Resources: []string{g.Resource}, Actions: actions})
	}
	return out
}

// Authenticate resolves the value of an Authorization header to the
// principal of an access token: the raw token, as LaunchDarkly's clients
// send it, or after "Bearer " (a documented leniency). SDK keys, mobile keys
// and client-side IDs are refused with 401: they may use only their own
// environment's SDK routes. An unknown, deleted or expired token is 401.
func (s *Store) Authenticate(ctx context.Context, authorization string) (Principal, error) {
	secret := strings.TrimSpace(authorization)
	if len(secret) > 7 && strings.EqualFold(secret[:7], "bearer ") {
		secret = strings.TrimSpace(secret[7:])
	}
	if strings.HasPrefix(secret, "sdk-") || strings.HasPrefix(secret, "mob-") {
		return Principal{}, newError(ErrUnauthorized, "Invalid access token: SDK and mobile keys may use only the SDK routes")
	}
	t, err := s.tokenBySecret(ctx, secret)
	if err != nil {
		return Principal{}, err
	}
	p, err := s.tokenPrincipal(ctx, &t)
	if err != nil {
		return Principal{}, err
	}
	s.touchToken(t.ID, s.nowMillis())
	return p, nil
}

// tokenPrincipal builds what a token may do: its own role, custom roles or
// inline role; for a personal token, never more than its member, whose
// current roles are the ceiling (a removed member's tokens stop working).
func (s *Store) tokenPrincipal(ctx context.Context, t *Token) (Principal, error) {
	kind := PrincipalPersonalToken
	if t.ServiceToken {
		kind = PrincipalServiceToken
	}
	p := Principal{Kind: kind, MemberID: t.MemberID, TokenID: t.ID, defaultAPIVersion: t.DefaultAPIVersion,
		actor: Actor{Token: &AuditToken{ID: t.ID, Name: t.Name, Ending: secretEnding(t.Token), ServiceToken: t.ServiceToken}}}
	err := s.view(ctx, func(r *rtx) error {
		var attrs map[string][]string
		ps := &policySet{}
		if !t.ServiceToken {
			var m Member
			if _, err := getMember(r, t.MemberID, &m); err != nil {
				return errInvalidToken()
			}
			ceiling, err := memberRoles(r, &m)
			if err != nil {
				return err
			}
			_, _, attrs, err = memberPolicyInputs(r, &m)
			if err != nil {
				return err
			}
			ps.ceiling = ceiling
			p.actor.Member = memberActor(&m).Member
		}
		roles, err := tokenRoles(r, t, attrs)
		if err != nil {
			return err
		}
		ps.roles = roles
		p.policies = ps
		return nil
	})
	return p, err
}

// tokenRoles compiles a token's own scope: its base role, its custom roles
// (with the member's role attributes), and its inline role.
func tokenRoles(r *rtx, t *Token, attrs map[string][]string) ([]rolePolicy, error) {
	var out []rolePolicy
	if t.Role != "" {
		bp, err := basePolicy(t.Role)
		if err != nil {
			return nil, err
		}
		out = append(out, bp)
	}
	for _, id := range t.CustomRoleIDs {
		var cr CustomRole
		if err := getRoleByID(r, id, &cr); err != nil {
			continue // a role deleted since grants nothing
		}
		if rp, err := customPolicy(cr.Key, cr.Policy, cr.BasePermissions, attrs); err == nil {
			out = append(out, rp)
		}
	}
	if len(t.InlineRole) > 0 {
		rp, err := compilePolicy("the token's inline role", t.InlineRole, attrs)
		if err == nil {
			out = append(out, rp)
		}
	}
	return out, nil
}

// SessionAuth lets a host application's own signed-in users call the API
// with their browser session, as LaunchDarkly's cookie sessions do.
type SessionAuth struct {
	// Origin is the host application's own origin (scheme, host and port,
	// e.g. "https://flags.example.com"). A session request must carry
	// exactly this Origin header, LaunchDarkly's defence against cross-site
	// request forgery.
	Origin string
	// Member returns the member ID of the request's signed-in user, or
	// false when the request carries no valid session.
	Member func(*http.Request) (memberID string, ok bool)
}

// AuthenticateRequest resolves an HTTP request to a principal: an access
// token in the Authorization header; failing that, when sessions are
// enabled, the host application's signed-in member, whose request must come
// from the configured Origin exactly. Anything else is 401.
func (s *Store) AuthenticateRequest(r *http.Request, sessions *SessionAuth) (Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		return s.Authenticate(r.Context(), h)
	}
	if sessions == nil || sessions.Member == nil {
		return Principal{}, errInvalidToken()
	}
	id, ok := sessions.Member(r)
	if !ok {
		return Principal{}, errInvalidToken()
	}
	if origin := r.Header.Get("Origin"); sessions.Origin == "" || origin != sessions.Origin {
		return Principal{}, newError(ErrUnauthorized, "Unauthorized: a session request must come from %q", sessions.Origin)
	}
	return s.MemberPrincipal(r.Context(), id)
}

// tokenSelfActions are what a member may do to its own personal tokens.
var tokenSelfActions = []string{"createAccessToken", "deleteAccessToken", "resetAccessToken",
	"updateAccessTokenName", "updateAccessTokenDescription", "updateAccessTokenPolicy"}
