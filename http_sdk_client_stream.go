package flagstore

import (
	"net/http"
)

// The client-side and mobile streams. LaunchDarkly's client-side and
// mobile SDKs read the same events: a put with the whole evalx map for
// their context, then a patch ({"key","version",…result}) for each flag
// whose result changes and a delete ({"key","version"}) for each flag
// they may no longer see. The ping streams of older SDKs only say that
// something changed, and the SDK fetches its flags again.

// evalxStream serves /eval (client-side ID) and /meval (mobile key): it
// follows the environment's SDK feed and, after each change, evaluates
// the visible flags again and sends what differs from what the SDK holds.
func (a *api) evalxStream(kind CredentialKind) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c, err := a.requestContext(w, r, kind)
		if err != nil {
			return err
		}
		ref, reasons := sdkRefOf(r), withReasons(r)
		d, err := a.s.sdk.data(r.Context(), ref, nil)
		if err != nil {
			return err
		}
		var sent evalxMap // what the SDK holds; nil before the put
		return a.followEnv(w, r, ref, d.envID, func(write func(*sdkFrame) error, f *sdkFrame) error {
			if f == nil {
				return write(nil)
			}
			// The feed's events are for server-side SDKs; what matters
			// here is that the data moved on. Events of one commit
			// share one data, evaluated once.
			cur := a.s.sdk.current(ref)
			if cur == nil || cur == d && sent != nil {
				return nil
			}
			d = cur
			next := evalx(cur, kind, c, reasons)
			if sent == nil {
				sent = next
				return write(newFrame("put", next.encode()))
			}
			for _, f := range sent.changes(next, cur.rev) {
				if err := write(f); err != nil {
					return err
				}
			}
			sent = next
			return nil
		})
	}
}

// pingFrame tells a ping-stream SDK to fetch its flags again. Its data
// is not empty: browsers drop events without data.
var pingFrame = newFrame("ping", []byte("{}"))

// pingStream serves /ping/{envId} and /mping: a ping on connection and one
// after each change to the environment.
func (a *api) pingStream(w http.ResponseWriter, r *http.Request) error {
	ref := sdkRefOf(r)
	d, err := a.s.sdk.data(r.Context(), ref, nil)
	if err != nil {
		return err
	}
	var last *sdkData
	return a.followEnv(w, r, ref, d.envID, func(write func(*sdkFrame) error, f *sdkFrame) error {
		if f == nil {
			return write(nil)
		}
		cur := a.s.sdk.current(ref)
		if cur == nil || cur == last {
			return nil
		}
		last = cur
		return write(pingFrame)
	})
}
