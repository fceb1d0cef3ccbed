package flagstore

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParsePatch_Dispatch(t *testing.T) {
	t.Parallel()
	const sem = "application/json; domain-model=launchdarkly.semanticpatch"
	tests := []struct {
		name        string
		contentType string
		body        string
		kind        PatchKind
		comment     string
		env         string
		err         error
	}{
		{"bare array", "application/json", `[{"op":"replace","path":"/name","value":"x"}]`, JSONPatch, "", "", nil},
		{"patch envelope", "application/json", `{"patch":[{"op":"remove","path":"/description"}],"comment":"why"}`, JSONPatch, "why", "", nil},
		{"merge envelope", "application/json", `{"merge":{"name":"x"},"comment":"c"}`, MergePatch, "c", "", nil},
		{"bare merge", "application/json", `{"name":"x"}`, MergePatch, "", "", nil},
		{"merge-patch media type", "application/merge-patch+json", `{"name":"x"}`, MergePatch, "", "", nil},
		{"semantic", sem, `{"instructions":[{"kind":"turnFlagOn"}],"environmentKey":"production","comment":"go"}`, SemanticPatch, "go", "production", nil},
		{"semantic param among others", "application/json; charset=utf-8; domain-model=launchdarkly.semanticpatch", `{"instructions":[{"kind":"x"}]}`, SemanticPatch, "", "", nil},
		{"semantic without media type", "application/json", `{"instructions":[{"kind":"turnFlagOn"}]}`, 0, "", "", ErrInvalid},
		{"semantic empty list", sem, `{"instructions":[]}`, 0, "", "", ErrInvalid},
		{"semantic without instructions", sem, `{"comment":"x"}`, 0, "", "", ErrInvalid},
		{"semantic array body", sem, `[{"kind":"x"}]`, 0, "", "", ErrInvalid},
		{"semantic kind missing", sem, `{"instructions":[{"value":1}]}`, 0, "", "", ErrInvalid},
		{"semantic kind not string", sem, `{"instructions":[{"kind":1}]}`, 0, "", "", ErrInvalid},
		{"instruction not object", sem, `{"instructions":["turnFlagOn"]}`, 0, "", "", ErrInvalid},
		{"malformed json", "application/json", `[{"op":`, 0, "", "", ErrInvalid},
		{"empty body", "application/json", ``, 0, "", "", ErrInvalid},
		{"scalar body", "application/json", `"x"`, 0, "", "", ErrInvalid},
		{"patch not array", "application/json", `{"patch":{"op":"x"}}`, 0, "", "", ErrInvalid},
		{"merge not object", "application/json", `{"merge":[1]}`, 0, "", "", ErrInvalid},
		{"comment wrong type", "application/json", `{"patch":[],"comment":5}`, 0, "", "", ErrInvalid},
		{"bad content type", "application/json; ===", `[]`, 0, "", "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := ParsePatch(tt.contentType, []byte(tt.body))
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Kind != tt.kind || p.Comment != tt.comment || p.EnvironmentKey != tt.env {
				t.Fatalf("got kind %v comment %q env %q", p.Kind, p.Comment, p.EnvironmentKey)
			}
		})
	}
}

func TestInstruction_JSONRoundTrip(t *testing.T) {
	t.Parallel()
	var in Instruction
	if err := json.Unmarshal([]byte(`{"kind":"addTargets","variationId":"v1","values":["a","b"]}`), &in); err != nil {
		t.Fatal(err)
	}
	var params struct {
		VariationID string   `json:"variationId"`
		Values      []string `json:"values"`
	}
	if err := in.decode(&params); err != nil || in.Kind != "addTargets" || params.VariationID != "v1" || len(params.Values) != 2 {
		t.Fatalf("decoded %+v %+v %v", in, params, err)
	}
	b, _ := json.Marshal(in)
	var back Instruction
	if err := json.Unmarshal(b, &back); err != nil || back.Kind != in.Kind || len(back.Params) != len(in.Params) {
		t.Fatalf("round trip: %s %v", b, err)
	}
}

func TestApplyJSONPatch(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"name":"a","_version":3,"tags":["x"],"environments":{"p":{"on":false,"_environmentName":"P"}}}`)
	flagRename := func(p string) string {
		if p == "/version" {
			return "/_version"
		}
		return p
	}
	tests := []struct {
		name string
		ops  string
		want string
		err  error
	}{
		{"replace", `[{"op":"replace","path":"/name","value":"b"}]`, `"name":"b"`, nil},
		{"add to array end", `[{"op":"add","path":"/tags/-","value":"y"}]`, `"tags":["x","y"]`, nil},
		{"test then replace", `[{"op":"test","path":"/_version","value":3},{"op":"replace","path":"/environments/p/on","value":true}]`, `"on":true`, nil},
		{"test on /version spelling", `[{"op":"test","path":"/version","value":3},{"op":"replace","path":"/name","value":"c"}]`, `"name":"c"`, nil},
		{"failed test is a conflict", `[{"op":"test","path":"/_version","value":2},{"op":"replace","path":"/name","value":"c"}]`, "", ErrConflict},
		{"write to computed field", `[{"op":"replace","path":"/_version","value":9}]`, "", ErrInvalid},
		{"write to nested computed field", `[{"op":"replace","path":"/environments/p/_environmentName","value":"Q"}]`, "", ErrInvalid},
		{"move from computed field", `[{"op":"move","from":"/_version","path":"/x"}]`, "", ErrInvalid},
		{"missing path", `[{"op":"remove","path":"/description"}]`, "", ErrPatchFailed},
		{"index out of range", `[{"op":"replace","path":"/tags/5","value":"z"}]`, "", ErrPatchFailed},
		{"negative index refused", `[{"op":"remove","path":"/tags/-1"}]`, "", ErrPatchFailed},
		{"unknown op", `[{"op":"frobnicate","path":"/name"}]`, "", ErrInvalid},
		{"no path", `[{"op":"replace","value":1}]`, "", ErrInvalid},
		{"not an array", `{"op":"replace"}`, "", ErrInvalid},
		{"copy", `[{"op":"copy","from":"/name","path":"/description"}]`, `"description":"a"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := applyJSONPatch(doc, []byte(tt.ops), flagRename)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out) || !strings.Contains(string(out), tt.want) {
				t.Fatalf("got %s, want it to contain %s", out, tt.want)
			}
		})
	}
}

func TestApplyMergePatch(t *testing.T) {
	t.Parallel()
	doc := []byte(`{"name":"a","description":"d","environments":{"p":{"on":false}}}`)
	out, err := applyMergePatch(doc, []byte(`{"description":null,"environments":{"p":{"on":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "description") || !strings.Contains(string(out), `"on":true`) {
		t.Fatalf("merge result %s", out)
	}
	if _, err := applyMergePatch(doc, []byte(`{"environments":{"p":{"_environmentName":"x"}}}`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("computed field in merge: %v", err)
	}
	if _, err := applyMergePatch(doc, []byte(`[1]`)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("array merge: %v", err)
	}
}

func TestDecodeStrict(t *testing.T) {
	t.Parallel()
	var f Flag
	if err := decodeStrict([]byte(`{"key":"a","bogus":1}`), &f); !errors.Is(err, ErrInvalid) {
		t.Fatalf("unknown field: %v", err)
	}
	if err := decodeStrict([]byte(`{"key":5}`), &f); !errors.Is(err, ErrInvalid) {
		t.Fatalf("wrong type: %v", err)
	}
	if err := decodeStrict([]byte(`{"key":"a"}`), &f); err != nil || f.Key != "a" {
		t.Fatalf("good doc: %v", err)
	}
}
