package flagstore

import (
	"net/http"
)

// webhookRoutes are the webhooks family.
func (a *api) webhookRoutes() []*route {
	const one = "/webhooks/{id}"
	return []*route{
		{method: http.MethodGet, path: "/webhooks", operationID: "getAllWebhooks", handle: a.getAllWebhooks},
		{method: http.MethodPost, path: "/webhooks", operationID: "postWebhook", handle: a.postWebhook},
		{method: http.MethodGet, path: one, operationID: "getWebhook", handle: a.getWebhook},
		{method: http.MethodPatch, path: one, operationID: "patchWebhook", handle: a.patchWebhook},
		{method: http.MethodDelete, path: one, operationID: "deleteWebhook", handle: a.deleteWebhook},
	}
}

// webhookRep is LaunchDarkly's Webhook.
type webhookRep struct {
	Webhook
	Links Links `json:"_links"`
}

func newWebhookRep(h Webhook) webhookRep {
	h.Statements, h.Tags = nonNil(h.Statements), nonNil(h.Tags)
	return webhookRep{Webhook: h, Links: selfLinks(apiPath("webhooks", h.ID), apiPath("webhooks"))}
}

// webhookCollection is LaunchDarkly's Webhooks: not paged, no totalCount.
type webhookCollection struct {
	Items []webhookRep `json:"items"`
	Links Links        `json:"_links"`
}

func (a *api) getAllWebhooks(w http.ResponseWriter, r *http.Request) error {
	hooks, err := a.s.ListWebhooks(r.Context())
	if err != nil {
		return err
	}
	out := webhookCollection{Items: make([]webhookRep, len(hooks)), Links: Links{"self": jsonLink(apiPath("webhooks"))}}
	for i, h := range hooks {
		out.Items[i] = newWebhookRep(h)
	}
	return writeJSON(w, http.StatusOK, out)
}

// webhookPostBody is WebhookPost as it arrives, with the required fields
// pointers so that a missing one can be told from a false or empty one.
type webhookPostBody struct {
	WebhookPost
	URL  *string `json:"url"`
	Sign *bool   `json:"sign"`
	On   *bool   `json:"on"`
}

// postWebhook creates a webhook; url, sign and on are required. It answers
// 200, as LaunchDarkly's spec says, with the secret shown this once.
func (a *api) postWebhook(w http.ResponseWriter, r *http.Request) error {
	var body webhookPostBody
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	switch {
	case body.URL == nil:
		return invalidf("url", "url is required")
	case body.Sign == nil:
		return invalidf("sign", "sign is required")
	case body.On == nil:
		return invalidf("on", "on is required")
	}
	post := body.WebhookPost
	post.URL, post.Sign, post.On = *body.URL, *body.Sign, *body.On
	h, err := a.s.CreateWebhook(r.Context(), post)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newWebhookRep(h))
}

func (a *api) getWebhook(w http.ResponseWriter, r *http.Request) error {
	h, err := a.s.GetWebhook(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newWebhookRep(h))
}

// patchWebhook updates a webhook with JSON Patch.
func (a *api) patchWebhook(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	h, err := a.s.PatchWebhook(r.Context(), r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newWebhookRep(h))
}

func (a *api) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := a.s.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
