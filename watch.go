package flagstore

import (
	"context"
	"strings"

	"github.com/flagstore/flagstore/store"
)

// Change is one committed change, as Watch delivers it: the audit entry the
// change recorded, in its detailed form (with previous and current
// versions), and the store revision that committed it.
type Change struct {
	Revision uint64
	Entry    AuditEntry
}

// Watch calls fn for every change committed after Watch returns, once each
// and in commit order, from a goroutine of the store's, until ctx is done or
// the store closes. The changes are those the audit log records; dry runs
// and failed writes deliver nothing. A slow fn never delays writers: its
// changes wait in a queue of its own. fn must not write to the store. A
// principal in ctx must be an admin: the feed shows every project.
func (s *Store) Watch(ctx context.Context, fn func(Change)) error {
	if err := authorizeWholeStore(ctx, "watch"); err != nil {
		return err
	}
	_, err := s.db.Subscribe(ctx, func(c store.Commit) {
		for _, op := range c.Ops {
			if !strings.HasPrefix(op.Key, auditPrefix) || op.Before != nil || op.After == nil {
				continue
			}
			var e AuditEntry
			if err := decodeEntry(op.After, &e); err != nil {
				s.log.Error("watch: undecodable audit entry", "key", op.Key, "err", err)
				continue
			}
			err := s.view(context.WithoutCancel(ctx), func(r *rtx) error { // a chained entry reads earlier ones
				_, err := entrySnapshots(r, op.After, &e)
				return err
			})
			if err != nil {
				s.log.Error("watch: undecodable audit snapshot", "id", e.ID, "err", err)
			}
			e.fillTitles()
			fn(Change{Revision: c.Revision, Entry: e})
		}
	})
	return storeErr(err)
}
