package flagstore

// LaunchDarkly's segment list filter ("queryfilter" grammar), and the
// segment query that the segment list route serves.
//
//	filter := or
//	or     := and { "|" and }
//	and    := unit { "," unit }
//	unit   := "(" or ")" | term
//	term   := field operator value
//	value  := JSON string | JSON array | bare word (up to a space , | ( or ))
//
// "," (AND) binds tighter than "|" (OR); parentheses group. Fields and their
// operators:
//
//	query equals "text" | ["a","b"]  key, name or description contains a text, ignoring case
//	tags anyOf ["a","b"]             the segment has one of the tags
//	includedKeys anyOf ["k"]         the segment's key is listed ("keys" is accepted too)
//	excludedKeys anyOf ["k"]         the segment's key is not listed
//	unbounded equals true|false      big segment or not
//	external exists true|false       synced segment or not (this store has none)
//
// Anything else (view, type, another operator) is refused.

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// SegmentFilter is a parsed segment list filter. The nil filter keeps every
// segment.
type SegmentFilter struct {
	root segFilterNode
}

// ParseSegmentFilter parses LaunchDarkly's segment filter expression, such
// as `tags anyOf ["beta"],query equals "toggle"`. An empty expression is the
// nil filter; a malformed one, or one that names an unsupported field or
// operator, is ErrInvalid.
func ParseSegmentFilter(expr string) (*SegmentFilter, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, nil
	}
	p := &segFilterParser{src: expr}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.pos < len(p.src) {
		return nil, p.errorf("unexpected %q", p.src[p.pos:p.pos+1])
	}
	return &SegmentFilter{root: root}, nil
}

// Match reports whether seg passes the filter.
func (f *SegmentFilter) Match(seg *Segment) bool {
	return f == nil || f.root.match(seg)
}

// segFilterNode is one node of a parsed filter.
type segFilterNode interface{ match(*Segment) bool }

type segFilterAnd []segFilterNode

func (n segFilterAnd) match(s *Segment) bool {
	for _, c := range n {
		if !c.match(s) {
			return false
		}
	}
	return true
}

type segFilterOr []segFilterNode

func (n segFilterOr) match(s *Segment) bool {
	for _, c := range n {
		if c.match(s) {
			return true
		}
	}
	return false
}

// segFilterTerm is one "field operator value" term, with its value decoded.
type segFilterTerm struct {
	field string
	texts []string // query (lower-cased), tags, keys
	flag  bool     // unbounded, external
}

func (t *segFilterTerm) match(s *Segment) bool {
	switch t.field {
	case "query":
		for _, q := range t.texts {
			if strings.Contains(strings.ToLower(s.Key), q) || strings.Contains(strings.ToLower(s.Name), q) ||
				strings.Contains(strings.ToLower(s.Description), q) {
				return true
			}
		}
		return false
	case "tags":
		for _, tag := range t.texts {
			if slices.Contains(s.Tags, tag) {
				return true
			}
		}
		return false
	case "includedKeys":
		return slices.Contains(t.texts, s.Key)
	case "excludedKeys":
		return !slices.Contains(t.texts, s.Key)
	case "unbounded":
		return s.Unbounded == t.flag
	case "external":
		// No segment of this store is synced from an external source.
		return !t.flag
	}
	return false
}

// segFilterOps maps each supported field to its one operator.
var segFilterOps = map[string]string{
	"query":        "equals",
	"tags":         "anyOf",
	"includedKeys": "anyOf",
	"keys":         "anyOf",
	"excludedKeys": "anyOf",
	"unbounded":    "equals",
	"external":     "exists",
}

// maxSegFilterDepth bounds parenthesis nesting.
const maxSegFilterDepth = 32

type segFilterParser struct {
	src string
	pos int
}

func (p *segFilterParser) errorf(format string, args ...any) *Error {
	return invalidf("filter", "invalid segment filter at offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *segFilterParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// peek returns the next non-space byte, or 0 at the end.
func (p *segFilterParser) peek() byte {
	p.space()
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *segFilterParser) or(depth int) (segFilterNode, error) {
	var out segFilterOr
	for {
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.peek() != '|' {
			break
		}
		p.pos++
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *segFilterParser) and(depth int) (segFilterNode, error) {
	var out segFilterAnd
	for {
		n, err := p.unit(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
		if p.peek() != ',' {
			break
		}
		p.pos++
	}
	if len(out) == 1 {
		return out[0], nil
	}
	return out, nil
}

func (p *segFilterParser) unit(depth int) (segFilterNode, error) {
	switch p.peek() {
	case '(':
		if depth >= maxSegFilterDepth {
			return nil, p.errorf("parentheses nest deeper than %d", maxSegFilterDepth)
		}
		p.pos++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.peek() != ')' {
			return nil, p.errorf("missing )")
		}
		p.pos++
		return n, nil
	case 0:
		return nil, p.errorf("missing a term (field operator value)")
	}
	return p.term()
}

// word reads a run of letters, digits, '_' and '.'.
func (p *segFilterParser) word() string {
	p.space()
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if !isAlnum(c) && c != '_' && c != '.' {
			break
		}
		p.pos++
	}
	return p.src[start:p.pos]
}

func (p *segFilterParser) term() (segFilterNode, error) {
	start := p.pos
	field := p.word()
	if field == "" {
		return nil, p.errorf("expected a field name, found %q", p.src[p.pos:p.pos+1])
	}
	op := p.word()
	if op == "" {
		return nil, p.errorf("expected an operator after %q", field)
	}
	want, ok := segFilterOps[field]
	if !ok {
		p.pos = start
		return nil, p.errorf("unsupported filter field %q (supported: query, tags, includedKeys, excludedKeys, unbounded, external)", field)
	}
	if op != want {
		p.pos = start
		return nil, p.errorf("field %q takes the operator %s, not %q", field, want, op)
	}
	raw, isArray, err := p.value()
	if err != nil {
		return nil, err
	}
	t := &segFilterTerm{field: field}
	if field == "keys" {
		t.field = "includedKeys"
	}
	switch field {
	case "query", "tags", "includedKeys", "keys", "excludedKeys":
		if isArray {
			for _, v := range raw {
				s, ok := v.(string)
				if !ok {
					return nil, p.errorf("the values of %q must be strings", field)
				}
				t.texts = append(t.texts, s)
			}
		} else {
			s, ok := raw[0].(string)
			if !ok {
				return nil, p.errorf("the value of %q must be a string", field)
			}
			t.texts = []string{s}
		}
		if field == "query" {
			for i, s := range t.texts {
				t.texts[i] = strings.ToLower(s)
			}
		}
	case "unbounded", "external":
		var b any
		if !isArray {
			b = raw[0]
		}
		switch b {
		case true, "true":
			t.flag = true
		case false, "false":
			t.flag = false
		default:
			return nil, p.errorf("the value of %q must be true or false", field)
		}
	}
	return t, nil
}

// value reads a JSON string, a JSON array or a bare word. A string or bare
// word comes back as a one-element list; a bare true or false as a bool.
func (p *segFilterParser) value() (vals []any, isArray bool, err error) {
	switch p.peek() {
	case 0, ',', '|', ')', '(':
		return nil, false, p.errorf("missing a value")
	case '"':
		end, ok := p.scanString(p.pos)
		if !ok {
			return nil, false, p.errorf("unterminated string")
		}
		var s string
		if err := json.Unmarshal([]byte(p.src[p.pos:end]), &s); err != nil {
			return nil, false, p.errorf("malformed string %s", p.src[p.pos:end])
		}
		p.pos = end
		return []any{s}, false, nil
	case '[':
		end, ok := p.scanArray(p.pos)
		if !ok {
			return nil, false, p.errorf("unterminated list")
		}
		var list []any
		if err := json.Unmarshal([]byte(p.src[p.pos:end]), &list); err != nil {
			return nil, false, p.errorf("malformed list %s", p.src[p.pos:end])
		}
		p.pos = end
		return list, true, nil
	}
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n,|()", rune(p.src[p.pos])) {
		p.pos++
	}
	switch w := p.src[start:p.pos]; w {
	case "true":
		return []any{true}, false, nil
	case "false":
		return []any{false}, false, nil
	default:
		return []any{w}, false, nil
	}
}

// scanString returns the end (exclusive) of the JSON string at i.
func (p *segFilterParser) scanString(i int) (int, bool) {
	for j := i + 1; j < len(p.src); j++ {
		switch p.src[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// scanArray returns the end (exclusive) of the JSON array at i.
func (p *segFilterParser) scanArray(i int) (int, bool) {
	depth := 0
	for j := i; j < len(p.src); j++ {
		switch p.src[j] {
		case '"':
			end, ok := p.scanString(j)
			if !ok {
				return 0, false
			}
			j = end - 1
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j + 1, true
			}
		}
	}
	return 0, false
}

// SegmentQuery selects, orders and pages an environment's segments as
// LaunchDarkly's segment list does.
type SegmentQuery struct {
	// Limit is the page size (default 20); Offset skips that many segments
	// of the filtered, ordered list.
	Limit, Offset int
	// Sort is a comma-separated list of creationDate, name and
	// lastModified, each with an optional leading "-" for descending
	// order, as in "-name,creationDate". Default: newest first. Segments
	// equal on every field are ordered by key.
	Sort string
	// Filter is LaunchDarkly's segment filter expression (see
	// [ParseSegmentFilter]).
	Filter string
}

// segSortKey is one parsed field of a SegmentQuery's Sort.
type segSortKey struct {
	field string
	desc  bool
}

// parseSegmentSort parses a SegmentQuery's Sort.
func parseSegmentSort(sort string) ([]segSortKey, error) {
	if strings.TrimSpace(sort) == "" {
		sort = "-creationDate"
	}
	var out []segSortKey
	for _, f := range strings.Split(sort, ",") {
		f = strings.TrimSpace(f)
		k := segSortKey{field: strings.TrimPrefix(f, "-"), desc: strings.HasPrefix(f, "-")}
		switch k.field {
		case "creationDate", "name", "lastModified":
		default:
			return nil, invalidf("sort", "unsupported sort field %q: use creationDate, name or lastModified", f)
		}
		out = append(out, k)
	}
	return out, nil
}

// compareSegments orders two segments by the sort keys, then by key.
func compareSegments(keys []segSortKey, a, b *Segment) int {
	for _, k := range keys {
		var c int
		switch k.field {
		case "creationDate":
			c = cmp.Compare(a.CreationDate, b.CreationDate)
		case "lastModified":
			c = cmp.Compare(a.LastModifiedDate, b.LastModifiedDate)
		case "name":
			c = cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.Name, b.Name))
		}
		if k.desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return cmp.Compare(a.Key, b.Key)
}

// QuerySegments lists one page of an environment's segments that pass the
// query's filter, in its order; TotalCount counts every segment the filter
// keeps. A malformed filter or sort, or a negative limit or offset, is
// ErrInvalid; an unknown project or environment is ErrNotFound.
func (s *Store) QuerySegments(ctx context.Context, proj, env string, q SegmentQuery) (List[Segment], error) {
	if q.Limit < 0 {
		return List[Segment]{}, invalidf("limit", "limit must not be negative")
	}
	if q.Offset < 0 {
		return List[Segment]{}, invalidf("offset", "offset must not be negative")
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	filter, err := ParseSegmentFilter(q.Filter)
	if err != nil {
		return List[Segment]{}, err
	}
	order, err := parseSegmentSort(q.Sort)
	if err != nil {
		return List[Segment]{}, err
	}
	var kept []*Segment
	err = s.view(ctx, func(r *rtx) error {
		if _, err := getEnv(r, proj, env, &envDoc{}); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		return each(r, segPrefix(proj, env), func(_ string, seg *Segment) error {
			if filter.Match(seg) {
				kept = append(kept, seg)
			}
			return nil
		})
	})
	if err != nil {
		return List[Segment]{}, err
	}
	slices.SortFunc(kept, func(a, b *Segment) int { return compareSegments(order, a, b) })
	out := List[Segment]{Items: []Segment{}, TotalCount: len(kept)}
	if q.Offset < len(kept) {
		for _, seg := range kept[q.Offset:][:min(len(kept)-q.Offset, limit)] {
			out.Items = append(out.Items, *seg)
		}
	}
	return out, nil
}
