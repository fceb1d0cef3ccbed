package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"github.com/klauspost/compress/s2"
)

// The buntdb backend stores each value behind an 8-byte header: the key's
// version, big-endian. A value of compressMin bytes or more that S2
// shrinks by an eighth or more is stored compressed, marked by the
// header's top bit (versions never reach it). JSON documents shrink by a
// third or more, and every commit is fsynced, so fewer bytes make writes
// faster; S2 takes about a microsecond for a kilobyte either way.

// headerLen is the size of the version header in front of each value.
const headerLen = 8

const (
	compressedBit = 1 << 63
	compressMin   = 128
	maxScratch    = 64 << 10 // larger buffers are not kept
	// maxDecoded bounds the decoded size a compressed value may claim, so
	// a corrupt header cannot ask for an absurd allocation.
	maxDecoded = 1 << 30
)

// errCorrupt reports a stored value that cannot be decoded.
var errCorrupt = errors.New("store: corrupt value")

// encodeValue returns the buntdb value for value at version. scratch is
// reused for the compressed form (nil: store value as it is); the result
// does not share it.
func encodeValue(version uint64, value []byte, scratch *[]byte) string {
	payload := value
	if scratch != nil && len(value) >= compressMin {
		buf := *scratch
		if n := s2.MaxEncodedLen(len(value)); cap(buf) < n {
			buf = make([]byte, n)
			if n <= maxScratch {
				*scratch = buf // kept for the next value
			}
		}
		if c := s2.Encode(buf[:cap(buf)], value); len(c) <= len(value)-len(value)/8 {
			payload, version = c, version|compressedBit
		}
	}
	var hdr [headerLen]byte
	binary.BigEndian.PutUint64(hdr[:], version)
	var sb strings.Builder
	sb.Grow(headerLen + len(payload))
	sb.Write(hdr[:])
	sb.Write(payload)
	return sb.String()
}

// decodeVersion reads the version in the header of a stored value.
func decodeVersion(raw string) (uint64, bool) {
	if len(raw) < headerLen {
		return 0, false
	}
	return binary.BigEndian.Uint64([]byte(raw[:headerLen])) &^ compressedBit, true
}

// valueBytes returns a fresh copy of the payload of a stored value,
// decompressed, never nil, so an empty value stays distinct from "no
// value".
func valueBytes(raw string) ([]byte, error) {
	if len(raw) < headerLen {
		return nil, errCorrupt
	}
	payload := raw[headerLen:]
	if raw[0]&0x80 == 0 {
		out := make([]byte, len(payload))
		copy(out, payload)
		return out, nil
	}
	// s2 only reads src, so the string's bytes serve without a copy.
	src := unsafe.Slice(unsafe.StringData(payload), len(payload))
	n, err := s2.DecodedLen(src)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	case n > maxDecoded:
		return nil, fmt.Errorf("%w: claims %d bytes", errCorrupt, n)
	}
	out, err := s2.Decode(make([]byte, n), src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return out, nil
}
