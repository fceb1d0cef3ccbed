package flagstore

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// mwOrigin is the host application's origin in the session tests.
const mwOrigin = "https://flags.example.com"

// mwSessionCookie is the host's session cookie: its value is the member id.
const mwSessionCookie = "mw_session"

// mwSessions is a SessionAuth whose sessions are mwSessionCookie cookies.
func mwSessions(origin string) SessionAuth {
	return SessionAuth{Origin: origin, Member: func(r *http.Request) (string, bool) {
		c, err := r.Cookie(mwSessionCookie)
		if err != nil || c.Value == "" {
			return "", false
		}
		return c.Value, true
	}}
}

// mwAuthFixture is a store with the admin token, a service token, a reader
// member with a personal token, a deleted token, and the project "shop".
type mwAuthFixture struct {
	st                         *Store
	owner, reader              Member
	admin, service, readerTok  Token
	deletedSecret, resetSecret string
	env                        Environment
}

func mwNewAuthFixture(t *testing.T, st *Store) *mwAuthFixture {
	t.Helper()
	ctx := t.Context()
	f := &mwAuthFixture{st: st}
	var err error
	if f.admin, err = st.EnsureAdminToken(ctx, htAdminSecret); err != nil {
		t.Fatal(err)
	}
	f.admin.Token = htAdminSecret
	if f.owner, err = st.Owner(ctx); err != nil {
		t.Fatal(err)
	}
	members, err := st.InviteMembers(ctx, []MemberInvite{{Email: "reader@example.com", Role: RoleReader}})
	if err != nil {
		t.Fatal(err)
	}
	f.reader = members[0]
	if f.service, err = st.CreateToken(ctx, f.owner.ID, TokenPost{Name: "svc", Role: RoleWriter, ServiceToken: true}); err != nil {
		t.Fatal(err)
	}
	if f.readerTok, err = st.CreateToken(ctx, f.reader.ID, TokenPost{Name: "reader's", Role: RoleReader}); err != nil {
		t.Fatal(err)
	}
	gone, err := st.CreateToken(ctx, f.owner.ID, TokenPost{Name: "gone", Role: RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteToken(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	f.deletedSecret = gone.Token
	reset, err := st.CreateToken(ctx, f.owner.ID, TokenPost{Name: "reset", Role: RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ResetToken(ctx, reset.ID, time.Time{}); err != nil {
		t.Fatal(err)
	}
	f.resetSecret = reset.Token
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	f.env = tstMustEnv(t, st, "shop", "production")
	return f
}

func TestHTTPAuth_Authenticate(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	f := mwNewAuthFixture(t, st)
	sessions := mwSessions(mwOrigin)
	cases := []struct {
		name     string
		sessions *SessionAuth
		auth     string
		cookie   string // session member id
		origin   string
		kind     PrincipalKind // "": 401
		tokenID  string
		memberID string
	}{
		{"no credentials", nil, "", "", "", "", "", ""},
		{"no credentials, sessions on", &sessions, "", "", mwOrigin, "", "", ""},
		{"raw token", nil, htAdminSecret, "", "", PrincipalPersonalToken, f.admin.ID, f.owner.ID},
		{"Bearer (G1)", nil, "Bearer " + htAdminSecret, "", "", PrincipalPersonalToken, f.admin.ID, f.owner.ID},
		{"bearer lower case", nil, "bearer " + htAdminSecret, "", "", PrincipalPersonalToken, f.admin.ID, f.owner.ID},
		{"BEARER upper case", nil, "BEARER " + htAdminSecret, "", "", PrincipalPersonalToken, f.admin.ID, f.owner.ID},
		{"BeArEr, two spaces", nil, "BeArEr  " + htAdminSecret, "", "", PrincipalPersonalToken, f.admin.ID, f.owner.ID},
		{"service token", nil, f.service.Token, "", "", PrincipalServiceToken, f.service.ID, f.owner.ID},
		{"reader's token", nil, "Bearer " + f.readerTok.Token, "", "", PrincipalPersonalToken, f.readerTok.ID, f.reader.ID},
		{"token needs no Origin check", nil, f.service.Token, "", "https://evil.example", PrincipalServiceToken, f.service.ID, f.owner.ID},
		{"unknown token", nil, "api-00000000-0000-4000-8000-00000000dead", "", "", "", "", ""},
		{"garbage", nil, "not a token at all", "", "", "", "", ""},
		{"Bearer alone", nil, "Bearer", "", "", "", "", ""},
		{"Bearer and space", nil, "Bearer ", "", "", "", "", ""},
		{"Basic scheme", nil, "Basic " + htAdminSecret, "", "", "", "", ""},
		{"token with a suffix", nil, htAdminSecret + "x", "", "", "", "", ""},
		{"deleted token", nil, f.deletedSecret, "", "", "", "", ""},
		{"reset token's old secret", nil, f.resetSecret, "", "", "", "", ""},
		{"SDK key", nil, f.env.APIKey, "", "", "", "", ""},
		{"SDK key as Bearer", nil, "Bearer " + f.env.APIKey, "", "", "", "", ""},
		{"mobile key", nil, f.env.MobileKey, "", "", "", "", ""},
		{"client-side ID", nil, f.env.ID, "", "", "", "", ""},
		{"session, exact Origin", &sessions, "", f.reader.ID, mwOrigin, PrincipalMember, "", f.reader.ID},
		{"session, no Origin", &sessions, "", f.reader.ID, "", "", "", ""},
		{"session, other Origin", &sessions, "", f.reader.ID, "https://evil.example", "", "", ""},
		{"session, Origin with a slash", &sessions, "", f.reader.ID, mwOrigin + "/", "", "", ""},
		{"session, Origin over http", &sessions, "", f.reader.ID, "http://flags.example.com", "", "", ""},
		{"session, Origin with a port", &sessions, "", f.reader.ID, mwOrigin + ":443", "", "", ""},
		{"session, null Origin", &sessions, "", f.reader.ID, "null", "", "", ""},
		{"session of an unknown member", &sessions, "", "000000000000000000000bad", mwOrigin, "", "", ""},
		{"session while sessions are off", nil, "", f.reader.ID, mwOrigin, "", "", ""},
		{"session without a configured Origin", &SessionAuth{Member: sessions.Member}, "", f.reader.ID, "", "", "", ""},
		{"Authorization wins over session", &sessions, f.service.Token, f.reader.ID, mwOrigin, PrincipalServiceToken, f.service.ID, f.owner.ID},
		{"bad Authorization, no fallback to session", &sessions, "api-wrong", f.reader.ID, mwOrigin, "", "", ""},
		{"SDK key, no fallback to session", &sessions, f.env.APIKey, f.reader.ID, mwOrigin, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := &api{s: st, cfg: handlerConfig{sessions: tc.sessions}}
			var got *Principal
			h := a.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p, ok := PrincipalFrom(r.Context())
				if !ok {
					t.Error("authenticated request has no principal")
				}
				got = &p
				w.WriteHeader(http.StatusNoContent)
			}))
			req := httptest.NewRequest(http.MethodGet, "/api/v2/versions", nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			if tc.cookie != "" {
				req.AddCookie(&http.Cookie{Name: mwSessionCookie, Value: tc.cookie})
			}
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if tc.kind == "" {
				if got != nil {
					t.Errorf("authenticated as %+v, want 401", *got)
				}
				mwRecError(t, rec, http.StatusUnauthorized, CodeUnauthorized)
				return
			}
			if rec.Code != http.StatusNoContent || got == nil {
				t.Fatalf("status %d, body %s; want authenticated", rec.Code, rec.Body)
			}
			if got.Kind != tc.kind || got.TokenID != tc.tokenID || got.MemberID != tc.memberID {
				t.Errorf("principal %s token %q member %q, want %s token %q member %q",
					got.Kind, got.TokenID, got.MemberID, tc.kind, tc.tokenID, tc.memberID)
			}
		})
	}
}

// mwAuthRoutes are test-only routes: POST /mwtest/projects creates a
// project as the caller (a write a reader may not make), and GET
// /mwtest/whoami reports the caller.
func mwAuthRoutes(a *api) []*route {
	return []*route{
		{method: http.MethodPost, path: "/mwtest/projects", operationID: "mwPostProject", handle: func(w http.ResponseWriter, r *http.Request) error {
			var body ProjectPost
			if err := decodeBody(r, &body); err != nil {
				return err
			}
			p, err := a.s.CreateProject(r.Context(), body)
			if err != nil {
				return err
			}
			return writeJSON(w, http.StatusCreated, map[string]string{"key": p.Key})
		}},
		{method: http.MethodGet, path: "/mwtest/whoami", operationID: "mwWhoAmI", handle: func(w http.ResponseWriter, r *http.Request) error {
			p, _ := PrincipalFrom(r.Context())
			return writeJSON(w, http.StatusOK, map[string]string{"kind": string(p.Kind), "tokenId": p.TokenID, "memberId": p.MemberID})
		}},
	}
}

func TestHTTPAuth_ThroughHandler(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	f := mwNewAuthFixture(t, st)
	srv := httptest.NewServer(mwHandler(st, mwAuthRoutes, WithSessions(mwSessions(mwOrigin))))
	t.Cleanup(srv.Close)
	e := &htEnv{t: t, st: st, srv: srv}
	session := func(memberID, origin string) http.Header {
		h := http.Header{"Cookie": {mwSessionCookie + "=" + memberID}}
		if origin != "" {
			h.Set("Origin", origin)
		}
		return h
	}
	project := func(key string) string { return `{"key":"` + key + `","name":"` + key + `"}` }
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string // of an error body
		kind   PrincipalKind
	}{
		{"no credentials", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"bad token", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "api-wrong"}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"SDK key", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: f.env.APIKey}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"mobile key", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: f.env.MobileKey}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"raw token", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami"}, http.StatusOK, "", PrincipalPersonalToken},
		{"Bearer token (G1)", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "Bearer " + f.service.Token}, http.StatusOK, "", PrincipalServiceToken},
		{"bearer token", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "bearer " + htAdminSecret}, http.StatusOK, "", PrincipalPersonalToken},
		{"session, exact Origin", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "-", Header: session(f.reader.ID, mwOrigin)}, http.StatusOK, "", PrincipalMember},
		{"session, no Origin", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "-", Header: session(f.reader.ID, "")}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"session, wrong Origin", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "-", Header: session(f.reader.ID, "https://evil.example")}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"token wins over session", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: f.service.Token, Header: session(f.reader.ID, mwOrigin)}, http.StatusOK, "", PrincipalServiceToken},
		{"bad token, valid session", htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/whoami", Auth: "api-wrong", Header: session(f.reader.ID, mwOrigin)}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"public route needs nothing", htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "api-wrong"}, http.StatusOK, "", ""},
		// G9: a good identity without permission is 403 for a token, 401
		// for a session.
		{"reader token may not write (G9)", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/projects", Auth: f.readerTok.Token, Body: project("p1")}, http.StatusForbidden, CodeForbidden, ""},
		{"reader session may not write (G9)", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/projects", Auth: "-", Body: project("p2"), Header: session(f.reader.ID, mwOrigin)}, http.StatusUnauthorized, CodeUnauthorized, ""},
		{"owner session may write", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/projects", Auth: "-", Body: project("p3"), Header: session(f.owner.ID, mwOrigin)}, http.StatusCreated, "", ""},
		{"writer service token may write", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/projects", Auth: f.service.Token, Body: project("p4")}, http.StatusCreated, "", ""},
		{"owner session from elsewhere", htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/projects", Auth: "-", Body: project("p5"), Header: session(f.owner.ID, "https://evil.example")}, http.StatusUnauthorized, CodeUnauthorized, ""},
	}
	t.Run("requests", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				resp, body := mwAs(e, t).do(tc.req)
				if tc.code != "" {
					mwError(t, resp.StatusCode, resp.Header, body, tc.status, tc.code)
					return
				}
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tc.status, body)
				}
				if tc.kind != "" {
					var who map[string]string
					if err := json.Unmarshal(body, &who); err != nil {
						t.Fatal(err)
					}
					if who["kind"] != string(tc.kind) {
						t.Errorf("caller %v, want a %s", who, tc.kind)
					}
				}
			})
		}
	})
	// The "requests" group has finished: the refused writes left nothing.
	for key, want := range map[string]bool{"p1": false, "p2": false, "p3": true, "p4": true, "p5": false} {
		if _, err := st.GetProject(t.Context(), key); (err == nil) != want {
			t.Errorf("project %s: exists %v, want %v", key, err == nil, want)
		}
	}

	t.Run("session gets the latest version", func(t *testing.T) {
		t.Parallel()
		var v struct {
			CurrentVersion int `json:"currentVersion"`
		}
		mwAs(e, t).json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-", Header: session(f.reader.ID, mwOrigin)}, http.StatusOK, &v)
		if v.CurrentVersion != LatestAPIVersion {
			t.Errorf("session version %d, want %d", v.CurrentVersion, LatestAPIVersion)
		}
	})

	t.Run("401 body", func(t *testing.T) {
		t.Parallel()
		resp, body := mwAs(e, t).do(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-"})
		m := mwError(t, resp.StatusCode, resp.Header, body, http.StatusUnauthorized, CodeUnauthorized)
		if msg, _ := m["message"].(string); !strings.HasPrefix(msg, "Invalid access token") {
			t.Errorf("401 message %q, want LaunchDarkly's \"Invalid access token\"", msg)
		}
	})
}
