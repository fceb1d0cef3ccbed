package flagstore

import (
	"bytes"
	"encoding/binary"
)

// A delta turns one version of a document into the next, for the audit
// log's chained entries (audit_chain.go). Changes to a flag are mostly a
// few values in place (a version, a toggle, a timestamp), so the delta
// keeps each of them and refers to the text between.
//
// Its ops, in order, each copy bytes of the old version, skip bytes of it
// and insert new bytes; what remains of the old version after the last op
// is copied too. Each op is uvarints for the three lengths, then the
// inserted bytes.
//
// Finding the ops is greedy: after the text that agrees, a change ends
// where deltaAnchor bytes agree again, searched within deltaWindow bytes
// of either version for changes that lengthen or shorten the text by at
// most deltaSlack. A change that ends nowhere in reach takes the rest of
// both versions, up to the end they share. Any ops are correct; these are
// small for small changes and take about a microsecond.
const (
	deltaAnchor = 6
	deltaWindow = 48
	deltaSlack  = 4
)

// appendDelta appends the delta from prev to cur to buf.
func appendDelta(buf, prev, cur []byte) []byte {
	suffix := 0
	for suffix < len(prev) && suffix < len(cur) && prev[len(prev)-1-suffix] == cur[len(cur)-1-suffix] {
		suffix++
	}
	p, c := prev[:len(prev)-suffix], cur[:len(cur)-suffix]
	i, j, copied := 0, 0, 0
	for {
		n := commonPrefix(p[i:], c[j:])
		i, j, copied = i+n, j+n, copied+n
		if i == len(p) && j == len(c) {
			return buf // the rest of prev is the rest of cur
		}
		skip, insert := resync(p[i:], c[j:])
		buf = binary.AppendUvarint(buf, uint64(copied))
		buf = binary.AppendUvarint(buf, uint64(skip))
		buf = binary.AppendUvarint(buf, uint64(insert))
		buf = append(buf, c[j:j+insert]...)
		i, j, copied = i+skip, j+insert, 0
	}
}

// commonPrefix is the length of the prefix a and b share.
func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// resync returns how many bytes of p and of c a change that starts at
// their first bytes spans.
func resync(p, c []byte) (skip, insert int) {
	for d := 1; d <= 2*deltaWindow; d++ {
		for a := 0; a <= min(d, len(p)); a++ {
			b := d - a
			if b > len(c) || 2*a-d > deltaSlack || d-2*a > deltaSlack {
				continue
			}
			restP, restC := p[a:], c[b:]
			switch {
			case len(restP) >= deltaAnchor && len(restC) >= deltaAnchor:
				if bytes.Equal(restP[:deltaAnchor], restC[:deltaAnchor]) {
					return a, b
				}
			case bytes.Equal(restP, restC): // both nearly or quite at their end
				return a, b
			}
		}
	}
	return len(p), len(c)
}

// applyDelta applies the delta d to prev; it reports false for a delta
// that does not fit prev.
func applyDelta(prev, d []byte) ([]byte, bool) {
	out := make([]byte, 0, len(prev)+len(d))
	pos := 0
	next := func() (int, bool) {
		v, n := binary.Uvarint(d)
		if n <= 0 || v > uint64(len(prev)+len(d)) {
			return 0, false
		}
		d = d[n:]
		return int(v), true
	}
	for len(d) > 0 {
		cp, ok1 := next()
		skip, ok2 := next()
		insert, ok3 := next()
		if !ok1 || !ok2 || !ok3 || cp+skip > len(prev)-pos || insert > len(d) {
			return nil, false
		}
		out = append(out, prev[pos:pos+cp]...)
		pos += cp + skip
		out = append(out, d[:insert]...)
		d = d[insert:]
	}
	return append(out, prev[pos:]...), true
}
