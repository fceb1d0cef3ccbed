package flagstore

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// mrIDs returns the _ids of members.
func mrIDs(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestMember_OwnerBootstrap(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	o, err := st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := Member{ID: "000000000000000000000001", Email: OwnerEmail, Role: RoleOwner, CustomRoles: []string{},
		Verified: true, MFA: "disabled", CreationDate: tstEpoch.UnixMilli()}
	if fxJSON(t, o) != fxJSON(t, want) {
		t.Fatalf("owner %s", fxJSON(t, o))
	}
	l, err := st.ListMembers(t.Context(), ListOptions{}, MemberFilter{})
	if err != nil || l.TotalCount != 1 || l.Items[0].ID != o.ID {
		t.Fatalf("members of a new store: %+v %v", l, err)
	}
	e := mrLast(t, st)
	if e.Kind != "member" || e.Title != "The host application created the member "+OwnerEmail ||
		!slices.Equal(e.Accesses, []Access{{"createMember", "member/" + o.ID}}) {
		t.Fatalf("bootstrap entry %+v", e)
	}

	// Reopening a file store keeps its one owner.
	path := filepath.Join(t.TempDir(), "flags.db")
	for i := range 2 {
		fs, err := Open(path, WithIDGenerator(tstIDGen()))
		if err != nil {
			t.Fatal(err)
		}
		l, err := fs.ListMembers(t.Context(), ListOptions{}, MemberFilter{Role: RoleOwner})
		if err != nil || l.TotalCount != 1 || l.Items[0].ID != "000000000000000000000001" {
			t.Fatalf("open %d: %+v %v", i, l, err)
		}
		if n := mrAudits(t, fs); n != 1 {
			t.Fatalf("open %d: %d audit entries", i, n)
		}
		if err := fs.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMember_Invite(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	cr := mrRole(t, st, "ops")
	mrTeam(t, st, "qa")
	n := mrAudits(t, st)
	ms, err := st.InviteMembers(t.Context(), []MemberInvite{
		{Email: "Ada@Example.com", FirstName: "Ada", LastName: "L", Role: RoleWriter, Password: "secret",
			RoleAttributes: map[string][]string{"projects": {"a", "b"}}, TeamKeys: []string{"qa"}},
		{Email: "bob@example.com", CustomRoles: []string{"ops"}},
		{Email: "cy@example.com"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := mrAudits(t, st); got != n+1 {
		t.Fatalf("%d audit entries for one invitation request", got-n)
	}
	if e := mrLast(t, st); e.Kind != "member" || !slices.Equal(e.Accesses, []Access{{"createMember", "member/" + ms[0].ID},
		{"createMember", "member/" + ms[1].ID}, {"createMember", "member/" + ms[2].ID}}) {
		t.Fatalf("entry %+v", e)
	}
	if len(ms) != 3 {
		t.Fatalf("%d members", len(ms))
	}
	ada := ms[0]
	want := Member{ID: ada.ID, Email: "Ada@Example.com", FirstName: "Ada", LastName: "L", Role: RoleWriter,
		CustomRoles: []string{}, RoleAttributes: map[string][]string{"projects": {"a", "b"}},
		Teams:         []MemberTeam{{Key: "qa", Name: "Team qa", CustomRoleKeys: []string{}}},
		PendingInvite: true, MFA: "disabled", CreationDate: tstEpoch.UnixMilli()}
	if fxJSON(t, ada) != fxJSON(t, want) || !tstHex24.MatchString(ada.ID) {
		t.Fatalf("invited %s", fxJSON(t, ada))
	}
	if got, err := st.GetMember(t.Context(), ada.ID); err != nil || fxJSON(t, got) != fxJSON(t, want) {
		t.Fatalf("GetMember %s %v", fxJSON(t, got), err)
	}
	if strings.Contains(string(tstSave(t, st)), "secret") {
		t.Error("the password was stored")
	}
	// Custom roles are stored as _ids; a member with custom roles and no
	// role gets no_access, one with neither gets reader.
	if ms[1].Role != RoleNoAccess || !slices.Equal(ms[1].CustomRoles, []string{cr.ID}) || ms[2].Role != RoleReader {
		t.Fatalf("roles: %+v / %+v", ms[1], ms[2])
	}
	if tm, _ := st.GetTeam(t.Context(), "qa"); tm.Members.TotalCount != 1 || tm.Version != 2 {
		t.Errorf("team after invite: %+v", tm)
	}
	// Results are copies.
	ada.RoleAttributes["projects"][0] = "zzz"
	ada.Teams[0].Name = "zzz"
	if got, _ := st.GetMember(t.Context(), ada.ID); fxJSON(t, got) != fxJSON(t, want) {
		t.Errorf("mutating the result changed the store")
	}
	// A dry run stores nothing.
	rev := tstRevision(t, st)
	dry, err := st.InviteMembers(WithDryRun(t.Context()), []MemberInvite{{Email: "dry@example.com"}})
	if err != nil || len(dry) != 1 || tstRevision(t, st) != rev {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
}

func TestMember_InviteInvalid(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	mrTeam(t, st, "qa")
	mrInvite(t, st, "taken@example.com")
	many := make([]MemberInvite, MaxInvites+1)
	for i := range many {
		many[i].Email = fmt.Sprintf("m%d@example.com", i)
	}
	tests := []struct {
		name    string
		invites []MemberInvite
		code    string
		attr    string
		emails  []string
	}{
		{"none", nil, CodeInvalidRequest, "", nil},
		{"too many", many, CodeInvalidRequest, "", nil},
		{"no email", []MemberInvite{{}}, CodeInvalidRequest, "[0].email", nil},
		{"bad email", []MemberInvite{{Email: "a@x.com"}, {Email: "not an address"}}, CodeInvalidRequest, "[1].email", nil},
		{"display name", []MemberInvite{{Email: "Ada <a@x.com>"}}, CodeInvalidRequest, "[0].email", nil},
		{"owner role", []MemberInvite{{Email: "a@x.com", Role: RoleOwner}}, CodeInvalidRequest, "[0].role", nil},
		{"unknown role", []MemberInvite{{Email: "a@x.com", Role: "boss"}}, CodeInvalidRequest, "[0].role", nil},
		{"unknown custom role", []MemberInvite{{Email: "a@x.com", CustomRoles: []string{"nope"}}}, CodeInvalidRequest, "[0].customRoles", nil},
		{"custom role twice", []MemberInvite{{Email: "a@x.com", CustomRoles: []string{"ops", "ops"}}}, CodeInvalidRequest, "[0].customRoles", nil},
		{"unknown team", []MemberInvite{{Email: "a@x.com", TeamKeys: []string{"nope"}}}, CodeInvalidRequest, "[0].teamKeys", nil},
		{"team twice", []MemberInvite{{Email: "a@x.com", TeamKeys: []string{"qa", "qa"}}}, CodeInvalidRequest, "[0].teamKeys", nil},
		{"bad attribute value", []MemberInvite{{Email: "a@x.com", RoleAttributes: map[string][]string{"p": {"*"}}}}, CodeInvalidRequest, "[0].roleAttributes", nil},
		{"empty attribute", []MemberInvite{{Email: "a@x.com", RoleAttributes: map[string][]string{"p": {}}}}, CodeInvalidRequest, "[0].roleAttributes", nil},
		{"bad name", []MemberInvite{{Email: "a@x.com", FirstName: "\xff"}}, CodeInvalidRequest, "[0].firstName", nil},
		{"duplicate email", []MemberInvite{{Email: "a@x.com"}, {Email: "b@x.com"}, {Email: "A@X.com"}, {Email: "a@x.com"}},
			CodeDuplicateEmail, "invalid_emails", []string{"A@X.com", "a@x.com"}},
		{"existing email", []MemberInvite{{Email: "new@example.com"}, {Email: "TAKEN@example.com"}, {Email: OwnerEmail}},
			CodeEmailAlreadyExists, "invalid_emails", []string{"TAKEN@example.com", OwnerEmail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mrUnchanged(t, st, func() error { _, err := st.InviteMembers(t.Context(), tt.invites); return err })
			e := tstErr(t, err, ErrInvalid, 400, tt.code)
			if tt.attr != "" && !slices.ContainsFunc(e.Errors, func(f FieldError) bool { return f.Attribute == tt.attr }) {
				t.Errorf("errors %+v do not name %q", e.Errors, tt.attr)
			}
			if tt.emails != nil {
				var got []string
				for _, f := range e.Errors {
					got = append(got, f.Reason)
				}
				if !slices.Equal(got, tt.emails) {
					t.Errorf("invalid emails %q, want %q", got, tt.emails)
				}
			}
		})
	}
}

func TestMember_List(t *testing.T) {
	t.Parallel()
	st, clock := tstStore(t)
	mrRole(t, st, "ops")
	mrTeam(t, st, "qa")
	var ids []string
	for _, inv := range []MemberInvite{
		{Email: "zed@example.com", FirstName: "Ann", Role: RoleAdmin, TeamKeys: []string{"qa"}},
		{Email: "bob@acme.com", Role: RoleWriter, CustomRoles: []string{"ops"}},
		{Email: "cy@example.com", FirstName: "Cy", LastName: "Able", TeamKeys: []string{"qa"}},
	} {
		clock.Advance(time.Second)
		ids = append(ids, mrInvite(t, st, inv.Email, func(i *MemberInvite) { *i = inv }).ID)
	}
	owner := "000000000000000000000001"
	tests := []struct {
		name string
		o    ListOptions
		f    MemberFilter
		want []string
		tot  int
	}{
		{"all", ListOptions{}, MemberFilter{}, []string{owner, ids[0], ids[1], ids[2]}, 4},
		{"page", ListOptions{Limit: 2, Offset: 1}, MemberFilter{}, []string{ids[0], ids[1]}, 4},
		{"newest first", ListOptions{Sort: "-creationDate", Limit: 1}, MemberFilter{}, []string{ids[2]}, 4},
		{"display name", ListOptions{Sort: "displayName"}, MemberFilter{}, []string{ids[0], ids[1], ids[2], owner}, 4},
		{"query email", ListOptions{Query: "ACME"}, MemberFilter{}, []string{ids[1]}, 1},
		{"query name", ListOptions{Query: "cy able"}, MemberFilter{}, []string{ids[2]}, 1},
		{"query email of a named member", ListOptions{Query: "zed@"}, MemberFilter{}, []string{ids[0]}, 1},
		{"admin includes owner", ListOptions{}, MemberFilter{Role: RoleAdmin}, []string{owner, ids[0]}, 2},
		{"owner", ListOptions{}, MemberFilter{Role: RoleOwner}, []string{owner}, 1},
		{"reader", ListOptions{}, MemberFilter{Role: RoleReader}, []string{ids[2]}, 1},
		{"custom role", ListOptions{}, MemberFilter{Role: "ops"}, []string{ids[1]}, 1},
		{"team", ListOptions{}, MemberFilter{Team: "qa"}, []string{ids[0], ids[2]}, 2},
		{"team and role", ListOptions{}, MemberFilter{Team: "qa", Role: RoleReader}, []string{ids[2]}, 1},
		{"team, role and paging", ListOptions{Offset: 1}, MemberFilter{Team: "qa", Role: RoleAdmin}, []string{}, 1},
		{"team and query", ListOptions{Query: "zed"}, MemberFilter{Team: "qa"}, []string{ids[0]}, 1},
		{"unknown team", ListOptions{}, MemberFilter{Team: "nope"}, []string{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := st.ListMembers(t.Context(), tt.o, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := mrIDs(l.Items); !slices.Equal(got, tt.want) || l.TotalCount != tt.tot {
				t.Errorf("got %q (%d), want %q (%d)", got, l.TotalCount, tt.want, tt.tot)
			}
		})
	}
	for _, bad := range []struct {
		o    ListOptions
		f    MemberFilter
		attr string
	}{
		{ListOptions{Tag: "x"}, MemberFilter{}, "tag"},
		{ListOptions{}, MemberFilter{Role: "a b"}, "role"},
		{ListOptions{}, MemberFilter{Team: "a/b"}, "team"},
		{ListOptions{Sort: "lastSeen"}, MemberFilter{}, "sort"},
		{ListOptions{Offset: -1}, MemberFilter{Role: RoleAdmin, Team: "qa"}, "limit"},
	} {
		_, err := st.ListMembers(t.Context(), bad.o, bad.f)
		tstInvalid(t, err, bad.attr)
	}
}

func TestMember_Update(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	ops := mrRole(t, st, "ops")
	dev := mrRole(t, st, "dev")
	m := mrInvite(t, st, "a@x.com", func(i *MemberInvite) { i.FirstName = "Ada" })
	var got Member
	mrWrote(t, st, func() (err error) {
		got, err = st.UpdateMember(t.Context(), m.ID, func(m *Member) error {
			m.Role = RoleWriter
			m.CustomRoles = []string{"ops", dev.ID} // keys or _ids
			m.RoleAttributes = map[string][]string{"projects": {"p1"}}
			return nil
		})
		return err
	}, "member", Access{"updateRole", "member/" + m.ID}, Access{"updateCustomRole", "member/" + m.ID},
		Access{"updateMemberRoleAttributes", "member/" + m.ID})
	if got.Role != RoleWriter || !slices.Equal(got.CustomRoles, []string{ops.ID, dev.ID}) || got.RoleAttributes["projects"][0] != "p1" {
		t.Fatalf("updated %+v", got)
	}
	if l, _ := st.ListMembers(t.Context(), ListOptions{}, MemberFilter{Role: "dev"}); l.TotalCount != 1 {
		t.Errorf("the index does not follow custom roles: %+v", l)
	}
	if l, _ := st.ListMembers(t.Context(), ListOptions{}, MemberFilter{Role: RoleReader}); l.TotalCount != 0 {
		t.Errorf("the index keeps the old role: %+v", l)
	}
	mrNoop(t, st, func() error {
		_, err := st.UpdateMember(t.Context(), m.ID, func(m *Member) error { m.CustomRoles = []string{"ops", "dev"}; return nil })
		return err
	})
	owner, _ := st.Owner(t.Context())
	refused := []struct {
		name string
		id   string
		fn   func(*Member)
		attr string
	}{
		{"_id", m.ID, func(m *Member) { m.ID = "x" }, "_id"},
		{"email", m.ID, func(m *Member) { m.Email = "b@x.com" }, "email"},
		{"firstName", m.ID, func(m *Member) { m.FirstName = "Bob" }, "firstName"},
		{"teams", m.ID, func(m *Member) { m.Teams = []MemberTeam{{Key: "qa"}} }, "teams"},
		{"grants", m.ID, func(m *Member) {
			m.PermissionGrants = []PermissionGrant{{Resource: "team/x", ActionSet: "maintainTeam"}}
		}, "permissionGrants"},
		{"_verified", m.ID, func(m *Member) { m.Verified = true }, "_verified"},
		{"_pendingInvite", m.ID, func(m *Member) { m.PendingInvite = false }, "_pendingInvite"},
		{"mfa", m.ID, func(m *Member) { m.MFA = "enabled" }, "mfa"},
		{"creationDate", m.ID, func(m *Member) { m.CreationDate++ }, "creationDate"},
		{"make owner", m.ID, func(m *Member) { m.Role = RoleOwner }, "role"},
		{"unknown role", m.ID, func(m *Member) { m.Role = "boss" }, "role"},
		{"owner's role", owner.ID, func(m *Member) { m.Role = RoleAdmin }, "role"},
		{"unknown custom role", m.ID, func(m *Member) { m.CustomRoles = []string{"nope"} }, "customRoles"},
		{"custom role twice", m.ID, func(m *Member) { m.CustomRoles = []string{"ops", ops.ID} }, "customRoles"},
		{"bad attribute", m.ID, func(m *Member) { m.RoleAttributes = map[string][]string{"a b": {"x"}} }, "roleAttributes"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := mrUnchanged(t, st, func() error {
				_, err := st.UpdateMember(t.Context(), tt.id, func(m *Member) error { tt.fn(m); return nil })
				return err
			})
			tstInvalid(t, err, tt.attr)
		})
	}
	_, err := st.UpdateMember(t.Context(), "nope", func(*Member) error { return nil })
	tstNotFound(t, err)
}

func TestMember_Patch(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	ops := mrRole(t, st, "ops")
	m := mrInvite(t, st, "a@x.com")
	got, err := st.PatchMember(t.Context(), m.ID, mrJSONPatch(
		`[{"op":"replace","path":"/role","value":"admin"},{"op":"add","path":"/customRoles/0","value":"ops"}]`))
	if err != nil || got.Role != RoleAdmin || !slices.Equal(got.CustomRoles, []string{ops.ID}) {
		t.Fatalf("patched %+v %v", got, err)
	}
	if e := mrLast(t, st); len(e.Delta) == 0 {
		t.Error("the entry lacks the delta")
	}
	for _, tt := range []struct {
		name string
		p    Patch
	}{
		{"email", mrJSONPatch(`[{"op":"replace","path":"/email","value":"b@x.com"}]`)},
		{"_id", mrJSONPatch(`[{"op":"replace","path":"/_id","value":"x"}]`)},
		{"teams", mrJSONPatch(`[{"op":"add","path":"/teams","value":[{"key":"qa","name":"QA","customRoleKeys":[]}]}]`)},
		{"merge", Patch{Kind: MergePatch, Merge: []byte(`{"role":"reader"}`)}},
		{"semantic", mrSemantic(t, `{"kind":"updateName","value":"x"}`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tstInvalid(t, mrUnchanged(t, st, func() error { _, err := st.PatchMember(t.Context(), m.ID, tt.p); return err }), "")
		})
	}
}

func TestMember_Delete(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	m := mrInvite(t, st, "a@x.com", func(i *MemberInvite) { i.CustomRoles = []string{"ops"}; i.TeamKeys = nil })
	other := mrInvite(t, st, "b@x.com")
	tm := mrTeam(t, st, "qa", m.ID, other.ID)
	if _, err := st.PatchTeam(t.Context(), "qa", mrSemantic(t, `{"kind":"addPermissionGrants","actionSet":"maintainTeam","memberIDs":["`+m.ID+`"]}`)); err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(t.Context(), m.ID, TokenPost{Name: "personal"})
	if err != nil {
		t.Fatal(err)
	}
	mrWrote(t, st, func() error { return st.DeleteMember(t.Context(), m.ID) }, "member", Access{"deleteMember", "member/" + m.ID})
	_, err = st.GetMember(t.Context(), m.ID)
	tstNotFound(t, err)
	_, err = st.GetToken(t.Context(), tok.ID)
	tstNotFound(t, err)
	if got, _ := st.GetTeam(t.Context(), "qa"); got.Members.TotalCount != 1 || got.Version <= tm.Version {
		t.Errorf("team after the delete: %+v", got)
	}
	for _, prefix := range []string{"m/" + m.ID, "mt/" + m.ID, "tm/qa/" + m.ID, "tg/qa/" + m.ID, "ru/ops/"} {
		if keys := tstRawKeys(t, st, prefix); len(keys) != 0 {
			t.Errorf("keys left: %q", keys)
		}
	}
	if l, _ := st.ListMembers(t.Context(), ListOptions{}, MemberFilter{}); l.TotalCount != 2 {
		t.Errorf("members after the delete: %+v", l)
	}
	// The role is free to delete and the address free to invite.
	if err := st.DeleteCustomRole(t.Context(), "ops"); err != nil {
		t.Fatal(err)
	}
	mrInvite(t, st, "A@x.com")

	owner, _ := st.Owner(t.Context())
	err = mrUnchanged(t, st, func() error { return st.DeleteMember(t.Context(), owner.ID) })
	tstErr(t, err, ErrConflict, 409, CodeConflict)
	tstNotFound(t, st.DeleteMember(t.Context(), m.ID))
}

func TestMember_AddToTeams(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	m := mrInvite(t, st, "a@x.com")
	mrTeam(t, st, "qa")
	mrTeam(t, st, "web", m.ID)
	var got Member
	mrWrote(t, st, func() (err error) {
		got, err = st.AddMemberToTeams(t.Context(), m.ID, []string{"web", "qa"})
		return err
	}, "member", Access{"updateTeamMembers", "team/qa"})
	if len(got.Teams) != 2 || got.Teams[0].Key != "qa" || got.Teams[1].Key != "web" {
		t.Fatalf("teams %+v", got.Teams)
	}
	if qa, _ := st.GetTeam(t.Context(), "qa"); qa.Members.TotalCount != 1 || qa.Version != 2 {
		t.Errorf("team qa %+v", qa)
	}
	mrNoop(t, st, func() error { _, err := st.AddMemberToTeams(t.Context(), m.ID, []string{"qa"}); return err })
	for _, tt := range []struct {
		name string
		keys []string
	}{{"none", nil}, {"unknown", []string{"qa", "nope"}}, {"twice", []string{"qa", "qa"}}, {"bad key", []string{"a b"}}} {
		t.Run(tt.name, func(t *testing.T) {
			tstInvalid(t, mrUnchanged(t, st, func() error { _, err := st.AddMemberToTeams(t.Context(), m.ID, tt.keys); return err }), "teamKeys")
		})
	}
	_, err := st.AddMemberToTeams(t.Context(), "nope", []string{"qa"})
	tstNotFound(t, err)
}

func TestMember_PolicyInputs(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	for _, k := range []string{"own", "shared", "team-only"} {
		mrRole(t, st, k)
	}
	m := mrInvite(t, st, "a@x.com", func(i *MemberInvite) {
		i.CustomRoles = []string{"own"}
		i.RoleAttributes = map[string][]string{"projects": {"p1"}}
	})
	for _, p := range []TeamPost{
		{Key: "t1", Name: "T1", MemberIDs: []string{m.ID}, CustomRoleKeys: []string{"shared", "team-only"},
			RoleAttributes: map[string][]string{"projects": {"p2", "p1"}, "envs": {"e1"}}},
		{Key: "t2", Name: "T2", MemberIDs: []string{m.ID}, CustomRoleKeys: []string{"shared"},
			RoleAttributes: map[string][]string{"projects": {"p3"}}},
		{Key: "t3", Name: "T3", CustomRoleKeys: []string{"own"}},
	} {
		if _, err := st.CreateTeam(t.Context(), p); err != nil {
			t.Fatal(err)
		}
	}
	err := st.view(t.Context(), func(r *rtx) error {
		var stored Member
		if _, err := getMember(r, m.ID, &stored); err != nil {
			return err
		}
		roles, teamRoles, attrs, err := memberPolicyInputs(r, &stored)
		if err != nil {
			return err
		}
		keys := func(rs []CustomRole) (out []string) {
			for _, r := range rs {
				out = append(out, r.Key)
			}
			return out
		}
		if !slices.Equal(keys(roles), []string{"own"}) || !slices.Equal(keys(teamRoles), []string{"shared", "team-only"}) {
			return fmt.Errorf("roles %q team roles %q", keys(roles), keys(teamRoles))
		}
		if fxJSON(t, attrs) != `{"envs":["e1"],"projects":["p1","p2","p3"]}` {
			return fmt.Errorf("attrs %s", fxJSON(t, attrs))
		}
		if roles[0].Policy[0].Actions[0] != "updateOn" {
			return errors.New("roles lack their policy")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
