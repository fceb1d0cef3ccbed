// Package resource implements LaunchDarkly's resource specifiers
// ("proj/*:env/production:flag/*"), the concrete resources that actions touch
// ("proj/shop:env/production:flag/new-checkout"), and the evaluation of
// custom-role policy statements over them. It is pure logic with no
// principals or storage, so the policy engine (allow/deny) and the audit
// log's spec filter can share one definition of "this specifier names that
// resource".
//
// # Grammar
//
//	specifier := segment ( ":" segment )*  |  "acct"  |  "ip-allowlist"
//	segment   := type "/" name [ ";" selector ( "," selector )* ]
//	type      := [A-Za-z0-9_-]+
//	name      := ( key-char | "*" | placeholder )+
//	selector  := tag | "{" field ":" value "}"
//	tag       := ( key-char | "*" | placeholder )+
//	field     := key-char+
//	value     := ( key-char | placeholder )+
//	key-char  := [A-Za-z0-9._-]
//	placeholder := "${roleAttribute/" key-char+ "}"
//
// # Decisions where LaunchDarkly's documentation is silent or odd
//
//   - "*" in a name or tag matches any run of characters, including none,
//     anywhere in the pattern. Names match case-sensitively (keys are
//     case-sensitive); tags match case-insensitively, as LaunchDarkly tags are.
//   - Tags are globs too: LaunchDarkly documents "env/*;qa_*" as environments
//     with a tag beginning with "qa_". A tag selector is satisfied when any of
//     the part's tags matches it; all selectors of a segment must be satisfied.
//   - A property selector "{field:value}" is satisfied only when the part
//     carries that property with exactly that value; a missing property never
//     matches, so "{critical:false}" does not match a part without "critical".
//   - A segment after the first may start with one stray "/": LaunchDarkly's
//     own example "proj/*:env/*;qa_*:/flag/*" (later corrected in its docs)
//     parses as "proj/*:env/*;qa_*:flag/*". [Spec.String] prints the corrected
//     form.
//   - "acct" and "ip-allowlist" are the only name-less resources and must
//     stand alone; any other segment without "/" is an error.
//   - "view:<key>" selectors (an early-access LaunchDarkly feature) are not
//     supported; they fail to parse rather than parse wrongly.
package resource

import (
	"fmt"
	"strings"
)

// singletons are the resource types written without "/name".
var singletons = map[string]bool{TypeAccount: true, TypeIPAllowlist: true}

// placeholderPrefix opens a role-attribute placeholder.
const placeholderPrefix = "${roleAttribute/"

// Spec is a parsed resource specifier. The zero Spec matches nothing.
type Spec struct {
	Segments []Pattern
}

// Pattern is one segment of a [Spec]: a type, a name glob and selectors.
type Pattern struct {
	// Type is the resource type, such as "proj", "env" or "flag".
	Type string
	// Name is a glob over keys ("*", "qa_*"); empty for "acct".
	Name string
	// Tags are tag globs; the part must carry a match for every one.
	Tags []string
	// Props are property selectors such as {critical:true}.
	Props []Prop
}

// Prop is a property selector "{Field:Value}".
type Prop struct {
	Field, Value string
}

// SyntaxError reports a malformed specifier and where the problem is.
type SyntaxError struct {
	Spec   string // the specifier as given
	Offset int    // byte offset of the problem in Spec
	Msg    string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("resource: invalid specifier %q at offset %d: %s", e.Spec, e.Offset, e.Msg)
}

// Parse parses a resource specifier. Role-attribute placeholders are accepted
// and kept verbatim; resolve them with [Spec.Expand] before matching.
func Parse(spec string) (Spec, error) {
	p := parser{src: spec}
	return p.parse()
}

// MustParse is like [Parse] but panics on error; for specifiers fixed at
// compile time, such as built-in role policies.
func MustParse(spec string) Spec {
	s, err := Parse(spec)
	if err != nil {
		panic(err)
	}
	return s
}

type parser struct{ src string }

func (p *parser) errf(off int, format string, args ...any) error {
	return &SyntaxError{Spec: p.src, Offset: off, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) parse() (Spec, error) {
	if p.src == "" {
		return Spec{}, p.errf(0, "empty specifier")
	}
	type seg struct {
		text string
		off  int
	}
	// Split on ":" outside braces; property selectors and placeholders
	// contain ":" or "/" of their own.
	var segs []seg
	depth, start := 0, 0
	for i := 0; i < len(p.src); i++ {
		switch p.src[i] {
		case '{':
			depth++
		case '}':
			if depth--; depth < 0 {
				return Spec{}, p.errf(i, "unbalanced '}'")
			}
		case ':':
			if depth == 0 {
				segs = append(segs, seg{p.src[start:i], start})
				start = i + 1
			}
		}
	}
	if depth > 0 {
		return Spec{}, p.errf(strings.LastIndexByte(p.src, '{'), "unbalanced '{'")
	}
	segs = append(segs, seg{p.src[start:], start})

	out := Spec{Segments: make([]Pattern, 0, len(segs))}
	for i, sg := range segs {
		text, off := sg.text, sg.off
		if i > 0 && strings.HasPrefix(text, "/") {
			text, off = text[1:], off+1 // LaunchDarkly's ":/flag/*" typo
		}
		if text == "" {
			return Spec{}, p.errf(off, "empty segment")
		}
		if singletons[text] {
			if len(segs) != 1 {
				return Spec{}, p.errf(off, "%q must stand alone", text)
			}
			out.Segments = append(out.Segments, Pattern{Type: text})
			continue
		}
		pat, err := p.segment(text, off)
		if err != nil {
			return Spec{}, err
		}
		out.Segments = append(out.Segments, pat)
	}
	return out, nil
}

func (p *parser) segment(text string, off int) (Pattern, error) {
	head, sel, hasSel := strings.Cut(text, ";")
	typ, name, ok := strings.Cut(head, "/")
	if !ok {
		return Pattern{}, p.errf(off, "missing '/' between type and name in %q", head)
	}
	if typ == "" {
		return Pattern{}, p.errf(off, "empty resource type")
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !isKeyChar(c) || c == '.' {
			return Pattern{}, p.errf(off+i, "bad character %q in resource type", c)
		}
	}
	noff := off + len(typ) + 1
	if name == "" {
		return Pattern{}, p.errf(noff, "empty name")
	}
	if err := p.pattern(name, noff, true); err != nil {
		return Pattern{}, err
	}
	pat := Pattern{Type: typ, Name: name}
	if !hasSel {
		return pat, nil
	}
	soff := off + len(head) + 1
	for _, item := range strings.Split(sel, ",") {
		if item == "" {
			return Pattern{}, p.errf(soff, "empty selector")
		}
		if item[0] == '{' {
			prop, err := p.prop(item, soff)
			if err != nil {
				return Pattern{}, err
			}
			pat.Props = append(pat.Props, prop)
		} else {
			if err := p.pattern(item, soff, true); err != nil {
				return Pattern{}, err
			}
			pat.Tags = append(pat.Tags, item)
		}
		soff += len(item) + 1
	}
	return pat, nil
}

// prop parses "{field:value}".
func (p *parser) prop(item string, off int) (Prop, error) {
	if !strings.HasSuffix(item, "}") || len(item) < 2 {
		return Prop{}, p.errf(off, "property selector must be {field:value}")
	}
	field, value, ok := strings.Cut(item[1:len(item)-1], ":")
	if !ok || field == "" || value == "" {
		return Prop{}, p.errf(off, "property selector must be {field:value}")
	}
	for i := 0; i < len(field); i++ {
		if !isKeyChar(field[i]) {
			return Prop{}, p.errf(off+1+i, "bad character %q in property field", field[i])
		}
	}
	if err := p.pattern(value, off+2+len(field), false); err != nil {
		return Prop{}, err
	}
	return Prop{Field: field, Value: value}, nil
}

// pattern checks a name, tag or property value: key characters, "*" when
// star is set, and well-formed placeholders.
func (p *parser) pattern(s string, off int, star bool) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isKeyChar(c), c == '*' && star:
		case c == '$':
			n, err := placeholderLen(s[i:])
			if err != "" {
				return p.errf(off+i, "%s", err)
			}
			i += n - 1
		default:
			return p.errf(off+i, "bad character %q", c)
		}
	}
	return nil
}

// placeholderLen returns the length of the placeholder at the start of s, or
// a description of what is wrong with it.
func placeholderLen(s string) (int, string) {
	if !strings.HasPrefix(s, placeholderPrefix) {
		return 0, "'$' must start ${roleAttribute/<name>}"
	}
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0, "unterminated role attribute placeholder"
	}
	attr := s[len(placeholderPrefix):end]
	if attr == "" {
		return 0, "empty role attribute name"
	}
	for i := 0; i < len(attr); i++ {
		if !isKeyChar(attr[i]) {
			return 0, fmt.Sprintf("bad character %q in role attribute name", attr[i])
		}
	}
	return end + 1, ""
}

// isKeyChar reports whether c may appear in a LaunchDarkly key or tag.
func isKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '.' || c == '_' || c == '-'
}

// String returns the canonical form: tags before property selectors, and no
// stray slashes. Parse(s.String()) yields s again.
func (s Spec) String() string {
	var b strings.Builder
	for i, p := range s.Segments {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p.Type)
		if p.Name == "" && singletons[p.Type] {
			continue
		}
		b.WriteByte('/')
		b.WriteString(p.Name)
		sep := byte(';')
		for _, t := range p.Tags {
			b.WriteByte(sep)
			b.WriteString(t)
			sep = ','
		}
		for _, pr := range p.Props {
			b.WriteByte(sep)
			b.WriteString("{" + pr.Field + ":" + pr.Value + "}")
			sep = ','
		}
	}
	return b.String()
}

// Matches reports whether r is one of the resources s names: the same number
// of segments with the same types in order, every name glob matching and
// every selector satisfied. A parent specifier does not cover its children
// ("proj/*" does not match a flag), and a placeholder that was not expanded
// matches nothing.
func (s Spec) Matches(r Resource) bool {
	if len(s.Segments) == 0 || len(s.Segments) != len(r.Segments) {
		return false
	}
	for i, p := range s.Segments {
		if !p.matches(r.Segments[i]) {
			return false
		}
	}
	return true
}

func (p Pattern) matches(part Part) bool {
	if p.Type != part.Type || hasPlaceholder(p.Name) || !glob(p.Name, part.Name) {
		return false
	}
	for _, t := range p.Tags {
		if hasPlaceholder(t) || !hasTag(t, part.Tags) {
			return false
		}
	}
	for _, pr := range p.Props {
		v, ok := part.Props[pr.Field]
		if !ok || v != pr.Value || hasPlaceholder(pr.Value) {
			return false
		}
	}
	return true
}

// hasTag reports whether any of tags matches the glob pattern, ignoring case.
func hasTag(pattern string, tags []string) bool {
	pattern = strings.ToLower(pattern)
	for _, t := range tags {
		if glob(pattern, strings.ToLower(t)) {
			return true
		}
	}
	return false
}

func hasPlaceholder(s string) bool { return strings.Contains(s, "${") }

// glob reports whether s matches pattern, where "*" matches any run of bytes
// (including none) and every other byte matches itself. It backtracks only to
// the last star, so it runs in O(len(pattern)*len(s)) at worst.
func glob(pattern, s string) bool {
	px, sx := 0, 0
	star, next := -1, 0
	for sx < len(s) {
		switch {
		case px < len(pattern) && pattern[px] == '*':
			star, next = px, sx
			px++
		case px < len(pattern) && pattern[px] == s[sx]:
			px++
			sx++
		case star >= 0:
			next++
			px, sx = star+1, next
		default:
			return false
		}
	}
	for px < len(pattern) && pattern[px] == '*' {
		px++
	}
	return px == len(pattern)
}
