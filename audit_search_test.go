package flagstore

import (
	"testing"
)

func TestSearchAuditLog_Statements(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "p1")
	tstMustFlag(t, st, "p1", "f1")
	// notResources: everything but projects.
	got, err := st.SearchAuditLog(ctx, []Statement{{Effect: "allow", Actions: []string{"*"}, NotResources: []string{"proj/*"}}}, AuditListOptions{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range got {
		if e.Kind == "project" {
			t.Fatalf("project entry matched notResources proj/*: %+v", e)
		}
	}
	if len(got) == 0 {
		t.Fatal("no entry matched")
	}
	// notActions: every action but createFlag, on flags.
	got, err = st.SearchAuditLog(ctx, []Statement{{Effect: "allow", NotActions: []string{"createFlag"}, Resources: []string{"proj/*:env/*:flag/*"}}}, AuditListOptions{})
	if err != nil || len(got) != 0 {
		t.Fatalf("notActions createFlag: %v %v", got, err)
	}
	for _, bad := range []struct {
		sts []Statement
		o   AuditListOptions
	}{
		{[]Statement{{Effect: "allow"}}, AuditListOptions{}},
		{nil, AuditListOptions{Limit: 21}},
		{nil, AuditListOptions{Before: -1}},
		{nil, AuditListOptions{Spec: "proj/a:b:c/"}},
	} {
		if _, err := st.SearchAuditLog(ctx, bad.sts, bad.o); !invalidRequest(err) {
			t.Errorf("SearchAuditLog(%+v, %+v): %v, want invalid_request", bad.sts, bad.o, err)
		}
	}
}

func TestCountAuditLog(t *testing.T) {
	t.Parallel()
	st, _ := tstStore(t)
	ctx := t.Context()
	tstMustProject(t, st, "p1")
	now := st.nowMillis()
	c, err := st.CountAuditLog(ctx, nil, 0, now+1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Buckets) != 50 || c.TotalCount == 0 || c.BucketIntervalMs*50 < now+1 {
		t.Fatalf("counts: %d buckets, total %d, interval %d", len(c.Buckets), c.TotalCount, c.BucketIntervalMs)
	}
	// The newest entry falls in the last non-empty bucket, within range.
	var sum int64
	for _, b := range c.Buckets {
		sum += b.Count
	}
	if sum != c.TotalCount {
		t.Fatalf("bucket sum %d, total %d", sum, c.TotalCount)
	}
	for _, bad := range [][3]int64{{10, 5, 1}, {0, 10, 501}, {0, 10, -1}, {-1, 10, 1}} {
		if _, err := st.CountAuditLog(ctx, nil, bad[0], bad[1], int(bad[2])); !invalidRequest(err) {
			t.Errorf("CountAuditLog(%v): %v, want invalid_request", bad, err)
		}
	}
}

// invalidRequest reports whether err is a 400 invalid_request.
func invalidRequest(err error) bool {
	e := AsError(err)
	return e != nil && e.Code == CodeInvalidRequest
}
