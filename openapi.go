package flagstore

import (
	_ "embed"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
)

// ldSpecSubset is the core families of LaunchDarkly's published OpenAPI
// document, cut by ldspec/subset.py: the operations' parameters and
// responses and the schemas they name, descriptions left out.
//
//go:embed ldspec/ld-openapi-subset.json
var ldSpecSubset []byte

// openAPIDoc builds the document the handler serves at
// /api/v2/openapi.json: an OpenAPI 3.0 document of exactly the routes this
// handler serves, each described by LaunchDarkly's operation of the same
// operationId (its path, parameters, request body and responses, with
// LaunchDarkly's schema names), and the schemas those reference.
func (a *api) openAPIDoc() ([]byte, error) {
	var ld struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components map[string]map[string]json.RawMessage `json:"components"`
	}
	if err := json.Unmarshal(ldSpecSubset, &ld); err != nil {
		return nil, err
	}
	byOp := map[string]json.RawMessage{}
	for _, item := range ld.Paths {
		for method, op := range item {
			var head struct {
				OperationID string `json:"operationId"`
			}
			if json.Unmarshal(op, &head) == nil && head.OperationID != "" && method != "parameters" {
				byOp[head.OperationID] = op
			}
		}
	}
	paths := map[string]map[string]json.RawMessage{}
	for _, rt := range a.allRoutes() {
		op, ok := byOp[rt.operationID]
		if !ok {
			// A route of ours LaunchDarkly's document lacks: describe it
			// minimally rather than leave it out.
			op, _ = json.Marshal(map[string]any{
				"operationId": rt.operationID,
				"responses":   map[string]any{"200": map[string]any{"description": "-"}},
			})
		}
		p := apiPrefix + rt.path
		if paths[p] == nil {
			paths[p] = map[string]json.RawMessage{}
		}
		paths[p][strings.ToLower(rt.method)] = op
	}
	// Keep the schemas the served operations reference, transitively.
	need := map[string]bool{}
	var walk func(raw json.RawMessage)
	walk = func(raw json.RawMessage) {
		for _, ref := range componentRefs(raw) {
			if need[ref] {
				continue
			}
			need[ref] = true
			kind, name, _ := strings.Cut(ref, "/")
			if def, ok := ld.Components[kind][name]; ok {
				walk(def)
			}
		}
	}
	for _, item := range paths {
		for _, op := range item {
			walk(op)
		}
	}
	components := map[string]map[string]json.RawMessage{}
	refs := make([]string, 0, len(need))
	for r := range need {
		refs = append(refs, r)
	}
	sort.Strings(refs)
	for _, r := range refs {
		kind, name, _ := strings.Cut(r, "/")
		if def, ok := ld.Components[kind][name]; ok {
			if components[kind] == nil {
				components[kind] = map[string]json.RawMessage{}
			}
			components[kind][name] = def
		}
	}
	if ss, ok := ld.Components["securitySchemes"]; ok {
		components["securitySchemes"] = ss
	}
	return json.Marshal(map[string]any{
		"openapi": ld.OpenAPI,
		"info": map[string]any{
			"title":   "flagstore REST API (compatible with LaunchDarkly's REST API v2)",
			"version": "2.0",
		},
		"servers":    []map[string]string{{"url": "/"}},
		"paths":      paths,
		"components": components,
		"security":   []map[string][]string{{"ApiKey": {}}},
	})
}

// componentRefs lists the "kind/name" of every #/components/... reference in
// a JSON value.
func componentRefs(raw json.RawMessage) []string {
	var out []string
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var visit func(any)
	visit = func(x any) {
		switch t := x.(type) {
		case map[string]any:
			if r, ok := t["$ref"].(string); ok {
				if rest, ok := strings.CutPrefix(r, "#/components/"); ok {
					out = append(out, rest)
				}
			}
			for _, e := range t {
				visit(e)
			}
		case []any:
			for _, e := range t {
				visit(e)
			}
		}
	}
	visit(v)
	return out
}

// openAPIRoutes serves the document, without authentication, as
// LaunchDarkly does.
func (a *api) openAPIRoutes() []*route {
	var once sync.Once
	var doc []byte
	var docErr error
	return []*route{{method: http.MethodGet, path: "/openapi.json", operationID: "getOpenapiSpec", public: true,
		handle: func(w http.ResponseWriter, r *http.Request) error {
			once.Do(func() { doc, docErr = a.openAPIDoc() })
			if docErr != nil {
				return newError(ErrInternal, "openapi document: %v", docErr)
			}
			h := w.Header()
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(doc)
			return nil
		}}}
}
