package flagstore

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"
)

// sdkBenchStore is listStore's 1,000 flags, each on in production with a
// target and a rule, and the production SDK key.
func sdkBenchStore(b *testing.B) (*Store, string) {
	b.Helper()
	st := listStore(b, 1000)
	ctx := context.Background()
	for i := range 1000 {
		_, err := st.UpdateFlag(ctx, "shop", fmt.Sprintf("flag-%06d", i), func(f *Flag) error {
			c := f.Environments["production"]
			c.On = true
			c.Targets = []Target{{Values: []string{"user-" + fmt.Sprint(i)}, Variation: 0}}
			c.Rules = []Rule{{Variation: new(1), Clauses: []Clause{{Attribute: "country", Op: "in", Values: []any{"de", "fr"}}}}}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	env, err := st.GetEnvironment(ctx, "shop", "production")
	if err != nil {
		b.Fatal(err)
	}
	return st, env.APIKey
}

// BenchmarkSDKLatestAll: GET /sdk/latest-all of 1,000 flags with the SDK
// key through the full handler, over loopback HTTP with keep-alive, reading
// the whole body, alternating with a bare http.HandlerFunc that writes the
// same cached bytes with the same headers. Target: at least 1/2 of the bare
// handler's throughput, a time ratio of at most 2.
func BenchmarkSDKLatestAll(b *testing.B) {
	st, sdkKey := sdkBenchStore(b)
	ours := httptest.NewServer(st.Handler())
	b.Cleanup(ours.Close)
	const path = "/sdk/latest-all"
	req, _ := http.NewRequest(http.MethodGet, ours.URL+path, nil)
	req.Header.Set("Authorization", sdkKey)
	resp, err := ours.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	header := resp.Header.Clone()
	payload := benchGet(b, ours.Client(), ours.URL+path, sdkKey)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, k := range []string{"Content-Type", "Etag", "Vary", "X-Ld-Envid"} {
			h[k] = header[k]
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(payload)
	}))
	b.Cleanup(bare.Close)

	var p pairTimer
	b.ResetTimer()
	for range b.N {
		_ = timeIt(&p.ours, func() error { benchGet(b, ours.Client(), ours.URL+path, sdkKey); return nil })
		_ = timeIt(&p.base, func() error { benchGet(b, bare.Client(), bare.URL+path, ""); return nil })
	}
	b.StopTimer()
	p.report(b)
	b.ReportMetric(float64(p.base)/float64(p.ours), "throughput-ratio") // ours/bare requests per second
	b.ReportMetric(float64(len(payload)), "bytes/body")
}

// BenchmarkSDKStreamFanout: 1,000 SDK streams (GET /all, each on its own
// loopback connection) are open on one environment; each op is one flag
// change, timed from just before the write until every stream has read its
// patch event. Target: p99 within 100 ms on a 2-core machine. The streams
// need about 2,000 file descriptors (both ends of each connection).
func BenchmarkSDKStreamFanout(b *testing.B) {
	const streams = 1000
	st, sdkKey := sdkBenchStore(b)
	srv := httptest.NewServer(st.Handler())
	b.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: -1}}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)

	ready := make(chan error, streams)
	got := make(chan time.Time, streams)
	for range streams {
		go func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/all", nil)
			req.Header.Set("Authorization", sdkKey)
			resp, err := client.Do(req)
			if err != nil || resp.StatusCode != http.StatusOK {
				ready <- fmt.Errorf("GET /all: %v %v", resp, err)
				return
			}
			defer resp.Body.Close()
			r := bufio.NewReaderSize(resp.Body, 64<<10)
			var event []byte
			midLine := false // within a line longer than the buffer
			for {
				line, err := r.ReadSlice('\n')
				if err != nil && err != bufio.ErrBufferFull {
					return
				}
				start := !midLine
				midLine = err == bufio.ErrBufferFull
				switch {
				case !start:
				case bytes.HasPrefix(line, []byte("event: ")):
					event = append(event[:0], line...)
				case bytes.HasPrefix(line, []byte("data: ")) && string(event) == "event: put\n":
					ready <- nil
				case bytes.HasPrefix(line, []byte("data: ")) && string(event) == "event: patch\n":
					got <- time.Now()
				}
			}
		}()
	}
	for range streams {
		select {
		case err := <-ready:
			if err != nil {
				b.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			b.Fatal("the streams did not all open")
		}
	}

	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		_, err := st.UpdateFlag(ctx, "shop", "flag-000000", func(f *Flag) error {
			f.Environments["production"].On = i%2 == 1
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		var slowest time.Duration
		for range streams {
			select {
			case at := <-got:
				slowest = max(slowest, at.Sub(t0))
			case <-time.After(10 * time.Second):
				b.Fatalf("change %d did not reach every stream", i)
			}
		}
		lat = append(lat, slowest)
	}
	b.StopTimer()
	slices.Sort(lat)
	ms := func(q float64) float64 {
		return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
	b.ReportMetric(ms(1), "max-ms")
	b.ReportMetric(streams, "streams")
}
