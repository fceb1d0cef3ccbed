package flagstore

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// pfdCustom are flag defaults unlike the initial ones in every field.
func pfdCustom() ProjectFlagDefaults {
	return ProjectFlagDefaults{
		Tags:      []string{"team-a"},
		Temporary: false,
		BooleanDefaults: BooleanFlagDefaults{
			TrueDisplayName: "Enabled", FalseDisplayName: "Disabled",
			TrueDescription: "serve true", FalseDescription: "serve false",
			OnVariation: 1, OffVariation: 0,
		},
		DefaultClientSideAvailability: ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: true},
	}
}

func TestFlagDefaults_GetPut(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	d, err := st.GetFlagDefaults(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	want := ProjectFlagDefaults{Key: "shop", Tags: []string{}, Temporary: true,
		BooleanDefaults:               BooleanFlagDefaults{OnVariation: 0, OffVariation: 1},
		DefaultClientSideAvailability: ClientSideAvailability{UsingMobileKey: true}}
	if !reflect.DeepEqual(d, want) {
		t.Fatalf("initial defaults %+v, want %+v", d, want)
	}
	// Without stored defaults a flag is created as before.
	plain, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "plain", Name: "Plain"})
	if err != nil {
		t.Fatal(err)
	}
	if !plain.Temporary || len(plain.Tags) != 0 || plain.Variations[0].Name != "" || *plain.Defaults != (FlagDefaults{OnVariation: 0, OffVariation: 1}) {
		t.Fatalf("flag without stored defaults %+v", plain)
	}

	put := pfdCustom()
	put.Key = "ignored"
	got, err := st.PutFlagDefaults(ctx, "shop", put)
	if err != nil {
		t.Fatal(err)
	}
	want = pfdCustom()
	want.Key = "shop"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("put %+v, want %+v", got, want)
	}
	if again, _ := st.GetFlagDefaults(ctx, "shop"); !reflect.DeepEqual(again, want) {
		t.Fatalf("read after put %+v", again)
	}
	// The client-side availability is the project's.
	pr, _ := st.GetProject(ctx, "shop")
	if *pr.DefaultClientSideAvailability != want.DefaultClientSideAvailability || !pr.IncludeInSnippetByDefault {
		t.Fatalf("project after put %+v", pr)
	}
	entries, err := st.ListAuditLog(ctx, AuditListOptions{Spec: "proj/shop"})
	if err != nil || len(entries) == 0 {
		t.Fatalf("audit %v %v", entries, err)
	}
	if e := entries[0]; e.Kind != "project" || !reflect.DeepEqual(e.Accesses, []Access{{Action: "updateProjectFlagDefaults", Resource: "proj/shop"}}) ||
		!strings.Contains(e.Title, "flag defaults") {
		t.Fatalf("audit entry %+v", e)
	}
	// The same defaults again change and record nothing.
	if _, err := st.PutFlagDefaults(ctx, "shop", pfdCustom()); err != nil {
		t.Fatal(err)
	}
	if again, _ := st.ListAuditLog(ctx, AuditListOptions{Spec: "proj/shop"}); len(again) != len(entries) {
		t.Errorf("a no-op put recorded an entry")
	}

	for _, c := range []struct {
		name string
		edit func(*ProjectFlagDefaults)
	}{
		{"bad tag", func(d *ProjectFlagDefaults) { d.Tags = []string{"no spaces"} }},
		{"repeated tag", func(d *ProjectFlagDefaults) { d.Tags = []string{"a", "a"} }},
		{"on variation", func(d *ProjectFlagDefaults) { d.BooleanDefaults.OnVariation = 2 }},
		{"off variation", func(d *ProjectFlagDefaults) { d.BooleanDefaults.OffVariation = -1 }},
		{"long name", func(d *ProjectFlagDefaults) { d.BooleanDefaults.TrueDisplayName = strings.Repeat("n", 1025) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := pfdCustom()
			c.edit(&d)
			if _, err := st.PutFlagDefaults(ctx, "shop", d); !errors.Is(err, ErrInvalid) {
				t.Errorf("put: %v, want ErrInvalid", err)
			}
		})
	}
	if again, _ := st.GetFlagDefaults(ctx, "shop"); !reflect.DeepEqual(again, want) {
		t.Errorf("refused puts changed the defaults: %+v", again)
	}
	if _, err := st.GetFlagDefaults(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
	if _, err := st.PutFlagDefaults(ctx, "nope", pfdCustom()); !errors.Is(err, ErrNotFound) {
		t.Errorf("put to unknown project: %v", err)
	}
}

func TestFlagDefaults_Patch(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	d, err := st.PatchFlagDefaults(ctx, "shop", Patch{Kind: JSONPatch, Ops: json.RawMessage(
		`[{"op":"replace","path":"/temporary","value":false},{"op":"add","path":"/tags/-","value":"x"}]`)})
	if err != nil || d.Temporary || !slices.Equal(d.Tags, []string{"x"}) {
		t.Fatalf("JSON Patch: %+v, %v", d, err)
	}
	d, err = st.PatchFlagDefaults(ctx, "shop", Patch{Kind: MergePatch, Merge: json.RawMessage(
		`{"booleanDefaults":{"trueDisplayName":"On"},"defaultClientSideAvailability":{"usingEnvironmentId":true}}`)})
	if err != nil || d.BooleanDefaults.TrueDisplayName != "On" || d.BooleanDefaults.OffVariation != 1 ||
		d.DefaultClientSideAvailability != (ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: true}) || d.Temporary {
		t.Fatalf("merge patch: %+v, %v", d, err)
	}
	dry, err := st.PatchFlagDefaults(ctx, "shop", Patch{Kind: JSONPatch, DryRun: true, Ops: json.RawMessage(`[{"op":"replace","path":"/temporary","value":true}]`)})
	if err != nil || !dry.Temporary {
		t.Fatalf("dry run: %+v, %v", dry, err)
	}
	for _, c := range []struct {
		name string
		p    Patch
		want error
	}{
		{"key", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/key","value":"x"}]`)}, ErrInvalid},
		{"unknown field", Patch{Kind: MergePatch, Merge: json.RawMessage(`{"color":"red"}`)}, ErrInvalid},
		{"wrong type", Patch{Kind: MergePatch, Merge: json.RawMessage(`{"temporary":"yes"}`)}, ErrInvalid},
		{"bad variation", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"replace","path":"/booleanDefaults/onVariation","value":3}]`)}, ErrInvalid},
		{"semantic", Patch{Kind: SemanticPatch, Instructions: []Instruction{{Kind: "updateName"}}}, ErrInvalid},
		{"failed test", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"test","path":"/temporary","value":true},{"op":"replace","path":"/tags","value":[]}]`)}, ErrConflict},
		{"missing path", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"remove","path":"/nope/x"}]`)}, ErrPatchFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := st.PatchFlagDefaults(ctx, "shop", c.p); !errors.Is(err, c.want) {
				t.Errorf("patch: %v, want %v", err, c.want)
			}
		})
	}
	if got, _ := st.GetFlagDefaults(ctx, "shop"); !reflect.DeepEqual(got, d) {
		t.Errorf("refused patches changed the defaults: %+v, want %+v", got, d)
	}
}

func TestFlagDefaults_SeedNewFlags(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutFlagDefaults(ctx, "shop", pfdCustom()); err != nil {
		t.Fatal(err)
	}
	f, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "seeded", Name: "Seeded"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Temporary || !slices.Equal(f.Tags, []string{"team-a"}) ||
		f.Variations[0].Name != "Enabled" || f.Variations[0].Description != "serve true" ||
		f.Variations[1].Name != "Disabled" || f.Variations[1].Description != "serve false" ||
		*f.Defaults != (FlagDefaults{OnVariation: 1, OffVariation: 0}) ||
		f.ClientSideAvailability != (ClientSideAvailability{UsingMobileKey: false, UsingEnvironmentID: true}) {
		t.Fatalf("seeded flag %+v", f)
	}
	if c := f.Environments["production"]; *c.Fallthrough.Variation != 1 || *c.OffVariation != 0 {
		t.Fatalf("seeded configuration %+v", c)
	}

	// What the body gives wins.
	tmp := true
	f, err = st.CreateFlag(ctx, "shop", FlagPost{Key: "given", Name: "Given", Tags: []string{}, Temporary: &tmp,
		Defaults: &FlagDefaults{OnVariation: 0, OffVariation: 1}, ClientSideAvailability: &ClientSideAvailability{UsingMobileKey: true}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Temporary || len(f.Tags) != 0 || *f.Defaults != (FlagDefaults{OnVariation: 0, OffVariation: 1}) ||
		f.ClientSideAvailability != (ClientSideAvailability{UsingMobileKey: true}) || f.Variations[0].Name != "Enabled" {
		t.Fatalf("flag with its own settings %+v", f)
	}
	// Boolean defaults are for flags created without variations.
	f, err = st.CreateFlag(ctx, "shop", FlagPost{Key: "multi", Name: "Multi", Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})
	if err != nil {
		t.Fatal(err)
	}
	if f.Variations[0].Name != "" || *f.Defaults != (FlagDefaults{OnVariation: 0, OffVariation: 2}) || !slices.Equal(f.Tags, []string{"team-a"}) {
		t.Fatalf("multivariate flag %+v", f)
	}

	// A deleted project's defaults go with it.
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "tmp", Name: "Tmp"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutFlagDefaults(ctx, "tmp", pfdCustom()); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteProject(ctx, "tmp"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "tmp", Name: "Tmp"}); err != nil {
		t.Fatal(err)
	}
	if d, _ := st.GetFlagDefaults(ctx, "tmp"); !d.Temporary || len(d.Tags) != 0 {
		t.Errorf("re-created project inherited old defaults: %+v", d)
	}
}

func TestHTTPFlagDefaults(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	const path = "/api/v2/projects/shop/flag-defaults"
	var raw map[string]json.RawMessage
	e.json(htReq{Method: http.MethodGet, Path: path}, http.StatusOK, &raw)
	for _, f := range []string{"key", "tags", "temporary", "booleanDefaults", "defaultClientSideAvailability", "_links"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("GET lacks %q: %v", f, raw)
		}
	}
	var got struct {
		ProjectFlagDefaults
		Links map[string]Link `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: path}, http.StatusOK, &got)
	if got.Key != "shop" || !got.Temporary || got.BooleanDefaults.OffVariation != 1 || !got.DefaultClientSideAvailability.UsingMobileKey {
		t.Fatalf("GET %+v", got)
	}
	prjCheckLink(t, got.Links, "self", path)
	prjCheckLink(t, got.Links, "parent", "/api/v2/projects/shop")

	body := map[string]any{
		"tags": []string{"team-a"}, "temporary": false,
		"booleanDefaults": map[string]any{"trueDisplayName": "On", "falseDisplayName": "Off", "trueDescription": "t",
			"falseDescription": "f", "onVariation": 0, "offVariation": 1},
		"defaultClientSideAvailability": map[string]any{"usingMobileKey": true, "usingEnvironmentId": true},
	}
	raw = nil
	e.json(htReq{Method: http.MethodPut, Path: path, Body: body}, http.StatusOK, &raw)
	if _, ok := raw["key"]; ok {
		t.Errorf("upsertPayloadRep has a key: %v", raw)
	}
	e.json(htReq{Method: http.MethodPut, Path: path, Body: body}, http.StatusOK, &got)
	if got.Temporary || !slices.Equal(got.Tags, []string{"team-a"}) || got.BooleanDefaults.TrueDisplayName != "On" ||
		!got.DefaultClientSideAvailability.UsingEnvironmentID {
		t.Fatalf("PUT %+v", got)
	}
	prjCheckLink(t, got.Links, "self", path)
	e.json(htReq{Method: http.MethodPatch, Path: path, Body: []map[string]any{{"op": "replace", "path": "/temporary", "value": true}}}, http.StatusOK, &got)
	if !got.Temporary {
		t.Fatalf("JSON Patch %+v", got)
	}
	e.json(htReq{Method: http.MethodPatch, Path: path, Body: map[string]any{"tags": []string{"b"}}}, http.StatusOK, &got)
	if !slices.Equal(got.Tags, []string{"b"}) || !got.Temporary {
		t.Fatalf("merge patch %+v", got)
	}
	e.json(htReq{Method: http.MethodPost, Path: path, Header: http.Header{MethodOverrideHeader: {"PUT"}}, Body: body}, http.StatusOK, &got)
	if got.Temporary {
		t.Fatalf("PUT through POST %+v", got)
	}

	without := func(drop string) map[string]any {
		b := map[string]any{}
		for k, v := range body {
			b[k] = v
		}
		if inner, field, ok := strings.Cut(drop, "."); ok {
			m := map[string]any{}
			for k, v := range body[inner].(map[string]any) {
				m[k] = v
			}
			delete(m, field)
			b[inner] = m
		} else {
			delete(b, drop)
		}
		return b
	}
	reader := prjReaderToken(e)
	other := prjInlineToken(e, Statement{Effect: "allow", Resources: []string{"proj/other"}, Actions: []string{"viewProject"}})
	small := htServer(t, WithMaxBodyBytes(64))
	for _, c := range []struct {
		name   string
		env    *htEnv
		req    htReq
		status int
		code   string
	}{
		{"put without tags", e, htReq{Method: "PUT", Body: without("tags")}, 400, CodeInvalidRequest},
		{"put without temporary", e, htReq{Method: "PUT", Body: without("temporary")}, 400, CodeInvalidRequest},
		{"put without offVariation", e, htReq{Method: "PUT", Body: without("booleanDefaults.offVariation")}, 400, CodeInvalidRequest},
		{"put without usingMobileKey", e, htReq{Method: "PUT", Body: without("defaultClientSideAvailability.usingMobileKey")}, 400, CodeInvalidRequest},
		{"put bad variation", e, htReq{Method: "PUT", Body: func() map[string]any {
			b := without("booleanDefaults.onVariation")
			b["booleanDefaults"].(map[string]any)["onVariation"] = 5
			return b
		}()}, 400, CodeInvalidRequest},
		{"put malformed", e, htReq{Method: "PUT", Body: `{"tags":"x"}`}, 400, CodeInvalidRequest},
		{"put not JSON", e, htReq{Method: "PUT", Body: "x", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"put too large", small, htReq{Method: "PUT", Body: body}, 413, CodeRequestEntityTooLarge},
		{"put unknown", e, htReq{Method: "PUT", Path: "/api/v2/projects/nope/flag-defaults", Body: body}, 404, CodeNotFound},
		{"put no token", e, htReq{Method: "PUT", Body: body, Auth: "-"}, 401, CodeUnauthorized},
		{"put reader", e, htReq{Method: "PUT", Body: body, Auth: reader}, 403, CodeForbidden},
		{"patch semantic", e, htReq{Method: "PATCH", Body: map[string]any{"instructions": []map[string]any{{"kind": "x"}}},
			ContentType: "application/json; " + SemanticPatchMediaType}, 400, CodeInvalidRequest},
		{"patch key", e, htReq{Method: "PATCH", Body: []map[string]any{{"op": "replace", "path": "/key", "value": "x"}}}, 400, CodeInvalidRequest},
		{"patch failed test", e, htReq{Method: "PATCH", Body: []map[string]any{{"op": "test", "path": "/temporary", "value": true}}}, 409, CodeOptimisticLocking},
		{"patch not JSON", e, htReq{Method: "PATCH", Body: "x", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
		{"patch unknown", e, htReq{Method: "PATCH", Path: "/api/v2/projects/nope/flag-defaults", Body: map[string]any{"temporary": true}}, 404, CodeNotFound},
		{"patch reader", e, htReq{Method: "PATCH", Body: map[string]any{"temporary": true}, Auth: reader}, 403, CodeForbidden},
		{"get unknown", e, htReq{Method: "GET", Path: "/api/v2/projects/nope/flag-defaults"}, 404, CodeNotFound},
		{"get no token", e, htReq{Method: "GET", Auth: "-"}, 401, CodeUnauthorized},
		{"get not allowed", e, htReq{Method: "GET", Auth: other}, 403, CodeForbidden},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.req.Path == "" {
				c.req.Path = path
			}
			prjSub(c.env, t).errorBody(c.req, c.status, c.code)
		})
	}
	// A reader may read them.
	e.json(htReq{Method: http.MethodGet, Path: path, Auth: reader}, http.StatusOK, &got)
	if got.Temporary || !slices.Equal(got.Tags, []string{"team-a"}) {
		t.Errorf("refused requests changed the defaults: %+v", got)
	}
}
