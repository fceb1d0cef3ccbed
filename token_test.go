package flagstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fixtures of the token tests; every name starts with "tk".

// tkStore opens a test store whose token runtime stops before it closes.
func tkStore(t testing.TB) (*Store, *tstClock) {
	t.Helper()
	st, clock := tstStore(t)
	t.Cleanup(st.closeTokens) // runs before tstStore's Close
	return st, clock
}

// tkMustMember invites a member and returns its _id.
func tkMustMember(t testing.TB, st *Store, email string) string {
	t.Helper()
	ms, err := st.InviteMembers(t.Context(), []MemberInvite{{Email: email, FirstName: "F", LastName: "L", Role: RoleWriter}})
	if err != nil {
		t.Fatalf("InviteMembers(%s): %v", email, err)
	}
	return ms[0].ID
}

// tkMustRole creates a custom role and returns its _id.
func tkMustRole(t testing.TB, st *Store, key string) string {
	t.Helper()
	cr, err := st.CreateCustomRole(t.Context(), CustomRolePost{Key: key, Name: "Role " + key,
		Policy: []Statement{{Effect: "allow", Resources: []string{"proj/*"}, Actions: []string{"*"}}}})
	if err != nil {
		t.Fatalf("CreateCustomRole(%s): %v", key, err)
	}
	return cr.ID
}

// tkMustToken creates a token and returns it with its whole secret.
func tkMustToken(t testing.TB, st *Store, member string, p TokenPost) Token {
	t.Helper()
	tok, err := st.CreateToken(t.Context(), member, p)
	if err != nil {
		t.Fatalf("CreateToken(%s, %+v): %v", member, p, err)
	}
	return tok
}

// tkAuth resolves a secret and fails unless it names token id.
func tkAuth(t testing.TB, st *Store, secret, id string) Token {
	t.Helper()
	tok, err := st.tokenBySecret(t.Context(), secret)
	if err != nil || tok.ID != id {
		t.Fatalf("tokenBySecret = %s, %v; want token %s", tok.ID, err, id)
	}
	return tok
}

// tkUnauthorized checks that a secret no longer authenticates.
func tkUnauthorized(t testing.TB, st *Store, secret string) {
	t.Helper()
	_, err := st.tokenBySecret(t.Context(), secret)
	e := tstErr(t, err, ErrUnauthorized, 401, CodeUnauthorized)
	if e.Message != "Invalid access token" {
		t.Errorf("message %q", e.Message)
	}
}

// tkAudit returns the newest audit entries (the tests make fewer than
// 20), newest first, in detail.
func tkAudit(t testing.TB, st *Store) []AuditEntry {
	t.Helper()
	page, err := st.ListAuditLog(t.Context(), AuditListOptions{Limit: 20})
	if err != nil || len(page) == 20 {
		t.Fatalf("ListAuditLog: %d entries, %v", len(page), err)
	}
	out := make([]AuditEntry, len(page))
	for i, e := range page {
		if out[i], err = st.GetAuditEntry(t.Context(), e.ID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// tkTokenAudit keeps the entries about tokens.
func tkTokenAudit(t testing.TB, st *Store) []AuditEntry {
	t.Helper()
	var out []AuditEntry
	for _, e := range tkAudit(t, st) {
		if e.Kind == "token" {
			out = append(out, e)
		}
	}
	return out
}

func tkJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestToken_Create(t *testing.T) {
	t.Parallel()
	inline := []Statement{{Effect: "allow", Resources: []string{"proj/*:env/*:flag/*"}, Actions: []string{"*"}}}
	tests := []struct {
		name    string
		post    func(role string) TokenPost
		role    string
		custom  bool
		inline  bool
		version int
	}{
		{"default reader", func(string) TokenPost { return TokenPost{Name: "ci"} }, RoleReader, false, false, 20240415},
		{"writer", func(string) TokenPost { return TokenPost{Role: RoleWriter} }, RoleWriter, false, false, 20240415},
		{"admin service", func(string) TokenPost { return TokenPost{Role: RoleAdmin, ServiceToken: true} }, RoleAdmin, false, false, 20240415},
		{"custom roles", func(r string) TokenPost { return TokenPost{CustomRoleIDs: []string{r}} }, "", true, false, 20240415},
		{"custom role by key", func(string) TokenPost { return TokenPost{CustomRoleIDs: []string{"ops"}} }, "", true, false, 20240415},
		{"inline role", func(string) TokenPost { return TokenPost{InlineRole: inline, DefaultAPIVersion: 20160426} }, "", false, true, 20160426},
		{"dated version", func(string) TokenPost { return TokenPost{Role: RoleReader, DefaultAPIVersion: 20220603} }, RoleReader, false, false, 20220603},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tkStore(t)
			member := tkMustMember(t, st, "ann@example.com")
			roleID := tkMustRole(t, st, "ops")
			post := tt.post(roleID)
			tok := tkMustToken(t, st, member, post)
			tstCheckPrefixedUUID(t, "token", tok.Token, "api-")
			owner, err := st.Owner(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if !tstHex24.MatchString(tok.ID) || tok.MemberID != member || tok.OwnerID != owner.ID {
				t.Errorf("ids: %+v (owner %s)", tok, owner.ID)
			}
			if tok.Member == nil || tok.Member.ID != member || tok.Member.Email != "ann@example.com" {
				t.Errorf("_member = %+v", tok.Member)
			}
			if tok.CreationDate != clock.Millis() || tok.LastModified != clock.Millis() || tok.LastUsed != 0 {
				t.Errorf("dates: %d %d %d", tok.CreationDate, tok.LastModified, tok.LastUsed)
			}
			if tok.Role != tt.role || (len(tok.CustomRoleIDs) > 0) != tt.custom || (len(tok.InlineRole) > 0) != tt.inline {
				t.Errorf("policy: role %q custom %v inline %v", tok.Role, tok.CustomRoleIDs, tok.InlineRole)
			}
			if tt.custom && !slices.Equal(tok.CustomRoleIDs, []string{roleID}) {
				t.Errorf("customRoleIds %v, want [%s]", tok.CustomRoleIDs, roleID)
			}
			if tok.CustomRoleIDs == nil || tok.InlineRole == nil {
				t.Errorf("nil slices: %#v %#v", tok.CustomRoleIDs, tok.InlineRole)
			}
			if tok.DefaultAPIVersion != tt.version || tok.ServiceToken != post.ServiceToken || tok.Name != post.Name {
				t.Errorf("got %+v", tok)
			}
			if len(post.InlineRole) > 0 {
				post.InlineRole[0].Actions[0] = "changed" // the result must not alias the request
				if tok.InlineRole[0].Actions[0] != "*" {
					t.Error("result aliases the request")
				}
			}
			got, err := st.GetToken(t.Context(), tok.ID)
			want := tok
			want.Token = tok.Token[len(tok.Token)-4:]
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetToken = %+v, %v; want %+v", got, err, want)
			}
			tkAuth(t, st, tok.Token, tok.ID)
		})
	}
}

func TestToken_CreateInvalid(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	roleID := tkMustRole(t, st, "ops")
	tests := []struct {
		name   string
		member string
		post   TokenPost
		attr   string // "" with notFound
	}{
		{"no member", "", TokenPost{}, ""},
		{"owner role", member, TokenPost{Role: RoleOwner}, "role"},
		{"unknown role", member, TokenPost{Role: "boss"}, "role"},
		{"role and custom", member, TokenPost{Role: RoleReader, CustomRoleIDs: []string{roleID}}, "role"},
		{"custom and inline", member, TokenPost{CustomRoleIDs: []string{roleID},
			InlineRole: []Statement{{Effect: "allow", Resources: []string{"proj/*"}, Actions: []string{"*"}}}}, "role"},
		{"unknown custom role", member, TokenPost{CustomRoleIDs: []string{"000000000000000000000fff"}}, "customRoleIds"},
		{"custom role twice", member, TokenPost{CustomRoleIDs: []string{roleID, roleID}}, "customRoleIds"},
		{"bad statement", member, TokenPost{InlineRole: []Statement{{Effect: "maybe", Resources: []string{"proj/*"}, Actions: []string{"*"}}}}, "inlineRole[0]"},
		{"bad version", member, TokenPost{DefaultAPIVersion: 20230101}, "defaultApiVersion"},
		{"bad name", member, TokenPost{Name: "\xff"}, "name"},
		{"long description", member, TokenPost{Description: strings.Repeat("x", 5000)}, "description"},
		{"unknown member", "000000000000000000000eee", TokenPost{}, ""},
	}
	rev := tstRevision(t, st)
	for _, tt := range tests {
		_, err := st.CreateToken(t.Context(), tt.member, tt.post)
		if tt.attr == "" {
			tstNotFound(t, err)
		} else {
			tstInvalid(t, err, tt.attr)
		}
	}
	if got := tstRevision(t, st); got != rev {
		t.Errorf("a refused create wrote something: revision %d → %d", rev, got)
	}
	if _, err := st.CreateToken(WithDryRun(t.Context()), member, TokenPost{}); err != nil {
		t.Fatal(err)
	}
	if got := tstRevision(t, st); got != rev {
		t.Errorf("a dry run wrote something")
	}
}

func TestToken_List(t *testing.T) {
	t.Parallel()
	st, clock := tkStore(t)
	ann, bob := tkMustMember(t, st, "ann@example.com"), tkMustMember(t, st, "bob@example.com")
	var ann1, svc1, bob1, ann2, svc2 Token
	for _, p := range []struct {
		tok    *Token
		member string
		svc    bool
	}{{&ann1, ann, false}, {&svc1, ann, true}, {&bob1, bob, false}, {&ann2, ann, false}, {&svc2, bob, true}} {
		clock.Advance(time.Second)
		*p.tok = tkMustToken(t, st, p.member, TokenPost{ServiceToken: p.svc})
	}
	ids := func(ts ...Token) []string {
		out := []string{}
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	tests := []struct {
		name  string
		o     TokenListOptions
		want  []string
		total int
	}{
		{"all", TokenListOptions{}, ids(ann1, svc1, bob1, ann2, svc2), 5},
		{"page", TokenListOptions{Limit: 2, Offset: 1}, ids(svc1, bob1), 5},
		{"past the end", TokenListOptions{Offset: 9}, ids(), 5},
		{"service", TokenListOptions{ServiceOnly: true}, ids(svc1, svc2), 2},
		{"personal", TokenListOptions{PersonalOnly: true}, ids(ann1, bob1, ann2), 3},
		{"ann's", TokenListOptions{MemberID: ann, PersonalOnly: true}, ids(ann1, ann2), 2},
		{"ann sees", TokenListOptions{MemberID: ann}, ids(ann1, svc1, ann2, svc2), 4},
		{"ann sees, paged", TokenListOptions{MemberID: ann, Limit: 2, Offset: 1}, ids(svc1, ann2), 4},
		{"bob sees", TokenListOptions{MemberID: bob}, ids(svc1, bob1, svc2), 3},
		{"nobody's", TokenListOptions{MemberID: "000000000000000000000eee", PersonalOnly: true}, ids(), 0},
	}
	for _, tt := range tests {
		l, err := st.ListTokens(t.Context(), tt.o)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got := ids(l.Items...); !slices.Equal(got, tt.want) || l.TotalCount != tt.total {
			t.Errorf("%s: got %v (%d), want %v (%d)", tt.name, got, l.TotalCount, tt.want, tt.total)
		}
		for _, it := range l.Items {
			if len(it.Token) != 4 || it.Member == nil {
				t.Errorf("%s: item %+v", tt.name, it)
			}
		}
	}
	for _, o := range []TokenListOptions{{Limit: -1}, {Offset: -1}, {ServiceOnly: true, PersonalOnly: true},
		{ServiceOnly: true, MemberID: ann}, {MemberID: "a/b"}} {
		_, err := st.ListTokens(t.Context(), o)
		tstInvalid(t, err, "")
	}
	l, err := st.ListTokens(t.Context(), TokenListOptions{})
	if err != nil || len(l.Items) != 5 {
		t.Fatal(err)
	}
}

func TestToken_Patch(t *testing.T) {
	t.Parallel()
	type check func(t *testing.T, before, after Token)
	tests := []struct {
		name    string
		ops     string
		actions []string
		check   check
	}{
		{"name", `[{"op":"replace","path":"/name","value":"deploy"}]`, []string{"updateAccessTokenName"},
			func(t *testing.T, _, a Token) {
				if a.Name != "deploy" {
					t.Errorf("name %q", a.Name)
				}
			}},
		{"description", `[{"op":"replace","path":"/description","value":"for CI"}]`, []string{"updateAccessTokenDescription"}, nil},
		{"role", `[{"op":"replace","path":"/role","value":"writer"}]`, []string{"updateAccessTokenPolicy"},
			func(t *testing.T, _, a Token) {
				if a.Role != RoleWriter {
					t.Errorf("role %q", a.Role)
				}
			}},
		{"to inline role", `[{"op":"remove","path":"/role"},{"op":"add","path":"/inlineRole/-","value":{"effect":"allow","resources":["proj/*"],"actions":["viewProject"]}}]`,
			[]string{"updateAccessTokenPolicy"}, nil},
		{"version", `[{"op":"replace","path":"/defaultApiVersion","value":20210729}]`, []string{"updateAccessTokenPolicy"}, nil},
		{"name and role", `[{"op":"replace","path":"/name","value":"x"},{"op":"replace","path":"/role","value":"admin"}]`,
			[]string{"updateAccessTokenName", "updateAccessTokenPolicy"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tkStore(t)
			member := tkMustMember(t, st, "ann@example.com")
			tok := tkMustToken(t, st, member, TokenPost{Name: "ci"})
			clock.Advance(time.Minute)
			before, _ := st.GetToken(t.Context(), tok.ID)
			after, err := st.PatchToken(WithComment(t.Context(), "why"), tok.ID, Patch{Kind: JSONPatch, Ops: json.RawMessage(tt.ops)})
			if err != nil {
				t.Fatal(err)
			}
			if after.LastModified != clock.Millis() || after.CreationDate != before.CreationDate || after.Token != before.Token || after.Member == nil {
				t.Errorf("after = %+v", after)
			}
			if tt.check != nil {
				tt.check(t, before, after)
			}
			if got, _ := st.GetToken(t.Context(), tok.ID); !reflect.DeepEqual(got, after) {
				t.Errorf("stored %+v, returned %+v", got, after)
			}
			e := tkAudit(t, st)[0]
			var acts []string
			for _, a := range e.Accesses {
				acts = append(acts, a.Action)
				if a.Resource != "member/"+member+":token/"+tok.ID {
					t.Errorf("resource %q", a.Resource)
				}
			}
			if !slices.Equal(acts, tt.actions) || e.Comment != "why" || len(e.Delta) == 0 {
				t.Errorf("entry actions %v comment %q delta %s", acts, e.Comment, e.Delta)
			}
		})
	}
}

func TestToken_PatchRefused(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	tok := tkMustToken(t, st, member, TokenPost{Name: "ci"})
	tests := []struct {
		name     string
		p        Patch
		sentinel error
		attr     string
	}{
		{"id", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/_id","value":"x"}]`)}, ErrInvalid, "patch"},
		{"member", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/memberId","value":"x"}]`)}, ErrInvalid, "memberId"},
		{"owner", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/ownerId","value":"x"}]`)}, ErrInvalid, "ownerId"},
		{"service", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/serviceToken","value":true}]`)}, ErrInvalid, "serviceToken"},
		{"secret", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/token","value":"abcd"}]`)}, ErrInvalid, "token"},
		{"created", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/creationDate","value":1}]`)}, ErrInvalid, "creationDate"},
		{"modified", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/lastModified","value":1}]`)}, ErrInvalid, "lastModified"},
		{"used", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"add","path":"/lastUsed","value":1}]`)}, ErrInvalid, "lastUsed"},
		{"two policies", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"add","path":"/customRoleIds/-","value":"x"}]`)}, ErrInvalid, "role"},
		{"no policy", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"remove","path":"/role"}]`)}, ErrInvalid, "role"},
		{"unknown role", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"remove","path":"/role"},{"op":"add","path":"/customRoleIds/-","value":"000000000000000000000fff"}]`)}, ErrInvalid, "customRoleIds"},
		{"bad version", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/defaultApiVersion","value":1}]`)}, ErrInvalid, "defaultApiVersion"},
		{"unknown field", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"add","path":"/bogus","value":1}]`)}, ErrInvalid, ""},
		{"merge", Patch{Kind: MergePatch, Merge: json.RawMessage(`{"name":"x"}`)}, ErrInvalid, ""},
		{"semantic", Patch{Kind: SemanticPatch, Instructions: []Instruction{{Kind: "updateName"}}}, ErrInvalid, ""},
		{"missing path", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"remove","path":"/nope/0"}]`)}, ErrPatchFailed, ""},
		{"failed test", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"test","path":"/name","value":"other"}]`)}, ErrConflict, ""},
	}
	rev := tstRevision(t, st)
	for _, tt := range tests {
		_, err := st.PatchToken(t.Context(), tok.ID, tt.p)
		if !errors.Is(err, tt.sentinel) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.sentinel)
			continue
		}
		if tt.sentinel == ErrInvalid {
			tstInvalid(t, err, tt.attr)
		}
	}
	if got := tstRevision(t, st); got != rev {
		t.Errorf("a refused patch wrote something")
	}
	_, err := st.PatchToken(t.Context(), "000000000000000000000eee", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[]`)})
	tstNotFound(t, err)
	n := len(tkAudit(t, st))
	if _, err := st.UpdateToken(t.Context(), tok.ID, func(*Token) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if tstRevision(t, st) != rev || len(tkAudit(t, st)) != n {
		t.Error("a no-op update wrote something")
	}
}

func TestToken_Delete(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	tok := tkMustToken(t, st, member, TokenPost{Name: "ci"})
	other := tkMustToken(t, st, member, TokenPost{Name: "keep", ServiceToken: true})
	old := tok.Token
	reset, err := st.ResetToken(t.Context(), tok.ID, tstEpoch.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteToken(t.Context(), tok.ID); err != nil {
		t.Fatal(err)
	}
	tkUnauthorized(t, st, old)
	tkUnauthorized(t, st, reset.Token)
	_, err = st.GetToken(t.Context(), tok.ID)
	tstNotFound(t, err)
	tstNotFound(t, st.DeleteToken(t.Context(), tok.ID))
	for _, prefix := range []string{"th/", "tk/", "x/tk/", "n/tk/"} {
		for _, k := range tstRawKeys(t, st, prefix) {
			if strings.Contains(k, tok.ID) || prefix == "th/" && k != tokenHashKey(hashSecret(other.Token)) {
				t.Errorf("left behind: %q", k)
			}
		}
	}
	if keys := tstRawKeys(t, st, "tkm/"); len(keys) != 0 {
		t.Errorf("left behind: %v", keys)
	}
	e := tkAudit(t, st)[0]
	if e.Accesses[0] != (Access{Action: "deleteAccessToken", Resource: "member/" + member + ":token/" + tok.ID}) || e.CurrentVersion != nil {
		t.Errorf("entry %+v", e)
	}
	tkAuth(t, st, other.Token, other.ID)
}

func TestToken_Reset(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		grace time.Duration // 0: none
	}{{"at once", 0}, {"with expiry", time.Hour}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, clock := tkStore(t)
			member := tkMustMember(t, st, "ann@example.com")
			tok := tkMustToken(t, st, member, TokenPost{ServiceToken: true})
			clock.Advance(time.Minute)
			var expiry time.Time
			if tt.grace > 0 {
				expiry = clock.Now().Add(tt.grace)
			}
			got, err := st.ResetToken(t.Context(), tok.ID, expiry)
			if err != nil {
				t.Fatal(err)
			}
			tstCheckPrefixedUUID(t, "new secret", got.Token, "api-")
			if got.Token == tok.Token || got.LastModified != clock.Millis() || got.CreationDate != tok.CreationDate {
				t.Errorf("reset = %+v", got)
			}
			tkAuth(t, st, got.Token, tok.ID)
			if stored, _ := st.GetToken(t.Context(), tok.ID); stored.Token != got.Token[len(got.Token)-4:] {
				t.Errorf("stored ending %q", stored.Token)
			}
			if tt.grace == 0 {
				tkUnauthorized(t, st, tok.Token)
			} else {
				tkAuth(t, st, tok.Token, tok.ID)
				clock.Advance(tt.grace - time.Millisecond)
				tkAuth(t, st, tok.Token, tok.ID)
				clock.Advance(time.Millisecond)
				tkUnauthorized(t, st, tok.Token)
				tkAuth(t, st, got.Token, tok.ID)
				// The next reset prunes the expired secret's key.
				if _, err := st.ResetToken(t.Context(), tok.ID, time.Time{}); err != nil {
					t.Fatal(err)
				}
				if keys := tstRawKeys(t, st, "th/"); len(keys) != 1 {
					t.Errorf("hash keys %v", keys)
				}
			}
			e := tkAudit(t, st)[0]
			if e.Accesses[0] != (Access{Action: "resetAccessToken", Resource: "service-token/" + tok.ID}) {
				t.Errorf("accesses %+v", e.Accesses)
			}
		})
	}
	st, clock := tkStore(t)
	tok := tkMustToken(t, st, tkMustMember(t, st, "a@example.com"), TokenPost{})
	rev := tstRevision(t, st)
	for _, exp := range []time.Time{clock.Now(), clock.Now().Add(-time.Hour)} {
		_, err := st.ResetToken(t.Context(), tok.ID, exp)
		tstInvalid(t, err, "expiry")
	}
	_, err := st.ResetToken(t.Context(), "000000000000000000000eee", time.Time{})
	tstNotFound(t, err)
	if tstRevision(t, st) != rev {
		t.Error("a refused reset wrote something")
	}
	tkAuth(t, st, tok.Token, tok.ID)
}

// No full secret is readable anywhere after the call that returned it.
func TestToken_SecretsNeverStored(t *testing.T) {
	t.Parallel()
	st, clock := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	a := tkMustToken(t, st, member, TokenPost{Name: "a"})
	b := tkMustToken(t, st, member, TokenPost{Name: "b", ServiceToken: true})
	clock.Advance(time.Second)
	b2, err := st.ResetToken(t.Context(), b.ID, clock.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, err := st.PatchToken(t.Context(), a.ID, Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/role","value":"writer"}]`)}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	st.touchToken(a.ID, clock.Millis())
	st.flushTokenTouches()
	clock.Advance(time.Second)
	c := tkMustToken(t, st, member, TokenPost{Name: "c"})
	clock.Advance(time.Second)
	if err := st.DeleteToken(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	secrets := []string{a.Token, b.Token, b2.Token, c.Token}
	var texts []string
	for _, id := range []string{a.ID, b.ID} {
		tok, err := st.GetToken(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, tkJSON(t, tok))
	}
	l, err := st.ListTokens(t.Context(), TokenListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, tkJSON(t, l))
	entries := tkTokenAudit(t, st)
	if len(entries) != 6 { // 3 creates, reset, patch, delete
		t.Errorf("%d audit entries, want 6", len(entries))
	}
	texts = append(texts, tkJSON(t, tkAudit(t, st)))
	saved := tstSave(t, st)
	texts = append(texts, string(saved))
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) || strings.Contains(text, strings.TrimPrefix(s, "api-")) {
				t.Fatalf("secret %s found in %.300s", s, text)
			}
		}
	}
	if !bytes.Contains(saved, []byte(hashSecret(b2.Token))) {
		t.Error("the saved store does not hold the secret's hash")
	}
	// A restored store still knows the tokens.
	st2, _ := tkStore(t)
	if err := st2.Load(t.Context(), bytes.NewReader(saved)); err != nil {
		t.Fatal(err)
	}
	tkAuth(t, st2, b.Token, b.ID)
	tkAuth(t, st2, b2.Token, b.ID)
}

func TestToken_BySecretUnknown(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	tok := tkMustToken(t, st, tkMustMember(t, st, "ann@example.com"), TokenPost{})
	for _, s := range []string{
		"", "api-", "api-00000000-0000-4000-8000-000000000000", strings.ToUpper(tok.Token), tok.Token + " ",
		" " + tok.Token, strings.TrimPrefix(tok.Token, "api-"), hashSecret(tok.Token), "th/" + hashSecret(tok.Token),
		tok.ID, strings.Repeat("x", 10_000),
	} {
		tkUnauthorized(t, st, s)
	}
	tkAuth(t, st, tok.Token, tok.ID)
}

func TestToken_LastUsed(t *testing.T) {
	t.Parallel()
	st, clock := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	tok := tkMustToken(t, st, member, TokenPost{})
	gone := tkMustToken(t, st, member, TokenPost{})
	if err := st.DeleteToken(t.Context(), gone.ID); err != nil {
		t.Fatal(err)
	}
	rev, entries := tstRevision(t, st), len(tkAudit(t, st))
	start := clock.Millis()
	steps := []struct {
		advance time.Duration
		want    int64 // lastUsed after a touch and a flush
	}{
		{0, start},
		{30 * time.Second, start},
		{29 * time.Second, start},
		{time.Second, start + 60_000},
		{59 * time.Second, start + 60_000},
		{10 * time.Minute, start + 719_000},
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		for range 3 {
			st.touchToken(tok.ID, clock.Millis())
		}
		st.touchToken(gone.ID, clock.Millis())
		st.flushTokenTouches()
		got, err := st.GetToken(t.Context(), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsed != s.want || got.LastModified != tok.LastModified {
			t.Errorf("step %d: lastUsed %d (want %d), lastModified %d", i, got.LastUsed, s.want, got.LastModified)
		}
		if by := tkAuth(t, st, tok.Token, tok.ID); by.LastUsed != s.want {
			t.Errorf("step %d: tokenBySecret lastUsed %d", i, by.LastUsed)
		}
	}
	if n := len(tkAudit(t, st)); n != entries {
		t.Errorf("touches wrote %d audit entries", n-entries)
	}
	if tstRevision(t, st) != rev+3 {
		t.Errorf("touches made %d commits, want 3", tstRevision(t, st)-rev)
	}
	// After closeTokens, touches are ignored.
	st.closeTokens()
	clock.Advance(time.Hour)
	st.touchToken(tok.ID, clock.Millis())
	st.flushTokenTouches()
	if got, _ := st.GetToken(t.Context(), tok.ID); got.LastUsed != steps[len(steps)-1].want {
		t.Errorf("a touch after close was recorded")
	}
}

// The background writer records touches without a flush.
func TestToken_LastUsedBackground(t *testing.T) {
	t.Parallel()
	st, clock := tkStore(t)
	tok := tkMustToken(t, st, tkMustMember(t, st, "ann@example.com"), TokenPost{})
	st.touchToken(tok.ID, clock.Millis())
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := st.GetToken(t.Context(), tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsed == clock.Millis() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("lastUsed was never written")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestToken_ConcurrentUse(t *testing.T) {
	t.Parallel()
	st, clock := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	var toks []Token
	for range 4 {
		toks = append(toks, tkMustToken(t, st, member, TokenPost{}))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tok := toks[(g+i)%len(toks)]
				if _, err := st.tokenBySecret(context.Background(), tok.Token); err != nil {
					t.Error(err)
					return
				}
				st.touchToken(tok.ID, clock.Millis())
				if i%10 == 0 {
					clock.Advance(time.Minute)
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := st.UpdateToken(context.Background(), toks[0].ID, func(t *Token) error {
				t.Description += "x"
				return nil
			}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	st.flushTokenTouches()
	got, err := st.GetToken(t.Context(), toks[0].ID)
	if err != nil || len(got.Description) != 20 || got.LastUsed == 0 {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestToken_DeleteMemberTokens(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	ann, bob := tkMustMember(t, st, "ann@example.com"), tkMustMember(t, st, "bob@example.com")
	a1 := tkMustToken(t, st, ann, TokenPost{})
	a2 := tkMustToken(t, st, ann, TokenPost{})
	if _, err := st.ResetToken(t.Context(), a2.ID, tstEpoch.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	svc := tkMustToken(t, st, ann, TokenPost{ServiceToken: true})
	b1 := tkMustToken(t, st, bob, TokenPost{})
	n := len(tkAudit(t, st))
	if err := st.DeleteMember(t.Context(), ann); err != nil { // calls deleteMemberTokens
		t.Fatal(err)
	}
	if entries := tkAudit(t, st); len(entries) != n+1 || entries[0].Kind != "member" {
		t.Errorf("deleting a member with tokens recorded %d entries, newest %q", len(entries)-n, entries[0].Kind)
	}
	tkUnauthorized(t, st, a1.Token)
	tkUnauthorized(t, st, a2.Token)
	tkAuth(t, st, svc.Token, svc.ID)
	tkAuth(t, st, b1.Token, b1.ID)
	l, err := st.ListTokens(t.Context(), TokenListOptions{})
	if err != nil || l.TotalCount != 2 || len(l.Items) != 2 {
		t.Errorf("left %+v, %v", l, err)
	}
	if keys := tstRawKeys(t, st, "th/"); len(keys) != 2 {
		t.Errorf("hash keys left: %v", keys)
	}
	if keys := tstRawKeys(t, st, memberTokenPrefix(ann)); len(keys) != 0 {
		t.Errorf("member keys left: %v", keys)
	}
}

func TestToken_AuditShape(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	p := tkMustToken(t, st, member, TokenPost{Name: "mine"})
	s := tkMustToken(t, st, member, TokenPost{ServiceToken: true})
	entries := tkAudit(t, st)
	for i, c := range []struct {
		tok      Token
		resource string
		parent   bool
	}{{s, "service-token/" + s.ID, false}, {p, "member/" + member + ":token/" + p.ID, true}} {
		e := entries[i]
		if e.Kind != "token" || e.Accesses[0] != (Access{Action: "createAccessToken", Resource: c.resource}) ||
			e.PreviousVersion != nil || len(e.CurrentVersion) == 0 || (e.Parent != nil) != c.parent {
			t.Errorf("entry %d: %+v", i, e)
		}
		var snap Token
		if err := json.Unmarshal(e.CurrentVersion, &snap); err != nil || snap.ID != c.tok.ID || len(snap.Token) != 4 || snap.Member != nil {
			t.Errorf("entry %d snapshot %s: %v", i, e.CurrentVersion, err)
		}
	}
	if want := "The host application created the token " + s.ID; entries[0].Title != want {
		t.Errorf("title %q, want %q", entries[0].Title, want)
	}
}

// BenchmarkTokenBySecret measures authentication's lookup.
func BenchmarkTokenBySecret(b *testing.B) {
	st, _ := tkStore(b)
	member := tkMustMember(b, st, "ann@example.com")
	var secrets []string
	for i := range 100 {
		tok := tkMustToken(b, st, member, TokenPost{Name: fmt.Sprint("t", i),
			InlineRole: []Statement{{Effect: "allow", Resources: []string{"proj/*:env/*:flag/*"}, Actions: []string{"*"}}}})
		secrets = append(secrets, tok.Token)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := st.tokenBySecret(ctx, secrets[i%len(secrets)]); err != nil {
			b.Fatal(err)
		}
	}
}

// A custom role cannot be deleted while a token holds it.
func TestToken_CustomRoleUses(t *testing.T) {
	t.Parallel()
	st, _ := tkStore(t)
	member := tkMustMember(t, st, "ann@example.com")
	ops, dev := tkMustRole(t, st, "ops"), tkMustRole(t, st, "dev")
	tok := tkMustToken(t, st, member, TokenPost{CustomRoleIDs: []string{"ops"}})
	tstErr(t, st.DeleteCustomRole(t.Context(), "ops"), ErrConflict, 409, CodeConflict)
	got, err := st.UpdateToken(t.Context(), tok.ID, func(tk *Token) error {
		tk.CustomRoleIDs = []string{"dev", ops} // a key and an _id
		return nil
	})
	if err != nil || !slices.Equal(got.CustomRoleIDs, []string{dev, ops}) {
		t.Fatalf("got %v, %v", got.CustomRoleIDs, err)
	}
	if e := tkTokenAudit(t, st)[0]; e.Accesses[0].Action != "updateAccessTokenPolicy" {
		t.Errorf("accesses %+v", e.Accesses)
	}
	got, err = st.UpdateToken(t.Context(), tok.ID, func(tk *Token) error {
		tk.CustomRoleIDs = []string{dev}
		return nil
	})
	if err != nil || !slices.Equal(got.CustomRoleIDs, []string{dev}) {
		t.Fatalf("got %v, %v", got.CustomRoleIDs, err)
	}
	if err := st.DeleteCustomRole(t.Context(), "ops"); err != nil {
		t.Fatalf("ops is no longer used: %v", err)
	}
	tstErr(t, st.DeleteCustomRole(t.Context(), "dev"), ErrConflict, 409, CodeConflict)
	if err := st.DeleteToken(t.Context(), tok.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCustomRole(t.Context(), "dev"); err != nil {
		t.Fatalf("dev is no longer used: %v", err)
	}
}
