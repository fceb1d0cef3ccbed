package flagstore

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// writableFields lists the JSON names of a struct's fields that a write may
// change: everything but computed ("_") fields and the read-only ones given.
func writableFields(t reflect.Type, readOnly ...string) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" || strings.HasPrefix(name, "_") || slices.Contains(readOnly, name) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func tableFields[T any](table []fieldAction[T]) []string {
	var out []string
	for _, fa := range table {
		out = append(out, fa.field)
	}
	return out
}

// Every writable field of every resource has an action, so no change goes
// unaudited or unchecked.
func TestActions_TablesCoverEveryWritableField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		typ      reflect.Type
		table    []string
		readOnly []string
	}{
		{"flag", reflect.TypeFor[Flag](), tableFields(flagFieldActions),
			[]string{"key", "kind", "archivedDate", "deprecatedDate", "creationDate", "experiments", "goalIds", "environments"}},
		{"flag config", reflect.TypeFor[FlagConfig](), tableFields(flagConfigFieldActions),
			[]string{"archived", "lastModified", "version"}},
		{"segment", reflect.TypeFor[Segment](), tableFields(segmentFieldActions),
			[]string{"key", "creationDate", "lastModifiedDate", "version", "deleted", "unbounded", "unboundedContextKind", "generation"}},
		{"project", reflect.TypeFor[Project](), tableFields(projectFieldActions),
			[]string{"key", "creationDate", "environments"}},
		{"environment", reflect.TypeFor[Environment](), tableFields(environmentFieldActions),
			[]string{"key", "creationDate", "version"}},
		{"metric", reflect.TypeFor[Metric](), tableFields(metricFieldActions),
			[]string{"key", "kind", "lastModified"}},
		{"custom role", reflect.TypeFor[CustomRole](), tableFields(roleFieldActions),
			[]string{"key", "resourceCategory", "assignedTo"}},
		{"member", reflect.TypeFor[Member](), tableFields(memberFieldActions),
			[]string{"email", "firstName", "lastName", "teams", "permissionGrants", "mfa", "creationDate"}},
		{"team", reflect.TypeFor[Team](), tableFields(teamFieldActions),
			[]string{"key"}},
		{"token", reflect.TypeFor[Token](), tableFields(tokenFieldActions),
			[]string{"ownerId", "memberId", "creationDate", "lastModified", "token", "serviceToken", "lastUsed"}},
	}
	for _, c := range cases {
		for _, f := range writableFields(c.typ, c.readOnly...) {
			if !slices.Contains(c.table, f) {
				t.Errorf("%s field %q has no action", c.name, f)
			}
		}
		for _, f := range c.table {
			if !slices.Contains(writableFields(c.typ), f) {
				t.Errorf("%s table names %q, which is not a field", c.name, f)
			}
		}
	}
}

func TestActions_Changed(t *testing.T) {
	t.Parallel()
	before := Flag{Name: "a", Tags: []string{"x"}, MaintainerID: "m"}
	after := before
	after.Name, after.Tags, after.MaintainerID, after.MaintainerTeamKey = "b", []string{"y"}, "", "team"
	got := changedActions(flagFieldActions, &before, &after)
	want := []string{"updateName", "updateTags", "updateMaintainer"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if got := changedActions(flagFieldActions, &before, &before); len(got) != 0 {
		t.Fatalf("no change gave %v", got)
	}
}

func TestActions_FlagPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, action, env string
		ok                bool
	}{
		{"/name", "updateName", "", true},
		{"/variations/0/value", "updateFlagVariations", "", true},
		{"/environments/production/on", "updateOn", "production", true},
		{"/environments/test/rules/0/clauses/1/values/-", "updateRules", "test", true},
		{"/environments/test/contextTargets/-", "updateTargets", "test", true},
		{"/environments/test", "", "", false},
		{"/bogus", "", "", false},
	}
	for _, tt := range tests {
		a, env, ok := flagPathAction(tt.path)
		if a != tt.action || env != tt.env || ok != tt.ok {
			t.Errorf("%s: got %q %q %v", tt.path, a, env, ok)
		}
	}
}
