package flagstore

// Account members (LaunchDarkly's Member). The key space:
//
//	m/{_id}                   member (Teams is not stored: reads fill it)
//	me/{lower-cased email}    email → member _id (raw bytes)
//	x/m//…, n/m//…            list index (see list.go); its tags are
//	                          "r.{role}" for the base role (the owner also
//	                          carries "r.admin"), "r.{key}" per custom role
//	                          and "t.{teamKey}" per team, so role and team
//	                          filters are index scans
//
// Team membership (tm/, mt/) and permission grants (tg/) are described in
// team.go, role uses (ru/) in role.go. A store starts with one owner member
// (see withOwner); an account has exactly one owner, and ownership cannot
// move through this API.

import (
	"context"
	"fmt"
	"math"
	"net/mail"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// Error codes of a refused invitation, as LaunchDarkly sends them (with
// HTTP status 400). The offending addresses are listed in Error.Errors, one
// FieldError each, with Attribute "invalid_emails" and the address as
// Reason, so an HTTP layer can rebuild LaunchDarkly's invalid_emails field.
const (
	CodeDuplicateEmail     = "duplicate_email"
	CodeEmailAlreadyExists = "email_already_exists_in_account"
)

// OwnerEmail is the email address of the owner member a new store starts
// with. It is a .localhost-style address that no mail system delivers to.
const OwnerEmail = "owner@localhost"

// MaxInvites is the most invitations one InviteMembers call may carry, as
// in LaunchDarkly.
const MaxInvites = 50

// Member is an account member (LaunchDarkly's Member).
type Member struct {
	ID        string `json:"_id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	// Role is the base role: reader, writer, admin, owner or no_access.
	// LaunchDarkly: "if the member has no additional roles, this role will
	// be in effect".
	Role string `json:"role"`
	// CustomRoles holds the _ids of the member's custom roles, as
	// LaunchDarkly stores them. Writes accept keys too and store _ids.
	CustomRoles []string `json:"customRoles"`
	// RoleAttributes are substituted into ${roleAttribute/…} placeholders
	// of the member's roles.
	RoleAttributes map[string][]string `json:"roleAttributes,omitempty"`
	// Teams is filled on every read from the member's team memberships.
	Teams []MemberTeam `json:"teams,omitempty"`
	// PermissionGrants are the grants teams gave the member (resource
	// "team/{key}"); they change through team patches only.
	PermissionGrants []PermissionGrant `json:"permissionGrants,omitempty"`
	PendingInvite    bool              `json:"_pendingInvite"`
	Verified         bool              `json:"_verified"`
	// MFA is "disabled": flagstore has no sign-in of its own.
	MFA          string `json:"mfa"`
	LastSeen     int64  `json:"_lastSeen"`
	CreationDate int64  `json:"creationDate"`
}

// MemberTeam is one team of a member (LaunchDarkly's MemberTeamSummaryRep).
type MemberTeam struct {
	Key            string   `json:"key"`
	Name           string   `json:"name"`
	CustomRoleKeys []string `json:"customRoleKeys"`
}

// PermissionGrant allows a member an action set or a list of actions on
// one resource, without a role (LaunchDarkly's
// MemberPermissionGrantSummaryRep).
type PermissionGrant struct {
	Resource  string   `json:"resource"`
	ActionSet string   `json:"actionSet,omitempty"`
	Actions   []string `json:"actions,omitempty"`
}

// MemberInvite is one invitation (LaunchDarkly's NewMemberForm).
type MemberInvite struct {
	Email string `json:"email"`
	// Password is accepted for compatibility and ignored: flagstore keeps
	// no passwords.
	Password  string `json:"password,omitempty"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	// Role is reader, writer, admin or no_access. Empty means reader, or
	// no_access when CustomRoles is given (the custom roles then decide).
	Role string `json:"role,omitempty"`
	// CustomRoles are custom role keys (or _ids).
	CustomRoles    []string            `json:"customRoles,omitempty"`
	TeamKeys       []string            `json:"teamKeys,omitempty"`
	RoleAttributes map[string][]string `json:"roleAttributes,omitempty"`
}

// MemberFilter narrows ListMembers beyond ListOptions (whose Query matches
// names and email addresses).
type MemberFilter struct {
	// Role keeps members with this base role or custom role key; the owner
	// counts as admin, as in LaunchDarkly.
	Role string
	// Team keeps members of the team with this key.
	Team string
}

var memberIndex = index{coll: "m", scope: ""}

func memberDocKey(id string) string      { return "m/" + id }
func memberEmailKey(email string) string { return "me/" + strings.ToLower(email) }
func memberSpec(id string) string        { return "member/" + id }

// memberDisplayName is first and last name, or the email without them.
func memberDisplayName(m *Member) string {
	if n := strings.TrimSpace(m.FirstName + " " + m.LastName); n != "" {
		return n
	}
	return m.Email
}

// memberEntry is the member's index entry; it reads the member's teams and
// role keys, so compute it before and after a change, not in between.
func memberEntry(r *rtx, m *Member) (*entryOf, error) {
	name := memberDisplayName(m)
	if name != m.Email {
		name += " " + m.Email // so that a query matches the address too
	}
	tags := []string{"r." + m.Role}
	if m.Role == RoleOwner {
		tags = append(tags, "r."+RoleAdmin)
	}
	keys, err := roleKeysOfIDs(r, m.CustomRoles)
	if err != nil {
		return nil, err
	}
	teams, err := r.keysUnder(memberTeamPrefix(m.ID))
	if err != nil {
		return nil, err
	}
	for _, k := range keys {
		tags = append(tags, "r."+k)
	}
	for _, t := range teams {
		tags = append(tags, "t."+t)
	}
	slices.Sort(tags)
	return &entryOf{key: m.ID, name: name, created: m.CreationDate, tags: slices.Compact(tags)}, nil
}

// roleKeysOfIDs resolves custom role _ids to keys.
func roleKeysOfIDs(r *rtx, ids []string) ([]string, error) {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		k, err := roleKeyOfID(r, id)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, nil
}

// getMember reads the stored member with the given _id; an unknown _id is
// a 404. Teams is not filled (see fillMemberTeams).
func getMember(r *rtx, id string, m *Member) (uint64, error) {
	if id == "" || strings.Contains(id, sep) {
		return 0, notFoundf("Unknown member %q", id)
	}
	v, err := r.get(memberDocKey(id), m)
	if err != nil {
		return 0, notFoundOr(err, "Unknown member %q", id)
	}
	return v, nil
}

// fillMemberTeams sets m.Teams from the member's team memberships.
func fillMemberTeams(r *rtx, m *Member) error {
	keys, err := r.keysUnder(memberTeamPrefix(m.ID))
	if err != nil {
		return err
	}
	m.Teams = nil
	for _, k := range keys {
		var t Team
		if _, err := getTeam(r, k, &t); err != nil {
			return err
		}
		m.Teams = append(m.Teams, MemberTeam{Key: t.Key, Name: t.Name, CustomRoleKeys: nonNil(t.CustomRoleKeys)})
	}
	return nil
}

// readMember reads a member with its teams.
func readMember(r *rtx, id string, m *Member) (uint64, error) {
	v, err := getMember(r, id, m)
	if err != nil {
		return 0, err
	}
	return v, fillMemberTeams(r, m)
}

// InviteMembers invites up to MaxInvites members, all or nothing. Each
// invitation needs a valid email address not yet in the account (else a 400
// with Code CodeEmailAlreadyExists) and not repeated in the request (Code
// CodeDuplicateEmail); the owner role cannot be invited; custom roles and
// teams must exist. The members are recorded with _pendingInvite true (no
// mail is sent) and join the teams named by TeamKeys.
func (s *Store) InviteMembers(ctx context.Context, invites []MemberInvite) ([]Member, error) {
	if len(invites) == 0 {
		return nil, invalidf("", "at least one invitation is required")
	}
	if len(invites) > MaxInvites {
		return nil, invalidf("", "at most %d members may be invited at once", MaxInvites)
	}
	seen := map[string]bool{}
	var dups []string
	for i, inv := range invites {
		if err := validInvite(fmt.Sprintf("[%d]", i), &inv); err != nil {
			return nil, err
		}
		lower := strings.ToLower(inv.Email)
		if seen[lower] && !slices.Contains(dups, inv.Email) {
			dups = append(dups, inv.Email)
		}
		seen[lower] = true
	}
	if len(dups) > 0 {
		return nil, emailsError(CodeDuplicateEmail, dups, "The request lists the same email address more than once")
	}
	now := s.nowMillis()
	out := make([]Member, len(invites))
	err := s.update(ctx, func(w *wtx) error {
		var taken []string
		for _, inv := range invites {
			if ok, err := w.exists(memberEmailKey(inv.Email)); err != nil {
				return err
			} else if ok {
				taken = append(taken, inv.Email)
			}
		}
		if len(taken) > 0 {
			return emailsError(CodeEmailAlreadyExists, taken, "A member with this email address already exists in this account")
		}
		teamDelta := map[string]int{}
		var accesses []Access
		for i, inv := range invites {
			attr := fmt.Sprintf("[%d]", i)
			ids, keys, err := resolveRoleRefs(&w.rtx, attr+".customRoles", inv.CustomRoles)
			if err != nil {
				return err
			}
			for _, k := range inv.TeamKeys {
				if ok, err := w.exists(teamDocKey(k)); err != nil || !ok {
					if err != nil {
						return err
					}
					return invalidf(attr+".teamKeys", "unknown team %q", k)
				}
			}
			m := Member{
				ID: s.newID(), Email: inv.Email, FirstName: inv.FirstName, LastName: inv.LastName,
				Role: inviteRole(&inv), CustomRoles: ids, RoleAttributes: cloneRoleAttributes(inv.RoleAttributes),
				PendingInvite: true, MFA: "disabled", CreationDate: now,
			}
			if err := s.insertMember(w, &m, keys); err != nil {
				return err
			}
			for _, k := range inv.TeamKeys {
				if _, err := addMembership(w, k, m.ID); err != nil {
					return err
				}
				teamDelta[k]++
			}
			e, err := memberEntry(&w.rtx, &m)
			if err != nil {
				return err
			}
			if err := memberIndex.reindex(w, nil, e); err != nil {
				return err
			}
			if err := fillMemberTeams(&w.rtx, &m); err != nil {
				return err
			}
			out[i] = m
			accesses = append(accesses, accessesOf(memberSpec(m.ID), "createMember")...)
		}
		for _, k := range keysInOrder(teamDelta) {
			if err := bumpTeam(w, k, teamDelta[k], now); err != nil {
				return err
			}
		}
		c := change{kind: "member", verb: "invited", accesses: accesses}
		emails := make([]string, len(out))
		for i := range out {
			emails[i] = out[i].Email
		}
		c.name = strings.Join(emails, ", ")
		if len(out) == 1 {
			c.resource, c.after = memberSpec(out[0].ID), &out[0]
		} else {
			c.resource, c.after = "member/*", out
		}
		return s.record(w, c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertMember writes a new member's document, email key and role uses
// (keys are its custom role keys); the caller indexes it.
func (s *Store) insertMember(w *wtx, m *Member, keys []string) error {
	if err := w.put(memberDocKey(m.ID), m, store.Absent); err != nil {
		return err
	}
	if err := w.w.Put(memberEmailKey(m.Email), []byte(m.ID), store.Absent); err != nil {
		return err
	}
	return setRoleUses(w, memberRoleUser(m.ID), nil, keys)
}

// inviteRole is the base role an invitation gives.
func inviteRole(inv *MemberInvite) string {
	switch {
	case inv.Role != "":
		return inv.Role
	case len(inv.CustomRoles) > 0:
		return RoleNoAccess
	default:
		return RoleReader
	}
}

// validInvite checks what an invitation carries without the store.
func validInvite(attr string, inv *MemberInvite) *Error {
	if err := validMemberEmail(attr+".email", inv.Email); err != nil {
		return err
	}
	switch inv.Role {
	case "", RoleReader, RoleWriter, RoleAdmin, RoleNoAccess:
	case RoleOwner:
		return invalidf(attr+".role", "the owner role cannot be given by invitation")
	default:
		return invalidf(attr+".role", "role must be reader, writer, admin or no_access, not %q", inv.Role)
	}
	if err := validPlainText(attr+".firstName", inv.FirstName); err != nil {
		return err
	}
	if err := validPlainText(attr+".lastName", inv.LastName); err != nil {
		return err
	}
	if err := validRoleAttributes(attr+".roleAttributes", inv.RoleAttributes); err != nil {
		return err
	}
	for i, k := range inv.TeamKeys {
		if err := validKey(attr+".teamKeys", k); err != nil {
			return err
		}
		if slices.Contains(inv.TeamKeys[:i], k) {
			return invalidf(attr+".teamKeys", "team %q is listed twice", k)
		}
	}
	return nil
}

// validMemberEmail accepts a bare address (no display name), at most 254
// bytes long.
func validMemberEmail(attribute, email string) *Error {
	if email == "" {
		return invalidf(attribute, "%s must be present", attribute)
	}
	if len(email) > 254 {
		return invalidf(attribute, "%s must be at most 254 characters", attribute)
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Name != "" || a.Address != email {
		return invalidf(attribute, "%q is not a valid email address", email)
	}
	return nil
}

// emailsError is LaunchDarkly's 400 for invitations whose addresses clash.
func emailsError(code string, emails []string, msg string) *Error {
	e := newError(ErrInvalid, "%s: %s", msg, strings.Join(emails, ", "))
	e.Code = code
	for _, addr := range emails {
		e.Errors = append(e.Errors, FieldError{Attribute: "invalid_emails", Reason: addr})
	}
	return e
}

// GetMember returns the member with the given _id.
func (s *Store) GetMember(ctx context.Context, id string) (Member, error) {
	var m Member
	err := s.view(ctx, func(r *rtx) error {
		_, err := readMember(r, id, &m)
		return err
	})
	return m, err
}

// Owner returns the account's owner member.
func (s *Store) Owner(ctx context.Context) (Member, error) {
	var m Member
	err := s.view(ctx, func(r *rtx) error {
		keys, _, err := memberIndex.page(r, ListOptions{Limit: 1, Tag: "r." + RoleOwner}, "creationDate")
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return notFoundf("The account has no owner")
		}
		_, err = readMember(r, keys[0], &m)
		return err
	})
	return m, err
}

// ListMembers lists members, by default oldest first. ListOptions.Query
// matches names and email addresses; Sort takes "displayName" (first and
// last name, else email) as well as key, name and creationDate; Tag is not
// supported. f narrows by role and team.
func (s *Store) ListMembers(ctx context.Context, o ListOptions, f MemberFilter) (List[Member], error) {
	if o.Tag != "" {
		return List[Member]{}, invalidf("tag", "members have no tags")
	}
	for _, v := range [][2]string{{"role", f.Role}, {"team", f.Team}} {
		if v[1] != "" {
			if err := validKey(v[0], v[1]); err != nil {
				return List[Member]{}, err
			}
		}
	}
	switch o.Sort {
	case "displayName":
		o.Sort = "name"
	case "-displayName":
		o.Sort = "-name"
	}
	var out List[Member]
	err := s.view(ctx, func(r *rtx) error {
		var keys []string
		var total int
		var err error
		switch {
		case f.Role != "" && f.Team != "":
			keys, total, err = membersWithRole(r, o, f)
		case f.Role != "":
			o.Tag = "r." + f.Role
			keys, total, err = memberIndex.page(r, o, "creationDate")
		default:
			if f.Team != "" {
				o.Tag = "t." + f.Team
			}
			keys, total, err = memberIndex.page(r, o, "creationDate")
		}
		if err != nil {
			return err
		}
		out, err = loadMembers(r, keys, total)
		return err
	})
	return out, err
}

// membersWithRole pages the members of f.Team that hold f.Role.
func membersWithRole(r *rtx, o ListOptions, f MemberFilter) ([]string, int, error) {
	if o.Limit < 0 || o.Offset < 0 {
		return nil, 0, invalidf("limit", "limit and offset must not be negative")
	}
	all := o
	all.Tag, all.Offset, all.Limit = "t."+f.Team, 0, math.MaxInt
	keys, _, err := memberIndex.page(r, all, "creationDate")
	if err != nil {
		return nil, 0, err
	}
	limit := o.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	var page []string
	matched := 0
	for _, k := range keys {
		var m Member
		if _, err := getMember(r, k, &m); err != nil {
			return nil, 0, err
		}
		e, err := memberEntry(r, &m)
		if err != nil {
			return nil, 0, err
		}
		if !slices.Contains(e.tags, "r."+f.Role) {
			continue
		}
		matched++
		if matched > o.Offset && len(page) < limit {
			page = append(page, k)
		}
	}
	return page, matched, nil
}

// loadMembers reads the members of one page.
func loadMembers(r *rtx, keys []string, total int) (List[Member], error) {
	out := List[Member]{Items: make([]Member, 0, len(keys)), TotalCount: total}
	for _, k := range keys {
		var m Member
		if _, err := readMember(r, k, &m); err != nil {
			return List[Member]{}, err
		}
		out.Items = append(out.Items, m)
	}
	return out, nil
}

// UpdateMember applies fn to a copy of the member and stores the result if
// it is valid. Only role, customRoles and roleAttributes may change, as
// LaunchDarkly allows; custom roles may be named by key or _id and are
// stored as _ids. No one can be made owner, and the owner's role cannot
// change: an account has exactly one owner.
func (s *Store) UpdateMember(ctx context.Context, id string, fn func(*Member) error) (Member, error) {
	var after Member
	err := s.update(ctx, func(w *wtx) error {
		var before Member
		ver, err := readMember(&w.rtx, id, &before)
		if err != nil {
			return err
		}
		after = cloneMember(&before)
		if err := fn(&after); err != nil {
			return err
		}
		if err := memberReadOnly(&before, &after); err != nil {
			return err
		}
		switch {
		case after.Role == before.Role:
		case before.Role == RoleOwner:
			return invalidf("role", "the owner's role cannot change: an account keeps exactly one owner")
		case after.Role == RoleOwner:
			return invalidf("role", "no member can be made owner: an account keeps exactly one owner")
		case !validBaseRole(after.Role):
			return invalidf("role", "role must be reader, writer, admin or no_access, not %q", after.Role)
		}
		ids, keys, err := resolveRoleRefs(&w.rtx, "customRoles", after.CustomRoles)
		if err != nil {
			return err
		}
		after.CustomRoles = ids
		if err := validRoleAttributes("roleAttributes", after.RoleAttributes); err != nil {
			return err
		}
		after.RoleAttributes = cloneRoleAttributes(after.RoleAttributes)
		if jsonEqual(&before, &after) {
			return nil
		}
		oldKeys, err := roleKeysOfIDs(&w.rtx, before.CustomRoles)
		if err != nil {
			return err
		}
		old, err := memberEntry(&w.rtx, &before)
		if err != nil {
			return err
		}
		stored := after
		stored.Teams = nil
		if err := w.put(memberDocKey(id), &stored, ver); err != nil {
			return err
		}
		if err := setRoleUses(w, memberRoleUser(id), oldKeys, keys); err != nil {
			return err
		}
		e, err := memberEntry(&w.rtx, &stored)
		if err != nil {
			return err
		}
		if err := memberIndex.reindex(w, old, e); err != nil {
			return err
		}
		return s.record(w, change{kind: "member", verb: "updated", name: after.Email, resource: memberSpec(id),
			accesses: accessesOf(memberSpec(id), changedActions(memberFieldActions, &before, &after)...),
			before:   &before, after: &after})
	})
	if err != nil {
		return Member{}, err
	}
	return after, nil
}

// memberReadOnly refuses a change to any field but role, customRoles and
// roleAttributes.
func memberReadOnly(before, after *Member) *Error {
	for _, f := range []struct {
		name string
		same bool
	}{
		{"_id", after.ID == before.ID},
		{"email", after.Email == before.Email},
		{"firstName", after.FirstName == before.FirstName},
		{"lastName", after.LastName == before.LastName},
		{"teams", jsonEqual(after.Teams, before.Teams)},
		{"permissionGrants", jsonEqual(after.PermissionGrants, before.PermissionGrants)},
		{"_pendingInvite", after.PendingInvite == before.PendingInvite},
		{"_verified", after.Verified == before.Verified},
		{"mfa", after.MFA == before.MFA},
		{"_lastSeen", after.LastSeen == before.LastSeen},
		{"creationDate", after.CreationDate == before.CreationDate},
	} {
		if !f.same {
			return invalidf(f.name, "%s is read-only: only role, customRoles and roleAttributes can change", f.name)
		}
	}
	return nil
}

// PatchMember updates a member with JSON Patch, the only dialect
// LaunchDarkly's "Modify an account member" takes.
func (s *Store) PatchMember(ctx context.Context, id string, p Patch) (Member, error) {
	if err := checkPatch(&p); err != nil {
		return Member{}, err
	}
	if p.Kind != JSONPatch {
		return Member{}, invalidf("", "a member takes JSON Patch, not %s", p.Kind)
	}
	return s.UpdateMember(withPatch(ctx, &p), id, func(m *Member) error {
		return patchRepresentation(m, &p, false, nil)
	})
}

// DeleteMember deletes a member with its team memberships, permission
// grants, role assignments and personal access tokens (service tokens it
// created stay). The owner cannot be deleted (409, as
// LaunchDarkly lists for a member that others depend on).
func (s *Store) DeleteMember(ctx context.Context, id string) error {
	return s.update(ctx, func(w *wtx) error {
		var m Member
		if _, err := getMember(&w.rtx, id, &m); err != nil {
			return err
		}
		if m.Role == RoleOwner {
			return inUsef("The account owner cannot be deleted")
		}
		old, err := memberEntry(&w.rtx, &m)
		if err != nil {
			return err
		}
		teams, err := w.keysUnder(memberTeamPrefix(id))
		if err != nil {
			return err
		}
		now := s.nowMillis()
		for _, t := range teams {
			if _, err := removeMembership(w, t, id); err != nil {
				return err
			}
			if err := bumpTeam(w, t, -1, now); err != nil {
				return err
			}
		}
		for _, g := range m.PermissionGrants {
			if t, ok := strings.CutPrefix(g.Resource, "team/"); ok {
				if err := w.del(teamGrantKey(t, id)); err != nil {
					return err
				}
			}
		}
		keys, err := roleKeysOfIDs(&w.rtx, m.CustomRoles)
		if err != nil {
			return err
		}
		if err := setRoleUses(w, memberRoleUser(id), keys, nil); err != nil {
			return err
		}
		if err := deleteMemberTokens(w, id); err != nil {
			return err
		}
		if err := w.del(memberEmailKey(m.Email)); err != nil {
			return err
		}
		if err := w.del(memberDocKey(id)); err != nil {
			return err
		}
		if err := memberIndex.reindex(w, old, nil); err != nil {
			return err
		}
		return s.record(w, change{kind: "member", verb: "deleted", name: m.Email, resource: memberSpec(id),
			accesses: accessesOf(memberSpec(id), "deleteMember"), before: &m})
	})
}

// withOwner gives a new store its owner member, in one transaction recorded
// as made by the host application, unless the store has members already. It
// runs before anything else, so the owner's _id is the first the ID
// generator gives. On failure it closes the store.
func withOwner(s *Store) (*Store, error) {
	err := s.update(context.Background(), func(w *wtx) error {
		found := false
		if err := w.tx.Scan("m/", "", func(store.Item) bool {
			found = true
			return false
		}); err != nil || found {
			return err
		}
		m := Member{ID: s.newID(), Email: OwnerEmail, Role: RoleOwner, CustomRoles: []string{},
			Verified: true, MFA: "disabled", CreationDate: s.nowMillis()}
		if err := s.insertMember(w, &m, nil); err != nil {
			return err
		}
		e, err := memberEntry(&w.rtx, &m)
		if err != nil {
			return err
		}
		if err := memberIndex.reindex(w, nil, e); err != nil {
			return err
		}
		return s.record(w, change{kind: "member", verb: "created", name: m.Email, resource: memberSpec(m.ID),
			accesses: accessesOf(memberSpec(m.ID), "createMember"), after: &m})
	})
	if err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// cloneMember deep-copies a member.
func cloneMember(m *Member) Member {
	c := *m
	c.CustomRoles = slices.Clone(m.CustomRoles)
	c.RoleAttributes = cloneRoleAttributes(m.RoleAttributes)
	if m.Teams != nil {
		c.Teams = make([]MemberTeam, len(m.Teams))
		for i, t := range m.Teams {
			t.CustomRoleKeys = slices.Clone(t.CustomRoleKeys)
			c.Teams[i] = t
		}
	}
	c.PermissionGrants = clonePermissionGrants(m.PermissionGrants)
	return c
}

// clonePermissionGrants deep-copies grants.
func clonePermissionGrants(gs []PermissionGrant) []PermissionGrant {
	if gs == nil {
		return nil
	}
	out := make([]PermissionGrant, len(gs))
	for i, g := range gs {
		g.Actions = slices.Clone(g.Actions)
		out[i] = g
	}
	return out
}
