package flagstore

import (
	"errors"
	"testing"
)

// Adding a member to teams it is already in is a no-op, but still one the
// caller must be allowed to make.
func TestTeam_AddMemberToTeamsNoOpChecksPermission(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	if _, err := st.CreateTeam(ctx, TeamPost{Key: "qa", Name: "QA"}); err != nil {
		t.Fatal(err)
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: "w@x.io", Role: "writer", TeamKeys: []string{"qa"}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.MemberPrincipal(ctx, ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddMemberToTeams(WithPrincipal(ctx, p), ms[0].ID, []string{"qa"}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("a writer's no-op add: %v, want refused", err)
	}
	if _, err := st.AddMemberToTeams(ctx, ms[0].ID, []string{"qa"}); err != nil {
		t.Fatalf("the host's no-op add: %v", err)
	}
}
