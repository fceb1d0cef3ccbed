package flagstore

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
)

// auditLogRoutes are the audit log family: list, search, counts and one
// entry. Every principal may read the log; entries about a project the
// caller may not view are left out (and read as unknown).
func (a *api) auditLogRoutes() []*route {
	return []*route{
		{method: http.MethodGet, path: "/auditlog", operationID: "getAuditLogEntries", handle: a.getAuditLogEntries},
		{method: http.MethodPost, path: "/auditlog", operationID: "postAuditLogEntries", handle: a.postAuditLogEntries},
		{method: http.MethodPost, path: "/auditlog/counts", operationID: "postAuditLogEntryCounts", handle: a.postAuditLogEntryCounts},
		{method: http.MethodGet, path: "/auditlog/{id}", operationID: "getAuditLogEntry", handle: a.getAuditLogEntry},
	}
}

// auditEntryRep is an audit entry with its links (AuditLogEntryListingRep
// or, with the versions, AuditLogEntryRep).
type auditEntryRep struct {
	AuditEntry
	Links Links `json:"_links"`
}

func newAuditEntryRep(e AuditEntry) auditEntryRep {
	return auditEntryRep{AuditEntry: e, Links: selfLinks(apiPath("auditlog", e.ID), apiPath("auditlog"))}
}

// auditCollection is AuditLogEntryListingRepCollection: no totalCount.
type auditCollection struct {
	Items []auditEntryRep `json:"items"`
	Links Links           `json:"_links"`
}

// queryInt64 reads a non-negative int64 query parameter (0 when absent).
func queryInt64(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, invalidf(name, "%s must be a non-negative integer (Unix milliseconds)", name)
	}
	return n, nil
}

// auditListOptions reads before, after, q, limit and spec.
func auditListOptions(r *http.Request) (AuditListOptions, error) {
	var o AuditListOptions
	var err error
	if o.Before, err = queryInt64(r, "before"); err != nil {
		return o, err
	}
	if o.After, err = queryInt64(r, "after"); err != nil {
		return o, err
	}
	if o.Limit, err = queryInt(r, "limit", 10); err != nil {
		return o, err
	}
	if o.Limit < 1 || o.Limit > 20 {
		return o, invalidf("limit", "limit must be between 1 and 20")
	}
	q := r.URL.Query()
	o.Query, o.Spec = q.Get("q"), q.Get("spec")
	return o, nil
}

// writeAuditPage writes a page of entries with a next link that pages on
// by before when the page is full.
func writeAuditPage(w http.ResponseWriter, r *http.Request, entries []AuditEntry, limit int) error {
	c := auditCollection{Items: make([]auditEntryRep, len(entries))}
	for i, e := range entries {
		c.Items[i] = newAuditEntryRep(e)
	}
	self := apiPath("auditlog")
	if r.URL.RawQuery != "" {
		self += "?" + r.URL.RawQuery
	}
	c.Links = Links{"self": jsonLink(self)}
	if len(entries) == limit && limit > 0 {
		q := r.URL.Query()
		q.Set("before", strconv.FormatInt(entries[len(entries)-1].Date, 10))
		c.Links["next"] = jsonLink(apiPath("auditlog") + "?" + q.Encode())
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *api) getAuditLogEntries(w http.ResponseWriter, r *http.Request) error {
	o, err := auditListOptions(r)
	if err != nil {
		return err
	}
	entries, err := a.s.ListAuditLog(r.Context(), o)
	if err != nil {
		return err
	}
	return writeAuditPage(w, r, entries, o.Limit)
}

// readStatements reads a StatementPostList body; an empty body is no
// filter.
func readStatements(r *http.Request) ([]Statement, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, invalidf("", "cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	var sts []Statement
	if err := json.Unmarshal(body, &sts); err != nil {
		return nil, invalidf("", "Invalid request body: a list of policy statements is expected: %v", err)
	}
	if err := validStatements("statements", sts); err != nil {
		return nil, err
	}
	return sts, nil
}

func (a *api) postAuditLogEntries(w http.ResponseWriter, r *http.Request) error {
	o, err := auditListOptions(r)
	if err != nil {
		return err
	}
	sts, err := readStatements(r)
	if err != nil {
		return err
	}
	entries, err := a.s.SearchAuditLog(r.Context(), sts, o)
	if err != nil {
		return err
	}
	return writeAuditPage(w, r, entries, o.Limit)
}

func (a *api) postAuditLogEntryCounts(w http.ResponseWriter, r *http.Request) error {
	if r.URL.Query().Get("after") == "" {
		return invalidf("after", "after is required")
	}
	after, err := queryInt64(r, "after")
	if err != nil {
		return err
	}
	before, err := queryInt64(r, "before")
	if err != nil {
		return err
	}
	if r.URL.Query().Get("before") == "" {
		before = a.s.nowMillis() + 1
	}
	buckets, err := queryInt(r, "buckets", 50)
	if err != nil {
		return err
	}
	if buckets < 1 || buckets > 500 {
		return invalidf("buckets", "buckets must be between 1 and 500")
	}
	sts, err := readStatements(r)
	if err != nil {
		return err
	}
	c, err := a.s.CountAuditLog(r.Context(), sts, after, before, buckets)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, c)
}

func (a *api) getAuditLogEntry(w http.ResponseWriter, r *http.Request) error {
	e, err := a.s.GetAuditEntry(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, newAuditEntryRep(e))
}
