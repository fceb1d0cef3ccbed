package flagstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkWebhookWriteLatency: the same flag update on two stores, one
// with no webhook and one whose webhook's receiver never answers, in one
// loop, interleaved. Reports ns/no-webhook, ns/hung-receiver and their ratio.
// Target: the ratio stays close to 1 (a write only adds an outbox record;
// it never waits for a receiver).
func BenchmarkWebhookWriteLatency(b *testing.B) {
	for _, mode := range []string{"durable", "memory"} {
		b.Run(mode, func(b *testing.B) {
			plain := benchHookStore(b, mode)
			hung := benchHookStore(b, mode)
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				select { // never answers while the benchmark runs
				case <-r.Context().Done():
				case <-release:
				}
			}))
			b.Cleanup(srv.Close)
			b.Cleanup(func() { close(release) })
			ctx := context.Background()
			if _, err := hung.CreateWebhook(ctx, WebhookPost{URL: srv.URL, Sign: true, On: true}); err != nil {
				b.Fatal(err)
			}
			write := func(st *Store, i int) func() error {
				return func() error {
					_, err := st.UpdateFlag(ctx, "shop", "f", func(f *Flag) error {
						f.Environments["production"].On = i%2 == 0
						return nil
					})
					return err
				}
			}
			var without, with time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := timeIt(&without, write(plain, i)); err != nil {
					b.Fatal(err)
				}
				if err := timeIt(&with, write(hung, i)); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(without.Nanoseconds())/float64(b.N), "ns/no-webhook")
			b.ReportMetric(float64(with.Nanoseconds())/float64(b.N), "ns/hung-receiver")
			b.ReportMetric(float64(with)/float64(without), "ratio")
			b.ReportMetric(0, "ns/op") // the pair's own figures above are the result
			if n := outboxLen(b, hung); n < b.N {
				b.Fatalf("%d deliveries pending, want at least %d: the receiver answered?", n, b.N)
			}
		})
	}
}

// benchHookStore opens a store (a file with fsync on every commit, or
// in memory) that may deliver to loopback, with the flag shop/f.
func benchHookStore(b *testing.B, mode string) *Store {
	b.Helper()
	path := ":memory:"
	if mode == "durable" {
		path = filepath.Join(b.TempDir(), "flags.db")
	}
	st, err := Open(path, WithWebhookDestinations(allowAnyDestination))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	tstMustProject(b, st, "shop")
	tstMustFlag(b, st, "shop", "f")
	return st
}
