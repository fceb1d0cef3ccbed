package flagstore

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// logRequests logs one line per request to l; an aborted request's line
// says so (aborted=true) and has status 0 if nothing was written.
func logRequests(l *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		rw := &statusWriter{ResponseWriter: w}
		completed := false
		// Deferred, so a request aborted with a panic (http.ErrAbortHandler,
		// which recoverPanics passes on) still gets its line.
		defer func() {
			if rw.status == 0 && completed {
				rw.status = http.StatusOK
			}
			attrs := []slog.Attr{
				slog.String("method", req.Method),
				slog.String("path", req.URL.Path),
				slog.Int("status", rw.status),
				slog.Int64("bytes", rw.bytes),
				slog.Duration("duration", time.Since(start)),
				slog.String("requestId", RequestID(req.Context())),
			}
			if !completed {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			l.LogAttrs(req.Context(), slog.LevelInfo, "request", attrs...)
		}()
		next.ServeHTTP(rw, req)
		completed = true
	})
}

// statusWriter records the status and size of a response. Unwrap lets
// [http.ResponseController] reach the underlying writer (Flush, deadlines).
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx responses are not the status
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RequestIDHeader carries the id of each request in its response, the same
// id as an error body's "id", so a failure can be traced in the logs.
const RequestIDHeader = "X-Request-Id"

type requestIDKey struct{}

// requestID gives every request an id (a UUID), sets it on the response and
// in the request's context.
func requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := uuid.NewString()
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// RequestID returns the id of the request a context belongs to.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
