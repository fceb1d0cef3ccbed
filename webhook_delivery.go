package flagstore

// The delivery worker. Every change writes its webhook deliveries to the
// outbox in its own transaction (enqueueWebhooks), so a crash between a
// change and its delivery loses nothing: the next Open finds the records
// and sends them. The worker, a goroutine of the store's, is woken by each
// commit that queued deliveries and polls for retries that fall due; it
// POSTs with bounded concurrency and deletes a record only after a 2xx.
// Delivery is at least once: a crash after the receiver answered but before
// the record was deleted sends it again, so receivers dedupe by the entry's
// _id (and, as LaunchDarkly says, order by its date). Writes never wait for
// a receiver: they only add records.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flagstore/flagstore/store"
)

// WebhookOptions tunes the delivery of webhooks. The zero value of each
// field is its default.
type WebhookOptions struct {
	// Concurrency bounds how many deliveries are in flight at once
	// (default 4).
	Concurrency int
	// Timeout bounds one delivery attempt, whatever the client allows
	// (default 10s).
	Timeout time.Duration
	// MaxAttempts is how many times a delivery is tried before it is
	// dropped (default 10).
	MaxAttempts int
	// MaxAge is how long after its change a delivery may still be retried
	// (default 24h).
	MaxAge time.Duration
	// BaseBackoff is the wait before the first retry; each further failure
	// doubles it (default 1s).
	BaseBackoff time.Duration
	// MaxBackoff caps the wait between retries (default 5m).
	MaxBackoff time.Duration
	// PollInterval is how often the worker looks for work when nothing wakes
	// it (default 1s).
	PollInterval time.Duration
	// Jitter turns a backoff into the wait used. nil picks uniformly
	// between half of it and all of it, so receivers that fail together
	// are not retried together.
	Jitter func(time.Duration) time.Duration
	// SwitchOffFailing switches a webhook off (on=false, recorded in the
	// audit log) when one of its deliveries is dropped. By default a
	// dropped delivery is only reported: logged at level Error and counted
	// in the webhook's [WebhookStatus].
	SwitchOffFailing bool
}

// WithWebhookOptions sets how webhooks are delivered and retried.
func WithWebhookOptions(o WebhookOptions) Option {
	return func(c *config) { c.hooks.opts = o }
}

// webhookConfig is what the webhook options set at Open.
type webhookConfig struct {
	opts   WebhookOptions
	client *http.Client
	allow  func(host string, ip netip.Addr) bool
}

// WebhookStatus is how a webhook's deliveries have gone (flagstore's own;
// LaunchDarkly's API has no such resource). Times are Unix milliseconds.
type WebhookStatus struct {
	LastSuccess int64 `json:"lastSuccess,omitempty"`
	LastFailure int64 `json:"lastFailure,omitempty"`
	// LastError describes the last failed attempt.
	LastError string `json:"lastError,omitempty"`
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int `json:"consecutiveFailures,omitempty"`
	// Dropped counts deliveries given up on (attempts or age exhausted, or
	// a destination the policy refuses).
	Dropped int `json:"dropped,omitempty"`
}

// WebhookStatus returns how a webhook's deliveries have gone.
func (s *Store) WebhookStatus(ctx context.Context, id string) (WebhookStatus, error) {
	var st WebhookStatus
	err := s.view(ctx, func(r *rtx) error {
		var h Webhook
		if _, err := getWebhook(r, id, &h); err != nil {
			return err
		}
		_, err := r.get(webhookStatusKey(id), &st)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return st, err
}

// webhookRuntime is the store's delivery worker and its settings.
type webhookRuntime struct {
	opts     WebhookOptions
	client   *http.Client
	allow    func(string, netip.Addr) bool
	matchers hookMatchers
	poke     chan struct{}

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{}
	wg     sync.WaitGroup // deliveries in flight

	mu       sync.Mutex
	inflight map[string]bool // outbox keys being delivered
}

func newWebhookRuntime(c webhookConfig) (*webhookRuntime, error) {
	o := c.opts
	if o.Concurrency < 0 || o.Timeout < 0 || o.MaxAttempts < 0 || o.MaxAge < 0 ||
		o.BaseBackoff < 0 || o.MaxBackoff < 0 || o.PollInterval < 0 {
		return nil, invalidf("", "flagstore: WebhookOptions fields must not be negative")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 10
	}
	def(&o.Timeout, 10*time.Second)
	def(&o.MaxAge, 24*time.Hour)
	def(&o.BaseBackoff, time.Second)
	def(&o.MaxBackoff, 5*time.Minute)
	def(&o.PollInterval, time.Second)
	if o.Jitter == nil {
		o.Jitter = func(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
	}
	allow := c.allow
	if allow == nil {
		allow = PublicWebhookDestination
	}
	return &webhookRuntime{opts: o, allow: allow, client: guardClient(c.client, allow),
		poke: make(chan struct{}, 1), inflight: map[string]bool{}}, nil
}

// wake makes the worker look at the outbox now.
func (h *webhookRuntime) wake() {
	select {
	case h.poke <- struct{}{}:
	default: // already awake or about to be
	}
}

// backoff is the wait before retrying a delivery that failed attempts times.
func (o *WebhookOptions) backoff(attempts int) time.Duration {
	d := o.BaseBackoff
	for i := 1; i < attempts && d < o.MaxBackoff; i++ {
		d *= 2
	}
	return max(o.Jitter(min(d, o.MaxBackoff)), 0)
}

// startWebhooks starts the delivery worker; pending deliveries left by an
// earlier run are sent at once.
func (s *Store) startWebhooks() {
	h := s.hooks
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.done = make(chan struct{})
	go s.runWebhooks()
}

// stopWebhooks stops the worker: deliveries in flight are cancelled and
// stay in the outbox, to be sent by the next Open.
func (s *Store) stopWebhooks() {
	if h := s.hooks; h.cancel != nil {
		h.cancel()
		<-h.done
	}
}

func (s *Store) runWebhooks() {
	h := s.hooks
	defer close(h.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		wait := h.opts.PollInterval
		if next := s.dispatchWebhooks(); next > 0 && next < wait {
			wait = next
		}
		timer.Reset(wait)
		select {
		case <-h.ctx.Done():
			h.wg.Wait()
			return
		case <-h.poke:
		case <-timer.C:
		}
	}
}

// outboxItem is an outbox record as the worker read it.
type outboxItem struct {
	key     string
	version uint64
	rec     outboxRecord
}

// dispatchWebhooks starts a delivery of each due outbox record not already
// in flight, up to the free concurrency, and returns how long until the
// next record falls due (0: none known).
func (s *Store) dispatchWebhooks() time.Duration {
	h := s.hooks
	h.mu.Lock()
	free := h.opts.Concurrency - len(h.inflight)
	h.mu.Unlock()
	if free <= 0 {
		return 0 // a delivery that finishes wakes the worker
	}
	now := s.nowMillis()
	var due []outboxItem
	var corrupt []string
	var next time.Duration
	err := s.view(h.ctx, func(r *rtx) error {
		due, corrupt = due[:0], corrupt[:0]
		return r.tx.Scan(outboxPrefix, "", func(it store.Item) bool {
			due16, _, _ := strings.Cut(strings.TrimPrefix(it.Key, outboxPrefix), sep)
			at, err := strconv.ParseUint(due16, 16, 64)
			var rec outboxRecord
			if err != nil || json.Unmarshal(it.Value, &rec) != nil {
				corrupt = append(corrupt, it.Key)
				return true
			}
			if int64(at) > now {
				next = time.Duration(int64(at)-now) * time.Millisecond
				return false
			}
			if h.busy(it.Key) {
				return true
			}
			due = append(due, outboxItem{key: it.Key, version: it.Version, rec: rec})
			return len(due) < free
		})
	})
	if err != nil {
		if h.ctx.Err() == nil {
			s.log.Warn("webhooks: cannot read the outbox", "err", err)
		}
		return 0
	}
	for _, k := range corrupt {
		s.log.Error("webhooks: dropping an unreadable outbox record", "key", k)
		s.settle(outboxItem{key: k, version: store.Any}, nil, true)
	}
	for _, d := range due {
		h.mu.Lock()
		h.inflight[d.key] = true
		h.mu.Unlock()
		h.wg.Add(1)
		go s.deliver(d)
	}
	return next
}

// busy reports whether the outbox record at key is being delivered.
func (h *webhookRuntime) busy(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.inflight[key]
}

// deliver sends one outbox record and settles it.
func (s *Store) deliver(d outboxItem) {
	h := s.hooks
	defer func() {
		h.mu.Lock()
		delete(h.inflight, d.key)
		h.mu.Unlock()
		h.wg.Done()
		h.wake()
	}()
	var hook Webhook
	err := s.view(h.ctx, func(r *rtx) error {
		_, err := getWebhook(r, d.rec.Webhook, &hook)
		return err
	})
	var entry AuditEntry
	if err == nil {
		entry, err = s.GetAuditEntry(h.ctx, d.rec.Entry)
	}
	switch {
	case h.ctx.Err() != nil:
		return // closing: the record stays for the next Open
	case errors.Is(err, ErrNotFound), err == nil && !hook.On:
		s.settle(d, nil, true) // webhook deleted or switched off: nothing to send
		return
	case err != nil:
		s.settle(d, err, false)
		return
	}
	body, err := json.Marshal(newAuditEntryRep(entry))
	if err == nil {
		err = s.post(h.ctx, &hook, body)
	}
	if h.ctx.Err() != nil {
		return
	}
	s.settle(d, err, false)
}

// webhookUserAgent is the User-Agent of deliveries.
const webhookUserAgent = "flagstore-webhooks"

// post sends body to the webhook; anything but a 2xx answer is an error.
func (s *Store) post(ctx context.Context, hook *Webhook, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.hooks.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", webhookUserAgent)
	if hook.Secret != "" {
		req.Header.Set("X-LD-Signature", SignWebhook(hook.Secret, body))
	}
	resp, err := s.hooks.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the receiver answered %s", resp.Status)
	}
	return nil
}

// SignWebhook returns the X-LD-Signature of a delivery: the hex HMAC-SHA256
// of the raw body keyed by the webhook's secret. A receiver computes it
// over the bytes it received and compares with [hmac.Equal].
func SignWebhook(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// settle records how a delivery went, in one transaction: a success or a
// discard deletes the record; a failure moves it to its next due time, or,
// out of attempts or age, drops it and reports the webhook as failing. A
// record that changed since the worker read it was settled elsewhere.
func (s *Store) settle(d outboxItem, result error, discard bool) {
	o := &s.hooks.opts
	now := s.nowMillis()
	rec := d.rec
	var dropped, switched bool
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = WithComment(ctx, "switched off by flagstore: its deliveries kept failing")
	err := s.update(ctx, func(w *wtx) error {
		dropped, switched = false, false
		if err := w.w.Delete(d.key, d.version); err != nil {
			if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
				return nil
			}
			return err
		}
		if ok, err := w.exists(webhookKey(rec.Webhook)); discard || err != nil || !ok {
			return err
		}
		var st WebhookStatus
		if _, err := w.get(webhookStatusKey(rec.Webhook), &st); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		switch {
		case result == nil:
			st.LastSuccess, st.ConsecutiveFailures = now, 0
		case refusedDestination(result) || rec.Attempts+1 >= o.MaxAttempts || now-rec.First >= o.MaxAge.Milliseconds():
			rec.Attempts++
			st.Dropped++
			dropped = true
			if o.SwitchOffFailing {
				var err error
				if switched, err = s.switchOffWebhook(w, rec.Webhook); err != nil {
					return err
				}
			}
		default:
			rec.Attempts++
			rec.LastError = truncate(result.Error(), 512)
			due := now + o.backoff(rec.Attempts).Milliseconds()
			if err := w.put(outboxKey(due, rec.Entry, rec.Webhook), &rec, storeAny); err != nil {
				return err
			}
		}
		if result != nil {
			st.LastFailure, st.LastError = now, truncate(result.Error(), 512)
			st.ConsecutiveFailures++
		}
		return w.put(webhookStatusKey(rec.Webhook), &st, storeAny)
	})
	switch {
	case err != nil:
		s.log.Warn("webhooks: cannot record a delivery's outcome", "webhook", rec.Webhook, "entry", rec.Entry, "err", err)
	case dropped:
		s.log.Error("webhooks: delivery dropped", "webhook", rec.Webhook, "entry", rec.Entry,
			"attempts", rec.Attempts, "err", result, "switchedOff", switched)
	}
}

// switchOffWebhook turns a failing webhook off, in w, with an audit entry.
func (s *Store) switchOffWebhook(w *wtx, id string) (bool, error) {
	var before Webhook
	ver, err := getWebhook(&w.rtx, id, &before)
	if err != nil || !before.On {
		return false, err
	}
	after := cloneWebhook(&before)
	after.On = false
	if err := w.put(webhookKey(id), &after, ver); err != nil {
		return false, err
	}
	return true, s.recordWebhook(w, "updated", &before, &after, "updateOn")
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
