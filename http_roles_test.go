package flagstore

import (
	"net/http"
	"testing"
)

func init() {
	mxDefaultKeys["customRoleKey"] = "mx-role-default"
	role := func(t *testing.T, f *mxFixture) string {
		t.Helper()
		k := f.key("mx-cr")
		if _, err := f.e.st.CreateCustomRole(t.Context(), CustomRolePost{Key: k, Name: k,
			Policy: []Statement{{Effect: "allow", Actions: []string{"viewProject"}, Resources: []string{"proj/*"}}}}); err != nil {
			t.Fatal(err)
		}
		return k
	}
	mxBuilders["getCustomRoles"] = mxGet("/api/v2/roles")
	mxBuilders["postCustomRole"] = func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mx-ncr")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": k, "name": k,
			"policy": []map[string]any{{"effect": "allow", "actions": []string{"viewProject"}, "resources": []string{"proj/*"}}}}},
			grants: []mxGrant{{"createRole", "role/" + k}}}
	}
	mxBuilders["getCustomRole"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/roles/" + role(t, f)}}
	}
	mxBuilders["patchCustomRole"] = func(t *testing.T, f *mxFixture) mxCase {
		k := role(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/roles/" + k, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateName", "role/" + k}}}
	}
	mxBuilders["deleteCustomRole"] = func(t *testing.T, f *mxFixture) mxCase {
		k := role(t, f)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/roles/" + k},
			grants: []mxGrant{{"deleteRole", "role/" + k}}}
	}
	for _, op := range []string{"postCustomRole", "patchCustomRole", "deleteCustomRole"} {
		mxWriterDenied[op] = true // only admins manage custom roles
	}
	mxNoCheapStatus["getCustomRoles"] = map[int]string{403: "every authenticated caller may list the custom roles"}
	mxNoCheapStatus["getCustomRole"] = map[int]string{403: "every authenticated caller may read a custom role"}
	mxUndeclared["patchCustomRole"] = map[int]string{403: "an update action (updateName) denied, as for every other write"}
	mxUndeclared["deleteCustomRole"] = map[int]string{
		403: "deleteRole denied",
		409: "the role is still assigned, which LaunchDarkly refuses too",
	}
	mxConflicts["postCustomRole"] = func(t *testing.T, f *mxFixture) htReq {
		k := role(t, f)
		return htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": k, "name": k, "policy": []any{}}}
	}
	mxConflicts["patchCustomRole"] = func(t *testing.T, f *mxFixture) htReq {
		return htReq{Method: http.MethodPatch, Path: "/api/v2/roles/" + role(t, f), Body: []map[string]any{
			{"op": "test", "path": "/name", "value": "Stale"},
			{"op": "replace", "path": "/name", "value": "new"},
		}}
	}
	mxConflicts["deleteCustomRole"] = func(t *testing.T, f *mxFixture) htReq {
		k := role(t, f)
		if _, err := f.e.st.CreateToken(t.Context(), f.ownerID, TokenPost{Name: k, CustomRoleIDs: []string{k}, ServiceToken: true}); err != nil {
			t.Fatal(err)
		}
		return htReq{Method: http.MethodDelete, Path: "/api/v2/roles/" + k}
	}
}

// htRoleRep is what the tests read of a CustomRole.
type htRoleRep struct {
	ID              string      `json:"_id"`
	Key             string      `json:"key"`
	Name            string      `json:"name"`
	Description     string      `json:"description"`
	Policy          []Statement `json:"policy"`
	BasePermissions string      `json:"basePermissions"`
	Links           Links       `json:"_links"`
}

var htRolePolicy = []map[string]any{{"effect": "allow", "actions": []string{"*"}, "resources": []string{"proj/shop"}}}

func TestHTTPRoles_Lifecycle(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var cr htRoleRep
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "ops", "name": "Ops", "policy": htRolePolicy}}, http.StatusCreated, &cr)
	if cr.Key != "ops" || cr.ID == "" || cr.BasePermissions != BasePermissionsNoAccess || len(cr.Policy) != 1 ||
		cr.Links["self"].Href != "/api/v2/roles/ops" || cr.Links["parent"].Href != "/api/v2/roles" {
		t.Fatalf("created %+v", cr)
	}
	// By key and by _id.
	var got htRoleRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/roles/ops"}, http.StatusOK, &got)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/roles/" + cr.ID}, http.StatusOK, &got)
	if got.Key != "ops" {
		t.Fatalf("by _id: %+v", got)
	}
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "dev", "name": "Dev", "policy": []any{}}}, http.StatusCreated, nil)
	var list struct {
		Items      []htRoleRep `json:"items"`
		TotalCount int         `json:"totalCount"`
		Links      Links       `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/roles?limit=1&offset=1"}, http.StatusOK, &list)
	if list.TotalCount != 2 || len(list.Items) != 1 || list.Items[0].Key != "ops" || list.Links["first"].Href == "" {
		t.Fatalf("list %+v", list)
	}
	// JSON Patch and merge patch.
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/roles/ops", Body: mxJSONPatch("/name", "Operations")}, http.StatusOK, &got)
	if got.Name != "Operations" {
		t.Fatalf("json patch: %+v", got)
	}
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/roles/" + cr.ID, ContentType: "application/merge-patch+json",
		Body: map[string]any{"description": "on call"}}, http.StatusOK, &got)
	if got.Description != "on call" || got.Name != "Operations" {
		t.Fatalf("merge patch: %+v", got)
	}
	resp, _ := e.do(htReq{Method: http.MethodDelete, Path: "/api/v2/roles/ops"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/roles/ops"}, http.StatusNotFound, CodeNotFound)
}

func TestHTTPRoles_Errors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	_, reader := htMemberToken(t, e, "r@example.com", RoleReader)
	_, writer := htMemberToken(t, e, "w@example.com", RoleWriter)
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "ops", "name": "Ops", "policy": htRolePolicy}}, http.StatusCreated, nil)
	unchanged := func() {
		t.Helper()
		cr, err := e.st.GetCustomRole(t.Context(), "ops")
		if err != nil || cr.Name != "Ops" || len(cr.Policy) != 1 {
			t.Fatalf("ops changed: %+v %v", cr, err)
		}
		l, err := e.st.ListCustomRoles(t.Context(), ListOptions{Limit: 100})
		if err != nil || l.TotalCount != 1 {
			t.Fatalf("roles: %+v %v", l, err)
		}
	}
	for _, r := range []htReq{
		{Method: http.MethodPost, Path: "/api/v2/roles", Body: `{"key":`},
		{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"name": "No key", "policy": []any{}}},
		{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "nn", "policy": []any{}}},
		{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "np", "name": "No policy"}},
		{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "bad key!", "name": "x", "policy": []any{}}},
		{Method: http.MethodPatch, Path: "/api/v2/roles/ops", Body: mxJSONPatch("/key", "other")},
		{Method: http.MethodPatch, Path: "/api/v2/roles/ops", Body: `[{"op":`},
		{Method: http.MethodGet, Path: "/api/v2/roles?offset=x"},
	} {
		e.errorBody(r, http.StatusBadRequest, CodeInvalidRequest)
	}
	unchanged()
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/roles", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/roles/ops", Auth: mxBadToken}, http.StatusUnauthorized, CodeUnauthorized)
	for _, auth := range []string{reader, writer} {
		e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Auth: auth, Body: map[string]any{"key": "x", "name": "x", "policy": []any{}}}, http.StatusForbidden, CodeForbidden)
		e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/roles/ops", Auth: auth, Body: mxJSONPatch("/name", "x")}, http.StatusForbidden, CodeForbidden)
		e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/roles/ops", Auth: auth}, http.StatusForbidden, CodeForbidden)
	}
	// Readers may read.
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/roles/ops", Auth: reader}, http.StatusOK, nil)
	unchanged()
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: map[string]any{"key": "ops", "name": "Again", "policy": []any{}}}, http.StatusConflict, CodeConflict)
	unchanged()
	for _, r := range []htReq{
		{Method: http.MethodGet, Path: "/api/v2/roles/nope"},
		{Method: http.MethodPatch, Path: "/api/v2/roles/nope", Body: mxJSONPatch("/name", "x")},
		{Method: http.MethodDelete, Path: "/api/v2/roles/nope"},
	} {
		e.errorBody(r, http.StatusNotFound, CodeNotFound)
	}
	// In use: 409 while a token holds it.
	owner, _ := e.st.Owner(t.Context())
	tok, err := e.st.CreateToken(t.Context(), owner.ID, TokenPost{Name: "svc", CustomRoleIDs: []string{"ops"}, ServiceToken: true})
	if err != nil {
		t.Fatal(err)
	}
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/roles/ops"}, http.StatusConflict, CodeConflict)
	unchanged()
	if err := e.st.DeleteToken(t.Context(), tok.ID); err != nil {
		t.Fatal(err)
	}
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/roles", Body: "key=x", ContentType: "text/plain"}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
	resp, _ := e.do(htReq{Method: http.MethodDelete, Path: "/api/v2/roles/ops"})
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete after unassigning: %d", resp.StatusCode)
	}
}
