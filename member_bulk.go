package flagstore

// Bulk edits of members (LaunchDarkly's "Modify account members", PATCH
// /members) and of team membership (the beta "Update teams", PATCH /teams).
// Both take semantic patch only. The instructions are checked first (an
// unknown kind, a missing parameter or one of the wrong type is a 400 and
// nothing changes); then each member (or team) is changed on its own, in
// its own transaction, with the caller's permissions and an audit entry of
// its own. A member or team whose change fails is reported in Errors and
// does not fail the request; only when nothing succeeded and every failure
// was a permission refusal is the whole request refused with that 403.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// BulkEditMembersResult is LaunchDarkly's BulkEditMembersRep: the _ids of
// the members updated, and one {_id: message} object per member whose
// update failed.
type BulkEditMembersResult struct {
	Members []string            `json:"members"`
	Errors  []map[string]string `json:"errors"`
}

// BulkEditTeamsResult is LaunchDarkly's BulkEditTeamsRep: the keys of the
// teams updated, the _ids of the members added to them, and one
// {teamKey: message} object per team whose update failed.
type BulkEditTeamsResult struct {
	TeamKeys  []string            `json:"teamKeys"`
	MemberIDs []string            `json:"memberIDs"`
	Errors    []map[string]string `json:"errors"`
}

// LastSeenFilter is the filterLastSeen parameter of the replaceAll*
// instructions: members never seen, members with no data, or members last
// seen before a time (Unix milliseconds). Set conditions all apply.
type LastSeenFilter struct {
	Never  bool   `json:"never,omitempty"`
	NoData bool   `json:"noData,omitempty"`
	Before *int64 `json:"before,omitempty"`
}

// bulkParams holds every parameter of the bulk member and team
// instructions. Value stays raw: a role name, or a role attribute map.
type bulkParams struct {
	Value            json.RawMessage `json:"value"`
	Values           []string        `json:"values"`
	MemberIDs        []string        `json:"memberIDs"`
	TeamKeys         []string        `json:"teamKeys"`
	FilterLastSeen   *LastSeenFilter `json:"filterLastSeen"`
	FilterQuery      string          `json:"filterQuery"`
	FilterRoles      []string        `json:"filterRoles"`
	FilterTeamKey    string          `json:"filterTeamKey"`
	IgnoredMemberIDs []string        `json:"ignoredMemberIDs"`
}

// decodeBulk checks an instruction's required parameters and decodes them.
func decodeBulk(in Instruction, required ...string) (bulkParams, error) {
	var p bulkParams
	for _, name := range required {
		if raw, ok := in.Params[name]; !ok || string(raw) == "null" {
			return p, invalidf("", "parameter %q is required", name)
		}
	}
	if err := in.decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return p, invalidf("", "parameter %q has the wrong type: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return p, invalidf("", "malformed parameters: %v", err)
	}
	return p, nil
}

// selectMembers lists the _ids of the members a replaceAll*/addAll*
// instruction's filters select: matching filterQuery (names and email),
// in filterTeamKey, holding any of filterRoles (base or custom role key),
// last seen as filterLastSeen says, and not in ignoredMemberIDs.
func (s *Store) selectMembers(ctx context.Context, p *bulkParams) ([]string, error) {
	if p.FilterTeamKey != "" {
		if err := validKey("filterTeamKey", p.FilterTeamKey); err != nil {
			return nil, err
		}
	}
	if err := validKeyList("filterRoles", p.FilterRoles); err != nil {
		return nil, err
	}
	if err := validIDList("ignoredMemberIDs", p.IgnoredMemberIDs); err != nil {
		return nil, err
	}
	list, err := s.ListMembers(ctx, ListOptions{Limit: maxInt, Query: p.FilterQuery}, MemberFilter{Team: p.FilterTeamKey})
	if err != nil {
		return nil, err
	}
	var withRole map[string]bool
	if len(p.FilterRoles) > 0 {
		withRole = map[string]bool{}
		for _, r := range p.FilterRoles {
			matched, err := s.ListMembers(ctx, ListOptions{Limit: maxInt}, MemberFilter{Role: r})
			if err != nil {
				return nil, err
			}
			for _, x := range matched.Items {
				withRole[x.ID] = true
			}
		}
	}
	var out []string
	for _, m := range list.Items {
		if slices.Contains(p.IgnoredMemberIDs, m.ID) {
			continue
		}
		if lf := p.FilterLastSeen; lf != nil {
			if lf.Never && m.LastSeen != 0 || lf.NoData && m.LastSeen != 0 || lf.Before != nil && (m.LastSeen == 0 || m.LastSeen >= *lf.Before) {
				continue
			}
		}
		if withRole != nil && !withRole[m.ID] {
			continue
		}
		out = append(out, m.ID)
	}
	return out, nil
}

// memberEdit is one member's share of a bulk patch.
type memberEdit func(*Member) error

// bulkMemberOps maps each instruction kind of PATCH /members to its
// required parameters and whether it selects members through filters.
var bulkMemberOps = map[string]struct {
	required []string
	all      bool
}{
	"replaceMembersRoles":          {[]string{"value", "memberIDs"}, false},
	"replaceMembersCustomRoles":    {[]string{"values", "memberIDs"}, false},
	"replaceMembersRoleAttributes": {[]string{"value", "memberIDs"}, false},
	"replaceAllMembersRoles":       {[]string{"value"}, true},
	"replaceAllMembersCustomRoles": {[]string{"values"}, true},
}

// PatchMembers applies LaunchDarkly's bulk member instructions
// (replaceMembersRoles, replaceMembersCustomRoles,
// replaceMembersRoleAttributes, replaceAllMembersRoles,
// replaceAllMembersCustomRoles). Each member's change goes through
// UpdateMember, so permissions, validation and the audit log apply per
// member; a member whose update fails (unknown, the owner, a refused role)
// is listed in Errors. A malformed instruction is a 400 naming
// instructions[i], and nothing changes.
func (s *Store) PatchMembers(ctx context.Context, p Patch) (BulkEditMembersResult, error) {
	if err := checkPatch(&p); err != nil {
		return BulkEditMembersResult{}, err
	}
	if p.Kind != SemanticPatch {
		return BulkEditMembersResult{}, invalidf("", "members are updated in bulk with semantic patch only, not %s", p.Kind)
	}
	ctx = withPatch(ctx, &p)
	var order []string
	edits := map[string][]memberEdit{}
	for i, in := range p.Instructions {
		attr := fmt.Sprintf("instructions[%d]", i)
		op, ok := bulkMemberOps[in.Kind]
		if !ok {
			return BulkEditMembersResult{}, invalidf(attr+".kind", "unknown instruction kind %q", in.Kind)
		}
		bp, err := decodeBulk(in, op.required...)
		if err != nil {
			return BulkEditMembersResult{}, invalidf(attr, "%s: %s", in.Kind, segInsMessage(err))
		}
		edit, err := bulkMemberEdit(in.Kind, &bp)
		if err != nil {
			return BulkEditMembersResult{}, invalidf(attr, "%s: %s", in.Kind, segInsMessage(err))
		}
		ids := bp.MemberIDs
		if op.all {
			if ids, err = s.selectMembers(ctx, &bp); err != nil {
				if errors.Is(err, ErrInvalid) {
					return BulkEditMembersResult{}, invalidf(attr, "%s: %s", in.Kind, segInsMessage(err))
				}
				return BulkEditMembersResult{}, err
			}
		} else if err := validIDList("memberIDs", ids); err != nil {
			return BulkEditMembersResult{}, invalidf(attr, "%s: %s", in.Kind, err.Message)
		}
		for _, id := range ids {
			if _, seen := edits[id]; !seen {
				order = append(order, id)
			}
			edits[id] = append(edits[id], edit)
		}
	}
	out := BulkEditMembersResult{Members: []string{}, Errors: []map[string]string{}}
	var forbidden error
	allForbidden := true
	for _, id := range order {
		_, err := s.UpdateMember(ctx, id, func(m *Member) error {
			for _, e := range edits[id] {
				if err := e(m); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			if ctx.Err() != nil {
				return BulkEditMembersResult{}, err
			}
			if errors.Is(err, ErrForbidden) {
				forbidden = err
			} else {
				allForbidden = false
			}
			out.Errors = append(out.Errors, map[string]string{id: bulkMessage(err)})
			continue
		}
		out.Members = append(out.Members, id)
	}
	if len(out.Members) == 0 && forbidden != nil && allForbidden {
		return BulkEditMembersResult{}, forbidden
	}
	return out, nil
}

// bulkMessage is the message of a per-member or per-team failure.
func bulkMessage(err error) string {
	if e := AsError(err); e != nil {
		return e.Message
	}
	return err.Error()
}

// bulkMemberEdit checks an instruction's values and returns the change it
// makes to each member.
func bulkMemberEdit(kind string, p *bulkParams) (memberEdit, error) {
	switch kind {
	case "replaceMembersRoles", "replaceAllMembersRoles":
		var role string
		if err := json.Unmarshal(p.Value, &role); err != nil {
			return nil, invalidf("value", `parameter "value" must be a role name`)
		}
		if !validBaseRole(role) || role == RoleOwner {
			return nil, invalidf("value", "role must be reader, writer, admin or no_access, not %q", role)
		}
		return func(m *Member) error {
			m.Role = role
			return nil
		}, nil
	case "replaceMembersCustomRoles", "replaceAllMembersCustomRoles":
		if err := validKeyList("values", p.Values); err != nil {
			return nil, err
		}
		values := slices.Clone(p.Values)
		return func(m *Member) error {
			m.CustomRoles = slices.Clone(values)
			return nil
		}, nil
	case "replaceMembersRoleAttributes":
		var attrs map[string][]string
		if err := json.Unmarshal(p.Value, &attrs); err != nil {
			return nil, invalidf("value", `parameter "value" must be an object of string arrays`)
		}
		if err := validRoleAttributes("value", attrs); err != nil {
			return nil, err
		}
		return func(m *Member) error {
			m.RoleAttributes = cloneRoleAttributes(attrs)
			return nil
		}, nil
	}
	return nil, invalidf("kind", "unknown instruction kind %q", kind)
}

// PatchTeams applies LaunchDarkly's bulk team instructions
// (addMembersToTeams, addAllMembersToTeams): each named team gets the
// members through PatchTeam's addMembers, so permissions (updateTeamMembers
// on the team) and the audit log apply per team; a team whose update fails
// (unknown, refused) is listed in Errors.
func (s *Store) PatchTeams(ctx context.Context, p Patch) (BulkEditTeamsResult, error) {
	if err := checkPatch(&p); err != nil {
		return BulkEditTeamsResult{}, err
	}
	if p.Kind != SemanticPatch {
		return BulkEditTeamsResult{}, invalidf("", "teams are updated in bulk with semantic patch only, not %s", p.Kind)
	}
	var order []string
	adds := map[string][]string{}
	for i, in := range p.Instructions {
		attr := fmt.Sprintf("instructions[%d]", i)
		var required []string
		switch in.Kind {
		case "addMembersToTeams":
			required = []string{"memberIDs", "teamKeys"}
		case "addAllMembersToTeams":
			required = []string{"teamKeys"}
		default:
			return BulkEditTeamsResult{}, invalidf(attr+".kind", "unknown instruction kind %q", in.Kind)
		}
		bp, err := decodeBulk(in, required...)
		if err == nil && len(bp.TeamKeys) == 0 {
			err = invalidf("teamKeys", "at least one team key is required")
		}
		if err == nil {
			err = validKeyListErr("teamKeys", bp.TeamKeys)
		}
		ids := bp.MemberIDs
		if err == nil {
			if in.Kind == "addAllMembersToTeams" {
				ids, err = s.selectMembers(ctx, &bp)
			} else if len(ids) == 0 {
				err = invalidf("memberIDs", "at least one member _id is required")
			} else if e := validIDList("memberIDs", ids); e != nil {
				err = e
			} else {
				err = s.view(ctx, func(r *rtx) error { return checkMembersExist(r, "memberIDs", ids) })
			}
		}
		if err != nil {
			if errors.Is(err, ErrInvalid) {
				return BulkEditTeamsResult{}, invalidf(attr, "%s: %s", in.Kind, segInsMessage(err))
			}
			return BulkEditTeamsResult{}, err
		}
		for _, k := range bp.TeamKeys {
			if _, seen := adds[k]; !seen {
				order = append(order, k)
			}
			for _, id := range ids {
				if !slices.Contains(adds[k], id) {
					adds[k] = append(adds[k], id)
				}
			}
		}
	}
	out := BulkEditTeamsResult{TeamKeys: []string{}, MemberIDs: []string{}, Errors: []map[string]string{}}
	var forbidden error
	allForbidden := true
	for _, k := range order {
		ids := adds[k]
		if len(ids) > 0 {
			values, _ := json.Marshal(ids)
			sub := Patch{Kind: SemanticPatch, Comment: p.Comment, DryRun: p.DryRun, Instructions: []Instruction{{
				Kind: "addMembers", Params: map[string]json.RawMessage{"values": values},
			}}}
			if _, err := s.PatchTeam(ctx, k, sub); err != nil {
				if ctx.Err() != nil {
					return BulkEditTeamsResult{}, err
				}
				if errors.Is(err, ErrForbidden) {
					forbidden = err
				} else {
					allForbidden = false
				}
				out.Errors = append(out.Errors, map[string]string{k: bulkMessage(err)})
				continue
			}
		} else if _, err := s.GetTeam(ctx, k); err != nil {
			allForbidden = false
			out.Errors = append(out.Errors, map[string]string{k: bulkMessage(err)})
			continue
		}
		out.TeamKeys = append(out.TeamKeys, k)
		for _, id := range ids {
			if !slices.Contains(out.MemberIDs, id) {
				out.MemberIDs = append(out.MemberIDs, id)
			}
		}
	}
	if len(out.TeamKeys) == 0 && forbidden != nil && allForbidden {
		return BulkEditTeamsResult{}, forbidden
	}
	return out, nil
}

// validKeyListErr is validKeyList as an error (nil when valid).
func validKeyListErr(attribute string, keys []string) error {
	if e := validKeyList(attribute, keys); e != nil {
		return e
	}
	return nil
}

// MemberImportItem is one row of a team's CSV import (LaunchDarkly's
// MemberImportItem): the address, "success" or "error", and for an error
// a message naming the CSV line.
type MemberImportItem struct {
	Message string `json:"message,omitempty"`
	Status  string `json:"status"`
	Value   string `json:"value"`
}

// MemberImportRow is one email address of a team import and the CSV line
// it came from.
type MemberImportRow struct {
	Line  int
	Email string
}

// ImportTeamMembers adds the members with the given email addresses to a
// team (LaunchDarkly's "Add multiple members to team"). Every row is
// checked first: a malformed address, one no member has, or one listed
// twice is an error item. As LaunchDarkly documents, members are added only
// when every row succeeds (imported is then true); otherwise nothing
// changes and the items say which rows failed. The addition goes through
// PatchTeam, so updateTeamMembers on the team is required and audited. An
// unknown team is a 404; no rows is a 400.
func (s *Store) ImportTeamMembers(ctx context.Context, teamKey string, rows []MemberImportRow) (items []MemberImportItem, imported bool, err error) {
	if len(rows) == 0 {
		return nil, false, invalidf("file", "the file lists no email addresses")
	}
	items = make([]MemberImportItem, len(rows))
	var ids []string
	failed := false
	err = s.view(ctx, func(r *rtx) error {
		if _, err := getTeam(r, teamKey, &Team{}); err != nil {
			return err
		}
		seen := map[string]int{}
		for i, row := range rows {
			items[i] = MemberImportItem{Status: "success", Value: row.Email}
			fail := func(format string, args ...any) {
				items[i].Status, items[i].Message = "error", fmt.Sprintf("line %d: ", row.Line)+fmt.Sprintf(format, args...)
				failed = true
			}
			if e := validMemberEmail("email", row.Email); e != nil {
				fail("invalid email format")
				continue
			}
			lower := strings.ToLower(row.Email)
			if prev, dup := seen[lower]; dup {
				fail("%s is listed twice (first on line %d)", row.Email, prev)
				continue
			}
			seen[lower] = row.Line
			it, err := r.tx.Get(memberEmailKey(row.Email))
			if errors.Is(err, store.ErrNotFound) {
				fail("no member of the account has the email address %s", row.Email)
				continue
			} else if err != nil {
				return err
			}
			ids = append(ids, string(it.Value))
		}
		return nil
	})
	if err != nil || failed {
		return items, false, err
	}
	values, _ := json.Marshal(ids)
	p := Patch{Kind: SemanticPatch, Instructions: []Instruction{{Kind: "addMembers", Params: map[string]json.RawMessage{"values": values}}}}
	if _, err := s.PatchTeam(ctx, teamKey, p); err != nil {
		return nil, false, err
	}
	return items, true, nil
}
