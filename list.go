package flagstore

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// ListOptions narrows and orders a list call. The zero value lists the first
// page of 20 in the collection's default order.
type ListOptions struct {
	// Limit is the page size (default 20).
	Limit int
	// Offset skips that many items of the ordered, filtered list.
	Offset int
	// Tag keeps only items carrying this tag.
	Tag string
	// Query keeps only items whose key or name contains it, ignoring case.
	Query string
	// Sort is "key", "name" or "creationDate" ("createdOn" is accepted too),
	// with a leading "-" for descending order. Default: the collection's.
	Sort string
	// Archived lists archived flags instead of live ones (flags only).
	Archived bool
}

// List is one page of a collection. TotalCount counts every item that the
// filters keep, not only this page.
type List[T any] struct {
	Items      []T
	TotalCount int
}

// DefaultLimit is the page size of a list call whose Limit is 0.
const DefaultLimit = 20

// maxInt is a Limit that means "all of them", for internal callers.
const maxInt = int(^uint(0) >> 1)

// Sort index names inside x/ keys.
const (
	sortKey     = "k"
	sortName    = "n"
	sortCreated = "c"
)

// An index keeps, for one collection in one scope, entries
// x/{coll}/{scope}/{view}/{filter}/{sort}/{value}\x00{key} whose value is
// the item's name, and counters n/{coll}/{scope}/{view}/{filter}.
// {view} separates live and archived flags ("l", "a"); {filter} is "all" or
// "t.{tag}". Every sort order of every filter is a prefix scan.
type index struct {
	coll  string // "p", "e", "f", "s"
	scope string // "" for projects, "{proj}" or "{proj}/{env}"
}

// entryOf is what one document contributes to its collection's index.
type entryOf struct {
	key      string
	name     string
	created  int64
	tags     []string
	archived bool
}

// same reports whether e and o give the same index keys and names.
func (e *entryOf) same(o *entryOf) bool {
	return e.key == o.key && e.name == o.name && e.created == o.created &&
		e.archived == o.archived && slices.Equal(e.tags, o.tags)
}

func (ix index) base() string { return "x/" + ix.coll + sep + ix.scope + sep }

func (e entryOf) view() string {
	if e.archived {
		return "a"
	}
	return "l"
}

func (e entryOf) filters() []string {
	out := make([]string, 0, 1+len(e.tags))
	out = append(out, "all")
	for _, t := range e.tags {
		out = append(out, "t."+t)
	}
	return out
}

func sortValue(sort string, e entryOf) string {
	switch sort {
	case sortName:
		return strings.ToLower(e.name)
	case sortCreated:
		return fmt.Sprintf("%016x", uint64(e.created))
	default:
		return ""
	}
}

// keys returns every index key of e, and every counter it counts in.
func (ix index) keys(e entryOf) (entries, counters []string) {
	for _, f := range e.filters() {
		counters = append(counters, "n/"+ix.coll+sep+ix.scope+sep+e.view()+sep+f)
		for _, s := range []string{sortKey, sortName, sortCreated} {
			entries = append(entries, ix.base()+e.view()+sep+f+sep+s+sep+sortValue(s, e)+"\x00"+e.key)
		}
	}
	return entries, counters
}

// reindex moves e's index entries and counters from old to new within w. A
// nil old means the document is new; a nil new means it is being deleted.
func (ix index) reindex(w *wtx, old, new *entryOf) error {
	if old != nil && new != nil && old.same(new) {
		return nil // most updates: the same keys and counters
	}
	var oldE, oldC, newE, newC []string
	if old != nil {
		oldE, oldC = ix.keys(*old)
	}
	if new != nil {
		newE, newC = ix.keys(*new)
	}
	inNew := make(map[string]bool, len(newE))
	for _, k := range newE {
		inNew[k] = true
	}
	oldNames := ""
	if old != nil {
		oldNames = old.name
	}
	for _, k := range oldE {
		if !inNew[k] {
			if err := w.del(k); err != nil {
				return err
			}
		}
	}
	inOld := make(map[string]bool, len(oldE))
	for _, k := range oldE {
		inOld[k] = true
	}
	for _, k := range newE {
		if !inOld[k] || oldNames != new.name {
			if err := w.w.Put(k, []byte(new.name), store.Any); err != nil {
				return err
			}
		}
	}
	delta := make(map[string]int)
	for _, c := range oldC {
		delta[c]--
	}
	for _, c := range newC {
		delta[c]++
	}
	for c, d := range delta {
		if d == 0 {
			continue
		}
		n, err := w.count(c)
		if err != nil {
			return err
		}
		if n+d <= 0 {
			err = w.del(c)
		} else {
			err = w.w.Put(c, []byte(strconv.Itoa(n+d)), store.Any)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// count reads a counter (0 when absent).
func (r *rtx) count(key string) (int, error) {
	it, err := r.tx.Get(key)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return 0, nil
		}
		return 0, err
	}
	n, err := strconv.Atoi(string(it.Value))
	if err != nil {
		return 0, newError(ErrInternal, "corrupt counter %s", key)
	}
	return n, nil
}

// parseSort validates a sort option against the collection's default.
func parseSort(sort, def string) (field string, desc bool, err *Error) {
	if sort == "" {
		sort = def
	}
	desc = strings.HasPrefix(sort, "-")
	switch strings.TrimPrefix(sort, "-") {
	case "key":
		return sortKey, desc, nil
	case "name":
		return sortName, desc, nil
	case "creationDate", "createdOn":
		return sortCreated, desc, nil
	}
	return "", false, invalidf("sort", "unsupported sort field %q: use key, name or creationDate", sort)
}

// page returns the keys of one page of the index and the filtered total,
// scanning only the index entries it needs unless a text query is given.
func (ix index) page(r *rtx, o ListOptions, defSort string) ([]string, int, error) {
	if o.Limit < 0 {
		return nil, 0, invalidf("limit", "limit must not be negative")
	}
	if o.Offset < 0 {
		return nil, 0, invalidf("offset", "offset must not be negative")
	}
	limit := o.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	field, desc, perr := parseSort(o.Sort, defSort)
	if perr != nil {
		return nil, 0, perr
	}
	view, filter := "l", "all"
	if o.Archived {
		view = "a"
	}
	if o.Tag != "" {
		if err := validTags("tag", []string{o.Tag}); err != nil {
			return nil, 0, err
		}
		filter = "t." + o.Tag
	}
	prefix := ix.base() + view + sep + filter + sep + field + sep
	query := strings.ToLower(o.Query)

	var keys []string
	matched := 0
	visit := func(it store.Item) bool {
		k := it.Key[strings.LastIndexByte(it.Key, 0)+1:]
		if query != "" && !strings.Contains(strings.ToLower(string(it.Value)), query) && !strings.Contains(strings.ToLower(k), query) {
			return true
		}
		matched++
		if matched > o.Offset && len(keys) < limit {
			keys = append(keys, k)
		}
		// Without a query the counter gives the total, so stop at the page.
		return query != "" || len(keys) < limit
	}
	if err := scanOrdered(r, prefix, desc, visit); err != nil {
		return nil, 0, err
	}
	if query != "" {
		return keys, matched, nil
	}
	total, err := r.count("n/" + ix.coll + sep + ix.scope + sep + view + sep + filter)
	return keys, total, err
}

// scanOrdered visits the keys under prefix in ascending order, or
// descending when desc is set.
func scanOrdered(r *rtx, prefix string, desc bool, visit func(store.Item) bool) error {
	if desc {
		return r.tx.ScanReverse(prefix, "", visit)
	}
	return r.tx.Scan(prefix, "", visit)
}
