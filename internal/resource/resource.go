package resource

import (
	"slices"
	"strconv"
	"strings"
)

// Resource types used by the store. LaunchDarkly has more; any type string
// works in a [Part] or a [Spec].
const (
	TypeAccount      = "acct"
	TypeIPAllowlist  = "ip-allowlist"
	TypeProject      = "proj"
	TypeEnvironment  = "env"
	TypeFlag         = "flag"
	TypeSegment      = "segment"
	TypeMetric       = "metric"
	TypeMember       = "member"
	TypeToken        = "token"
	TypeServiceToken = "service-token"
	TypeRole         = "role"
	TypeTeam         = "team"
	TypeWebhook      = "webhook"
)

// PropCritical is the environment property that {critical:true} selects.
const PropCritical = "critical"

// Resource is a concrete resource being acted on, from the outermost scope
// inwards: a flag is project, environment, flag. Tags and properties travel
// with each part so that selectors can be checked; String omits them.
type Resource struct {
	Segments []Part `json:"segments"`
}

// Part is one level of a [Resource].
type Part struct {
	Type  string            `json:"type"`
	Name  string            `json:"name,omitempty"` // key or id; empty for acct
	Tags  []string          `json:"tags,omitempty"`
	Props map[string]string `json:"props,omitempty"`
}

// String returns LaunchDarkly's fully qualified form, as the audit log
// records it: "proj/shop:env/production:flag/new-checkout".
func (r Resource) String() string {
	var b strings.Builder
	for i, p := range r.Segments {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(p.Type)
		if p.Name != "" {
			b.WriteByte('/')
			b.WriteString(p.Name)
		}
	}
	return b.String()
}

// Child returns a copy of r with p appended; r is not modified.
func (r Resource) Child(p Part) Resource {
	segs := make([]Part, len(r.Segments), len(r.Segments)+1)
	copy(segs, r.Segments)
	return Resource{Segments: append(segs, p)}
}

func tagged(typ, name string, tags []string) Part {
	return Part{Type: typ, Name: name, Tags: slices.Clone(tags)}
}

// Account returns "acct", the account itself.
func Account() Resource { return Resource{Segments: []Part{{Type: TypeAccount}}} }

// Project returns "proj/<key>".
func Project(key string, tags ...string) Resource {
	return Resource{Segments: []Part{tagged(TypeProject, key, tags)}}
}

// Environment appends "env/<key>" to a project, with the critical property
// that {critical:true} and {critical:false} select.
func (r Resource) Environment(key string, critical bool, tags ...string) Resource {
	p := tagged(TypeEnvironment, key, tags)
	p.Props = map[string]string{PropCritical: strconv.FormatBool(critical)}
	return r.Child(p)
}

// Flag appends "flag/<key>" to an environment. LaunchDarkly addresses flags
// per environment, so even flag-wide changes name one.
func (r Resource) Flag(key string, tags ...string) Resource {
	return r.Child(tagged(TypeFlag, key, tags))
}

// Segment appends "segment/<key>" to an environment.
func (r Resource) Segment(key string, tags ...string) Resource {
	return r.Child(tagged(TypeSegment, key, tags))
}

// Metric appends "metric/<key>" to a project.
func (r Resource) Metric(key string, tags ...string) Resource {
	return r.Child(tagged(TypeMetric, key, tags))
}

// Token appends "token/<id>" to a member: a personal access token.
func (r Resource) Token(id string) Resource {
	return r.Child(Part{Type: TypeToken, Name: id})
}

// Member returns "member/<id>".
func Member(id string) Resource { return Resource{Segments: []Part{{Type: TypeMember, Name: id}}} }

// ServiceToken returns "service-token/<id>".
func ServiceToken(id string) Resource {
	return Resource{Segments: []Part{{Type: TypeServiceToken, Name: id}}}
}

// Role returns "role/<key>", a custom role.
func Role(key string) Resource { return Resource{Segments: []Part{{Type: TypeRole, Name: key}}} }

// Team returns "team/<key>".
func Team(key string) Resource { return Resource{Segments: []Part{{Type: TypeTeam, Name: key}}} }

// Webhook returns "webhook/<id>".
func Webhook(id string, tags ...string) Resource {
	return Resource{Segments: []Part{tagged(TypeWebhook, id, tags)}}
}

// ParseResource parses a fully qualified resource such as an audit entry's
// "proj/alexis:env/test". It rejects globs, selectors and placeholders; the
// result carries no tags or properties, so selectors never match it.
func ParseResource(s string) (Resource, error) {
	spec, err := Parse(s)
	if err != nil {
		return Resource{}, err
	}
	r := Resource{Segments: make([]Part, len(spec.Segments))}
	for i, p := range spec.Segments {
		if len(p.Tags) > 0 || len(p.Props) > 0 {
			return Resource{}, &SyntaxError{Spec: s, Offset: strings.IndexByte(s, ';'), Msg: "a resource has no selectors"}
		}
		if strings.ContainsAny(p.Name, "*$") {
			return Resource{}, &SyntaxError{Spec: s, Offset: strings.IndexAny(s, "*$"), Msg: "a resource name has no wildcards or placeholders"}
		}
		r.Segments[i] = Part{Type: p.Type, Name: p.Name}
	}
	return r, nil
}
