// Package ldsource plugs a flagstore environment into LaunchDarkly's Go
// server-side SDK (github.com/launchdarkly/go-server-sdk/v7) as its data
// source, in the same process: a host that already evaluates flags with that
// SDK switches to flagstore by changing one line of its configuration, and
// the SDK then receives the environment's flags and segments straight from
// the store's change feed, with no network hop, no SDK key and no handler.
//
//	client, err := ld.MakeCustomClient("unused", ld.Config{
//	    DataSource: ldsource.New(st, "shop", "production"),
//	    Events:     ldcomponents.NoEvents(),
//	}, 5*time.Second)
//
// The data is the same the handler serves to SDKs over GET /all (see
// [flagstore.Store.StreamSDK]), so an SDK fed this way evaluates exactly as
// one connected over HTTP, and as [flagstore.Store.Evaluate] does. The SDK
// key given to MakeCustomClient is not checked; it still names the client in
// analytics events, which go wherever Config.Events sends them (use
// ldcomponents.NoEvents() when nothing should receive them).
//
// # Status
//
// The SDK's data source status ([interfaces.DataSourceStatus]) reads VALID
// once the environment's data has arrived. If the environment does not
// exist, or is deleted later, it turns OFF with the store's error (kind
// ERROR_RESPONSE, with the HTTP status the REST API would answer, 404) and
// MakeCustomClient returns at once with ld.ErrInitializationFailed, as it
// does for an invalid SDK key. Any other failure (a store that is closed or
// not ready) reads INTERRUPTED and the source tries again, after 100 ms at
// first and at most every 30 s, as the SDK's own sources do.
package ldsource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/launchdarkly/go-server-sdk/v7/interfaces"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoreimpl"
	"github.com/launchdarkly/go-server-sdk/v7/subsystems/ldstoretypes"

	"github.com/flagstore/flagstore"
)

// Retry delays after a failure the source can recover from: the first,
// doubling up to the last.
const (
	minRetryDelay = 100 * time.Millisecond
	maxRetryDelay = 30 * time.Second
)

// New returns the SDK data source for one environment of a project in st,
// for ld.Config's DataSource field. The store must stay open while the
// client using it runs.
func New(st *flagstore.Store, projectKey, envKey string) subsystems.ComponentConfigurer[subsystems.DataSource] {
	return configurer{st: st, proj: projectKey, env: envKey}
}

type configurer struct {
	st        *flagstore.Store
	proj, env string
}

// Build is called by the SDK when it creates a client.
func (c configurer) Build(cc subsystems.ClientContext) (subsystems.DataSource, error) {
	if c.st == nil {
		return nil, errors.New("ldsource: nil store")
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &source{configurer: c, sink: cc.GetDataSourceUpdateSink(), ctx: ctx, cancel: cancel}, nil
}

// source is one client's data source.
type source struct {
	configurer
	sink   subsystems.DataSourceUpdateSink
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	inited bool
	done   chan struct{} // closed when run returns; nil before Start
}

// IsInitialized reports whether the environment's data has arrived.
func (s *source) IsInitialized() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inited
}

// Start follows the environment in the background.
func (s *source) Start(closeWhenReady chan<- struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return
	}
	s.done = make(chan struct{})
	go s.run(closeWhenReady)
}

// Close stops following the environment and waits until the source has
// stopped.
func (s *source) Close() error {
	s.cancel()
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		<-done
	}
	return nil
}

// run streams the environment into the SDK until Close, starting again
// after failures it can recover from.
func (s *source) run(closeWhenReady chan<- struct{}) {
	defer close(s.done)
	var ready sync.Once
	signal := func() { ready.Do(func() { close(closeWhenReady) }) }
	defer signal()
	delay := minRetryDelay
	for {
		err := s.st.StreamSDK(s.ctx, s.proj, s.env, func(ev flagstore.SDKEvent) error {
			if err := s.apply(ev); err != nil {
				return err
			}
			if ev.Name == "put" {
				s.mu.Lock()
				s.inited = true
				s.mu.Unlock()
				s.sink.UpdateStatus(interfaces.DataSourceStateValid, interfaces.DataSourceErrorInfo{})
				signal()
				delay = minRetryDelay
			}
			return nil
		})
		if s.ctx.Err() != nil {
			return
		}
		info := errorInfo(err)
		if info.Kind == interfaces.DataSourceErrorKindErrorResponse && info.StatusCode < 500 {
			s.sink.UpdateStatus(interfaces.DataSourceStateOff, info)
			return
		}
		s.sink.UpdateStatus(interfaces.DataSourceStateInterrupted, info)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// errInvalidData marks an event the source could not read or store.
var errInvalidData = errors.New("ldsource: invalid SDK data")

// errorInfo describes why a stream ended, for the SDK's status.
func errorInfo(err error) interfaces.DataSourceErrorInfo {
	info := interfaces.DataSourceErrorInfo{Kind: interfaces.DataSourceErrorKindUnknown, Time: time.Now()}
	if err == nil {
		err = errors.New("ldsource: the stream ended")
	}
	info.Message = err.Error()
	var fe *flagstore.Error
	switch {
	case errors.As(err, &fe):
		info.Kind, info.StatusCode = interfaces.DataSourceErrorKindErrorResponse, fe.Status
	case errors.Is(err, errInvalidData):
		info.Kind = interfaces.DataSourceErrorKindInvalidData
	}
	return info
}

// apply hands one event of the environment's feed to the SDK, parsed by the
// SDK's own data kinds, as its streaming source does: a put replaces
// everything, a patch upserts one item, a delete stores a versioned
// placeholder. Paths other than /flags/… and /segments/… are ignored.
func (s *source) apply(ev flagstore.SDKEvent) error {
	switch ev.Name {
	case "put":
		var put struct {
			Data map[string]map[string]json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(ev.Data, &put); err != nil {
			return fmt.Errorf("%w: put: %v", errInvalidData, err)
		}
		var all []ldstoretypes.Collection
		for _, k := range kinds {
			coll := ldstoretypes.Collection{Kind: k.kind}
			for key, raw := range put.Data[k.wire] {
				item, err := k.kind.Deserialize(raw)
				if err != nil {
					return fmt.Errorf("%w: put: %s %q: %v", errInvalidData, k.wire, key, err)
				}
				coll.Items = append(coll.Items, ldstoretypes.KeyedItemDescriptor{Key: key, Item: item})
			}
			all = append(all, coll)
		}
		if !s.sink.Init(all) {
			return fmt.Errorf("%w: the SDK's store refused the put", errInvalidData)
		}
	case "patch", "delete":
		var ch struct {
			Path    string          `json:"path"`
			Data    json.RawMessage `json:"data"`
			Version int             `json:"version"`
		}
		if err := json.Unmarshal(ev.Data, &ch); err != nil {
			return fmt.Errorf("%w: %s: %v", errInvalidData, ev.Name, err)
		}
		kind, key := parsePath(ch.Path)
		if kind == nil {
			return nil
		}
		item := ldstoretypes.ItemDescriptor{Version: ch.Version}
		if ev.Name == "patch" {
			var err error
			if item, err = kind.Deserialize(ch.Data); err != nil {
				return fmt.Errorf("%w: patch %s: %v", errInvalidData, ch.Path, err)
			}
		}
		if !s.sink.Upsert(kind, key, item) {
			return fmt.Errorf("%w: the SDK's store refused %s %s", errInvalidData, ev.Name, ch.Path)
		}
	}
	return nil
}

// kinds are the SDK's data kinds by their names in the protocol ("flags"
// on the wire, "features" in the SDK's store).
var kinds = []struct {
	wire string
	kind ldstoretypes.DataKind
}{
	{"flags", ldstoreimpl.Features()},
	{"segments", ldstoreimpl.Segments()},
}

// parsePath splits an event path into the data kind and the item key; the
// kind is nil for a path of anything else.
func parsePath(path string) (ldstoretypes.DataKind, string) {
	for _, k := range kinds {
		if key, ok := strings.CutPrefix(path, "/"+k.wire+"/"); ok {
			return k.kind, key
		}
	}
	return nil, ""
}
