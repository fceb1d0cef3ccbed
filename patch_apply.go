package flagstore

import (
	"context"
	"encoding/json"
	"strings"
)

// The PATCH entry points: each applies a Patch of any dialect the resource
// allows to a copy of the resource, then stores it through the same checked
// write path as the Update calls, in one transaction. The patch's comment
// and delta (or merge) go into the audit entry; with DryRun nothing is
// stored.

// withPatch prepares the context a patch is applied under.
func withPatch(ctx context.Context, p *Patch) context.Context {
	ctx = context.WithValue(ctx, patchKey, p)
	if p.DryRun {
		ctx = WithDryRun(ctx)
	}
	return ctx
}

// patchRepresentation applies a JSON Patch or merge patch to the JSON
// representation of cur and decodes the result back into cur. rename maps
// JSON Patch test paths to the representation's spelling.
func patchRepresentation[T any](cur *T, p *Patch, mergeAllowed bool, rename func(string) string) error {
	doc, err := json.Marshal(cur)
	if err != nil {
		return newError(ErrInternal, "encode resource: %v", err)
	}
	return patchDocument(cur, doc, p, mergeAllowed, rename)
}

// patchDocument is patchRepresentation on doc, cur's JSON representation.
func patchDocument[T any](cur *T, doc []byte, p *Patch, mergeAllowed bool, rename func(string) string) error {
	var out []byte
	var err error
	switch p.Kind {
	case JSONPatch:
		out, err = applyJSONPatch(doc, p.Ops, rename)
	case MergePatch:
		if !mergeAllowed {
			return invalidf("", "this resource takes JSON Patch, not a merge patch")
		}
		out, err = applyMergePatch(doc, p.Merge)
	default:
		return invalidf("", "this resource does not take %s", p.Kind)
	}
	if err != nil {
		return err
	}
	var next T
	if err := decodeStrict(out, &next); err != nil {
		return err
	}
	*cur = next
	return nil
}

// flagTestPath accepts LaunchDarkly's documented "/version" for a flag's
// "_version" in test operations.
func flagTestPath(p string) string {
	if p == "/version" {
		return "/_version"
	}
	return p
}

// flagPatchDocument is the JSON a patch applies to: the flag's, with an
// empty description shown, as LaunchDarkly shows it, so that the documented
// {"op":"replace","path":"/description"} applies to a flag without one.
func flagPatchDocument(f *Flag) ([]byte, error) {
	// The outer Description hides the flag's own, which omits an empty one.
	return json.Marshal(struct {
		*Flag
		Description string `json:"description"`
	}{f, f.Description})
}

// patchFlagConfig applies a JSON Patch whose every path (and from) lies
// inside one environment's configuration to that configuration alone, a
// third of the document the library would otherwise parse and encode. It
// reports false, changing nothing, when the patch reaches further or
// fails: the whole document then gives the result and the errors, as
// before.
func patchFlagConfig(f *Flag, ops json.RawMessage) bool {
	var raw []map[string]json.RawMessage
	if json.Unmarshal(ops, &raw) != nil || len(raw) == 0 {
		return false
	}
	env := ""
	for _, op := range raw {
		for _, field := range []string{"path", "from"} {
			v, ok := op[field]
			if !ok {
				continue
			}
			var ptr string
			if json.Unmarshal(v, &ptr) != nil {
				return false
			}
			rest, ok := strings.CutPrefix(ptr, "/environments/")
			e, sub, ok2 := strings.Cut(rest, "/")
			if !ok || !ok2 || sub == "" || env != "" && e != env {
				return false
			}
			env = e
			op[field], _ = json.Marshal("/" + sub)
		}
	}
	cfg := f.Environments[env]
	if cfg == nil {
		return false
	}
	sub, err := json.Marshal(cfg)
	if err != nil {
		return false
	}
	out, err := applyPatchOps(sub, raw, nil)
	if err != nil {
		return false
	}
	var next FlagConfig
	if decodeStrict(out, &next) != nil {
		return false
	}
	f.Environments[env] = &next
	return true
}

// PatchFlag updates a flag with JSON Patch, merge patch or semantic patch.
// Semantic instructions that act on one environment use p.EnvironmentKey.
// A failed JSON Patch test (on "/_version", or "/version") is ErrConflict.
func (s *Store) PatchFlag(ctx context.Context, proj, key string, p Patch) (Flag, error) {
	if err := checkPatch(&p); err != nil {
		return Flag{}, err
	}
	return s.modifyFlag(withPatch(ctx, &p), proj, key, func(w *wtx, f *Flag) error {
		if p.Kind == JSONPatch && patchFlagConfig(f, p.Ops) {
			return nil
		}
		if p.Kind != SemanticPatch {
			doc, err := flagPatchDocument(f)
			if err != nil {
				return newError(ErrInternal, "encode flag: %v", err)
			}
			return patchDocument(f, doc, &p, true, flagTestPath)
		}
		deleted, err := applyFlagInstructions(f, p.Instructions, flagPatchContext{
			env:     p.EnvironmentKey,
			newUUID: s.newUUID,
			lookup: func(other string) (*Flag, error) {
				var o Flag
				if _, err := w.get(flagKey(proj, other), &o); err != nil {
					return nil, nil
				}
				return &o, nil
			},
		})
		if err != nil {
			return err
		}
		if deleted {
			return errDeleteFlag
		}
		return nil
	})
}

// PatchSegment updates a segment with JSON Patch, merge patch or semantic
// patch. A semantic patch must name the segment's environment in
// p.EnvironmentKey, as LaunchDarkly requires.
func (s *Store) PatchSegment(ctx context.Context, proj, env, key string, p Patch) (Segment, error) {
	if err := checkPatch(&p); err != nil {
		return Segment{}, err
	}
	if p.Kind == SemanticPatch && p.EnvironmentKey != env {
		if p.EnvironmentKey == "" {
			return Segment{}, invalidf("environmentKey", "a semantic patch of a segment must carry environmentKey")
		}
		return Segment{}, invalidf("environmentKey", "environmentKey %q is not the segment's environment %q", p.EnvironmentKey, env)
	}
	return s.UpdateSegment(withPatch(ctx, &p), proj, env, key, func(seg *Segment) error {
		if p.Kind == SemanticPatch {
			return applySegmentInstructions(seg, p.Instructions, s.newUUID)
		}
		return patchRepresentation(seg, &p, true, nil)
	})
}

// PatchProject updates a project with JSON Patch.
func (s *Store) PatchProject(ctx context.Context, key string, p Patch) (Project, error) {
	if err := checkPatch(&p); err != nil {
		return Project{}, err
	}
	return s.UpdateProject(withPatch(ctx, &p), key, func(pr *Project) error {
		return patchRepresentation(pr, &p, false, nil)
	})
}

// PatchEnvironment updates an environment with JSON Patch; a test on
// "/version" guards against concurrent changes.
func (s *Store) PatchEnvironment(ctx context.Context, proj, key string, p Patch) (Environment, error) {
	if err := checkPatch(&p); err != nil {
		return Environment{}, err
	}
	return s.UpdateEnvironment(withPatch(ctx, &p), proj, key, func(e *Environment) error {
		return patchRepresentation(e, &p, false, nil)
	})
}

// checkPatch refuses a Patch whose body does not fit its kind.
func checkPatch(p *Patch) error {
	switch p.Kind {
	case JSONPatch:
		if len(p.Ops) == 0 {
			return invalidf("patch", "a JSON Patch needs an array of operations")
		}
	case MergePatch:
		if len(p.Merge) == 0 {
			return invalidf("merge", "a merge patch needs an object")
		}
	case SemanticPatch:
		if len(p.Instructions) == 0 {
			return invalidf("instructions", "a semantic patch needs at least one instruction")
		}
	default:
		return invalidf("", "unknown patch kind %d", int(p.Kind))
	}
	return nil
}
