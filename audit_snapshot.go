package flagstore

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"io"

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

// snapshots encodes an entry's before and after versions as one JSON
// object. Values already encoded (json.RawMessage, such as a flag's stored
// bytes) are spliced in as they are, which keeps a write's audit cost low.
func snapshots(before, after any) ([]byte, error) {
	enc := func(v any) (json.RawMessage, error) {
		if raw, ok := v.(json.RawMessage); ok {
			return raw, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, newError(ErrInternal, "audit: %v", err)
		}
		return b, nil
	}
	buf := make([]byte, 1, 64+rawLen(before)+rawLen(after))
	buf[0] = '{'
	for _, part := range []struct {
		name string
		v    any
	}{{"previousVersion", before}, {"currentVersion", after}} {
		if part.v == nil {
			continue
		}
		b, err := enc(part.v)
		if err != nil {
			return nil, err
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, '"')
		buf = append(buf, part.name...)
		buf = append(buf, '"', ':')
		buf = append(buf, b...)
	}
	return append(buf, '}'), nil
}

// rawLen is the length of v if it is already encoded, else 0.
func rawLen(v any) int {
	raw, _ := v.(json.RawMessage)
	return len(raw)
}

// encodeSnapshots compresses the output of snapshots for storage.
func encodeSnapshots(snap []byte) []byte {
	out := make([]byte, 1+s2.MaxEncodedLen(len(snap)))
	out[0] = snapS2
	return out[:1+len(s2.Encode(out[1:], snap))]
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
