package flagstore

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Webhooks in these tests are created off, or aimed at names that resolve
// nowhere, so no test sends anything beyond loopback.

func init() {
	hook := func(t *testing.T, f *mxFixture) string {
		t.Helper()
		h, err := f.e.st.CreateWebhook(t.Context(), WebhookPost{URL: "https://hooks.example.com/" + f.key("mx-wh"), Sign: true})
		if err != nil {
			t.Fatal(err)
		}
		return h.ID
	}
	mxBuilders["getAllWebhooks"] = mxGet("/api/v2/webhooks")
	mxBuilders["postWebhook"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/webhooks",
			Body: map[string]any{"url": "https://hooks.example.com/" + f.key("mx-nwh"), "sign": true, "on": false, "name": "mx"}},
			grants: []mxGrant{{"createWebhook", "webhook/*"}}}
	}
	mxBuilders["getWebhook"] = func(t *testing.T, f *mxFixture) mxCase {
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/webhooks/" + hook(t, f)}}
	}
	mxBuilders["patchWebhook"] = func(t *testing.T, f *mxFixture) mxCase {
		id := hook(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/webhooks/" + id, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateName", "webhook/" + id}}}
	}
	mxBuilders["deleteWebhook"] = func(t *testing.T, f *mxFixture) mxCase {
		id := hook(t, f)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/webhooks/" + id},
			grants: []mxGrant{{"deleteWebhook", "webhook/" + id}}}
	}
	for _, op := range []string{"postWebhook", "patchWebhook", "deleteWebhook"} {
		mxWriterDenied[op] = true // the writer base role manages no webhooks
	}
	mxNoCheapStatus["getAllWebhooks"] = map[int]string{403: "every authenticated caller may list the webhooks, as the custom roles"}
	mxNoCheapStatus["getWebhook"] = map[int]string{403: "every authenticated caller may read a webhook (never its secret)"}
}

// htWebhookRep is what the tests read of a Webhook; Secret is a pointer to
// tell an absent secret from an empty one.
type htWebhookRep struct {
	ID         string      `json:"_id"`
	Name       string      `json:"name"`
	URL        string      `json:"url"`
	Secret     *string     `json:"secret"`
	Statements []Statement `json:"statements"`
	On         bool        `json:"on"`
	Tags       []string    `json:"tags"`
	Links      Links       `json:"_links"`
}

func TestHTTP_WebhookLifecycle(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	e.conform()
	var created htWebhookRep
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{
		"url": "https://hooks.example.com/a", "sign": true, "on": false, "name": "A", "tags": []string{"ops"},
		"statements": []map[string]any{{"effect": "allow", "actions": []string{"*"}, "resources": []string{"proj/*:env/*:flag/*"}}},
	}}, http.StatusOK, &created)
	if created.Secret == nil || len(*created.Secret) < 16 {
		t.Fatalf("create: want a generated secret, got %+v", created.Secret)
	}
	if len(created.ID) != 24 || created.Links["self"].Href != "/api/v2/webhooks/"+created.ID {
		t.Fatalf("create: id %q, links %v", created.ID, created.Links)
	}
	one := "/api/v2/webhooks/" + created.ID
	var got htWebhookRep
	e.json(htReq{Method: http.MethodGet, Path: one}, http.StatusOK, &got)
	if got.Secret != nil || got.URL != "https://hooks.example.com/a" || got.Name != "A" || len(got.Statements) != 1 {
		t.Fatalf("get: %+v", got)
	}
	var list struct {
		Items      []htWebhookRep `json:"items"`
		TotalCount *int           `json:"totalCount"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/webhooks"}, http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].Secret != nil || list.TotalCount != nil {
		t.Fatalf("list: %+v", list)
	}
	var patched htWebhookRep
	e.json(htReq{Method: http.MethodPatch, Path: one, Body: []map[string]any{
		{"op": "replace", "path": "/secret", "value": "n3w-s3cret"},
		{"op": "replace", "path": "/on", "value": false},
		{"op": "replace", "path": "/url", "value": "https://hooks.example.com/b"},
	}}, http.StatusOK, &patched)
	if patched.Secret != nil || patched.URL != "https://hooks.example.com/b" {
		t.Fatalf("patch: %+v", patched)
	}
	// The new secret is stored, and shown nowhere: not in the audit log.
	var stored Webhook
	if err := e.st.view(t.Context(), func(r *rtx) error { _, err := getWebhook(r, created.ID, &stored); return err }); err != nil {
		t.Fatal(err)
	}
	if stored.Secret != "n3w-s3cret" {
		t.Fatalf("stored secret %q", stored.Secret)
	}
	entries, err := e.st.ListAuditLog(t.Context(), AuditListOptions{Spec: "webhook/*", Limit: 20})
	if err != nil || len(entries) != 2 {
		t.Fatalf("audit: %d entries, %v", len(entries), err)
	}
	for _, en := range entries {
		full, err := e.st.GetAuditEntry(t.Context(), en.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(full)
		if strings.Contains(string(b), "n3w-s3cret") || strings.Contains(string(b), *created.Secret) {
			t.Fatalf("audit entry shows a secret: %s", b)
		}
	}
	e.json(htReq{Method: http.MethodDelete, Path: one}, http.StatusNoContent, nil)
	e.errorBody(htReq{Method: http.MethodGet, Path: one}, http.StatusNotFound, CodeNotFound)
}

func TestHTTP_WebhookBadRequests(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	h, err := e.st.CreateWebhook(t.Context(), WebhookPost{URL: "https://hooks.example.com/x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  htReq
	}{
		{"missing url", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"sign": false, "on": true}}},
		{"missing sign", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "https://a.example.com", "on": true}}},
		{"missing on", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "https://a.example.com", "sign": true}}},
		{"relative url", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "/hook", "sign": false, "on": true}}},
		{"ftp url", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "ftp://a.example.com/", "sign": false, "on": true}}},
		{"loopback url", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "http://127.0.0.1:8080/", "sign": false, "on": true}}},
		{"metadata url", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "http://169.254.169.254/latest", "sign": false, "on": true}}},
		{"localhost url", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "http://localhost/", "sign": false, "on": true}}},
		{"bad statement", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "https://a.example.com", "sign": false, "on": true,
			"statements": []map[string]any{{"effect": "maybe", "actions": []string{"*"}, "resources": []string{"proj/*"}}}}}},
		{"bad tag", htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{"url": "https://a.example.com", "sign": false, "on": true, "tags": []string{"a b"}}}},
		{"patch url", htReq{Method: http.MethodPatch, Path: "/api/v2/webhooks/" + h.ID, Body: mxJSONPatch("/url", "http://10.0.0.1/")}},
		{"patch id", htReq{Method: http.MethodPatch, Path: "/api/v2/webhooks/" + h.ID, Body: mxJSONPatch("/_id", "x")}},
		{"merge patch", htReq{Method: http.MethodPatch, Path: "/api/v2/webhooks/" + h.ID, ContentType: "application/merge-patch+json", Body: map[string]any{"on": true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.errorBody(tc.req, http.StatusBadRequest, CodeInvalidRequest)
		})
	}
	hooks, err := e.st.ListWebhooks(t.Context())
	if err != nil || len(hooks) != 1 || hooks[0].URL != "https://hooks.example.com/x" {
		t.Fatalf("bad requests changed something: %+v, %v", hooks, err)
	}
}

func TestHTTP_WebhookSignFalseHasNoSecret(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var created htWebhookRep
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{
		"url": "https://hooks.example.com/a", "sign": false, "on": false, "secret": "ignored"}}, http.StatusOK, &created)
	if created.Secret != nil {
		t.Fatalf("sign false: secret %q shown", *created.Secret)
	}
	var given htWebhookRep
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/webhooks", Body: map[string]any{
		"url": "https://hooks.example.com/b", "sign": true, "on": false, "secret": "frobozz"}}, http.StatusOK, &given)
	if given.Secret == nil || *given.Secret != "frobozz" {
		t.Fatalf("sign true with a secret: %+v", given.Secret)
	}
}
