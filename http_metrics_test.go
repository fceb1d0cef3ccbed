package flagstore

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// mxMetric creates a custom metric in shop and returns its key.
func mxMetric(t *testing.T, f *mxFixture) string {
	t.Helper()
	k := f.key("mxm")
	if _, err := f.e.st.CreateMetric(t.Context(), "shop", MetricPost{Key: k, Kind: "custom", EventKey: "ev"}); err != nil {
		t.Fatal(err)
	}
	return k
}

func init() {
	mxBuilders["getMetrics"] = mxGet("/api/v2/metrics/shop", mxView("shop"))
	mxBuilders["postMetric"] = func(t *testing.T, f *mxFixture) mxCase {
		k := f.key("mxnm")
		return mxCase{req: htReq{Method: http.MethodPost, Path: "/api/v2/metrics/shop",
			Body: map[string]any{"key": k, "name": k, "kind": "custom", "eventKey": "ev"}},
			grants: []mxGrant{{"createMetric", metricRes("shop", k)}}}
	}
	mxBuilders["getMetric"] = func(t *testing.T, f *mxFixture) mxCase {
		k := mxMetric(t, f)
		return mxCase{req: htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop/" + k}, grants: []mxGrant{mxView("shop")}}
	}
	mxBuilders["patchMetric"] = func(t *testing.T, f *mxFixture) mxCase {
		k := mxMetric(t, f)
		return mxCase{req: htReq{Method: http.MethodPatch, Path: "/api/v2/metrics/shop/" + k, Body: mxJSONPatch("/name", "Renamed")},
			grants: []mxGrant{{"updateName", metricRes("shop", k)}}}
	}
	mxBuilders["deleteMetric"] = func(t *testing.T, f *mxFixture) mxCase {
		k := mxMetric(t, f)
		return mxCase{req: htReq{Method: http.MethodDelete, Path: "/api/v2/metrics/shop/" + k},
			grants: []mxGrant{{"deleteMetric", metricRes("shop", k)}}}
	}
	mxDefaultKeys["metricKey"] = "mx-metric"
	mxConflicts["postMetric"] = func(t *testing.T, f *mxFixture) htReq {
		k := mxMetric(t, f)
		return htReq{Method: http.MethodPost, Path: "/api/v2/metrics/shop", Body: map[string]any{"key": k, "kind": "custom", "eventKey": "ev"}}
	}
	mxConflicts["patchMetric"] = func(t *testing.T, f *mxFixture) htReq {
		k := mxMetric(t, f)
		return htReq{Method: http.MethodPatch, Path: "/api/v2/metrics/shop/" + k, Body: []map[string]any{
			{"op": "test", "path": "/_version", "value": 99},
			{"op": "replace", "path": "/tags", "value": []string{"stale"}},
		}}
	}
}

func TestHTTP_MetricsLifecycle(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var created map[string]any
	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/metrics/shop", Body: map[string]any{
		"key": "clicks", "name": "Clicks", "kind": "click", "selector": ".buy",
		"urls": []map[string]any{{"kind": "exact", "url": "https://example.com/"}}, "tags": []string{"web"},
	}}, http.StatusCreated, &created)
	for _, f := range []string{"_id", "_versionId", "_version", "_creationDate", "_links", "_site", "dataSource", "lastModified", "tags", "randomizationUnits"} {
		if _, ok := created[f]; !ok {
			t.Errorf("created metric has no %s: %v", f, created)
		}
	}
	if created["key"] != "clicks" || created["kind"] != "click" || created["selector"] != ".buy" {
		t.Fatalf("created %v", created)
	}
	links := created["_links"].(map[string]any)
	if self := links["self"].(map[string]any)["href"]; self != "/api/v2/metrics/shop/clicks" {
		t.Fatalf("self link %v", self)
	}
	lm := created["lastModified"].(map[string]any)
	if d, _ := lm["date"].(string); !strings.Contains(d, "T") {
		t.Fatalf("lastModified %v", lm)
	}

	e.json(htReq{Method: http.MethodPost, Path: "/api/v2/metrics/shop", Body: map[string]any{
		"key": "orders", "name": "Orders", "kind": "custom", "eventKey": "order", "isNumeric": true,
		"successCriteria": "HigherThanBaseline", "unit": "orders",
	}}, http.StatusCreated, nil)

	var list struct {
		Items      []metricRep `json:"items"`
		TotalCount int         `json:"totalCount"`
		Links      Links       `json:"_links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop?sort=-name"}, http.StatusOK, &list)
	if list.TotalCount != 2 || len(list.Items) != 2 || list.Items[0].Key != "orders" || list.Links["self"].Href == "" {
		t.Fatalf("list %+v", list)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop?filter=tags:web"}, http.StatusOK, &list)
	if list.TotalCount != 1 || list.Items[0].Key != "clicks" {
		t.Fatalf("tag filter %+v", list)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop?filter=query:ORD&limit=1&sort=createdAt"}, http.StatusOK, &list)
	if list.TotalCount != 1 || list.Items[0].Key != "orders" {
		t.Fatalf("query filter %+v", list)
	}

	var patched metricRep
	e.json(htReq{Method: http.MethodPatch, Path: "/api/v2/metrics/shop/clicks", Body: []map[string]any{
		{"op": "test", "path": "/_version", "value": 1},
		{"op": "replace", "path": "/name", "value": "Buy clicks"},
	}}, http.StatusOK, &patched)
	if patched.Name != "Buy clicks" || patched.Version != 2 || patched.VersionID == created["_versionId"] {
		t.Fatalf("patched %+v", patched)
	}
	var got metricRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop/clicks?versionId=" + patched.VersionID}, http.StatusOK, &got)
	if got.Name != "Buy clicks" {
		t.Fatalf("got %+v", got)
	}
	e.json(htReq{Method: http.MethodDelete, Path: "/api/v2/metrics/shop/clicks"}, http.StatusNoContent, nil)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop/clicks"}, http.StatusNotFound, CodeNotFound)
}

func TestHTTP_MetricsErrors(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	f := newMxFixture(t, e)
	post := func(body any) htReq { return htReq{Method: http.MethodPost, Path: "/api/v2/metrics/shop", Body: body} }
	e.json(post(map[string]any{"key": "m", "kind": "custom", "eventKey": "ev"}), http.StatusCreated, nil)

	// 400s: invalid bodies and parameters.
	for _, body := range []any{
		`{"key":`,
		map[string]any{"key": "x", "kind": "custom"},                  // no eventKey
		map[string]any{"key": "x", "kind": "pageview"},                // no urls
		map[string]any{"key": "x", "kind": "bogus", "eventKey": "ev"}, // bad kind
		map[string]any{"key": "bad key", "kind": "custom", "eventKey": "ev"},
	} {
		e.errorBody(post(body), http.StatusBadRequest, CodeInvalidRequest)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop?limit=51"}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop?sort=key"}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/metrics/shop/m", Body: mxJSONPatch("/kind", "click")}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodPatch, Path: "/api/v2/metrics/shop/m", ContentType: "application/merge-patch+json",
		Body: map[string]any{"name": "merged"}}, http.StatusBadRequest, CodeInvalidRequest)

	// 401, 403, 404, 409, 415.
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	reader := post(map[string]any{"key": "r", "kind": "custom", "eventKey": "ev"})
	reader.Auth = f.reader
	e.errorBody(reader, http.StatusForbidden, CodeForbidden)
	e.errorBody(htReq{Method: http.MethodDelete, Path: "/api/v2/metrics/shop/m", Auth: f.reader}, http.StatusForbidden, CodeForbidden)
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop/m", Auth: f.reader}, http.StatusOK, nil)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/nope"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop/nope"}, http.StatusNotFound, CodeNotFound)
	e.errorBody(post(map[string]any{"key": "m", "kind": "custom", "eventKey": "ev"}), http.StatusConflict, CodeConflict)
	e.errorBody(htReq{Method: http.MethodPost, Path: "/api/v2/metrics/shop", ContentType: "text/plain",
		Body: `{"key":"t","kind":"custom","eventKey":"ev"}`}, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)

	// Nothing above changed the metric.
	var got metricRep
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/metrics/shop/m"}, http.StatusOK, &got)
	if got.Version != 1 || got.Kind != "custom" {
		t.Fatalf("metric changed: %+v", got)
	}
	b, _ := json.Marshal(got)
	if !strings.Contains(string(b), `"dataSource":{"key":"launchdarkly"`) {
		t.Fatalf("rep %s", b)
	}
}
