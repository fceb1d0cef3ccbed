package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flagstore/flagstore"
	"github.com/google/uuid"
)

// syncBuffer is a bytes.Buffer safe for one writer and a polling reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningRE = regexp.MustCompile(`flagstore listening on http://([^\s"]+)`)

// waitForAddr polls the log until the server says where it listens. exited
// is closed if the server stops first.
func waitForAddr(t *testing.T, log *syncBuffer, exited <-chan struct{}) string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if m := listeningRE.FindStringSubmatch(log.String()); m != nil {
			return m[1]
		}
		select {
		case <-exited:
			t.Fatalf("server stopped before listening; log:\n%s", log)
		case <-deadline:
			t.Fatalf("server did not log its address; log:\n%s", log)
		case <-tick.C:
		}
	}
}

// expectLD404 asks addr for an unknown resource and checks LaunchDarkly's
// 404 error body.
func expectLD404(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + addr + "/api/v2/no-such-route/shop")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q; want 404 application/json; body %s",
			resp.StatusCode, resp.Header.Get("Content-Type"), b)
	}
	var body struct{ Code, Message, ID string }
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("body %s: %v", b, err)
	}
	if body.Code != "not_found" || body.Message == "" {
		t.Errorf("body %s, want code not_found and a message", b)
	}
	if _, err := uuid.Parse(body.ID); err != nil {
		t.Errorf("id %q is not a UUID: %v", body.ID, err)
	}
}

// openFDsOn lists this process's open descriptors on path, where the OS
// shows them (/proc on Linux); ok is false where it cannot tell.
func openFDsOn(path string) (fds []string, ok bool) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, false
	}
	want, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, false
	}
	for _, e := range entries {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil && target == want {
			fds = append(fds, e.Name())
		}
	}
	return fds, true
}

func TestRunServesAndShutsDown(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "flags.db")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuffer
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", dbPath}, &log)
		close(exited)
	}()

	addr := waitForAddr(t, &log, exited)
	if strings.HasSuffix(addr, ":0") {
		t.Errorf("logged address %s, want the real port", addr)
	}
	expectLD404(t, addr)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v after cancel; log:\n%s", err, &log)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("run did not return after cancel; log:\n%s", &log)
	}
	if fds, ok := openFDsOn(dbPath); ok && len(fds) > 0 {
		t.Errorf("db file still open after run returned (fds %v)", fds)
	}
	st, err := flagstore.Open(dbPath)
	if err != nil {
		t.Fatalf("reopening the db file: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Errorf("%s still accepts connections after run returned", addr)
	}
}

func TestRunStartupFailures(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = busy.Close() })
	dir := t.TempDir()

	busyDB := filepath.Join(dir, "busy.db")
	cases := []struct {
		name  string
		args  []string
		usage bool
		db    string // a file run opened, which must be closed again
	}{
		{"unknown flag", []string{"-port", "1"}, true, ""},
		{"stray argument", []string{"-db", ":memory:", "extra"}, true, ""},
		{"address in use", []string{"-addr", busy.Addr().String(), "-db", busyDB}, false, busyDB},
		{"db in a missing directory", []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "missing", "flags.db")}, false, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var log syncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run(ctx, tc.args, &log)
			if err == nil {
				t.Fatalf("run(%q) = nil, want an error; log:\n%s", tc.args, &log)
			}
			if got := errors.As(err, new(usageError)); got != tc.usage {
				t.Errorf("run(%q) = %v; usage error %v, want %v", tc.args, err, got, tc.usage)
			}
			if tc.usage && !strings.Contains(log.String(), "-addr") {
				t.Errorf("usage not printed; log:\n%s", &log)
			}
			if tc.db == "" {
				return
			}
			if fds, ok := openFDsOn(tc.db); ok && len(fds) > 0 {
				t.Errorf("%s still open after run failed (fds %v)", tc.db, fds)
			}
		})
	}
}

func TestBinaryExitsCleanlyOnSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGTERM cannot be sent to a process on Windows")
	}
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go command not found (go test puts GOROOT/bin on PATH): %v", err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "flagstore")
	build := exec.Command(goBin, "build", "-buildvcs=false", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	srv := exec.Command(bin, "-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "flags.db"))
	var log syncBuffer
	srv.Stderr = &log
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = srv.Wait(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = srv.Process.Kill()
			<-exited
		}
	})

	addr := waitForAddr(t, &log, exited)
	expectLD404(t, addr)
	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit within 30s of SIGTERM; log:\n%s", &log)
	}
	if waitErr != nil {
		t.Fatalf("exit after SIGTERM: %v (code %d), want 0; log:\n%s", waitErr, srv.ProcessState.ExitCode(), &log)
	}
	if !strings.Contains(log.String(), "stopped") {
		t.Errorf("log does not say it stopped:\n%s", &log)
	}
}

// TestRunEndsSDKStreamsOnShutdown: an SDK's open stream does not hold the
// shutdown up until its timeout.
func TestRunEndsSDKStreamsOnShutdown(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "flags.db")
	st, err := flagstore.Open(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	p, err := st.CreateProject(context.Background(), flagstore.ProjectPost{Key: "shop", Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var log syncBuffer
	done := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", dbPath}, &log)
		close(exited)
	}()
	addr := waitForAddr(t, &log, exited)

	req, _ := http.NewRequest("GET", "http://"+addr+"/all", nil)
	req.Header.Set("Authorization", p.Environments[0].APIKey)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /all: %d", resp.StatusCode)
	}
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run returned %v; log:\n%s", err, &log)
		}
		if d := time.Since(start); d > shutdownTimeout/2 {
			t.Errorf("shutdown took %v with a stream open", d)
		}
	case <-time.After(2 * shutdownTimeout):
		t.Fatalf("run did not return; log:\n%s", &log)
	}
	if _, err := io.ReadAll(resp.Body); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("stream ended with %v", err)
	}
}

func TestStreamsEndWith(t *testing.T) {
	t.Parallel()
	ctx, end := context.WithCancel(context.Background())
	ended := make(chan string, 2)
	h := streamsEndWith(ctx, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			ended <- r.URL.Path
		case <-time.After(300 * time.Millisecond):
			ended <- "timeout " + r.URL.Path
		}
	}))
	for _, tc := range []struct{ path, accept string }{{"/all", "text/event-stream"}, {"/api/v2/flags/p", "application/json"}} {
		go func() {
			r, _ := http.NewRequest("GET", tc.path, nil)
			r.Header.Set("Accept", tc.accept)
			h.ServeHTTP(nil, r)
		}()
	}
	time.Sleep(20 * time.Millisecond)
	end()
	got := map[string]bool{<-ended: true, <-ended: true}
	if !got["/all"] || !got["timeout /api/v2/flags/p"] {
		t.Errorf("ended = %v: want the stream ended and the API request left alone", got)
	}
}
