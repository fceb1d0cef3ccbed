package flagstore

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"io"
	"slices"

	"github.com/klauspost/compress/s2"
)

// An audit entry's previous and current versions are stored apart from the
// entry (as/{id}), compressed: the two are nearly the same text, so they
// shrink about threefold, which keeps both the fsynced commit and the store
// small. S2 does it in about a microsecond; it is the only compression on a
// write's path, and the write's latency is the budget it spends.
//
// Stored values start with snapS2 and then hold an S2 block. Stores written
// before that hold a raw deflate stream, which can never start with snapS2
// (its first block would have the reserved type 3), and still decode.
const snapS2 = 0xff

// appendSnapshots appends an entry's before and after versions to buf as
// one JSON object. Values already encoded (json.RawMessage, such as a
// flag's stored bytes) are spliced in as they are, which keeps a write's
// audit cost low.
func appendSnapshots(buf []byte, before, after any) ([]byte, error) {
	buf = append(buf, '{')
	first := true
	for _, part := range []struct {
		name string
		v    any
	}{{"previousVersion", before}, {"currentVersion", after}} {
		if part.v == nil {
			continue
		}
		raw, ok := part.v.(json.RawMessage)
		if !ok {
			var err error
			if raw, err = json.Marshal(part.v); err != nil {
				return nil, newError(ErrInternal, "audit: %v", err)
			}
		}
		if !first {
			buf = append(buf, ',')
		}
		first = false
		buf = append(buf, '"')
		buf = append(buf, part.name...)
		buf = append(buf, '"', ':')
		buf = append(buf, raw...)
	}
	return append(buf, '}'), nil
}

// appendEncoded appends the stored form of snap (the output of
// appendSnapshots) to dst.
func appendEncoded(dst, snap []byte) []byte {
	n := len(dst)
	dst = slices.Grow(dst, 1+s2.MaxEncodedLen(len(snap)))
	dst = append(dst, snapS2)
	return dst[:n+1+len(s2.Encode(dst[n+1:cap(dst)], snap))]
}

// decodeSnapshots decompresses stored snapshots into e's version fields.
func decodeSnapshots(b []byte, e *AuditEntry) error {
	var raw []byte
	var err error
	switch {
	case len(b) > 0 && b[0] == snapS2:
		raw, err = s2.Decode(nil, b[1:])
	default:
		raw, err = io.ReadAll(flate.NewReader(bytes.NewReader(b)))
	}
	if err != nil {
		return newError(ErrInternal, "corrupt audit snapshot: %v", err)
	}
	if err := json.Unmarshal(raw, e); err != nil {
		return newError(ErrInternal, "corrupt audit snapshot: %v", err)
	}
	return nil
}
