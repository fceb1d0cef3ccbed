package flagstore

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

var updateReadme = flag.Bool("update-readme", false, "rewrite the README's route list from the router")

const (
	routesBegin = "<!-- routes:begin (generated: go test -run TestREADME_ListsEveryRoute -update-readme) -->"
	routesEnd   = "<!-- routes:end -->"
)

// renderRoutes is the README's table of served routes, in path order.
func renderRoutes(routes []*route) string {
	sorted := append([]*route(nil), routes...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].path != sorted[j].path {
			return sorted[i].path < sorted[j].path
		}
		return sorted[i].method < sorted[j].method
	})
	var b strings.Builder
	b.WriteString("| method | path | operationId | notes |\n| --- | --- | --- | --- |\n")
	for _, rt := range sorted {
		var notes []string
		if rt.public {
			notes = append(notes, "no authentication")
		}
		if rt.beta {
			notes = append(notes, "beta")
		}
		fmt.Fprintf(&b, "| %s | `%s%s` | %s | %s |\n", rt.method, apiPrefix, rt.path, rt.operationID, strings.Join(notes, ", "))
	}
	return b.String()
}

// The README lists exactly the routes the handler serves.
func TestREADME_ListsEveryRoute(t *testing.T) {
	st, err := Open(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := renderRoutes((&api{s: st}).allRoutes())
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, routesBegin), strings.Index(readme, routesEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no route list between %q and %q", routesBegin, routesEnd)
	}
	got := readme[i+len(routesBegin)+1 : j]
	if got == want {
		return
	}
	if *updateReadme {
		readme = readme[:i+len(routesBegin)+1] + want + readme[j:]
		if err := os.WriteFile("README.md", []byte(readme), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Errorf("README.md's route list differs from the router; run: go test -run TestREADME_ListsEveryRoute -update-readme\nwant:\n%s", want)
}
