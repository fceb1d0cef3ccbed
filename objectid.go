package flagstore

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"sync/atomic"
	"time"
)

// newObjectIDs returns the default generator of account-scoped IDs. They
// have the shape of LaunchDarkly's, which are MongoDB ObjectIDs: 12 bytes as
// 24 hex characters, made of the Unix time in seconds (from now), 5 random
// bytes fixed per generator and a 3-byte counter from a random start.
//
// IDs one generator makes in the same second therefore rise, so the keys
// that name them (an audit entry's ai/ key on every write) land next to
// each other in the store's ordered index rather than anywhere in it,
// which keeps the write's index lookups in cache.
func newObjectIDs(now func() time.Time) func() string {
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails (Go 1.24+)
	var counter atomic.Uint32
	counter.Store(binary.BigEndian.Uint32(seed[4:]))
	return func() string {
		var id [12]byte
		binary.BigEndian.PutUint32(id[:4], uint32(now().Unix()))
		copy(id[4:9], seed[:5])
		n := counter.Add(1)
		id[9], id[10], id[11] = byte(n>>16), byte(n>>8), byte(n)
		return hex.EncodeToString(id[:])
	}
}
