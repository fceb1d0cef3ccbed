package flagstore

import (
	"context"
	"strings"

	"github.com/flagstore/flagstore/internal/resource"
)

// SearchAuditLog lists audit entries newest first, in the summary form, as
// [Store.ListAuditLog] does, keeping only those some of whose accesses the
// statements allow (LaunchDarkly's POST /auditlog): statements are
// evaluated as a policy, so a matching deny wins over an allow. No
// statements keep every entry. o.Spec, when set, narrows further.
func (s *Store) SearchAuditLog(ctx context.Context, statements []Statement, o AuditListOptions) ([]AuditEntry, error) {
	return s.listAudit(ctx, o, func() (func([]Access) bool, error) { return statementMatcher(statements) })
}

// AuditCounts is how many audit entries fall in each of a run of equal time
// buckets (LaunchDarkly's CountBucketsResult).
type AuditCounts struct {
	Buckets          []AuditCountBucket `json:"buckets"`
	TotalCount       int64              `json:"totalCount"`
	BucketIntervalMs int64              `json:"bucketIntervalMs"`
}

// AuditCountBucket is one bucket: entries dated from Timestamp (Unix ms,
// inclusive) for one interval.
type AuditCountBucket struct {
	Timestamp int64 `json:"timestamp"`
	Count     int64 `json:"count"`
}

// CountAuditLog counts the audit entries dated strictly after after and
// strictly before before that the context's principal may view and that
// the statements match (as in [Store.SearchAuditLog]), in buckets equal
// slices of that span (1 to 500; 0 means 50).
func (s *Store) CountAuditLog(ctx context.Context, statements []Statement, after, before int64, buckets int) (AuditCounts, error) {
	switch {
	case buckets == 0:
		buckets = 50
	case buckets < 1 || buckets > 500:
		return AuditCounts{}, invalidf("buckets", "buckets must be between 1 and 500")
	}
	if after < 0 || before < 0 {
		return AuditCounts{}, invalidf("after", "before and after must not be negative")
	}
	if before <= after {
		return AuditCounts{}, invalidf("before", "before must be later than after")
	}
	allowed, err := statementMatcher(statements)
	if err != nil {
		return AuditCounts{}, err
	}
	interval := (before - after + int64(buckets) - 1) / int64(buckets)
	out := AuditCounts{Buckets: make([]AuditCountBucket, buckets), BucketIntervalMs: interval}
	for i := range out.Buckets {
		out.Buckets[i].Timestamp = after + int64(i)*interval
	}
	err = s.scanAudit(ctx, before, after, func(e *AuditEntry) bool {
		if allowed(e.Accesses) {
			i := min(int((e.Date-after)/interval), buckets-1)
			out.Buckets[i].Count++
			out.TotalCount++
		}
		return true
	})
	return out, err
}

// statementMatcher returns a filter over an entry's accesses: true when the
// statements, as one policy, allow one of them (always true for none). A
// flag-wide access, recorded for every environment ("env/*"), is tried
// with each environment the statements name.
func statementMatcher(statements []Statement) (func([]Access) bool, error) {
	if len(statements) == 0 {
		return func([]Access) bool { return true }, nil
	}
	if err := validStatements("statements", statements); err != nil {
		return nil, err
	}
	pol, err := resource.Compile(internalStatements(statements), nil)
	if err != nil {
		return nil, invalidf("statements", "invalid statements: %v", err)
	}
	var specs []resource.Spec
	for _, st := range statements {
		for _, str := range append(append([]string(nil), st.Resources...), st.NotResources...) {
			if sp, err := resource.Parse(str); err == nil {
				specs = append(specs, sp)
			}
		}
	}
	return func(accesses []Access) bool {
		for _, a := range accesses {
			if !strings.Contains(a.Resource, "/*") {
				if r, ok := accessResource(a.Resource, resource.Spec{}); ok && pol.Evaluate(a.Action, r).Allowed {
					return true
				}
				continue
			}
			for _, sp := range specs {
				if r, ok := accessResource(a.Resource, sp); ok && pol.Evaluate(a.Action, r).Allowed {
					return true
				}
			}
		}
		return false
	}, nil
}
