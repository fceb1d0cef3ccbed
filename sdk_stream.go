package flagstore

import (
	"context"
	"time"
)

// SDKEvent is one event of an environment's SDK feed, as LaunchDarkly's
// streaming protocol carries it: Name is "put" (Data is the whole
// environment, {"path":"/","data":{"flags":…,"segments":…}}), "patch" (one
// flag or segment, in full) or "delete" (a path and the version of the
// deletion).
type SDKEvent struct {
	Name string
	Data []byte
}

// StreamSDK calls fn with the environment's SDK data as a put event, then
// with an event for each later change, in order, until ctx is done (it
// returns nil), fn fails (it returns fn's error), or the environment or the
// store goes away (ErrNotFound, ErrUnavailable). A consumer that falls far
// behind is sent a fresh put instead of the changes it missed. A principal
// in ctx needs to be able to view the project.
func (s *Store) StreamSDK(ctx context.Context, proj, env string, fn func(SDKEvent) error) error {
	if err := s.view(ctx, func(r *rtx) error { return s.authorizeView(ctx, r, proj) }); err != nil {
		return err
	}
	return s.sdk.stream(ctx, sdkRef{proj, env}, "", 0, func(f *sdkFrame) error {
		return fn(SDKEvent{Name: f.name, Data: f.data})
	})
}

// sdkSub is one open stream. Its fields other than frames and kick are
// guarded by the hub's lock.
type sdkSub struct {
	// cred is the credential the stream was opened with, if any: the
	// stream ends when it is revoked.
	cred   string
	frames chan *sdkFrame
	kick   chan struct{}
	// behind is set when frames overflowed: the stream owes a fresh put.
	behind bool
	// gone ends the stream: its environment or store went away, or
	// (revoked) its credential.
	gone, revoked bool
}

// sdkSubBuffer is how many events a stream may fall behind before it is
// sent a fresh put instead.
const sdkSubBuffer = 256

func (sub *sdkSub) poke() {
	select {
	case sub.kick <- struct{}{}:
	default:
	}
}

// send queues frames on every stream of the environment; the caller holds
// the hub's lock.
func (e *sdkEnv) send(frames []*sdkFrame) {
	for sub := range e.subs {
		if sub.behind {
			continue
		}
		for _, f := range frames {
			select {
			case sub.frames <- f:
				continue
			default:
			}
			sub.behind = true
			sub.poke()
			break
		}
	}
}

// stream subscribes to an environment and writes its put, then its changes,
// and a heartbeat (nil frame) every heartbeat if that is not zero. A stream
// opened with a credential ends when the credential is revoked.
func (h *sdkHub) stream(ctx context.Context, ref sdkRef, cred string, heartbeat time.Duration, write func(*sdkFrame) error) error {
	if err := h.sync(ctx, nil); err != nil {
		return err
	}
	e, err := h.env(ctx, ref)
	if err != nil {
		return err
	}
	sub := &sdkSub{cred: cred, frames: make(chan *sdkFrame, sdkSubBuffer), kick: make(chan struct{}, 1)}
	h.mu.Lock()
	if e.gone {
		h.mu.Unlock()
		return notFoundf("Unknown environment")
	}
	e.subs[sub] = struct{}{}
	data := e.data
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(e.subs, sub) // a no-op once e.subs is nil
		h.mu.Unlock()
	}()
	var tick <-chan time.Time
	if heartbeat > 0 {
		t := time.NewTicker(heartbeat)
		defer t.Stop()
		tick = t.C
	}
	for {
		if data != nil {
			_, _, put := data.payload()
			if err := write(put); err != nil {
				return err
			}
			data = nil
		}
		select {
		case <-ctx.Done():
			return nil
		case f := <-sub.frames:
			if err := write(f); err != nil {
				return err
			}
		case <-tick:
			if err := write(nil); err != nil {
				return err
			}
		case <-sub.kick:
			h.mu.Lock()
			if sub.gone {
				closed, revoked := h.closed, sub.revoked
				h.mu.Unlock()
				switch {
				case closed:
					return newError(ErrUnavailable, "the store is closed")
				case revoked:
					return newError(ErrUnauthorized, "The credential was revoked")
				}
				return notFoundf("Unknown environment")
			}
			if sub.behind {
				for len(sub.frames) > 0 {
					<-sub.frames
				}
				sub.behind, data = false, e.data
			}
			h.mu.Unlock()
		}
	}
}
