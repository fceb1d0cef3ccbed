package flagstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestSDKFeed_StreamsConvergeUnderLoad opens streams while writers change
// flags and segments, then checks that every stream, replaying its events
// the way an SDK does (higher versions win), ends with exactly the
// environment's final data: no change fell between a put and the patches
// after it, and none arrived out of order.
func TestSDKFeed_StreamsConvergeUnderLoad(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	for i := range 4 {
		tstMustFlag(t, st, "p", fmt.Sprintf("f%d", i))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	type view struct {
		mu    sync.Mutex
		items map[string]int // path → version; negative: deleted
	}
	apply := func(v *view, e SDKEvent) {
		var d struct {
			Path    string          `json:"path"`
			Version int             `json:"version"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(e.Data, &d); err != nil {
			t.Errorf("event %s: %v", e.Name, err)
			return
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		switch e.Name {
		case "put":
			var all struct {
				Flags, Segments map[string]struct{ Version int }
			}
			_ = json.Unmarshal(d.Data, &all)
			v.items = map[string]int{}
			for k, it := range all.Flags {
				v.items["/flags/"+k] = it.Version
			}
			for k, it := range all.Segments {
				v.items["/segments/"+k] = it.Version
			}
		case "patch":
			var it struct{ Version int }
			_ = json.Unmarshal(d.Data, &it)
			if old, ok := v.items[d.Path]; !ok || abs(old) < it.Version {
				v.items[d.Path] = it.Version
			}
		case "delete":
			if old, ok := v.items[d.Path]; !ok || abs(old) < d.Version {
				v.items[d.Path] = -d.Version
			}
		}
	}

	var views []*view
	var streams sync.WaitGroup
	openStream := func() {
		v := &view{}
		views = append(views, v)
		streams.Add(1)
		go func() {
			defer streams.Done()
			_ = st.StreamSDK(ctx, "p", "production", func(e SDKEvent) error { apply(v, e); return nil })
		}()
	}
	var writers sync.WaitGroup
	for w := range 3 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 40 {
				key := fmt.Sprintf("f%d", (w+i)%4)
				ins := `[{"kind":"turnFlagOn"}]`
				if i%2 == 1 {
					ins = `[{"kind":"turnFlagOff"}]`
				}
				p, _ := ParsePatch("application/json; domain-model=launchdarkly.semanticpatch",
					[]byte(`{"environmentKey":"production","instructions":`+ins+`}`))
				_, _ = st.PatchFlag(ctx, "p", key, p) // a no-op toggle is fine
				seg := fmt.Sprintf("s%d", w)
				if i%10 == 0 {
					_, _ = st.CreateSegment(ctx, "p", "production", SegmentPost{Key: seg, Name: seg})
				} else if i%10 == 5 {
					_ = st.DeleteSegment(ctx, "p", "production", seg)
				}
			}
		}()
	}
	for range 12 {
		openStream()
		time.Sleep(2 * time.Millisecond)
	}
	writers.Wait()

	d, err := st.sdk.data(t.Context(), sdkRef{"p", "production"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	for k, it := range d.flags {
		if !it.withheld {
			want["/flags/"+k] = it.version
		}
	}
	for k, it := range d.segs {
		if !it.withheld {
			want["/segments/"+k] = it.version
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for i, v := range views {
		for {
			v.mu.Lock()
			got := map[string]int{}
			for k, ver := range v.items {
				if ver > 0 {
					got[k] = ver
				}
			}
			v.mu.Unlock()
			if fmt.Sprint(got) == fmt.Sprint(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("stream %d holds\n%v\nwant\n%v", i, got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	cancel()
	streams.Wait()
	if !strings.Contains(fmt.Sprint(want), "/flags/f0") {
		t.Errorf("final data lacks f0: %v", want)
	}
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
