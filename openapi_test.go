package flagstore

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// The served document is valid OpenAPI 3.0 and describes exactly the routes
// the handler serves: every route has its operation, with its
// operationId, and the document has no operation the handler lacks.
func TestOpenAPI_DocumentMatchesRouter(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	resp, body := e.do(htReq{Method: http.MethodGet, Path: "/api/v2/openapi.json", Auth: "-"})
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(t.Context(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("the served document is not valid OpenAPI: %v", err)
	}

	served := map[string]string{} // "GET /api/v2/x" → operationId
	for _, rt := range (&api{s: e.st}).allRoutes() {
		served[rt.method+" "+apiPrefix+rt.path] = rt.operationID
	}
	documented := map[string]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			documented[method+" "+path] = op.OperationID
		}
	}
	for k, op := range served {
		if got, ok := documented[k]; !ok {
			t.Errorf("served route %s (%s) is not in the document", k, op)
		} else if got != op {
			t.Errorf("%s: document says operationId %s, router %s", k, got, op)
		}
	}
	for k, op := range documented {
		if _, ok := served[k]; !ok {
			t.Errorf("the document has %s (%s), which the handler does not serve", k, op)
		}
	}
	if len(served) < 30 {
		t.Fatalf("only %d routes served?", len(served))
	}
	// Every schema the document names is in it.
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	for _, ref := range componentRefs(body) {
		kind, name, _ := strings.Cut(ref, "/")
		comps, _ := raw["components"].(map[string]any)
		group, _ := comps[kind].(map[string]any)
		if _, ok := group[name]; !ok {
			t.Errorf("the document references %s but does not define it", ref)
		}
	}
}
