package flagstore_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/launchdarkly/go-sdk-common/v3/ldcontext"
	"github.com/launchdarkly/go-sdk-common/v3/ldreason"
	"github.com/launchdarkly/go-sdk-common/v3/ldvalue"
	ld "github.com/launchdarkly/go-server-sdk/v7"
	"github.com/launchdarkly/go-server-sdk/v7/interfaces/flagstate"
	"github.com/launchdarkly/go-server-sdk/v7/ldcomponents"

	"github.com/flagstore/flagstore"
	"github.com/flagstore/flagstore/flagstoretest"
	"github.com/flagstore/flagstore/ldsource"
)

// The real LaunchDarkly Go SDK (github.com/launchdarkly/go-server-sdk/v7,
// unmodified) against flagstore, three ways: streaming from GET /all and
// polling GET /sdk/latest-all over loopback, and fed in process by
// ldsource. Every way gets the same checks: it initialises, evaluates a
// table of contexts × flags exactly as Store.Evaluate does, sees a change
// and a deletion made through the REST API within a second, gives up at
// once on an unknown credential, and sees only its own environment.

// sdkMode is one way of connecting the SDK to an environment.
type sdkMode struct {
	name string
	// connect returns the SDK key and configuration that reach environment
	// env of project proj (an unknown credential if there is none).
	connect func(t *testing.T, srv *flagstoretest.Server, proj, env string) (string, ld.Config)
	// unknownStatus is the status code of the data source's error for a
	// credential that names no environment.
	unknownStatus int
}

var sdkModes = []sdkMode{
	{name: "streaming", unknownStatus: http.StatusUnauthorized, connect: func(t *testing.T, srv *flagstoretest.Server, proj, env string) (string, ld.Config) {
		return sdkKeyOf(t, srv, proj, env), sdkHTTPConfig(srv, nil)
	}},
	{name: "polling", unknownStatus: http.StatusUnauthorized, connect: func(t *testing.T, srv *flagstoretest.Server, proj, env string) (string, ld.Config) {
		return sdkKeyOf(t, srv, proj, env), sdkHTTPConfig(srv, fastPolling(t, 50*time.Millisecond))
	}},
	{name: "in-process", unknownStatus: http.StatusNotFound, connect: func(t *testing.T, srv *flagstoretest.Server, proj, env string) (string, ld.Config) {
		return "unused", ld.Config{
			DataSource: ldsource.New(srv.Store, proj, env),
			Events:     ldcomponents.NoEvents(),
			Logging:    ldcomponents.NoLogging(),
		}
	}},
}

// sdkHTTPConfig points every SDK endpoint at srv, with no events and no
// logging; ds nil is the SDK's default, streaming.
func sdkHTTPConfig(srv *flagstoretest.Server, ds *ldcomponents.PollingDataSourceBuilder) ld.Config {
	c := ld.Config{
		ServiceEndpoints: ldcomponents.RelayProxyEndpoints(srv.URL),
		Events:           ldcomponents.NoEvents(),
		Logging:          ldcomponents.NoLogging(),
	}
	if ds != nil {
		c.DataSource = ds
	}
	return c
}

// sdkKeyOf returns the SDK key of an environment, or a well-formed key of
// none if it does not exist.
func sdkKeyOf(t *testing.T, srv *flagstoretest.Server, proj, env string) string {
	t.Helper()
	e, err := srv.Store.GetEnvironment(context.Background(), proj, env)
	if err != nil {
		return "sdk-00000000-0000-4000-8000-000000000000"
	}
	return e.APIKey
}

// fastPolling returns the SDK's polling data source polling every d. The
// SDK's public PollInterval clamps anything under 30 s, and it offers no
// other supported hook, so this sets the builder's unexported pollInterval
// field directly (its own tests do the same through an unexported method).
// Test code only: if the SDK renames the field, the test fails here.
func fastPolling(t *testing.T, d time.Duration) *ldcomponents.PollingDataSourceBuilder {
	t.Helper()
	b := ldcomponents.PollingDataSource()
	f := reflect.ValueOf(b).Elem().FieldByName("pollInterval")
	if !f.IsValid() || f.Type() != reflect.TypeFor[time.Duration]() {
		t.Fatal("the SDK's PollingDataSourceBuilder has no pollInterval field any more")
	}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(d))
	return b
}

// sdkClient starts a client for proj/env in this mode and waits for it to
// initialise; it is closed when t ends.
func (m sdkMode) client(t *testing.T, srv *flagstoretest.Server, proj, env string) *ld.LDClient {
	t.Helper()
	key, cfg := m.connect(t, srv, proj, env)
	c, err := ld.MakeCustomClient(key, cfg, 10*time.Second)
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	if err != nil {
		t.Fatalf("%s client for %s/%s: %v", m.name, proj, env, err)
	}
	return c
}

// The fixture: in production, a segment "beta", a boolean flag "gate"
// (on, with one target served false), a string flag "checkout" with every
// kind of targeting, "dark" (off), and "kill-switch" and "doomed" (on) for
// the change checks.
const (
	fxProd = "production"
)

var fxFlags = []string{"checkout", "gate", "dark"}

// fxContexts reach every branch of checkout's targeting.
func fxContexts() []ldcontext.Context {
	cs := []ldcontext.Context{
		ldcontext.New("target-user"), // individual target
		ldcontext.NewWithKind("org", "org-1"),
		ldcontext.NewMulti(ldcontext.New("someone"), ldcontext.NewWithKind("org", "org-1")),
		ldcontext.New("seg-user"), // included in the segment
		ldcontext.NewBuilder("beta-1").SetString("email", "beta-1@beta.example").Build(), // segment rule
		ldcontext.New("gate-closed"), // prerequisite fails
		ldcontext.NewBuilder("anon").Anonymous(true).Build(),
	}
	for i := range 12 {
		k := strconv.Itoa(i)
		cs = append(cs,
			ldcontext.NewBuilder("de-"+k).SetString("country", "de").Build(), // the rollout rule
			ldcontext.New("u-"+k), // the fallthrough rollout
		)
	}
	return cs
}

func sdkFixture(t *testing.T) *flagstoretest.Server {
	t.Helper()
	srv := flagstoretest.New(t)
	st, p, ctx := srv.Store, srv.Project.Key, context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	in := func(vs ...any) []any { return vs }
	weight := func(v, w int) flagstore.WeightedVariation {
		return flagstore.WeightedVariation{Variation: v, Weight: w}
	}
	inProd := func(key string, fn func(c *flagstore.FlagConfig)) {
		t.Helper()
		must(st.UpdateFlag(ctx, p, key, func(f *flagstore.Flag) error { fn(f.Environments[fxProd]); return nil }))
	}

	must(st.CreateSegment(ctx, p, fxProd, flagstore.SegmentPost{Key: "beta", Name: "Beta"}))
	must(st.UpdateSegment(ctx, p, fxProd, "beta", func(s *flagstore.Segment) error {
		s.Included = []string{"seg-user"}
		s.Rules = []flagstore.SegmentRule{{Clauses: []flagstore.Clause{{Attribute: "email", Op: "endsWith", Values: in("@beta.example")}}}}
		return nil
	}))
	for _, key := range []string{"gate", "dark", "kill-switch", "doomed"} {
		must(st.CreateFlag(ctx, p, flagstore.FlagPost{Key: key, Name: key}))
	}
	for _, key := range []string{"gate", "kill-switch", "doomed"} {
		inProd(key, func(c *flagstore.FlagConfig) { c.On = true })
	}
	inProd("gate", func(c *flagstore.FlagConfig) {
		c.Targets = []flagstore.Target{{Values: []string{"gate-closed"}, Variation: 1}}
	})
	must(st.CreateFlag(ctx, p, flagstore.FlagPost{Key: "checkout", Name: "Checkout",
		Variations: []flagstore.Variation{{Value: "a"}, {Value: "b"}, {Value: "c"}}}))
	inProd("checkout", func(c *flagstore.FlagConfig) {
		c.On = true
		c.Prerequisites = []flagstore.Prerequisite{{Key: "gate", Variation: 0}}
		c.Targets = []flagstore.Target{{Values: []string{"target-user"}, Variation: 2}}
		c.ContextTargets = []flagstore.Target{{ContextKind: "org", Values: []string{"org-1"}, Variation: 1}}
		c.Rules = []flagstore.Rule{
			{Variation: new(1), Clauses: []flagstore.Clause{{Attribute: "segmentMatch", Op: "segmentMatch", Values: in("beta")}}},
			{Rollout: &flagstore.Rollout{Variations: []flagstore.WeightedVariation{weight(0, 50000), weight(2, 50000)}},
				Clauses: []flagstore.Clause{{Attribute: "country", Op: "in", Values: in("de", "fr")}}},
		}
		c.Fallthrough = flagstore.VariationOrRollout{Rollout: &flagstore.Rollout{
			Variations: []flagstore.WeightedVariation{weight(0, 33000), weight(1, 33000), weight(2, 34000)}}}
		c.OffVariation = new(0)
	})
	return srv
}

// sameDetail reports whether two evaluation results agree in value,
// variation index and reason.
func sameDetail(a, b ldreason.EvaluationDetail) bool {
	return a.Value.Equal(b.Value) && a.VariationIndex == b.VariationIndex && a.Reason == b.Reason
}

// waitFor polls cond for up to 5 s and returns how long it took to hold.
func waitFor(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return time.Since(start)
}

// restDo sends one REST request with the admin token and checks its status.
func restDo(t *testing.T, srv *flagstoretest.Server, method, path, contentType, body string, want int) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", srv.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d", method, path, resp.StatusCode, want)
	}
}

// changeBudget is how soon a change made through the REST API must reach
// the SDK.
const changeBudget = time.Second

func TestGoSDK(t *testing.T) {
	for _, m := range sdkModes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			srv := sdkFixture(t)
			t.Run("evaluations", func(t *testing.T) { testSDKEvaluations(t, m, srv) })
			t.Run("turnFlagOff", func(t *testing.T) { testSDKTurnFlagOff(t, m, srv) })
			t.Run("deleteFlag", func(t *testing.T) { testSDKDeleteFlag(t, m, srv) })
			t.Run("unknownCredential", func(t *testing.T) { testSDKUnknownCredential(t, m, srv) })
			t.Run("otherEnvironment", func(t *testing.T) { testSDKOtherEnvironment(t, m, srv) })
		})
	}
}

// Every flag for every context, as the SDK sees it and as Store.Evaluate
// does; the table must reach every kind of targeting for the comparison to
// mean something.
func testSDKEvaluations(t *testing.T, m sdkMode, srv *flagstoretest.Server) {
	client := m.client(t, srv, srv.Project.Key, fxProd)
	reached := map[string]bool{}
	served := map[string]map[int]bool{} // rule or fallthrough -> variation indexes
	for _, flag := range fxFlags {
		for _, c := range fxContexts() {
			want, err := srv.Store.Evaluate(context.Background(), srv.Project.Key, fxProd, flag, c)
			if err != nil {
				t.Fatal(err)
			}
			_, got, err := client.JSONVariationDetail(flag, c, ldvalue.String("default"))
			if err != nil || !sameDetail(got, want) {
				t.Errorf("%s for %s: SDK %+v (err %v), Store.Evaluate %+v", flag, c.FullyQualifiedKey(), got, err, want)
			}
			branch := string(want.Reason.GetKind())
			if i := want.Reason.GetRuleIndex(); want.Reason.GetKind() == ldreason.EvalReasonRuleMatch {
				branch += "#" + strconv.Itoa(i)
			}
			reached[branch] = true
			if served[branch] == nil {
				served[branch] = map[int]bool{}
			}
			served[branch][want.VariationIndex.OrElse(-1)] = true
		}
	}
	for _, b := range []string{"TARGET_MATCH", "RULE_MATCH#0", "RULE_MATCH#1", "FALLTHROUGH", "PREREQUISITE_FAILED", "OFF"} {
		if !reached[b] {
			t.Errorf("no context reached %s: %v", b, reached)
		}
	}
	if len(served["RULE_MATCH#1"]) < 2 || len(served["FALLTHROUGH"]) < 2 {
		t.Errorf("the rollouts served only %v (rule) and %v (fallthrough)", served["RULE_MATCH#1"], served["FALLTHROUGH"])
	}
}

// A semantic turnFlagOff through the REST API reaches the SDK within a
// second.
func testSDKTurnFlagOff(t *testing.T, m sdkMode, srv *flagstoretest.Server) {
	client := m.client(t, srv, srv.Project.Key, fxProd)
	user := ldcontext.New("u-1")
	if on, _ := client.BoolVariation("kill-switch", user, false); !on {
		t.Fatal("kill-switch is not on before the change")
	}
	start := time.Now()
	restDo(t, srv, http.MethodPatch, "/api/v2/flags/"+srv.Project.Key+"/kill-switch",
		"application/json; "+flagstore.SemanticPatchMediaType,
		`{"environmentKey":"production","instructions":[{"kind":"turnFlagOff"}]}`, http.StatusOK)
	waitFor(t, "kill-switch off", func() bool {
		on, d, _ := client.BoolVariationDetail("kill-switch", user, true)
		return !on && d.Reason.GetKind() == ldreason.EvalReasonOff
	})
	if took := time.Since(start); took > changeBudget {
		t.Errorf("the change took %v to reach the SDK, budget %v", took, changeBudget)
	}
}

// A flag deleted through the REST API disappears from the SDK within a
// second.
func testSDKDeleteFlag(t *testing.T, m sdkMode, srv *flagstoretest.Server) {
	client := m.client(t, srv, srv.Project.Key, fxProd)
	user := ldcontext.New("u-1")
	if _, ok := client.AllFlagsState(user).GetFlag("doomed"); !ok {
		t.Fatal("doomed is missing before the deletion")
	}
	start := time.Now()
	restDo(t, srv, http.MethodDelete, "/api/v2/flags/"+srv.Project.Key+"/doomed", "", "", http.StatusNoContent)
	waitFor(t, "doomed gone", func() bool {
		v, d, _ := client.BoolVariationDetail("doomed", user, false)
		return !v && d.Reason.GetErrorKind() == ldreason.EvalErrorFlagNotFound
	})
	if took := time.Since(start); took > changeBudget {
		t.Errorf("the deletion took %v to reach the SDK, budget %v", took, changeBudget)
	}
	if _, ok := client.AllFlagsState(user).GetFlag("doomed"); ok {
		t.Error("doomed is still in AllFlagsState")
	}
}

// A credential of no environment fails the client at once (not after its
// wait) and leaves the data source OFF with the credential's error.
func testSDKUnknownCredential(t *testing.T, m sdkMode, srv *flagstoretest.Server) {
	key, cfg := m.connect(t, srv, srv.Project.Key, "no-such-environment")
	const wait = 10 * time.Second
	start := time.Now()
	client, err := ld.MakeCustomClient(key, cfg, wait)
	if client != nil {
		defer client.Close()
	}
	if err != ld.ErrInitializationFailed {
		t.Fatalf("MakeCustomClient: %v, want ErrInitializationFailed", err)
	}
	if took := time.Since(start); took > wait/2 {
		t.Errorf("gave up after %v of a %v wait", took, wait)
	}
	st := client.GetDataSourceStatusProvider().GetStatus()
	if st.State != "OFF" || st.LastError.StatusCode != m.unknownStatus {
		t.Errorf("data source status %+v, want OFF with %d", st, m.unknownStatus)
	}
}

// An environment sees none of another's data. Flags belong to a project,
// so every environment of the project has the same flag keys: the test
// environment of the same project sees them, but none of production's
// targeting (the flags are off there, and production's segment does not
// exist there); an environment of another project sees only that
// project's flags.
func testSDKOtherEnvironment(t *testing.T, m sdkMode, srv *flagstoretest.Server) {
	ctx := context.Background()
	if _, err := srv.Store.CreateProject(ctx, flagstore.ProjectPost{Key: "other", Name: "Other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Store.CreateFlag(ctx, "other", flagstore.FlagPost{Key: "other-only", Name: "Other only"}); err != nil {
		t.Fatal(err)
	}
	user := ldcontext.New("target-user")

	other := m.client(t, srv, "other", fxProd)
	if got := flagKeys(other.AllFlagsState(user)); !reflect.DeepEqual(got, []string{"other-only"}) {
		t.Errorf("another project's production sees flags %v, want [other-only]", got)
	}
	if _, d, _ := other.StringVariationDetail("checkout", user, "default"); d.Reason.GetErrorKind() != ldreason.EvalErrorFlagNotFound {
		t.Errorf("another project's production evaluates checkout: %+v", d)
	}

	test := m.client(t, srv, srv.Project.Key, "test")
	prod := m.client(t, srv, srv.Project.Key, fxProd)
	if got, want := flagKeys(test.AllFlagsState(user)), flagKeys(prod.AllFlagsState(user)); !reflect.DeepEqual(got, want) {
		t.Errorf("test sees flags %v, production %v: one project, one set of keys", got, want)
	}
	for _, c := range []ldcontext.Context{user, ldcontext.New("seg-user")} {
		want, err := srv.Store.Evaluate(ctx, srv.Project.Key, "test", "checkout", c)
		if err != nil {
			t.Fatal(err)
		}
		_, got, _ := test.StringVariationDetail("checkout", c, "default")
		if !sameDetail(got, want) || got.Reason.GetKind() != ldreason.EvalReasonOff {
			t.Errorf("checkout in test for %s: SDK %+v, Store.Evaluate %+v, want OFF", c.Key(), got, want)
		}
	}
}

func flagKeys(s flagstate.AllFlags) []string {
	var keys []string
	for k := range s.ToValuesMap() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
