package flagstore

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSDKLatestAll(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	tstMustFlag(t, e.st, "shop", "a")
	tstMustSegment(t, e.st, "shop", "production", "seg")

	resp, body := e.do(htReq{Method: "GET", Path: "/sdk/latest-all", Auth: prod.APIKey})
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("X-LD-EnvID") != prod.ID || resp.Header.Get("Vary") != "Authorization" {
		t.Fatalf("latest-all: %d %v %s", resp.StatusCode, resp.Header, body)
	}
	var all struct {
		Flags    map[string]struct{ Version int } `json:"flags"`
		Segments map[string]struct{ Version int } `json:"segments"`
	}
	if err := json.Unmarshal(body, &all); err != nil || len(all.Flags) != 1 || len(all.Segments) != 1 {
		t.Fatalf("latest-all body %s: %v", body, err)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}

	// The same data is 304; a write makes it 200 again at once.
	resp, body = e.do(htReq{Method: "GET", Path: "/sdk/latest-all", Auth: prod.APIKey, Header: http.Header{"If-None-Match": {etag}}})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match: %d %s", resp.StatusCode, body)
	}
	sdkSemantic(t, e.st, "shop", "a", `[{"kind":"turnFlagOn"}]`)
	resp, _ = e.do(htReq{Method: "GET", Path: "/sdk/latest-all", Auth: prod.APIKey, Header: http.Header{"If-None-Match": {etag}}})
	if resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Fatalf("after a write: %d etag %s", resp.StatusCode, resp.Header.Get("ETag"))
	}

	// The other environment has its own data.
	test := tstMustEnv(t, e.st, "shop", "test")
	_, body = e.do(htReq{Method: "GET", Path: "/sdk/latest-all", Auth: test.APIKey})
	all.Flags, all.Segments = nil, nil
	if err := json.Unmarshal(body, &all); err != nil || len(all.Segments) != 0 || len(all.Flags) != 1 {
		t.Errorf("test environment: %s", body)
	}
}

func TestSDKLatestItem(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	tstMustFlag(t, e.st, "shop", "a")
	tstMustSegment(t, e.st, "shop", "production", "seg")
	for _, tc := range []struct {
		path string
		want int
		key  string
	}{
		{"/sdk/latest-flags/a", 200, "a"},
		{"/sdk/latest-segments/seg", 200, "seg"},
		{"/sdk/latest-flags/nope", 404, ""},
		{"/sdk/latest-segments/a", 404, ""},
	} {
		resp, body := e.do(htReq{Method: "GET", Path: tc.path, Auth: prod.APIKey})
		var item struct{ Key string }
		_ = json.Unmarshal(body, &item)
		if resp.StatusCode != tc.want || item.Key != tc.key {
			t.Errorf("GET %s: %d %s", tc.path, resp.StatusCode, body)
		}
	}
}

func TestSDKRoutes_Credentials(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	for _, path := range []string{"/all", "/sdk/latest-all", "/sdk/latest-flags/a", "/sdk/latest-segments/a"} {
		for _, auth := range []string{"-", htAdminSecret, prod.MobileKey, "sdk-unknown"} {
			e.errorBody(htReq{Method: "GET", Path: path, Auth: auth}, http.StatusUnauthorized, CodeUnauthorized)
		}
	}
	for _, path := range []string{"/bulk", "/diagnostic"} {
		e.errorBody(htReq{Method: "POST", Path: path, Auth: prod.MobileKey, Body: "[]"}, http.StatusUnauthorized, CodeUnauthorized)
	}
	// A deleted environment's key is dead.
	test := tstMustEnv(t, e.st, "shop", "test")
	if err := e.st.DeleteEnvironment(t.Context(), "shop", "test"); err != nil {
		t.Fatal(err)
	}
	e.errorBody(htReq{Method: "GET", Path: "/sdk/latest-all", Auth: test.APIKey}, http.StatusUnauthorized, CodeUnauthorized)
}

func TestSDKEvents(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	tstMustFlag(t, e.st, "shop", "a")
	payload := `[{"kind":"index","creationDate":1,"context":{"kind":"user","key":"u"}},
		{"kind":"summary","startDate":1700000000000,"endDate":1700000005000,"features":{"a":{"default":false,
		"counters":[{"variation":1,"version":1,"value":false,"count":3}],"contextKinds":["user"]}}}]`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(payload))
	_ = zw.Close()

	resp, body := e.do(htReq{Method: "POST", Path: "/bulk", Auth: prod.APIKey, Body: gz.Bytes(),
		Header: http.Header{"Content-Encoding": {"gzip"}, "X-LaunchDarkly-Event-Schema": {"4"}}})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("bulk: %d %s", resp.StatusCode, body)
	}
	e.st.flushFlagRequests()
	fs, err := e.st.GetFlagStatus(t.Context(), "shop", "production", "a")
	if err != nil || fs.LastRequested == nil || fs.LastRequested.UnixMilli() != 1700000005000 {
		t.Errorf("flag status after /bulk = %+v, %v", fs, err)
	}

	for _, tc := range []struct {
		path, body, encoding string
		want                 int
	}{
		{"/diagnostic", `{"kind":"diagnostic-init"}`, "", http.StatusAccepted},
		{"/bulk", `[]`, "", http.StatusAccepted},
		{"/bulk", `{"not":"an array"}`, "", http.StatusBadRequest},
		{"/bulk", `[]`, "gzip", http.StatusBadRequest},
		{"/diagnostic", `nope`, "", http.StatusBadRequest},
	} {
		h := http.Header{}
		if tc.encoding != "" {
			h.Set("Content-Encoding", tc.encoding)
		}
		resp, body := e.do(htReq{Method: "POST", Path: tc.path, Auth: prod.APIKey, Body: tc.body, Header: h})
		if resp.StatusCode != tc.want {
			t.Errorf("POST %s %s: %d %s", tc.path, tc.body, resp.StatusCode, body)
		}
	}
}

func TestSDKStream_HTTP(t *testing.T) {
	t.Parallel()
	e := htServer(t, WithSDKHeartbeat(20*time.Millisecond))
	prod := tstMustEnv(t, e.st, "shop", "production")
	tstMustFlag(t, e.st, "shop", "a")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/all", nil)
	req.Header.Set("Authorization", prod.APIKey)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") ||
		resp.Header.Get("X-LD-EnvID") != prod.ID {
		t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	want := func(prefix string) string {
		t.Helper()
		deadline := time.After(2 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stream ended waiting for %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-deadline:
				t.Fatalf("no %q within 2s", prefix)
			}
		}
	}
	want("event: put")
	if l := want("data: "); !strings.Contains(l, `"flags":{"a":`) {
		t.Errorf("put data = %s", l)
	}
	want(":") // heartbeat
	sdkSemantic(t, e.st, "shop", "a", `[{"kind":"turnFlagOn"}]`)
	want("event: patch")
	if l := want("data: "); !strings.Contains(l, `"path":"/flags/a"`) || !strings.Contains(l, `"on":true`) {
		t.Errorf("patch data = %s", l)
	}
}

// sdkOpenStream opens GET /all with key and returns a channel of its lines,
// closed when the stream ends.
func sdkOpenStream(t *testing.T, e *htEnv, key string) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", e.srv.URL+"/all", nil)
	req.Header.Set("Authorization", key)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /all: %d", resp.StatusCode)
	}
	lines := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return lines
}

// sdkStreamEnds reports whether the stream ends within a second.
func sdkStreamEnds(lines <-chan string) bool {
	deadline := time.After(time.Second)
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func TestSDKStream_EndsWithItsKey(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	lines := sdkOpenStream(t, e, prod.APIKey)
	// A reset with a grace period keeps the old key's stream open.
	env, err := e.st.ResetSDKKey(t.Context(), "shop", "production", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if sdkStreamEnds(lines) {
		t.Fatal("stream ended while its key is still valid")
	}
	// The new key streams; the old one dies with its reset.
	newLines := sdkOpenStream(t, e, env.APIKey)
	if _, err := e.st.ResetSDKKey(t.Context(), "shop", "production", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if !sdkStreamEnds(newLines) {
		t.Error("stream still open after its key was reset")
	}
	e.errorBody(htReq{Method: "GET", Path: "/all", Auth: env.APIKey}, http.StatusUnauthorized, CodeUnauthorized)
}

func TestSDKStream_RetiredKeyEndsAtExpiry(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	if _, err := e.st.ResetSDKKey(t.Context(), "shop", "production", time.Now().Add(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if !sdkStreamEnds(sdkOpenStream(t, e, prod.APIKey)) {
		t.Error("a retired key's stream outlived the key")
	}
}

func TestSDKRoutes_UnavailableStoreIs503(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	prod := tstMustEnv(t, e.st, "shop", "production")
	e.st.Close()
	for _, path := range []string{"/all", "/sdk/latest-all"} {
		// 503 is what SDKs retry, unlike 401.
		e.errorBody(htReq{Method: "GET", Path: path, Auth: prod.APIKey}, http.StatusServiceUnavailable, CodeServiceUnavailable)
	}
}

func TestSDKRoutes_UnderAPrefix(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	prod := tstMustEnv(t, st, "p", "production")
	mux := http.NewServeMux()
	mux.Handle("/ld/", http.StripPrefix("/ld", st.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/ld/sdk/latest-all", nil)
	req.Header.Set("Authorization", prod.APIKey)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /ld/sdk/latest-all: %d", resp.StatusCode)
	}
}

func TestSDKData_EncodedOncePerChange(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	tstMustProject(t, st, "p")
	tstMustFlag(t, st, "p", "a")
	ref := sdkRef{"p", "production"}
	d1, err := st.sdk.data(t.Context(), ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, etag1, put1 := d1.payload()
	d2, _ := st.sdk.data(t.Context(), ref, nil)
	b2, _, put2 := d2.payload()
	if d1 != d2 || &b1[0] != &b2[0] || put1 != put2 {
		t.Error("unchanged environment encoded again")
	}
	sdkSemantic(t, st, "p", "a", `[{"kind":"turnFlagOn"}]`)
	d3, _ := st.sdk.data(t.Context(), ref, nil)
	if b3, etag3, _ := d3.payload(); d3 == d1 || etag3 == etag1 || bytes.Equal(b3, b1) {
		t.Error("a change did not renew the payload")
	}
}
