package flagstore

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"sync"

	"github.com/launchdarkly/go-server-sdk-evaluation/v3/ldmodel"
)

// sdkData is one environment's SDK data at one moment: immutable, so
// readers and evaluations need no lock. The whole-environment payload is
// encoded once, on first use, and then served from memory.
type sdkData struct {
	ref   sdkRef
	envID string
	// rev is the store revision of the last commit applied to the
	// environment: it rises with every change to its data.
	rev   uint64
	flags map[string]*sdkItem
	segs  map[string]*sdkItem

	once sync.Once
	all  []byte // {"flags":{…},"segments":{…}}
	etag string
	put  *sdkFrame
}

// GetFeatureFlag is the evaluator's view of the flags: withheld ones are
// absent.
func (d *sdkData) GetFeatureFlag(key string) *ldmodel.FeatureFlag {
	if it := d.flags[key]; it != nil && !it.withheld {
		return it.flag
	}
	return nil
}

// GetSegment is the evaluator's view of the segments.
func (d *sdkData) GetSegment(key string) *ldmodel.Segment {
	if it := d.segs[key]; it != nil && !it.withheld {
		return it.segment
	}
	return nil
}

// payload returns the environment as /sdk/latest-all serves it, its ETag,
// and the stream's put event.
func (d *sdkData) payload() ([]byte, string, *sdkFrame) {
	d.once.Do(func() {
		b := []byte(`{"flags":`)
		b = appendItems(b, d.flags)
		b = append(b, `,"segments":`...)
		b = appendItems(b, d.segs)
		d.all = append(b, '}')
		d.etag = etagOf(d.all)
		d.put = newFrame("put", append(append([]byte(`{"path":"/","data":`), d.all...), '}'))
	})
	return d.all, d.etag, d.put
}

// etagOf is the strong ETag of a response body: a hash of its bytes, so
// equal data has equal tags across restarts.
func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// appendItems writes the live items as a JSON object by key, in key order.
func appendItems(b []byte, items map[string]*sdkItem) []byte {
	keys := make([]string, 0, len(items))
	for k, it := range items {
		if !it.withheld {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		b = append(b, items[k].json...)
	}
	return append(b, '}')
}

// sdkFrame is one event of the SDK stream, encoded once for every stream
// that carries it: its name, its JSON data, and the SSE frame.
type sdkFrame struct {
	name string
	data []byte
	sse  []byte
}

func newFrame(name string, data []byte) *sdkFrame {
	sse := make([]byte, 0, len(name)+len(data)+16)
	sse = append(sse, "event: "...)
	sse = append(sse, name...)
	sse = append(sse, "\ndata: "...)
	sse = append(sse, data...)
	sse = append(sse, "\n\n"...)
	return &sdkFrame{name: name, data: data, sse: sse}
}

func patchFrame(kind, key string, item []byte) *sdkFrame {
	b := []byte(`{"path":`)
	b = strconv.AppendQuote(b, "/"+kind+"/"+key)
	b = append(b, `,"data":`...)
	b = append(b, item...)
	return newFrame("patch", append(b, '}'))
}

func deleteFrame(kind, key string, version int) *sdkFrame {
	b := []byte(`{"path":`)
	b = strconv.AppendQuote(b, "/"+kind+"/"+key)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, int64(version), 10)
	return newFrame("delete", append(b, '}'))
}
