package flagstore

// Teams (LaunchDarkly's Team). The key space:
//
//	t/{key}                    team (with its member count)
//	tm/{teamKey}/{memberId}    the member belongs to the team
//	mt/{memberId}/{teamKey}    the same, seen from the member
//	tg/{teamKey}/{memberId}    the member holds a permission grant on the team
//	ru/{roleKey}/t:{teamKey}   the team has the custom role (see role.go)
//	x/t//…, n/t//…             list index (see list.go)
//
// Membership is a pair of reference keys, so both directions list in
// O(members) and changing it never rewrites more than the team, the member
// and their index entries. The grants themselves live on the members
// (Member.PermissionGrants, resource "team/{key}"), as LaunchDarkly shows
// them. Semantic-patch instructions are in team_semantic.go.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// Team is a group of members that share custom roles and role attributes
// (LaunchDarkly's Team). Version rises with every change, membership
// included.
type Team struct {
	Key         string `json:"key"`
	Name        string `json:"name"`
	Description string `json:"description"`
	// CustomRoleKeys are the keys of the custom roles every member of the
	// team holds through it.
	CustomRoleKeys []string `json:"customRoleKeys"`
	// RoleAttributes are added to each member's own (see
	// memberPolicyInputs).
	RoleAttributes map[string][]string `json:"roleAttributes,omitempty"`
	// Members counts the team's members (LaunchDarkly's expandable
	// "members"; flagstore always includes it).
	Members      *TeamMemberCount `json:"members,omitempty"`
	CreationDate int64            `json:"_creationDate"`
	LastModified int64            `json:"_lastModified"`
	Version      int              `json:"_version"`
}

// TeamMemberCount is LaunchDarkly's TeamMembers: how many members a team
// has.
type TeamMemberCount struct {
	TotalCount int `json:"totalCount"`
}

// TeamPost is the body that creates a team (LaunchDarkly's teamPostInput).
type TeamPost struct {
	Key            string   `json:"key"`
	Name           string   `json:"name"`
	Description    string   `json:"description,omitempty"`
	CustomRoleKeys []string `json:"customRoleKeys,omitempty"`
	// MemberIDs are the _ids of the team's first members.
	MemberIDs        []string              `json:"memberIDs,omitempty"`
	PermissionGrants []TeamPermissionGrant `json:"permissionGrants,omitempty"`
	RoleAttributes   map[string][]string   `json:"roleAttributes,omitempty"`
}

// TeamPermissionGrant gives members an action set or actions on the team
// (LaunchDarkly's permissionGrantInput): exactly one of ActionSet
// ("maintainTeam") and Actions. The members need not belong to the team.
type TeamPermissionGrant struct {
	ActionSet string   `json:"actionSet,omitempty"`
	Actions   []string `json:"actions,omitempty"`
	MemberIDs []string `json:"memberIDs"`
}

// ActionSetMaintainTeam is the one permission-grant action set LaunchDarkly
// documents: it makes the member a maintainer of the team.
const ActionSetMaintainTeam = "maintainTeam"

var teamIndex = index{coll: "t", scope: ""}

func teamDocKey(key string) string             { return "t/" + key }
func teamMemberPrefix(key string) string       { return "tm/" + key + sep }
func memberTeamPrefix(id string) string        { return "mt/" + id + sep }
func teamGrantPrefix(key string) string        { return "tg/" + key + sep }
func teamGrantKey(key, memberID string) string { return teamGrantPrefix(key) + memberID }
func teamSpec(key string) string               { return "team/" + key }
func teamEntry(t *Team) *entryOf {
	return &entryOf{key: t.Key, name: t.Name, created: t.CreationDate}
}

// CreateTeam creates a team with its first members, custom roles, role
// attributes and permission grants. A taken key is ErrAlreadyExists;
// unknown members or roles are a 400.
func (s *Store) CreateTeam(ctx context.Context, p TeamPost) (Team, error) {
	if err := validRefKey("key", p.Key); err != nil {
		return Team{}, err
	}
	if err := validName("name", p.Name); err != nil {
		return Team{}, err
	}
	if err := validPlainText("description", p.Description); err != nil {
		return Team{}, err
	}
	if err := validKeyList("customRoleKeys", p.CustomRoleKeys); err != nil {
		return Team{}, err
	}
	if err := validIDList("memberIDs", p.MemberIDs); err != nil {
		return Team{}, err
	}
	if err := validRoleAttributes("roleAttributes", p.RoleAttributes); err != nil {
		return Team{}, err
	}
	for i, g := range p.PermissionGrants {
		attr := fmt.Sprintf("permissionGrants[%d]", i)
		if err := validGrant(attr, g.ActionSet, g.Actions); err != nil {
			return Team{}, err
		}
		if err := validIDList(attr+".memberIDs", g.MemberIDs); err != nil {
			return Team{}, err
		}
	}
	now := s.nowMillis()
	t := Team{
		Key: p.Key, Name: p.Name, Description: p.Description,
		CustomRoleKeys: nonNil(slices.Clone(p.CustomRoleKeys)), RoleAttributes: cloneRoleAttributes(p.RoleAttributes),
		Members:      &TeamMemberCount{TotalCount: len(p.MemberIDs)},
		CreationDate: now, LastModified: now, Version: 1,
	}
	err := s.update(ctx, func(w *wtx) error {
		if ok, err := w.exists(teamDocKey(t.Key)); err != nil || ok {
			if ok {
				return existsf("A team with key %q already exists", t.Key)
			}
			return err
		}
		if err := checkRolesExist(&w.rtx, "customRoleKeys", t.CustomRoleKeys); err != nil {
			return err
		}
		if err := checkMembersExist(&w.rtx, "memberIDs", p.MemberIDs); err != nil {
			return err
		}
		edits := grantEdits{}
		for i, g := range p.PermissionGrants {
			attr := fmt.Sprintf("permissionGrants[%d].memberIDs", i)
			if err := checkMembersExist(&w.rtx, attr, g.MemberIDs); err != nil {
				return err
			}
			for _, id := range g.MemberIDs {
				if err := edits.apply(&w.rtx, id, teamGrant(t.Key, g.ActionSet, g.Actions), true); err != nil {
					return err
				}
			}
		}
		if err := w.put(teamDocKey(t.Key), &t, store.Absent); err != nil {
			return err
		}
		if err := teamIndex.reindex(w, nil, teamEntry(&t)); err != nil {
			return err
		}
		if err := setRoleUses(w, teamRoleUser(t.Key), nil, t.CustomRoleKeys); err != nil {
			return err
		}
		for _, id := range p.MemberIDs {
			if err := setMembership(w, t.Key, id, true); err != nil {
				return err
			}
		}
		if _, err := edits.commit(w, t.Key); err != nil {
			return err
		}
		return s.record(w, change{kind: "team", verb: "created", name: t.Name, resource: teamSpec(t.Key),
			accesses: accessesOf(teamSpec(t.Key), "createTeam"), after: &t})
	})
	if err != nil {
		return Team{}, err
	}
	return t, nil
}

// GetTeam returns the team with the given key.
func (s *Store) GetTeam(ctx context.Context, key string) (Team, error) {
	var t Team
	err := s.view(ctx, func(r *rtx) error {
		_, err := getTeam(r, key, &t)
		return err
	})
	return t, err
}

func getTeam(r *rtx, key string, t *Team) (uint64, error) {
	if key == "" || strings.Contains(key, sep) {
		return 0, notFoundf("Unknown team %q", key)
	}
	v, err := r.get(teamDocKey(key), t)
	if err != nil {
		return 0, notFoundOr(err, "Unknown team %q", key)
	}
	return v, nil
}

// ListTeams lists teams, by default oldest first; Query matches keys and
// names.
func (s *Store) ListTeams(ctx context.Context, o ListOptions) (List[Team], error) {
	var out List[Team]
	err := s.view(ctx, func(r *rtx) error {
		keys, total, err := teamIndex.page(r, o, "creationDate")
		if err != nil {
			return err
		}
		out = List[Team]{Items: make([]Team, 0, len(keys)), TotalCount: total}
		for _, k := range keys {
			var t Team
			if _, err := getTeam(r, k, &t); err != nil {
				return err
			}
			out.Items = append(out.Items, t)
		}
		return nil
	})
	return out, err
}

// TeamMembers lists the members of a team, by default oldest first, with
// the paging, query and sorting of ListMembers.
func (s *Store) TeamMembers(ctx context.Context, key string, o ListOptions) (List[Member], error) {
	if o.Tag != "" {
		return List[Member]{}, invalidf("tag", "members have no tags")
	}
	var out List[Member]
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getTeam(r, key, &Team{}); err != nil {
			return err
		}
		o.Tag = "t." + key
		switch o.Sort {
		case "displayName":
			o.Sort = "name"
		case "-displayName":
			o.Sort = "-name"
		}
		keys, total, err := memberIndex.page(r, o, "creationDate")
		if err != nil {
			return err
		}
		out, err = loadMembers(r, keys, total)
		return err
	})
	return out, err
}

// DeleteTeam deletes a team: its members leave it, the grants it gave are
// withdrawn and its custom roles are no longer held through it.
func (s *Store) DeleteTeam(ctx context.Context, key string) error {
	return s.update(ctx, func(w *wtx) error {
		var t Team
		if _, err := getTeam(&w.rtx, key, &t); err != nil {
			return err
		}
		members, err := w.keysUnder(teamMemberPrefix(key))
		if err != nil {
			return err
		}
		for _, id := range members {
			if err := setMembership(w, key, id, false); err != nil {
				return err
			}
		}
		grantees, err := w.keysUnder(teamGrantPrefix(key))
		if err != nil {
			return err
		}
		edits := grantEdits{}
		for _, id := range grantees {
			if err := edits.load(&w.rtx, id); err != nil {
				return err
			}
			e := edits[id]
			e.m.PermissionGrants = slices.DeleteFunc(e.m.PermissionGrants, func(g PermissionGrant) bool {
				return g.Resource == teamSpec(key)
			})
		}
		if _, err := edits.commit(w, key); err != nil {
			return err
		}
		if err := setRoleUses(w, teamRoleUser(key), t.CustomRoleKeys, nil); err != nil {
			return err
		}
		if err := w.del(teamDocKey(key)); err != nil {
			return err
		}
		if err := teamIndex.reindex(w, teamEntry(&t), nil); err != nil {
			return err
		}
		return s.record(w, change{kind: "team", verb: "deleted", name: t.Name, resource: teamSpec(key),
			accesses: accessesOf(teamSpec(key), "deleteTeam"), before: &t})
	})
}

// AddMemberToTeams adds a member to teams (LaunchDarkly's "Add a member to
// teams"). Teams the member already belongs to are skipped; an unknown team
// is a 400.
func (s *Store) AddMemberToTeams(ctx context.Context, id string, teamKeys []string) (Member, error) {
	if len(teamKeys) == 0 {
		return Member{}, invalidf("teamKeys", "at least one team key is required")
	}
	for i, k := range teamKeys {
		if err := validKey("teamKeys", k); err != nil {
			return Member{}, err
		}
		if slices.Contains(teamKeys[:i], k) {
			return Member{}, invalidf("teamKeys", "team %q is listed twice", k)
		}
	}
	var out Member
	err := s.update(ctx, func(w *wtx) error {
		var m Member
		if _, err := getMember(&w.rtx, id, &m); err != nil {
			return err
		}
		for _, k := range teamKeys {
			if ok, err := w.exists(teamDocKey(k)); err != nil || !ok {
				if err != nil {
					return err
				}
				return invalidf("teamKeys", "unknown team %q", k)
			}
		}
		old, err := memberEntry(&w.rtx, &m)
		if err != nil {
			return err
		}
		now := s.nowMillis()
		var added []string
		for _, k := range teamKeys {
			ok, err := addMembership(w, k, id)
			if err != nil {
				return err
			}
			if ok {
				added = append(added, k)
				if err := bumpTeam(w, k, 1, now); err != nil {
					return err
				}
			}
		}
		out = m
		if err := fillMemberTeams(&w.rtx, &out); err != nil {
			return err
		}
		if len(added) == 0 {
			// Nothing to add, but a caller who may not change these teams'
			// members learns no more than a refusal would tell.
			var accesses []Access
			for _, k := range teamKeys {
				accesses = append(accesses, accessesOf(teamSpec(k), "updateTeamMembers")...)
			}
			return s.authorize(w.ctx, &w.rtx, accesses, nil)
		}
		e, err := memberEntry(&w.rtx, &m)
		if err != nil {
			return err
		}
		if err := memberIndex.reindex(w, old, e); err != nil {
			return err
		}
		var accesses []Access
		for _, k := range added {
			accesses = append(accesses, accessesOf(teamSpec(k), "updateTeamMembers")...)
		}
		return s.record(w, change{kind: "member", verb: "added", name: m.Email, resource: memberSpec(id),
			titleExtra: "to the teams " + strings.Join(added, ", "), accesses: accesses, after: &out})
	})
	if err != nil {
		return Member{}, err
	}
	return out, nil
}

// addMembership writes the reference keys that put a member in a team and
// reports whether it was not a member before. The caller updates the team's
// count and the member's index entry.
func addMembership(w *wtx, teamKey, memberID string) (bool, error) {
	if ok, err := w.exists(teamMemberPrefix(teamKey) + memberID); err != nil || ok {
		return false, err
	}
	if err := w.mark(teamMemberPrefix(teamKey) + memberID); err != nil {
		return false, err
	}
	return true, w.mark(memberTeamPrefix(memberID) + teamKey)
}

// removeMembership deletes the reference keys of a membership and reports
// whether there was one.
func removeMembership(w *wtx, teamKey, memberID string) (bool, error) {
	if ok, err := w.exists(teamMemberPrefix(teamKey) + memberID); err != nil || !ok {
		return false, err
	}
	if err := w.del(teamMemberPrefix(teamKey) + memberID); err != nil {
		return false, err
	}
	return true, w.del(memberTeamPrefix(memberID) + teamKey)
}

// setMembership adds a member to a team or removes it, moving the member's
// index entry along; the caller keeps the team's count.
func setMembership(w *wtx, teamKey, memberID string, in bool) error {
	var m Member
	if _, err := getMember(&w.rtx, memberID, &m); err != nil {
		return err
	}
	old, err := memberEntry(&w.rtx, &m)
	if err != nil {
		return err
	}
	if in {
		_, err = addMembership(w, teamKey, memberID)
	} else {
		_, err = removeMembership(w, teamKey, memberID)
	}
	if err != nil {
		return err
	}
	e, err := memberEntry(&w.rtx, &m)
	if err != nil {
		return err
	}
	return memberIndex.reindex(w, old, e)
}

// bumpTeam records a membership change made from the member's side: the
// count moves by delta and the team's version rises.
func bumpTeam(w *wtx, key string, delta int, now int64) error {
	var t Team
	ver, err := getTeam(&w.rtx, key, &t)
	if err != nil {
		return err
	}
	if t.Members == nil {
		t.Members = &TeamMemberCount{}
	}
	t.Members.TotalCount += delta
	t.Version++
	t.LastModified = now
	return w.put(teamDocKey(key), &t, ver)
}

// grantEdits collects the members whose permission grants one write
// changes, each loaded once.
type grantEdits map[string]*grantEdit

type grantEdit struct {
	m    Member
	ver  uint64
	orig []PermissionGrant // the grants as loaded
}

// load reads a member into the edits unless it is there already.
func (ge grantEdits) load(r *rtx, id string) error {
	if _, ok := ge[id]; ok {
		return nil
	}
	e := &grantEdit{}
	v, err := getMember(r, id, &e.m)
	if err != nil {
		return err
	}
	e.ver, e.orig = v, clonePermissionGrants(e.m.PermissionGrants)
	ge[id] = e
	return nil
}

// apply adds g to (or removes it from) a member's grants; a grant already in
// effect changes nothing.
func (ge grantEdits) apply(r *rtx, id string, g PermissionGrant, add bool) error {
	if err := ge.load(r, id); err != nil {
		return err
	}
	e := ge[id]
	i := slices.IndexFunc(e.m.PermissionGrants, func(h PermissionGrant) bool { return sameGrant(g, h) })
	switch {
	case add && i < 0:
		e.m.PermissionGrants = append(e.m.PermissionGrants, g)
	case !add && i >= 0:
		e.m.PermissionGrants = slices.Delete(e.m.PermissionGrants, i, i+1)
	}
	return nil
}

// commit writes the members whose grants differ from what was loaded and
// keeps the tg/ references of the team in step; it reports whether any
// member changed.
func (ge grantEdits) commit(w *wtx, teamKey string) (bool, error) {
	changed := false
	for _, id := range keysInOrder(ge) {
		e := ge[id]
		if len(e.m.PermissionGrants) == 0 {
			e.m.PermissionGrants = nil
		}
		if jsonEqual(e.orig, e.m.PermissionGrants) {
			continue
		}
		changed = true
		if err := w.put(memberDocKey(id), &e.m, e.ver); err != nil {
			return false, err
		}
		holds := slices.ContainsFunc(e.m.PermissionGrants, func(g PermissionGrant) bool { return g.Resource == teamSpec(teamKey) })
		var err error
		if holds {
			err = w.mark(teamGrantKey(teamKey, id))
		} else {
			err = w.del(teamGrantKey(teamKey, id))
		}
		if err != nil {
			return false, err
		}
	}
	return changed, nil
}

// teamGrant is the grant a team gives, with its actions in order.
func teamGrant(teamKey, actionSet string, actions []string) PermissionGrant {
	g := PermissionGrant{Resource: teamSpec(teamKey), ActionSet: actionSet}
	if len(actions) > 0 {
		g.Actions = slices.Sorted(slices.Values(actions))
	}
	return g
}

// sameGrant compares grants, their actions as sets.
func sameGrant(a, b PermissionGrant) bool {
	if a.Resource != b.Resource || a.ActionSet != b.ActionSet || len(a.Actions) != len(b.Actions) {
		return false
	}
	for _, x := range a.Actions {
		if !slices.Contains(b.Actions, x) {
			return false
		}
	}
	return true
}

// validGrant checks a grant's action set or actions: exactly one of them,
// the action set LaunchDarkly documents, actions that are names (letters,
// digits, '*' for globs), none twice.
func validGrant(attribute, actionSet string, actions []string) *Error {
	switch {
	case actionSet != "" && len(actions) > 0:
		return invalidf(attribute, "a permission grant has either actionSet or actions, not both")
	case actionSet == "" && len(actions) == 0:
		return invalidf(attribute, "a permission grant needs actionSet or actions")
	case actionSet != "" && actionSet != ActionSetMaintainTeam:
		return invalidf(attribute, "unknown actionSet %q: the only action set is %q", actionSet, ActionSetMaintainTeam)
	}
	for i, a := range actions {
		if a == "" || len(a) > maxKeyLength || strings.ContainsFunc(a, func(r rune) bool {
			return !(r < 128 && (isAlnum(byte(r)) || r == '*'))
		}) {
			return invalidf(attribute, "action %q is not an action name", a)
		}
		if slices.Contains(actions[:i], a) {
			return invalidf(attribute, "action %q is listed twice", a)
		}
	}
	return nil
}

// validKeyList checks a list of keys, none twice.
func validKeyList(attribute string, keys []string) *Error {
	for i, k := range keys {
		if err := validKey(attribute, k); err != nil {
			return err
		}
		if slices.Contains(keys[:i], k) {
			return invalidf(attribute, "%q is listed twice", k)
		}
	}
	return nil
}

// validIDList checks a list of member _ids, none empty or twice.
func validIDList(attribute string, ids []string) *Error {
	for i, id := range ids {
		if id == "" || strings.Contains(id, sep) {
			return invalidf(attribute, "%q is not a member _id", id)
		}
		if slices.Contains(ids[:i], id) {
			return invalidf(attribute, "member %q is listed twice", id)
		}
	}
	return nil
}

// checkRolesExist refuses unknown custom role keys with a 400.
func checkRolesExist(r *rtx, attribute string, keys []string) error {
	for _, k := range keys {
		if ok, err := r.exists(roleDocKey(k)); err != nil || !ok {
			if err != nil {
				return err
			}
			return invalidf(attribute, "unknown custom role %q", k)
		}
	}
	return nil
}

// checkMembersExist refuses unknown member _ids with a 400.
func checkMembersExist(r *rtx, attribute string, ids []string) error {
	for _, id := range ids {
		if ok, err := r.exists(memberDocKey(id)); err != nil || !ok {
			if err != nil {
				return err
			}
			return invalidf(attribute, "unknown member %q", id)
		}
	}
	return nil
}

// cloneTeam deep-copies a team.
func cloneTeam(t *Team) Team {
	c := *t
	c.CustomRoleKeys = slices.Clone(t.CustomRoleKeys)
	c.RoleAttributes = cloneRoleAttributes(t.RoleAttributes)
	if t.Members != nil {
		n := *t.Members
		c.Members = &n
	}
	return c
}
