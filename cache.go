package flagstore

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/flagstore/flagstore/store"
)

// docCache keeps decoded documents keyed by their store key and validated by
// their exact stored bytes: an entry is used only when the bytes read now
// equal the bytes it was decoded from, so it can never serve stale or
// uncommitted content, whatever the backend's versioning. It saves the JSON
// decode, which dominates the cost of reads and of read-modify-write
// updates. Entries are never handed out: callers clone what they get.
type docCache[T any] struct {
	mu  sync.Mutex
	m   map[string]cacheEntry[T]
	max int
}

type cacheEntry[T any] struct {
	raw []byte
	doc *T
}

func newDocCache[T any](max int) *docCache[T] {
	return &docCache[T]{m: make(map[string]cacheEntry[T]), max: max}
}

// get returns the cached document for key if it was decoded from raw.
func (c *docCache[T]) get(key string, raw []byte) (*T, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return e.doc, true
}

// put remembers doc as the decoding of raw. The cache takes ownership of
// both; when full it drops an arbitrary entry.
func (c *docCache[T]) put(key string, raw []byte, doc *T) {
	if c == nil || c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[key]; !ok && len(c.m) >= c.max {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[key] = cacheEntry[T]{raw: raw, doc: doc}
}

// drop forgets key.
func (c *docCache[T]) drop(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// getCached reads the document at key into v through c: when c holds the
// decoding of the bytes stored now, v gets a clone of it and the JSON
// decode is skipped; otherwise v is decoded and c remembers a clone.
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
	it, err := r.tx.Get(key)
	if err != nil {
		return nil, store.Item{}, err
	}
	if d, ok := c.get(key, it.Value); ok {
		return d, it, nil
	}
	v := new(T)
	if err := json.Unmarshal(it.Value, v); err != nil {
		return nil, store.Item{}, newError(ErrInternal, "corrupt document at %s: %v", key, err)
	}
	cp := clone(v)
	c.put(key, it.Value, &cp)
	return v, it, nil
}
