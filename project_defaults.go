package flagstore

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"unicode/utf8"

	"github.com/flagstore/flagstore/store"
)

// ProjectFlagDefaults are the settings a project gives each new flag whose
// create body leaves them out (LaunchDarkly's flagDefaultsRep, without its
// links). DefaultClientSideAvailability is the project's own
// defaultClientSideAvailability: reading or writing it here reads or writes
// the project's field.
type ProjectFlagDefaults struct {
	// Key names the defaults; it is the project's key, and read-only.
	Key string `json:"key"`
	// Tags are given to a new flag whose body has no tags.
	Tags []string `json:"tags"`
	// Temporary is a new flag's temporary when its body says nothing.
	Temporary bool `json:"temporary"`
	// BooleanDefaults name and describe the variations of a new boolean
	// flag created without variations, and pick its default variations
	// when the body has no defaults.
	BooleanDefaults BooleanFlagDefaults `json:"booleanDefaults"`
	// DefaultClientSideAvailability is a new flag's client-side
	// availability when its body names none.
	DefaultClientSideAvailability ClientSideAvailability `json:"defaultClientSideAvailability"`
}

// BooleanFlagDefaults seed a boolean flag created without variations: the
// true variation (index 0) and the false variation (index 1) get these
// names and descriptions, and OnVariation and OffVariation (0 or 1) become
// the flag's defaults unless the create body gives its own.
type BooleanFlagDefaults struct {
	TrueDisplayName  string `json:"trueDisplayName"`
	FalseDisplayName string `json:"falseDisplayName"`
	TrueDescription  string `json:"trueDescription"`
	FalseDescription string `json:"falseDescription"`
	OnVariation      int    `json:"onVariation"`
	OffVariation     int    `json:"offVariation"`
}

// flagDefaultsDoc is what pd/{proj} stores: every default except the
// client-side availability, which lives on the project.
type flagDefaultsDoc struct {
	Tags            []string            `json:"tags"`
	Temporary       bool                `json:"temporary"`
	BooleanDefaults BooleanFlagDefaults `json:"booleanDefaults"`
}

func flagDefaultsKey(proj string) string { return "pd/" + proj }

// initialFlagDefaults are a project's defaults until they are first set:
// what CreateFlag does without any (no tags, temporary, serve true when on
// and false when off, unnamed variations).
func initialFlagDefaults() flagDefaultsDoc {
	return flagDefaultsDoc{Tags: []string{}, Temporary: true, BooleanDefaults: BooleanFlagDefaults{OnVariation: 0, OffVariation: 1}}
}

// projectAvailability is the client-side availability a project gives new
// flags.
func projectAvailability(pr *Project) ClientSideAvailability {
	if pr.DefaultClientSideAvailability != nil {
		return *pr.DefaultClientSideAvailability
	}
	return ClientSideAvailability{UsingMobileKey: true, UsingEnvironmentID: pr.IncludeInSnippetByDefault}
}

// readFlagDefaults reads a project's flag defaults and the stored
// document's version (0 while none is stored).
func readFlagDefaults(r *rtx, pr *Project) (ProjectFlagDefaults, uint64, error) {
	doc := initialFlagDefaults()
	ver, err := r.get(flagDefaultsKey(pr.Key), &doc)
	switch {
	case errors.Is(err, store.ErrNotFound):
		doc, ver = initialFlagDefaults(), 0
	case err != nil:
		return ProjectFlagDefaults{}, 0, err
	}
	return ProjectFlagDefaults{
		Key:                           pr.Key,
		Tags:                          nonNil(doc.Tags),
		Temporary:                     doc.Temporary,
		BooleanDefaults:               doc.BooleanDefaults,
		DefaultClientSideAvailability: projectAvailability(pr),
	}, ver, nil
}

// GetFlagDefaults returns the defaults a project gives new flags.
func (s *Store) GetFlagDefaults(ctx context.Context, proj string) (ProjectFlagDefaults, error) {
	var out ProjectFlagDefaults
	err := s.view(ctx, func(r *rtx) error {
		var pr Project
		if _, err := getProject(r, proj, &pr); err != nil {
			return err
		}
		if err := s.authorizeView(ctx, r, proj); err != nil {
			return err
		}
		var err error
		out, _, err = readFlagDefaults(r, &pr)
		return err
	})
	return out, err
}

// PutFlagDefaults replaces a project's flag defaults with d (its Key is
// ignored) and returns the result.
func (s *Store) PutFlagDefaults(ctx context.Context, proj string, d ProjectFlagDefaults) (ProjectFlagDefaults, error) {
	return s.updateFlagDefaults(ctx, proj, func(cur *ProjectFlagDefaults) error {
		d.Key = cur.Key
		d.Tags = slices.Clone(d.Tags)
		*cur = d
		return nil
	})
}

// PatchFlagDefaults updates a project's flag defaults with a JSON Patch or
// a merge patch of their representation (ProjectFlagDefaults' JSON form).
func (s *Store) PatchFlagDefaults(ctx context.Context, proj string, p Patch) (ProjectFlagDefaults, error) {
	if err := checkPatch(&p); err != nil {
		return ProjectFlagDefaults{}, err
	}
	return s.updateFlagDefaults(withPatch(ctx, &p), proj, func(cur *ProjectFlagDefaults) error {
		return patchRepresentation(cur, &p, true, nil)
	})
}

// updateFlagDefaults applies fn to a copy of the project's flag defaults
// and stores the result if it is valid, with one audit entry
// (updateProjectFlagDefaults on the project). A changed client-side
// availability is written to the project, with includeInSnippetByDefault
// following usingEnvironmentId.
func (s *Store) updateFlagDefaults(ctx context.Context, proj string, fn func(*ProjectFlagDefaults) error) (ProjectFlagDefaults, error) {
	var out ProjectFlagDefaults
	err := s.update(ctx, func(w *wtx) error {
		var pr Project
		pver, err := getProject(&w.rtx, proj, &pr)
		if err != nil {
			return err
		}
		before, dver, err := readFlagDefaults(&w.rtx, &pr)
		if err != nil {
			return err
		}
		after := before
		after.Tags = slices.Clone(before.Tags)
		if err := fn(&after); err != nil {
			return err
		}
		if after.Key != before.Key {
			return invalidf("key", "key is read-only")
		}
		if err := validFlagDefaults(&after); err != nil {
			return err
		}
		after.Tags = nonNil(after.Tags)
		accesses := accessesOf(projRes(proj), "updateProjectFlagDefaults")
		if reflect.DeepEqual(before, after) {
			out = before
			// Nothing to store, but the caller must still be allowed to.
			return s.authorize(ctx, &w.rtx, accesses, nil)
		}
		doc := flagDefaultsDoc{Tags: after.Tags, Temporary: after.Temporary, BooleanDefaults: after.BooleanDefaults}
		if err := w.put(flagDefaultsKey(proj), &doc, dver); err != nil {
			return err
		}
		if after.DefaultClientSideAvailability != before.DefaultClientSideAvailability {
			a := after.DefaultClientSideAvailability
			pr.DefaultClientSideAvailability = &a
			pr.IncludeInSnippetByDefault = a.UsingEnvironmentID
			if err := w.put(projectKey(proj), &pr, pver); err != nil {
				return err
			}
		}
		out = after
		return s.record(w, change{kind: "project", verb: "updated the flag defaults of", name: pr.Name, resource: projRes(proj),
			accesses: accesses, before: &before, after: &after})
	})
	if err != nil {
		return ProjectFlagDefaults{}, err
	}
	return out, nil
}

// validFlagDefaults checks flag defaults before they are stored.
func validFlagDefaults(d *ProjectFlagDefaults) error {
	if err := validTags("tags", d.Tags); err != nil {
		return err
	}
	b := &d.BooleanDefaults
	for _, f := range []struct{ attr, v string }{
		{"booleanDefaults.trueDisplayName", b.TrueDisplayName},
		{"booleanDefaults.falseDisplayName", b.FalseDisplayName},
		{"booleanDefaults.trueDescription", b.TrueDescription},
		{"booleanDefaults.falseDescription", b.FalseDescription},
	} {
		if len(f.v) > 1024 || !utf8.ValidString(f.v) {
			return invalidf(f.attr, "%s must be valid UTF-8 of at most 1024 bytes", f.attr)
		}
	}
	for _, f := range []struct {
		attr string
		v    int
	}{{"booleanDefaults.onVariation", b.OnVariation}, {"booleanDefaults.offVariation", b.OffVariation}} {
		if f.v != 0 && f.v != 1 {
			return invalidf(f.attr, "%s must be 0 (true) or 1 (false)", f.attr)
		}
	}
	return nil
}

// applyFlagDefaults gives a flag being created the project's defaults for
// what its create body p leaves out: tags, temporary, and, for a boolean
// flag created without variations, the variations' names and descriptions
// and (without defaults in p) its default variations. Client-side
// availability comes from the project itself (see CreateFlag). It depends
// only on p and the stored defaults, so calling it twice is harmless.
func applyFlagDefaults(r *rtx, pr *Project, p *FlagPost, f *Flag) error {
	d, _, err := readFlagDefaults(r, pr)
	if err != nil {
		return err
	}
	if p.Tags == nil {
		f.Tags = slices.Clone(d.Tags)
	}
	if p.Temporary == nil {
		f.Temporary = d.Temporary
	}
	if len(p.Variations) == 0 && len(f.Variations) == 2 {
		b := d.BooleanDefaults
		f.Variations[0].Name, f.Variations[0].Description = b.TrueDisplayName, b.TrueDescription
		f.Variations[1].Name, f.Variations[1].Description = b.FalseDisplayName, b.FalseDescription
		if p.Defaults == nil {
			f.Defaults = &FlagDefaults{OnVariation: b.OnVariation, OffVariation: b.OffVariation}
		}
	}
	return nil
}
