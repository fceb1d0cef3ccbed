package flagstore

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
)

// A delta applied to the version it was made from gives the other, and is
// small when the change is.
func TestDelta(t *testing.T) {
	t.Parallel()
	doc := `{"key":"f","_version":9,"environments":{"production":{"on":false,"salt":"46088f77c8e646b1af14a1d99d4b5d09","lastModified":1795798554296,"version":9,"rules":[]}}}`
	for _, tc := range []struct {
		name string
		cur  string
		max  int // bytes the delta may take
	}{
		{"same", doc, 0},
		{"toggle and versions", strings.NewReplacer(`"on":false`, `"on":true`, `:9`, `:10`, `1795798554296`, `1795798559999`).Replace(doc), 30},
		{"rule added", strings.Replace(doc, `"rules":[]`, `"rules":[{"_id":"r1","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}],"variation":1}]`, 1), 120},
		{"all new", `{"other":"document"}`, 30},
		{"emptied", ``, 10},
		{"from nothing", doc, len(doc) + 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prev := []byte(doc)
			if tc.name == "from nothing" {
				prev = nil
			}
			d := appendDelta(nil, prev, []byte(tc.cur))
			got, ok := applyDelta(prev, d)
			if !ok || string(got) != tc.cur {
				t.Fatalf("applied: %q, %v; want %q", got, ok, tc.cur)
			}
			if len(d) > tc.max {
				t.Errorf("delta of %d bytes, want at most %d: %q", len(d), tc.max, d)
			}
		})
	}
}

// Random edits of random text round-trip.
func TestDelta_RandomEdits(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	const letters = `ab{}":,01`
	text := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		return b
	}
	for range 2000 {
		prev := text(r.IntN(300))
		cur := append([]byte(nil), prev...)
		for range r.IntN(6) {
			at := r.IntN(len(cur) + 1)
			cut := min(r.IntN(8), len(cur)-at)
			cur = append(cur[:at:at], append(text(r.IntN(8)), cur[at+cut:]...)...)
		}
		d := appendDelta(nil, prev, cur)
		if got, ok := applyDelta(prev, d); !ok || !bytes.Equal(got, cur) {
			t.Fatalf("prev %q cur %q: delta %q applied gives %q, %v", prev, cur, d, got, ok)
		}
	}
}

// A delta that does not fit the version it is applied to is refused.
func TestDelta_Misfit(t *testing.T) {
	t.Parallel()
	prev := []byte(`{"a":1}`)
	for _, d := range [][]byte{
		{100, 0, 0},        // copies past the end
		{0, 100, 0},        // skips past the end
		{0, 0, 5, 'x'},     // inserts more than it holds
		{0x80},             // a cut uvarint
		{0xff, 0xff, 0xff}, // another
	} {
		if got, ok := applyDelta(prev, d); ok {
			t.Errorf("delta %v applied: %q", d, got)
		}
	}
}

// Any two texts round-trip through a delta, and any bytes applied as a
// delta either fit or are refused, without a panic.
func FuzzDelta(f *testing.F) {
	f.Add([]byte(`{"on":false,"version":9}`), []byte(`{"on":true,"version":10}`))
	f.Add([]byte(``), []byte(`x`))
	f.Add([]byte(`abcabcabc`), []byte(`abcXabcabcY`))
	f.Fuzz(func(t *testing.T, prev, cur []byte) {
		d := appendDelta(nil, prev, cur)
		if got, ok := applyDelta(prev, d); !ok || !bytes.Equal(got, cur) {
			t.Fatalf("delta %q applied gives %q, %v", d, got, ok)
		}
		_, _ = applyDelta(prev, cur) // cur as a delta: fits or not, no panic
	})
}
