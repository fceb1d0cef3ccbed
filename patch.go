package flagstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
)

// PatchKind names one of LaunchDarkly's three update dialects.
type PatchKind int

// The update dialects.
const (
	// JSONPatch is RFC 6902: a list of operations on the JSON representation.
	JSONPatch PatchKind = iota + 1
	// MergePatch is RFC 7386: an object merged into the representation.
	MergePatch
	// SemanticPatch is a list of LaunchDarkly instructions.
	SemanticPatch
)

func (k PatchKind) String() string {
	switch k {
	case JSONPatch:
		return "JSON Patch"
	case MergePatch:
		return "JSON Merge Patch"
	case SemanticPatch:
		return "semantic patch"
	}
	return fmt.Sprintf("PatchKind(%d)", int(k))
}

// Patch is one update request in any dialect, with LaunchDarkly's envelope
// fields. Build it with ParsePatch from an HTTP request, or directly.
type Patch struct {
	Kind PatchKind
	// Ops is the JSON Patch operation array (Kind JSONPatch).
	Ops json.RawMessage
	// Merge is the merge-patch object (Kind MergePatch).
	Merge json.RawMessage
	// Instructions are the semantic-patch instructions (Kind SemanticPatch).
	Instructions []Instruction
	// EnvironmentKey names the environment semantic flag instructions act
	// on; segment patches require it.
	EnvironmentKey string
	// Comment is recorded with the change in the audit log.
	Comment string
	// DryRun validates the change and returns the would-be result without
	// storing anything.
	DryRun bool
}

// SemanticPatchMediaType is the Content-Type parameter that selects semantic
// patch.
const SemanticPatchMediaType = "domain-model=launchdarkly.semanticpatch"

// ParsePatch reads a PATCH body the way LaunchDarkly dispatches it: the
// semantic-patch media-type parameter selects semantic patch; otherwise a
// JSON array is JSON Patch, an object with "patch" is JSON Patch with a
// comment, an object with "merge" is a merge patch with a comment, an object
// with "instructions" is refused (the media type is missing), and any other
// object is a bare merge patch.
func ParsePatch(contentType string, body []byte) (Patch, error) {
	semantic := false
	if contentType != "" {
		_, params, err := mime.ParseMediaType(contentType)
		if err != nil {
			return Patch{}, invalidf("Content-Type", "malformed Content-Type: %v", err)
		}
		semantic = params["domain-model"] == "launchdarkly.semanticpatch"
	}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return Patch{}, invalidf("", "the request body is empty")
	}
	if !json.Valid(body) {
		return Patch{}, invalidf("", "the request body is not valid JSON")
	}
	if body[0] == '[' {
		if semantic {
			return Patch{}, invalidf("instructions", "a semantic patch body is an object with instructions")
		}
		return Patch{Kind: JSONPatch, Ops: json.RawMessage(body)}, nil
	}
	if body[0] != '{' {
		return Patch{}, invalidf("", "the request body must be a JSON array or object")
	}
	var env struct {
		Patch          json.RawMessage `json:"patch"`
		Merge          json.RawMessage `json:"merge"`
		Instructions   json.RawMessage `json:"instructions"`
		Comment        *string         `json:"comment"`
		EnvironmentKey *string         `json:"environmentKey"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Patch{}, invalidf("", "the request body has a field of the wrong type: %v", err)
	}
	p := Patch{}
	if env.Comment != nil {
		p.Comment = *env.Comment
	}
	if env.EnvironmentKey != nil {
		p.EnvironmentKey = *env.EnvironmentKey
	}
	switch {
	case semantic:
		if len(env.Instructions) == 0 || env.Instructions[0] != '[' {
			return Patch{}, invalidf("instructions", "a semantic patch needs an instructions array")
		}
		if err := json.Unmarshal(env.Instructions, &p.Instructions); err != nil {
			return Patch{}, invalidf("instructions", "malformed instructions: %v", err)
		}
		if len(p.Instructions) == 0 {
			return Patch{}, invalidf("instructions", "a semantic patch needs at least one instruction")
		}
		p.Kind = SemanticPatch
	case env.Patch != nil:
		if env.Patch[0] != '[' {
			return Patch{}, invalidf("patch", "patch must be an array of JSON Patch operations")
		}
		p.Kind, p.Ops = JSONPatch, env.Patch
	case env.Merge != nil:
		if env.Merge[0] != '{' {
			return Patch{}, invalidf("merge", "merge must be a JSON object")
		}
		p.Kind, p.Merge = MergePatch, env.Merge
	case env.Instructions != nil:
		return Patch{}, invalidf("instructions",
			"semantic patch instructions need the Content-Type parameter %s", SemanticPatchMediaType)
	default:
		p.Kind, p.Merge = MergePatch, json.RawMessage(body)
	}
	return p, nil
}

// Instruction is one semantic-patch instruction: its kind and its
// parameters, kept raw until the instruction is applied.
type Instruction struct {
	Kind   string
	Params map[string]json.RawMessage
}

// UnmarshalJSON reads an instruction object; "kind" is required.
func (in *Instruction) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return errors.New("an instruction must be a JSON object")
	}
	var kind string
	if err := json.Unmarshal(m["kind"], &kind); err != nil || kind == "" {
		return errors.New(`an instruction needs a "kind" string`)
	}
	in.Kind, in.Params = kind, m
	return nil
}

// MarshalJSON writes the instruction back as one object.
func (in Instruction) MarshalJSON() ([]byte, error) {
	m := make(map[string]json.RawMessage, len(in.Params)+1)
	for k, v := range in.Params {
		m[k] = v
	}
	k, _ := json.Marshal(in.Kind)
	m["kind"] = k
	return json.Marshal(m)
}

// decode reads the instruction's parameters into v (a pointer to a struct
// with JSON tags).
func (in Instruction) decode(v any) error {
	b, err := json.Marshal(in.Params)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// applyOptions are the JSON Patch settings: RFC behaviour (no negative
// indexes), a bound on what copy operations may add, HTML left unescaped.
func applyOptions() *jsonpatch.ApplyOptions {
	o := jsonpatch.NewApplyOptions()
	o.SupportNegativeIndices = false
	o.AccumulatedCopySizeLimit = 1 << 20
	o.EscapeHTML = false
	return o
}

// applyJSONPatch applies RFC 6902 operations to doc. Operations that write
// to a computed field (a path segment starting with "_") are refused; a
// failed test is a 409; an operation that cannot apply is a 422. rename
// maps a test path to the document's spelling (LaunchDarkly's docs test
// "/version" on flags, whose field is "_version").
func applyJSONPatch(doc, ops []byte, rename func(path string) string) ([]byte, error) {
	var raw []map[string]json.RawMessage
	if err := json.Unmarshal(ops, &raw); err != nil {
		return nil, invalidf("patch", "patch must be an array of operations: %v", err)
	}
	return applyPatchOps(doc, raw, rename)
}

// applyPatchOps is applyJSONPatch on operations already parsed, which it
// may change.
func applyPatchOps(doc []byte, raw []map[string]json.RawMessage, rename func(path string) string) ([]byte, error) {
	for i, op := range raw {
		var name, path string
		_ = json.Unmarshal(op["op"], &name)
		if err := json.Unmarshal(op["path"], &path); err != nil {
			return nil, invalidf("patch", "operation %d has no path", i)
		}
		switch name {
		case "add", "remove", "replace", "move", "copy":
			var from string
			if name == "move" || name == "copy" {
				// RFC 6902 requires from; the library would take a missing
				// one as the whole document.
				if raw, ok := op["from"]; !ok || string(raw) == "null" || json.Unmarshal(raw, &from) != nil {
					return nil, invalidf("patch", "operation %d (%s) has no from", i, name)
				}
			}
			for _, p := range []string{path, from} {
				if computedPath(p) {
					return nil, invalidf("patch", "operation %d: %s is read-only", i, p)
				}
			}
		case "test":
			// RFC 6902 requires value; the library panics on a test of the
			// root ("") without one.
			if _, ok := op["value"]; !ok {
				return nil, invalidf("patch", "operation %d (test) has no value", i)
			}
			if rename != nil {
				if np := rename(path); np != path {
					b, _ := json.Marshal(np)
					op["path"] = b
				}
			}
		default:
			return nil, invalidf("patch", "operation %d: unknown op %q", i, name)
		}
	}
	fixed, err := json.Marshal(raw)
	if err != nil {
		return nil, invalidf("patch", "malformed patch: %v", err)
	}
	p, err := jsonpatch.DecodePatch(fixed)
	if err != nil {
		return nil, invalidf("patch", "malformed patch: %v", err)
	}
	out, err := p.ApplyWithOptions(doc, applyOptions())
	switch {
	case err == nil:
		return out, nil
	case errors.Is(err, jsonpatch.ErrTestFailed):
		return nil, conflictf("Conflict. Optimistic lock error. Try again later.")
	case errors.Is(err, jsonpatch.ErrMissing), errors.Is(err, jsonpatch.ErrInvalidIndex),
		errors.Is(err, jsonpatch.ErrUnknownType), errors.Is(err, jsonpatch.ErrExpectedObject):
		return nil, newError(ErrPatchFailed, "Unprocessable entity. Could not apply patch: %v", err)
	default:
		return nil, invalidf("patch", "malformed patch: %v", err)
	}
}

// computedPath reports whether a JSON Pointer names a computed field.
func computedPath(p string) bool {
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, "_") {
			return true
		}
	}
	return false
}

// applyMergePatch applies an RFC 7386 merge patch to doc, refusing one that
// sets a computed field.
func applyMergePatch(doc, merge []byte) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(merge, &m); err != nil || m == nil {
		return nil, invalidf("merge", "merge must be a JSON object")
	}
	if path := computedKey(m, ""); path != "" {
		return nil, invalidf("merge", "%s is read-only", path)
	}
	out, err := jsonpatch.MergePatch(doc, merge)
	if err != nil {
		return nil, newError(ErrPatchFailed, "Unprocessable entity. Could not apply patch: %v", err)
	}
	return out, nil
}

// computedKey finds an object key starting with "_" anywhere in a merge
// patch and returns its path.
func computedKey(v any, path string) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	for k, e := range m {
		if strings.HasPrefix(k, "_") {
			return path + "/" + k
		}
		if p := computedKey(e, path+"/"+k); p != "" {
			return p
		}
	}
	return ""
}

// decodeStrict decodes a patched representation into v, refusing fields the
// representation does not have and values of the wrong type.
func decodeStrict(doc []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalidf("", "the patched resource is invalid: %v", err)
	}
	return nil
}
