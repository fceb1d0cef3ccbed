package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// The key space. Every resource is one JSON document; index and reference
// keys are written in the same transaction as the document they describe.
//
//	p/{proj}                          project
//	e/{proj}/{env}                    environment
//	f/{proj}/{flag}                   flag, with every environment's config
//	s/{proj}/{env}/{seg}              segment
//	c/{kind}/{credential}             credential → environment (kind sdk|mob|cid)
//	x/{coll}/{scope}/{view}/{sort}    list index entries (see list.go)
//	n/{coll}/{scope}/{view}           list counters
//	r/f/{proj}/{target}/{dependent}   flag {dependent} has {target} as a prerequisite
//	r/s/{proj}/{env}/{seg}/{user}     segment {seg} is used by {user} ("f:key" or "s:key")
//	wh/{id}, ws/{id}                  webhook and its delivery status (webhook.go)
//	wo/{due}/{entry}/{webhook}        webhook outbox: one pending delivery
const sep = "/"

func projectKey(proj string) string     { return "p/" + proj }
func envKey(proj, env string) string    { return "e/" + proj + sep + env }
func envPrefix(proj string) string      { return "e/" + proj + sep }
func flagKey(proj, flag string) string  { return "f/" + proj + sep + flag }
func flagPrefix(proj string) string     { return "f/" + proj + sep }
func segPrefix(proj, env string) string { return "s/" + proj + sep + env + sep }
func credKey(kind, cred string) string  { return "c/" + kind + sep + cred }
func prereqPrefix(proj, target string) string {
	return "r/f/" + proj + sep + target + sep
}
func segKey(proj, env, seg string) string { return segPrefix(proj, env) + seg }
func segUsePrefix(proj, env, seg string) string {
	return "r/s/" + proj + sep + env + sep + seg + sep
}

// Credential kinds in the c/ key space.
const (
	credSDK      = "sdk"
	credMobile   = "mob"
	credClientID = "cid"
)

// rtx is a read transaction with JSON helpers.
type rtx struct {
	tx       store.ReadTx
	flags    *docCache[Flag]
	projects *docCache[Project]
}

// get decodes the document at key into v and returns its store version; a
// missing key is store.ErrNotFound.
func (r *rtx) get(key string, v any) (uint64, error) {
	it, err := r.tx.Get(key)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(it.Value, v); err != nil {
		return 0, newError(ErrInternal, "corrupt document at %s: %v", key, err)
	}
	return it.Version, nil
}

// exists reports whether key is present.
func (r *rtx) exists(key string) (bool, error) {
	_, err := r.tx.Get(key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// keysUnder returns the suffixes of every key under prefix, in order.
func (r *rtx) keysUnder(prefix string) ([]string, error) {
	var out []string
	err := r.tx.Scan(prefix, "", func(it store.Item) bool {
		out = append(out, strings.TrimPrefix(it.Key, prefix))
		return true
	})
	return out, err
}

// each decodes every document under prefix into a fresh T and calls fn.
func each[T any](r *rtx, prefix string, fn func(key string, v *T) error) error {
	var ferr error
	err := r.tx.Scan(prefix, "", func(it store.Item) bool {
		v := new(T)
		if err := json.Unmarshal(it.Value, v); err != nil {
			ferr = newError(ErrInternal, "corrupt document at %s: %v", it.Key, err)
			return false
		}
		if err := fn(strings.TrimPrefix(it.Key, prefix), v); err != nil {
			ferr = err
			return false
		}
		return true
	})
	if ferr != nil {
		return ferr
	}
	return err
}

// wtx is a write transaction with JSON helpers.
type wtx struct {
	rtx
	w store.WriteTx
	// ctx carries the comment and actor recorded in the audit log.
	ctx context.Context
	// entries are the IDs of the audit entries this transaction wrote.
	entries []string
	// tails are the audit tails to remember once the transaction commits
	// (audit_chain.go).
	tails []pendingTail
	// flagDocs are the flags the transaction stored, for the flag cache
	// once it commits (cache.go).
	flagDocs []pendingDoc[Flag]
	// replacesAll is set by a transaction that replaces the whole store
	// (Load), after which the remembered audit tails no longer hold.
	replacesAll bool
	// outbox is set when the transaction queued webhook deliveries, so the
	// delivery worker is woken once it commits.
	outbox bool
}

// put encodes v and writes it at key if the key is at version expect.
func (w *wtx) put(key string, v any, expect uint64) error {
	b, err := json.Marshal(v)
	if err != nil {
		return newError(ErrInvalid, "cannot encode document: %v", err)
	}
	return w.w.Put(key, b, expect)
}

// mark writes an empty marker value at key (index and reference keys).
func (w *wtx) mark(key string) error { return w.w.Put(key, nil, store.Any) }

// del deletes key unconditionally; a missing key is no error.
func (w *wtx) del(key string) error { return w.w.Delete(key, store.Any) }

// delUnder deletes every key under prefix.
func (w *wtx) delUnder(prefix string) error {
	keys, err := w.keysUnder(prefix)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := w.del(prefix + k); err != nil {
			return err
		}
	}
	return nil
}

// storeAny is store.Any, for unconditional writes of JSON documents.
const storeAny = store.Any

// notFoundOr turns the seam's not-found into a 404 with the given message and
// passes any other error through.
func notFoundOr(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFoundf(format, args...)
	}
	return err
}
