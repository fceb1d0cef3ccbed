package flagstore

import (
	"errors"
	"testing"
)

func TestSegment_IncludedAndExcludedAtOnceRefused(t *testing.T) {
	t.Parallel()
	st, _ := fxSetup(t)
	ctx := t.Context()
	if _, err := st.CreateSegment(ctx, fxProj, "test", SegmentPost{Key: "s", Name: "S"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(*Segment)
		ok   bool
	}{
		{"user key both", func(s *Segment) { s.Included, s.Excluded = []string{"a"}, []string{"a"} }, false},
		{"user key both, one through contexts", func(s *Segment) {
			s.Included = []string{"a"}
			s.ExcludedContexts = []SegmentTarget{{ContextKind: "user", Values: []string{"a"}}}
		}, false},
		{"org key both", func(s *Segment) {
			s.IncludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"o"}}}
			s.ExcludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"o"}}}
		}, false},
		{"same key, other kinds", func(s *Segment) {
			s.Included = []string{"o"}
			s.ExcludedContexts = []SegmentTarget{{ContextKind: "org", Values: []string{"o"}}}
		}, true},
	}
	for _, tt := range tests {
		_, err := st.UpdateSegment(ctx, fxProj, "test", "s", func(s *Segment) error { tt.edit(s); return nil })
		if tt.ok != (err == nil) || (!tt.ok && !errors.Is(err, ErrInvalid)) {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
	// The JSON Patch route is refused the same way.
	p, err := ParsePatch("application/json", []byte(`[{"op":"add","path":"/excluded/-","value":"o"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PatchSegment(ctx, fxProj, "test", "s", p); !errors.Is(err, ErrInvalid) {
		t.Errorf("JSON Patch excluding an included key: %v", err)
	}
}
