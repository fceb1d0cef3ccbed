package flagstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tidwall/buntdb"
)

// Each benchmark here runs its baseline in the same loop, interleaved with
// the operation measured, and reports both costs and their ratio, so one run
// gives a figure that machine load affects on both sides alike.

// pairTimer accumulates the time of the measured operation and its baseline.
type pairTimer struct{ ours, base time.Duration }

func (p *pairTimer) report(b *testing.B) {
	b.ReportMetric(float64(p.ours.Nanoseconds())/float64(b.N), "ns/ours")
	b.ReportMetric(float64(p.base.Nanoseconds())/float64(b.N), "ns/baseline")
	b.ReportMetric(float64(p.ours)/float64(p.base), "ratio")
	b.ReportMetric(0, "ns/op") // the pair's own figures above are the result
}

func timeIt(d *time.Duration, fn func() error) error {
	t0 := time.Now()
	err := fn()
	*d += time.Since(t0)
	return err
}

// benchStore opens a file store with the default durability (fsync on every
// commit) holding one project and one flag.
func benchStore(b *testing.B) (*Store, Flag) {
	st, f, _ := benchStoreAt(b)
	return st, f
}

// benchStoreAt is benchStore that also returns the store's file.
func benchStoreAt(b *testing.B) (*Store, Flag, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "flags.db")
	st, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		b.Fatal(err)
	}
	f, err := st.CreateFlag(ctx, "shop", FlagPost{Key: "new-checkout", Name: "New checkout", Tags: []string{"checkout"}})
	if err != nil {
		b.Fatal(err)
	}
	return st, f, path
}

// fileSize is the size of the file at path.
func fileSize(b *testing.B, path string) int64 {
	b.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// rawBuntdb opens a bare buntdb file with the same sync policy as the store.
func rawBuntdb(b *testing.B) *buntdb.DB {
	db, _ := rawBuntdbAt(b)
	return db
}

// rawBuntdbAt is rawBuntdb that also returns the file.
func rawBuntdbAt(b *testing.B) (*buntdb.DB, string) {
	b.Helper()
	path := filepath.Join(b.TempDir(), "raw.db")
	db, err := buntdb.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		b.Fatal(err)
	}
	cfg.SyncPolicy = buntdb.Always
	if err := db.SetConfig(cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, path
}

// BenchmarkFlagWrite: a durable flag update (toggle one environment) against
// a raw buntdb Set of a value of the same size, both fsynced. Target: ratio
// within 1.25.
func BenchmarkFlagWrite(b *testing.B) {
	benchWrite(b, func(ctx context.Context, st *Store, key string, i int) error {
		_, err := st.UpdateFlag(ctx, "shop", key, func(f *Flag) error {
			f.Environments["production"].On = i%2 == 0
			return nil
		})
		return err
	})
}

// benchWrite measures one durable write of the benchmark flag (op, for
// iteration i) against a raw buntdb Set of the flag document, both fsynced.
// It also reports the bytes each appends to its file: the fsync's cost
// grows with them.
func benchWrite(b *testing.B, op func(ctx context.Context, st *Store, key string, i int) error) {
	st, f, path := benchStoreAt(b)
	db, rawPath := rawBuntdbAt(b)
	size0, rawSize0 := fileSize(b, path), fileSize(b, rawPath)
	doc, _ := json.Marshal(stripNames(&f))
	value := string(doc)
	key := flagKey("shop", f.Key)
	ctx := context.Background()
	var p pairTimer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := timeIt(&p.ours, func() error { return op(ctx, st, f.Key, i) }); err != nil {
			b.Fatal(err)
		}
		err := timeIt(&p.base, func() error {
			return db.Update(func(tx *buntdb.Tx) error {
				_, _, err := tx.Set(key, value, nil)
				return err
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.report(b)
	b.ReportMetric(float64(len(doc)), "bytes/doc")
	b.ReportMetric(float64(fileSize(b, path)-size0)/float64(b.N), "bytes/write")
	b.ReportMetric(float64(fileSize(b, rawPath)-rawSize0)/float64(b.N), "bytes/baseline-write")
}

// benchPatch measures one kind of PATCH (built for iteration i) the same way.
func benchPatch(b *testing.B, patch func(i int) Patch) {
	benchWrite(b, func(ctx context.Context, st *Store, key string, i int) error {
		_, err := st.PatchFlag(ctx, "shop", key, patch(i))
		return err
	})
}

// BenchmarkPatchSemanticToggle: a semantic turnFlagOn (alternating with
// turnFlagOff, so every patch changes something) against a raw buntdb Set
// of the flag document.
func BenchmarkPatchSemanticToggle(b *testing.B) {
	on := []Instruction{{Kind: "turnFlagOn"}}
	off := []Instruction{{Kind: "turnFlagOff"}}
	benchPatch(b, func(i int) Patch {
		ins := on
		if i%2 == 1 {
			ins = off
		}
		return Patch{Kind: SemanticPatch, Instructions: ins, EnvironmentKey: "production", Comment: "toggle"}
	})
}

// BenchmarkPatchJSONReplace: a JSON Patch replace of one environment's "on"
// against a raw buntdb Set of the flag document.
func BenchmarkPatchJSONReplace(b *testing.B) {
	ops := [2]json.RawMessage{
		json.RawMessage(`[{"op":"replace","path":"/environments/production/on","value":true}]`),
		json.RawMessage(`[{"op":"replace","path":"/environments/production/on","value":false}]`),
	}
	benchPatch(b, func(i int) Patch { return Patch{Kind: JSONPatch, Ops: ops[i%2], Comment: "toggle"} })
}

// BenchmarkFlagRead: GetFlag against a raw buntdb Get of the stored
// document. The ratio is reported; a read decodes JSON and returns a copy
// with environment names, which the raw Get does not.
func BenchmarkFlagRead(b *testing.B) {
	st, f := benchStore(b)
	db := rawBuntdb(b)
	doc, _ := json.Marshal(stripNames(&f))
	key := flagKey("shop", f.Key)
	if err := db.Update(func(tx *buntdb.Tx) error { _, _, err := tx.Set(key, string(doc), nil); return err }); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var p pairTimer
	var sink int
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := timeIt(&p.ours, func() error {
			got, err := st.GetFlag(ctx, "shop", f.Key)
			sink += len(got.Key)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		err = timeIt(&p.base, func() error {
			return db.View(func(tx *buntdb.Tx) error {
				v, err := tx.Get(key)
				sink += len(v)
				return err
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	p.report(b)
	if sink == 0 {
		b.Fatal("nothing read")
	}
}

// BenchmarkListFlagsPage: the first page of 20 flags out of 100,000 against
// the same page out of 100, in memory. Target: ratio within 2.
func BenchmarkListFlagsPage(b *testing.B) {
	big := listStore(b, 100_000)
	small := listStore(b, 100)
	ctx := context.Background()
	var p pairTimer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := ListOptions{Limit: 20, Sort: []string{"-creationDate", "name", "key"}[i%3]}
		var l List[Flag]
		err := timeIt(&p.ours, func() (err error) { l, err = big.ListFlags(ctx, "shop", o); return err })
		if err != nil || len(l.Items) != 20 || l.TotalCount != 100_000 {
			b.Fatalf("big list: %d items, total %d, %v", len(l.Items), l.TotalCount, err)
		}
		err = timeIt(&p.base, func() (err error) { l, err = small.ListFlags(ctx, "shop", o); return err })
		if err != nil || len(l.Items) != 20 {
			b.Fatalf("small list: %d items, %v", len(l.Items), err)
		}
	}
	b.StopTimer()
	p.report(b)
}

// listStore is an in-memory store whose project "shop" holds n flags.
func listStore(b *testing.B, n int) *Store {
	b.Helper()
	st, err := Open(":memory:")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.CreateProject(ctx, ProjectPost{Key: "shop", Name: "Shop"}); err != nil {
		b.Fatal(err)
	}
	for i := range n {
		key := fmt.Sprintf("flag-%06d", i)
		if _, err := st.CreateFlag(ctx, "shop", FlagPost{Key: key, Name: fmt.Sprintf("Flag %d", n-i)}); err != nil {
			b.Fatal(err)
		}
	}
	return st
}
