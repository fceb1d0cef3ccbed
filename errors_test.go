package flagstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"
)

func TestError_IsAndAs(t *testing.T) {
	t.Parallel()
	for sentinel, info := range sentinelInfo {
		err := fmt.Errorf("wrapped: %w", newError(sentinel, "boom %d", 1))
		if !errors.Is(err, sentinel) {
			t.Errorf("%v: errors.Is fails through a wrap", sentinel)
		}
		var e *Error
		if !errors.As(err, &e) || e.Status != info.status || e.Code != info.code || e.Message != "boom 1" {
			t.Errorf("%v: errors.As gives %+v", sentinel, e)
		}
		if _, perr := uuid.Parse(e.ID); perr != nil {
			t.Errorf("%v: id %q is not a UUID", sentinel, e.ID)
		}
	}
}

func TestAsError_OrderCoversEverySentinel(t *testing.T) {
	t.Parallel()
	if len(sentinelOrder) != len(sentinelInfo) {
		t.Fatalf("sentinelOrder has %d entries, sentinelInfo %d", len(sentinelOrder), len(sentinelInfo))
	}
	for _, s := range sentinelOrder {
		if _, ok := sentinelInfo[s]; !ok {
			t.Errorf("%v is ordered but has no status", s)
		}
	}
	// A join of two classes resolves the same way every time.
	for range 20 {
		if e := AsError(errors.Join(ErrConflict, ErrNotFound)); e.Status != http.StatusNotFound {
			t.Fatalf("joined error: status %d, want 404", e.Status)
		}
	}
}

func TestAsError_Cases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"cancelled", context.Canceled, http.StatusServiceUnavailable, CodeServiceUnavailable},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), http.StatusServiceUnavailable, CodeServiceUnavailable},
		{"plain", errors.New("disk on fire"), http.StatusInternalServerError, CodeInternalError},
		{"sentinel", ErrForbidden, http.StatusForbidden, CodeForbidden},
		{"in use", inUsef("busy"), http.StatusConflict, CodeConflict},
		{"invalid with field", invalidf("key", "bad"), http.StatusBadRequest, CodeInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := AsError(tt.err)
			if e.Status != tt.status || e.Code != tt.code {
				t.Fatalf("got %d %s, want %d %s", e.Status, e.Code, tt.status, tt.code)
			}
		})
	}
	if e := AsError(context.Canceled); !errors.Is(e, context.Canceled) || !errors.Is(e, ErrUnavailable) {
		t.Error("a cancellation should stay recognisable as both ErrUnavailable and context.Canceled")
	}
	cause := errors.New("secret detail")
	if e := AsError(cause); e.Message != "internal error" || !errors.Is(e, cause) || !errors.Is(e, ErrInternal) {
		t.Errorf("internal error: message %q, keeps cause %v", e.Message, errors.Is(e, cause))
	}
	if e := AsError(fmt.Errorf("bad thing: %w", ErrInvalid)); e.Status != http.StatusBadRequest || e.Message != "bad thing: invalid request" {
		t.Errorf("wrapped sentinel: %d %q", e.Status, e.Message)
	}
	if e := invalidf("key", "bad"); len(e.Errors) != 1 || e.Errors[0].Attribute != "key" {
		t.Errorf("field errors: %+v", e.Errors)
	}
	if AsError(nil) != nil {
		t.Error("AsError(nil) should be nil")
	}
}
