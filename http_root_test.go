package flagstore

import (
	"net/http"
	"testing"
)

func TestHTTP_RootAndVersions(t *testing.T) {
	t.Parallel()
	e := htServer(t)
	var root struct {
		Links map[string]Link `json:"links"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-"}, http.StatusOK, &root)
	if root.Links["projects"].Href != "/api/v2/projects" {
		t.Fatalf("root links %+v", root.Links)
	}
	var v struct {
		ValidVersions  []int `json:"validVersions"`
		LatestVersion  int   `json:"latestVersion"`
		CurrentVersion int   `json:"currentVersion"`
		Beta           bool  `json:"beta"`
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, http.StatusOK, &v)
	if v.LatestVersion != LatestAPIVersion || v.CurrentVersion != LatestAPIVersion || v.Beta || len(v.ValidVersions) != 5 {
		t.Fatalf("versions %+v", v)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{APIVersionHeader: {"20220603"}}}, http.StatusOK, &v)
	if v.CurrentVersion != 20220603 {
		t.Fatalf("pinned version %+v", v)
	}
	e.json(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{APIVersionHeader: {"beta"}}}, http.StatusOK, &v)
	if !v.Beta {
		t.Fatalf("beta %+v", v)
	}
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{APIVersionHeader: {"20200101"}}}, http.StatusBadRequest, CodeInvalidRequest)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "-"}, http.StatusUnauthorized, CodeUnauthorized)
	e.errorBody(htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: "api-wrong"}, http.StatusUnauthorized, CodeUnauthorized)
}
