package flagstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

// jsonBody enforces LaunchDarkly's body rules on requests that carry one:
// a body of a POST, PUT, PATCH or REPORT must be JSON (application/json,
// with parameters such as the semantic-patch one, or a +json type), else
// 415; a body larger than max is 413. A request without a body may carry
// any Content-Type, as LaunchDarkly's own clients send resets that way.
func jsonBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, "REPORT":
		default:
			next.ServeHTTP(w, r)
			return
		}
		body, ok := bufferBody(w, r, max)
		if !ok {
			return
		}
		if len(bytes.TrimSpace(body)) > 0 && !isJSONMediaType(r.Header.Get("Content-Type")) {
			writeError(w, newError(ErrUnsupportedMediaType, "request bodies must be application/json"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bufferBody reads a request body of at most max bytes into memory and puts
// it back as the request's body, so handlers can read it again. A larger
// body is answered with 413, an unreadable one with 400, and ok is false.
func bufferBody(w http.ResponseWriter, r *http.Request, max int64) (body []byte, ok bool) {
	body, err := limitedBody(w, r, max)
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, true
}

// limitedBody reads a request body of at most max bytes: a larger one is
// 413, an unreadable one 400.
func limitedBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, error) {
	if r.ContentLength > max {
		return nil, newError(ErrTooLarge, "the request body exceeds %d bytes", max)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, newError(ErrTooLarge, "the request body exceeds %d bytes", max)
	case err != nil:
		return nil, invalidf("", "cannot read the request body: %v", err)
	}
	return body, nil
}

// isJSONMediaType accepts application/json and the +json types
// (application/merge-patch+json, application/json-patch+json).
func isJSONMediaType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")
}

// readBody returns the request body jsonBody has read.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	return io.ReadAll(r.Body)
}

// decodeBody decodes a JSON request body into v; an empty or malformed
// body is a 400.
func decodeBody(r *http.Request, v any) error {
	body, err := readBody(r)
	if err != nil {
		return invalidf("", "cannot read the request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return invalidf("", "the request body is empty")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return invalidf("", "Invalid request body: %v", err)
	}
	return nil
}
