package flagstore

import (
	"errors"
	"testing"
)

// A non-admin allowed to manage service tokens still cannot mint one more
// powerful than itself.
func TestToken_ServiceTokenGrantBounded(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	cr, err := st.CreateCustomRole(ctx, CustomRolePost{Key: "svc-maker", Name: "Service token maker", BasePermissions: "reader",
		Policy: []Statement{{Effect: "allow", Resources: []string{"service-token/*"}, Actions: []string{"*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: "svc@x.io", Role: "writer", CustomRoles: []string{cr.Key}}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.MemberPrincipal(ctx, ms[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	pctx := WithPrincipal(ctx, p)
	tests := []struct {
		name string
		post TokenPost
		ok   bool
	}{
		{"reader service token", TokenPost{Name: "r", Role: "reader", ServiceToken: true}, true},
		{"writer service token", TokenPost{Name: "w", Role: "writer", ServiceToken: true}, true},
		{"admin service token", TokenPost{Name: "a", Role: "admin", ServiceToken: true}, false},
		{"inline-role service token", TokenPost{Name: "i", ServiceToken: true,
			InlineRole: []Statement{{Effect: "allow", Resources: []string{"proj/*"}, Actions: []string{"*"}}}}, false},
	}
	for _, tt := range tests {
		tok, err := st.CreateToken(pctx, ms[0].ID, tt.post)
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, ErrForbidden)) {
			t.Errorf("%s: %v", tt.name, err)
		}
		if tt.ok && err == nil {
			// Raising it to admin afterwards is refused too.
			_, err := st.UpdateToken(pctx, tok.ID, func(tk *Token) error { tk.Role = "admin"; return nil })
			if !errors.Is(err, ErrForbidden) {
				t.Errorf("%s: raised to admin: %v", tt.name, err)
			}
		}
	}
}
