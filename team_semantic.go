package flagstore

// Semantic-patch instructions for teams (LaunchDarkly's "Update team", which
// takes semantic patch only). Instructions apply in order to a private copy
// of the team, its member set and the grants of the members they touch; the
// first failure aborts the whole patch and nothing is stored. Instructions
// already in effect (adding a member who belongs, removing an absent role,
// attribute or grant) change nothing and succeed.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// teamInsOp describes one team instruction kind: the action a policy must
// allow on the team, the parameters it requires, and how it applies.
type teamInsOp struct {
	action   string
	required []string
	apply    func(a *teamInsApplier, p *teamInsParams) error
}

// teamInsParams holds every parameter any team instruction takes. Value
// stays raw: a string for updateName and updateDescription, a map for
// replaceRoleAttributes.
type teamInsParams struct {
	Value     json.RawMessage `json:"value"`
	Values    []string        `json:"values"`
	Key       string          `json:"key"`
	ActionSet string          `json:"actionSet"`
	Actions   []string        `json:"actions"`
	MemberIDs []string        `json:"memberIDs"`
}

// teamInsOps maps each instruction kind LaunchDarkly documents for teams to
// its handling.
var teamInsOps = map[string]teamInsOp{
	"updateName":             {"updateTeamName", []string{"value"}, (*teamInsApplier).updateName},
	"updateDescription":      {"updateTeamDescription", []string{"value"}, (*teamInsApplier).updateDescription},
	"addMembers":             {"updateTeamMembers", []string{"values"}, (*teamInsApplier).addMembers},
	"removeMembers":          {"updateTeamMembers", []string{"values"}, (*teamInsApplier).removeMembers},
	"replaceMembers":         {"updateTeamMembers", []string{"values"}, (*teamInsApplier).replaceMembers},
	"addCustomRoles":         {"updateTeamCustomRoles", []string{"values"}, (*teamInsApplier).addCustomRoles},
	"removeCustomRoles":      {"updateTeamCustomRoles", []string{"values"}, (*teamInsApplier).removeCustomRoles},
	"addPermissionGrants":    {"updateTeamPermissionGrants", []string{"memberIDs"}, teamInsGrants(true)},
	"removePermissionGrants": {"updateTeamPermissionGrants", []string{"memberIDs"}, teamInsGrants(false)},
	"addRoleAttribute":       {"updateTeamRoleAttributes", []string{"key", "values"}, teamInsAttribute(true)},
	"updateRoleAttribute":    {"updateTeamRoleAttributes", []string{"key", "values"}, teamInsAttribute(false)},
	"removeRoleAttribute":    {"updateTeamRoleAttributes", []string{"key"}, (*teamInsApplier).removeRoleAttribute},
	"replaceRoleAttributes":  {"updateTeamRoleAttributes", []string{"value"}, (*teamInsApplier).replaceRoleAttributes},
}

// teamInstructionAction maps an instruction kind to the LaunchDarkly action
// a policy must allow on the team for it; ok is false for a kind teams do
// not have.
func teamInstructionAction(kind string) (action string, ok bool) {
	op, ok := teamInsOps[kind]
	return op.action, ok
}

// teamInsApplier carries the state of one patch: the team, its member set
// and the grants of the members the patch touches.
type teamInsApplier struct {
	r       *rtx
	team    *Team
	members map[string]bool
	grants  grantEdits
}

// PatchTeam updates a team with semantic-patch instructions (updateName,
// updateDescription, addMembers, removeMembers, replaceMembers,
// addCustomRoles, removeCustomRoles, addPermissionGrants,
// removePermissionGrants, addRoleAttribute, updateRoleAttribute,
// removeRoleAttribute, replaceRoleAttributes), all or nothing. An unknown
// kind, a missing parameter, an unknown member or custom role is a 400
// naming instructions[i]. A patch that changes nothing stores and records
// nothing; any other raises the team's _version.
func (s *Store) PatchTeam(ctx context.Context, key string, p Patch) (Team, error) {
	if err := checkPatch(&p); err != nil {
		return Team{}, err
	}
	if p.Kind != SemanticPatch {
		return Team{}, invalidf("", "a team takes semantic patch only, not %s", p.Kind)
	}
	ctx = withPatch(ctx, &p)
	var after Team
	err := s.update(ctx, func(w *wtx) error {
		var before Team
		ver, err := getTeam(&w.rtx, key, &before)
		if err != nil {
			return err
		}
		if before.Members == nil {
			before.Members = &TeamMemberCount{}
		}
		initial, err := w.keysUnder(teamMemberPrefix(key))
		if err != nil {
			return err
		}
		after = cloneTeam(&before)
		a := &teamInsApplier{r: &w.rtx, team: &after, members: map[string]bool{}, grants: grantEdits{}}
		for _, id := range initial {
			a.members[id] = true
		}
		for i, in := range p.Instructions {
			op, ok := teamInsOps[in.Kind]
			if !ok {
				return invalidf(fmt.Sprintf("instructions[%d].kind", i), "unknown instruction kind %q", in.Kind)
			}
			if err := a.apply(in, op); err != nil {
				if !errors.Is(err, ErrInvalid) {
					return err // a storage failure, not a bad instruction
				}
				return invalidf(fmt.Sprintf("instructions[%d]", i), "%s: %s", in.Kind, segInsMessage(err))
			}
		}
		var added, removed []string
		for _, id := range keysInOrder(a.members) {
			if !slices.Contains(initial, id) {
				added = append(added, id)
			}
		}
		for _, id := range initial {
			if !a.members[id] {
				removed = append(removed, id)
			}
		}
		for _, id := range removed {
			if err := setMembership(w, key, id, false); err != nil {
				return err
			}
		}
		for _, id := range added {
			if err := setMembership(w, key, id, true); err != nil {
				return err
			}
		}
		after.Members.TotalCount = len(a.members)
		grantsChanged, err := a.grants.commit(w, key)
		if err != nil {
			return err
		}
		actions := changedActions(teamFieldActions, &before, &after)
		if len(added)+len(removed) > 0 && !slices.Contains(actions, "updateTeamMembers") {
			actions = append(actions, "updateTeamMembers")
		}
		if grantsChanged {
			actions = append(actions, "updateTeamPermissionGrants")
		}
		if len(actions) == 0 {
			return nil
		}
		if err := setRoleUses(w, teamRoleUser(key), before.CustomRoleKeys, after.CustomRoleKeys); err != nil {
			return err
		}
		after.Version = before.Version + 1
		after.LastModified = s.nowMillis()
		if err := w.put(teamDocKey(key), &after, ver); err != nil {
			return err
		}
		if err := teamIndex.reindex(w, teamEntry(&before), teamEntry(&after)); err != nil {
			return err
		}
		return s.record(w, change{kind: "team", verb: "updated", name: after.Name, resource: teamSpec(key),
			accesses: accessesOf(teamSpec(key), actions...), before: &before, after: &after})
	})
	if err != nil {
		return Team{}, err
	}
	return after, nil
}

// apply checks an instruction's required parameters, decodes them and runs
// the kind's handler.
func (a *teamInsApplier) apply(in Instruction, op teamInsOp) error {
	for _, name := range op.required {
		if raw, ok := in.Params[name]; !ok || string(raw) == "null" {
			return invalidf("", "parameter %q is required", name)
		}
	}
	var p teamInsParams
	if err := in.decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidf("", "parameter %q has the wrong type: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return invalidf("", "malformed parameters: %v", err)
	}
	return op.apply(a, &p)
}

// stringValue reads the value parameter as a string.
func (p *teamInsParams) stringValue() (string, error) {
	var v string
	if err := json.Unmarshal(p.Value, &v); err != nil {
		return "", invalidf("", `parameter "value" must be a string`)
	}
	return v, nil
}

func (a *teamInsApplier) updateName(p *teamInsParams) error {
	v, err := p.stringValue()
	if err != nil {
		return err
	}
	if err := validName("value", v); err != nil {
		return err
	}
	a.team.Name = v
	return nil
}

func (a *teamInsApplier) updateDescription(p *teamInsParams) error {
	v, err := p.stringValue()
	if err != nil {
		return err
	}
	if err := validPlainText("value", v); err != nil {
		return err
	}
	a.team.Description = v
	return nil
}

// memberIDs validates a list of member _ids and checks that each exists.
func (a *teamInsApplier) memberIDs(attribute string, ids []string) error {
	if err := validIDList(attribute, ids); err != nil {
		return err
	}
	return checkMembersExist(a.r, attribute, ids)
}

func (a *teamInsApplier) addMembers(p *teamInsParams) error {
	if err := a.memberIDs("values", p.Values); err != nil {
		return err
	}
	for _, id := range p.Values {
		a.members[id] = true
	}
	return nil
}

func (a *teamInsApplier) removeMembers(p *teamInsParams) error {
	if err := validIDList("values", p.Values); err != nil {
		return err
	}
	for _, id := range p.Values {
		delete(a.members, id)
	}
	return nil
}

func (a *teamInsApplier) replaceMembers(p *teamInsParams) error {
	if err := a.memberIDs("values", p.Values); err != nil {
		return err
	}
	a.members = make(map[string]bool, len(p.Values))
	for _, id := range p.Values {
		a.members[id] = true
	}
	return nil
}

func (a *teamInsApplier) addCustomRoles(p *teamInsParams) error {
	if err := validKeyList("values", p.Values); err != nil {
		return err
	}
	if err := checkRolesExist(a.r, "values", p.Values); err != nil {
		return err
	}
	for _, k := range p.Values {
		if !slices.Contains(a.team.CustomRoleKeys, k) {
			a.team.CustomRoleKeys = append(a.team.CustomRoleKeys, k)
		}
	}
	return nil
}

func (a *teamInsApplier) removeCustomRoles(p *teamInsParams) error {
	if err := validKeyList("values", p.Values); err != nil {
		return err
	}
	a.team.CustomRoleKeys = slices.DeleteFunc(a.team.CustomRoleKeys, func(k string) bool {
		return slices.Contains(p.Values, k)
	})
	return nil
}

// teamInsGrants is the handler of addPermissionGrants and
// removePermissionGrants. The members need not belong to the team.
func teamInsGrants(add bool) func(*teamInsApplier, *teamInsParams) error {
	return func(a *teamInsApplier, p *teamInsParams) error {
		if err := validGrant("actions", p.ActionSet, p.Actions); err != nil {
			return err
		}
		if err := a.memberIDs("memberIDs", p.MemberIDs); err != nil {
			return err
		}
		g := teamGrant(a.team.Key, p.ActionSet, p.Actions)
		for _, id := range p.MemberIDs {
			if err := a.grants.apply(a.r, id, g, add); err != nil {
				return err
			}
		}
		return nil
	}
}

// teamInsAttribute is the handler of addRoleAttribute (which adds values
// missing from the attribute) and updateRoleAttribute (which replaces its
// values); either creates a missing attribute.
func teamInsAttribute(add bool) func(*teamInsApplier, *teamInsParams) error {
	return func(a *teamInsApplier, p *teamInsParams) error {
		next := slices.Clone(p.Values)
		if add {
			next = slices.Clone(a.team.RoleAttributes[p.Key])
			for _, v := range p.Values {
				if !slices.Contains(next, v) {
					next = append(next, v)
				}
			}
		}
		if err := validRoleAttributes("values", map[string][]string{p.Key: next}); err != nil {
			return err
		}
		if a.team.RoleAttributes == nil {
			a.team.RoleAttributes = map[string][]string{}
		}
		a.team.RoleAttributes[p.Key] = next
		return nil
	}
}

func (a *teamInsApplier) removeRoleAttribute(p *teamInsParams) error {
	delete(a.team.RoleAttributes, p.Key)
	if len(a.team.RoleAttributes) == 0 {
		a.team.RoleAttributes = nil
	}
	return nil
}

func (a *teamInsApplier) replaceRoleAttributes(p *teamInsParams) error {
	var m map[string][]string
	if err := json.Unmarshal(p.Value, &m); err != nil {
		return invalidf("", `parameter "value" must be an object of string arrays`)
	}
	if err := validRoleAttributes("value", m); err != nil {
		return err
	}
	a.team.RoleAttributes = cloneRoleAttributes(m)
	return nil
}
