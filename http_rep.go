package flagstore

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Link is one entry of a representation's _links (or _site): a path on
// LaunchDarkly's host and its media type.
type Link struct {
	Href string `json:"href"`
	Type string `json:"type"`
}

// Links maps relation names ("self", "parent", "next", ...) to links.
type Links map[string]Link

// jsonLink is a link to an API resource.
func jsonLink(path string) Link { return Link{Href: path, Type: "application/json"} }

// siteLink is a link to a page of LaunchDarkly's UI.
func siteLink(path string) Link { return Link{Href: path, Type: "text/html"} }

// selfLinks gives a resource its self and, when given, parent links.
func selfLinks(self, parent string) Links {
	l := Links{"self": jsonLink(self)}
	if parent != "" {
		l["parent"] = jsonLink(parent)
	}
	return l
}

// collection is LaunchDarkly's envelope of a list.
type collection[T any] struct {
	Items      []T   `json:"items"`
	Links      Links `json:"_links"`
	TotalCount int   `json:"totalCount"`
}

// pageLinks are a list's self link and its first, prev, next and last
// links, each present only when that page exists; query parameters of r
// other than limit and offset are kept.
func pageLinks(r *http.Request, path string, limit, offset, total int) Links {
	link := func(off int) Link {
		q := r.URL.Query()
		q.Set("limit", strconv.Itoa(limit))
		q.Set("offset", strconv.Itoa(off))
		return jsonLink(path + "?" + q.Encode())
	}
	l := Links{"self": link(offset)}
	if limit <= 0 {
		return l
	}
	if offset > 0 {
		l["first"] = link(0)
		l["prev"] = link(max(0, offset-limit))
	}
	if offset+limit < total {
		l["next"] = link(offset + limit)
		l["last"] = link((total - 1) / limit * limit)
	}
	return l
}

// writeJSON writes v with status as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return newError(ErrInternal, "encode response: %v", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// queryInt reads a non-negative integer query parameter (def when absent).
func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalidf(name, "%s must be a non-negative integer", name)
	}
	return n, nil
}

// queryBool reads a boolean query parameter ("true", "1", "false", "0").
func queryBool(r *http.Request, name string) (bool, error) {
	switch v := strings.ToLower(r.URL.Query().Get(name)); v {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, invalidf(name, "%s must be true or false", name)
	}
}

// pageOptions reads limit and offset, with a default and a maximum page
// size (max 0: none).
func pageOptions(r *http.Request, def, maxLimit int) (limit, offset int, err error) {
	if limit, err = queryInt(r, "limit", def); err != nil {
		return 0, 0, err
	}
	if limit == 0 {
		limit = def
	}
	if maxLimit > 0 && limit > maxLimit {
		return 0, 0, invalidf("limit", "limit must be at most %d", maxLimit)
	}
	offset, err = queryInt(r, "offset", 0)
	return limit, offset, err
}

// filterTerms parses LaunchDarkly's list filter "field:value,field:value"
// and refuses fields not in allowed.
func filterTerms(r *http.Request, allowed ...string) (map[string]string, error) {
	raw := r.URL.Query().Get("filter")
	out := map[string]string{}
	if raw == "" {
		return out, nil
	}
	for _, term := range strings.Split(raw, ",") {
		field, value, ok := strings.Cut(term, ":")
		if !ok || field == "" {
			return nil, invalidf("filter", "filter term %q is not field:value", term)
		}
		known := false
		for _, a := range allowed {
			known = known || a == field
		}
		if !known {
			return nil, invalidf("filter", "unsupported filter field %q (supported: %s)", field, strings.Join(allowed, ", "))
		}
		out[field] = value
	}
	return out, nil
}

// expandSet parses the comma-separated expand parameter, refusing options
// the endpoint does not offer.
func expandSet(r *http.Request, allowed ...string) (map[string]bool, error) {
	out := map[string]bool{}
	raw := r.URL.Query().Get("expand")
	if raw == "" {
		return out, nil
	}
	for _, e := range strings.Split(raw, ",") {
		e = strings.TrimSpace(e)
		ok := false
		for _, a := range allowed {
			ok = ok || a == e
		}
		if !ok {
			return nil, invalidf("expand", "unsupported expand option %q", e)
		}
		out[e] = true
	}
	return out, nil
}

// apiPath builds a path under /api/v2 from escaped segments.
func apiPath(segments ...string) string {
	var b strings.Builder
	b.WriteString(apiPrefix)
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// parsePatchRequest reads a PATCH request into a Patch, with its dryRun
// query parameter.
func parsePatchRequest(r *http.Request) (Patch, error) {
	body, err := readBody(r)
	if err != nil {
		return Patch{}, invalidf("", "cannot read the request body: %v", err)
	}
	p, err := ParsePatch(r.Header.Get("Content-Type"), body)
	if err != nil {
		return Patch{}, err
	}
	if p.DryRun, err = queryBool(r, "dryRun"); err != nil {
		return Patch{}, err
	}
	return p, nil
}
