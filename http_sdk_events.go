package flagstore

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"time"
)

// sdkEventBodyLimit bounds an SDK's event payload, after decompression.
const sdkEventBodyLimit = 10 << 20

// sdkEventBody reads an SDK's event payload, gzipped or not; both the
// body and its decompressed payload are held to sdkEventBodyLimit.
func sdkEventBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := limitedBody(w, r, sdkEventBodyLimit)
	if err != nil || r.Header.Get("Content-Encoding") != "gzip" {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, invalidf("", "the body is not gzip: %v", err)
	}
	b, err = io.ReadAll(io.LimitReader(zr, sdkEventBodyLimit+1))
	switch {
	case err != nil:
		return nil, invalidf("", "cannot decompress the body: %v", err)
	case len(b) > sdkEventBodyLimit:
		return nil, newError(ErrTooLarge, "the event payload is larger than %d bytes", sdkEventBodyLimit)
	}
	return b, nil
}

// sdkEvent is the part of an analytics event flagstore reads: summaries
// and full feature events say which flags were evaluated.
type sdkEvent struct {
	Kind         string                     `json:"kind"`
	EndDate      int64                      `json:"endDate"`
	CreationDate int64                      `json:"creationDate"`
	Features     map[string]sdkEventFeature `json:"features"`
	Key          string                     `json:"key"`
	Variation    *int                       `json:"variation"`
	Default      any                        `json:"default"`
}

type sdkEventFeature struct {
	Default  any `json:"default"`
	Counters []struct {
		Variation *int `json:"variation"`
		Unknown   bool `json:"unknown"`
	} `json:"counters"`
}

// flagRequests turns a batch of analytics events into flag-request
// reports, by flag key.
func eventFlagRequests(events []sdkEvent) map[string]FlagRequest {
	out := map[string]FlagRequest{}
	add := func(key string, at int64, def any, variation *int) {
		if key == "" || validKey("key", key) != nil {
			return
		}
		fr := out[key]
		if t := time.UnixMilli(at); at > 0 && t.After(fr.LastRequested) {
			fr.LastRequested = t
		}
		if def != nil {
			fr.Default = def
		}
		if variation != nil {
			fr.Variations = append(fr.Variations, *variation)
		}
		out[key] = fr
	}
	for _, e := range events {
		switch e.Kind {
		case "summary":
			for key, f := range e.Features {
				add(key, e.EndDate, f.Default, nil)
				for _, c := range f.Counters {
					if !c.Unknown {
						add(key, e.EndDate, nil, c.Variation)
					}
				}
			}
		case "feature", "debug":
			add(e.Key, e.CreationDate, e.Default, e.Variation)
		}
	}
	return out
}

// sdkEvents serves POST /bulk: analytics events, accepted with 202. The
// flags they report feed the flag-status routes; the rest is dropped.
func (a *api) sdkEvents(w http.ResponseWriter, r *http.Request) error {
	c := sdkCredential(r)
	return a.acceptEvents(w, r, c.ProjectKey, c.EnvironmentKey)
}

// acceptEvents reads an event payload and records its flag requests.
func (a *api) acceptEvents(w http.ResponseWriter, r *http.Request, proj, env string) error {
	b, err := sdkEventBody(w, r)
	if err != nil {
		return err
	}
	var events []sdkEvent
	if err := json.Unmarshal(b, &events); err != nil {
		return invalidf("", "the body is not an array of events: %v", err)
	}
	if reqs := eventFlagRequests(events); len(reqs) > 0 {
		if err := a.s.RecordFlagRequests(r.Context(), proj, env, reqs); err != nil {
			return err
		}
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// sdkDiagnostic serves POST /diagnostic: diagnostic events, accepted and
// dropped.
func (a *api) sdkDiagnostic(w http.ResponseWriter, r *http.Request) error {
	b, err := sdkEventBody(w, r)
	if err != nil {
		return err
	}
	if !json.Valid(b) {
		return invalidf("", "the body is not JSON")
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
