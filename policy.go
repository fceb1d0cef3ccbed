package flagstore

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/flagstore/flagstore/internal/resource"
)

// LaunchDarkly's base roles.
const (
	RoleReader   = "reader"
	RoleWriter   = "writer"
	RoleAdmin    = "admin"
	RoleOwner    = "owner"
	RoleNoAccess = "no_access"
)

// validBaseRole reports whether r names a base role.
func validBaseRole(r string) bool {
	switch r {
	case RoleReader, RoleWriter, RoleAdmin, RoleOwner, RoleNoAccess:
		return true
	}
	return false
}

// baseRoleRank orders base roles by power, for "no more than" checks.
func baseRoleRank(r string) int {
	switch r {
	case RoleReader:
		return 1
	case RoleWriter:
		return 2
	case RoleAdmin:
		return 3
	case RoleOwner:
		return 4
	}
	return 0
}

// The project family of resources, every level of it.
var projectFamily = []string{
	"proj/*", "proj/*:env/*", "proj/*:env/*:flag/*", "proj/*:env/*:segment/*",
	"proj/*:env/*:experiment/*", "proj/*:metric/*", "proj/*:metric-group/*",
	"proj/*:context-kind/*", "proj/*:layer/*", "proj/*:release-pipeline/*",
}

// readerStatements let a role view everything and change nothing: what the
// reader base role and a custom role's basePermissions "reader" grant.
var readerStatements = []Statement{
	{Effect: "allow", Actions: []string{"view*"}, Resources: append(slices.Clone(projectFamily),
		"member/*", "member/*:token/*", "service-token/*", "role/*", "team/*", "webhook/*")},
}

// writerStatements are the writer base role: everything in projects, their
// environments, flags, segments and metrics, and viewing the rest; nothing
// on members, roles, teams, other people's tokens or webhooks.
var writerStatements = append(slices.Clone(readerStatements),
	Statement{Effect: "allow", Actions: []string{"*"}, Resources: slices.Clone(projectFamily)},
)

// rolePolicy is one role's compiled policy: a base role, a custom role or
// a token's inline role. all marks the admin and owner base roles, which
// may do everything.
type rolePolicy struct {
	name string
	all  bool
	p    *resource.Policy
}

// basePolicy returns a base role's policy. The reader and writer roles are
// compiled once: every authentication needs them (a personal token's role
// and its member's), they take no role attributes, and a compiled policy is
// only read.
func basePolicy(role string) (rolePolicy, error) {
	rp := rolePolicy{name: "base role " + role}
	switch role {
	case RoleAdmin, RoleOwner:
		rp.all = true
		return rp, nil
	case RoleWriter:
		return writerPolicy()
	case RoleReader:
		return readerPolicy()
	default: // no_access, or none
		return compilePolicy(rp.name, nil, nil)
	}
}

var (
	readerPolicy = sync.OnceValues(func() (rolePolicy, error) {
		return compilePolicy("base role "+RoleReader, readerStatements, nil)
	})
	writerPolicy = sync.OnceValues(func() (rolePolicy, error) {
		return compilePolicy("base role "+RoleWriter, writerStatements, nil)
	})
)

// customPolicy compiles a custom role's statements with the role
// attributes of whoever holds it; basePermissions "reader" adds viewing.
func customPolicy(key string, statements []Statement, basePermissions string, attrs map[string][]string) (rolePolicy, error) {
	sts := statements
	if basePermissions == RoleReader {
		sts = append(slices.Clone(statements), readerStatements...)
	}
	return compilePolicy("custom role "+key, sts, attrs)
}

func compilePolicy(name string, sts []Statement, attrs map[string][]string) (rolePolicy, error) {
	p, err := resource.Compile(internalStatements(sts), attrs)
	if err != nil {
		return rolePolicy{}, fmt.Errorf("%s: %w", name, err)
	}
	return rolePolicy{name: name, p: p}, nil
}

// Decision is the answer of a policy check, with the reason a 403 can give.
type Decision struct {
	Allowed  bool
	Action   string
	Resource string
	// Reason says which role and statement decided, or that none allowed.
	Reason string
}

// policySet is everything that decides for one principal: its roles (any
// one allowing suffices, LaunchDarkly's "permissions are cumulative across
// roles") and, for a personal token, its member's roles as a ceiling (a
// token never does more than its member).
type policySet struct {
	roles   []rolePolicy
	ceiling []rolePolicy // nil: no ceiling
}

// decide evaluates one action on one resource.
func (ps *policySet) decide(action string, r resource.Resource) Decision {
	d := Decision{Action: action, Resource: r.String()}
	ok, why := anyAllows(ps.roles, action, r)
	if ok && ps.ceiling != nil {
		if ceilOK, ceilWhy := anyAllows(ps.ceiling, action, r); !ceilOK {
			d.Reason = "the token's member may not do this: " + ceilWhy
			return d
		}
	}
	d.Allowed, d.Reason = ok, why
	return d
}

// anyAllows reports whether one of the roles allows action on r, and why
// (or why not).
func anyAllows(roles []rolePolicy, action string, r resource.Resource) (bool, string) {
	var denials []string
	for _, rp := range roles {
		if rp.all {
			return true, "allowed by " + rp.name
		}
		d := rp.p.Evaluate(action, r)
		if d.Allowed {
			return true, fmt.Sprintf("allowed by %s, statement %d", rp.name, d.Index)
		}
		if d.Index >= 0 {
			denials = append(denials, fmt.Sprintf("denied by %s, statement %d", rp.name, d.Index))
		}
	}
	if len(denials) > 0 {
		return false, strings.Join(denials, "; ")
	}
	return false, "no role allows it"
}
