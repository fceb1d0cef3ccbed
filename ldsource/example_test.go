package ldsource_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/ldcomponents"

	"github.com/flagstore/flagstore"
	"github.com/flagstore/flagstore/ldsource"
)

// A service that evaluates flags with LaunchDarkly's Go SDK reads them from
// its own flagstore instead: only the DataSource line differs from a
// configuration that talks to LaunchDarkly. Changes made through the store
// (or its REST API) reach the client as they commit.
func Example() {
	ctx := context.Background()
	st, err := flagstore.Open(":memory:")
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	st.CreateProject(ctx, flagstore.ProjectPost{Key: "shop", Name: "Shop"})
	st.CreateFlag(ctx, "shop", flagstore.FlagPost{Key: "new-checkout", Name: "New checkout"})

	client, err := ld.MakeCustomClient("unused", ld.Config{
		DataSource: ldsource.New(st, "shop", "production"),
		Events:     ldcomponents.NoEvents(),
		Logging:    ldcomponents.NoLogging(),
	}, 5*time.Second)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	user := ldcontext.New("user-1")
	on, _ := client.BoolVariation("new-checkout", user, false)
	fmt.Println("before:", on)

	st.UpdateFlag(ctx, "shop", "new-checkout", func(f *flagstore.Flag) error {
		f.Environments["production"].On = true
		return nil
	})
	for deadline := time.Now().Add(5 * time.Second); !on && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		on, _ = client.BoolVariation("new-checkout", user, false)
	}
	fmt.Println("after:", on)
	// Output:
	// before: false
	// after: true
}

// An environment that does not exist fails the client at once, as an
// invalid SDK key does over HTTP, and its data source stays off.
func Example_unknownEnvironment() {
	st, _ := flagstore.Open(":memory:")
	defer st.Close()

	client, err := ld.MakeCustomClient("unused", ld.Config{
		DataSource: ldsource.New(st, "shop", "production"),
		Events:     ldcomponents.NoEvents(),
		Logging:    ldcomponents.NoLogging(),
	}, 5*time.Second)
	defer client.Close()
	status := client.GetDataSourceStatusProvider().GetStatus()
	fmt.Println(err)
	fmt.Println(status.State, status.LastError.StatusCode)
	// Output:
	// LaunchDarkly client initialization failed
	// OFF 404
}
