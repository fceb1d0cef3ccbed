package resource

import (
	"errors"
	"fmt"
)

// Statement effects.
const (
	EffectAllow = "allow"
	EffectDeny  = "deny"
)

// ErrInvalidStatement is wrapped by every [Statement.Validate] error.
var ErrInvalidStatement = errors.New("resource: invalid policy statement")

// Statement is one entry of a custom-role policy, an access token's inline
// role or a webhook's event filter, in LaunchDarkly's JSON shape.
type Statement struct {
	Effect       string   `json:"effect"`
	Resources    []string `json:"resources,omitempty"`
	NotResources []string `json:"notResources,omitempty"`
	Actions      []string `json:"actions,omitempty"`
	NotActions   []string `json:"notActions,omitempty"`
}

// Validate checks the statement's shape: effect allow or deny, exactly one
// of resources and notResources, exactly one of actions and notActions,
// every specifier parsable (placeholders allowed) and every action a
// non-empty name or glob. Unknown action names are not errors: LaunchDarkly
// adds actions over time.
func (s Statement) Validate() error {
	if err := s.validateShape(); err != nil {
		return err
	}
	for _, f := range s.specFields() {
		for i, spec := range f.specs {
			if _, err := Parse(spec); err != nil {
				return fmt.Errorf("%w: %s[%d]: %w", ErrInvalidStatement, f.name, i, err)
			}
		}
	}
	return nil
}

func (s Statement) validateShape() error {
	if s.Effect != EffectAllow && s.Effect != EffectDeny {
		return fmt.Errorf("%w: effect must be %q or %q, not %q", ErrInvalidStatement, EffectAllow, EffectDeny, s.Effect)
	}
	if (len(s.Resources) > 0) == (len(s.NotResources) > 0) {
		return fmt.Errorf("%w: exactly one of resources and notResources must be set", ErrInvalidStatement)
	}
	if (len(s.Actions) > 0) == (len(s.NotActions) > 0) {
		return fmt.Errorf("%w: exactly one of actions and notActions must be set", ErrInvalidStatement)
	}
	name, list := "actions", s.Actions
	if len(list) == 0 {
		name, list = "notActions", s.NotActions
	}
	for i, a := range list {
		if !isAction(a) {
			return fmt.Errorf("%w: %s[%d]: %q is not an action name or glob", ErrInvalidStatement, name, i, a)
		}
	}
	return nil
}

type specField struct {
	name  string
	specs []string
}

func (s Statement) specFields() []specField {
	return []specField{{"resources", s.Resources}, {"notResources", s.NotResources}}
}

// isAction reports whether a is a plausible action name or glob: letters,
// digits and "*", such as "updateOn", "update*" or "*".
func isAction(a string) bool {
	if a == "" {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '*') {
			return false
		}
	}
	return true
}

// StatementError reports the statement that stopped a policy compiling.
type StatementError struct {
	Index int // position in the statement list
	Err   error
}

func (e *StatementError) Error() string { return fmt.Sprintf("statement %d: %v", e.Index, e.Err) }
func (e *StatementError) Unwrap() error { return e.Err }

// Policy is a list of statements with specifiers parsed and role attributes
// substituted, ready to evaluate many times. The zero Policy denies
// everything.
type Policy struct {
	stmts []compiled
}

type compiled struct {
	src        Statement
	deny       bool
	specs      []Spec
	notRes     bool // specs are notResources
	actions    []string
	notActions bool // actions are notActions
}

// Compile validates statements and expands their role-attribute
// placeholders with attrs (a member's or team's roleAttributes). The error
// is a [*StatementError] naming the first statement that failed.
func Compile(statements []Statement, attrs map[string][]string) (*Policy, error) {
	p := &Policy{stmts: make([]compiled, 0, len(statements))}
	for i, s := range statements {
		c, err := s.compile(attrs)
		if err != nil {
			return nil, &StatementError{Index: i, Err: err}
		}
		p.stmts = append(p.stmts, c)
	}
	return p, nil
}

func (s Statement) compile(attrs map[string][]string) (compiled, error) {
	if err := s.validateShape(); err != nil {
		return compiled{}, err
	}
	c := compiled{src: s, deny: s.Effect == EffectDeny, actions: s.Actions}
	if len(s.NotActions) > 0 {
		c.actions, c.notActions = s.NotActions, true
	}
	f := s.specFields()[0]
	if len(s.NotResources) > 0 {
		f, c.notRes = s.specFields()[1], true
	}
	for i, str := range f.specs {
		spec, err := Parse(str)
		if err != nil {
			return compiled{}, fmt.Errorf("%w: %s[%d]: %w", ErrInvalidStatement, f.name, i, err)
		}
		exp, err := spec.Expand(attrs)
		if err != nil {
			return compiled{}, fmt.Errorf("%s[%d]: %w", f.name, i, err)
		}
		c.specs = append(c.specs, exp...)
	}
	return c, nil
}

// applies reports whether the statement covers action on r.
func (c compiled) applies(action string, r Resource) bool {
	hit := false
	for _, a := range c.actions {
		if glob(a, action) {
			hit = true
			break
		}
	}
	if hit == c.notActions {
		return false
	}
	hit = false
	for _, s := range c.specs {
		if s.Matches(r) {
			hit = true
			break
		}
	}
	return hit != c.notRes
}

// Decision is the outcome of an evaluation and the statement that decided
// it.
type Decision struct {
	Allowed bool
	// Index is the deciding statement's position, or -1 when no statement
	// applied and access fell to the default deny.
	Index int
	// Statement is the deciding statement; zero when Index is -1.
	Statement Statement
	// Err is set when the policy could not be evaluated (an invalid
	// statement or role-attribute value); the decision is then a deny and
	// Index names the broken statement.
	Err error
}

// Evaluate decides whether the policy allows action on r: an applicable deny
// wins over any allow, an applicable allow grants, and otherwise access is
// denied by default. Statement order does not matter to the outcome; the
// deciding statement reported is the first applicable deny, else the first
// applicable allow.
func (p *Policy) Evaluate(action string, r Resource) Decision {
	allow := -1
	if p != nil {
		for i, c := range p.stmts {
			if !c.applies(action, r) {
				continue
			}
			if c.deny {
				return Decision{Index: i, Statement: c.src}
			}
			if allow < 0 {
				allow = i
			}
		}
	}
	if allow < 0 {
		return Decision{Index: -1}
	}
	return Decision{Allowed: true, Index: allow, Statement: p.stmts[allow].src}
}

// Evaluate compiles statements with attrs and evaluates action on r in one
// step; see [Compile] and [Policy.Evaluate]. A policy that fails to compile
// denies everything (fail closed), with Err set.
//
// It evaluates one policy. LaunchDarkly combines a member's several roles
// the other way round, so a caller holding several policies should allow
// when any one of them allows.
func Evaluate(statements []Statement, action string, r Resource, attrs map[string][]string) Decision {
	p, err := Compile(statements, attrs)
	if err != nil {
		var se *StatementError
		errors.As(err, &se)
		return Decision{Index: se.Index, Statement: statements[se.Index], Err: err}
	}
	return p.Evaluate(action, r)
}
