package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Store-level tests of the PATCH entry points: every patch is built by
// ParsePatch from the JSON text an HTTP client would send. Helpers here
// start with pt.

// ptSemantic is the Content-Type of a semantic patch.
const ptSemantic = "application/json; domain-model=launchdarkly.semanticpatch"

// ptParse parses a PATCH body; a parse failure fails the test.
func ptParse(t testing.TB, contentType, body string) Patch {
	t.Helper()
	p, err := ParsePatch(contentType, []byte(body))
	if err != nil {
		t.Fatalf("ParsePatch(%q, %s): %v", contentType, body, err)
	}
	return p
}

// ptExpand replaces {name} placeholders in a body: {ver} is the flag's
// _version, {v0}.. its variation IDs, {o0}.. those of flag "other".
func ptExpand(body string, f, other Flag) string {
	pairs := []string{"{ver}", fmt.Sprint(f.Version)}
	for i, v := range f.Variations {
		pairs = append(pairs, fmt.Sprintf("{v%d}", i), v.ID)
	}
	for i, v := range other.Variations {
		pairs = append(pairs, fmt.Sprintf("{o%d}", i), v.ID)
	}
	return strings.NewReplacer(pairs...).Replace(body)
}

// ptFixture is a store holding flag "f" (string variations a, b, c; on
// variation 0, off variation 2; alice targeted with variation 0 in
// production; description "A flag") and boolean flag "other".
type ptFixture struct {
	st    *Store
	clk   *fxClock
	f     Flag // "f" as stored when the fixture was built
	other Flag
}

func ptSetup(t testing.TB) ptFixture {
	t.Helper()
	st, clk := fxSetup(t)
	other := fxCreate(t, st, "other", fxPost("other"))
	fxCreate(t, st, "f", FlagPost{Description: "A flag",
		Variations: []Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}})
	f := fxUpdate(t, st, "f", func(f *Flag) {
		f.Environments["production"].Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
	})
	clk.tick()
	return ptFixture{st: st, clk: clk, f: f, other: other}
}

// expand fills a body's placeholders from the fixture's flags.
func (fx ptFixture) expand(body string) string { return ptExpand(body, fx.f, fx.other) }

// ptErr asserts that err is an *Error of the sentinel's class with the
// given status and code (when not empty), and that mention (when not
// empty) is named by a field error's attribute or by the message.
func ptErr(t testing.TB, err, sentinel error, status int, code, mention string) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error %v, got %T: %v", sentinel, err, err)
	}
	if !errors.Is(err, sentinel) || e.Status != status {
		t.Fatalf("want %v (%d), got %d: %v", sentinel, status, e.Status, err)
	}
	if code != "" && e.Code != code {
		t.Fatalf("want code %q, got %q: %v", code, e.Code, err)
	}
	if mention != "" {
		named := strings.Contains(e.Message, mention)
		for _, fe := range e.Errors {
			named = named || strings.Contains(fe.Attribute, mention) || strings.Contains(fe.Reason, mention)
		}
		if !named {
			t.Fatalf("error does not name %q: %v (%+v)", mention, err, e.Errors)
		}
	}
	return e
}

// ptStored asserts that the flag a patch returned is what GetFlag reads.
func ptStored(t testing.TB, st *Store, got Flag) {
	t.Helper()
	if a, b := fxJSON(t, got), fxJSON(t, fxGet(t, st, got.Key)); a != b {
		t.Fatalf("PatchFlag and GetFlag disagree:\nreturned %s\nstored   %s", a, b)
	}
}

// ptFlagCase is one successful flag patch: the body (with placeholders),
// and checks of the flag before and after.
type ptFlagCase struct {
	name        string
	contentType string
	body        string
	env         string // environmentKey set on the Patch when the body has none
	check       func(t *testing.T, fx ptFixture, before, after Flag)
}

// run applies the case on a fresh fixture and checks what every
// successful patch must do: the result is stored, _version rose by one.
func (tt ptFlagCase) run(t *testing.T) {
	t.Parallel()
	fx := ptSetup(t)
	before := fxGet(t, fx.st, "f")
	p := ptParse(t, tt.contentType, fx.expand(tt.body))
	if tt.env != "" && p.EnvironmentKey == "" {
		p.EnvironmentKey = tt.env
	}
	after, err := fx.st.PatchFlag(t.Context(), fxProj, "f", p)
	if err != nil {
		t.Fatalf("PatchFlag: %v", err)
	}
	ptStored(t, fx.st, after)
	if after.Version != before.Version+1 {
		t.Fatalf("_version %d -> %d, want +1", before.Version, after.Version)
	}
	if after.Key != "f" || after.CreationDate != before.CreationDate {
		t.Fatalf("key or creationDate moved: %q %d", after.Key, after.CreationDate)
	}
	if err := validateFlag(&after); err != nil {
		t.Fatalf("stored flag is invalid: %v", err)
	}
	tt.check(t, fx, before, after)
}

func TestPatchStore_FlagJSONPatch(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	tests := []ptFlagCase{
		{"bare array replaces name", js, `[{"op":"replace","path":"/name","value":"Renamed"}]`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				if after.Name != "Renamed" || after.Description != before.Description {
					t.Fatalf("name %q description %q", after.Name, after.Description)
				}
				for k, c := range after.Environments {
					if c.Version != before.Environments[k].Version {
						t.Errorf("a rename moved %s's version", k)
					}
				}
			}},
		{"envelope with comment", js, `{"patch":[{"op":"replace","path":"/name","value":"Enveloped"}],"comment":"rename it"}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Name != "Enveloped" {
					t.Fatalf("name %q", after.Name)
				}
			}},
		{"add a target list", js, `[{"op":"add","path":"/environments/production/targets/-","value":{"variation":1,"values":["bob"]}}]`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				got := fxJSON(t, after.Environments["production"].Targets)
				want := `[{"values":["alice"],"variation":0,"contextKind":"user"},{"values":["bob"],"variation":1,"contextKind":"user"}]`
				if got != want {
					t.Fatalf("targets %s, want %s", got, want)
				}
				if p, b := after.Environments["production"], before.Environments["production"]; p.Version != b.Version+1 {
					t.Errorf("production version %d -> %d", b.Version, p.Version)
				}
				if c, b := after.Environments["test"], before.Environments["test"]; c.Version != b.Version {
					t.Errorf("test version moved %d -> %d", b.Version, c.Version)
				}
			}},
		{"add to a target list", js, `[{"op":"add","path":"/environments/production/targets/0/values/-","value":"carol"}]`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if got := after.Environments["production"].Targets[0].Values; !slices.Equal(got, []string{"alice", "carol"}) {
					t.Fatalf("values %q", got)
				}
			}},
		{"toggle test on", js, `[{"op":"replace","path":"/environments/test/on","value":true}]`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				if !after.Environments["test"].On || after.Environments["production"].On {
					t.Fatal("only test should be on")
				}
				if after.Environments["test"].Version != before.Environments["test"].Version+1 {
					t.Error("test's version did not rise")
				}
			}},
		{"remove description", js, `[{"op":"remove","path":"/description"}]`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Description != "" {
					t.Fatalf("description %q", after.Description)
				}
			}},
		{"move description to name", js, `[{"op":"move","from":"/description","path":"/name"}]`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Name != "A flag" || after.Description != "" {
					t.Fatalf("name %q description %q", after.Name, after.Description)
				}
			}},
		{"copy name to description", js, `[{"op":"copy","from":"/name","path":"/description"}]`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				if after.Description != before.Name {
					t.Fatalf("description %q, want %q", after.Description, before.Name)
				}
			}},
		{"test on _version passes", js, `[{"op":"test","path":"/_version","value":{ver}},{"op":"replace","path":"/description","value":"guarded"}]`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Description != "guarded" {
					t.Fatalf("description %q", after.Description)
				}
			}},
		{"test on /version passes", js, `{"patch":[{"op":"test","path":"/version","value":{ver}},{"op":"replace","path":"/description","value":"guarded"}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Description != "guarded" {
					t.Fatalf("description %q", after.Description)
				}
			}},
		{"test on a plain field passes", js, `[{"op":"test","path":"/environments/production/targets/0/values/0","value":"alice"},{"op":"replace","path":"/environments/production/on","value":true}]`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if !after.Environments["production"].On {
					t.Fatal("production is off")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}

	// A failed test is 409 optimistic_locking_error, whatever the spelling.
	for _, path := range []string{"/_version", "/version"} {
		t.Run("failed test on "+path, func(t *testing.T) {
			t.Parallel()
			fx := ptSetup(t)
			fz := fxFreeze(t, fx.st, "f")
			body := fmt.Sprintf(`[{"op":"test","path":%q,"value":%d},{"op":"replace","path":"/name","value":"lost"}]`, path, fx.f.Version-1)
			_, err := fx.st.PatchFlag(t.Context(), fxProj, "f", ptParse(t, "application/json", body))
			ptErr(t, err, ErrConflict, 409, CodeOptimisticLocking, "")
			fz.unchanged(t, fx.st)
		})
	}
}

func TestPatchStore_FlagMergePatch(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	tests := []ptFlagCase{
		{"bare object", js, `{"name":"Merged","temporary":false}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Name != "Merged" || after.Temporary {
					t.Fatalf("name %q temporary %v", after.Name, after.Temporary)
				}
			}},
		{"merge envelope", js, `{"merge":{"name":"Merged"},"comment":"by merge"}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Name != "Merged" {
					t.Fatalf("name %q", after.Name)
				}
			}},
		{"merge-patch media type", "application/merge-patch+json", `{"tags":["beta"]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if !slices.Equal(after.Tags, []string{"beta"}) {
					t.Fatalf("tags %q", after.Tags)
				}
			}},
		{"nested environment change", js, `{"environments":{"production":{"on":true,"offVariation":1}}}`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				p, b := after.Environments["production"], before.Environments["production"]
				if !p.On || *p.OffVariation != 1 || p.Version != b.Version+1 {
					t.Fatalf("production on %v off %d version %d", p.On, *p.OffVariation, p.Version)
				}
				// The rest of production and all of test are untouched.
				if fxJSON(t, p.Targets) != fxJSON(t, b.Targets) || p.Salt != b.Salt {
					t.Fatal("the merge replaced production instead of merging into it")
				}
				if a, b := fxJSON(t, after.Environments["test"]), fxJSON(t, before.Environments["test"]); a != b {
					t.Fatalf("test changed:\n%s\n%s", b, a)
				}
			}},
		{"null deletes description", js, `{"description":null}`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				if after.Description != "" || after.Name != before.Name {
					t.Fatalf("description %q name %q", after.Description, after.Name)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}
}

func TestPatchStore_FlagSemantic(t *testing.T) {
	t.Parallel()
	tests := []ptFlagCase{
		{"turnFlagOn", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if !after.Environments["production"].On || after.Environments["test"].On {
					t.Fatal("only production should be on")
				}
			}},
		{"addTargets", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"{v1}","values":["u1","u2"]}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				got := fxJSON(t, after.Environments["production"].Targets)
				want := `[{"values":["alice"],"variation":0,"contextKind":"user"},{"values":["u1","u2"],"variation":1,"contextKind":"user"}]`
				if got != want {
					t.Fatalf("targets %s, want %s", got, want)
				}
			}},
		{"addTargets of a context kind", ptSemantic, `{"environmentKey":"test","instructions":[{"kind":"addTargets","variationId":"{v2}","contextKind":"organization","values":["acme"]}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				got := fxJSON(t, after.Environments["test"].ContextTargets)
				if want := `[{"values":["acme"],"variation":2,"contextKind":"organization"}]`; got != want {
					t.Fatalf("contextTargets %s, want %s", got, want)
				}
			}},
		{"addRule", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"addRule","variationId":"{v2}","description":"staff",
			"clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]},{"contextKind":"organization","attribute":"key","op":"in","values":["acme"],"negate":true}]}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				rules := after.Environments["production"].Rules
				if len(rules) != 1 {
					t.Fatalf("rules %s", fxJSON(t, rules))
				}
				r := rules[0]
				if r.ID == "" || r.Variation == nil || *r.Variation != 2 || r.Rollout != nil || r.Description != "staff" || len(r.Clauses) != 2 {
					t.Fatalf("rule %s", fxJSON(t, r))
				}
				c0, c1 := r.Clauses[0], r.Clauses[1]
				if c0.ID == "" || c1.ID == "" || c0.ID == c1.ID || c0.ContextKind != "user" || c1.ContextKind != "organization" || !c1.Negate {
					t.Fatalf("clauses %s", fxJSON(t, r.Clauses))
				}
				if len(after.Environments["test"].Rules) != 0 {
					t.Fatal("the rule went to test too")
				}
			}},
		{"updateFallthroughVariationOrRollout", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"{v0}":60000,"{v2}":40000},"rolloutBucketBy":"email"}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				ft := after.Environments["production"].Fallthrough
				got := fxJSON(t, ft)
				if want := `{"rollout":{"variations":[{"variation":0,"weight":60000},{"variation":2,"weight":40000}],"bucketBy":"email","contextKind":"user"}}`; got != want {
					t.Fatalf("fallthrough %s, want %s", got, want)
				}
			}},
		{"addPrerequisite", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"addPrerequisite","key":"other","variationId":"{o0}"}]}`, "",
			func(t *testing.T, fx ptFixture, _, after Flag) {
				if got := fxJSON(t, after.Environments["production"].Prerequisites); got != `[{"key":"other","variation":0}]` {
					t.Fatalf("prerequisites %s", got)
				}
				if len(after.Environments["test"].Prerequisites) != 0 {
					t.Fatal("the prerequisite went to test too")
				}
				// "other" is now in use: it cannot be deleted.
				ptErr(t, fx.st.DeleteFlag(t.Context(), fxProj, "other"), ErrConflict, 409, CodeConflict, "")
			}},
		{"addVariation", ptSemantic, `{"instructions":[{"kind":"addVariation","value":"d","name":"D","description":"the fourth"}]}`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				if v := fxValues(t, after); v != `["a","b","c","d"]` {
					t.Fatalf("values %s", v)
				}
				nv := after.Variations[3]
				if nv.ID == "" || nv.Name != "D" || nv.Description != "the fourth" || slices.ContainsFunc(before.Variations, func(v Variation) bool { return v.ID == nv.ID }) {
					t.Fatalf("new variation %+v", nv)
				}
				for k, c := range after.Environments {
					if c.Version != before.Environments[k].Version+1 {
						t.Errorf("variations changed but %s's version did not rise", k)
					}
				}
			}},
		{"removeVariation", ptSemantic, `{"instructions":[{"kind":"removeVariation","variationId":"{v1}"}]}`, "",
			func(t *testing.T, _ ptFixture, before, after Flag) {
				if v := fxValues(t, after); v != `["a","c"]` {
					t.Fatalf("values %s", v)
				}
				if after.Variations[0].ID != before.Variations[0].ID || after.Variations[1].ID != before.Variations[2].ID {
					t.Fatal("variation IDs did not follow their values")
				}
				// Index 2 ("c") moved down to 1 everywhere.
				if after.Defaults == nil || *after.Defaults != (FlagDefaults{OnVariation: 0, OffVariation: 1}) {
					t.Fatalf("defaults %+v", after.Defaults)
				}
				for k, c := range after.Environments {
					if *c.OffVariation != 1 || *c.Fallthrough.Variation != 0 {
						t.Errorf("%s: off %d fallthrough %d", k, *c.OffVariation, *c.Fallthrough.Variation)
					}
				}
				if got := after.Environments["production"].Targets; len(got) != 1 || got[0].Variation != 0 {
					t.Fatalf("targets %s", fxJSON(t, got))
				}
			}},
		{"updateName and addTags", ptSemantic, `{"instructions":[{"kind":"updateName","value":"Semantic name"},{"kind":"addTags","values":["beta","ops"]}]}`, "",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				if after.Name != "Semantic name" || !slices.Equal(after.Tags, []string{"beta", "ops"}) {
					t.Fatalf("name %q tags %q", after.Name, after.Tags)
				}
			}},
		{"archiveFlag", ptSemantic, `{"comment":"retire","instructions":[{"kind":"archiveFlag"}]}`, "",
			func(t *testing.T, fx ptFixture, _, after Flag) {
				if !after.Archived || after.ArchivedDate != fx.clk.millis() {
					t.Fatalf("archived %v date %d, want %d", after.Archived, after.ArchivedDate, fx.clk.millis())
				}
				for k, c := range after.Environments {
					if !c.Archived {
						t.Errorf("%s is not archived", k)
					}
				}
			}},
		{"environmentKey from the Patch", ptSemantic, `{"instructions":[{"kind":"turnFlagOn"},{"kind":"updateOffVariation","variationId":"{v1}"}]}`, "test",
			func(t *testing.T, _ ptFixture, _, after Flag) {
				c := after.Environments["test"]
				if !c.On || *c.OffVariation != 1 || after.Environments["production"].On {
					t.Fatalf("test on %v off %d", c.On, *c.OffVariation)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, tt.run)
	}

	t.Run("deleteFlag", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		before := fxGet(t, fx.st, "f")
		got, err := fx.st.PatchFlag(t.Context(), fxProj, "f", ptParse(t, ptSemantic, `{"comment":"bye","instructions":[{"kind":"deleteFlag"}]}`))
		if err != nil {
			t.Fatal(err)
		}
		if fxJSON(t, got) != fxJSON(t, before) {
			t.Fatalf("deleteFlag returned %s, want the flag as it was", fxJSON(t, got))
		}
		_, err = fx.st.GetFlag(t.Context(), fxProj, "f")
		ptErr(t, err, ErrNotFound, 404, CodeNotFound, "")
		e := auditLog(t, fx.st)[0]
		if e.Comment != "bye" || !slices.Equal(e.Accesses, []Access{{"deleteFlag", "proj/" + fxProj + ":env/*:flag/f"}}) {
			t.Fatalf("audit entry %+v", e)
		}
	})

	// Refusals specific to semantic patch; each changes nothing.
	refusals := []struct {
		name, body, env, mention string
	}{
		{"unknown kind", `{"environmentKey":"production","instructions":[{"kind":"turnFlagSideways"}]}`, "", "turnFlagSideways"},
		{"missing environmentKey", `{"instructions":[{"kind":"turnFlagOn"}]}`, "", "environmentKey"},
		{"unknown environment", `{"environmentKey":"staging","instructions":[{"kind":"turnFlagOn"}]}`, "", "staging"},
		{"unknown variation", `{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"nope","values":["x"]}]}`, "", "nope"},
		{"deleteFlag not last", `{"instructions":[{"kind":"deleteFlag"},{"kind":"updateName","value":"x"}]}`, "", "instructions[0]"},
		{"key targeted by two variations", `{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"{v1}","values":["alice"]}]}`, "", "alice"},
		{"rollout not summing to 100%", `{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"{v0}":60000}}]}`, "", "100000"},
		{"unknown prerequisite flag", `{"environmentKey":"production","instructions":[{"kind":"addPrerequisite","key":"ghost","variationId":"{o0}"}]}`, "", "ghost"},
		{"removeVariation of a default variation", `{"instructions":[{"kind":"removeVariation","variationId":"{v0}"}]}`, "", "instructions[0]"},
		{"parameter of the wrong type", `{"instructions":[{"kind":"updateName","value":7}]}`, "", "value"},
	}
	for _, tt := range refusals {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			t.Parallel()
			fx := ptSetup(t)
			fz := fxFreeze(t, fx.st, "f")
			n := len(auditLog(t, fx.st))
			_, err := fx.st.PatchFlag(t.Context(), fxProj, "f", ptParse(t, ptSemantic, fx.expand(tt.body)))
			ptErr(t, err, ErrInvalid, 400, CodeInvalidRequest, tt.mention)
			fz.unchanged(t, fx.st)
			if got := len(auditLog(t, fx.st)); got != n {
				t.Fatalf("a refused patch was audited: %d entries, want %d", got, n)
			}
		})
	}
}

// Refused flag patches change nothing: not the flag, not the store
// revision.
func TestPatchStore_FlagRefusals(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	tests := []struct {
		name, contentType, body string
		sentinel                error
		status                  int
		code, mention           string
	}{
		{"write _version", js, `[{"op":"replace","path":"/_version","value":99}]`, ErrInvalid, 400, CodeInvalidRequest, "_version"},
		{"write _environmentName", js, `[{"op":"replace","path":"/environments/production/_environmentName","value":"Prod"}]`, ErrInvalid, 400, CodeInvalidRequest, "_environmentName"},
		{"write a variation _id", js, `[{"op":"replace","path":"/variations/0/_id","value":"x"}]`, ErrInvalid, 400, CodeInvalidRequest, "_id"},
		{"copy onto _version", js, `[{"op":"copy","from":"/creationDate","path":"/_version"}]`, ErrInvalid, 400, CodeInvalidRequest, "_version"},
		{"write creationDate", js, `[{"op":"replace","path":"/creationDate","value":1}]`, ErrInvalid, 400, CodeInvalidRequest, "creationDate"},
		{"merge _version", js, `{"_version":99}`, ErrInvalid, 400, CodeInvalidRequest, "_version"},
		{"merge nested computed field", js, `{"environments":{"test":{"_environmentName":"T"}}}`, ErrInvalid, 400, CodeInvalidRequest, "_environmentName"},
		{"merge creationDate", js, `{"merge":{"creationDate":1}}`, ErrInvalid, 400, CodeInvalidRequest, "creationDate"},
		{"write an environment's version", js, `[{"op":"replace","path":"/environments/test/version","value":9}]`, ErrInvalid, 400, CodeInvalidRequest, "version"},
		{"change the key", js, `[{"op":"replace","path":"/key","value":"g"}]`, ErrInvalid, 400, CodeInvalidRequest, "key"},
		{"merge the key", js, `{"key":"g"}`, ErrInvalid, 400, CodeInvalidRequest, "key"},
		{"remove a missing field", js, `[{"op":"remove","path":"/maintainerId"}]`, ErrPatchFailed, 422, CodePatchFailed, ""},
		{"replace in a missing environment", js, `[{"op":"replace","path":"/environments/staging/on","value":true}]`, ErrPatchFailed, 422, CodePatchFailed, ""},
		{"add past the end of an array", js, `[{"op":"add","path":"/environments/production/targets/5/values/-","value":"x"}]`, ErrPatchFailed, 422, CodePatchFailed, ""},
		{"second op fails after first applied", js, `[{"op":"replace","path":"/name","value":"half"},{"op":"remove","path":"/tags/3"}]`, ErrPatchFailed, 422, CodePatchFailed, ""},
		{"offVariation out of range", js, `[{"op":"replace","path":"/environments/production/offVariation","value":7}]`, ErrInvalid, 400, CodeInvalidRequest, "offVariation"},
		{"merge offVariation out of range", js, `{"environments":{"test":{"offVariation":-1}}}`, ErrInvalid, 400, CodeInvalidRequest, "offVariation"},
		{"unknown field", js, `[{"op":"add","path":"/bogus","value":1}]`, ErrInvalid, 400, CodeInvalidRequest, "bogus"},
		{"field of the wrong type", js, `{"temporary":"yes"}`, ErrInvalid, 400, CodeInvalidRequest, ""},
		{"empty name", js, `[{"op":"replace","path":"/name","value":" "}]`, ErrInvalid, 400, CodeInvalidRequest, "name"},
		{"add an environment", js, `{"environments":{"staging":{"on":true}}}`, ErrInvalid, 400, CodeInvalidRequest, "staging"},
		{"remove an environment", js, `[{"op":"remove","path":"/environments/test"}]`, ErrInvalid, 400, CodeInvalidRequest, "test"},
		{"one variation left", js, `[{"op":"replace","path":"/variations","value":[{"value":"only"}]}]`, ErrInvalid, 400, CodeInvalidRequest, "variations"},
		{"unknown op", js, `[{"op":"increment","path":"/_version"}]`, ErrInvalid, 400, CodeInvalidRequest, "increment"},
		{"test of the root without a value", js, `[{"op":"test","path":""}]`, ErrInvalid, 400, CodeInvalidRequest, "value"},
		{"test without a value", js, `[{"op":"test","path":"/maintainerId"},{"op":"replace","path":"/name","value":"x"}]`, ErrInvalid, 400, CodeInvalidRequest, "value"},
		{"copy without from", js, `[{"op":"copy","path":"/description"}]`, ErrInvalid, 400, CodeInvalidRequest, "from"},
		{"move with a null from", js, `[{"op":"move","from":null,"path":"/description"}]`, ErrInvalid, 400, CodeInvalidRequest, "from"},
		{"segmentMatch of a missing segment", js, `[{"op":"add","path":"/environments/test/rules/-","value":{"variation":0,"clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["ghost"]}]}}]`, ErrInvalid, 400, CodeInvalidRequest, "ghost"},
		{"write experiments", js, `[{"op":"add","path":"/experiments/items/-","value":{"k":1}}]`, ErrInvalid, 400, CodeInvalidRequest, "experiments"},
		{"merge experiments", js, `{"experiments":{"baselineIdx":1}}`, ErrInvalid, 400, CodeInvalidRequest, "experiments"},
		{"write goalIds", js, `{"goalIds":["g1"]}`, ErrInvalid, 400, CodeInvalidRequest, "goalIds"},
		{"prerequisite on itself", js, `[{"op":"add","path":"/environments/test/prerequisites/-","value":{"key":"f","variation":0}}]`, ErrInvalid, 400, CodeInvalidRequest, "prerequisite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := ptSetup(t)
			fz := fxFreeze(t, fx.st, "f")
			_, err := fx.st.PatchFlag(t.Context(), fxProj, "f", ptParse(t, tt.contentType, tt.body))
			ptErr(t, err, tt.sentinel, tt.status, tt.code, tt.mention)
			fz.unchanged(t, fx.st)
		})
	}

	t.Run("semantic body without the media type", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		fz := fxFreeze(t, fx.st, "f")
		for _, ct := range []string{"application/json", "", "application/json; charset=utf-8"} {
			_, err := ParsePatch(ct, []byte(`{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`))
			ptErr(t, err, ErrInvalid, 400, CodeInvalidRequest, SemanticPatchMediaType)
		}
		fz.unchanged(t, fx.st)
	})

	// All or nothing: instruction 0 alone would succeed (shown by a dry
	// run), but instruction 1 fails, so nothing of instruction 0 is kept.
	t.Run("semantic middle instruction fails", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		fz := fxFreeze(t, fx.st, "f")
		first := `{"kind":"updateName","value":"Half done"}`
		alone := ptParse(t, ptSemantic, `{"environmentKey":"production","instructions":[`+first+`]}`)
		alone.DryRun = true
		if got, err := fx.st.PatchFlag(t.Context(), fxProj, "f", alone); err != nil || got.Name != "Half done" {
			t.Fatalf("instruction 0 alone: %q %v", got.Name, err)
		}
		fz.unchanged(t, fx.st)
		body := `{"environmentKey":"production","instructions":[` + first +
			`,{"kind":"addTargets","variationId":"no-such-variation","values":["x"]},{"kind":"turnFlagOn"}]}`
		_, err := fx.st.PatchFlag(t.Context(), fxProj, "f", ptParse(t, ptSemantic, body))
		e := ptErr(t, err, ErrInvalid, 400, CodeInvalidRequest, "instructions[1]")
		if len(e.Errors) != 1 || e.Errors[0].Attribute != "instructions[1]" {
			t.Fatalf("field errors %+v", e.Errors)
		}
		fz.unchanged(t, fx.st)
	})

	t.Run("unknown flag", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		_, err := fx.st.PatchFlag(t.Context(), fxProj, "ghost", ptParse(t, "application/json", `[{"op":"replace","path":"/name","value":"x"}]`))
		ptErr(t, err, ErrNotFound, 404, CodeNotFound, "")
		_, err = fx.st.PatchFlag(t.Context(), "nope", "f", ptParse(t, "application/json", `{"name":"x"}`))
		ptErr(t, err, ErrNotFound, 404, CodeNotFound, "")
	})

	t.Run("malformed Patch values", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		fz := fxFreeze(t, fx.st, "f")
		for _, p := range []Patch{{}, {Kind: JSONPatch}, {Kind: MergePatch}, {Kind: SemanticPatch}, {Kind: 42, Ops: json.RawMessage(`[]`)}} {
			_, err := fx.st.PatchFlag(t.Context(), fxProj, "f", p)
			ptErr(t, err, ErrInvalid, 400, CodeInvalidRequest, "")
		}
		fz.unchanged(t, fx.st)
	})
}

// ptSegSetup is ptSetup plus segment "beta" in production, with alice
// included.
func ptSegSetup(t testing.TB) ptFixture {
	t.Helper()
	fx := ptSetup(t)
	fxCreateSeg(t, fx.st, "production", "beta", SegmentPost{Name: "Beta", Description: "Beta testers"})
	fxUpdateSeg(t, fx.st, "production", "beta", func(s *Segment) { s.Included = []string{"alice"} })
	fx.clk.tick()
	return fx
}

func TestPatchStore_Segment(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	tests := []struct {
		name, contentType, body string
		check                   func(t *testing.T, before, after Segment)
	}{
		{"add to included", js, `[{"op":"add","path":"/included/-","value":"bob"}]`,
			func(t *testing.T, _, after Segment) {
				if !slices.Equal(after.Included, []string{"alice", "bob"}) {
					t.Fatalf("included %q", after.Included)
				}
			}},
		{"add a list the representation omits", js, `{"patch":[{"op":"add","path":"/excluded","value":["mallory"]}],"comment":"keep out"}`,
			func(t *testing.T, _, after Segment) {
				if !slices.Equal(after.Excluded, []string{"mallory"}) {
					t.Fatalf("excluded %q", after.Excluded)
				}
			}},
		{"add a rule", js, `[{"op":"add","path":"/rules/-","value":{"description":"staff","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}}]`,
			func(t *testing.T, _, after Segment) {
				if len(after.Rules) != 1 || after.Rules[0].ID == "" || after.Rules[0].Description != "staff" {
					t.Fatalf("rules %s", fxJSON(t, after.Rules))
				}
				if c := after.Rules[0].Clauses; len(c) != 1 || c[0].ID == "" || c[0].ContextKind != "user" {
					t.Fatalf("clauses %s", fxJSON(t, c))
				}
			}},
		{"test on version passes", js, `[{"op":"test","path":"/version","value":2},{"op":"replace","path":"/name","value":"Guarded"}]`,
			func(t *testing.T, _, after Segment) {
				if after.Name != "Guarded" {
					t.Fatalf("name %q", after.Name)
				}
			}},
		{"merge", js, `{"description":null,"tags":["beta"]}`,
			func(t *testing.T, _, after Segment) {
				if after.Description != "" || !slices.Equal(after.Tags, []string{"beta"}) {
					t.Fatalf("description %q tags %q", after.Description, after.Tags)
				}
			}},
		{"merge envelope", js, `{"merge":{"name":"Merged"},"comment":"c"}`,
			func(t *testing.T, _, after Segment) {
				if after.Name != "Merged" {
					t.Fatalf("name %q", after.Name)
				}
			}},
		{"semantic addIncludedTargets", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"addIncludedTargets","contextKind":"organization","values":["acme","globex"]}]}`,
			func(t *testing.T, _, after Segment) {
				if got := fxJSON(t, after.IncludedContexts); got != `[{"contextKind":"organization","values":["acme","globex"]}]` {
					t.Fatalf("includedContexts %s", got)
				}
				if !slices.Equal(after.Included, []string{"alice"}) {
					t.Fatalf("included %q", after.Included)
				}
			}},
		{"semantic addRule", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"addRule","description":"orgs","clauses":[{"contextKind":"organization","attribute":"tier","op":"in","values":["gold"]}]}]}`,
			func(t *testing.T, _, after Segment) {
				if len(after.Rules) != 1 || after.Rules[0].ID == "" || after.Rules[0].Description != "orgs" {
					t.Fatalf("rules %s", fxJSON(t, after.Rules))
				}
				if c := after.Rules[0].Clauses; len(c) != 1 || c[0].ID == "" || c[0].ContextKind != "organization" {
					t.Fatalf("clauses %s", fxJSON(t, c))
				}
			}},
		{"semantic updateName", ptSemantic, `{"environmentKey":"production","comment":"x","instructions":[{"kind":"updateName","value":"Beta 2"}]}`,
			func(t *testing.T, _, after Segment) {
				if after.Name != "Beta 2" {
					t.Fatalf("name %q", after.Name)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := ptSegSetup(t)
			before := fxGetSeg(t, fx.st, "production", "beta")
			after, err := fx.st.PatchSegment(t.Context(), fxProj, "production", "beta", ptParse(t, tt.contentType, tt.body))
			if err != nil {
				t.Fatalf("PatchSegment: %v", err)
			}
			if a, b := fxJSON(t, after), fxJSON(t, fxGetSeg(t, fx.st, "production", "beta")); a != b {
				t.Fatalf("PatchSegment and GetSegment disagree:\n%s\n%s", a, b)
			}
			if after.Version != before.Version+1 || after.LastModifiedDate != fx.clk.millis() {
				t.Fatalf("version %d -> %d, lastModifiedDate %d", before.Version, after.Version, after.LastModifiedDate)
			}
			tt.check(t, before, after)
		})
	}

	refusals := []struct {
		name, contentType, body, env string
		sentinel                     error
		status                       int
		code, mention                string
	}{
		{"semantic without environmentKey", ptSemantic, `{"instructions":[{"kind":"updateName","value":"x"}]}`, "production", ErrInvalid, 400, CodeInvalidRequest, "environmentKey"},
		{"semantic for another environment", ptSemantic, `{"environmentKey":"test","instructions":[{"kind":"updateName","value":"x"}]}`, "production", ErrInvalid, 400, CodeInvalidRequest, "environmentKey"},
		{"semantic unknown kind", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`, "production", ErrInvalid, 400, CodeInvalidRequest, "turnFlagOn"},
		{"semantic middle instruction fails", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"updateName","value":"x"},{"kind":"addExcludedTargets","values":["alice"]}]}`, "production", ErrInvalid, 400, CodeInvalidRequest, "instructions[1]"},
		{"failed test on version", js, `[{"op":"test","path":"/version","value":1},{"op":"replace","path":"/name","value":"lost"}]`, "production", ErrConflict, 409, CodeOptimisticLocking, ""},
		{"change the key", js, `[{"op":"replace","path":"/key","value":"gamma"}]`, "production", ErrInvalid, 400, CodeInvalidRequest, "key"},
		{"write version", js, `{"version":7}`, "production", ErrInvalid, 400, CodeInvalidRequest, "version"},
		{"repeated included key", js, `[{"op":"add","path":"/included/-","value":"alice"}]`, "production", ErrInvalid, 400, CodeInvalidRequest, "included[1]"},
		{"empty context kind", js, `[{"op":"add","path":"/includedContexts","value":[{"contextKind":"","values":["x"]}]}]`, "production", ErrInvalid, 400, CodeInvalidRequest, "contextKind"},
		{"write generation", js, `{"generation":3}`, "production", ErrInvalid, 400, CodeInvalidRequest, "generation"},
		{"remove a missing rule", js, `[{"op":"remove","path":"/rules/0"}]`, "production", ErrPatchFailed, 422, CodePatchFailed, ""},
		{"match itself", js, `[{"op":"add","path":"/rules/-","value":{"clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]}}]`, "production", ErrInvalid, 400, CodeInvalidRequest, "itself"},
	}
	for _, tt := range refusals {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			t.Parallel()
			fx := ptSegSetup(t)
			fz := fxFreezeSeg(t, fx.st, "production", "beta")
			_, err := fx.st.PatchSegment(t.Context(), fxProj, tt.env, "beta", ptParse(t, tt.contentType, tt.body))
			ptErr(t, err, tt.sentinel, tt.status, tt.code, tt.mention)
			fz.unchanged(t, fx.st)
		})
	}
}

// ptFrozenJSON records a resource's JSON and the store revision.
type ptFrozenJSON struct {
	json string
	rev  uint64
}

func ptFreeze(t testing.TB, st *Store, get func() (any, error)) ptFrozenJSON {
	t.Helper()
	v, err := get()
	if err != nil {
		t.Fatal(err)
	}
	return ptFrozenJSON{json: fxJSON(t, v), rev: fxRev(t, st)}
}

func (fz ptFrozenJSON) unchanged(t testing.TB, st *Store, get func() (any, error)) {
	t.Helper()
	v, err := get()
	if err != nil {
		t.Fatal(err)
	}
	if got := fxJSON(t, v); got != fz.json {
		t.Fatalf("changed:\nbefore %s\nafter  %s", fz.json, got)
	}
	if rev := fxRev(t, st); rev != fz.rev {
		t.Fatalf("store revision moved from %d to %d", fz.rev, rev)
	}
}

func TestPatchStore_Project(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	t.Run("rename and tag", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		p, err := st.PatchProject(t.Context(), fxProj, ptParse(t, js,
			`{"patch":[{"op":"replace","path":"/name","value":"Renamed"},{"op":"add","path":"/tags/-","value":"team-a"}],"comment":"tidy"}`))
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.GetProject(t.Context(), fxProj)
		if err != nil {
			t.Fatal(err)
		}
		if p.Name != "Renamed" || !slices.Equal(p.Tags, []string{"team-a"}) || fxJSON(t, p) != fxJSON(t, got) {
			t.Fatalf("returned %s, stored %s", fxJSON(t, p), fxJSON(t, got))
		}
		p, err = st.PatchProject(t.Context(), fxProj, ptParse(t, js, `[{"op":"add","path":"/tags/0","value":"first"}]`))
		if err != nil || !slices.Equal(p.Tags, []string{"first", "team-a"}) {
			t.Fatalf("tags %q %v", p.Tags, err)
		}
	})
	refusals := []struct {
		name, body string
		sentinel   error
		status     int
		mention    string
	}{
		{"merge patch", `{"name":"x"}`, ErrInvalid, 400, "JSON Patch"},
		{"merge envelope", `{"merge":{"name":"x"}}`, ErrInvalid, 400, "JSON Patch"},
		{"key change", `[{"op":"replace","path":"/key","value":"other"}]`, ErrInvalid, 400, "key"},
		{"_id change", `[{"op":"replace","path":"/_id","value":"x"}]`, ErrInvalid, 400, "_id"},
		{"creationDate change", `[{"op":"replace","path":"/creationDate","value":5}]`, ErrInvalid, 400, "creationDate"},
		{"environments", `[{"op":"add","path":"/environments","value":[{"key":"x","name":"X","color":"000000"}]}]`, ErrInvalid, 400, "environments"},
		{"bad tag", `[{"op":"add","path":"/tags/-","value":"no spaces"}]`, ErrInvalid, 400, "tag"},
		{"missing path", `[{"op":"remove","path":"/tags/0"}]`, ErrPatchFailed, 422, ""},
		{"failed test", `[{"op":"test","path":"/name","value":"Other"},{"op":"replace","path":"/name","value":"x"}]`, ErrConflict, 409, ""},
	}
	for _, tt := range refusals {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			t.Parallel()
			st, _ := fxSetup(t)
			get := func() (any, error) { return st.GetProject(t.Context(), fxProj) }
			fz := ptFreeze(t, st, get)
			_, err := st.PatchProject(t.Context(), fxProj, ptParse(t, js, tt.body))
			ptErr(t, err, tt.sentinel, tt.status, "", tt.mention)
			fz.unchanged(t, st, get)
		})
	}
	t.Run("semantic refused", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		_, err := st.PatchProject(t.Context(), fxProj, ptParse(t, ptSemantic, `{"instructions":[{"kind":"updateName","value":"x"}]}`))
		ptErr(t, err, ErrInvalid, 400, CodeInvalidRequest, "semantic patch")
	})
}

func TestPatchStore_Environment(t *testing.T) {
	t.Parallel()
	const js = "application/json"
	t.Run("color and name", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		e, err := st.PatchEnvironment(t.Context(), fxProj, "production", ptParse(t, js,
			`[{"op":"replace","path":"/color","value":"00FF00"},{"op":"replace","path":"/name","value":"Prod"}]`))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetEnvironment(t.Context(), fxProj, "production")
		if e.Color != "00FF00" || e.Name != "Prod" || e.Version != 2 || fxJSON(t, e) != fxJSON(t, got) {
			t.Fatalf("returned %s, stored %s", fxJSON(t, e), fxJSON(t, got))
		}
		// Flags show the new environment name.
		fxCreate(t, st, "f", fxPost("f"))
		if n := fxGet(t, st, "f").Environments["production"].EnvironmentName; n != "Prod" {
			t.Fatalf("flag shows environment name %q", n)
		}
	})
	t.Run("test on version", func(t *testing.T) {
		t.Parallel()
		st, _ := fxSetup(t)
		guarded := func(v int, color string) string {
			return fmt.Sprintf(`{"patch":[{"op":"test","path":"/version","value":%d},{"op":"replace","path":"/color","value":%q}]}`, v, color)
		}
		e, err := st.PatchEnvironment(t.Context(), fxProj, "test", ptParse(t, js, guarded(1, "111111")))
		if err != nil || e.Version != 2 || e.Color != "111111" {
			t.Fatalf("first guarded patch: %+v %v", e, err)
		}
		get := func() (any, error) { return st.GetEnvironment(t.Context(), fxProj, "test") }
		fz := ptFreeze(t, st, get)
		_, err = st.PatchEnvironment(t.Context(), fxProj, "test", ptParse(t, js, guarded(1, "222222")))
		ptErr(t, err, ErrConflict, 409, CodeOptimisticLocking, "")
		fz.unchanged(t, st, get)
	})
	refusals := []struct {
		name, body string
		sentinel   error
		status     int
		mention    string
	}{
		{"apiKey change", `[{"op":"replace","path":"/apiKey","value":"sdk-mine"}]`, ErrInvalid, 400, "apiKey"},
		{"mobileKey change", `[{"op":"replace","path":"/mobileKey","value":"mob-mine"}]`, ErrInvalid, 400, ""},
		{"_id change", `[{"op":"replace","path":"/_id","value":"x"}]`, ErrInvalid, 400, "_id"},
		{"key change", `[{"op":"replace","path":"/key","value":"prod"}]`, ErrInvalid, 400, "key"},
		{"version write", `[{"op":"replace","path":"/version","value":9}]`, ErrInvalid, 400, "version"},
		{"merge", `{"color":"000000"}`, ErrInvalid, 400, "JSON Patch"},
		{"bad color", `[{"op":"replace","path":"/color","value":"green"}]`, ErrInvalid, 400, "color"},
		{"unknown field", `[{"op":"add","path":"/retiredKeys","value":[]}]`, ErrInvalid, 400, "retiredKeys"},
	}
	for _, tt := range refusals {
		t.Run("refused/"+tt.name, func(t *testing.T) {
			t.Parallel()
			st, _ := fxSetup(t)
			get := func() (any, error) { return st.GetEnvironment(t.Context(), fxProj, "production") }
			fz := ptFreeze(t, st, get)
			_, err := st.PatchEnvironment(t.Context(), fxProj, "production", ptParse(t, js, tt.body))
			ptErr(t, err, tt.sentinel, tt.status, "", tt.mention)
			fz.unchanged(t, st, get)
		})
	}
}

// A dry run returns the would-be result and stores and records nothing.
func TestPatchStore_DryRun(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, contentType, body string
		check                   func(t *testing.T, f Flag)
	}{
		{"JSON Patch", "application/json", `[{"op":"replace","path":"/name","value":"Would be"}]`,
			func(t *testing.T, f Flag) {
				if f.Name != "Would be" {
					t.Fatalf("name %q", f.Name)
				}
			}},
		{"merge patch", "application/json", `{"merge":{"name":"Would be","environments":{"test":{"on":true}}},"comment":"c"}`,
			func(t *testing.T, f Flag) {
				if f.Name != "Would be" || !f.Environments["test"].On || f.Environments["test"].Version != 2 {
					t.Fatalf("name %q test %+v", f.Name, f.Environments["test"])
				}
			}},
		{"semantic patch", ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"updateName","value":"Would be"},{"kind":"addRule","variationId":"{v1}","clauses":[{"attribute":"country","op":"in","values":["NZ"]}]}]}`,
			func(t *testing.T, f Flag) {
				if f.Name != "Would be" || len(f.Environments["production"].Rules) != 1 {
					t.Fatalf("name %q rules %s", f.Name, fxJSON(t, f.Environments["production"].Rules))
				}
			}},
		{"semantic deleteFlag", ptSemantic, `{"instructions":[{"kind":"deleteFlag"}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := ptSetup(t)
			fz := fxFreeze(t, fx.st, "f")
			before := fxGet(t, fx.st, "f")
			n := len(auditLog(t, fx.st))
			p := ptParse(t, tt.contentType, fx.expand(tt.body))
			p.DryRun = true
			got, err := fx.st.PatchFlag(t.Context(), fxProj, "f", p)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if tt.check != nil {
				if got.Version != before.Version+1 {
					t.Fatalf("dry run _version %d, want %d", got.Version, before.Version+1)
				}
				if err := validateFlag(&got); err != nil {
					t.Fatalf("would-be flag invalid: %v", err)
				}
				tt.check(t, got)
			}
			fz.unchanged(t, fx.st)
			if m := len(auditLog(t, fx.st)); m != n {
				t.Fatalf("a dry run was audited: %d entries, want %d", m, n)
			}
			// The same patch for real gives what the dry run showed.
			p.DryRun = false
			real, err := fx.st.PatchFlag(t.Context(), fxProj, "f", p)
			if err != nil {
				t.Fatal(err)
			}
			if tt.check != nil && fxJSON(t, real) != fxJSON(t, got) {
				// Rule IDs are fresh UUIDs; compare without them.
				for _, f := range []*Flag{&real, &got} {
					for _, c := range f.Environments {
						for i := range c.Rules {
							c.Rules[i].ID = ""
							for j := range c.Rules[i].Clauses {
								c.Rules[i].Clauses[j].ID = ""
							}
						}
					}
				}
				if fxJSON(t, real) != fxJSON(t, got) {
					t.Fatalf("dry run and real run differ:\ndry  %s\nreal %s", fxJSON(t, got), fxJSON(t, real))
				}
			}
		})
	}

	t.Run("invalid patch still fails", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		fz := fxFreeze(t, fx.st, "f")
		for _, c := range []struct {
			contentType, body string
			sentinel          error
		}{
			{"application/json", `[{"op":"replace","path":"/environments/production/offVariation","value":9}]`, ErrInvalid},
			{"application/json", `[{"op":"test","path":"/version","value":1},{"op":"replace","path":"/name","value":"x"}]`, ErrConflict},
			{"application/json", `[{"op":"remove","path":"/maintainerId"}]`, ErrPatchFailed},
			{ptSemantic, `{"instructions":[{"kind":"turnFlagOn"}]}`, ErrInvalid},
		} {
			p := ptParse(t, c.contentType, c.body)
			p.DryRun = true
			if _, err := fx.st.PatchFlag(t.Context(), fxProj, "f", p); !errors.Is(err, c.sentinel) {
				t.Fatalf("%s: dry run gave %v, want %v", c.body, err, c.sentinel)
			}
		}
		fz.unchanged(t, fx.st)
	})

	t.Run("segment", func(t *testing.T) {
		t.Parallel()
		fx := ptSegSetup(t)
		fz := fxFreezeSeg(t, fx.st, "production", "beta")
		p := ptParse(t, ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"addIncludedTargets","values":["bob"]}]}`)
		p.DryRun = true
		got, err := fx.st.PatchSegment(t.Context(), fxProj, "production", "beta", p)
		if err != nil || !slices.Equal(got.Included, []string{"alice", "bob"}) {
			t.Fatalf("dry run: %q %v", got.Included, err)
		}
		fz.unchanged(t, fx.st)
	})

	t.Run("WithDryRun context", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		fz := fxFreeze(t, fx.st, "f")
		got, err := fx.st.PatchFlag(WithDryRun(t.Context()), fxProj, "f", ptParse(t, "application/json", `{"name":"Ctx dry"}`))
		if err != nil || got.Name != "Ctx dry" {
			t.Fatalf("%q %v", got.Name, err)
		}
		fz.unchanged(t, fx.st)
	})
}

// Every successful PATCH records one audit entry with the patch's comment;
// the detailed form carries the JSON Patch as delta or the merge object as
// merge, and the accesses name the actions taken.
func TestPatchStore_Audit(t *testing.T) {
	t.Parallel()
	flagRes := func(env string) string { return "proj/" + fxProj + ":env/" + env + ":flag/f" }
	type target int
	const (
		onFlag target = iota
		onSegment
		onProject
		onEnvironment
	)
	tests := []struct {
		name        string
		on          target
		ctxComment  string
		contentType string
		body        string
		comment     string
		delta       string // expected delta JSON, "" for none
		merge       string // expected merge JSON, "" for none
		accesses    []Access
	}{
		{"JSON Patch rename", onFlag, "", "application/json",
			`{"comment":"new name","patch":[{"op":"test","path":"/version","value":2},{"op":"replace","path":"/name","value":"Renamed"}]}`,
			"new name", `[{"op":"test","path":"/version","value":2},{"op":"replace","path":"/name","value":"Renamed"}]`, "",
			[]Access{{"updateName", flagRes("*")}}},
		{"JSON Patch bare array takes the context's comment", onFlag, "from ctx", "application/json",
			`[{"op":"replace","path":"/environments/test/on","value":true},{"op":"add","path":"/tags/-","value":"t"}]`,
			"from ctx", `[{"op":"replace","path":"/environments/test/on","value":true},{"op":"add","path":"/tags/-","value":"t"}]`, "",
			[]Access{{"updateTags", flagRes("*")}, {"updateOn", flagRes("test")}}},
		{"the patch's comment wins over the context's", onFlag, "from ctx", "application/json",
			`{"comment":"from body","patch":[{"op":"remove","path":"/description"}]}`,
			"from body", `[{"op":"remove","path":"/description"}]`, "",
			[]Access{{"updateDescription", flagRes("*")}}},
		{"merge patch", onFlag, "", "application/json",
			`{"merge":{"environments":{"production":{"on":true,"offVariation":0}}},"comment":"merged"}`,
			"merged", "", `{"environments":{"production":{"on":true,"offVariation":0}}}`,
			[]Access{{"updateOn", flagRes("production")}, {"updateOffVariation", flagRes("production")}}},
		{"bare merge", onFlag, "", "application/json", `{"temporary":false}`,
			"", "", `{"temporary":false}`,
			[]Access{{"updateTemporary", flagRes("*")}}},
		{"semantic turnFlagOn", onFlag, "", ptSemantic,
			`{"environmentKey":"production","comment":"launch","instructions":[{"kind":"turnFlagOn"}]}`,
			"launch", "", "",
			[]Access{{"updateOn", flagRes("production")}}},
		{"semantic flag-wide and targeting", onFlag, "", ptSemantic,
			`{"environmentKey":"test","comment":"several","instructions":[{"kind":"updateName","value":"N"},{"kind":"addTags","values":["x"]},{"kind":"addTargets","variationId":"{v0}","values":["zed"]}]}`,
			"several", "", "",
			[]Access{{"updateName", flagRes("*")}, {"updateTags", flagRes("*")}, {"updateTargets", flagRes("test")}}},
		{"segment JSON Patch", onSegment, "", "application/json",
			`{"comment":"add bob","patch":[{"op":"add","path":"/included/-","value":"bob"}]}`,
			"add bob", `[{"op":"add","path":"/included/-","value":"bob"}]`, "",
			[]Access{{"updateIncluded", "proj/" + fxProj + ":env/production:segment/beta"}}},
		{"segment merge", onSegment, "", "application/json",
			`{"merge":{"name":"B"},"comment":"rename"}`,
			"rename", "", `{"name":"B"}`,
			[]Access{{"updateName", "proj/" + fxProj + ":env/production:segment/beta"}}},
		{"segment semantic", onSegment, "", ptSemantic,
			`{"environmentKey":"production","comment":"orgs","instructions":[{"kind":"addExcludedTargets","contextKind":"org","values":["acme"]}]}`,
			"orgs", "", "",
			[]Access{{"updateExcluded", "proj/" + fxProj + ":env/production:segment/beta"}}},
		{"project JSON Patch", onProject, "", "application/json",
			`{"comment":"proj","patch":[{"op":"replace","path":"/name","value":"P2"}]}`,
			"proj", `[{"op":"replace","path":"/name","value":"P2"}]`, "",
			[]Access{{"updateProjectName", "proj/" + fxProj}}},
		{"environment JSON Patch", onEnvironment, "", "application/json",
			`{"comment":"env","patch":[{"op":"replace","path":"/color","value":"ABCDEF"}]}`,
			"env", `[{"op":"replace","path":"/color","value":"ABCDEF"}]`, "",
			[]Access{{"updateColor", "proj/" + fxProj + ":env/production"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fx := ptSegSetup(t)
			n := len(auditLog(t, fx.st))
			ctx := t.Context()
			if tt.ctxComment != "" {
				ctx = WithComment(ctx, tt.ctxComment)
			}
			p := ptParse(t, tt.contentType, fx.expand(tt.body))
			var err error
			switch tt.on {
			case onFlag:
				_, err = fx.st.PatchFlag(ctx, fxProj, "f", p)
			case onSegment:
				_, err = fx.st.PatchSegment(ctx, fxProj, "production", "beta", p)
			case onProject:
				_, err = fx.st.PatchProject(ctx, fxProj, p)
			case onEnvironment:
				_, err = fx.st.PatchEnvironment(ctx, fxProj, "production", p)
			}
			if err != nil {
				t.Fatal(err)
			}
			log := auditLog(t, fx.st)
			if len(log) != n+1 {
				t.Fatalf("%d new entries, want 1", len(log)-n)
			}
			sum := log[0]
			if sum.Comment != tt.comment || !slices.Equal(sum.Accesses, tt.accesses) {
				t.Fatalf("entry comment %q accesses %v, want %q %v", sum.Comment, sum.Accesses, tt.comment, tt.accesses)
			}
			if sum.Delta != nil || sum.Merge != nil {
				t.Fatal("the summary form carries delta or merge")
			}
			e, err := fx.st.GetAuditEntry(t.Context(), sum.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name      string
				got       json.RawMessage
				wantJSON  string
				wantEmpty bool
			}{{"delta", e.Delta, tt.delta, tt.delta == ""}, {"merge", e.Merge, tt.merge, tt.merge == ""}} {
				if c.wantEmpty {
					if len(c.got) != 0 {
						t.Errorf("%s = %s, want none", c.name, c.got)
					}
					continue
				}
				var got, want any
				if err := json.Unmarshal(c.got, &got); err != nil {
					t.Fatalf("%s = %s: %v", c.name, c.got, err)
				}
				_ = json.Unmarshal([]byte(c.wantJSON), &want)
				if !jsonEqual(got, want) {
					t.Errorf("%s = %s, want %s", c.name, c.got, c.wantJSON)
				}
			}
			if len(e.PreviousVersion) == 0 || len(e.CurrentVersion) == 0 {
				t.Error("the detailed form lacks its snapshots")
			}
		})
	}

	// A patch that changes nothing succeeds and records nothing.
	t.Run("no-op", func(t *testing.T) {
		t.Parallel()
		fx := ptSetup(t)
		fz := fxFreeze(t, fx.st, "f")
		n := len(auditLog(t, fx.st))
		for _, c := range []struct{ contentType, body string }{
			{"application/json", `[{"op":"replace","path":"/name","value":"Flag f"}]`},
			{"application/json", `{"merge":{"description":"A flag"},"comment":"same"}`},
			{ptSemantic, `{"environmentKey":"production","instructions":[{"kind":"turnFlagOff"},{"kind":"addTargets","variationId":"{v0}","values":["alice"]}]}`},
		} {
			got, err := fx.st.PatchFlag(t.Context(), fxProj, "f", ptParse(t, c.contentType, fx.expand(c.body)))
			if err != nil || got.Version != fx.f.Version {
				t.Fatalf("%s: _version %d %v", c.body, got.Version, err)
			}
		}
		fz.unchanged(t, fx.st)
		if m := len(auditLog(t, fx.st)); m != n {
			t.Fatalf("no-op patches were audited: %d entries, want %d", m, n)
		}
	})
}

// Concurrent guarded patches: a test on _version lets exactly one writer
// win per version; every loser gets 409 and retries on a fresh read.
func TestPatchStore_ConcurrentVersionTest(t *testing.T) {
	t.Parallel()
	// A clock that moves on every read keeps audit dates distinct, so the
	// whole log can be paged.
	var ms atomic.Int64
	ms.Store(fxT0)
	st, err := Open(":memory:", WithClock(func() time.Time { return time.UnixMilli(ms.Add(1)) }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.CreateProject(t.Context(), ProjectPost{Key: fxProj, Name: "Project"}); err != nil {
		t.Fatal(err)
	}
	fxCreate(t, st, "f", FlagPost{Description: "contended"})
	n0 := len(auditLog(t, st))

	const goroutines, attempts = 16, 10
	var (
		mu        sync.Mutex
		successes int
		conflicts int
		won       = map[int]int{} // _version tested → goroutine that won it
		failures  []string
		wg        sync.WaitGroup
	)
	ctx := context.Background()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := st.GetFlag(ctx, fxProj, "f")
			if err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				return
			}
			for n := range attempts {
				v := f.Version
				body := fmt.Sprintf(`[{"op":"test","path":"/_version","value":%d},{"op":"replace","path":"/description","value":"g%d-%d"}]`, v, g, n)
				p, err := ParsePatch("application/json", []byte(body))
				if err == nil {
					var got Flag
					got, err = st.PatchFlag(ctx, fxProj, "f", p)
					mu.Lock()
					switch {
					case err == nil:
						successes++
						if prev, dup := won[v]; dup {
							failures = append(failures, fmt.Sprintf("version %d won twice (by %d and %d)", v, prev, g))
						}
						won[v] = g
						if got.Version != v+1 || got.Description != fmt.Sprintf("g%d-%d", g, n) {
							failures = append(failures, fmt.Sprintf("winner got _version %d description %q", got.Version, got.Description))
						}
					case errors.Is(err, ErrConflict):
						conflicts++
						var e *Error
						if !errors.As(err, &e) || e.Status != 409 {
							failures = append(failures, fmt.Sprintf("conflict is not a 409 *Error: %v", err))
						}
					default:
						failures = append(failures, fmt.Sprintf("g%d attempt %d: %v", g, n, err))
					}
					mu.Unlock()
				}
				if f, err = st.GetFlag(ctx, fxProj, "f"); err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	if successes+conflicts != goroutines*attempts {
		t.Fatalf("%d successes + %d conflicts, want %d attempts", successes, conflicts, goroutines*attempts)
	}
	if successes == 0 {
		t.Fatal("no attempt succeeded")
	}
	final := fxGet(t, st, "f")
	if final.Version != 1+successes {
		t.Fatalf("final _version %d, want 1 + %d successes", final.Version, successes)
	}
	for v := 1; v <= successes; v++ {
		if _, ok := won[v]; !ok {
			t.Errorf("no winner for _version %d", v)
		}
	}
	log := auditLog(t, st)
	added := log[:len(log)-n0] // newest first
	if len(added) != successes {
		t.Fatalf("audit log gained %d entries, want %d", len(added), successes)
	}
	for i, e := range added {
		if e.Kind != "flag" || e.TitleVerb != "updated the flag Flag f" ||
			!slices.Equal(e.Accesses, []Access{{"updateDescription", "proj/" + fxProj + ":env/*:flag/f"}}) {
			t.Fatalf("entry %d is not a description update: %+v", i, e)
		}
	}
	t.Logf("%d successes, %d conflicts", successes, conflicts)
}
