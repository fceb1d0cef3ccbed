package flagstore

// Webhooks (LaunchDarkly's Webhook): account-level destinations that every
// audit entry their statements match is POSTed to (see webhook_delivery.go).
// The key space:
//
//	wh/{id}                            webhook, with its secret
//	ws/{id}                            delivery status (WebhookStatus)
//	wo/{due:016x}/{entry}/{webhook}    outbox: one pending delivery
//
// A webhook signs its deliveries exactly when it has a secret. The secret is
// stored (it is needed to sign) but shown only in CreateWebhook's result:
// reads, lists, updates and audit snapshots leave it out.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/flagstore/flagstore/internal/resource"
	"github.com/flagstore/flagstore/store"
)

// Webhook is an outgoing webhook. Secret is set only in the result of
// CreateWebhook; the webhook signs its deliveries when it has one.
type Webhook struct {
	ID         string      `json:"_id"`
	Name       string      `json:"name"`
	URL        string      `json:"url"`
	Secret     string      `json:"secret,omitempty"`
	Statements []Statement `json:"statements"`
	On         bool        `json:"on"`
	Tags       []string    `json:"tags"`
}

// WebhookPost is the body that creates a webhook (LaunchDarkly's
// webhookPost). With Sign and no Secret, a secret is generated; without
// Sign, Secret is ignored and deliveries are not signed. No Statements
// means every change is delivered.
type WebhookPost struct {
	URL        string      `json:"url"`
	Sign       bool        `json:"sign"`
	On         bool        `json:"on"`
	Name       string      `json:"name,omitempty"`
	Secret     string      `json:"secret,omitempty"`
	Statements []Statement `json:"statements,omitempty"`
	Tags       []string    `json:"tags,omitempty"`
}

const (
	webhookPrefix       = "wh/"
	webhookStatusPrefix = "ws/"
	outboxPrefix        = "wo/"
	// maskedSecret stands for a webhook's secret in the document a JSON
	// Patch is applied to, so a patch can replace or remove the secret but
	// never read it (a "test" op cannot probe it).
	maskedSecret = "********"
	// maxURLLength bounds a webhook's url.
	maxURLLength = 2048
)

func webhookKey(id string) string       { return webhookPrefix + id }
func webhookStatusKey(id string) string { return webhookStatusPrefix + id }
func webhookSpec(id string) string      { return "webhook/" + id }

// CreateWebhook creates a webhook and returns it with its secret, the only
// time the secret is shown.
func (s *Store) CreateWebhook(ctx context.Context, p WebhookPost) (Webhook, error) {
	h := Webhook{ID: s.newID(), Name: p.Name, URL: p.URL, On: p.On,
		Statements: cloneRolePolicy(p.Statements), Tags: nonNil(slices.Clone(p.Tags))}
	if p.Sign {
		h.Secret = p.Secret
		if h.Secret == "" {
			h.Secret = randomHex(16)
		}
	}
	if err := s.validateWebhook(&h); err != nil {
		return Webhook{}, err
	}
	err := s.update(ctx, func(w *wtx) error {
		if err := w.put(webhookKey(h.ID), &h, store.Absent); err != nil {
			return err
		}
		return s.recordWebhook(w, "created", nil, &h, "createWebhook")
	})
	if err != nil {
		return Webhook{}, err
	}
	return h, nil
}

// GetWebhook returns a webhook, without its secret.
func (s *Store) GetWebhook(ctx context.Context, id string) (Webhook, error) {
	var h Webhook
	err := s.view(ctx, func(r *rtx) error {
		_, err := getWebhook(r, id, &h)
		return err
	})
	return redactWebhook(h), err
}

// ListWebhooks lists every webhook in _id order, without secrets. The list
// is not paged, as in LaunchDarkly.
func (s *Store) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	out := []Webhook{}
	err := s.view(ctx, func(r *rtx) error {
		return each(r, webhookPrefix, func(_ string, h *Webhook) error {
			out = append(out, redactWebhook(*h))
			return nil
		})
	})
	return out, err
}

// UpdateWebhook applies fn to a copy of the webhook, secret included (an
// empty secret stops signing), and stores the result if it is valid. The
// _id cannot change. The result has no secret.
func (s *Store) UpdateWebhook(ctx context.Context, id string, fn func(*Webhook) error) (Webhook, error) {
	var after Webhook
	err := s.update(ctx, func(w *wtx) error {
		var before Webhook
		ver, err := getWebhook(&w.rtx, id, &before)
		if err != nil {
			return err
		}
		after = cloneWebhook(&before)
		if err := fn(&after); err != nil {
			return err
		}
		if after.ID != before.ID {
			return invalidf("_id", "_id is read-only")
		}
		after.Statements, after.Tags = nonNil(after.Statements), nonNil(after.Tags)
		if err := s.validateWebhook(&after); err != nil {
			return err
		}
		if jsonEqual(&before, &after) {
			return nil
		}
		if err := w.put(webhookKey(id), &after, ver); err != nil {
			return err
		}
		return s.recordWebhook(w, "updated", &before, &after, changedActions(webhookFieldActions, &before, &after)...)
	})
	if err != nil {
		return Webhook{}, err
	}
	return redactWebhook(after), nil
}

// PatchWebhook updates a webhook with JSON Patch, as LaunchDarkly's "Update
// webhook" does. The patch sees the secret as a mask: replacing it sets a
// new secret, removing it stops signing. The audit entry's delta shows new
// secrets masked too.
func (s *Store) PatchWebhook(ctx context.Context, id string, p Patch) (Webhook, error) {
	if err := checkPatch(&p); err != nil {
		return Webhook{}, err
	}
	shown := p
	shown.Ops = maskSecretOps(p.Ops)
	return s.UpdateWebhook(withPatch(ctx, &shown), id, func(h *Webhook) error {
		doc := cloneWebhook(h)
		if doc.Secret != "" {
			doc.Secret = maskedSecret
		}
		if err := patchRepresentation(&doc, &p, false, nil); err != nil {
			return err
		}
		if doc.Secret == maskedSecret {
			doc.Secret = h.Secret
		}
		*h = doc
		return nil
	})
}

// DeleteWebhook deletes a webhook. Its pending deliveries are discarded.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	return s.update(ctx, func(w *wtx) error {
		var h Webhook
		if _, err := getWebhook(&w.rtx, id, &h); err != nil {
			return err
		}
		if err := w.del(webhookKey(id)); err != nil {
			return err
		}
		if err := w.del(webhookStatusKey(id)); err != nil {
			return err
		}
		return s.recordWebhook(w, "deleted", &h, nil, "deleteWebhook")
	})
}

// recordWebhook records a webhook change; the snapshots leave the secret
// out, since the audit log is readable by every member.
func (s *Store) recordWebhook(w *wtx, verb string, before, after *Webhook, actions ...string) error {
	h := after
	if h == nil {
		h = before
	}
	name := h.Name
	if name == "" {
		name = h.URL
	}
	c := change{kind: "webhook", verb: verb, name: name, resource: webhookSpec(h.ID),
		accesses: accessesOf(webhookSpec(h.ID), actions...),
		self:     &resource.Part{Type: resource.TypeWebhook, Name: h.ID, Tags: slices.Clone(h.Tags)}}
	if before != nil {
		b := redactWebhook(*before)
		c.before = &b
	}
	if after != nil {
		a := redactWebhook(*after)
		c.after = &a
	}
	return s.record(w, c)
}

// getWebhook reads a stored webhook, secret included.
func getWebhook(r *rtx, id string, h *Webhook) (uint64, error) {
	if id == "" || strings.Contains(id, sep) {
		return 0, notFoundf("Unknown webhook %q", id)
	}
	v, err := r.get(webhookKey(id), h)
	if err != nil {
		return 0, notFoundOr(err, "Unknown webhook %q", id)
	}
	return v, nil
}

// validateWebhook checks a webhook's writable fields, its url against the
// host's destination policy as far as the url alone shows it.
func (s *Store) validateWebhook(h *Webhook) *Error {
	if err := s.validWebhookURL(h.URL); err != nil {
		return err
	}
	if err := validPlainText("name", h.Name); err != nil {
		return err
	}
	if err := validPlainText("secret", h.Secret); err != nil {
		return err
	}
	if len(h.Secret) > maxKeyLength || strings.ContainsFunc(h.Secret, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return invalidf("secret", "secret must be at most %d bytes of printable text", maxKeyLength)
	}
	if err := validTags("tags", h.Tags); err != nil {
		return err
	}
	if _, err := statementMatcher(h.Statements); err != nil {
		return AsError(err)
	}
	return nil
}

// validWebhookURL accepts an absolute http or https URL with a host. A host
// that is an IP address (or "localhost") is checked against the destination
// policy now; names are checked when a delivery dials them.
func (s *Store) validWebhookURL(raw string) *Error {
	if raw == "" {
		return invalidf("url", "url is required")
	}
	if len(raw) > maxURLLength {
		return invalidf("url", "url must be at most %d bytes", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return invalidf("url", "url must be an absolute http or https URL")
	}
	host := u.Hostname()
	var ip netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		ip = a
	} else if strings.EqualFold(host, "localhost") {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	if ip.IsValid() && !s.hooks.allow(host, ip) {
		return invalidf("url", "url %q is not an allowed webhook destination", raw)
	}
	return nil
}

// redactWebhook returns h without its secret.
func redactWebhook(h Webhook) Webhook {
	h.Secret = ""
	return h
}

// cloneWebhook deep-copies a webhook.
func cloneWebhook(h *Webhook) Webhook {
	c := *h
	c.Statements = cloneRolePolicy(h.Statements)
	c.Tags = nonNil(slices.Clone(h.Tags))
	return c
}

// maskSecretOps returns JSON Patch ops with the value of any op on /secret
// masked, for the audit entry's delta. Ops it cannot read pass unchanged
// (the patch then fails anyway).
func maskSecretOps(ops json.RawMessage) json.RawMessage {
	var raw []map[string]json.RawMessage
	if json.Unmarshal(ops, &raw) != nil {
		return ops
	}
	masked := false
	for _, op := range raw {
		var path string
		if json.Unmarshal(op["path"], &path) == nil && path == "/secret" {
			if _, ok := op["value"]; ok {
				op["value"] = json.RawMessage(`"` + maskedSecret + `"`)
				masked = true
			}
		}
	}
	if !masked {
		return ops
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return ops
	}
	return b
}

// ---- the outbox, written in the transaction of each change ----

// outboxRecord is one pending delivery of one audit entry to one webhook.
// The outbox keeps a record per (entry, webhook) rather than one per entry
// listing webhooks: each delivery then has its own attempts and due time,
// is settled by a write of its own record alone, and a failing receiver
// never delays or repeats another's deliveries.
type outboxRecord struct {
	Entry     string `json:"e"`
	Webhook   string `json:"w"`
	Attempts  int    `json:"n,omitempty"`
	First     int64  `json:"t"` // when the change was made (Unix ms)
	LastError string `json:"err,omitempty"`
}

func outboxKey(due int64, entry, webhook string) string {
	return fmt.Sprintf("%s%016x/%s/%s", outboxPrefix, uint64(due), entry, webhook)
}

// hookMatcher is a webhook's compiled statements (nil: match everything),
// cached for the stored bytes of the webhook it was compiled from.
type hookMatcher struct {
	raw string
	id  string
	on  bool
	pol *resource.Policy
}

// hookMatchers caches compiled filters by webhook _id.
type hookMatchers struct {
	mu sync.Mutex
	m  map[string]*hookMatcher
}

// get returns the matcher for a stored webhook document.
func (c *hookMatchers) get(it store.Item) (*hookMatcher, error) {
	id := strings.TrimPrefix(it.Key, webhookPrefix)
	c.mu.Lock()
	hm := c.m[id]
	c.mu.Unlock()
	if hm != nil && hm.raw == string(it.Value) {
		return hm, nil
	}
	var h Webhook
	if err := json.Unmarshal(it.Value, &h); err != nil {
		return nil, newError(ErrInternal, "corrupt webhook %s: %v", id, err)
	}
	hm = &hookMatcher{raw: string(it.Value), id: id, on: h.On}
	if len(h.Statements) > 0 {
		pol, err := resource.Compile(internalStatements(h.Statements), nil)
		if err != nil {
			return nil, newError(ErrInternal, "webhook %s: %v", id, err)
		}
		hm.pol = pol
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]*hookMatcher{}
	}
	c.m[id] = hm
	c.mu.Unlock()
	return hm, nil
}

// enqueueWebhooks writes, in w, one outbox record for each webhook that is
// on and whose statements allow one of e's accesses. It runs inside record,
// so a change, its audit entry and its deliveries commit together or not at
// all (a dry run rolls all three back). Statements are evaluated as a role's
// policy is, on the same concrete resources (tags included, a flag-wide
// change in each environment); self supplies a deleted target's part.
func (s *Store) enqueueWebhooks(w *wtx, e *AuditEntry, self map[string]resource.Part) error {
	var hooks []*hookMatcher
	var ferr error
	concrete := make([][]resource.Resource, len(e.Accesses)) // read once, for every webhook
	matches := func(pol *resource.Policy) (bool, error) {
		for i, a := range e.Accesses {
			if concrete[i] == nil {
				rs, err := concreteResources(&w.rtx, a.Resource, self)
				if err != nil {
					return false, err
				}
				concrete[i] = append(rs, resource.Resource{}) // non-nil once read
			}
			for _, r := range concrete[i] {
				if len(r.Segments) > 0 && pol.Evaluate(a.Action, r).Allowed {
					return true, nil
				}
			}
		}
		return false, nil
	}
	err := w.tx.Scan(webhookPrefix, "", func(it store.Item) bool {
		hm, err := s.hooks.matchers.get(it)
		ok := err == nil && hm.on
		if ok && hm.pol != nil {
			ok, err = matches(hm.pol)
		}
		if err != nil {
			ferr = err
			return false
		}
		if ok {
			hooks = append(hooks, hm)
		}
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil || len(hooks) == 0 {
		return err
	}
	for _, hm := range hooks {
		rec := outboxRecord{Entry: e.ID, Webhook: hm.id, First: e.Date}
		if err := w.put(outboxKey(e.Date, e.ID, hm.id), &rec, store.Absent); err != nil {
			return err
		}
	}
	w.outbox = true
	return nil
}
