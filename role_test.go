package flagstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Fixtures of the role, member and team tests; every name starts with "mr".

// mrStore opens a deterministic in-memory store; its owner has _id 1.
func mrStore(t testing.TB) *Store {
	t.Helper()
	st, _ := tstStore(t)
	return st
}

// mrStmt is a valid policy statement.
var mrStmt = Statement{Effect: "allow", Resources: []string{"proj/*:env/*:flag/*"}, Actions: []string{"updateOn"}}

// mrRole creates a custom role.
func mrRole(t testing.TB, st *Store, key string) CustomRole {
	t.Helper()
	cr, err := st.CreateCustomRole(t.Context(), CustomRolePost{Key: key, Name: "Role " + key, Policy: []Statement{mrStmt}})
	if err != nil {
		t.Fatalf("CreateCustomRole(%q): %v", key, err)
	}
	return cr
}

// mrInvite invites one member with the reader role, after mods.
func mrInvite(t testing.TB, st *Store, email string, mods ...func(*MemberInvite)) Member {
	t.Helper()
	inv := MemberInvite{Email: email}
	for _, m := range mods {
		m(&inv)
	}
	ms, err := st.InviteMembers(t.Context(), []MemberInvite{inv})
	if err != nil {
		t.Fatalf("InviteMembers(%q): %v", email, err)
	}
	return ms[0]
}

// mrTeam creates a team with members.
func mrTeam(t testing.TB, st *Store, key string, memberIDs ...string) Team {
	t.Helper()
	tm, err := st.CreateTeam(t.Context(), TeamPost{Key: key, Name: "Team " + key, MemberIDs: memberIDs})
	if err != nil {
		t.Fatalf("CreateTeam(%q): %v", key, err)
	}
	return tm
}

// mrAudits counts the audit entries in the store.
func mrAudits(t testing.TB, st *Store) int {
	t.Helper()
	return len(tstRawKeys(t, st, auditIDPrefix))
}

// mrLast returns the newest audit entry in its detailed form.
func mrLast(t testing.TB, st *Store) AuditEntry {
	t.Helper()
	l, err := st.ListAuditLog(t.Context(), AuditListOptions{Limit: 1})
	if err != nil || len(l) != 1 {
		t.Fatalf("ListAuditLog: %v %v", l, err)
	}
	e, err := st.GetAuditEntry(t.Context(), l[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// mrWrote checks that write succeeds and records exactly one audit entry
// whose kind and accesses are as given.
func mrWrote(t testing.TB, st *Store, write func() error, kind string, accesses ...Access) {
	t.Helper()
	n := mrAudits(t, st)
	if err := write(); err != nil {
		t.Fatalf("write: %v", err)
	}
	if got := mrAudits(t, st); got != n+1 {
		t.Fatalf("the write recorded %d audit entries, want 1", got-n)
	}
	e := mrLast(t, st)
	if e.Kind != kind || !slices.Equal(e.Accesses, accesses) {
		t.Fatalf("audit entry kind %q accesses %v, want %q %v", e.Kind, e.Accesses, kind, accesses)
	}
}

// mrUnchanged runs write, which must fail, and checks that the store's
// content did not change; it returns the error.
func mrUnchanged(t testing.TB, st *Store, write func() error) error {
	t.Helper()
	before := tstSave(t, st)
	err := write()
	if err == nil {
		t.Fatalf("the write succeeded, want an error")
	}
	if !bytes.Equal(before, tstSave(t, st)) {
		t.Errorf("a refused write changed the store (%v)", err)
	}
	return err
}

// mrNoop runs write, which must succeed without changing the store.
func mrNoop(t testing.TB, st *Store, write func() error) {
	t.Helper()
	before := tstRevision(t, st)
	if err := write(); err != nil {
		t.Fatalf("write: %v", err)
	}
	if tstRevision(t, st) != before {
		t.Errorf("a write that changes nothing committed")
	}
}

// mrJSONPatch builds a JSON Patch.
func mrJSONPatch(ops string) Patch { return Patch{Kind: JSONPatch, Ops: json.RawMessage(ops)} }

func TestRole_Create(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	var cr CustomRole
	mrWrote(t, st, func() (err error) {
		cr, err = st.CreateCustomRole(t.Context(), CustomRolePost{Key: "ops", Name: "Ops", Description: "d",
			Policy: []Statement{mrStmt}, ResourceCategory: "organization"})
		return err
	}, "role", Access{"createRole", "role/ops"})
	want := CustomRole{ID: cr.ID, Key: "ops", Name: "Ops", Description: "d", Policy: []Statement{mrStmt},
		BasePermissions: BasePermissionsNoAccess, ResourceCategory: "organization", AssignedTo: &RoleAssignments{}}
	if fxJSON(t, cr) != fxJSON(t, want) || !tstHex24.MatchString(cr.ID) {
		t.Fatalf("created %s", fxJSON(t, cr))
	}
	got, err := st.GetCustomRole(t.Context(), "ops")
	if err != nil || fxJSON(t, got) != fxJSON(t, want) {
		t.Fatalf("GetCustomRole = %s, %v", fxJSON(t, got), err)
	}
	// The result is a copy.
	cr.Policy[0].Actions[0] = "x"
	cr.AssignedTo.MembersCount = 9
	if again, _ := st.GetCustomRole(t.Context(), cr.ID); fxJSON(t, again) != fxJSON(t, want) {
		t.Errorf("mutating the result changed the store: %s", fxJSON(t, again))
	}
	reader, err := st.CreateCustomRole(t.Context(), CustomRolePost{Key: "r", Name: "R", BasePermissions: BasePermissionsReader})
	if err != nil || reader.BasePermissions != "reader" || reader.Policy == nil {
		t.Fatalf("reader role: %+v %v", reader, err)
	}
}

func TestRole_CreateInvalid(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "taken")
	ok := CustomRolePost{Key: "k", Name: "N", Policy: []Statement{mrStmt}}
	tests := []struct {
		name string
		mod  func(*CustomRolePost)
		attr string
	}{
		{"no key", func(p *CustomRolePost) { p.Key = "" }, "key"},
		{"bad key", func(p *CustomRolePost) { p.Key = "a b" }, "key"},
		{"key too long for the member index", func(p *CustomRolePost) { p.Key = strings.Repeat("a", 255) }, "key"},
		{"no name", func(p *CustomRolePost) { p.Name = " " }, "name"},
		{"bad base permissions", func(p *CustomRolePost) { p.BasePermissions = "writer" }, "basePermissions"},
		{"bad statement", func(p *CustomRolePost) { p.Policy = []Statement{mrStmt, {Effect: "maybe"}} }, "policy[1]"},
		{"bad resource category", func(p *CustomRolePost) { p.ResourceCategory = "a/b" }, "resourceCategory"},
		{"bad description", func(p *CustomRolePost) { p.Description = "\xff" }, "description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.mod(&p)
			err := mrUnchanged(t, st, func() error { _, err := st.CreateCustomRole(t.Context(), p); return err })
			tstInvalid(t, err, tt.attr)
		})
	}
	err := mrUnchanged(t, st, func() error {
		_, err := st.CreateCustomRole(t.Context(), CustomRolePost{Key: "taken", Name: "N"})
		return err
	})
	tstExists(t, err)
}

func TestRole_GetAndList(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	for _, k := range []string{"c", "a", "b"} {
		mrRole(t, st, k)
	}
	a, err := st.GetCustomRole(t.Context(), "a")
	if err != nil {
		t.Fatal(err)
	}
	if byID, err := st.GetCustomRole(t.Context(), a.ID); err != nil || byID.Key != "a" {
		t.Fatalf("by _id: %+v %v", byID, err)
	}
	for _, bad := range []string{"zz", "", "a/b", "000000000000000000000099"} {
		_, err := st.GetCustomRole(t.Context(), bad)
		tstNotFound(t, err)
	}
	l, err := st.ListCustomRoles(t.Context(), ListOptions{Limit: 2})
	if err != nil || l.TotalCount != 3 || len(l.Items) != 2 || l.Items[0].Key != "a" || l.Items[1].Key != "b" {
		t.Fatalf("list: %+v %v", l, err)
	}
	if l.Items[0].AssignedTo == nil {
		t.Error("listed roles lack assignedTo")
	}
	l, err = st.ListCustomRoles(t.Context(), ListOptions{Query: "ROLE C"})
	if err != nil || l.TotalCount != 1 || l.Items[0].Key != "c" {
		t.Fatalf("query: %+v %v", l, err)
	}
	l, err = st.ListCustomRoles(t.Context(), ListOptions{Sort: "-key", Offset: 1})
	if err != nil || l.TotalCount != 3 || len(l.Items) != 2 || l.Items[0].Key != "b" {
		t.Fatalf("sort: %+v %v", l, err)
	}
	_, err = st.ListCustomRoles(t.Context(), ListOptions{Limit: -1})
	tstInvalid(t, err, "limit")
}

func TestRole_Update(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	cr := mrRole(t, st, "ops")
	var got CustomRole
	mrWrote(t, st, func() (err error) {
		got, err = st.UpdateCustomRole(t.Context(), "ops", func(r *CustomRole) error {
			r.Name = "Operators"
			r.Policy = append(r.Policy, Statement{Effect: "deny", Resources: []string{"proj/prod"}, Actions: []string{"*"}})
			r.BasePermissions = BasePermissionsReader
			return nil
		})
		return err
	}, "role", Access{"updateName", "role/ops"}, Access{"updatePolicy", "role/ops"}, Access{"updateBasePermissions", "role/ops"})
	if got.Name != "Operators" || len(got.Policy) != 2 || got.ID != cr.ID || got.AssignedTo == nil {
		t.Fatalf("updated %+v", got)
	}
	e := mrLast(t, st)
	if !strings.Contains(string(e.PreviousVersion), `"Role ops"`) || !strings.Contains(string(e.CurrentVersion), `"Operators"`) {
		t.Errorf("audit versions %s / %s", e.PreviousVersion, e.CurrentVersion)
	}
	mrNoop(t, st, func() error {
		_, err := st.UpdateCustomRole(t.Context(), cr.ID, func(r *CustomRole) error { r.Name = "Operators"; return nil })
		return err
	})
	refused := []struct {
		name string
		fn   func(*CustomRole)
		attr string
	}{
		{"key", func(r *CustomRole) { r.Key = "other" }, "key"},
		{"_id", func(r *CustomRole) { r.ID = "x" }, "_id"},
		{"resourceCategory", func(r *CustomRole) { r.ResourceCategory = "project" }, "resourceCategory"},
		{"assignedTo", func(r *CustomRole) { r.AssignedTo = &RoleAssignments{MembersCount: 3} }, "assignedTo"},
		{"name", func(r *CustomRole) { r.Name = "" }, "name"},
		{"policy", func(r *CustomRole) { r.Policy = []Statement{{Effect: "allow"}} }, "policy[0]"},
		{"basePermissions", func(r *CustomRole) { r.BasePermissions = "" }, "basePermissions"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			err := mrUnchanged(t, st, func() error {
				_, err := st.UpdateCustomRole(t.Context(), "ops", func(r *CustomRole) error { tt.fn(r); return nil })
				return err
			})
			tstInvalid(t, err, tt.attr)
		})
	}
	_, err := st.UpdateCustomRole(t.Context(), "nope", func(*CustomRole) error { return nil })
	tstNotFound(t, err)
	boom := errors.New("boom")
	if _, err := st.UpdateCustomRole(t.Context(), "ops", func(*CustomRole) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("fn's error: %v", err)
	}
}

func TestRole_Patch(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	mrRole(t, st, "ops")
	got, err := st.PatchCustomRole(t.Context(), "ops", mrJSONPatch(
		`[{"op":"add","path":"/policy/0","value":{"effect":"deny","resources":["proj/x"],"actions":["*"]}},{"op":"replace","path":"/description","value":"D"}]`))
	if err != nil || len(got.Policy) != 2 || got.Policy[0].Effect != "deny" || got.Description != "D" {
		t.Fatalf("JSON Patch: %+v %v", got, err)
	}
	if e := mrLast(t, st); len(e.Delta) == 0 {
		t.Errorf("the audit entry lacks the delta")
	}
	got, err = st.PatchCustomRole(t.Context(), "ops", Patch{Kind: MergePatch, Merge: json.RawMessage(`{"name":"Merged"}`)})
	if err != nil || got.Name != "Merged" {
		t.Fatalf("merge: %+v %v", got, err)
	}
	tests := []struct {
		name  string
		p     Patch
		check func(error)
	}{
		{"_id", mrJSONPatch(`[{"op":"replace","path":"/_id","value":"x"}]`), func(err error) { tstInvalid(t, err, "") }},
		{"key", mrJSONPatch(`[{"op":"replace","path":"/key","value":"x"}]`), func(err error) { tstInvalid(t, err, "key") }},
		{"merge _id", Patch{Kind: MergePatch, Merge: json.RawMessage(`{"_id":"x"}`)}, func(err error) { tstInvalid(t, err, "") }},
		{"unknown field", mrJSONPatch(`[{"op":"add","path":"/bogus","value":1}]`), func(err error) { tstInvalid(t, err, "") }},
		{"failed test", mrJSONPatch(`[{"op":"test","path":"/name","value":"other"}]`), func(err error) {
			tstErr(t, err, ErrConflict, 409, CodeOptimisticLocking)
		}},
		{"semantic", Patch{Kind: SemanticPatch, Instructions: []Instruction{{Kind: "updateName"}}}, func(err error) { tstInvalid(t, err, "") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.check(mrUnchanged(t, st, func() error { _, err := st.PatchCustomRole(t.Context(), "ops", tt.p); return err }))
		})
	}
	// A dry run returns the result and stores nothing.
	rev := tstRevision(t, st)
	got, err = st.PatchCustomRole(t.Context(), "ops", Patch{Kind: MergePatch, Merge: json.RawMessage(`{"name":"Dry"}`), DryRun: true})
	if err != nil || got.Name != "Dry" || tstRevision(t, st) != rev {
		t.Fatalf("dry run: %+v %v", got, err)
	}
}

func TestRole_DeleteAndAssignments(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	cr := mrRole(t, st, "ops")
	m := mrInvite(t, st, "a@example.com", func(i *MemberInvite) { i.CustomRoles = []string{"ops"} })
	tm, err := st.CreateTeam(t.Context(), TeamPost{Key: "qa", Name: "QA", CustomRoleKeys: []string{"ops"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := st.GetCustomRole(t.Context(), "ops")
	if *got.AssignedTo != (RoleAssignments{MembersCount: 1, TeamsCount: 1}) {
		t.Fatalf("assignedTo %+v", got.AssignedTo)
	}
	err = mrUnchanged(t, st, func() error { return st.DeleteCustomRole(t.Context(), "ops") })
	tstErr(t, err, ErrConflict, 409, CodeConflict)

	if _, err := st.UpdateMember(t.Context(), m.ID, func(m *Member) error { m.CustomRoles = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	err = mrUnchanged(t, st, func() error { return st.DeleteCustomRole(t.Context(), cr.ID) })
	tstErr(t, err, ErrConflict, 409, CodeConflict)
	if _, err := st.PatchTeam(t.Context(), tm.Key, mrSemantic(t, `{"kind":"removeCustomRoles","values":["ops"]}`)); err != nil {
		t.Fatal(err)
	}

	// A token's use (written by the token code) also blocks the delete.
	if err := st.update(t.Context(), func(w *wtx) error { return w.mark(roleUseKey("ops", "k:tok1")) }); err != nil {
		t.Fatal(err)
	}
	err = mrUnchanged(t, st, func() error { return st.DeleteCustomRole(t.Context(), "ops") })
	if e := tstErr(t, err, ErrConflict, 409, CodeConflict); !strings.Contains(e.Message, "access token tok1") {
		t.Errorf("message %q", e.Message)
	}
	if err := st.update(t.Context(), func(w *wtx) error { return w.del(roleUseKey("ops", "k:tok1")) }); err != nil {
		t.Fatal(err)
	}

	mrWrote(t, st, func() error { return st.DeleteCustomRole(t.Context(), "ops") }, "role", Access{"deleteRole", "role/ops"})
	for _, k := range []string{"ops", cr.ID} {
		_, err := st.GetCustomRole(t.Context(), k)
		tstNotFound(t, err)
	}
	if keys := append(tstRawKeys(t, st, "cr"), tstRawKeys(t, st, "ru/")...); len(keys) != 0 {
		t.Errorf("keys left: %q", keys)
	}
	tstNotFound(t, st.DeleteCustomRole(t.Context(), "ops"))
	// The key is free again.
	mrRole(t, st, "ops")
}

func TestRole_GetRoleByID(t *testing.T) {
	t.Parallel()
	st := mrStore(t)
	cr := mrRole(t, st, "ops")
	err := st.view(t.Context(), func(r *rtx) error {
		var got CustomRole
		if err := getRoleByID(r, cr.ID, &got); err != nil || got.Key != "ops" {
			return fmt.Errorf("getRoleByID: %+v %v", got, err)
		}
		for _, bad := range []string{"ops", "", "x/y"} {
			if err := getRoleByID(r, bad, &got); !errors.Is(err, ErrNotFound) {
				return fmt.Errorf("getRoleByID(%q) = %v", bad, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
