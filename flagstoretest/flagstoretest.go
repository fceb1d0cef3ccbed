// Package flagstoretest gives other projects' tests a running stand-in for
// LaunchDarkly's API: one call starts an httptest.Server backed by an
// in-memory flagstore, with an admin access token and a seeded project, and
// cleans everything up when the test ends. Point LaunchDarkly's API clients
// and its SDKs (the environments' SDK keys, mobile keys and client-side IDs
// are in Project) at Server.URL.
//
//	srv := flagstoretest.New(t)
//	client := myservice.NewFlagAdmin(srv.URL, srv.Token)
package flagstoretest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/flagstore/flagstore"
)

// AdminToken is the secret of the admin access token every Server has.
const AdminToken = "api-flagstoretest-admin-token"

// Server is a running flagstore for one test.
type Server struct {
	*httptest.Server
	// Store is the store behind the server, for setting up and checking
	// state directly.
	Store *flagstore.Store
	// Token is an admin access token for the Authorization header.
	Token string
	// Project is the seeded project, with its environments and their SDK
	// keys, mobile keys and client-side IDs.
	Project flagstore.Project
}

// Option adjusts a Server before it starts.
type Option func(*config)

type config struct {
	project flagstore.ProjectPost
	handler []flagstore.HandlerOption
	store   []flagstore.Option
}

// WithProject seeds this project instead of the default one (key
// "test-project" with environments "production" and "test").
func WithProject(p flagstore.ProjectPost) Option { return func(c *config) { c.project = p } }

// WithHandlerOptions passes options to the store's handler.
func WithHandlerOptions(opts ...flagstore.HandlerOption) Option {
	return func(c *config) { c.handler = append(c.handler, opts...) }
}

// WithStoreOptions passes options to the in-memory store (a clock, ID
// generators, a logger).
func WithStoreOptions(opts ...flagstore.Option) Option {
	return func(c *config) { c.store = append(c.store, opts...) }
}

// New starts a Server; it is closed, and its store with it, when t ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	c := config{project: flagstore.ProjectPost{Key: "test-project", Name: "Test project"}}
	for _, o := range opts {
		o(&c)
	}
	st, err := flagstore.Open(":memory:", c.store...)
	if err != nil {
		t.Fatalf("flagstoretest: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if _, err := st.EnsureAdminToken(ctx, AdminToken); err != nil {
		t.Fatalf("flagstoretest: %v", err)
	}
	p, err := st.CreateProject(ctx, c.project)
	if err != nil {
		t.Fatalf("flagstoretest: seed project: %v", err)
	}
	srv := httptest.NewServer(st.Handler(c.handler...))
	t.Cleanup(srv.Close)
	return &Server{Server: srv, Store: st, Token: AdminToken, Project: p}
}

// Environment returns the seeded project's environment with this key, or
// fails the test.
func (s *Server) Environment(t testing.TB, key string) flagstore.Environment {
	t.Helper()
	for _, e := range s.Project.Environments {
		if e.Key == key {
			return e
		}
	}
	t.Fatalf("flagstoretest: no environment %q in project %q", key, s.Project.Key)
	return flagstore.Environment{}
}
