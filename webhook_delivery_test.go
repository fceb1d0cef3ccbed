package flagstore

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
)

// allowAnyDestination lets tests deliver to their httptest receivers on
// the loopback interface.
func allowAnyDestination(string, netip.Addr) bool { return true }

// fastHooks are delivery settings that keep the tests quick: retries after
// a few milliseconds, no jitter.
var fastHooks = WebhookOptions{BaseBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
	PollInterval: 10 * time.Millisecond, Jitter: func(d time.Duration) time.Duration { return d }}

// whDelivery is one request a receiver got.
type whDelivery struct {
	body   []byte
	header http.Header
	entry  AuditEntry
	path   string
	status int // what the receiver answered
}

// whReceiver is an httptest receiver: answer decides each response from the
// attempt's number (1-based); every request is kept.
type whReceiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []whDelivery
	answer func(n int) int
	signal chan struct{}
}

func newWhReceiver(t testing.TB, answer func(n int) int) *whReceiver {
	rc := &whReceiver{answer: answer, signal: make(chan struct{}, 1000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		d := whDelivery{body: body, header: r.Header.Clone(), path: r.URL.Path}
		_ = json.Unmarshal(body, &d.entry)
		rc.mu.Lock()
		rc.got = append(rc.got, d)
		n := len(rc.got)
		rc.mu.Unlock()
		status := http.StatusOK
		if rc.answer != nil {
			status = rc.answer(n)
		}
		rc.mu.Lock()
		rc.got[n-1].status = status
		rc.mu.Unlock()
		w.WriteHeader(status)
		rc.signal <- struct{}{}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

// deliveries returns what the receiver got so far.
func (rc *whReceiver) deliveries() []whDelivery {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]whDelivery(nil), rc.got...)
}

// waitFor waits until cond holds of the deliveries, or fails after 5s.
func (rc *whReceiver) waitFor(t testing.TB, what string, cond func([]whDelivery) bool) []whDelivery {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		if got := rc.deliveries(); cond(got) {
			return got
		}
		select {
		case <-rc.signal:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d deliveries", what, len(rc.deliveries()))
		}
	}
}

// ofKind keeps the deliveries of one kind of audit entry.
func ofKind(ds []whDelivery, kind string) []whDelivery {
	var out []whDelivery
	for _, d := range ds {
		if d.entry.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

// whStore opens an in-memory store that may deliver to loopback.
func whStore(t testing.TB, o WebhookOptions, opts ...Option) *Store {
	t.Helper()
	st, err := Open(":memory:", append([]Option{WithWebhookDestinations(allowAnyDestination), WithWebhookOptions(o)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// outboxLen counts pending deliveries.
func outboxLen(t testing.TB, st *Store) int {
	t.Helper()
	n := 0
	err := st.db.View(context.Background(), func(tx store.ReadTx) error {
		return tx.Scan(outboxPrefix, "", func(store.Item) bool { n++; return true })
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWebhook_SignatureVerifies(t *testing.T) {
	t.Parallel()
	rc := newWhReceiver(t, nil)
	st := whStore(t, fastHooks)
	signed, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL + "/signed", Sign: true, On: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL + "/plain", On: true}); err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	f := tstMustFlag(t, st, "shop", "f")
	got := rc.waitFor(t, "the flag's creation at both webhooks", func(ds []whDelivery) bool { return len(ofKind(ds, "flag")) == 2 })
	for _, d := range ofKind(got, "flag") {
		if d.header.Get("Content-Type") != "application/json" || d.header.Get("User-Agent") != webhookUserAgent {
			t.Errorf("headers %v", d.header)
		}
		sig := d.header.Get("X-LD-Signature")
		// Which webhook got it shows in the signature's presence alone.
		if sig == "" {
			continue
		}
		if !hmac.Equal([]byte(sig), []byte(SignWebhook(signed.Secret, d.body))) {
			t.Errorf("signature %s does not verify with the secret", sig)
		}
		if hmac.Equal([]byte(sig), []byte(SignWebhook("wrong", d.body))) {
			t.Error("signature verifies with another secret")
		}
		// The body is the audit entry in its detailed form, as GET
		// /auditlog/{id} shows it.
		e, err := st.GetAuditEntry(t.Context(), d.entry.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(newAuditEntryRep(e))
		if !bytes.Equal(d.body, want) || d.entry.Target.Name != f.Name || len(d.entry.CurrentVersion) == 0 {
			t.Errorf("body %s, want %s", d.body, want)
		}
	}
	var n int
	for _, d := range ofKind(got, "flag") {
		if d.header.Get("X-LD-Signature") != "" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d signed deliveries of the flag's creation, want 1 (the unsigned webhook sends no signature)", n)
	}
}

func TestWebhook_StatementsFilter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		statements []Statement
		// want lists the projects and flags delivered: projects shop and
		// other, flag a in shop (created, then turned on in test and in
		// production), flag b (tagged hot) in other.
		want []string
	}{
		{"none means everything", nil, []string{"Project shop", "Project other", "Flag a", "Flag a", "Flag a", "Flag b"}},
		{"flags only", []Statement{{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*:env/*:flag/*"}}}, []string{"Flag a", "Flag a", "Flag a", "Flag b"}},
		{"one project's flags", []Statement{{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/shop:env/*:flag/*"}}}, []string{"Flag a", "Flag a", "Flag a"}},
		{"deny wins", []Statement{
			{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*", "proj/*:env/*:flag/*"}},
			{Effect: "deny", Actions: []string{"*"}, Resources: []string{"proj/other", "proj/other:env/*:flag/*"}},
		}, []string{"Project shop", "Flag a", "Flag a", "Flag a"}},
		{"by action", []Statement{{Effect: "allow", Actions: []string{"createProject"}, Resources: []string{"proj/*"}}}, []string{"Project shop", "Project other"}},
		{"by tag", []Statement{{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*:env/*:flag/*;hot"}}}, []string{"Flag b"}},
		{"by environment", []Statement{{Effect: "allow", Actions: []string{"updateOn"}, Resources: []string{"proj/*:env/test:flag/*"}}}, []string{"Flag a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := newWhReceiver(t, nil)
			st := whStore(t, fastHooks)
			if _, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL, On: true, Statements: tc.statements}); err != nil {
				t.Fatal(err)
			}
			tstMustProject(t, st, "shop")
			tstMustProject(t, st, "other")
			tstMustFlag(t, st, "shop", "a")
			tstMustFlag(t, st, "other", "b", "hot")
			for _, env := range []string{"test", "production"} {
				if _, err := st.UpdateFlag(t.Context(), "shop", "a", func(f *Flag) error { f.Environments[env].On = true; return nil }); err != nil {
					t.Fatal(err)
				}
			}
			// Every delivery is answered 2xx, so an empty outbox means the
			// receiver has them all.
			got := rc.waitFor(t, "the changes", func(ds []whDelivery) bool { return outboxLen(t, st) == 0 })
			var targets []string
			for _, d := range got {
				if d.entry.Kind == "project" || d.entry.Kind == "flag" {
					targets = append(targets, d.entry.Target.Name)
				}
			}
			if strings.Join(sortedCopy(targets), ",") != strings.Join(sortedCopy(tc.want), ",") {
				t.Errorf("delivered %v, want %v", targets, tc.want)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestWebhook_RetriesUntilSuccessDeliverOnce(t *testing.T) {
	t.Parallel()
	// Fails the first two attempts at each entry, then succeeds.
	var mu sync.Mutex
	tries := map[string]int{}
	var rc *whReceiver
	rc = newWhReceiver(t, func(n int) int {
		d := rc.deliveries()[n-1]
		mu.Lock()
		defer mu.Unlock()
		tries[d.entry.ID]++
		if tries[d.entry.ID] <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusNoContent
	})
	st := whStore(t, fastHooks)
	h, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL, On: true,
		Statements: []Statement{{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	p := tstMustProject(t, st, "shop")
	rc.waitFor(t, "three attempts", func(ds []whDelivery) bool { return len(ds) >= 3 && outboxLen(t, st) == 0 })
	time.Sleep(50 * time.Millisecond) // room for a wrong extra delivery
	got := rc.deliveries()
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 3", len(got))
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tries) != 1 || got[0].entry.Target.Name != p.Name {
		t.Fatalf("attempts per entry %v", tries)
	}
	st2, err := st.WebhookStatus(t.Context(), h.ID)
	if err != nil || st2.LastSuccess == 0 || st2.ConsecutiveFailures != 0 || st2.Dropped != 0 || st2.LastFailure == 0 {
		t.Fatalf("status %+v, %v", st2, err)
	}
}

func TestWebhook_FailingIsDroppedReportedAndSwitchedOff(t *testing.T) {
	t.Parallel()
	rc := newWhReceiver(t, func(int) int { return http.StatusInternalServerError })
	var logs bytes.Buffer
	var logMu sync.Mutex
	o := fastHooks
	o.MaxAttempts, o.SwitchOffFailing = 3, true
	st := whStore(t, o, WithLogger(slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, nil))))
	h, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL, On: true,
		Statements: []Statement{{Effect: "allow", Actions: []string{"createProject"}, Resources: []string{"proj/*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	rc.waitFor(t, "three attempts", func(ds []whDelivery) bool { return len(ds) >= 3 })
	deadline := time.Now().Add(5 * time.Second)
	for outboxLen(t, st) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got, err := st.GetWebhook(t.Context(), h.ID)
	if err != nil || got.On {
		t.Fatalf("webhook %+v, %v: want switched off", got, err)
	}
	status, err := st.WebhookStatus(t.Context(), h.ID)
	if err != nil || status.Dropped != 1 || status.ConsecutiveFailures != 3 || !strings.Contains(status.LastError, "500") {
		t.Fatalf("status %+v, %v", status, err)
	}
	logMu.Lock()
	defer logMu.Unlock()
	if !strings.Contains(logs.String(), "delivery dropped") || !strings.Contains(logs.String(), h.ID) {
		t.Fatalf("log: %s", logs.String())
	}
	if n := len(rc.deliveries()); n != 3 {
		t.Fatalf("%d attempts, want exactly 3", n)
	}
	// The switch-off is in the audit log.
	entries, err := st.ListAuditLog(t.Context(), AuditListOptions{Spec: "webhook/*"})
	if err != nil || len(entries) != 2 || !strings.Contains(entries[0].Comment, "switched off") {
		t.Fatalf("audit %+v, %v", entries, err)
	}
}

// lockedWriter serialises writes to a buffer the test reads.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestWebhook_PendingDeliveriesSurviveReopen(t *testing.T) {
	t.Parallel()
	// The receiver hangs until released; the store is closed meanwhile.
	release := make(chan struct{})
	var hung sync.Once
	var rc *whReceiver
	rc = newWhReceiver(t, func(n int) int {
		select {
		case <-release:
			return http.StatusOK
		default:
		}
		hung.Do(func() {})
		<-release
		return http.StatusServiceUnavailable
	})
	path := filepath.Join(t.TempDir(), "flags.db")
	open := func() *Store {
		st, err := Open(path, WithWebhookDestinations(allowAnyDestination), WithWebhookOptions(fastHooks))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	st := open()
	if _, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL, On: true,
		Statements: []Statement{{Effect: "allow", Actions: []string{"*"}, Resources: []string{"proj/*:env/*:flag/*"}}}}); err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	tstMustFlag(t, st, "shop", "f")
	tstMustFlag(t, st, "shop", "g")
	rc.waitFor(t, "the first attempt", func(ds []whDelivery) bool { return len(ds) >= 1 })
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	close(release)
	st = open()
	defer st.Close()
	got := rc.waitFor(t, "both flags after reopening", func(ds []whDelivery) bool {
		return outboxLen(t, st) == 0 && len(ds) >= 3
	})
	seen := map[string]bool{}
	for _, d := range got {
		if d.status == http.StatusOK {
			seen[d.entry.Target.Name] = true
		}
	}
	if !seen["Flag f"] || !seen["Flag g"] {
		t.Fatalf("delivered %v, want f and g", seen)
	}
}

func TestWebhook_OffDeletedAndDryRunsSendNothing(t *testing.T) {
	t.Parallel()
	rc := newWhReceiver(t, nil)
	st := whStore(t, fastHooks)
	if _, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL + "/off"}); err != nil {
		t.Fatal(err)
	}
	on, err := st.CreateWebhook(t.Context(), WebhookPost{URL: rc.srv.URL + "/on", On: true})
	if err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	rc.waitFor(t, "the project", func(ds []whDelivery) bool { return outboxLen(t, st) == 0 && len(ofKind(ds, "project")) == 1 })
	if _, err := st.PatchProject(t.Context(), "shop", Patch{Kind: JSONPatch, DryRun: true,
		Ops: json.RawMessage(`[{"op":"replace","path":"/name","value":"Dry"}]`)}); err != nil {
		t.Fatal(err)
	}
	if n := outboxLen(t, st); n != 0 {
		t.Fatalf("%d pending after a dry run, want 0", n)
	}
	if err := st.DeleteWebhook(t.Context(), on.ID); err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, st, "shop", "f")
	if n := outboxLen(t, st); n != 0 {
		t.Fatalf("%d pending with no webhook on", n)
	}
	for _, d := range rc.deliveries() {
		if d.entry.Target.Name == "Dry" || d.path == "/off" {
			t.Fatalf("unexpected delivery %s", d.body)
		}
	}
}

func TestWebhook_DestinationPolicy(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true}, {"2606:4700::1111", true},
		{"127.0.0.1", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fd00::1", false}, {"100.64.0.1", false}, {"0.0.0.0", false},
		{"::ffff:127.0.0.1", false}, {"64:ff9b::a00:1", false}, {"224.0.0.1", false}, {"192.0.2.1", false},
	} {
		if got := PublicWebhookDestination("h", netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("PublicWebhookDestination(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}

	rc := newWhReceiver(t, nil)
	post := func(c *http.Client, url string) error {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader("{}"))
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	// The default client checks at dial time, after name resolution
	// ("localhost" resolves without the network).
	port := rc.srv.URL[strings.LastIndexByte(rc.srv.URL, ':'):]
	if err := post(guardClient(nil, PublicWebhookDestination), "http://localhost"+port); !refusedDestination(err) {
		t.Errorf("default client to localhost: %v, want refused", err)
	}
	if err := post(guardClient(nil, allowAnyDestination), "http://localhost"+port); err != nil {
		t.Errorf("default client, allowing policy: %v", err)
	}
	// A host's transport with its own dialer: the address it connected to
	// is checked. This one sends every name to the receiver, as a DNS
	// answer pointing at loopback would.
	var d net.Dialer
	hostT := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, rc.srv.Listener.Addr().String())
	}}
	if err := post(guardClient(&http.Client{Transport: hostT}, PublicWebhookDestination), "http://hooks.example.com/"); !refusedDestination(err) {
		t.Errorf("host transport to a name resolving to loopback: %v, want refused", err)
	}
	if err := post(guardClient(&http.Client{Transport: hostT}, allowAnyDestination), "http://hooks.example.com/"); err != nil {
		t.Errorf("host transport, allowing policy: %v", err)
	}

	// A store with the default policy drops a delivery the policy refuses
	// at once, and reports it.
	st, err := Open(":memory:", WithWebhookClient(&http.Client{Transport: hostT}), WithWebhookOptions(fastHooks))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.CreateWebhook(t.Context(), WebhookPost{URL: "http://hooks.example.com/", On: true})
	if err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	deadline := time.Now().Add(5 * time.Second)
	for outboxLen(t, st) != 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	status, err := st.WebhookStatus(t.Context(), h.ID)
	if err != nil || status.Dropped < 1 || !strings.Contains(status.LastError, "not allowed") {
		t.Fatalf("status %+v, %v", status, err)
	}
	for _, d := range rc.deliveries() {
		if d.header.Get("User-Agent") == webhookUserAgent {
			t.Fatal("a refused destination got a delivery")
		}
	}
}
