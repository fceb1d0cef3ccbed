package flagstore

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// benchGet fetches url with the admin token and returns the body.
func benchGet(b *testing.B, c *http.Client, url, token string) []byte {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v %.200s", url, resp.StatusCode, err, body)
	}
	return body
}

// BenchmarkHTTPGetFlag: an authenticated GET of one flag through the full
// handler, over loopback HTTP with keep-alive, against a bare
// http.HandlerFunc writing the same bytes on the same kind of server.
// Target: at least 1/3 of the bare handler's throughput, i.e. a time ratio
// of at most 3. The in-process figure (httptest.ResponseRecorder, no
// network) is reported beside it.
func BenchmarkHTTPGetFlag(b *testing.B) {
	st, err := Open(":memory:")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.EnsureAdminToken(ctx, htAdminSecret); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		b.Fatal(err)
	}
	if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "new-checkout", Name: "New checkout", Tags: []string{"checkout"}}); err != nil {
		b.Fatal(err)
	}
	h := st.Handler()
	ours := httptest.NewServer(h)
	b.Cleanup(ours.Close)
	path := "/api/v2/flags/shop/new-checkout"
	payload := benchGet(b, ours.Client(), ours.URL+path, htAdminSecret)
	bare := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(payload)
	}))
	b.Cleanup(bare.Close)

	var loop, local pairTimer
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", htAdminSecret)
	bareHandler := bare.Config.Handler
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = timeIt(&loop.ours, func() error { benchGet(b, ours.Client(), ours.URL+path, htAdminSecret); return nil })
		_ = timeIt(&loop.base, func() error { benchGet(b, bare.Client(), bare.URL+path, ""); return nil })
		_ = timeIt(&local.ours, func() error {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				return fmt.Errorf("status %d", w.Code)
			}
			return nil
		})
		_ = timeIt(&local.base, func() error { bareHandler.ServeHTTP(httptest.NewRecorder(), req); return nil })
	}
	b.StopTimer()
	loop.report(b)
	b.ReportMetric(float64(local.ours.Nanoseconds())/float64(b.N), "ns/ours-inproc")
	b.ReportMetric(float64(local.base.Nanoseconds())/float64(b.N), "ns/baseline-inproc")
	b.ReportMetric(float64(local.ours)/float64(local.base), "ratio-inproc")
	b.ReportMetric(float64(len(payload)), "bytes/body")
}

// BenchmarkHTTPListFlags: GET of the first page of 20 flags out of 100,000
// against the same out of 100, through the full handler. Target: a time
// ratio within 2.
func BenchmarkHTTPListFlags(b *testing.B) {
	serve := func(n int) *httptest.Server {
		st := listStore(b, n)
		if _, err := st.EnsureAdminToken(context.Background(), htAdminSecret); err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(st.Handler())
		b.Cleanup(srv.Close)
		return srv
	}
	big, small := serve(100_000), serve(100)
	var p pairTimer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		path := "/api/v2/flags/shop?limit=20&sort=" + []string{"-creationDate", "name", "key"}[i%3]
		_ = timeIt(&p.ours, func() error { benchGet(b, big.Client(), big.URL+path, htAdminSecret); return nil })
		_ = timeIt(&p.base, func() error { benchGet(b, small.Client(), small.URL+path, htAdminSecret); return nil })
	}
	b.StopTimer()
	p.report(b)
}
