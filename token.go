package flagstore

// Access tokens (LaunchDarkly's Token). A token's secret, "api-" and a
// UUID, appears once, in the result of CreateToken or ResetToken; the store
// keeps only its SHA-256, so neither documents, audit snapshots nor a Save
// stream can give it away. The key space:
//
//	tk/{id}              token (tokenDoc): the representation, showing the
//	                     secret's last four characters, with the hashes of
//	                     the current secret and of retired ones still valid
//	th/{sha256 hex}      secret hash → "{id}" or "{id} {expires ms}"
//	tkm/{member}/{id}    a personal token of the member
//	ru/{role}/k:{id}     the token has the custom role (see role.go)
//	x/tk//…, n/tk//…     list index (see list.go); its tags are "svc" for
//	                     service tokens, "p" and "m.{member}" for personal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/flagstore/flagstore/internal/resource"
	"github.com/flagstore/flagstore/store"
)

func tokenKey(id string) string              { return "tk/" + id }
func tokenHashKey(hash string) string        { return "th/" + hash }
func memberTokenPrefix(member string) string { return "tkm/" + member + sep }
func tokenRoleUser(id string) string         { return "k:" + id }

// Token is an API access token. Token holds the whole secret only in the
// results of CreateToken and ResetToken; anywhere else it holds the last
// four characters, as LaunchDarkly shows them. Exactly one of Role,
// CustomRoleIDs and InlineRole is set.
type Token struct {
	ID string `json:"_id"`
	// OwnerID is the _id of the account's owner member.
	OwnerID string `json:"ownerId"`
	// MemberID is the member who created the token. A personal token acts
	// for this member and goes with them; a service token outlives them.
	MemberID string `json:"memberId"`
	// Member is filled on read while MemberID's member exists.
	Member       *MemberSummary `json:"_member,omitempty"`
	Name         string         `json:"name"`
	Description  string         `json:"description"`
	CreationDate int64          `json:"creationDate"`
	LastModified int64          `json:"lastModified"`
	// CustomRoleIDs are custom role _ids; writes accept keys too.
	CustomRoleIDs []string    `json:"customRoleIds"`
	InlineRole    []Statement `json:"inlineRole"`
	// Role is the base role: reader, writer or admin.
	Role         string `json:"role,omitempty"`
	Token        string `json:"token"`
	ServiceToken bool   `json:"serviceToken"`
	// DefaultAPIVersion is the API version of requests that name none.
	DefaultAPIVersion int `json:"defaultApiVersion"`
	// LastUsed is when the token last authenticated a request (Unix ms, to
	// the minute); 0 if never.
	LastUsed int64 `json:"lastUsed,omitempty"`
}

// MemberSummary is a short form of a member (LaunchDarkly's MemberSummary).
type MemberSummary struct {
	ID        string `json:"_id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName,omitempty"`
	LastName  string `json:"lastName,omitempty"`
	Role      string `json:"role"`
}

// TokenPost is the body that creates an access token (AccessTokenPost).
// Give at most one of Role, CustomRoleIDs and InlineRole; with none the
// token is a reader, the role LaunchDarkly's own example creates.
type TokenPost struct {
	Name          string      `json:"name,omitempty"`
	Description   string      `json:"description,omitempty"`
	Role          string      `json:"role,omitempty"`
	CustomRoleIDs []string    `json:"customRoleIds,omitempty"`
	InlineRole    []Statement `json:"inlineRole,omitempty"`
	ServiceToken  bool        `json:"serviceToken,omitempty"`
	// DefaultAPIVersion is one of LaunchDarkly's dated versions, or 0 for
	// the latest, which the token then keeps.
	DefaultAPIVersion int `json:"defaultApiVersion,omitempty"`
}

// TokenListOptions selects and pages access tokens, oldest first. The zero
// value lists the first DefaultTokenLimit of all tokens.
type TokenListOptions struct {
	// MemberID keeps, of the personal tokens, only this member's: the list
	// then holds every service token and the member's personal tokens,
	// what LaunchDarkly shows a member's token.
	MemberID string
	// ServiceOnly keeps only service tokens; MemberID must then be empty.
	ServiceOnly bool
	// PersonalOnly keeps only personal tokens.
	PersonalOnly bool
	// ShowAll lets an admin principal see every member's personal tokens
	// (LaunchDarkly's showAll); other principals always see only service
	// tokens and their own member's personal tokens.
	ShowAll bool
	Limit   int // default DefaultTokenLimit
	Offset  int
}

// DefaultTokenLimit is the page size of ListTokens, as in LaunchDarkly.
const DefaultTokenLimit = 25

// tokenAPIVersions are LaunchDarkly's dated REST API versions, oldest
// first; the last is the latest.
var tokenAPIVersions = []int{20160426, 20191212, 20210729, 20220603, 20240415}

// tokenDoc is the stored form of a token.
type tokenDoc struct {
	Token
	Hash    string          `json:"hash"` // SHA-256 (hex) of the current secret
	Retired []retiredSecret `json:"retiredSecrets,omitempty"`
}

// retiredSecret is an old secret that works until Expires (Unix ms).
type retiredSecret struct {
	Hash    string `json:"hash"`
	Expires int64  `json:"expires"`
}

var tokenIndex = index{coll: "tk", scope: ""}

func tokenEntry(t *Token) *entryOf {
	tags := []string{"svc"}
	if !t.ServiceToken {
		tags = []string{"p", "m." + t.MemberID}
	}
	return &entryOf{key: t.ID, name: t.Name, created: t.CreationDate, tags: tags}
}

// hashSecret is the hex SHA-256 of a secret, the only form stored.
func hashSecret(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// secretEnding is what a token shows of its secret.
func secretEnding(secret string) string { return secret[max(0, len(secret)-4):] }

// putTokenHash points a secret's hash at a token; a retired secret's entry
// carries its expiry. The value is text, which reads faster than JSON.
func putTokenHash(w *wtx, hash, id string, expires int64, expect uint64) error {
	v := id
	if expires != 0 {
		v += " " + strconv.FormatInt(expires, 10)
	}
	return w.w.Put(tokenHashKey(hash), []byte(v), expect)
}

// errInvalidToken is LaunchDarkly's 401 for an unknown access token.
func errInvalidToken() *Error { return newError(ErrUnauthorized, "Invalid access token") }

// tokenRes is the token's resource specifier.
func tokenRes(t *Token) string {
	if t.ServiceToken {
		return resource.ServiceToken(t.ID).String()
	}
	return resource.Member(t.MemberID).Token(t.ID).String()
}

// CreateToken creates an access token for the member memberID, who must
// exist. The result holds the whole secret: keep it, nothing else will.
func (s *Store) CreateToken(ctx context.Context, memberID string, p TokenPost) (Token, error) {
	return s.createToken(ctx, memberID, p, "")
}

// EnsureAdminToken makes sure an admin-role personal token of the owner
// with exactly this secret exists, creating it if needed: how a host or
// the flagstore server installs a known administrator credential. The
// secret must be at least 20 characters of letters, digits, '-' and '_'.
func (s *Store) EnsureAdminToken(ctx context.Context, secret string) (Token, error) {
	if len(secret) < 20 || len(secret) > 256 || strings.ContainsFunc(secret, func(r rune) bool {
		return !(r < 128 && (isAlnum(byte(r)) || r == '-' || r == '_'))
	}) {
		return Token{}, invalidf("token", "an admin token secret is 20 to 256 letters, digits, '-' or '_'")
	}
	if t, err := s.tokenBySecret(ctx, secret); err == nil {
		return t, nil
	}
	owner, err := s.Owner(ctx)
	if err != nil {
		return Token{}, err
	}
	return s.createToken(ctx, owner.ID, TokenPost{Name: "flagstore admin", Role: RoleAdmin}, secret)
}

// createToken creates a token with the given secret, or a fresh one.
func (s *Store) createToken(ctx context.Context, memberID string, p TokenPost, secret string) (Token, error) {
	now := s.nowMillis()
	tok := Token{
		ID: s.newID(), MemberID: memberID, Name: p.Name, Description: p.Description,
		Role: p.Role, CustomRoleIDs: nonNil(slices.Clone(p.CustomRoleIDs)), InlineRole: cloneRolePolicy(p.InlineRole),
		ServiceToken: p.ServiceToken, DefaultAPIVersion: p.DefaultAPIVersion, CreationDate: now, LastModified: now,
	}
	if tok.Role == "" && len(tok.CustomRoleIDs) == 0 && len(tok.InlineRole) == 0 {
		tok.Role = RoleReader
	}
	if err := checkToken(&tok); err != nil {
		return Token{}, err
	}
	if secret == "" {
		secret = "api-" + s.newUUID()
	}
	tok.Token = secretEnding(secret)
	err := s.update(ctx, func(w *wtx) error {
		var m Member
		if _, err := getMember(&w.rtx, memberID, &m); err != nil {
			return err
		}
		if err := checkTokenGrant(w.ctx, &w.rtx, &tok); err != nil {
			return err
		}
		var err error
		if tok.OwnerID, err = accountOwnerID(&w.rtx); err != nil {
			return err
		}
		if err := setTokenRoles(w, &tok, nil); err != nil {
			return err
		}
		doc := tokenDoc{Token: tok, Hash: hashSecret(secret)}
		if err := w.put(tokenKey(tok.ID), &doc, store.Absent); err != nil {
			return err
		}
		if err := putTokenHash(w, doc.Hash, tok.ID, 0, store.Absent); err != nil {
			return err
		}
		if !tok.ServiceToken {
			if err := w.mark(memberTokenPrefix(memberID) + tok.ID); err != nil {
				return err
			}
		}
		if err := tokenIndex.reindex(w, nil, tokenEntry(&tok)); err != nil {
			return err
		}
		if err := s.recordToken(w, "created", nil, &tok, "createAccessToken"); err != nil {
			return err
		}
		tok.Member = summarizeMember(&m)
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	tok.Token = secret
	return tok, nil
}

// orString returns a, or b when a is empty.
func orString(a, b string) string {
	if a == "" {
		return b
	}
	return a
}

// accountOwnerID is the _id of the account's owner member.
func accountOwnerID(r *rtx) (string, error) {
	keys, _, err := memberIndex.page(r, ListOptions{Limit: 1, Tag: "r." + RoleOwner}, "creationDate")
	if err == nil && len(keys) == 0 {
		err = newError(ErrInternal, "the account has no owner")
	}
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// GetToken returns one access token, showing only the end of its secret.
func (s *Store) GetToken(ctx context.Context, id string) (Token, error) {
	var d tokenDoc
	err := s.view(ctx, func(r *rtx) error {
		if _, err := getToken(r, id, &d); err != nil {
			return err
		}
		if p, ok := PrincipalFrom(ctx); ok && !d.ServiceToken && d.MemberID != p.MemberID && !p.isAdmin() {
			return newError(ErrForbidden, "Forbidden. Access to the requested resource was denied: another member's personal token")
		}
		return fillTokenMember(r, &d.Token)
	})
	return d.Token, err
}

func getToken(r *rtx, id string, d *tokenDoc) (uint64, error) {
	v, err := r.get(tokenKey(id), d)
	if err != nil {
		return 0, notFoundOr(err, "Unknown access token %q", id)
	}
	return v, nil
}

// ListTokens lists access tokens oldest first, selected by o. Which tokens
// a principal may see is the caller's rule (see TokenListOptions.MemberID).
func (s *Store) ListTokens(ctx context.Context, o TokenListOptions) (List[Token], error) {
	if p, ok := PrincipalFrom(ctx); ok && !(o.ShowAll && p.isAdmin()) && !o.ServiceOnly {
		o.MemberID = p.MemberID
	}
	var filters []string
	switch {
	case o.Limit < 0 || o.Offset < 0:
		return List[Token]{}, invalidf("limit", "limit and offset must not be negative")
	case o.ServiceOnly && (o.PersonalOnly || o.MemberID != ""):
		return List[Token]{}, invalidf("serviceOnly", "serviceOnly excludes personalOnly and memberId")
	case o.MemberID != "" && validKey("memberId", o.MemberID) != nil:
		return List[Token]{}, invalidf("memberId", "memberId %q is not a member _id", o.MemberID)
	case o.ServiceOnly:
		filters = []string{"t.svc"}
	case o.MemberID != "" && o.PersonalOnly:
		filters = []string{"t.m." + o.MemberID}
	case o.MemberID != "":
		filters = []string{"t.svc", "t.m." + o.MemberID}
	case o.PersonalOnly:
		filters = []string{"t.p"}
	default:
		filters = []string{"all"}
	}
	limit := o.Limit
	if limit == 0 {
		limit = DefaultTokenLimit
	}
	var out List[Token]
	err := s.view(ctx, func(r *rtx) error {
		ids, total, err := tokenPage(r, filters, o.Offset, limit)
		if err != nil {
			return err
		}
		out = List[Token]{Items: make([]Token, 0, len(ids)), TotalCount: total}
		for _, id := range ids {
			var d tokenDoc
			if _, err := getToken(r, id, &d); err != nil {
				return err
			}
			if err := fillTokenMember(r, &d.Token); err != nil {
				return err
			}
			out.Items = append(out.Items, d.Token)
		}
		return nil
	})
	return out, err
}

// tokenPage returns the ids of one page of the union of disjoint index
// filters, in creation order, and the union's size. It reads at most
// offset+limit entries of each filter.
func tokenPage(r *rtx, filters []string, offset, limit int) ([]string, int, error) {
	end := offset + limit
	if end < offset { // overflow: "all of them"
		end = maxInt
	}
	var entries []string // "{created}\x00{id}", which sort in creation order
	total := 0
	for _, f := range filters {
		prefix := tokenIndex.base() + "l" + sep + f + sep + sortCreated + sep
		n := 0
		if err := r.tx.Scan(prefix, "", func(it store.Item) bool {
			entries = append(entries, it.Key[len(prefix):])
			n++
			return n < end
		}); err != nil {
			return nil, 0, err
		}
		c, err := r.count("n/" + tokenIndex.coll + sep + tokenIndex.scope + sep + "l" + sep + f)
		if err != nil {
			return nil, 0, err
		}
		total += c
	}
	slices.Sort(entries)
	entries = entries[min(offset, len(entries)):min(end, len(entries))]
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e[strings.IndexByte(e, 0)+1:]
	}
	return ids, total, nil
}

// UpdateToken applies fn to a copy of the token and stores the result if it
// is valid. Only name, description, role, customRoleIds, inlineRole and
// defaultApiVersion may change; lastModified moves with any change.
func (s *Store) UpdateToken(ctx context.Context, id string, fn func(*Token) error) (Token, error) {
	var out Token
	err := s.update(ctx, func(w *wtx) error {
		var d, cur tokenDoc
		ver, err := getToken(&w.rtx, id, &d)
		if err != nil {
			return err
		}
		if _, err := getToken(&w.rtx, id, &cur); err != nil {
			return err
		}
		before, after := d.Token, cur.Token
		if err := fn(&after); err != nil {
			return err
		}
		after.Member = nil // computed
		after.CustomRoleIDs, after.InlineRole = nonNil(after.CustomRoleIDs), nonNil(after.InlineRole)
		for _, ro := range []struct {
			field   string
			changed bool
		}{
			{"_id", after.ID != before.ID}, {"ownerId", after.OwnerID != before.OwnerID},
			{"memberId", after.MemberID != before.MemberID}, {"serviceToken", after.ServiceToken != before.ServiceToken},
			{"token", after.Token != before.Token}, {"creationDate", after.CreationDate != before.CreationDate},
			{"lastModified", after.LastModified != before.LastModified}, {"lastUsed", after.LastUsed != before.LastUsed},
		} {
			if ro.changed {
				return invalidf(ro.field, "%s is read-only", ro.field)
			}
		}
		if err := checkToken(&after); err != nil {
			return err
		}
		if err := checkTokenGrant(w.ctx, &w.rtx, &after); err != nil {
			return err
		}
		if err := setTokenRoles(w, &after, before.CustomRoleIDs); err != nil {
			return err
		}
		if !jsonEqual(&before, &after) {
			after.LastModified = s.nowMillis()
			d.Token = after
			if err := w.put(tokenKey(id), &d, ver); err != nil {
				return err
			}
			if err := tokenIndex.reindex(w, tokenEntry(&before), tokenEntry(&after)); err != nil {
				return err
			}
			if err := s.recordToken(w, "updated", &before, &after, changedActions(tokenFieldActions, &before, &after)...); err != nil {
				return err
			}
		}
		out = after
		return fillTokenMember(&w.rtx, &out)
	})
	if err != nil {
		return Token{}, err
	}
	return out, nil
}

// PatchToken updates a token with JSON Patch, as LaunchDarkly's PATCH
// /tokens/{id} does.
func (s *Store) PatchToken(ctx context.Context, id string, p Patch) (Token, error) {
	if err := checkPatch(&p); err != nil {
		return Token{}, err
	}
	if p.Kind != JSONPatch {
		return Token{}, invalidf("", "an access token takes JSON Patch, not %s", p.Kind)
	}
	return s.UpdateToken(withPatch(ctx, &p), id, func(t *Token) error {
		return patchRepresentation(t, &p, false, nil)
	})
}

// DeleteToken deletes an access token; its secrets stop working at once.
func (s *Store) DeleteToken(ctx context.Context, id string) error {
	return s.update(ctx, func(w *wtx) error {
		var d tokenDoc
		if _, err := getToken(&w.rtx, id, &d); err != nil {
			return err
		}
		if err := deleteTokenKeys(w, &d); err != nil {
			return err
		}
		return s.recordToken(w, "deleted", &d.Token, nil, "deleteAccessToken")
	})
}

// deleteTokenKeys removes a token's document, secret hashes, member and
// role use keys and index entries.
func deleteTokenKeys(w *wtx, d *tokenDoc) error {
	keys := []string{tokenKey(d.ID), tokenHashKey(d.Hash)}
	for _, r := range d.Retired {
		keys = append(keys, tokenHashKey(r.Hash))
	}
	if !d.ServiceToken {
		keys = append(keys, memberTokenPrefix(d.MemberID)+d.ID)
	}
	for _, k := range keys {
		if err := w.del(k); err != nil {
			return err
		}
	}
	roles, err := roleKeysOfIDs(&w.rtx, d.CustomRoleIDs)
	if err != nil {
		return err
	}
	if err := setRoleUses(w, tokenRoleUser(d.ID), roles, nil); err != nil {
		return err
	}
	return tokenIndex.reindex(w, tokenEntry(&d.Token), nil)
}

// deleteMemberTokens deletes every personal token of a member inside the
// caller's transaction (the member's deletion), recording no audit entry of
// its own. The service tokens the member created stay.
func deleteMemberTokens(w *wtx, memberID string) error {
	prefix := memberTokenPrefix(memberID)
	ids, err := w.keysUnder(prefix)
	if err != nil {
		return err
	}
	for _, id := range ids {
		var d tokenDoc
		if _, err := getToken(&w.rtx, id, &d); errors.Is(err, ErrNotFound) {
			err = w.del(prefix + id)
		} else if err == nil {
			err = deleteTokenKeys(w, &d)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// ResetToken gives the token a new secret, returned whole in the result.
// With a non-zero expiry, which must be in the future, the old secret keeps
// working until then; otherwise it stops at once.
func (s *Store) ResetToken(ctx context.Context, id string, expiry time.Time) (Token, error) {
	now := s.nowMillis()
	if !expiry.IsZero() && expiry.UnixMilli() <= now {
		return Token{}, invalidf("expiry", "expiry must be in the future")
	}
	secret := "api-" + s.newUUID()
	var out Token
	err := s.update(ctx, func(w *wtx) error {
		var d tokenDoc
		ver, err := getToken(&w.rtx, id, &d)
		if err != nil {
			return err
		}
		before := d.Token
		kept := d.Retired[:0]
		for _, r := range d.Retired {
			if r.Expires > now {
				kept = append(kept, r)
			} else if err := w.del(tokenHashKey(r.Hash)); err != nil {
				return err
			}
		}
		d.Retired = kept
		if expiry.IsZero() {
			err = w.del(tokenHashKey(d.Hash))
		} else {
			d.Retired = append(d.Retired, retiredSecret{Hash: d.Hash, Expires: expiry.UnixMilli()})
			err = putTokenHash(w, d.Hash, id, expiry.UnixMilli(), storeAny)
		}
		if err != nil {
			return err
		}
		d.Hash, d.Token.Token, d.LastModified = hashSecret(secret), secretEnding(secret), now
		if err := putTokenHash(w, d.Hash, id, 0, store.Absent); err != nil {
			return err
		}
		if err := w.put(tokenKey(id), &d, ver); err != nil {
			return err
		}
		out = d.Token
		if err := s.recordToken(w, "reset", &before, &out, "resetAccessToken"); err != nil {
			return err
		}
		return fillTokenMember(&w.rtx, &out)
	})
	if err != nil {
		return Token{}, err
	}
	out.Token = secret
	return out, nil
}

// tokenBySecret resolves an access token's secret for authentication: one
// hash, two keyed reads, and a decode that the token cache mostly saves. A
// retired secret works until its expiry. An unknown, expired or deleted
// secret is ErrUnauthorized ("Invalid access token"). Member is not filled.
func (s *Store) tokenBySecret(ctx context.Context, secret string) (Token, error) {
	if secret == "" || len(secret) > 256 { // secrets are 40 bytes
		return Token{}, errInvalidToken()
	}
	hash := hashSecret(secret)
	now := s.nowMillis()
	cache := s.tokenRT().cache()
	var out Token
	err := s.view(ctx, func(r *rtx) error {
		it, err := r.tx.Get(tokenHashKey(hash))
		if err != nil {
			return unauthorizedIfMissing(err)
		}
		id, exp, retired := strings.Cut(string(it.Value), " ")
		if retired {
			if ms, err := strconv.ParseInt(exp, 10, 64); err != nil || ms <= now {
				return errInvalidToken()
			}
		}
		d, _, err := peekCached(r, cache, cloneTokenDoc, tokenKey(id))
		if err != nil {
			return unauthorizedIfMissing(err)
		}
		out = cloneTokenDoc(d).Token // a deep copy: the cached doc is shared
		return nil
	})
	if err != nil {
		return Token{}, err
	}
	return out, nil
}

func unauthorizedIfMissing(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return errInvalidToken()
	}
	return err
}

// checkToken validates a token's own fields (whether its custom roles
// exist is setTokenRoles' part), and fills a zero DefaultAPIVersion.
func checkToken(t *Token) *Error {
	if len(t.Name) > 1024 || !utf8.ValidString(t.Name) {
		return invalidf("name", "name must be valid UTF-8 of at most 1024 bytes")
	}
	if len(t.Description) > 4096 || !utf8.ValidString(t.Description) {
		return invalidf("description", "description must be valid UTF-8 of at most 4096 bytes")
	}
	set := 0
	for _, b := range []bool{t.Role != "", len(t.CustomRoleIDs) > 0, len(t.InlineRole) > 0} {
		if b {
			set++
		}
	}
	if set != 1 {
		return invalidf("role", "a token needs exactly one of role, customRoleIds and inlineRole")
	}
	if t.Role != "" && t.Role != RoleReader && t.Role != RoleWriter && t.Role != RoleAdmin {
		return invalidf("role", "role must be reader, writer or admin")
	}
	if err := validStatements("inlineRole", t.InlineRole); err != nil {
		return err
	}
	if t.DefaultAPIVersion == 0 {
		t.DefaultAPIVersion = tokenAPIVersions[len(tokenAPIVersions)-1]
	}
	if !slices.Contains(tokenAPIVersions, t.DefaultAPIVersion) {
		return invalidf("defaultApiVersion", "defaultApiVersion must be one of %v, or 0 for the latest", tokenAPIVersions)
	}
	return nil
}

// setTokenRoles resolves t's custom roles (keys or _ids; unknown or
// repeated ones are a 400) to _ids and moves the token's role use keys
// from the roles in before (_ids).
func setTokenRoles(w *wtx, t *Token, before []string) error {
	ids, keys, err := resolveRoleRefs(&w.rtx, "customRoleIds", t.CustomRoleIDs)
	if err != nil {
		return err
	}
	old, err := roleKeysOfIDs(&w.rtx, before)
	if err != nil {
		return err
	}
	t.CustomRoleIDs = ids
	return setRoleUses(w, tokenRoleUser(t.ID), old, keys)
}

func summarizeMember(m *Member) *MemberSummary {
	return &MemberSummary{ID: m.ID, Email: m.Email, FirstName: m.FirstName, LastName: m.LastName, Role: m.Role}
}

// fillTokenMember sets t.Member, nil once the member is gone.
func fillTokenMember(r *rtx, t *Token) error {
	var m Member
	_, err := getMember(r, t.MemberID, &m)
	if t.Member = nil; err == nil {
		t.Member = summarizeMember(&m)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// recordToken writes the audit entry of a token change; before or after is
// nil for a create or a delete. Snapshots show only the secret's ending.
func (s *Store) recordToken(w *wtx, verb string, before, after *Token, actions ...string) error {
	target := after
	if target == nil {
		target = before
	}
	res := tokenRes(target)
	c := change{kind: "token", verb: verb, name: orString(target.Name, target.ID), resource: res, accesses: accessesOf(res, actions...)}
	if !target.ServiceToken {
		var m Member
		if _, err := getMember(&w.rtx, target.MemberID, &m); err == nil {
			c.parent = &AuditParent{Name: m.Email, Resource: memberSpec(m.ID)}
		}
	}
	if before != nil {
		b := *before
		b.Member = nil
		c.before = &b
	}
	if after != nil {
		a := *after
		a.Member = nil
		c.after = &a
	} else if target.ServiceToken {
		c.self = &resource.Part{Type: resource.TypeServiceToken, Name: target.ID}
	} else {
		c.self = &resource.Part{Type: resource.TypeToken, Name: target.ID}
	}
	return s.record(w, c)
}

// Recording use. Writing lastUsed on every authenticated request would
// make each one a durable write. Instead touchToken queues the time in
// memory, at most once a minute per token, and one goroutine writes what is
// queued in batches, with no audit entry. A request never waits for it or
// fails because of it; a failed write loses only a lastUsed.

const (
	tokenTouchInterval = 60_000  // ms between two lastUsed of a token
	tokenTouchQueue    = 4096    // most tokens waiting; more touches are dropped
	tokenTouchSeen     = 1 << 16 // most tokens remembered; then memory clears
	tokenCacheSize     = 10_000  // most decoded tokens kept for tokenBySecret
)

// tokenRuntime is a Store's in-memory token state. Its zero value is
// ready; Store.closeTokens stops it.
type tokenRuntime struct {
	mu       sync.Mutex
	seen     map[string]int64 // token → last time queued
	pending  map[string]int64 // token → time to write
	wake     chan struct{}
	done     chan struct{}
	start    sync.Once
	closed   bool
	wg       sync.WaitGroup
	writeMu  sync.Mutex // held while a batch is taken and written
	docsOnce sync.Once
	docs     *docCache[tokenDoc]
}

// cloneTokenDoc is a deep copy of d.
func cloneTokenDoc(d *tokenDoc) tokenDoc {
	c := *d
	c.CustomRoleIDs = slices.Clone(d.CustomRoleIDs)
	c.InlineRole = cloneRolePolicy(d.InlineRole)
	c.Retired = slices.Clone(d.Retired)
	return c
}

func (rt *tokenRuntime) cache() *docCache[tokenDoc] {
	rt.docsOnce.Do(func() { rt.docs = newDocCache[tokenDoc](tokenCacheSize) })
	return rt.docs
}

// tokenRT is the store's token machinery.
func (s *Store) tokenRT() *tokenRuntime { return &s.tokens }

// closeTokens stops recording use, after writing what is queued.
func (s *Store) closeTokens() {
	rt := s.tokenRT()
	rt.mu.Lock()
	if rt.closed {
		rt.mu.Unlock()
		return
	}
	rt.closed = true
	if rt.done != nil {
		close(rt.done)
	}
	rt.mu.Unlock()
	rt.wg.Wait()
	s.flushTokenTouches()
}

// touchToken records that token id was used at now (Unix ms). It takes a
// mutex and never waits for storage.
func (s *Store) touchToken(id string, now int64) {
	rt := s.tokenRT()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if last, ok := rt.seen[id]; rt.closed || ok && now-last < tokenTouchInterval || len(rt.pending) >= tokenTouchQueue {
		return
	}
	if rt.seen == nil || len(rt.seen) >= tokenTouchSeen {
		rt.seen = make(map[string]int64)
	}
	if rt.pending == nil {
		rt.pending = make(map[string]int64)
	}
	rt.seen[id], rt.pending[id] = now, now
	rt.start.Do(func() {
		rt.wake, rt.done = make(chan struct{}, 1), make(chan struct{})
		rt.wg.Add(1)
		go func() {
			defer rt.wg.Done()
			for {
				select {
				case <-rt.wake:
					s.flushTokenTouches()
				case <-rt.done:
					return
				}
			}
		}()
	})
	select {
	case rt.wake <- struct{}{}:
	default: // a wake-up is already due
	}
}

// flushTokenTouches writes every queued lastUsed now, and returns once a
// batch being written concurrently is done too (tests call it).
func (s *Store) flushTokenTouches() {
	rt := s.tokenRT()
	rt.writeMu.Lock()
	defer rt.writeMu.Unlock()
	rt.mu.Lock()
	batch := rt.pending
	rt.pending = nil
	rt.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.update(ctx, func(w *wtx) error {
		for _, id := range slices.Sorted(maps.Keys(batch)) {
			var d tokenDoc
			ver, err := w.get(tokenKey(id), &d)
			if errors.Is(err, store.ErrNotFound) || err == nil && batch[id]-d.LastUsed < tokenTouchInterval {
				continue // deleted, or recorded since (by another process)
			}
			if err != nil {
				return err
			}
			d.LastUsed = batch[id]
			if err := w.put(tokenKey(id), &d, ver); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.log.Debug("token lastUsed not recorded", "tokens", len(batch), "err", err)
		rt.mu.Lock()
		for id, t := range batch { // let the next use try again
			if rt.seen[id] == t {
				delete(rt.seen, id)
			}
		}
		rt.mu.Unlock()
	}
}
