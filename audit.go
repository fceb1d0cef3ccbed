package flagstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/flagstore/flagstore/internal/resource"
	"github.com/flagstore/flagstore/store"
)

// AuditEntry is one record of the audit log, in LaunchDarkly's shape
// (AuditLogEntryRep). Every successful write records exactly one, in the
// same transaction as the change. Lists return the summary form, without
// Delta, Merge, PreviousVersion and CurrentVersion.
type AuditEntry struct {
	ID               string       `json:"_id"`
	AccountID        string       `json:"_accountId"`
	Date             int64        `json:"date"`
	Accesses         []Access     `json:"accesses"`
	Kind             string       `json:"kind"`
	Name             string       `json:"name"`
	Description      string       `json:"description"`
	ShortDescription string       `json:"shortDescription"`
	Comment          string       `json:"comment,omitempty"`
	Member           *AuditMember `json:"member,omitempty"`
	Token            *AuditToken  `json:"token,omitempty"`
	TitleVerb        string       `json:"titleVerb"`
	Title            string       `json:"title"`
	Target           AuditTarget  `json:"target"`
	Parent           *AuditParent `json:"parent,omitempty"`
	// Delta is the JSON Patch that made the change, when one did.
	Delta json.RawMessage `json:"delta,omitempty"`
	// Merge is the merge patch that made the change, when one did.
	Merge json.RawMessage `json:"merge,omitempty"`
	// PreviousVersion and CurrentVersion are the resource before and after
	// (absent on create and on delete respectively).
	PreviousVersion json.RawMessage `json:"previousVersion,omitempty"`
	CurrentVersion  json.RawMessage `json:"currentVersion,omitempty"`
}

// Access is one action on one resource, named by its resource specifier.
type Access struct {
	Action   string `json:"action"`
	Resource string `json:"resource"`
}

// AuditMember is the member who made a change.
type AuditMember struct {
	ID        string `json:"_id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
}

// AuditToken is the access token a change was made with.
type AuditToken struct {
	ID           string `json:"_id"`
	Name         string `json:"name"`
	Ending       string `json:"ending"`
	ServiceToken bool   `json:"serviceToken"`
}

// AuditTarget is the resource a change was made to.
type AuditTarget struct {
	Name      string   `json:"name"`
	Resources []string `json:"resources"`
}

// AuditParent is the resource that contains the target.
type AuditParent struct {
	Name     string `json:"name"`
	Resource string `json:"resource"`
}

// Actor is who makes a change: a member, a token, or neither (the host
// application itself, through the Go API).
type Actor struct {
	Member *AuditMember
	Token  *AuditToken
}

type ctxKey int

const (
	commentKey ctxKey = iota
	actorKey
	patchKey // the *Patch being applied, for the entry's delta or merge
)

// WithComment returns a context whose writes record comment in the audit
// log, as LaunchDarkly's "comment" field does.
func WithComment(ctx context.Context, comment string) context.Context {
	return context.WithValue(ctx, commentKey, comment)
}

// WithActor returns a context whose writes are recorded as made by a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

func commentFrom(ctx context.Context) string {
	if p, ok := ctx.Value(patchKey).(*Patch); ok && p.Comment != "" {
		return p.Comment
	}
	c, _ := ctx.Value(commentKey).(string)
	return c
}

// Resource specifiers of the audited resources, as LaunchDarkly writes them.
func projRes(p string) string          { return "proj/" + p }
func envRes(p, e string) string        { return projRes(p) + ":env/" + e }
func flagRes(p, e, f string) string    { return envRes(p, e) + ":flag/" + f }
func segmentRes(p, e, s string) string { return envRes(p, e) + ":segment/" + s }

// accessesOf pairs each action with one resource.
func accessesOf(resource string, actions ...string) []Access {
	out := make([]Access, len(actions))
	for i, a := range actions {
		out[i] = Access{Action: a, Resource: resource}
	}
	return out
}

// flagAccesses lists what a flag update, which changed ch, did: flag-wide
// actions on the flag in every environment (env/*), targeting actions in
// their environment.
func flagAccesses(proj string, before, after *Flag, ch *flagChange) []Access {
	var wide []string
	if ch.top {
		wide = changedActions(flagFieldActions, before, after)
	}
	out := accessesOf(flagRes(proj, "*", after.Key), wide...)
	for _, env := range slices.Sorted(maps.Keys(ch.env)) {
		out = append(out, accessesOf(flagRes(proj, env, after.Key), ch.env[env]...)...)
	}
	return out
}

func actorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey).(Actor)
	return a
}

// change describes one write for the audit log; the write path fills it
// and update turns it into an entry.
type change struct {
	kind       string // "flag", "segment", "project", "environment"
	verb       string // "created", "updated", "deleted", ...
	name       string // the target's display name
	resource   string // the target's resource specifier
	parent     *AuditParent
	accesses   []Access
	before     any // nil on create
	after      any // nil on delete
	titleExtra string
	// self describes the target for policy checks once the store no longer
	// holds it (a delete): its type, key, tags and properties.
	self *resource.Part
}

// Audit key space: a/{date:016x}/{seq:016x} holds an entry with its
// snapshots (audit_record.go), ai/{id} points at it. seq orders entries of
// the same millisecond in commit order. as/{id} holds the snapshots of
// entries written before they moved into the entry.
const (
	auditPrefix     = "a/"
	auditIDPrefix   = "ai/"
	auditSnapPrefix = "as/"
)

func auditKey(date int64, seq uint64) string {
	return fmt.Sprintf("%s%016x/%016x", auditPrefix, uint64(date), seq)
}

// record turns a change into an audit entry and writes it in w.
func (s *Store) record(w *wtx, c change) error {
	if w.ctx == nil {
		return newError(ErrInternal, "write without context")
	}
	var self map[string]resource.Part
	if c.self != nil {
		self = map[string]resource.Part{c.resource: *c.self}
	}
	if err := s.authorize(w.ctx, &w.rtx, c.accesses, self); err != nil {
		return err
	}
	now := s.nowMillis()
	e := AuditEntry{
		ID:       s.newID(),
		Date:     now,
		Kind:     c.kind,
		Name:     c.name,
		Comment:  commentFrom(w.ctx),
		Target:   AuditTarget{Name: c.name, Resources: []string{c.resource}},
		Parent:   c.parent,
		Accesses: nonNil(c.accesses),
	}
	if p, ok := w.ctx.Value(patchKey).(*Patch); ok {
		e.Delta, e.Merge = p.Ops, p.Merge
	}
	actor := actorFrom(w.ctx)
	e.Member, e.Token = actor.Member, actor.Token
	e.TitleVerb = c.verb + " the " + c.kind + " " + c.name
	if c.titleExtra != "" {
		e.TitleVerb += " " + c.titleExtra
	}
	seq, err := auditSeq(w)
	if err != nil {
		return err
	}
	key := auditKey(now, seq)
	if err := s.putEntry(w, key, &e, c.resource, c.before, c.after); err != nil {
		return err
	}
	if err := w.w.Put(auditIDPrefix+e.ID, []byte(key), store.Absent); err != nil {
		return err
	}
	w.entries = append(w.entries, e.ID)
	return s.enqueueWebhooks(w, &e, self)
}

// actorName is how a title names who acted.
func actorName(a Actor) string {
	switch {
	case a.Member != nil && a.Member.FirstName != "":
		return strings.TrimSpace(a.Member.FirstName + " " + a.Member.LastName)
	case a.Member != nil:
		return a.Member.Email
	case a.Token != nil:
		return "Token " + a.Token.Name
	default:
		return "The host application"
	}
}

// AuditListOptions narrows a listing of the audit log.
type AuditListOptions struct {
	// Before keeps entries dated strictly before this time (Unix ms).
	Before int64
	// After keeps entries dated strictly after this time (Unix ms).
	After int64
	// Limit is the page size: 1 to 20, default 10.
	Limit int
	// Query keeps entries whose title, comment or target name contains it,
	// ignoring case.
	Query string
	// Spec keeps entries with an access whose resource matches this
	// resource specifier (LaunchDarkly's grammar).
	Spec string
}

// ListAuditLog lists audit entries newest first, in the summary form.
func (s *Store) ListAuditLog(ctx context.Context, o AuditListOptions) ([]AuditEntry, error) {
	return s.listAudit(ctx, o, func() (func([]Access) bool, error) { return func([]Access) bool { return true }, nil })
}

// listAudit checks o, then builds the filter keep, and lists, newest first
// in the summary form, the entries that o and the filter select.
func (s *Store) listAudit(ctx context.Context, o AuditListOptions, filter func() (func([]Access) bool, error)) ([]AuditEntry, error) {
	limit := o.Limit
	switch {
	case limit == 0:
		limit = 10
	case limit < 1 || limit > 20:
		return nil, invalidf("limit", "limit must be between 1 and 20")
	}
	if o.Before < 0 || o.After < 0 {
		return nil, invalidf("before", "before and after must not be negative")
	}
	match, err := specMatcher(o.Spec)
	if err != nil {
		return nil, err
	}
	keep, err := filter()
	if err != nil {
		return nil, err
	}
	query := strings.ToLower(o.Query)
	out := []AuditEntry{}
	err = s.scanAudit(ctx, o.Before, o.After, func(e *AuditEntry) bool {
		if query != "" && !strings.Contains(strings.ToLower(e.Title+"\n"+e.Comment+"\n"+e.Target.Name), query) {
			return true
		}
		if !match(e.Accesses) || !keep(e.Accesses) {
			return true
		}
		e.Delta, e.Merge, e.PreviousVersion, e.CurrentVersion = nil, nil, nil, nil
		out = append(out, *e)
		return len(out) < limit
	})
	return out, err
}

// scanAudit visits, newest first, the entries dated strictly between after
// and before (0: unbounded) that the context's principal may view, with
// their titles filled, until fn returns false.
func (s *Store) scanAudit(ctx context.Context, before, after int64, fn func(*AuditEntry) bool) error {
	from := ""
	if before > 0 {
		from = fmt.Sprintf("%s%016x/", auditPrefix, uint64(before))
	}
	seen := map[string]bool{}
	return s.view(ctx, func(r *rtx) error {
		var ferr error
		err := r.tx.ScanReverse(auditPrefix, from, func(it store.Item) bool {
			var e AuditEntry
			if err := decodeEntry(it.Value, &e); err != nil {
				ferr = newError(ErrInternal, "corrupt audit entry %s", it.Key)
				return false
			}
			if after > 0 && e.Date <= after {
				return false
			}
			e.fillTitles()
			if !s.mayViewEntry(ctx, r, &e, seen) {
				return true
			}
			return fn(&e)
		})
		if ferr != nil {
			return ferr
		}
		return err
	})
}

// GetAuditEntry returns one audit entry in its detailed form.
func (s *Store) GetAuditEntry(ctx context.Context, id string) (AuditEntry, error) {
	var e AuditEntry
	err := s.view(ctx, func(r *rtx) error {
		it, err := r.tx.Get(auditIDPrefix + id)
		if err != nil {
			return notFoundOr(err, "Unknown audit log entry %q", id)
		}
		it, err = r.tx.Get(string(it.Value))
		if err != nil {
			return notFoundOr(err, "Unknown audit log entry %q", id)
		}
		if err := decodeEntry(it.Value, &e); err != nil {
			return newError(ErrInternal, "corrupt audit entry %s", it.Key)
		}
		joined, err := entrySnapshots(r, it.Value, &e)
		if err != nil {
			return err
		}
		if !joined {
			it, err := r.tx.Get(auditSnapPrefix + id)
			if err != nil {
				return notFoundOr(err, "Unknown audit log entry %q", id)
			}
			if err := decodeSnapshots(it.Value, &e); err != nil {
				return err
			}
		}
		e.fillTitles()
		if !s.mayViewEntry(ctx, r, &e, nil) {
			return notFoundf("Unknown audit log entry %q", id)
		}
		return nil
	})
	return e, err
}

// fillTitles derives the title fields from the actor and the title verb;
// they are not stored, which keeps each write small.
func (e *AuditEntry) fillTitles() {
	e.Title = actorName(Actor{Member: e.Member, Token: e.Token}) + " " + e.TitleVerb
	e.ShortDescription = e.TitleVerb
	e.Description = e.Title
}

// mayViewEntry reports whether the context's principal may read an entry:
// one about a project's resources needs viewProject on that project (seen
// caches the answers of one listing); account-level entries are readable
// by every principal that may use the API.
func (s *Store) mayViewEntry(ctx context.Context, r *rtx, e *AuditEntry, seen map[string]bool) bool {
	if _, ok := PrincipalFrom(ctx); !ok || len(e.Target.Resources) == 0 {
		return true
	}
	proj, ok := strings.CutPrefix(e.Target.Resources[0], "proj/")
	if !ok {
		return true
	}
	proj, _, _ = strings.Cut(proj, ":")
	if v, ok := seen[proj]; ok {
		return v
	}
	v := s.authorizeView(ctx, r, proj) == nil
	if seen != nil {
		seen[proj] = v
	}
	return v
}
