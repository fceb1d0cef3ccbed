package flagstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/uuid"
)

// Sentinel errors. Every error the store returns is an [*Error] that wraps one
// of these, so callers can test the class with errors.Is and read the details
// with errors.As.
var (
	// ErrInvalid is returned when input is malformed or breaks a rule of the
	// data model (HTTP 400, code invalid_request).
	ErrInvalid = errors.New("invalid request")
	// ErrUnauthorized is returned when credentials are missing or unknown
	// (HTTP 401, code unauthorized).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden is returned when a principal's policy denies an action
	// (HTTP 403, code forbidden).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound is returned when a key or id names nothing (HTTP 404, code
	// not_found).
	ErrNotFound = errors.New("not found")
	// ErrMethodNotAllowed is returned for a verb a route does not serve (HTTP
	// 405, code method_not_allowed).
	ErrMethodNotAllowed = errors.New("method not allowed")
	// ErrAlreadyExists is returned when a create names a key that is taken
	// (HTTP 409, code conflict).
	ErrAlreadyExists = errors.New("already exists")
	// ErrConflict is returned when a write lost a race with another write, a
	// version test failed, or a resource is still in use (HTTP 409, code
	// optimistic_locking_error or conflict).
	ErrConflict = errors.New("conflict")
	// ErrTooLarge is returned when a request body exceeds the limit (HTTP 413,
	// code request_entity_too_large).
	ErrTooLarge = errors.New("request entity too large")
	// ErrUnsupportedMediaType is returned when a request body is not JSON
	// (HTTP 415, code unsupported_media_type).
	ErrUnsupportedMediaType = errors.New("unsupported media type")
	// ErrPatchFailed is returned when a well-formed patch cannot be applied
	// (HTTP 422, code patch_failed).
	ErrPatchFailed = errors.New("patch failed")
	// ErrRateLimited is returned when a caller exceeded its rate limit (HTTP
	// 429, code rate_limited).
	ErrRateLimited = errors.New("rate limited")
	// ErrUnavailable is returned while the store is closed or not ready
	// (HTTP 503, code service_unavailable).
	ErrUnavailable = errors.New("service unavailable")
	// ErrInternal is returned for a failure that is the store's own fault
	// (HTTP 500, code internal_error).
	ErrInternal = errors.New("internal error")
)

// LaunchDarkly's error codes, plus our own for 413, 500 and in-use conflicts
// where LaunchDarkly documents none.
const (
	CodeInvalidRequest        = "invalid_request"
	CodeUnauthorized          = "unauthorized"
	CodeForbidden             = "forbidden"
	CodeNotFound              = "not_found"
	CodeMethodNotAllowed      = "method_not_allowed"
	CodeConflict              = "conflict"
	CodeOptimisticLocking     = "optimistic_locking_error"
	CodeRequestEntityTooLarge = "request_entity_too_large"
	CodeUnsupportedMediaType  = "unsupported_media_type"
	CodePatchFailed           = "patch_failed"
	CodeRateLimited           = "rate_limited"
	CodeServiceUnavailable    = "service_unavailable"
	CodeInternalError         = "internal_error"
)

// sentinelInfo maps each sentinel to its HTTP status and default LD code.
var sentinelInfo = map[error]struct {
	status int
	code   string
}{
	ErrInvalid:              {http.StatusBadRequest, CodeInvalidRequest},
	ErrUnauthorized:         {http.StatusUnauthorized, CodeUnauthorized},
	ErrForbidden:            {http.StatusForbidden, CodeForbidden},
	ErrNotFound:             {http.StatusNotFound, CodeNotFound},
	ErrMethodNotAllowed:     {http.StatusMethodNotAllowed, CodeMethodNotAllowed},
	ErrAlreadyExists:        {http.StatusConflict, CodeConflict},
	ErrConflict:             {http.StatusConflict, CodeOptimisticLocking},
	ErrTooLarge:             {http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge},
	ErrUnsupportedMediaType: {http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
	ErrPatchFailed:          {http.StatusUnprocessableEntity, CodePatchFailed},
	ErrRateLimited:          {http.StatusTooManyRequests, CodeRateLimited},
	ErrUnavailable:          {http.StatusServiceUnavailable, CodeServiceUnavailable},
	ErrInternal:             {http.StatusInternalServerError, CodeInternalError},
}

// sentinelOrder fixes which class wins when an error wraps several.
var sentinelOrder = []error{
	ErrInvalid, ErrUnauthorized, ErrForbidden, ErrNotFound, ErrMethodNotAllowed,
	ErrAlreadyExists, ErrConflict, ErrTooLarge, ErrUnsupportedMediaType, ErrPatchFailed, ErrRateLimited,
	ErrUnavailable, ErrInternal,
}

// FieldError names one invalid field of a request, as in LaunchDarkly's
// validation error body.
type FieldError struct {
	Attribute string `json:"attribute"`
	Reason    string `json:"reason"`
}

// Error is the one error type of flagstore. It carries what LaunchDarkly's
// error body carries, and wraps a sentinel for errors.Is.
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"-"`
	// Code is LaunchDarkly's machine-readable error class.
	Code string `json:"code"`
	// Message is human-readable.
	Message string `json:"message"`
	// ID is a UUID unique to this failure, for tracing it in logs.
	ID string `json:"id"`
	// Errors lists per-field problems of a validation failure.
	Errors []FieldError `json:"errors,omitempty"`

	err error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the sentinel the error belongs to.
func (e *Error) Unwrap() error { return e.err }

// newError builds an *Error of the sentinel's class with a fresh id.
func newError(sentinel error, format string, args ...any) *Error {
	info, ok := sentinelInfo[sentinel]
	if !ok {
		info = sentinelInfo[ErrInternal]
		sentinel = ErrInternal
	}
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &Error{Status: info.status, Code: info.code, Message: msg, ID: uuid.NewString(), err: sentinel}
}

// invalidf is a 400 invalid_request naming the offending attribute.
func invalidf(attribute, format string, args ...any) *Error {
	e := newError(ErrInvalid, format, args...)
	if attribute != "" {
		e.Errors = []FieldError{{Attribute: attribute, Reason: e.Message}}
	}
	return e
}

// notFoundf is a 404 not_found.
func notFoundf(format string, args ...any) *Error { return newError(ErrNotFound, format, args...) }

// existsf is a 409 for a create whose key is taken.
func existsf(format string, args ...any) *Error { return newError(ErrAlreadyExists, format, args...) }

// inUsef is a 409 for a delete of a resource others still refer to.
func inUsef(format string, args ...any) *Error {
	e := newError(ErrConflict, format, args...)
	e.Code = CodeConflict
	return e
}

// conflictf is a 409 optimistic_locking_error.
func conflictf(format string, args ...any) *Error { return newError(ErrConflict, format, args...) }

// AsError converts any error into an *Error: an *Error anywhere in the chain
// is returned as is; a context cancellation or deadline is a 503; anything else
// is a 500 whose message does not leak internals.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		e := newError(ErrUnavailable, "request cancelled: %v", err)
		e.err = errors.Join(ErrUnavailable, err)
		return e
	}
	for _, sentinel := range sentinelOrder {
		if errors.Is(err, sentinel) {
			e := newError(sentinel, "%s", err.Error())
			e.err = errors.Join(sentinel, err)
			return e
		}
	}
	// Keep the cause reachable through errors.Is and errors.As, but out of
	// the message, which callers may show to clients.
	e = newError(ErrInternal, "internal error")
	e.err = errors.Join(ErrInternal, err)
	return e
}
