package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
)

// sdkSemantic applies a semantic patch to a flag in production.
func sdkSemantic(t testing.TB, st *Store, proj, flag, instructions string) {
	t.Helper()
	p, err := ParsePatch("application/json; domain-model=launchdarkly.semanticpatch",
		[]byte(`{"environmentKey":"production","instructions":`+instructions+`}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PatchFlag(t.Context(), proj, flag, p); err != nil {
		t.Fatalf("PatchFlag(%s, %s): %v", flag, instructions, err)
	}
}

// sdkEvents collects the SDK feed of an environment on a goroutine.
type sdkEvents struct {
	ch   chan SDKEvent
	done chan error
}

func sdkWatch(t testing.TB, st *Store, proj, env string) *sdkEvents {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ev := &sdkEvents{ch: make(chan SDKEvent, 1024), done: make(chan error, 1)}
	go func() {
		ev.done <- st.StreamSDK(ctx, proj, env, func(e SDKEvent) error { ev.ch <- e; return nil })
	}()
	t.Cleanup(cancel)
	return ev
}

// next returns the next event, failing after a second.
func (ev *sdkEvents) next(t testing.TB) SDKEvent {
	t.Helper()
	select {
	case e := <-ev.ch:
		return e
	case err := <-ev.done:
		t.Fatalf("stream ended: %v", err)
	case <-time.After(time.Second):
		t.Fatal("no event within 1s")
	}
	return SDKEvent{}
}

// sdkEventData is the decoded data of a put, patch or delete.
type sdkEventData struct {
	Path    string `json:"path"`
	Version int    `json:"version"`
	Data    struct {
		Key      string                     `json:"key"`
		Version  int                        `json:"version"`
		On       bool                       `json:"on"`
		Flags    map[string]json.RawMessage `json:"flags"`
		Segments map[string]json.RawMessage `json:"segments"`
	} `json:"data"`
}

func (ev *sdkEvents) expect(t testing.TB, name, path string) sdkEventData {
	t.Helper()
	e := ev.next(t)
	var d sdkEventData
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatalf("%s: %v in %s", e.Name, err, e.Data)
	}
	if e.Name != name || d.Path != path {
		t.Fatalf("event %s %s, want %s %s: %s", e.Name, d.Path, name, path, e.Data)
	}
	return d
}

func TestSDKFeed_PutThenChanges(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "a")
	tstMustSegment(t, st, "p", "production", "seg")
	ev := sdkWatch(t, st, "p", "production")

	put := ev.expect(t, "put", "/")
	if len(put.Data.Flags) != 1 || put.Data.Flags["a"] == nil || put.Data.Segments["seg"] == nil {
		t.Fatalf("put = %+v", put.Data)
	}

	sdkSemantic(t, st, "p", "a", `[{"kind":"turnFlagOn"}]`)
	d := ev.expect(t, "patch", "/flags/a")
	if !d.Data.On || d.Data.Version != 2 {
		t.Errorf("patch: on=%v version=%d, want on at 2", d.Data.On, d.Data.Version)
	}

	// A change in another environment is not this one's news; the next
	// event is the flag created after it.
	p, _ := ParsePatch("application/json; domain-model=launchdarkly.semanticpatch",
		[]byte(`{"environmentKey":"test","instructions":[{"kind":"turnFlagOn"}]}`))
	if _, err := st.PatchFlag(t.Context(), "p", "a", p); err != nil {
		t.Fatal(err)
	}
	tstMustFlag(t, st, "p", "b")
	ev.expect(t, "patch", "/flags/b")

	if err := st.DeleteFlag(t.Context(), "p", "b"); err != nil {
		t.Fatal(err)
	}
	if d := ev.expect(t, "delete", "/flags/b"); d.Version != 2 {
		t.Errorf("delete version = %d, want 2", d.Version)
	}
	// Recreated, it starts above its deletion, so SDKs take it.
	tstMustFlag(t, st, "p", "b")
	if d := ev.expect(t, "patch", "/flags/b"); d.Data.Version != 3 {
		t.Errorf("recreated version = %d, want 3", d.Data.Version)
	}

	if err := st.DeleteSegment(t.Context(), "p", "production", "seg"); err != nil {
		t.Fatal(err)
	}
	if d := ev.expect(t, "delete", "/segments/seg"); d.Version != 2 {
		t.Errorf("segment delete version = %d, want 2", d.Version)
	}
	tstMustSegment(t, st, "p", "production", "seg")
	if d := ev.expect(t, "patch", "/segments/seg"); d.Data.Version != 3 {
		t.Errorf("recreated segment version = %d, want 3", d.Data.Version)
	}
	// A segment of another environment is not news here.
	tstMustSegment(t, st, "p", "test", "other")
	tstMustFlag(t, st, "p", "c")
	ev.expect(t, "patch", "/flags/c")
}

func TestSDKFeed_ArchiveWithholds(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "a")
	ev := sdkWatch(t, st, "p", "production")
	ev.expect(t, "put", "/")

	archive := func(on bool) {
		p, err := ParsePatch("application/json", []byte(`[{"op":"replace","path":"/archived","value":`+map[bool]string{true: "true", false: "false"}[on]+`}]`))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.PatchFlag(t.Context(), "p", "a", p); err != nil {
			t.Fatal(err)
		}
	}
	archive(true)
	if d := ev.expect(t, "delete", "/flags/a"); d.Version != 2 {
		t.Errorf("archive: delete version %d, want 2", d.Version)
	}
	if _, err := st.Evaluate(t.Context(), "p", "production", "a", ldcontext.New("u")); !errors.Is(err, ErrNotFound) {
		t.Errorf("Evaluate(archived) = %v, want ErrNotFound", err)
	}
	archive(false)
	if d := ev.expect(t, "patch", "/flags/a"); d.Data.Version != 3 {
		t.Errorf("restore: patch version %d, want 3", d.Data.Version)
	}
}

func TestSDKFeed_EnvironmentAndStoreEndStreams(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	ev := sdkWatch(t, st, "p", "test")
	ev.expect(t, "put", "/")
	if err := st.DeleteEnvironment(t.Context(), "p", "test"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ev.done:
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("stream of a deleted environment ended with %v, want ErrNotFound", err)
		}
	case <-time.After(time.Second):
		t.Fatal("stream of a deleted environment still open")
	}
	if err := st.StreamSDK(t.Context(), "p", "test", func(SDKEvent) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("StreamSDK(deleted env) = %v, want ErrNotFound", err)
	}

	ev = sdkWatch(t, st, "p", "production")
	ev.expect(t, "put", "/")
	st.Close()
	select {
	case err := <-ev.done:
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("stream of a closed store ended with %v, want ErrUnavailable", err)
		}
	case <-time.After(time.Second):
		t.Fatal("stream still open after Close")
	}
}

func TestSDKFeed_SlowConsumerGetsFreshPut(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "a")
	release := make(chan struct{})
	var events []SDKEvent
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got, started := make(chan struct{}), make(chan struct{})
	go func() {
		_ = st.StreamSDK(ctx, "p", "production", func(e SDKEvent) error {
			if len(events) == 0 {
				events = append(events, e)
				close(started)
				<-release // fall behind while the changes pile up
				return nil
			}
			events = append(events, e)
			if e.Name == "put" {
				close(got)
				<-ctx.Done()
			}
			return nil
		})
	}()
	<-started
	for i := 0; i < sdkSubBuffer+20; i++ {
		ins := `[{"kind":"turnFlagOn"}]`
		if i%2 == 1 {
			ins = `[{"kind":"turnFlagOff"}]`
		}
		sdkSemantic(t, st, "p", "a", ins)
	}
	if err := st.sdk.sync(t.Context(), nil); err != nil { // every change offered
		t.Fatal(err)
	}
	close(release)
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatalf("no fresh put after overflow; %d events", len(events))
	}
	last := events[len(events)-1]
	if !strings.Contains(string(last.Data), `"version":`+strconv.Itoa(sdkSubBuffer+21)) {
		t.Errorf("fresh put lacks the latest version: %s", last.Data)
	}
}

func TestEvaluate_SeesOwnWritesAndChecksInput(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "a")
	u := ldcontext.New("u")
	d, err := st.Evaluate(t.Context(), "p", "production", "a", u)
	if err != nil || d.Value.BoolValue() || d.Reason.GetKind() != ldreason.EvalReasonOff {
		t.Fatalf("Evaluate(off flag) = %+v, %v", d, err)
	}
	sdkSemantic(t, st, "p", "a", `[{"kind":"turnFlagOn"},{"kind":"addTargets","contextKind":"user","values":["u"],"variationId":"`+tstVariationID(t, st, "p", "a", 1)+`"}]`)
	d, err = st.Evaluate(t.Context(), "p", "production", "a", u)
	if err != nil || d.Value.BoolValue() || d.Reason.GetKind() != ldreason.EvalReasonTargetMatch {
		t.Errorf("Evaluate(targeted) = %+v, %v; want false by target", d, err)
	}
	d, err = st.Evaluate(t.Context(), "p", "production", "a", ldcontext.New("v"))
	if err != nil || !d.Value.BoolValue() || d.Reason.GetKind() != ldreason.EvalReasonFallthrough {
		t.Errorf("Evaluate(other) = %+v, %v; want true by fallthrough", d, err)
	}
	all, err := st.EvaluateAll(t.Context(), "p", "test", u)
	if err != nil || len(all) != 1 || all["a"].Reason.GetKind() != ldreason.EvalReasonOff {
		t.Errorf("EvaluateAll(test) = %+v, %v", all, err)
	}

	for _, tc := range []struct {
		name            string
		proj, env, flag string
		c               ldcontext.Context
		want            error
	}{
		{"unknown flag", "p", "production", "nope", u, ErrNotFound},
		{"unknown env", "p", "staging", "a", u, ErrNotFound},
		{"unknown project", "q", "production", "a", u, ErrNotFound},
		{"invalid context", "p", "production", "a", ldcontext.New(""), ErrInvalid},
	} {
		if _, err := st.Evaluate(t.Context(), tc.proj, tc.env, tc.flag, tc.c); !errors.Is(err, tc.want) {
			t.Errorf("%s: Evaluate = %v, want %v", tc.name, err, tc.want)
		}
	}
}

// tstVariationID is the ID of a flag's variation i.
func tstVariationID(t testing.TB, st *Store, proj, flag string, i int) string {
	t.Helper()
	f, err := st.GetFlag(t.Context(), proj, flag)
	if err != nil {
		t.Fatal(err)
	}
	return f.Variations[i].ID
}

func TestSDKFeed_LoadRestoresAndReplays(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "a")
	backup := tstSave(t, st)
	tstMustFlag(t, st, "p", "b")
	ev := sdkWatch(t, st, "p", "production")
	if put := ev.expect(t, "put", "/"); len(put.Data.Flags) != 2 {
		t.Fatalf("put has %d flags, want 2", len(put.Data.Flags))
	}
	if err := st.Load(t.Context(), strings.NewReader(string(backup))); err != nil {
		t.Fatal(err)
	}
	// After a restore the environment's credentials are the saved ones, and
	// b is gone.
	if d := ev.expect(t, "delete", "/flags/b"); d.Version != 2 {
		t.Errorf("delete after Load: version %d", d.Version)
	}
}
