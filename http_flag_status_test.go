package flagstore

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Fixtures of the HTTP flag status and expiring-target tests start with
// "hx".

// hxServer is htServer on a store with a manual clock, with flag "f" in
// project "shop".
func hxServer(t *testing.T) (*htEnv, *tstClock) {
	t.Helper()
	st, clock := tstStore(t)
	if _, err := st.EnsureAdminToken(t.Context(), htAdminSecret); err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	if _, err := st.CreateFlag(t.Context(), "shop", FlagPost{Key: "f", Name: "F"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(st.Handler())
	t.Cleanup(srv.Close)
	return &htEnv{t: t, st: st, srv: srv}, clock
}

// hxToken creates a token of the owner (with an inline role when sts are
// given, else with role) and returns its secret.
func hxToken(e *htEnv, role string, sts ...Statement) string {
	e.t.Helper()
	owner, err := e.st.Owner(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	tp := TokenPost{Name: "hx " + role, Role: role, InlineRole: sts}
	if len(sts) > 0 {
		tp.Role = ""
	}
	tok, err := e.st.CreateToken(e.t.Context(), owner.ID, tp)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok.Token
}

// hxLink checks one link of a representation.
func hxLink(t *testing.T, links map[string]Link, rel, href string) {
	t.Helper()
	if l := links[rel]; l.Href != href || l.Type != "application/json" {
		t.Fatalf("link %s = %+v, want %s", rel, l, href)
	}
}

type hxStatus struct {
	Name          string          `json:"name"`
	LastRequested *string         `json:"lastRequested"`
	Default       any             `json:"default"`
	Links         map[string]Link `json:"_links"`
}

func TestHTTPFlagStatus_Routes(t *testing.T) {
	t.Parallel()
	e, clock := hxServer(t)
	if _, err := e.st.CreateFlag(t.Context(), "shop", FlagPost{Key: "a", Name: "A"}); err != nil {
		t.Fatal(err)
	}
	var one hxStatus
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-statuses/shop/production/f"}, http.StatusOK, &one)
	if one.Name != FlagStatusNew || one.LastRequested != nil || one.Default != nil {
		t.Fatalf("new flag %+v", one)
	}
	hxLink(t, one.Links, "self", "/api/v2/flag-statuses/shop/production/f")
	hxLink(t, one.Links, "parent", "/api/v2/flags/shop/f")

	at := clock.Now().Add(-time.Minute).Add(512 * time.Millisecond)
	if err := e.st.RecordFlagRequests(t.Context(), "shop", "production", map[string]FlagRequest{
		"f": {LastRequested: at, Default: "off", Variations: []int{1}},
	}); err != nil {
		t.Fatal(err)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-statuses/shop/production/f"}, http.StatusOK, &one)
	if one.Name != FlagStatusActive || one.Default != "off" || one.LastRequested == nil {
		t.Fatalf("requested flag %+v", one)
	}
	if got, err := time.Parse(time.RFC3339, *one.LastRequested); err != nil || !got.Equal(at) {
		t.Fatalf("lastRequested %q (%v), want %s", *one.LastRequested, err, at.Format(time.RFC3339Nano))
	}

	var list struct {
		Items []hxStatus      `json:"items"`
		Links map[string]Link `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-statuses/shop/production"}, http.StatusOK, &list)
	if len(list.Items) != 2 || list.Items[0].Name != FlagStatusNew || list.Items[1].Name != FlagStatusActive {
		t.Fatalf("list %+v", list.Items)
	}
	hxLink(t, list.Links, "self", "/api/v2/flag-statuses/shop/production")
	hxLink(t, list.Items[0].Links, "self", "/api/v2/flag-statuses/shop/production/a")

	var across struct {
		Key          string              `json:"key"`
		Environments map[string]hxStatus `json:"environments"`
		Links        map[string]Link     `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-status/shop/f"}, http.StatusOK, &across)
	if across.Key != "f" || len(across.Environments) != 2 || across.Environments["production"].Name != FlagStatusActive ||
		across.Environments["test"].Name != FlagStatusNew || across.Environments["production"].Links != nil {
		t.Fatalf("across %+v", across)
	}
	hxLink(t, across.Links, "self", "/api/v2/flag-status/shop/f")
	hxLink(t, across.Links, "parent", "/api/v2/flags/shop/f")
	across.Environments = nil
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-status/shop/f?env=test"}, http.StatusOK, &across)
	if len(across.Environments) != 1 || across.Environments["test"].Name != FlagStatusNew {
		t.Fatalf("filtered %+v", across)
	}
	across.Environments = nil
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-status/shop/f?env=test&env=production"}, http.StatusOK, &across)
	if len(across.Environments) != 2 {
		t.Fatalf("two filters %+v", across)
	}
}

func TestHTTPFlagStatus_Errors(t *testing.T) {
	t.Parallel()
	e, _ := hxServer(t)
	other := hxToken(e, "", Statement{Effect: "allow", Resources: []string{"proj/elsewhere"}, Actions: []string{"viewProject"}})
	reader := hxToken(e, RoleReader)
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		{"no token", htReq{Path: "/api/v2/flag-statuses/shop/production", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized},
		{"bad token", htReq{Path: "/api/v2/flag-status/shop/f", Auth: "api-nope"}, http.StatusUnauthorized, CodeUnauthorized},
		{"project not viewable", htReq{Path: "/api/v2/flag-statuses/shop/production/f", Auth: other}, http.StatusForbidden, CodeForbidden},
		{"list not viewable", htReq{Path: "/api/v2/flag-statuses/shop/production", Auth: other}, http.StatusForbidden, CodeForbidden},
		{"across not viewable", htReq{Path: "/api/v2/flag-status/shop/f", Auth: other}, http.StatusForbidden, CodeForbidden},
		{"unknown project", htReq{Path: "/api/v2/flag-statuses/nope/production"}, http.StatusNotFound, CodeNotFound},
		{"unknown environment", htReq{Path: "/api/v2/flag-statuses/shop/staging"}, http.StatusNotFound, CodeNotFound},
		{"unknown flag", htReq{Path: "/api/v2/flag-statuses/shop/production/nope"}, http.StatusNotFound, CodeNotFound},
		{"unknown flag across", htReq{Path: "/api/v2/flag-status/shop/nope"}, http.StatusNotFound, CodeNotFound},
		{"unknown env filter", htReq{Path: "/api/v2/flag-status/shop/f?env=staging"}, http.StatusNotFound, CodeNotFound},
		{"empty env filter", htReq{Path: "/api/v2/flag-status/shop/f?env="}, http.StatusBadRequest, CodeInvalidRequest},
		{"read only", htReq{Method: http.MethodPost, Path: "/api/v2/flag-status/shop/f"}, http.StatusMethodNotAllowed, CodeMethodNotAllowed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sub := &htEnv{t: t, st: e.st, srv: e.srv}
			if tc.req.Method == "" {
				tc.req.Method = http.MethodGet
			}
			sub.errorBody(tc.req, tc.status, tc.code)
		})
	}
	// A reader sees statuses.
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/flag-statuses/shop/production", Auth: reader}, http.StatusOK, nil)
}
