package flagstore

import (
	"testing"

	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
)

func TestEvalxMap_Changes(t *testing.T) {
	t.Parallel()
	entry := func(v bool, variation, flagVersion int) *evalxEntry {
		return &evalxEntry{Value: ldvalue.Bool(v), Variation: ldvalue.NewOptionalInt(variation), Version: 5, FlagVersion: flagVersion}
	}
	off := ldreason.NewEvalReasonOff()
	withReason := entry(false, 1, 2)
	withReason.Reason = &off
	held := evalxMap{"same": entry(true, 0, 1), "flipped": entry(true, 0, 1), "gone": entry(true, 0, 1), "reason": entry(false, 1, 2)}
	next := evalxMap{"same": entry(true, 0, 1), "flipped": entry(false, 1, 1), "new": entry(true, 0, 3), "reason": withReason}
	got := held.changes(next, 9)
	want := []struct{ name, data string }{ // in key order
		{"patch", `{"key":"flipped","value":false,"variation":1,"version":9,"flagVersion":1}`},
		{"delete", `{"key":"gone","version":9}`},
		{"patch", `{"key":"new","value":true,"variation":0,"version":9,"flagVersion":3}`},
		{"patch", `{"key":"reason","value":false,"variation":1,"version":9,"flagVersion":2,"reason":{"kind":"OFF"}}`},
	}
	if len(got) != len(want) {
		for _, f := range got {
			t.Logf("%s %s", f.name, f.data)
		}
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, w := range want {
		if got[i].name != w.name || string(got[i].data) != w.data {
			t.Errorf("event %d: %s %s, want %s %s", i, got[i].name, got[i].data, w.name, w.data)
		}
	}
	if next["flipped"].Key != "" || next["flipped"].Version != 5 {
		t.Error("changes modified the map's entries")
	}
}

func TestEvalxMap_Encode(t *testing.T) {
	t.Parallel()
	m := evalxMap{
		"b": {Value: ldvalue.Null(), Version: 3, FlagVersion: 1},
		"a": {Value: ldvalue.String("x"), Variation: ldvalue.NewOptionalInt(2), Version: 3, FlagVersion: 4,
			TrackEvents: true, DebugEventsUntilDate: 7, Prerequisites: []string{"p"}},
	}
	want := `{"a":{"value":"x","variation":2,"version":3,"flagVersion":4,"trackEvents":true,"debugEventsUntilDate":7,"prerequisites":["p"]},` +
		`"b":{"value":null,"variation":null,"version":3,"flagVersion":1}}`
	if got := string(m.encode()); got != want {
		t.Errorf("encode:\n%s\nwant\n%s", got, want)
	}
}
