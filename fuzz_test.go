package flagstore

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// Fuzz targets for the three PATCH dialects on flags. Each input runs on a
// fresh in-memory store holding a richly configured flag "f", so inputs
// cannot affect one another. Invariants, whatever the body:
//   - nothing panics;
//   - every error is an *Error with status 400, 404, 409 or 422 (a panic
//     inside a transaction would surface as a 500 and fail here);
//   - a failed or dry-run patch leaves the flag, the store revision and
//     the audit log untouched;
//   - a successful patch stores a flag that passes validateFlag, that
//     GetFlag returns exactly as PatchFlag did, whose _version rose by at
//     most one, and that a no-op patch leaves alone (the write path's
//     normalisation is idempotent); a change records one audit entry with
//     at least one access, a no-op none.
// Helpers here start with fz.

// fzSetup opens a store for one fuzz input: project fxProj (production and
// test), segment "beta" in production, boolean flag "other" (variation IDs
// o-true, o-false) and flag "f" (string variations a, b, c with IDs v-a,
// v-b, v-c) whose production targeting has targets, context targets, rule
// "rule-1" with clause "clause-1", a prerequisite on "other", and whose
// test fallthrough is a rollout.
func fzSetup(t testing.TB) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(":memory:", WithClock(fxNewClock().now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.CreateProject(ctx, ProjectPost{Key: fxProj, Name: "Project"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateSegment(ctx, fxProj, "production", SegmentPost{Key: "beta", Name: "Beta"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFlag(ctx, fxProj, FlagPost{Key: "other", Name: "Other",
		Variations: []Variation{{ID: "o-true", Value: true}, {ID: "o-false", Value: false}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateFlag(ctx, fxProj, FlagPost{Key: "f", Name: "Flag f", Description: "A flag", Tags: []string{"t1"},
		Variations:       []Variation{{ID: "v-a", Value: "a", Name: "A"}, {ID: "v-b", Value: "b"}, {ID: "v-c", Value: "c"}},
		CustomProperties: map[string]CustomProperty{"jira": {Name: "Jira", Value: []string{"FS-1"}}}}); err != nil {
		t.Fatal(err)
	}
	_, err = st.UpdateFlag(ctx, fxProj, "f", func(f *Flag) error {
		p := f.Environments["production"]
		p.On = true
		p.Targets = []Target{{Values: []string{"alice"}, Variation: 0}}
		p.ContextTargets = []Target{{Values: []string{"acme"}, Variation: 1, ContextKind: "organization"}}
		p.Rules = []Rule{{ID: "rule-1", Variation: intPtr(1), Description: "staff", Clauses: []Clause{
			{ID: "clause-1", Attribute: "email", Op: "endsWith", Values: []any{"@example.com"}}}}}
		p.Prerequisites = []Prerequisite{{Key: "other", Variation: 0}}
		f.Environments["test"].Fallthrough = VariationOrRollout{Rollout: &Rollout{
			Variations: []WeightedVariation{{Variation: 0, Weight: 50000}, {Variation: 2, Weight: 50000}}}}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fzStatuses are the statuses a PATCH of a flag may fail with.
var fzStatuses = map[int]bool{400: true, 404: true, 409: true, 422: true}

// fzRun parses body with contentType, applies it to flag "f" of a fresh
// store (as a dry run when dryRun) and checks the invariants.
func fzRun(t *testing.T, contentType string, body []byte, dryRun bool) {
	p, err := ParsePatch(contentType, body)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) || e.Status != 400 {
			t.Fatalf("ParsePatch error is not a 400 *Error: %T %v", err, err)
		}
		return
	}
	p.DryRun = dryRun
	st := fzSetup(t)
	ctx := context.Background()
	before := fxGet(t, st, "f")
	beforeJSON, rev := fxJSON(t, before), fxRev(t, st)
	unchanged := func(why string) {
		t.Helper()
		if got := fxJSON(t, fxGet(t, st, "f")); got != beforeJSON {
			t.Fatalf("%s changed the flag:\nbefore %s\nafter  %s", why, beforeJSON, got)
		}
		if r := fxRev(t, st); r != rev {
			t.Fatalf("%s moved the store revision from %d to %d", why, rev, r)
		}
	}

	entries := fzAuditCount(t, st)
	got, err := st.PatchFlag(ctx, fxProj, "f", p)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("error is not an *Error: %T %v", err, err)
		}
		if !fzStatuses[e.Status] {
			t.Fatalf("status %d (%s): %v", e.Status, e.Code, err)
		}
		unchanged("a failed patch")
		fzAudited(t, st, entries, 0)
		return
	}
	if got.Key != "f" || got.CreationDate != before.CreationDate {
		t.Fatalf("patched flag has key %q creationDate %d", got.Key, got.CreationDate)
	}
	if got.Version != before.Version && got.Version != before.Version+1 {
		t.Fatalf("_version %d -> %d", before.Version, got.Version)
	}
	if err := validateFlag(&got); err != nil {
		t.Fatalf("patched flag is invalid: %v\n%s", err, fxJSON(t, got))
	}
	if fzDeletes(p) {
		if fxJSON(t, got) != beforeJSON {
			t.Fatalf("deleteFlag returned %s, want the flag as it was", fxJSON(t, got))
		}
		if dryRun {
			unchanged("a dry run of deleteFlag")
			fzAudited(t, st, entries, 0)
			return
		}
		if _, err := st.GetFlag(ctx, fxProj, "f"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("flag still readable after deleteFlag: %v", err)
		}
		fzAudited(t, st, entries, 1)
		return
	}
	if dryRun {
		unchanged("a dry run")
		fzAudited(t, st, entries, 0)
		return
	}
	stored := fxGet(t, st, "f")
	if a, b := fxJSON(t, got), fxJSON(t, stored); a != b {
		t.Fatalf("PatchFlag and GetFlag disagree:\nreturned %s\nstored   %s", a, b)
	}
	if err := validateFlag(&stored); err != nil {
		t.Fatalf("stored flag is invalid: %v", err)
	}
	if got.Version == before.Version {
		unchanged("a patch that kept _version")
		fzAudited(t, st, entries, 0)
	} else {
		// One entry, naming at least one action: a change no action
		// covers would escape both the audit log and policy checks.
		e := fzAudited(t, st, entries, 1)
		if len(e.Accesses) == 0 {
			t.Fatalf("update recorded with no accesses:\nbefore %s\nafter  %s", beforeJSON, fxJSON(t, stored))
		}
	}
	// The stored flag is a fixed point of the write path.
	again, err := st.PatchFlag(ctx, fxProj, "f", Patch{Kind: JSONPatch, Ops: json.RawMessage(`[{"op":"test","path":"/key","value":"f"}]`)})
	if err != nil || fxJSON(t, again) != fxJSON(t, stored) {
		t.Fatalf("a no-op patch of the stored flag: %v\nstored %s\nafter  %s", err, fxJSON(t, stored), fxJSON(t, again))
	}
}

// fzAuditCount is the number of entries in the audit log (the fixture
// writes fewer than a page).
func fzAuditCount(t *testing.T, st *Store) int {
	t.Helper()
	log, err := st.ListAuditLog(context.Background(), AuditListOptions{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	return len(log)
}

// fzAudited asserts that the audit log gained want entries since it held
// n, and returns the newest.
func fzAudited(t *testing.T, st *Store, n, want int) AuditEntry {
	t.Helper()
	log, err := st.ListAuditLog(context.Background(), AuditListOptions{Limit: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != n+want {
		t.Fatalf("audit log gained %d entries, want %d", len(log)-n, want)
	}
	return log[0]
}

// fzDeletes reports whether a patch holds a deleteFlag instruction.
func fzDeletes(p Patch) bool {
	for _, in := range p.Instructions {
		if in.Kind == "deleteFlag" {
			return true
		}
	}
	return false
}

func FuzzJSONPatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"replace","path":"/name","value":"Renamed"}]`,
		`{"patch":[{"op":"replace","path":"/name","value":"Renamed"}],"comment":"why"}`,
		`{"patch":[],"comment":"nothing"}`,
		`[]`,
		`[{"op":"add","path":"/environments/production/targets/-","value":{"variation":2,"values":["bob"]}}]`,
		`[{"op":"add","path":"/environments/production/targets/0/values/-","value":"carol"}]`,
		`[{"op":"add","path":"/environments/production/targets/0/values/-","value":""}]`,
		`[{"op":"add","path":"/environments/production/targets/-","value":{"variation":1,"values":["alice"]}}]`,
		`[{"op":"add","path":"/environments/production/contextTargets/-","value":{"variation":1,"values":["x"],"contextKind":"user"}}]`,
		`[{"op":"replace","path":"/environments/test/on","value":true}]`,
		`[{"op":"replace","path":"/environments/test/on","value":"yes"}]`,
		`[{"op":"remove","path":"/description"}]`,
		`[{"op":"remove","path":"/maintainerId"}]`,
		`[{"op":"move","from":"/description","path":"/name"}]`,
		`[{"op":"copy","from":"/name","path":"/description"}]`,
		`[{"op":"copy","from":"/environments/production","path":"/environments/test"}]`,
		`[{"op":"move","from":"/environments/production/rules/0","path":"/environments/test/rules/0"}]`,
		`[{"op":"test","path":"/_version","value":2},{"op":"replace","path":"/description","value":"guarded"}]`,
		`[{"op":"test","path":"/version","value":2},{"op":"replace","path":"/description","value":"guarded"}]`,
		`[{"op":"test","path":"/version","value":1},{"op":"replace","path":"/description","value":"lost"}]`,
		`[{"op":"test","path":"/environments/production/rules/0/_id","value":"rule-1"}]`,
		`[{"op":"replace","path":"/_version","value":9}]`,
		`[{"op":"replace","path":"/environments/production/_environmentName","value":"P"}]`,
		`[{"op":"add","path":"/environments/production/_debugEventsUntilDate","value":1}]`,
		`[{"op":"replace","path":"/creationDate","value":1}]`,
		`[{"op":"replace","path":"/key","value":"g"}]`,
		`[{"op":"replace","path":"/environments/production/version","value":99}]`,
		`[{"op":"replace","path":"/environments/production/offVariation","value":7}]`,
		`[{"op":"replace","path":"/environments/production/offVariation","value":1e20}]`,
		`[{"op":"replace","path":"/environments/production/offVariation","value":-1}]`,
		`[{"op":"remove","path":"/environments/production/offVariation"}]`,
		`[{"op":"remove","path":"/environments/production/fallthrough/variation"}]`,
		`[{"op":"replace","path":"/environments/test/fallthrough","value":{"variation":1}}]`,
		`[{"op":"replace","path":"/environments/test/fallthrough/rollout/variations/0/weight","value":60000}]`,
		`[{"op":"add","path":"/environments/test/rules/-","value":{"variation":0,"clauses":[{"attribute":"country","op":"in","values":["NZ","AU"]}]}}]`,
		`[{"op":"add","path":"/environments/test/rules/0","value":{"rollout":{"variations":[{"variation":0,"weight":100000}]},"clauses":[]}}]`,
		`[{"op":"add","path":"/environments/production/rules/-","value":{"_id":"rule-1","variation":0,"clauses":[]}}]`,
		`[{"op":"add","path":"/environments/production/rules/0/clauses/0/values/-","value":5}]`,
		`[{"op":"replace","path":"/environments/production/rules/0/clauses/0/op","value":"matches"},{"op":"replace","path":"/environments/production/rules/0/clauses/0/values","value":["("]}]`,
		`[{"op":"add","path":"/environments/test/rules/-","value":{"variation":0,"clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]}}]`,
		`[{"op":"add","path":"/environments/production/rules/-","value":{"variation":0,"clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]}}]`,
		`[{"op":"add","path":"/environments/production/prerequisites/-","value":{"key":"f","variation":0}}]`,
		`[{"op":"add","path":"/environments/test/prerequisites/-","value":{"key":"ghost","variation":0}}]`,
		`[{"op":"replace","path":"/environments/production/prerequisites/0/variation","value":5}]`,
		`[{"op":"replace","path":"/variations","value":[{"value":"x"},{"value":"y"},{"value":"z"}]}]`,
		`[{"op":"add","path":"/variations/-","value":{"value":"d","name":"D"}}]`,
		`[{"op":"remove","path":"/variations/1"}]`,
		`[{"op":"replace","path":"/variations/0/value","value":true}]`,
		`[{"op":"replace","path":"/variations/0/value","value":null}]`,
		`[{"op":"replace","path":"/variations/0/value","value":"b"}]`,
		`[{"op":"replace","path":"/defaults/onVariation","value":9}]`,
		`[{"op":"remove","path":"/environments/test"}]`,
		`[{"op":"replace","path":"/environments","value":{}}]`,
		`[{"op":"add","path":"/environments/staging","value":{"on":true}}]`,
		`[{"op":"add","path":"","value":{}}]`,
		`[{"op":"replace","path":"","value":[]}]`,
		`[{"op":"add","path":"/tags/-","value":"t2"},{"op":"add","path":"/tags/0","value":"t0"}]`,
		`[{"op":"add","path":"/tags/-","value":"t1"}]`,
		`[{"op":"replace","path":"/tags/-","value":"x"}]`,
		`[{"op":"remove","path":"/tags/00"}]`,
		`[{"op":"remove","path":"/tags/-1"}]`,
		`[{"op":"add","path":"/customProperties/a~1b","value":{"name":"AB","value":["1"]}}]`,
		`[{"op":"add","path":"/customProperties/~0x","value":{"name":"","value":[]}}]`,
		`[{"op":"remove","path":"/customProperties/jira"}]`,
		`[{"op":"replace","path":"/archived","value":true}]`,
		`[{"op":"replace","path":"/clientSideAvailability","value":{"usingEnvironmentId":true,"usingMobileKey":false}}]`,
		`[{"op":"replace","path":"/includeInSnippet","value":true}]`,
		`[{"op":"add","path":"/experiments/items/-","value":{"k":[1,2.5,"x",null]}}]`,
		`[{"op":"add","path":"/bogus","value":1}]`,
		`[{"op":"frobnicate","path":"/name"}]`,
		`[{"op":"replace","value":1}]`,
		`[{"op":"replace","path":5,"value":1}]`,
		`[{"op":"replace","path":"name","value":"x"}]`,
		`[{"op":"move","from":"/name","path":"/name/x"}]`,
		`[{"op":"copy","from":"/environments","path":"/environments/production/rules/0/clauses/0/values/-"}]`,
		`[{"op":"test","path":""}]`,
		`[{"op":"test","path":"","value":null}]`,
		`[{"op":"test","path":"/maintainerId"}]`,
		`[{"op":"copy","path":"/environments/production/rules/0/clauses/0/values/-"}]`,
		`[{"op":"move","from":null,"path":"/x"}]`,
		`[{"op":"move","from":"/description","path":""}]`,
		`[{"op":"replace","path":"","value":null}]`,
		`[{"op":"replace","path":"/name","value":"\ud800"}]`,
		`[{"op":"replace","path":"/name","value":"\u0000"}]`,
		`[1,2,3]`,
		`[null]`,
		`{"patch":null}`,
		`{"patch":{"op":"replace"}}`,
		`{"name":"merge body sent as JSON"}`,
		`{"instructions":[{"kind":"turnFlagOn"}]}`,
		`not json`,
		``,
	} {
		f.Add([]byte(s), false)
	}
	for _, s := range []string{
		// Found by fuzzing: a test of the root without a value panicked
		// inside json-patch (now a 400).
		`[{"op":"test","path":""}]`,
		`[{"op":"replace","path":"/name","value":"Dry"}]`,
		`[{"op":"replace","path":"/environments/production/offVariation","value":7}]`,
	} {
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, body []byte, dryRun bool) {
		fzRun(t, "application/json", body, dryRun)
	})
}

func FuzzMergePatch(f *testing.F) {
	for _, s := range []string{
		`{"name":"Merged"}`,
		`{"merge":{"name":"Merged"},"comment":"c"}`,
		`{"merge":{},"comment":"nothing"}`,
		`{}`,
		`{"merge":null}`,
		`{"merge":[1]}`,
		`{"description":null}`,
		`{"description":"new","temporary":false,"tags":["a","b"]}`,
		`{"tags":["a","a"]}`,
		`{"tags":null}`,
		`{"tags":"x"}`,
		`{"environments":{"production":{"on":false,"offVariation":0}}}`,
		`{"environments":{"test":{"on":true,"fallthrough":{"rollout":null,"variation":1}}}}`,
		`{"environments":{"test":{"fallthrough":{"variation":1}}}}`,
		`{"environments":{"production":{"fallthrough":{"variation":null,"rollout":{"variations":[{"variation":0,"weight":100000}]}}}}}`,
		`{"environments":{"production":{"rules":[]}}}`,
		`{"environments":{"production":{"rules":null,"targets":null,"contextTargets":null,"prerequisites":null}}}`,
		`{"environments":{"production":{"targets":[{"values":["alice"],"variation":1}]}}}`,
		`{"environments":{"production":{"prerequisites":[{"key":"other","variation":5}]}}}`,
		`{"environments":{"production":{"prerequisites":[{"key":"f","variation":0}]}}}`,
		`{"environments":{"production":{"offVariation":1.5}}}`,
		`{"environments":{"production":{"offVariation":null}}}`,
		`{"environments":{"production":{"version":5}}}`,
		`{"environments":{"production":{"_environmentName":"x"}}}`,
		`{"environments":{"production":{"_debugEventsUntilDate":1}}}`,
		`{"environments":{"test":null}}`,
		`{"environments":null}`,
		`{"environments":{"staging":{"on":true}}}`,
		`{"environments":{"production":{"salt":"abc","sel":"def","trackEvents":true}}}`,
		`{"_version":5}`,
		`{"key":"g"}`,
		`{"creationDate":null}`,
		`{"creationDate":1e400}`,
		`{"variations":[{"value":"x"},{"value":"y"}]}`,
		`{"variations":[{"value":"x"},{"value":"y"},{"value":"z"}]}`,
		`{"variations":null}`,
		`{"defaults":{"onVariation":9}}`,
		`{"defaults":null}`,
		`{"customProperties":{"k":{"name":"K","value":["v"]}}}`,
		`{"customProperties":{"jira":null}}`,
		`{"customProperties":{"":{"name":"x","value":[]}}}`,
		`{"archived":true}`,
		`{"deprecated":true,"archivedDate":5}`,
		`{"clientSideAvailability":{"usingEnvironmentId":true}}`,
		`{"experiments":{"items":[{"a":1}]}}`,
		`{"goalIds":null}`,
		`{"maintainerId":"m1","maintainerTeamKey":"t1"}`,
		`{"name":"\u0000"}`,
		`{"name":""}`,
		`{"name":"é"}`,
		`{"temporary":"yes"}`,
		`{"bogus":1}`,
		`{"kind":"boolean"}`,
		`{"includeInSnippet":true}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"merge":{"name":"Dry","environments":{"test":{"on":true}}}}`), true)
	f.Fuzz(func(t *testing.T, body []byte, dryRun bool) {
		fzRun(t, "application/json", body, dryRun)
	})
}

func FuzzSemanticPatch(f *testing.F) {
	for _, s := range []string{
		`{"environmentKey":"production","instructions":[{"kind":"turnFlagOn"}]}`,
		`{"environmentKey":"production","comment":"off","instructions":[{"kind":"turnFlagOff"}]}`,
		`{"instructions":[{"kind":"turnFlagOn"}]}`,
		`{"environmentKey":"staging","instructions":[{"kind":"turnFlagOn"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"v-b","values":["u1","u2"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"v-b","values":["alice"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addTargets","variationId":"v-c","contextKind":"organization","values":["acme"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"removeTargets","variationId":"v-a","values":["alice"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"replaceTargets","targets":[{"variationId":"v-a","values":["x"]},{"variationId":"v-b","contextKind":"org","values":["y"]}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"replaceUserTargets","targets":[{"variationId":"v-a","values":["x"]},{"variationId":"v-b","values":[]},{"variationId":"v-c","values":["z"]}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"clearTargets","variationId":"v-b"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"clearUserTargets","variationId":"v-a"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addUserTargets","variationId":"v-c","values":["u"]},{"kind":"removeUserTargets","variationId":"v-c","values":["u"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addRule","variationId":"v-c","clauses":[{"attribute":"email","op":"endsWith","values":["@example.com"]}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addRule","beforeRuleId":"rule-1","rolloutWeights":{"v-a":50000,"v-b":50000},"rolloutBucketBy":"key","clauses":[{"contextKind":"org","attribute":"tier","op":"in","values":["gold"],"negate":true}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addRule","variationId":"v-a","clauses":[]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addRule","variationId":"v-a","rolloutWeights":{"v-a":100000},"clauses":[]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addRule","variationId":"v-a","clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]}]}`,
		`{"environmentKey":"test","instructions":[{"kind":"addRule","variationId":"v-a","clauses":[{"attribute":"segmentMatch","op":"segmentMatch","values":["beta"]}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"removeRule","ruleId":"rule-1"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"removeRule","ruleId":"nope"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"reorderRules","ruleIds":["rule-1"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"reorderRules","ruleIds":["rule-1","rule-1"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"replaceRules","rules":[{"variationId":"v-a","clauses":[{"attribute":"key","op":"in","values":["a"]}]},{"rolloutWeights":{"v-b":1,"v-c":99999},"clauses":[]}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateRuleVariationOrRollout","ruleId":"rule-1","rolloutWeights":{"v-a":30000,"v-c":70000}}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateRuleDescription","ruleId":"rule-1","description":"new"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateRuleTrackEvents","ruleId":"rule-1","trackEvents":true}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addClauses","ruleId":"rule-1","clauses":[{"attribute":"version","op":"semVerGreaterThan","values":["1.2.3"]}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"removeClauses","ruleId":"rule-1","clauseIds":["clause-1"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateClause","ruleId":"rule-1","clauseId":"clause-1","clause":{"attribute":"age","op":"greaterThan","values":[21]}}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateClause","ruleId":"rule-1","clauseId":"clause-1","clause":{"attribute":"age","op":"greaterThan","values":["x"]}}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addValuesToClause","ruleId":"rule-1","clauseId":"clause-1","values":["@example.org"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"removeValuesFromClause","ruleId":"rule-1","clauseId":"clause-1","values":["@example.com"]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateFallthroughVariationOrRollout","variationId":"v-b"}]}`,
		`{"environmentKey":"test","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"v-a":60000,"v-c":40000},"rolloutContextKind":"org"}]}`,
		`{"environmentKey":"test","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"v-a":-1,"v-c":100001}}]}`,
		`{"environmentKey":"test","instructions":[{"kind":"updateFallthroughVariationOrRollout","rolloutWeights":{"v-a":1e30}}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateOffVariation","variationId":"v-a"}]}`,
		`{"environmentKey":"test","instructions":[{"kind":"addPrerequisite","key":"other","variationId":"o-false"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"addPrerequisite","key":"f","variationId":"v-a"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updatePrerequisite","key":"other","variationId":"o-false"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"removePrerequisite","key":"other"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"replacePrerequisites","prerequisites":[{"key":"other","variationId":"o-true"}]}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateTrackEvents","trackEvents":true},{"kind":"updateTrackEventsFallthrough","trackEvents":true}]}`,
		`{"instructions":[{"kind":"addVariation","value":"d","name":"D","description":"fourth"}]}`,
		`{"instructions":[{"kind":"addVariation","value":{"nested":[1,2]}}]}`,
		`{"instructions":[{"kind":"addVariation","value":null}]}`,
		`{"instructions":[{"kind":"removeVariation","variationId":"v-b"}]}`,
		`{"instructions":[{"kind":"removeVariation","variationId":"v-c"}]}`,
		`{"instructions":[{"kind":"updateVariation","variationId":"v-a","value":"b"}]}`,
		`{"instructions":[{"kind":"updateVariation","variationId":"v-a","name":"Alpha","value":"alpha"}]}`,
		`{"instructions":[{"kind":"updateDefaultVariation","onVariationValue":"b","offVariationValue":"a"}]}`,
		`{"instructions":[{"kind":"updateName","value":"Semantic"},{"kind":"updateDescription","value":""}]}`,
		`{"instructions":[{"kind":"updateName","value":""}]}`,
		`{"instructions":[{"kind":"updateName","value":7}]}`,
		`{"instructions":[{"kind":"addTags","values":["beta","ops"]},{"kind":"removeTags","values":["t1"]}]}`,
		`{"instructions":[{"kind":"addTags","values":"beta"}]}`,
		`{"instructions":[{"kind":"addTags","values":["bad tag"]}]}`,
		`{"instructions":[{"kind":"makeFlagPermanent"},{"kind":"makeFlagTemporary"}]}`,
		`{"instructions":[{"kind":"addCustomProperties","key":"jira","values":["FS-2"]},{"kind":"replaceCustomProperties","key":"gh","name":"GitHub","values":["#1"]}]}`,
		`{"instructions":[{"kind":"removeCustomProperties","key":"jira","values":["FS-1"]}]}`,
		`{"instructions":[{"kind":"addCustomProperties","key":"new","values":["x"]}]}`,
		`{"instructions":[{"kind":"turnOnClientSideAvailability","value":"usingEnvironmentId"},{"kind":"turnOffClientSideAvailability","value":"usingMobileKey"}]}`,
		`{"instructions":[{"kind":"updateMaintainerMember","value":"m1"},{"kind":"updateMaintainerTeam","value":"team"},{"kind":"removeMaintainer"}]}`,
		`{"instructions":[{"kind":"archiveFlag"}]}`,
		`{"instructions":[{"kind":"archiveFlag"},{"kind":"restoreFlag"}]}`,
		`{"instructions":[{"kind":"deprecateFlag"},{"kind":"restoreDeprecatedFlag"}]}`,
		`{"comment":"bye","instructions":[{"kind":"deleteFlag"}]}`,
		`{"instructions":[{"kind":"updateName","value":"Last words"},{"kind":"deleteFlag"}]}`,
		`{"instructions":[{"kind":"deleteFlag"},{"kind":"updateName","value":"x"}]}`,
		`{"environmentKey":"production","instructions":[{"kind":"updateName","value":"Half"},{"kind":"addTargets","variationId":"nope","values":["x"]},{"kind":"turnFlagOn"}]}`,
		`{"instructions":[{"kind":"turnFlagSideways"}]}`,
		`{"instructions":[{"kind":""}]}`,
		`{"instructions":[{}]}`,
		`{"instructions":[]}`,
		`{"instructions":{}}`,
		`{"instructions":[1]}`,
		`{"instructions":[{"kind":"turnFlagOn"}],"environmentKey":5}`,
		`[{"kind":"turnFlagOn"}]`,
		`{"patch":[{"op":"replace","path":"/name","value":"x"}]}`,
		`null`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"environmentKey":"production","instructions":[{"kind":"turnFlagOff"},{"kind":"addRule","variationId":"v-a","clauses":[{"attribute":"k","op":"in","values":["v"]}]}]}`), true)
	f.Add([]byte(`{"instructions":[{"kind":"deleteFlag"}]}`), true)
	f.Fuzz(func(t *testing.T, body []byte, dryRun bool) {
		fzRun(t, "application/json; domain-model=launchdarkly.semanticpatch", body, dryRun)
	})
}
