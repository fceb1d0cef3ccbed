package flagstore

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// sgServer is htServer on a store with a manual clock, so that segments
// get distinct, ordered dates.
func sgServer(t *testing.T) (*htEnv, *tstClock) {
	t.Helper()
	st, clock := tstStoreDefaultGens(t)
	if _, err := st.EnsureAdminToken(t.Context(), htAdminSecret); err != nil {
		t.Fatal(err)
	}
	tstMustProject(t, st, "shop")
	srv := httptest.NewServer(st.Handler())
	t.Cleanup(srv.Close)
	return &htEnv{t: t, st: st, srv: srv}, clock
}

// sgPath is a path under /api/v2/segments.
func sgPath(parts ...string) string { return "/api/v2/segments/" + strings.Join(parts, "/") }

// sgFlagListing is a decoded _flags entry.
type sgFlagListing struct {
	Key   string          `json:"key"`
	Name  string          `json:"name"`
	Links map[string]Link `json:"_links"`
	Site  Link            `json:"_site"`
}

// sgRep is a decoded UserSegment.
type sgRep struct {
	Segment
	Links map[string]Link  `json:"_links"`
	Flags *[]sgFlagListing `json:"_flags"`
}

// sgList is a decoded UserSegments.
type sgList struct {
	Items      []sgRep         `json:"items"`
	Links      map[string]Link `json:"_links"`
	TotalCount int             `json:"totalCount"`
}

func (l sgList) keys() []string {
	out := []string{}
	for _, s := range l.Items {
		out = append(out, s.Key)
	}
	return out
}

// sgCreate creates a segment over HTTP.
func sgCreate(e *htEnv, env string, body SegmentPost) sgRep {
	e.t.Helper()
	var rep sgRep
	e.json(htReq{Method: http.MethodPost, Path: sgPath("shop", env), Body: body}, http.StatusCreated, &rep)
	return rep
}

// sgGet reads a segment over HTTP.
func sgGet(e *htEnv, env, key string) sgRep {
	e.t.Helper()
	var rep sgRep
	e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", env, key)}, http.StatusOK, &rep)
	return rep
}

// sgAudit lists the audit entries of one segment, newest first.
func sgAudit(e *htEnv, env, key string) []AuditEntry {
	e.t.Helper()
	l, err := e.st.ListAuditLog(e.t.Context(), AuditListOptions{Limit: 20, Spec: segmentRes("shop", env, key)})
	if err != nil {
		e.t.Fatal(err)
	}
	return l
}

// sgCheckLinks checks a segment's self and parent links.
func sgCheckLinks(t *testing.T, links map[string]Link, env, key string) {
	t.Helper()
	want := map[string]Link{
		"self":   {Href: "/api/v2/segments/shop/" + env + "/" + key, Type: "application/json"},
		"parent": {Href: "/api/v2/segments/shop/" + env, Type: "application/json"},
	}
	if len(links) != 2 || links["self"] != want["self"] || links["parent"] != want["parent"] {
		t.Errorf("links %+v, want %+v", links, want)
	}
}

// sgSegRule is a clause list matching a segment.
func sgSegRule(seg string) []Clause {
	return []Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: []any{seg}}}
}

func TestHTTP_SegmentCRUD(t *testing.T) {
	t.Parallel()
	e, _ := sgServer(t)

	// Create: 201 UserSegment, with every required field and no _flags.
	resp, body := e.do(htReq{Method: http.MethodPost, Path: sgPath("shop", "production"),
		Body: map[string]any{"key": "beta", "name": "Beta", "description": "Early", "tags": []string{"t1"}}})
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"_links", "creationDate", "deleted", "generation", "key", "lastModifiedDate", "name", "rules", "tags", "version", "included", "excluded", "description"} {
		if _, ok := raw[f]; !ok {
			t.Errorf("create response lacks %s: %s", f, body)
		}
	}
	if _, ok := raw["_flags"]; ok {
		t.Errorf("create response has _flags: %s", body)
	}
	var created sgRep
	if err := json.Unmarshal(body, &created); err != nil {
		t.Fatal(err)
	}
	if created.Key != "beta" || created.Name != "Beta" || created.Description != "Early" || !slices.Equal(created.Tags, []string{"t1"}) ||
		created.Version != 1 || created.CreationDate == 0 || created.Deleted || len(created.Rules) != 0 {
		t.Errorf("created %+v", created)
	}
	sgCheckLinks(t, created.Links, "production", "beta")

	// The same key in another environment is another segment; a duplicate
	// in the same environment is a 409.
	sgCreate(e, "test", SegmentPost{Key: "beta", Name: "Beta (test)"})
	e.errorBody(htReq{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: SegmentPost{Key: "beta", Name: "Again"}}, http.StatusConflict, CodeConflict)

	// Invalid bodies create nothing.
	for _, b := range []any{
		map[string]any{"key": "big", "name": "Big", "unbounded": true},
		map[string]any{"key": "big", "name": ""},
		map[string]any{"key": "", "name": "Big"},
		map[string]any{"key": "b/g", "name": "Big"},
		map[string]any{"key": "big", "name": "Big", "tags": []string{"a", "a"}},
		map[string]any{"key": 7, "name": "Big"},
		"",
		"{",
		"[]",
	} {
		e.errorBody(htReq{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: b}, http.StatusBadRequest, CodeInvalidRequest)
	}
	var big struct{ Message string }
	e.json(htReq{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: map[string]any{"key": "big", "name": "Big", "unbounded": true}}, http.StatusBadRequest, &big)
	if !strings.Contains(big.Message, "big segments") {
		t.Errorf("unbounded refusal %q does not mention big segments", big.Message)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "big")}, http.StatusNotFound, CodeNotFound)

	// Get: _links and an empty _flags.
	got := sgGet(e, "production", "beta")
	if got.Flags == nil || len(*got.Flags) != 0 || got.Name != "Beta" {
		t.Errorf("get %+v", got)
	}
	sgCheckLinks(t, got.Links, "production", "beta")

	// List: one segment in production, with links, no _flags.
	var l sgList
	e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", "production")}, http.StatusOK, &l)
	if l.TotalCount != 1 || !slices.Equal(l.keys(), []string{"beta"}) || l.Items[0].Flags != nil {
		t.Fatalf("list %+v", l)
	}
	sgCheckLinks(t, l.Items[0].Links, "production", "beta")
	if l.Links["self"].Href != "/api/v2/segments/shop/production?limit=20&offset=0" || len(l.Links) != 1 {
		t.Errorf("list links %+v", l.Links)
	}

	// Delete: 204 without a body, then 404.
	resp, body = e.do(htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta")})
	if resp.StatusCode != http.StatusNoContent || len(body) != 0 {
		t.Fatalf("delete: %d %q", resp.StatusCode, body)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "beta")}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta")}, http.StatusNotFound, CodeNotFound)
	sgGet(e, "test", "beta")

	// The audit log has the create and the delete, by the admin token.
	entries := sgAudit(e, "production", "beta")
	if len(entries) != 2 || entries[0].Token == nil || entries[1].Token == nil {
		t.Fatalf("audit entries %+v", entries)
	}
}

func TestHTTP_SegmentListPaging(t *testing.T) {
	t.Parallel()
	e, clock := sgServer(t)
	for _, k := range []string{"s0", "s1", "s2", "s3", "s4"} {
		clock.Advance(time.Second)
		sgCreate(e, "production", SegmentPost{Key: k, Name: "Segment " + k, Tags: []string{"paged"}})
	}
	sgCreate(e, "production", SegmentPost{Key: "other", Name: "Not paged"}) // filtered out

	const filter = `tags anyOf ["paged"]`
	page := func(limit, offset string) sgList {
		q := url.Values{"sort": {"creationDate"}, "filter": {filter}}
		if limit != "" {
			q.Set("limit", limit)
		}
		if offset != "" {
			q.Set("offset", offset)
		}
		var l sgList
		e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", "production") + "?" + q.Encode()}, http.StatusOK, &l)
		return l
	}
	// link reads a paging link's offset and checks it keeps the other
	// parameters.
	link := func(l sgList, rel string) string {
		t.Helper()
		lk, ok := l.Links[rel]
		if !ok {
			return "-"
		}
		u, err := url.Parse(lk.Href)
		if err != nil || u.Path != "/api/v2/segments/shop/production" || lk.Type != "application/json" {
			t.Fatalf("%s link %+v", rel, lk)
		}
		q := u.Query()
		if q.Get("filter") != filter || q.Get("sort") != "creationDate" || q.Get("limit") == "" {
			t.Errorf("%s link %s lost a parameter", rel, lk.Href)
		}
		return q.Get("offset")
	}
	cases := []struct {
		limit, offset                 string
		want                          []string
		self, first, prev, next, last string
	}{
		{"", "", []string{"s0", "s1", "s2", "s3", "s4"}, "0", "-", "-", "-", "-"},
		{"2", "", []string{"s0", "s1"}, "0", "-", "-", "2", "4"},
		{"2", "2", []string{"s2", "s3"}, "2", "0", "0", "4", "4"},
		{"2", "4", []string{"s4"}, "4", "0", "2", "-", "-"},
		{"2", "9", []string{}, "9", "0", "7", "-", "-"},
		{"3", "1", []string{"s1", "s2", "s3"}, "1", "0", "0", "4", "3"},
		{"0", "", []string{"s0", "s1", "s2", "s3", "s4"}, "0", "-", "-", "-", "-"},
	}
	for _, c := range cases {
		l := page(c.limit, c.offset)
		if !slices.Equal(l.keys(), c.want) || l.TotalCount != 5 {
			t.Errorf("limit=%s offset=%s: %v (total %d), want %v", c.limit, c.offset, l.keys(), l.TotalCount, c.want)
		}
		got := []string{link(l, "self"), link(l, "first"), link(l, "prev"), link(l, "next"), link(l, "last")}
		if want := []string{c.self, c.first, c.prev, c.next, c.last}; !slices.Equal(got, want) {
			t.Errorf("limit=%s offset=%s: links self/first/prev/next/last %v, want %v", c.limit, c.offset, got, want)
		}
	}
	for _, q := range []string{"limit=-1", "limit=x", "offset=-1", "offset=1.5"} {
		e.errorBody(htReq{Method: http.MethodGet, Path: sgPath("shop", "production") + "?" + q}, http.StatusBadRequest, CodeInvalidRequest)
	}
}

func TestHTTP_SegmentListFilterSort(t *testing.T) {
	t.Parallel()
	e, clock := sgServer(t)
	for _, s := range []SegmentPost{
		{Key: "beta", Name: "Beta testers", Description: "Early access", Tags: []string{"enterprise", "beta"}},
		{Key: "staff", Name: "staff", Description: "Toggle owners", Tags: []string{"internal"}},
		{Key: "fans", Name: "Toggle fans", Tags: []string{"beta"}},
	} {
		clock.Advance(time.Second)
		sgCreate(e, "production", s)
	}
	clock.Advance(time.Second)
	// A big segment, created through the Go API (HTTP refuses them).
	if _, err := e.st.CreateSegment(t.Context(), "shop", "production", SegmentPost{Key: "big", Name: "Big", Unbounded: true}); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, err := e.st.UpdateSegment(t.Context(), "shop", "production", "beta", func(s *Segment) error {
		s.Included = []string{"u1"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		sort, filter string
		want         []string
	}{
		{"", "", []string{"big", "fans", "staff", "beta"}},
		{"creationDate", "", []string{"beta", "staff", "fans", "big"}},
		{"-creationDate", "", []string{"big", "fans", "staff", "beta"}},
		{"name", "", []string{"beta", "big", "staff", "fans"}},
		{"-name", "", []string{"fans", "staff", "big", "beta"}},
		{"-lastModified", "", []string{"beta", "big", "fans", "staff"}},
		{"lastModified,name", "", []string{"staff", "fans", "big", "beta"}},
		{"name", `query equals "toggle"`, []string{"staff", "fans"}},
		{"name", `query equals ["early", "big"]`, []string{"beta", "big"}},
		{"name", `tags anyOf ["enterprise","internal"]`, []string{"beta", "staff"}},
		{"name", `includedKeys anyOf ["fans","big","nope"]`, []string{"big", "fans"}},
		{"name", `excludedKeys anyOf ["fans","big"]`, []string{"beta", "staff"}},
		{"name", `unbounded equals true`, []string{"big"}},
		{"name", `unbounded equals false`, []string{"beta", "staff", "fans"}},
		{"name", `external exists true`, []string{}},
		{"name", `tags anyOf ["beta"],query equals "toggle"`, []string{"fans"}},
		{"name", `unbounded equals true|tags anyOf ["internal"]`, []string{"big", "staff"}},
		{"name", `(unbounded equals true|tags anyOf ["beta"]),excludedKeys anyOf ["beta"]`, []string{"big", "fans"}},
		{"name", `unbounded equals true|tags anyOf ["beta"],excludedKeys anyOf ["beta"]`, []string{"big", "fans"}},
		{"name", `unbounded equals true|tags anyOf ["beta"],excludedKeys anyOf ["big","fans"]`, []string{"beta", "big"}},
	}
	for _, c := range cases {
		q := url.Values{}
		if c.sort != "" {
			q.Set("sort", c.sort)
		}
		if c.filter != "" {
			q.Set("filter", c.filter)
		}
		var l sgList
		e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", "production") + "?" + q.Encode()}, http.StatusOK, &l)
		if !slices.Equal(l.keys(), c.want) || l.TotalCount != len(c.want) {
			t.Errorf("sort=%q filter=%q: %v (total %d), want %v", c.sort, c.filter, l.keys(), l.TotalCount, c.want)
		}
	}
	// The spelling of the documentation: spaces as %20, brackets encoded.
	var l sgList
	e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", "production") + "?filter=tags%20anyOf%20%5B%22internal%22%5D"}, http.StatusOK, &l)
	if !slices.Equal(l.keys(), []string{"staff"}) {
		t.Errorf("encoded filter: %v", l.keys())
	}
	for _, q := range []url.Values{
		{"filter": {"tags:beta"}},
		{"filter": {`name equals "x"`}},
		{"filter": {`view equals "v"`}},
		{"filter": {`tags equals "beta"`}},
		{"filter": {`query equals "a",`}},
		{"filter": {`(query equals "a"`}},
		{"sort": {"key"}},
		{"sort": {"-version"}},
	} {
		e.errorBody(htReq{Method: http.MethodGet, Path: sgPath("shop", "production") + "?" + q.Encode()}, http.StatusBadRequest, CodeInvalidRequest)
	}
}

func TestHTTP_SegmentFlags(t *testing.T) {
	t.Parallel()
	e, _ := sgServer(t)
	ctx := t.Context()
	sgCreate(e, "production", SegmentPost{Key: "beta", Name: "Beta"})
	sgCreate(e, "production", SegmentPost{Key: "outer", Name: "Outer"})
	sgCreate(e, "test", SegmentPost{Key: "beta", Name: "Beta"})
	tstMustFlag(t, e.st, "shop", "checkout")
	tstMustFlag(t, e.st, "shop", "banner")
	for _, fk := range []string{"checkout", "banner"} {
		if _, err := e.st.UpdateFlag(ctx, "shop", fk, func(f *Flag) error {
			v := 0
			f.Environments["production"].Rules = []Rule{{Variation: &v, Clauses: sgSegRule("beta")}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var outer sgRep
	e.json(htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "outer"),
		Body: []map[string]any{{"op": "add", "path": "/rules/-", "value": map[string]any{"clauses": sgSegRule("beta")}}}}, http.StatusOK, &outer)

	got := sgGet(e, "production", "beta")
	if got.Flags == nil || len(*got.Flags) != 2 {
		t.Fatalf("_flags %+v", got.Flags)
	}
	for i, fk := range []string{"banner", "checkout"} {
		f := (*got.Flags)[i]
		want := sgFlagListing{Key: fk, Name: "Flag " + fk,
			Links: map[string]Link{"self": {Href: "/api/v2/flags/shop/" + fk, Type: "application/json"}, "parent": {Href: "/api/v2/flags/shop", Type: "application/json"}},
			Site:  Link{Href: "/shop/production/features/" + fk, Type: "text/html"}}
		if f.Key != want.Key || f.Name != want.Name || f.Site != want.Site || len(f.Links) != 2 || f.Links["self"] != want.Links["self"] || f.Links["parent"] != want.Links["parent"] {
			t.Errorf("_flags[%d] = %+v, want %+v", i, f, want)
		}
	}
	if got := sgGet(e, "test", "beta"); got.Flags == nil || len(*got.Flags) != 0 {
		t.Errorf("test environment _flags %+v", got.Flags)
	}

	// In use by flags and by a segment: 409, and the segment stays.
	e.errorBody(htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta")}, http.StatusConflict, CodeConflict)
	sgGet(e, "production", "beta")
	for _, fk := range []string{"checkout", "banner"} {
		if _, err := e.st.UpdateFlag(ctx, "shop", fk, func(f *Flag) error {
			f.Environments["production"].Rules = nil
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.errorBody(htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta")}, http.StatusConflict, CodeConflict)
	e.json(htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "outer"),
		Body: []map[string]any{{"op": "remove", "path": "/rules/0"}}}, http.StatusOK, nil)
	e.json(htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta")}, http.StatusNoContent, nil)
}

// sgSemantic is the Content-Type of a semantic patch.
const sgSemantic = "application/json; domain-model=launchdarkly.semanticpatch"

func TestHTTP_SegmentPatch(t *testing.T) {
	t.Parallel()
	e, _ := sgServer(t)
	sgCreate(e, "production", SegmentPost{Key: "beta", Name: "Beta"})
	path := sgPath("shop", "production", "beta")

	// Each dialect, with its comment in the audit log.
	steps := []struct {
		name    string
		ct      string
		body    any
		comment string
		check   func(s Segment) bool
	}{
		{"JSON Patch with comment", "", map[string]any{"comment": "rename", "patch": []map[string]any{{"op": "replace", "path": "/name", "value": "Renamed"}}},
			"rename", func(s Segment) bool { return s.Name == "Renamed" }},
		{"bare JSON Patch", "", []map[string]any{{"op": "add", "path": "/included/-", "value": "u1"}},
			"", func(s Segment) bool { return slices.Equal(s.Included, []string{"u1"}) }},
		{"JSON Patch with a version test", "", map[string]any{"comment": "guarded", "patch": []map[string]any{
			{"op": "test", "path": "/version", "value": 3}, {"op": "add", "path": "/tags/-", "value": "guarded"}}},
			"guarded", func(s Segment) bool { return slices.Equal(s.Tags, []string{"guarded"}) }},
		{"merge patch with comment", "", map[string]any{"comment": "describe", "merge": map[string]any{"description": "merged"}},
			"describe", func(s Segment) bool { return s.Description == "merged" }},
		{"bare merge patch", "application/merge-patch+json", map[string]any{"excluded": []string{"u2"}},
			"", func(s Segment) bool { return slices.Equal(s.Excluded, []string{"u2"}) }},
		{"semantic patch", sgSemantic, map[string]any{"comment": "semantic", "environmentKey": "production", "instructions": []map[string]any{
			{"kind": "updateName", "value": "Semantic"},
			{"kind": "addIncludedTargets", "contextKind": "org", "values": []string{"o1"}},
			{"kind": "addRule", "clauses": []map[string]any{{"attribute": "email", "op": "endsWith", "values": []string{".edu"}}}},
		}}, "semantic", func(s Segment) bool {
			return s.Name == "Semantic" && len(s.IncludedContexts) == 1 && len(s.Rules) == 1 && s.Rules[0].ID != "" && s.Rules[0].Clauses[0].ID != ""
		}},
	}
	for i, st := range steps {
		var rep sgRep
		e.json(htReq{Method: http.MethodPatch, Path: path, Body: st.body, ContentType: st.ct}, http.StatusOK, &rep)
		if !st.check(rep.Segment) || rep.Version != i+2 || rep.Flags != nil {
			t.Fatalf("%s: response %+v", st.name, rep)
		}
		sgCheckLinks(t, rep.Links, "production", "beta")
		if got := sgGet(e, "production", "beta"); !st.check(got.Segment) || got.Version != i+2 {
			t.Fatalf("%s: stored %+v", st.name, got)
		}
		entries := sgAudit(e, "production", "beta")
		if len(entries) != i+2 || entries[0].Comment != st.comment || entries[0].Kind != "segment" {
			t.Fatalf("%s: audit entries %d, newest %+v", st.name, len(entries), entries[0])
		}
	}
	before := sgGet(e, "production", "beta")
	audited := len(sgAudit(e, "production", "beta"))

	// A dry run answers with the change and stores and records nothing.
	var dry sgRep
	e.json(htReq{Method: http.MethodPatch, Path: path + "?dryRun=true", Body: map[string]any{"comment": "dry",
		"patch": []map[string]any{{"op": "replace", "path": "/name", "value": "Dry"}}}}, http.StatusOK, &dry)
	if dry.Name != "Dry" || dry.Version != before.Version+1 {
		t.Errorf("dry run answered %+v", dry)
	}
	e.json(htReq{Method: http.MethodPatch, Path: path + "?dryRun=1", ContentType: sgSemantic,
		Body: map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "addTags", "values": []string{"dry"}}}}}, http.StatusOK, &dry)
	if !slices.Contains(dry.Tags, "dry") {
		t.Errorf("semantic dry run answered %+v", dry)
	}
	// A dry run still runs every check.
	e.errorBody(htReq{Method: http.MethodPatch, Path: path + "?dryRun=true",
		Body: []map[string]any{{"op": "replace", "path": "/name", "value": ""}}}, http.StatusBadRequest, CodeInvalidRequest)

	// Failures change nothing.
	fails := []struct {
		name   string
		ct     string
		body   any
		query  string
		status int
		code   string
	}{
		{"failed version test", "", []map[string]any{{"op": "test", "path": "/version", "value": 1}, {"op": "replace", "path": "/name", "value": "X"}}, "", http.StatusConflict, CodeOptimisticLocking},
		{"missing path", "", []map[string]any{{"op": "remove", "path": "/rules/7"}}, "", http.StatusUnprocessableEntity, CodePatchFailed},
		{"replace a missing member", "", []map[string]any{{"op": "replace", "path": "/nothing/here", "value": 1}}, "", http.StatusUnprocessableEntity, CodePatchFailed},
		{"empty name", "", []map[string]any{{"op": "replace", "path": "/name", "value": ""}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"key change", "", []map[string]any{{"op": "replace", "path": "/key", "value": "other"}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"version change", "", map[string]any{"merge": map[string]any{"version": 99}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"unknown field", "", []map[string]any{{"op": "add", "path": "/color", "value": "red"}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"computed field", "", map[string]any{"merge": map[string]any{"_links": map[string]any{}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"big segment switch", "", map[string]any{"merge": map[string]any{"unbounded": true}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"included and excluded", "", []map[string]any{{"op": "add", "path": "/excluded/-", "value": "u1"}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"segmentMatch of a missing segment", "", []map[string]any{{"op": "add", "path": "/rules/-", "value": map[string]any{"clauses": sgSegRule("nope")}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"segmentMatch of itself", "", []map[string]any{{"op": "add", "path": "/rules/-", "value": map[string]any{"clauses": sgSegRule("beta")}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"semantic without environmentKey", sgSemantic, map[string]any{"instructions": []map[string]any{{"kind": "updateName", "value": "X"}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"semantic in another environment", sgSemantic, map[string]any{"environmentKey": "test", "instructions": []map[string]any{{"kind": "updateName", "value": "X"}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"semantic body without its media type", "", map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "updateName", "value": "X"}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"unknown instruction", sgSemantic, map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "turnFlagOn"}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"big segment instruction", sgSemantic, map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "addBigSegmentIncludedTargets", "values": []string{"x"}}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"all or nothing", sgSemantic, map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "updateName", "value": "X"}, {"kind": "removeRule"}}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"no instructions", sgSemantic, map[string]any{"environmentKey": "production", "instructions": []any{}}, "", http.StatusBadRequest, CodeInvalidRequest},
		{"malformed JSON", "", "{", "", http.StatusBadRequest, CodeInvalidRequest},
		{"empty body", "", "", "", http.StatusBadRequest, CodeInvalidRequest},
		{"bad dryRun", "", []map[string]any{{"op": "replace", "path": "/name", "value": "X"}}, "?dryRun=maybe", http.StatusBadRequest, CodeInvalidRequest},
		{"not JSON", "text/plain", "name=X", "", http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
	}
	for _, f := range fails {
		t.Run(f.name, func(t *testing.T) {
			e := *e
			e.t = t
			e.errorBody(htReq{Method: http.MethodPatch, Path: path + f.query, Body: f.body, ContentType: f.ct}, f.status, f.code)
		})
	}
	after := sgGet(e, "production", "beta")
	if !jsonEqual(before.Segment, after.Segment) {
		t.Errorf("a failed or dry patch changed the segment:\n%+v\n%+v", before.Segment, after.Segment)
	}
	if n := len(sgAudit(e, "production", "beta")); n != audited {
		t.Errorf("audit entries %d after failures and dry runs, want %d", n, audited)
	}
}

func TestHTTP_SegmentErrors(t *testing.T) {
	t.Parallel()
	e, _ := sgServer(t)
	sgCreate(e, "production", SegmentPost{Key: "beta", Name: "Beta"})
	patch := []map[string]any{{"op": "replace", "path": "/name", "value": "X"}}
	post := SegmentPost{Key: "new", Name: "New"}
	cases := []struct {
		name   string
		req    htReq
		status int
		code   string
	}{
		// 401: no token, or an unknown one, on every route.
		{"list without token", htReq{Method: http.MethodGet, Path: sgPath("shop", "production"), Auth: "-"}, 401, CodeUnauthorized},
		{"create without token", htReq{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: post, Auth: "-"}, 401, CodeUnauthorized},
		{"get with a bad token", htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "beta"), Auth: "api-nope"}, 401, CodeUnauthorized},
		{"patch without token", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), Body: patch, Auth: "-"}, 401, CodeUnauthorized},
		{"delete with a bad token", htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta"), Auth: "api-nope"}, 401, CodeUnauthorized},
		// 404: unknown project, environment or segment.
		{"list, unknown project", htReq{Method: http.MethodGet, Path: sgPath("nope", "production")}, 404, CodeNotFound},
		{"list, unknown environment", htReq{Method: http.MethodGet, Path: sgPath("shop", "nope")}, 404, CodeNotFound},
		{"create, unknown project", htReq{Method: http.MethodPost, Path: sgPath("nope", "production"), Body: post}, 404, CodeNotFound},
		{"create, unknown environment", htReq{Method: http.MethodPost, Path: sgPath("shop", "nope"), Body: post}, 404, CodeNotFound},
		{"get, unknown project", htReq{Method: http.MethodGet, Path: sgPath("nope", "production", "beta")}, 404, CodeNotFound},
		{"get, unknown environment", htReq{Method: http.MethodGet, Path: sgPath("shop", "nope", "beta")}, 404, CodeNotFound},
		{"get, unknown segment", htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "nope")}, 404, CodeNotFound},
		{"get, segment of another environment", htReq{Method: http.MethodGet, Path: sgPath("shop", "test", "beta")}, 404, CodeNotFound},
		{"patch, unknown project", htReq{Method: http.MethodPatch, Path: sgPath("nope", "production", "beta"), Body: patch}, 404, CodeNotFound},
		{"patch, unknown environment", htReq{Method: http.MethodPatch, Path: sgPath("shop", "nope", "beta"), Body: patch}, 404, CodeNotFound},
		{"patch, unknown segment", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "nope"), Body: patch}, 404, CodeNotFound},
		{"delete, unknown project", htReq{Method: http.MethodDelete, Path: sgPath("nope", "production", "beta")}, 404, CodeNotFound},
		{"delete, unknown environment", htReq{Method: http.MethodDelete, Path: sgPath("shop", "nope", "beta")}, 404, CodeNotFound},
		{"delete, unknown segment", htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "nope")}, 404, CodeNotFound},
		{"too deep a path", htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "beta", "extra")}, 404, CodeNotFound},
		// 405: a known path asked with a verb it does not serve.
		{"put a segment", htReq{Method: http.MethodPut, Path: sgPath("shop", "production", "beta"), Body: post}, 405, CodeMethodNotAllowed},
		{"post to a segment", htReq{Method: http.MethodPost, Path: sgPath("shop", "production", "beta"), Body: post}, 405, CodeMethodNotAllowed},
		{"delete the list", htReq{Method: http.MethodDelete, Path: sgPath("shop", "production")}, 405, CodeMethodNotAllowed},
		{"patch the list", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production"), Body: patch}, 405, CodeMethodNotAllowed},
		// 415: a body that is not JSON.
		{"create from a form", htReq{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: "key=new&name=New", ContentType: "application/x-www-form-urlencoded"}, 415, CodeUnsupportedMediaType},
		{"patch with text", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), Body: "[]", ContentType: "text/plain"}, 415, CodeUnsupportedMediaType},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := *e
			e.t = t
			e.errorBody(c.req, c.status, c.code)
		})
	}
	t.Run("Allow header", func(t *testing.T) {
		t.Parallel()
		e := *e
		e.t = t
		resp, _ := e.do(htReq{Method: http.MethodPut, Path: sgPath("shop", "production", "beta"), Body: post})
		for _, m := range []string{"GET", "PATCH", "DELETE"} {
			if !strings.Contains(resp.Header.Get("Allow"), m) {
				t.Errorf("Allow %q lacks %s", resp.Header.Get("Allow"), m)
			}
		}
	})
}

func TestHTTP_SegmentErrorsChangeNothing(t *testing.T) {
	t.Parallel()
	e, _ := sgServer(t)
	sgCreate(e, "production", SegmentPost{Key: "beta", Name: "Beta"})
	// Refused writes leave no trace.
	for _, r := range []htReq{
		{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: map[string]any{"key": "new", "name": ""}},
		{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: SegmentPost{Key: "new", Name: "New"}, Auth: "-"},
		{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: "key=new", ContentType: "text/plain"},
		{Method: http.MethodPut, Path: sgPath("shop", "production", "beta"), Body: SegmentPost{Key: "beta", Name: "Put"}},
	} {
		if resp, body := e.do(r); resp.StatusCode < 400 {
			t.Fatalf("%s %s: %d %s", r.Method, r.Path, resp.StatusCode, body)
		}
	}
	var l sgList
	e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", "production")}, http.StatusOK, &l)
	if !slices.Equal(l.keys(), []string{"beta"}) || l.Items[0].Name != "Beta" || l.Items[0].Version != 1 {
		t.Errorf("after failed writes: %+v", l)
	}
	if n := len(sgAudit(e, "production", "beta")); n != 1 {
		t.Errorf("%d audit entries, want the create only", n)
	}
}

// sgRestrictedToken invites a member holding one custom role with the
// given statements and returns a personal token acting with that role.
func sgRestrictedToken(t *testing.T, st *Store, key string, sts ...Statement) string {
	t.Helper()
	ctx := t.Context()
	cr, err := st.CreateCustomRole(ctx, CustomRolePost{Key: key, Name: "Role " + key, Policy: sts})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := st.InviteMembers(ctx, []MemberInvite{{Email: key + "@example.com", CustomRoles: []string{cr.Key}}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := st.CreateToken(ctx, ms[0].ID, TokenPost{Name: key, CustomRoleIDs: []string{cr.ID}})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Token
}

func TestHTTP_SegmentForbidden(t *testing.T) {
	t.Parallel()
	e, _ := sgServer(t)
	sgCreate(e, "production", SegmentPost{Key: "beta", Name: "Beta"})
	sgCreate(e, "production", SegmentPost{Key: "used", Name: "Used"})
	sgCreate(e, "test", SegmentPost{Key: "beta", Name: "Beta"})
	tstMustFlag(t, e.st, "shop", "checkout")
	if _, err := e.st.UpdateFlag(t.Context(), "shop", "checkout", func(f *Flag) error {
		v := 0
		f.Environments["production"].Rules = []Rule{{Variation: &v, Clauses: sgSegRule("used")}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// May view the project and do anything to segments of test only.
	testOnly := sgRestrictedToken(t, e.st, "test-segments",
		Statement{Effect: "allow", Resources: []string{"proj/*"}, Actions: []string{"viewProject"}},
		Statement{Effect: "allow", Resources: []string{"proj/shop:env/test:segment/*"}, Actions: []string{"*"}})
	// May change segments everywhere but not view the project.
	blind := sgRestrictedToken(t, e.st, "blind",
		Statement{Effect: "allow", Resources: []string{"proj/*:env/*:segment/*"}, Actions: []string{"*"}})
	// May only rename segments.
	renamer := sgRestrictedToken(t, e.st, "renamer",
		Statement{Effect: "allow", Resources: []string{"proj/*"}, Actions: []string{"viewProject"}},
		Statement{Effect: "allow", Resources: []string{"proj/*:env/*:segment/*"}, Actions: []string{"updateName"}})

	rename := []map[string]any{{"op": "replace", "path": "/name", "value": "Renamed"}}
	retag := []map[string]any{{"op": "add", "path": "/tags/-", "value": "x"}}
	cases := []struct {
		name   string
		req    htReq
		status int
	}{
		{"list production", htReq{Method: http.MethodGet, Path: sgPath("shop", "production"), Auth: testOnly}, 200},
		{"get production", htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "beta"), Auth: testOnly}, 200},
		{"create in production", htReq{Method: http.MethodPost, Path: sgPath("shop", "production"), Body: SegmentPost{Key: "new", Name: "New"}, Auth: testOnly}, 403},
		{"patch in production", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), Body: rename, Auth: testOnly}, 403},
		{"dry-run patch in production", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta") + "?dryRun=true", Body: rename, Auth: testOnly}, 403},
		{"semantic patch in production", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), ContentType: sgSemantic, Auth: testOnly,
			Body: map[string]any{"environmentKey": "production", "instructions": []map[string]any{{"kind": "updateName", "value": "Renamed"}}}}, 403},
		{"delete in production", htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "beta"), Auth: testOnly}, 403},
		{"delete a used segment in production", htReq{Method: http.MethodDelete, Path: sgPath("shop", "production", "used"), Auth: testOnly}, 403},
		{"list without viewProject", htReq{Method: http.MethodGet, Path: sgPath("shop", "production"), Auth: blind}, 403},
		{"get without viewProject", htReq{Method: http.MethodGet, Path: sgPath("shop", "production", "beta"), Auth: blind}, 403},
		{"no-op patch without viewProject", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), Auth: blind,
			Body: []map[string]any{{"op": "replace", "path": "/name", "value": "Beta"}}}, 403},
		{"retag with rename rights", htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), Body: retag, Auth: renamer}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := *e
			e.t = t
			if c.status == 403 {
				e.errorBody(c.req, c.status, CodeForbidden)
			} else {
				e.json(c.req, c.status, nil)
			}
		})
	}
	if got := sgGet(e, "production", "beta"); got.Name != "Beta" || got.Version != 1 || len(got.Tags) != 0 {
		t.Errorf("refused writes changed the segment: %+v", got)
	}
	var l sgList
	e.json(htReq{Method: http.MethodGet, Path: sgPath("shop", "production")}, http.StatusOK, &l)
	if l.TotalCount != 2 {
		t.Errorf("refused writes changed the list: %v", l.keys())
	}

	// What the roles allow succeeds.
	var created sgRep
	e.json(htReq{Method: http.MethodPost, Path: sgPath("shop", "test"), Body: SegmentPost{Key: "new", Name: "New"}, Auth: testOnly}, http.StatusCreated, &created)
	e.json(htReq{Method: http.MethodPatch, Path: sgPath("shop", "test", "beta"), Body: rename, Auth: testOnly}, http.StatusOK, nil)
	e.json(htReq{Method: http.MethodDelete, Path: sgPath("shop", "test", "new"), Auth: testOnly}, http.StatusNoContent, nil)
	var renamed sgRep
	e.json(htReq{Method: http.MethodPatch, Path: sgPath("shop", "production", "beta"), Body: rename, Auth: renamer}, http.StatusOK, &renamed)
	if renamed.Name != "Renamed" {
		t.Errorf("renamer: %+v", renamed)
	}
	entries := sgAudit(e, "production", "beta")
	if len(entries) != 2 || entries[0].Member == nil || entries[0].Token == nil {
		t.Errorf("the renamer's change is not recorded with its member and token: %+v", entries)
	}
}
