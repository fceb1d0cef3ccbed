package flagstore

import (
	"bytes"
	"compress/flate"
	"encoding/json"
	"io"

	"github.com/klauspost/compress/s2"
)

// An entry's snapshots, its previous and current versions, follow its
// JSON in the same stored value, as one JSON object (audit_record.go); the
// backend compresses the value, and the two versions, nearly the same
// text, shrink about threefold together.
//
// Earlier stores wrote them compressed by this layer: after the JSON or at
// as/{id}, an S2 block behind the byte snapS2, or at as/{id} alone, a raw
// deflate stream, which can never start with snapS2 (its first block would
// have the reserved type 3). Both still decode.
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

// decodeSnapshots decodes snapshots an earlier store compressed into e's
// version fields.
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
