package flagstore

import (
	"bytes"
	"encoding/csv"
	"io"
	"mime"
	"net/http"
	"strings"
)

// memberBulkRoutes are the bulk member and team edits: PATCH /members
// (patchMembers), the beta PATCH /teams (patchTeams) and the CSV import
// POST /teams/{teamKey}/members (postTeamMembers).
func (a *api) memberBulkRoutes() []*route {
	return []*route{
		{method: http.MethodPatch, path: "/members", operationID: "patchMembers", handle: a.patchMembers},
		{method: http.MethodPatch, path: "/teams", operationID: "patchTeams", beta: true, handle: a.patchTeams},
		{method: http.MethodPost, path: "/teams/{teamKey}/members", operationID: "postTeamMembers", multipart: true, handle: a.postTeamMembers},
	}
}

// patchMembers updates members in bulk with semantic patch.
func (a *api) patchMembers(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if patch.Kind != SemanticPatch {
		return invalidf("", "members are updated in bulk with semantic patch, not %s", patch.Kind)
	}
	res, err := a.s.PatchMembers(r.Context(), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// patchTeams adds members to teams in bulk with semantic patch.
func (a *api) patchTeams(w http.ResponseWriter, r *http.Request) error {
	patch, err := parsePatchRequest(r)
	if err != nil {
		return err
	}
	if patch.Kind != SemanticPatch {
		return invalidf("", "teams are updated in bulk with semantic patch, not %s", patch.Kind)
	}
	res, err := a.s.PatchTeams(r.Context(), patch)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// multipartBody is jsonBody for a route that takes multipart/form-data: a
// body larger than max is 413, a body of any other media type is 415.
func multipartBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bufferBody(w, r, max)
		if !ok {
			return
		}
		if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); len(bytes.TrimSpace(body)) > 0 && (err != nil || mt != "multipart/form-data") {
			writeError(w, newError(ErrUnsupportedMediaType, "the request body must be multipart/form-data"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// teamImportsRep is LaunchDarkly's TeamImportsRep.
type teamImportsRep struct {
	Items []MemberImportItem `json:"items"`
}

// postTeamMembers adds members to a team from a CSV file of email
// addresses (the form field "file"; the first column of each row, a header
// row "email" skipped): 201 when every row was imported, 207 with the
// failing rows (and nothing added) otherwise.
func (a *api) postTeamMembers(w http.ResponseWriter, r *http.Request) error {
	if _, err := a.s.GetTeam(r.Context(), r.PathValue("teamKey")); err != nil {
		return err
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		return invalidf("file", "the request body is not a valid multipart form: %v", err)
	}
	defer func() { _ = r.MultipartForm.RemoveAll() }()
	f, _, err := r.FormFile("file")
	if err != nil {
		return invalidf("file", "a CSV file in the form field file is required")
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var rows []MemberImportRow
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return invalidf("file", "the file is not valid CSV: %v", err)
		}
		line, _ := cr.FieldPos(0)
		email := strings.TrimSpace(rec[0])
		if email == "" && len(rec) == 1 {
			continue
		}
		if len(rows) == 0 && strings.EqualFold(email, "email") {
			continue // a header row
		}
		rows = append(rows, MemberImportRow{Line: line, Email: email})
	}
	items, imported, err := a.s.ImportTeamMembers(r.Context(), r.PathValue("teamKey"), rows)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if !imported {
		status = http.StatusMultiStatus
	}
	return writeJSON(w, status, teamImportsRep{Items: items})
}
