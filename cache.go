package flagstore

import (
	"encoding/json"
	"sync"

	"github.com/flagstore/flagstore/store"
)

// docCache keeps decoded documents by store key and version, with the bytes
// they were decoded from. It saves the JSON decode, which dominates the
// cost of reads and of read-modify-write updates, and, since a read asks
// the backend only for the version, the copy of the value.
//
// A key's version is the revision of the commit that last wrote it, and
// revisions are never reused by a commit, so (key, version) names one
// committed value for good. The cache therefore holds committed values
// only: a value read in a write transaction that wrote the key itself (its
// version is above the transaction's revision) is not kept, and a value a
// write stores is kept only once its transaction has committed (wtx.flagDocs,
// applied by Store.update). Entries are never handed out to callers
// outside the package: they clone what they get.
type docCache[T any] struct {
	boundedMap[cacheEntry[T]]
}

type cacheEntry[T any] struct {
	version uint64
	raw     []byte
	doc     *T
}

func newDocCache[T any](max int) *docCache[T] {
	return &docCache[T]{boundedMap[cacheEntry[T]]{max: max}}
}

// get returns the cached entry for key at version.
func (c *docCache[T]) get(key string, version uint64) (cacheEntry[T], bool) {
	if c == nil {
		return cacheEntry[T]{}, false
	}
	e, ok := c.boundedMap.get(key)
	if !ok || e.version != version {
		return cacheEntry[T]{}, false
	}
	return e, true
}

// put remembers doc as the decoding of raw, the committed value of key at
// version. The cache takes ownership of both.
func (c *docCache[T]) put(key string, version uint64, raw []byte, doc *T) {
	if c != nil {
		c.set(key, cacheEntry[T]{version: version, raw: raw, doc: doc})
	}
}

// drop forgets key.
func (c *docCache[T]) drop(key string) {
	if c != nil {
		c.delete(key)
	}
}

// boundedMap is a map for concurrent use that holds at most max keys
// (none when max is 0): a new key beyond that drops an arbitrary one.
type boundedMap[V any] struct {
	mu  sync.Mutex
	m   map[string]V
	max int
}

func (b *boundedMap[V]) get(key string) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[key]
	return v, ok
}

func (b *boundedMap[V]) set(key string, v V) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.max <= 0 {
		return
	}
	if b.m == nil {
		b.m = make(map[string]V)
	}
	if _, ok := b.m[key]; !ok && len(b.m) >= b.max {
		for k := range b.m {
			delete(b.m, k)
			break
		}
	}
	b.m[key] = v
}

func (b *boundedMap[V]) delete(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.m, key)
}

// reset forgets every key.
func (b *boundedMap[V]) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.m = nil
}

// pendingDoc is a document a write transaction stored, with its decoding,
// to cache once the transaction has committed.
type pendingDoc[T any] struct {
	key string
	raw []byte
	doc *T
}

// getCached reads the document at key into v through c: a clone of the
// cached decoding when c holds the stored version, else a decoding, which
// c keeps if it is committed. The item's Value must not be changed.
func getCached[T any](r *rtx, c *docCache[T], clone func(*T) T, key string, v *T) (store.Item, error) {
	d, it, err := peekCached(r, c, clone, key)
	if err != nil {
		return store.Item{}, err
	}
	*v = clone(d)
	return it, nil
}

// peekCached is getCached for callers that only read: it returns the
// cache's own decoding, which must not be changed, and saves the clone.
func peekCached[T any](r *rtx, c *docCache[T], clone func(*T) T, key string) (*T, store.Item, error) {
	version, err := r.tx.Version(key)
	if err != nil {
		return nil, store.Item{}, err
	}
	if e, ok := c.get(key, version); ok {
		return e.doc, store.Item{Key: key, Value: e.raw, Version: version}, nil
	}
	it, err := r.tx.Get(key)
	if err != nil {
		return nil, store.Item{}, err
	}
	v := new(T)
	if err := json.Unmarshal(it.Value, v); err != nil {
		return nil, store.Item{}, newError(ErrInternal, "corrupt document at %s: %v", key, err)
	}
	if it.Version <= r.tx.Revision() { // committed: not this transaction's own write
		cp := clone(v)
		c.put(key, it.Version, it.Value, &cp)
	}
	return v, it, nil
}
