// Command flagstore serves a flagstore store over HTTP, for trying the
// library out and for black-box tests.
//
//	go run ./cmd/flagstore                   # 127.0.0.1:8765, file flagstore.db
//	go run ./cmd/flagstore -db :memory:      # keeps nothing after exit
//	go run ./cmd/flagstore -addr 127.0.0.1:0 # any free port; the log says which
//
// It logs to stderr and shuts down gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flagstore/flagstore"
)

const (
	readHeaderTimeout = 10 * time.Second
	shutdownTimeout   = 10 * time.Second
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second signal during shutdown kills the process
	}()
	err := run(ctx, os.Args[1:], os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		os.Exit(2) // the flag package has printed the problem and the usage
	default:
		msg := err.Error()
		if !strings.HasPrefix(msg, "flagstore:") { // the library's errors say so already
			msg = "flagstore: " + msg
		}
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(1)
	}
}

// adminTokenEnv names the environment variable holding the secret of the
// administrator token the server ensures.
const adminTokenEnv = "FLAGSTORE_ADMIN_TOKEN"

// setupAdminToken gives the server an administrator credential. With a
// secret from FLAGSTORE_ADMIN_TOKEN, an admin token with exactly that secret
// exists afterwards. Without one, a store that holds no access token yet
// gets a new admin token, whose secret is printed this once.
func setupAdminToken(ctx context.Context, st *flagstore.Store, secret string, out io.Writer) error {
	if secret != "" {
		if _, err := st.EnsureAdminToken(ctx, secret); err != nil {
			return fmt.Errorf("%s: %w", adminTokenEnv, err)
		}
		return nil
	}
	tokens, err := st.ListTokens(ctx, flagstore.TokenListOptions{Limit: 1})
	if err != nil || tokens.TotalCount > 0 {
		return err
	}
	owner, err := st.Owner(ctx)
	if err != nil {
		return err
	}
	t, err := st.CreateToken(ctx, owner.ID, flagstore.TokenPost{Name: "flagstore admin", Role: flagstore.RoleAdmin})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "flagstore: created an admin access token (shown only now; set %s to choose your own):\n%s\n", adminTokenEnv, t.Token)
	return nil
}

// usageError is a bad command line, already reported by the flag package.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// run serves until ctx is done, then shuts the server down, waiting up to
// shutdownTimeout for requests in flight, and closes the store. It returns
// nil after a clean shutdown.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("flagstore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8765", "`host:port` to listen on (port 0 picks a free one)")
	db := fs.String("db", "flagstore.db", "buntdb `file` to keep the store in, or :memory: to keep nothing")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments: %q", fs.Args())
		fmt.Fprintln(stderr, err)
		fs.Usage()
		return usageError{err}
	}

	log := slog.New(slog.NewTextHandler(stderr, nil))
	st, err := flagstore.Open(*db, flagstore.WithLogger(log))
	if err != nil {
		return err
	}
	if err := setupAdminToken(ctx, st, os.Getenv(adminTokenEnv), stderr); err != nil {
		return errors.Join(err, st.Close())
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.Join(err, st.Close())
	}
	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	srv := &http.Server{
		Handler:           streamsEndWith(streams, st.Handler(flagstore.WithHandlerLogger(log))),
		ReadHeaderTimeout: readHeaderTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	srv.RegisterOnShutdown(endStreams)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("flagstore listening on http://"+ln.Addr().String(), "db", *db)

	select {
	case err := <-served: // Serve failed without being asked to stop
		return errors.Join(err, st.Close())
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if err != nil {
		err = errors.Join(fmt.Errorf("shutdown: %w", err), srv.Close())
	}
	if serr := <-served; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if cerr := st.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close store: %w", cerr))
	}
	if err == nil {
		log.Info("stopped")
	}
	return err
}

// streamsEndWith ends event streams (the SDKs' streaming connections) when
// ctx is done. A stream never goes idle, so without this Shutdown would wait
// for each until its timeout; ended at once, the SDKs reconnect later.
func streamsEndWith(ctx context.Context, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			rctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			stop := context.AfterFunc(ctx, cancel)
			defer stop()
			r = r.WithContext(rctx)
		}
		next.ServeHTTP(w, r)
	})
}
