package store_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flagstore/flagstore/store"
)

// crashEnv carries the database path to the child process of
// TestCrashKeepsAcknowledgedWrites; TestCrashChild does nothing without it.
const crashEnv = "FLAGSTORE_STORE_CRASH_CHILD"

// crashAcks is how many acknowledged commits the parent waits for before it
// kills the child.
const crashAcks = 200

// crashValue is the deterministic value of key i; sizes vary so that some
// commits span page boundaries.
func crashValue(i int) []byte {
	return bytes.Repeat([]byte{byte('a' + i%26)}, 100+(i*373)%5000)
}

// TestCrashChild is the child half of TestCrashKeepsAcknowledgedWrites: it
// commits forever and prints "ACK i" once commit i is acknowledged.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("helper process for TestCrashKeepsAcknowledgedWrites")
	}
	b, err := store.Open(path) // default policy: SyncAlways
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	for i := 0; ; i++ {
		err := b.Update(ctx, func(tx store.WriteTx) error {
			if err := tx.Put(fmt.Sprintf("crash/%06d", i), crashValue(i), store.Absent); err != nil {
				return err
			}
			return tx.Put("last", []byte(strconv.Itoa(i)), store.Any)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "update:", err)
			os.Exit(2)
		}
		fmt.Printf("ACK %d\n", i) // os.Stdout is unbuffered
	}
}

// TestCrashKeepsAcknowledgedWrites SIGKILLs a process that is writing and
// checks that every write it acknowledged is in the reopened file.
func TestCrashKeepsAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	if os.Getenv(crashEnv) != "" {
		t.Skip("running as the child")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := -1
	sc := bufio.NewScanner(stdout)
	for acked < crashAcks-1 && sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "ACK "); ok {
			if acked, err = strconv.Atoi(n); err != nil {
				t.Fatalf("bad line %q", sc.Text())
			}
		}
	}
	_ = cmd.Process.Kill() // SIGKILL: no deferred code, no Close
	_ = cmd.Wait()
	if acked < crashAcks-1 {
		t.Fatalf("child acknowledged only %d commits; stderr:\n%s", acked+1, stderr.String())
	}

	b := openT(t, path)
	defer b.Close()
	err = b.View(context.Background(), func(tx store.ReadTx) error {
		var prev uint64
		for i := 0; i <= acked; i++ {
			it, err := tx.Get(fmt.Sprintf("crash/%06d", i))
			if err != nil {
				return fmt.Errorf("acknowledged key %d: %w", i, err)
			}
			if !bytes.Equal(it.Value, crashValue(i)) {
				return fmt.Errorf("acknowledged key %d has a wrong value (%d bytes)", i, len(it.Value))
			}
			if it.Version <= prev {
				return fmt.Errorf("key %d has version %d, not above %d", i, it.Version, prev)
			}
			prev = it.Version
		}
		last, err := tx.Get("last")
		if err != nil {
			return err
		}
		if n, _ := strconv.Atoi(string(last.Value)); n < acked {
			return fmt.Errorf("last = %d; acknowledged %d", n, acked)
		}
		if tx.Revision() < prev {
			return fmt.Errorf("revision %d below version %d", tx.Revision(), prev)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(context.Background(), func(tx store.WriteTx) error {
		return tx.Put("after-crash", []byte("ok"), store.Absent)
	}); err != nil {
		t.Fatalf("write after crash recovery: %v", err)
	}
}
