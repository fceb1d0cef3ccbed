package flagstore

import (
	"fmt"

	"github.com/flagstore/flagstore/internal/resource"
)

// Statement is one policy statement, LaunchDarkly's shape: it allows or
// denies the listed actions (or all but NotActions) on the resources its
// specifiers match (or all but NotResources). Custom roles, tokens' inline
// roles and webhooks' filters are lists of statements.
type Statement struct {
	Effect       string   `json:"effect"`
	Resources    []string `json:"resources,omitempty"`
	NotResources []string `json:"notResources,omitempty"`
	Actions      []string `json:"actions,omitempty"`
	NotActions   []string `json:"notActions,omitempty"`
}

// internal converts statements to the policy engine's form.
func internalStatements(sts []Statement) []resource.Statement {
	out := make([]resource.Statement, len(sts))
	for i, s := range sts {
		out[i] = resource.Statement(s)
	}
	return out
}

// validStatements checks every statement's shape and specifiers; the error
// names the first bad one under attribute (e.g. "policy[2]").
func validStatements(attribute string, sts []Statement) *Error {
	for i, s := range sts {
		if err := resource.Statement(s).Validate(); err != nil {
			return invalidf(fmt.Sprintf("%s[%d]", attribute, i), "%s[%d]: %v", attribute, i, err)
		}
	}
	return nil
}
