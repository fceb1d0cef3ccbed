package flagstoretest_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/flagstore/flagstore"
	"github.com/flagstore/flagstore/flagstoretest"
)

func TestNew(t *testing.T) {
	t.Parallel()
	srv := flagstoretest.New(t)
	if len(srv.Project.Environments) != 2 {
		t.Fatalf("seeded environments: %+v", srv.Project.Environments)
	}
	if k := srv.Environment(t, "production").APIKey; !strings.HasPrefix(k, "sdk-") {
		t.Fatalf("SDK key %q", k)
	}
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v2/versions", nil)
	req.Header.Set("Authorization", srv.Token)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		LatestVersion int `json:"latestVersion"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&v) != nil || v.LatestVersion == 0 {
		t.Fatalf("versions: status %d, %+v", resp.StatusCode, v)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/api/v2/versions", nil)
	resp, err = srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without a token: status %d", resp.StatusCode)
	}
}

func TestWithProject(t *testing.T) {
	t.Parallel()
	srv := flagstoretest.New(t, flagstoretest.WithProject(flagstore.ProjectPost{Key: "mine", Name: "Mine",
		Environments: []flagstore.EnvironmentPost{{Key: "dev", Name: "Dev", Color: "00FF00"}}}))
	if srv.Project.Key != "mine" || srv.Environment(t, "dev").Key != "dev" {
		t.Fatalf("project %+v", srv.Project)
	}
	if _, err := srv.Store.GetProject(t.Context(), "mine"); err != nil {
		t.Fatal(err)
	}
}
