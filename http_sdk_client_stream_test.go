package flagstore

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// csEvent is one event read from a stream.
type csEvent struct{ name, data string }

// csStream reads a stream's events in the background.
type csStream struct {
	t      *testing.T
	events chan csEvent
}

// stream opens an event stream; it is closed when the test ends.
func (e *csEnv) stream(t *testing.T, r htReq) *csStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var body io.Reader
	if r.Body != nil {
		body = strings.NewReader(r.Body.(string))
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, e.srv.URL+r.Path, body)
	if err != nil {
		t.Fatal(err)
	}
	if r.Auth != "-" {
		req.Header.Set("Authorization", r.Auth)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("%s %s: %d %s %s", r.Method, r.Path, resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	s := &csStream{t: t, events: make(chan csEvent, 64)}
	go func() {
		defer resp.Body.Close()
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev csEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					s.events <- ev
				}
				ev = csEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			case line == ":":
				s.events <- csEvent{name: ":"}
			}
		}
	}()
	return s
}

// next returns the next event other than a heartbeat, failing the test if
// none comes within a second.
func (s *csStream) next(name string) csEvent {
	s.t.Helper()
	timeout := time.After(time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("the stream ended waiting for %s", name)
			}
			if ev.name == ":" {
				continue
			}
			if ev.name != name {
				s.t.Fatalf("event %s %s, want %s", ev.name, ev.data, name)
			}
			return ev
		case <-timeout:
			s.t.Fatalf("no %s event within 1s", name)
		}
	}
}

// change returns the data of the next event, which must be name (patch
// or delete) for key.
func (s *csStream) change(name, key string) map[string]json.RawMessage {
	s.t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s.next(name).data), &m); err != nil {
		s.t.Fatal(err)
	}
	if string(m["key"]) != `"`+key+`"` {
		s.t.Fatalf("%s of %s, want %s", name, m["key"], key)
	}
	return m
}

func csVersion(t *testing.T, raw json.RawMessage) uint64 {
	t.Helper()
	var v uint64
	if err := json.Unmarshal(raw, &v); err != nil || v == 0 {
		t.Fatalf("version %s", raw)
	}
	return v
}

func TestHTTPSDKClient_Stream(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	s := e.stream(t, htReq{Method: http.MethodGet, Path: "/eval/" + e.envID + "/" + csB64(`{"key":"alice"}`, false), Auth: "-"})
	var put map[string]csEntry
	if err := json.Unmarshal([]byte(s.next("put").data), &put); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(put)); !slices.Equal(got, csVisible[CredentialClientSideID]) {
		t.Fatalf("put flags %v, want %v", got, csVisible[CredentialClientSideID])
	}
	last := *put["both"].Version

	// A change to a flag the client-side ID may not see sends nothing;
	// turning "both" off changes it and "prereq-child", whose
	// prerequisite it is.
	csPatch(t, e.st, "server-only", `{"kind":"turnFlagOn"}`)
	csPatch(t, e.st, "both", `{"kind":"turnFlagOff"}`)
	p := s.change("patch", "both")
	if string(p["value"]) != "false" || csVersion(t, p["version"]) <= last {
		t.Errorf("patch %v: want value false and a version above %d", p, last)
	}
	if _, ok := p["reason"]; ok {
		t.Errorf("patch %v has a reason, not asked for", p)
	}
	last = csVersion(t, p["version"])
	p = s.change("patch", "prereq-child")
	if string(p["value"]) != "false" {
		t.Errorf("prereq-child: %v, want false once its prerequisite is off", p)
	}

	// A segment change alters "rule" for alice; the flag's own version
	// stays, the patch's version rises.
	csPatchSegment(t, e.st, "beta", `{"kind":"addIncludedUsers","values":["alice"]}`)
	p = s.change("patch", "rule")
	if string(p["value"]) != "true" || csVersion(t, p["version"]) <= last || string(p["flagVersion"]) != string(mustJSON(put["rule"].FlagVersion)) {
		t.Errorf("rule patch %v: want true, a version above %d, flagVersion %d", p, last, put["rule"].FlagVersion)
	}

	// A flag made unavailable, and a deleted one, are deleted.
	csPatch(t, e.st, "js-only", `{"kind":"turnOffClientSideAvailability","value":"usingEnvironmentId"}`)
	s.change("delete", "js-only")
	if err := e.st.DeleteFlag(t.Context(), "shop", "rule"); err != nil {
		t.Fatal(err)
	}
	d := s.change("delete", "rule")
	if csVersion(t, d["version"]) <= last {
		t.Errorf("delete %v: version not above %d", d, last)
	}
	// A flag made available appears.
	csPatch(t, e.st, "mobile-only", `{"kind":"turnOnClientSideAvailability","value":"usingEnvironmentId"}`)
	s.change("patch", "mobile-only")
}

func TestHTTPSDKClient_MobileStream(t *testing.T) {
	t.Parallel()
	e := csServer(t)
	s := e.stream(t, htReq{Method: "REPORT", Path: "/meval?withReasons=true", Auth: e.mobKey, Body: `{"kind":"user","key":"bob"}`})
	var put map[string]csEntry
	if err := json.Unmarshal([]byte(s.next("put").data), &put); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(put)); !slices.Equal(got, csVisible[CredentialMobileKey]) {
		t.Fatalf("put flags %v, want %v", got, csVisible[CredentialMobileKey])
	}
	if string(put["rule"].Reason) != `{"kind":"RULE_MATCH","ruleIndex":0,"ruleId":`+string(mustJSON(csRuleID(t, e.st)))+`}` {
		t.Errorf("rule reason %s", put["rule"].Reason)
	}
	csPatch(t, e.st, "rule", `{"kind":"turnFlagOff"}`)
	if p := s.change("patch", "rule"); string(p["reason"]) != `{"kind":"OFF"}` {
		t.Errorf("patch %v, want reason OFF", p)
	}
	csPatch(t, e.st, "mobile-only", `{"kind":"turnOffClientSideAvailability","value":"usingMobileKey"}`)
	s.change("delete", "mobile-only")
}

func csRuleID(t *testing.T, st *Store) string {
	t.Helper()
	f, err := st.GetFlag(t.Context(), "shop", "rule")
	if err != nil {
		t.Fatal(err)
	}
	return f.Environments["production"].Rules[0].ID
}

func TestHTTPSDKClient_PingStreams(t *testing.T) {
	t.Parallel()
	e := csServer(t, WithSDKHeartbeat(10*time.Millisecond))
	for _, tc := range []struct {
		req  htReq
		flag string
	}{
		{htReq{Method: http.MethodGet, Path: "/ping/" + e.envID, Auth: "-"}, "js-only"},
		{htReq{Method: http.MethodGet, Path: "/mping", Auth: e.mobKey}, "mobile-only"},
	} {
		t.Run(tc.req.Path, func(t *testing.T) {
			s := e.stream(t, tc.req)
			s.next("ping")
			csPatch(t, e.st, tc.flag, `{"kind":"turnFlagOn"}`)
			s.next("ping")
			// Heartbeats keep an idle stream open.
			select {
			case ev := <-s.events:
				if ev.name != ":" {
					t.Errorf("event %v, want a heartbeat", ev)
				}
			case <-time.After(time.Second):
				t.Error("no heartbeat")
			}
		})
	}
}
