package flagstore

import (
	"context"
	"slices"
	"strconv"

	"github.com/flagstore/flagstore/internal/resource"
)

// PrincipalKind names who is acting.
type PrincipalKind string

// The kinds of principal.
const (
	// PrincipalMember is a member signed in to the host application (a
	// cookie session).
	PrincipalMember PrincipalKind = "member"
	// PrincipalPersonalToken is a member's personal access token.
	PrincipalPersonalToken PrincipalKind = "personalToken"
	// PrincipalServiceToken is a service access token.
	PrincipalServiceToken PrincipalKind = "serviceToken"
	// PrincipalEnvironment is an SDK key, mobile key or client-side ID: it
	// may use only its own environment's SDK routes, never this API.
	PrincipalEnvironment PrincipalKind = "environment"
)

// Principal is an authenticated caller. Build one with the Store's
// Authenticate or MemberPrincipal, and attach it with WithPrincipal: every
// Go API call made with that context is then checked against its
// permissions and recorded with it as the actor. A context without a
// principal acts as the host application itself, which may do anything.
type Principal struct {
	Kind PrincipalKind
	// MemberID is the member acting (or owning the personal token).
	MemberID string
	// TokenID is the access token used, if any.
	TokenID string
	// Credential is the environment credential, for PrincipalEnvironment.
	Credential *Credential

	actor    Actor
	policies *policySet
	// defaultAPIVersion is a token's version for requests that name none.
	defaultAPIVersion int
}

type principalKey struct{}

// WithPrincipal returns a context whose Go API calls act as p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	ctx = context.WithValue(ctx, principalKey{}, p)
	return WithActor(ctx, p.actor)
}

// PrincipalFrom returns the principal a context acts as, if any.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}

// decide answers whether p may take action on r (a concrete resource with
// its tags and properties).
func (p Principal) decide(action string, r resource.Resource) Decision {
	if p.Kind == PrincipalEnvironment || p.policies == nil {
		return Decision{Action: action, Resource: r.String(), Reason: "this credential may not use the API"}
	}
	return p.policies.decide(action, r)
}

// denied turns a refused decision into the error LaunchDarkly gives: 401 for
// credentials that may not use the API at all, and for cookie sessions
// (its documented behaviour); 403 for access tokens.
func (p Principal) denied(d Decision) *Error {
	if p.Kind == PrincipalEnvironment || p.Kind == PrincipalMember {
		e := newError(ErrUnauthorized, "Unauthorized: %s may not %s on %s (%s)", p.describe(), d.Action, d.Resource, d.Reason)
		return e
	}
	return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: %s may not %s on %s (%s)",
		p.describe(), d.Action, d.Resource, d.Reason)
}

func (p Principal) describe() string {
	switch p.Kind {
	case PrincipalPersonalToken, PrincipalServiceToken:
		return "token " + p.TokenID
	case PrincipalMember:
		return "member " + p.MemberID
	default:
		return "an environment credential"
	}
}

// authorize checks the context's principal, if any, against every access;
// an access whose environment is "*" (a flag-wide change) is allowed when
// the principal may take it in some environment of the project.
func (s *Store) authorize(ctx context.Context, r *rtx, accesses []Access, self map[string]resource.Part) error {
	p, ok := PrincipalFrom(ctx)
	if !ok {
		return nil
	}
	for _, a := range accesses {
		candidates, err := concreteResources(r, a.Resource, self)
		if err != nil {
			return err
		}
		var last Decision
		allowed := false
		for _, res := range candidates {
			if last = p.decide(a.Action, res); last.Allowed {
				allowed = true
				break
			}
		}
		if !allowed {
			if len(candidates) == 0 {
				last = Decision{Action: a.Action, Resource: a.Resource, Reason: "no environment to act in"}
			}
			return p.denied(last)
		}
	}
	return nil
}

// authorizeView checks that the context's principal may view a project
// (the permission every read inside a project needs).
func (s *Store) authorizeView(ctx context.Context, r *rtx, proj string) error {
	if _, ok := PrincipalFrom(ctx); !ok {
		return nil
	}
	return s.authorize(ctx, r, []Access{{Action: "viewProject", Resource: projRes(proj)}}, nil)
}

// mayViewSDKKeys reports whether the context's principal may see an
// environment's SDK and mobile keys.
func (s *Store) mayViewSDKKeys(ctx context.Context, r *rtx, proj, env string) bool {
	if _, ok := PrincipalFrom(ctx); !ok {
		return true
	}
	return s.authorize(ctx, r, []Access{{Action: "viewSdkKey", Resource: envRes(proj, env)}}, nil) == nil
}

// maskUnlessSDKKeysVisible masks an environment returned by a write to a
// principal that may not view its SDK and mobile keys, as reads do.
func (s *Store) maskUnlessSDKKeysVisible(w *wtx, proj string, e *Environment) {
	if !s.mayViewSDKKeys(w.ctx, &w.rtx, proj, e.Key) {
		*e = maskEnv(*e)
	}
}

// concreteResources turns a recorded resource specifier into the concrete
// resources a policy is checked against, with the tags of each level and
// an environment's critical property read from the store. self supplies
// parts the store no longer holds (a resource being deleted), keyed by the
// specifier prefix they complete ("proj/p", "proj/p:env/e", ...). An
// environment "*" becomes one resource per environment of the project.
func concreteResources(r *rtx, spec string, self map[string]resource.Part) ([]resource.Resource, error) {
	parsed, err := resource.Parse(spec)
	if err != nil {
		return nil, newError(ErrInvalid, "bad resource specifier %q: %v", spec, err)
	}
	out := []resource.Resource{{}}
	prefix := ""
	var proj string
	for i, seg := range parsed.Segments {
		if i > 0 {
			prefix += ":"
		}
		prefix += seg.Type + "/" + seg.Name
		names := []string{seg.Name}
		if seg.Type == resource.TypeEnvironment && seg.Name == "*" {
			envs, err := r.keysUnder(envPrefix(proj))
			if err != nil {
				return nil, err
			}
			names = envs
		}
		var next []resource.Resource
		for _, res := range out {
			for _, name := range names {
				part, err := describePart(r, res, seg.Type, name, self[prefix])
				if err != nil {
					return nil, err
				}
				next = append(next, res.Child(part))
			}
		}
		out = next
		if seg.Type == resource.TypeProject {
			proj = seg.Name
		}
	}
	return out, nil
}

// describePart reads the tags and properties of one level of a resource.
func describePart(r *rtx, parent resource.Resource, typ, name string, fallback resource.Part) (resource.Part, error) {
	part := resource.Part{Type: typ, Name: name}
	key := func(i int) string {
		if i < len(parent.Segments) {
			return parent.Segments[i].Name
		}
		return ""
	}
	var tags []string
	var err error
	found := true
	switch typ {
	case resource.TypeProject:
		var p Project
		_, err = r.get(projectKey(name), &p)
		tags = p.Tags
	case resource.TypeEnvironment:
		var d envDoc
		_, err = r.get(envKey(key(0), name), &d)
		tags = d.Tags
		part.Props = map[string]string{resource.PropCritical: strconv.FormatBool(d.Critical)}
	case resource.TypeFlag:
		var f Flag
		_, err = getFlag(r, key(0), name, &f)
		tags = f.Tags
	case resource.TypeSegment:
		var sg Segment
		_, err = r.get(segKey(key(0), key(1), name), &sg)
		tags = sg.Tags
	case resource.TypeWebhook:
		var h Webhook
		_, err = r.get(webhookKey(name), &h)
		tags = h.Tags
	default:
		found = false
	}
	if err != nil {
		if fallback.Type == typ && fallback.Name == name {
			return fallback, nil
		}
		// Gone and not supplied: match on type and name alone.
		return part, nil
	}
	if found {
		part.Tags = tags
	}
	return part, nil
}

// Allowed answers whether p may take action on a resource, named by its
// concrete resource specifier (such as "proj/shop:env/production:flag/x"),
// and explains the answer. Tags and properties the specifier's resources
// carry in the store (project, environment, flag and segment tags, an
// environment's critical flag) take part, as LaunchDarkly's selectors need.
func (s *Store) Allowed(ctx context.Context, p Principal, action, spec string) (Decision, error) {
	var d Decision
	err := s.view(ctx, func(r *rtx) error {
		candidates, err := concreteResources(r, spec, nil)
		if err != nil {
			return invalidf("resource", "invalid resource specifier %q", spec)
		}
		for _, res := range candidates {
			if d = p.decide(action, res); d.Allowed {
				return nil
			}
		}
		if len(candidates) == 0 {
			d = Decision{Action: action, Resource: spec, Reason: "no environment to act in"}
		}
		return nil
	})
	return d, err
}

// refuseEnvironmentPrincipal keeps SDK keys, mobile keys and client-side IDs
// out of the API: they may read their own environment's SDK data only.
func refuseEnvironmentPrincipal(ctx context.Context) error {
	if p, ok := PrincipalFrom(ctx); ok && p.Kind == PrincipalEnvironment {
		return newError(ErrUnauthorized, "Invalid access token: SDK credentials may use only the SDK routes")
	}
	return nil
}

// authorizeWholeStore keeps the operations on the whole store (Save, Load,
// Watch), which no per-resource check covers and which show every project,
// SDK keys included, to the host application and admin principals.
func authorizeWholeStore(ctx context.Context, action string) error {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.isAdmin() {
		return nil
	}
	return p.denied(Decision{Action: action, Resource: "acct", Reason: "only an admin may " + action + " the whole store"})
}

// isAdmin reports whether p may do everything (the admin or owner base
// role, for a token within its member's).
func (p Principal) isAdmin() bool {
	if p.policies == nil {
		return false
	}
	all := func(roles []rolePolicy) bool {
		for _, rp := range roles {
			if rp.all {
				return true
			}
		}
		return false
	}
	return all(p.policies.roles) && (p.policies.ceiling == nil || all(p.policies.ceiling))
}

// checkTokenGrant keeps a principal from minting a token more powerful than
// itself, as LaunchDarkly does ("a member with only reader permissions can
// only create reader tokens"): unless the principal is an admin, a personal
// token is its own member's, and any token's base role ranks no higher than
// the principal's member's and its custom roles are among that member's. A
// service token, which no member bounds when used, gets no inline role from
// a non-admin. Whether the principal may manage tokens at all is the
// policy's part.
func checkTokenGrant(ctx context.Context, r *rtx, t *Token) error {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.isAdmin() {
		return nil
	}
	if !t.ServiceToken && t.MemberID != p.MemberID {
		return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: only an admin manages another member's tokens")
	}
	var m Member
	if _, err := getMember(r, p.MemberID, &m); err != nil {
		return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: the acting member is gone")
	}
	if t.ServiceToken && len(t.InlineRole) > 0 {
		return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: only an admin gives a service token an inline role")
	}
	if t.Role != "" && baseRoleRank(t.Role) > baseRoleRank(m.Role) {
		return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: a %s member cannot create a %s token", m.Role, t.Role)
	}
	for _, id := range t.CustomRoleIDs {
		if !slices.Contains(m.CustomRoles, id) {
			return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: custom role %s is not the member's", id)
		}
	}
	return nil
}
