package flagstore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStore_ReopenKeepsAcknowledgedWrites writes through a file store,
// closes it, reopens the file and finds every acknowledged write.
func TestStore_ReopenKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "flags.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		t.Fatal(err)
	}
	want := map[string]Flag{}
	for i := range 25 {
		key := fmt.Sprintf("flag-%02d", i)
		if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: key, Name: key, Tags: []string{"t" + fmt.Sprint(i%3)}}); err != nil {
			t.Fatal(err)
		}
		f, err := st.UpdateFlag(ctx, "shop", key, func(f *Flag) error {
			f.Environments["production"].On = i%2 == 0
			f.Description = "written " + key
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want[key] = f
	}
	if err := st.DeleteFlag(ctx, "shop", "flag-07"); err != nil {
		t.Fatal(err)
	}
	delete(want, "flag-07")
	seg, err := st.CreateSegment(ctx, "shop", "test", SegmentPost{Key: "beta", Name: "Beta"})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for key, f := range want {
		got, err := st.GetFlag(ctx, "shop", key)
		if err != nil {
			t.Fatalf("flag %s after reopen: %v", key, err)
		}
		if !jsonEqual(got, f) {
			t.Errorf("flag %s differs after reopen", key)
		}
	}
	if _, err := st.GetFlag(ctx, "shop", "flag-07"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted flag came back: %v", err)
	}
	l, err := st.ListFlags(ctx, "shop", ListOptions{Limit: 100})
	if err != nil || l.TotalCount != len(want) || len(l.Items) != len(want) {
		t.Errorf("list after reopen: total %d, items %d, err %v; want %d", l.TotalCount, len(l.Items), err, len(want))
	}
	if got, err := st.GetSegment(ctx, "shop", "test", "beta"); err != nil || !jsonEqual(got, seg) {
		t.Errorf("segment after reopen: %v", err)
	}
}

// The kill test runs this binary again as a child that writes flags and
// prints each acknowledged key; the parent kills it with SIGKILL mid-stream
// and checks that every acknowledged flag is in the file.
const crashChildEnv = "FLAGSTORE_CRASH_CHILD_DB"

// TestMain turns the test binary into the crash child when asked to.
func TestMain(m *testing.M) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
	}
	os.Exit(m.Run())
}

// crashChild writes flags forever, printing each acknowledged key.
func crashChild(path string) {
	ctx := context.Background()
	st, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	for i := 0; ; i++ {
		key := fmt.Sprintf("flag-%05d", i)
		if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: key, Name: key}); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		fmt.Println("ack", key)
	}
}

func TestStore_KillKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "flags.db")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(20 * time.Second)
	for len(acked) < 150 && time.Now().Before(deadline) && sc.Scan() {
		line := sc.Text()
		if key, ok := strings.CutPrefix(line, "ack "); ok {
			acked = append(acked, key)
		} else if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if len(acked) == 0 {
		t.Fatal("child acknowledged nothing")
	}

	st, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, key := range acked {
		f, err := st.GetFlag(ctx, "shop", key)
		if err != nil {
			t.Fatalf("acknowledged flag %s lost after SIGKILL: %v", key, err)
		}
		if len(f.Environments) != 2 {
			t.Fatalf("flag %s has %d environments after reopen", key, len(f.Environments))
		}
	}
	l, err := st.ListFlags(ctx, "shop", ListOptions{Limit: 1})
	if err != nil || l.TotalCount < len(acked) {
		t.Fatalf("list after reopen: total %d, err %v; want at least %d", l.TotalCount, err, len(acked))
	}
	t.Logf("%d acknowledged flags survived SIGKILL (store holds %d)", len(acked), l.TotalCount)
}
