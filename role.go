package flagstore

// Custom roles (LaunchDarkly's CustomRole). The key space:
//
//	cr/{key}                  custom role
//	cri/{_id}                 custom role _id → key (raw bytes)
//	ru/{roleKey}/{user}       the role is assigned to user: "m:{memberId}",
//	                          "t:{teamKey}" or "k:{tokenId}" (written by tokens)
//	x/cr//…, n/cr//…          list index (see list.go)
//
// A role cannot be deleted while anything under ru/{key}/ exists.

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/flagstore/flagstore/store"
)

// Base permissions of a custom role: what a holder may do where no
// statement of the role applies.
const (
	// BasePermissionsReader lets holders view everything, as the reader base
	// role does.
	BasePermissionsReader = "reader"
	// BasePermissionsNoAccess grants nothing beyond the policy. It is the
	// default, as in LaunchDarkly's current API versions.
	BasePermissionsNoAccess = "no_access"
)

// CustomRole is a named policy that members, teams and access tokens can be
// given (LaunchDarkly's CustomRole). AssignedTo is computed on every read.
type CustomRole struct {
	ID              string      `json:"_id"`
	Key             string      `json:"key"`
	Name            string      `json:"name"`
	Description     string      `json:"description"`
	Policy          []Statement `json:"policy"`
	BasePermissions string      `json:"basePermissions"`
	// ResourceCategory is a free grouping label (LaunchDarkly's UI groups
	// roles by it). It is set at creation and read-only afterwards, since
	// LaunchDarkly names no action that changes it.
	ResourceCategory string `json:"resourceCategory,omitempty"`
	// AssignedTo counts the members and teams holding the role; it is not
	// stored, and a write that changes it is refused.
	AssignedTo *RoleAssignments `json:"assignedTo,omitempty"`
}

// RoleAssignments counts who holds a custom role (LaunchDarkly's
// AssignedToRep).
type RoleAssignments struct {
	MembersCount int `json:"membersCount"`
	TeamsCount   int `json:"teamsCount"`
}

// CustomRolePost is the body that creates a custom role. An empty
// BasePermissions means "no_access".
type CustomRolePost struct {
	Key              string      `json:"key"`
	Name             string      `json:"name"`
	Description      string      `json:"description,omitempty"`
	Policy           []Statement `json:"policy"`
	BasePermissions  string      `json:"basePermissions,omitempty"`
	ResourceCategory string      `json:"resourceCategory,omitempty"`
}

var roleIndex = index{coll: "cr", scope: ""}

func roleDocKey(key string) string          { return "cr/" + key }
func roleIDKey(id string) string            { return "cri/" + id }
func roleUsePrefix(key string) string       { return "ru/" + key + sep }
func roleUseKey(key, user string) string    { return roleUsePrefix(key) + user }
func roleSpec(key string) string            { return "role/" + key }
func roleEntry(cr *CustomRole) *entryOf     { return &entryOf{key: cr.Key, name: cr.Name} }
func memberRoleUser(memberID string) string { return "m:" + memberID }
func teamRoleUser(teamKey string) string    { return "t:" + teamKey }

// CreateCustomRole creates a custom role. A taken key is ErrAlreadyExists.
func (s *Store) CreateCustomRole(ctx context.Context, p CustomRolePost) (CustomRole, error) {
	if err := validRefKey("key", p.Key); err != nil {
		return CustomRole{}, err
	}
	cr := CustomRole{
		Key:              p.Key,
		Name:             p.Name,
		Description:      p.Description,
		Policy:           cloneRolePolicy(p.Policy),
		BasePermissions:  p.BasePermissions,
		ResourceCategory: p.ResourceCategory,
	}
	if cr.BasePermissions == "" {
		cr.BasePermissions = BasePermissionsNoAccess
	}
	if err := validateCustomRole(&cr); err != nil {
		return CustomRole{}, err
	}
	if cr.ResourceCategory != "" {
		if err := validKey("resourceCategory", cr.ResourceCategory); err != nil {
			return CustomRole{}, err
		}
	}
	cr.ID = s.newID()
	err := s.update(ctx, func(w *wtx) error {
		if ok, err := w.exists(roleDocKey(cr.Key)); err != nil || ok {
			if ok {
				return existsf("A custom role with key %q already exists", cr.Key)
			}
			return err
		}
		if err := w.put(roleDocKey(cr.Key), &cr, store.Absent); err != nil {
			return err
		}
		if err := w.w.Put(roleIDKey(cr.ID), []byte(cr.Key), store.Absent); err != nil {
			return err
		}
		if err := roleIndex.reindex(w, nil, roleEntry(&cr)); err != nil {
			return err
		}
		return s.record(w, change{kind: "role", verb: "created", name: cr.Name, resource: roleSpec(cr.Key),
			accesses: accessesOf(roleSpec(cr.Key), "createRole"), after: &cr})
	})
	if err != nil {
		return CustomRole{}, err
	}
	cr.AssignedTo = &RoleAssignments{}
	return cr, nil
}

// GetCustomRole returns the custom role with the given key or _id (a key
// wins when a string is both).
func (s *Store) GetCustomRole(ctx context.Context, keyOrID string) (CustomRole, error) {
	var cr CustomRole
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getRoleByKeyOrID(r, keyOrID, &cr); err != nil {
			return err
		}
		return fillRoleAssignments(r, &cr)
	})
	return cr, err
}

// ListCustomRoles lists custom roles, by default in key order. Query matches
// keys and names; roles have no creation date, so sorting by creationDate
// gives key order.
func (s *Store) ListCustomRoles(ctx context.Context, o ListOptions) (List[CustomRole], error) {
	var out List[CustomRole]
	err := s.view(ctx, func(r *rtx) error {
		keys, total, err := roleIndex.page(r, o, "key")
		if err != nil {
			return err
		}
		out = List[CustomRole]{Items: make([]CustomRole, 0, len(keys)), TotalCount: total}
		for _, k := range keys {
			var cr CustomRole
			if _, err := getRole(r, k, &cr); err != nil {
				return err
			}
			if err := fillRoleAssignments(r, &cr); err != nil {
				return err
			}
			out.Items = append(out.Items, cr)
		}
		return nil
	})
	return out, err
}

// UpdateCustomRole applies fn to a copy of the role (found by key or _id)
// and stores the result if it is valid. The key, _id, resourceCategory and
// assignedTo cannot change.
func (s *Store) UpdateCustomRole(ctx context.Context, keyOrID string, fn func(*CustomRole) error) (CustomRole, error) {
	var after CustomRole
	err := s.update(ctx, func(w *wtx) error {
		var before CustomRole
		ver, err := getRoleByKeyOrID(&w.rtx, keyOrID, &before)
		if err != nil {
			return err
		}
		if err := fillRoleAssignments(&w.rtx, &before); err != nil {
			return err
		}
		after = cloneCustomRole(&before)
		if err := fn(&after); err != nil {
			return err
		}
		switch {
		case after.Key != before.Key:
			return invalidf("key", "a custom role's key cannot change")
		case after.ID != before.ID:
			return invalidf("_id", "_id is read-only")
		case after.ResourceCategory != before.ResourceCategory:
			return invalidf("resourceCategory", "resourceCategory is read-only")
		case !reflect.DeepEqual(after.AssignedTo, before.AssignedTo):
			return invalidf("assignedTo", "assignedTo is computed and read-only")
		}
		if err := validateCustomRole(&after); err != nil {
			return err
		}
		after.Policy = nonNil(after.Policy)
		if jsonEqual(&before, &after) {
			return nil
		}
		stored := after
		stored.AssignedTo = nil
		if err := w.put(roleDocKey(before.Key), &stored, ver); err != nil {
			return err
		}
		if err := roleIndex.reindex(w, roleEntry(&before), roleEntry(&after)); err != nil {
			return err
		}
		return s.record(w, change{kind: "role", verb: "updated", name: after.Name, resource: roleSpec(after.Key),
			accesses: accessesOf(roleSpec(after.Key), changedActions(roleFieldActions, &before, &after)...),
			before:   &before, after: &after})
	})
	if err != nil {
		return CustomRole{}, err
	}
	return after, nil
}

// PatchCustomRole updates a custom role with JSON Patch or merge patch, as
// LaunchDarkly's "Update custom role" does.
func (s *Store) PatchCustomRole(ctx context.Context, keyOrID string, p Patch) (CustomRole, error) {
	if err := checkPatch(&p); err != nil {
		return CustomRole{}, err
	}
	return s.UpdateCustomRole(withPatch(ctx, &p), keyOrID, func(cr *CustomRole) error {
		return patchRepresentation(cr, &p, true, nil)
	})
}

// DeleteCustomRole deletes a custom role (by key or _id). A role still
// assigned to a member, a team or an access token is a 409 conflict, as in
// LaunchDarkly.
func (s *Store) DeleteCustomRole(ctx context.Context, keyOrID string) error {
	return s.update(ctx, func(w *wtx) error {
		var cr CustomRole
		if _, err := getRoleByKeyOrID(&w.rtx, keyOrID, &cr); err != nil {
			return err
		}
		var user string
		if err := w.tx.Scan(roleUsePrefix(cr.Key), "", func(it store.Item) bool {
			user = strings.TrimPrefix(it.Key, roleUsePrefix(cr.Key))
			return false
		}); err != nil {
			return err
		}
		if user != "" {
			return inUsef("The custom role %q is still assigned to %s; remove the assignment first", cr.Key, describeRoleUser(user))
		}
		if err := w.del(roleDocKey(cr.Key)); err != nil {
			return err
		}
		if err := w.del(roleIDKey(cr.ID)); err != nil {
			return err
		}
		if err := roleIndex.reindex(w, roleEntry(&cr), nil); err != nil {
			return err
		}
		return s.record(w, change{kind: "role", verb: "deleted", name: cr.Name, resource: roleSpec(cr.Key),
			accesses: accessesOf(roleSpec(cr.Key), "deleteRole"), before: &cr})
	})
}

// memberPolicyInputs returns what the policy engine needs for a member: its
// custom roles, the custom roles of its teams (each once, in team key
// order), and its role attributes merged with its teams'. The merge is a
// union per attribute name: the member's own values first, then each
// team's (in team key order) that are not already present.
func memberPolicyInputs(r *rtx, m *Member) (roles []CustomRole, teamRoles []CustomRole, attrs map[string][]string, err error) {
	for _, id := range m.CustomRoles {
		var cr CustomRole
		if err := getRoleByID(r, id, &cr); err != nil {
			return nil, nil, nil, err
		}
		roles = append(roles, cr)
	}
	attrs = cloneRoleAttributes(m.RoleAttributes)
	teams, err := r.keysUnder(memberTeamPrefix(m.ID))
	if err != nil {
		return nil, nil, nil, err
	}
	seen := map[string]bool{}
	for _, tk := range teams {
		var t Team
		if _, err := getTeam(r, tk, &t); err != nil {
			return nil, nil, nil, err
		}
		for _, k := range t.CustomRoleKeys {
			if seen[k] {
				continue
			}
			seen[k] = true
			var cr CustomRole
			if _, err := getRole(r, k, &cr); err != nil {
				return nil, nil, nil, err
			}
			teamRoles = append(teamRoles, cr)
		}
		for _, name := range keysInOrder(t.RoleAttributes) {
			if attrs == nil {
				attrs = map[string][]string{}
			}
			for _, v := range t.RoleAttributes[name] {
				if !slices.Contains(attrs[name], v) {
					attrs[name] = append(attrs[name], v)
				}
			}
		}
	}
	return roles, teamRoles, attrs, nil
}

// describeRoleUser names the holder a role use key points at.
func describeRoleUser(user string) string {
	kind, id, _ := strings.Cut(user, ":")
	switch kind {
	case "m":
		return "member " + id
	case "t":
		return "team " + id
	case "k":
		return "access token " + id
	}
	return user
}

// getRole reads the stored custom role with the given key.
func getRole(r *rtx, key string, cr *CustomRole) (uint64, error) {
	v, err := r.get(roleDocKey(key), cr)
	if err != nil {
		return 0, notFoundOr(err, "Unknown custom role %q", key)
	}
	return v, nil
}

// getRoleByID reads the stored custom role with the given _id; an unknown
// _id is a 404. AssignedTo is not filled.
func getRoleByID(r *rtx, id string, cr *CustomRole) error {
	key, err := roleKeyOfID(r, id)
	if err != nil {
		return err
	}
	_, err = getRole(r, key, cr)
	return err
}

// roleKeyOfID resolves a custom role _id to its key.
func roleKeyOfID(r *rtx, id string) (string, error) {
	if id == "" || strings.Contains(id, sep) {
		return "", notFoundf("Unknown custom role %q", id)
	}
	it, err := r.tx.Get(roleIDKey(id))
	if err != nil {
		return "", notFoundOr(err, "Unknown custom role %q", id)
	}
	return string(it.Value), nil
}

// getRoleByKeyOrID reads a custom role named by key, or else by _id.
func getRoleByKeyOrID(r *rtx, keyOrID string, cr *CustomRole) (uint64, error) {
	if keyOrID == "" || strings.Contains(keyOrID, sep) {
		return 0, notFoundf("Unknown custom role %q", keyOrID)
	}
	v, err := getRole(r, keyOrID, cr)
	if !errors.Is(err, ErrNotFound) {
		return v, err
	}
	key, kerr := roleKeyOfID(r, keyOrID)
	if kerr != nil {
		return 0, err
	}
	return getRole(r, key, cr)
}

// fillRoleAssignments counts the members and teams that hold cr.
func fillRoleAssignments(r *rtx, cr *CustomRole) error {
	a := RoleAssignments{}
	err := r.tx.Scan(roleUsePrefix(cr.Key), "", func(it store.Item) bool {
		switch user := strings.TrimPrefix(it.Key, roleUsePrefix(cr.Key)); {
		case strings.HasPrefix(user, "m:"):
			a.MembersCount++
		case strings.HasPrefix(user, "t:"):
			a.TeamsCount++
		}
		return true
	})
	cr.AssignedTo = &a
	return err
}

// resolveRoleRefs turns a list of custom role keys or _ids into _ids, in
// order. An unknown role or one listed twice is a 400 naming attribute.
func resolveRoleRefs(r *rtx, attribute string, refs []string) (ids, keys []string, err error) {
	for _, ref := range refs {
		var cr CustomRole
		if _, gerr := getRoleByKeyOrID(r, ref, &cr); gerr != nil {
			if errors.Is(gerr, ErrNotFound) {
				return nil, nil, invalidf(attribute, "unknown custom role %q", ref)
			}
			return nil, nil, gerr
		}
		if slices.Contains(ids, cr.ID) {
			return nil, nil, invalidf(attribute, "custom role %q is listed twice", ref)
		}
		ids, keys = append(ids, cr.ID), append(keys, cr.Key)
	}
	return nonNil(ids), keys, nil
}

// setRoleUses moves user's role use keys from the roles in before to those
// in after (both lists of role keys).
func setRoleUses(w *wtx, user string, before, after []string) error {
	for _, k := range before {
		if !slices.Contains(after, k) {
			if err := w.del(roleUseKey(k, user)); err != nil {
				return err
			}
		}
	}
	for _, k := range after {
		if !slices.Contains(before, k) {
			if err := w.mark(roleUseKey(k, user)); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateCustomRole checks the writable fields of a role.
func validateCustomRole(cr *CustomRole) *Error {
	if err := validName("name", cr.Name); err != nil {
		return err
	}
	if err := validPlainText("description", cr.Description); err != nil {
		return err
	}
	switch cr.BasePermissions {
	case BasePermissionsReader, BasePermissionsNoAccess:
	default:
		return invalidf("basePermissions", "basePermissions must be %q or %q, not %q",
			BasePermissionsReader, BasePermissionsNoAccess, cr.BasePermissions)
	}
	return validStatements("policy", cr.Policy)
}

// validRefKey is validKey for the keys of roles and teams, which also
// appear inside member index tags ("r.{key}", "t.{key}") and so must leave
// room for the two-character prefix.
func validRefKey(attribute, key string) *Error {
	if err := validKey(attribute, key); err != nil {
		return err
	}
	if len(key) > maxKeyLength-2 {
		return invalidf(attribute, "%s must be at most %d characters", attribute, maxKeyLength-2)
	}
	return nil
}

// maxTextLength bounds descriptions and other free text.
const maxTextLength = 4096

// validPlainText refuses overlong or non-UTF-8 free text (which JSON would
// silently alter); empty text is fine.
func validPlainText(attribute, s string) *Error {
	if len(s) > maxTextLength {
		return invalidf(attribute, "%s must be at most %d bytes", attribute, maxTextLength)
	}
	if !utf8.ValidString(s) {
		return invalidf(attribute, "%s must be valid UTF-8", attribute)
	}
	return nil
}

// validRoleAttributes checks role attributes: each name is a run of key
// characters (what a ${roleAttribute/name} placeholder can name), each
// value a key, as the policy engine substitutes only keys; every attribute
// has at least one value and no value twice.
func validRoleAttributes(attribute string, attrs map[string][]string) *Error {
	for _, name := range keysInOrder(attrs) {
		if name == "" || len(name) > maxKeyLength || strings.ContainsFunc(name, func(r rune) bool {
			return !(r < 128 && (isAlnum(byte(r)) || r == '.' || r == '_' || r == '-'))
		}) {
			return invalidf(attribute, "role attribute name %q may contain only letters, digits, '.', '_' and '-'", name)
		}
		vals := attrs[name]
		if len(vals) == 0 {
			return invalidf(attribute, "role attribute %q needs at least one value", name)
		}
		for i, v := range vals {
			if err := validKey(fmt.Sprintf("%s.%s[%d]", attribute, name, i), v); err != nil {
				e := invalidf(attribute, "role attribute %q: value %q is not a key: %s", name, v, err.Message)
				return e
			}
			if slices.Contains(vals[:i], v) {
				return invalidf(attribute, "role attribute %q lists %q twice", name, v)
			}
		}
	}
	return nil
}

// keysInOrder returns a map's keys in order.
func keysInOrder[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// cloneRoleAttributes deep-copies role attributes; nil and empty give nil.
func cloneRoleAttributes(m map[string][]string) map[string][]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

// cloneRolePolicy deep-copies policy statements; nil gives an empty list.
func cloneRolePolicy(sts []Statement) []Statement {
	out := make([]Statement, len(sts))
	for i, st := range sts {
		out[i] = Statement{Effect: st.Effect, Resources: slices.Clone(st.Resources),
			NotResources: slices.Clone(st.NotResources), Actions: slices.Clone(st.Actions),
			NotActions: slices.Clone(st.NotActions)}
	}
	return out
}

// cloneCustomRole deep-copies a custom role.
func cloneCustomRole(cr *CustomRole) CustomRole {
	c := *cr
	c.Policy = cloneRolePolicy(cr.Policy)
	if cr.AssignedTo != nil {
		a := *cr.AssignedTo
		c.AssignedTo = &a
	}
	return c
}
