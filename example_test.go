package flagstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/flagstore/flagstore"
)

// Open an in-memory store, create a project and a flag, and read it back.
func Example() {
	ctx := context.Background()
	st, err := flagstore.Open(":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	proj, err := st.CreateProject(ctx, flagstore.ProjectPost{Key: "shop", Name: "Shop"})
	if err != nil {
		log.Fatal(err)
	}
	for _, env := range proj.Environments {
		fmt.Println("environment:", env.Key)
	}
	if _, err := st.CreateFlag(ctx, "shop", flagstore.FlagPost{Key: "new-checkout", Name: "New checkout"}); err != nil {
		log.Fatal(err)
	}

	f, err := st.GetFlag(ctx, "shop", "new-checkout")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(f.Key, f.Kind, f.Variations[0].Value, f.Variations[1].Value)
	fmt.Println("on in production:", f.Environments["production"].On)
	// Output:
	// environment: production
	// environment: test
	// new-checkout boolean true false
	// on in production: false
}

// Turn a flag on in one environment: only that environment's version moves,
// and the flag's _version with it.
func ExampleStore_UpdateFlag() {
	ctx := context.Background()
	st, _ := flagstore.Open(":memory:")
	defer st.Close()
	st.CreateProject(ctx, flagstore.ProjectPost{Key: "shop", Name: "Shop"})
	st.CreateFlag(ctx, "shop", flagstore.FlagPost{Key: "new-checkout", Name: "New checkout"})

	f, err := st.UpdateFlag(ctx, "shop", "new-checkout", func(f *flagstore.Flag) error {
		f.Environments["production"].On = true
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("_version:", f.Version)
	fmt.Println("production:", f.Environments["production"].On, f.Environments["production"].Version)
	fmt.Println("test:", f.Environments["test"].On, f.Environments["test"].Version)
	// Output:
	// _version: 2
	// production: true 2
	// test: false 1
}

// Every failure is an *Error wrapping a sentinel, so both errors.Is and
// errors.As work; the HTTP layer writes it as LaunchDarkly's error body.
func ExampleError() {
	ctx := context.Background()
	st, _ := flagstore.Open(":memory:")
	defer st.Close()
	st.CreateProject(ctx, flagstore.ProjectPost{Key: "shop", Name: "Shop"})

	_, err := st.CreateProject(ctx, flagstore.ProjectPost{Key: "shop", Name: "Again"})
	var e *flagstore.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.Code, errors.Is(err, flagstore.ErrAlreadyExists))
	}
	_, err = st.GetFlag(ctx, "shop", "missing")
	fmt.Println(errors.Is(err, flagstore.ErrNotFound))
	// Output:
	// 409 conflict true
	// true
}

// Tests get exact timestamps and IDs by injecting the clock and generators.
func ExampleWithClock() {
	ctx := context.Background()
	var n atomic.Int64
	st, _ := flagstore.Open(":memory:",
		flagstore.WithClock(func() time.Time { return time.UnixMilli(1700000000000) }),
		flagstore.WithIDGenerator(func() string { return fmt.Sprintf("%024d", n.Add(1)) }),
		flagstore.WithUUIDGenerator(func() string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", n.Add(1)) }),
	)
	defer st.Close()
	p, _ := st.CreateProject(ctx, flagstore.ProjectPost{Key: "shop", Name: "Shop",
		Environments: []flagstore.EnvironmentPost{{Key: "dev", Name: "Dev", Color: "00FF00"}}})
	env := p.Environments[0]
	fmt.Println(p.ID, p.CreationDate)
	fmt.Println(env.ID, env.APIKey)
	// Output:
	// 000000000000000000000003 1700000000000
	// 000000000000000000000004 sdk-00000000-0000-0000-0000-000000000005
}

// Mount the handler on a host's mux, here under a prefix. The REST routes
// arrive with later releases; every answer already uses LaunchDarkly's
// error body.
func ExampleStore_Handler() {
	st, _ := flagstore.Open(":memory:")
	defer st.Close()
	mux := http.NewServeMux()
	mux.Handle("/flags/", http.StripPrefix("/flags", st.Handler()))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/flags/api/v2/nothing-here")
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Content-Type"))
	// Output:
	// 404 application/json
}
