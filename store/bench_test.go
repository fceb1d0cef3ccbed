package store_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/buntdb"

	"github.com/flagstore/flagstore/store"
)

// The benchmarks pair raw buntdb with the backend doing the same work, as
// sub-benchmarks of one function, so one run gives both; each "backend"
// sub-benchmark also reports its time as a multiple of the "raw" one
// (x-raw). Run them with -bench=. -run='^$'.

const (
	benchValueSize = 1024
	benchKeys      = 4096
)

var (
	benchValue = bytes.Repeat([]byte("v"), benchValueSize)
	benchKey   = func() []string {
		keys := make([]string, benchKeys)
		for i := range keys {
			keys[i] = fmt.Sprintf("flag/%06d", i)
		}
		return keys
	}()
)

// benchPath returns where a benchmark's store lives: a fresh file, or
// memory.
func benchPath(b *testing.B, file bool) string {
	if !file {
		return ":memory:"
	}
	return filepath.Join(b.TempDir(), "bench.db")
}

// openRaw opens a buntdb database configured like the backend's default:
// fsync on every commit, no background shrink (so neither side pays for
// one mid-run).
func openRaw(b *testing.B, path string) *buntdb.DB {
	db, err := buntdb.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	var cfg buntdb.Config
	if err := db.ReadConfig(&cfg); err != nil {
		b.Fatal(err)
	}
	cfg.SyncPolicy = buntdb.Always
	cfg.AutoShrinkDisabled = true
	if err := db.SetConfig(cfg); err != nil {
		b.Fatal(err)
	}
	return db
}

// openBackend opens the backend with the same settings as openRaw.
func openBackend(b *testing.B, path string) *store.BuntDB {
	s, err := store.Open(path, store.WithSync(store.SyncAlways), store.WithAutoShrink(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// nsPerOp is the mean time per iteration of a finished benchmark loop.
func nsPerOp(b *testing.B) float64 {
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}

// variant is one sub-benchmark of a comparison.
type variant struct {
	name string
	run  func(b *testing.B)
}

// compare runs the variants as sub-benchmarks; the first is the raw
// baseline and every other reports its time as a multiple of it (x-raw).
func compare(b *testing.B, variants ...variant) {
	var rawNs float64
	for i, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			v.run(b)
			if i == 0 {
				rawNs = nsPerOp(b)
			} else if rawNs > 0 {
				b.ReportMetric(nsPerOp(b)/rawNs, "x-raw")
			}
		})
	}
}

// BenchmarkPut compares a buntdb Set of a 1 KiB value in its own
// transaction with Update+Put of the same value, on a file with an fsync
// per commit and in memory (where the bookkeeping cost shows). raw-copy
// converts the []byte value to a string per Set, as the backend must.
func BenchmarkPut(b *testing.B) {
	for _, file := range []bool{true, false} {
		name := map[bool]string{true: "file-sync-always", false: "memory"}[file]
		rawPut := func(copyValue bool) func(b *testing.B) {
			return func(b *testing.B) {
				db := openRaw(b, benchPath(b, file))
				value := string(benchValue)
				b.SetBytes(benchValueSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					err := db.Update(func(tx *buntdb.Tx) error {
						v := value
						if copyValue {
							v = string(benchValue)
						}
						_, _, err := tx.Set(benchKey[i%benchKeys], v, nil)
						return err
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		b.Run(name, func(b *testing.B) {
			if file {
				b.Run("interleaved", benchPutInterleaved)
			}
			compare(b, variant{"raw", rawPut(false)}, variant{"raw-copy", rawPut(true)}, variant{"backend", func(b *testing.B) {
				s := openBackend(b, benchPath(b, file))
				ctx := context.Background()
				b.SetBytes(benchValueSize)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					err := s.Update(ctx, func(tx store.WriteTx) error {
						return tx.Put(benchKey[i%benchKeys], benchValue, store.Any)
					})
					if err != nil {
						b.Fatal(err)
					}
				}
			}})
		})
	}
}

// benchPutInterleaved alternates a raw Set and a backend Put, each on its
// own file with an fsync per commit, and reports the mean time of each and
// their ratio. fsync latency drifts a lot on shared machines; interleaving
// exposes both sides to the same drift, so x-raw is steadier than the
// ratio of separate runs.
func benchPutInterleaved(b *testing.B) {
	db := openRaw(b, benchPath(b, true))
	s := openBackend(b, benchPath(b, true))
	ctx := context.Background()
	var rawTime, backendTime time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		key := benchKey[i%benchKeys]
		t0 := time.Now()
		err := db.Update(func(tx *buntdb.Tx) error {
			_, _, err := tx.Set(key, string(benchValue), nil)
			return err
		})
		t1 := time.Now()
		if err == nil {
			err = s.Update(ctx, func(tx store.WriteTx) error { return tx.Put(key, benchValue, store.Any) })
		}
		t2 := time.Now()
		if err != nil {
			b.Fatal(err)
		}
		rawTime += t1.Sub(t0)
		backendTime += t2.Sub(t1)
	}
	b.ReportMetric(float64(rawTime.Nanoseconds())/float64(b.N), "raw-ns/op")
	b.ReportMetric(float64(backendTime.Nanoseconds())/float64(b.N), "backend-ns/op")
	b.ReportMetric(float64(backendTime)/float64(rawTime), "x-raw")
}

// fillRaw writes every benchmark key to db in one transaction.
func fillRaw(b *testing.B, db *buntdb.DB) {
	value := string(benchValue)
	if err := db.Update(func(tx *buntdb.Tx) error {
		for _, k := range benchKey {
			if _, _, err := tx.Set(k, value, nil); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
}

// benchSink keeps copied values alive so the copies are not optimised away.
var benchSink []byte

// BenchmarkGet compares a buntdb Get of a 1 KiB value in its own read
// transaction with View+Get. raw-copy adds the copy to []byte that the
// backend must make (Item.Value is the caller's own), which is most of the
// difference.
func BenchmarkGet(b *testing.B) {
	rawGet := func(copyValue bool) func(b *testing.B) {
		return func(b *testing.B) {
			db := openRaw(b, benchPath(b, true))
			fillRaw(b, db)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				err := db.View(func(tx *buntdb.Tx) error {
					v, err := tx.Get(benchKey[i%benchKeys])
					if copyValue {
						benchSink = []byte(v)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	compare(b, variant{"raw", rawGet(false)}, variant{"raw-copy", rawGet(true)}, variant{"backend", func(b *testing.B) {
		s := openBackend(b, benchPath(b, true))
		ctx := context.Background()
		fill(b, s, "")
		n := 0
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			err := s.View(ctx, func(tx store.ReadTx) error {
				it, err := tx.Get(benchKey[i%benchKeys])
				n += len(it.Value)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}})
}

// fill writes every benchmark key under prefix in one transaction.
func fill(b *testing.B, s *store.BuntDB, prefix string) {
	err := s.Update(context.Background(), func(tx store.WriteTx) error {
		for _, k := range benchKey {
			if err := tx.Put(prefix+k, benchValue, store.Any); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkScan compares reading 100 consecutive 1 KiB items from the
// middle of 4096 with buntdb's AscendGreaterOrEqual and with Scan; raw-copy
// adds the per-item copy the backend must make.
func BenchmarkScan(b *testing.B) {
	const window = 100
	start := benchKey[benchKeys/2]
	rawScan := func(copyValue bool) func(b *testing.B) {
		return func(b *testing.B) {
			db := openRaw(b, benchPath(b, true))
			fillRaw(b, db)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				seen := 0
				err := db.View(func(tx *buntdb.Tx) error {
					return tx.AscendGreaterOrEqual("", start, func(k, v string) bool {
						if !strings.HasPrefix(k, "flag/") {
							return false
						}
						if copyValue {
							benchSink = []byte(v)
						}
						seen++
						return seen < window
					})
				})
				if err != nil || seen != window {
					b.Fatal(err, seen)
				}
			}
		}
	}
	compare(b, variant{"raw", rawScan(false)}, variant{"raw-copy", rawScan(true)}, variant{"backend", func(b *testing.B) {
		s := openBackend(b, benchPath(b, true))
		fill(b, s, "")
		ctx := context.Background()
		after := benchKey[benchKeys/2-1]
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			seen := 0
			err := s.View(ctx, func(tx store.ReadTx) error {
				return tx.Scan("flag/", after, func(store.Item) bool {
					seen++
					return seen < window
				})
			})
			if err != nil || seen != window {
				b.Fatal(err, seen)
			}
		}
	}})
}
