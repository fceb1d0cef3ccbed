package flagstore

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

const mwRateMessage = "You've exceeded the API rate limit. Try again later."

// mwRateStep is one request to a rate-limited route and what it gets.
type mwRateStep struct {
	advance time.Duration // the clock moves first
	route   string        // "a", "b" or "c"
	caller  string        // a token id, "member:<id>", or "ip:<RemoteAddr>"
	status  int           // 200 or 429
	global  string        // X-Ratelimit-Global-Remaining; "" absent
	route2  string        // X-Ratelimit-Route-Remaining; "" absent
	reset   time.Duration // X-Ratelimit-Reset minus now; 0: not checked
	retry   string        // Retry-After of a 429
}

// mwCallerRequest is a request from caller (see mwRateStep).
func mwCallerRequest(method, target, caller string) *http.Request {
	req := httptest.NewRequest(method, target, nil)
	switch {
	case len(caller) > 3 && caller[:3] == "ip:":
		req.RemoteAddr = caller[3:]
	case len(caller) > 7 && caller[:7] == "member:":
		req = req.WithContext(WithPrincipal(req.Context(), Principal{Kind: PrincipalMember, MemberID: caller[7:]}))
	default:
		req = req.WithContext(WithPrincipal(req.Context(), Principal{Kind: PrincipalServiceToken, TokenID: caller}))
	}
	return req
}

// mwCheckRateHeaders checks the rate-limit headers of a response.
func mwCheckRateHeaders(t *testing.T, h http.Header, now time.Time, global, route string, reset time.Duration) {
	t.Helper()
	if got := h.Get(headerGlobalRemaining); got != global || len(h.Values(headerGlobalRemaining)) > 1 {
		t.Errorf("%s %q, want %q", headerGlobalRemaining, h.Values(headerGlobalRemaining), global)
	}
	if got := h.Get(headerRouteRemaining); got != route || len(h.Values(headerRouteRemaining)) > 1 {
		t.Errorf("%s %q, want %q", headerRouteRemaining, h.Values(headerRouteRemaining), route)
	}
	ms, err := strconv.ParseInt(h.Get(headerReset), 10, 64)
	if err != nil {
		t.Errorf("%s %q is not epoch milliseconds", headerReset, h.Get(headerReset))
		return
	}
	if ms < now.UnixMilli() {
		t.Errorf("%s %d is before now %d", headerReset, ms, now.UnixMilli())
	}
	if want := now.Add(reset).UnixMilli(); reset != 0 && (ms < want-1 || ms > want+1) {
		t.Errorf("%s %d, want %d (now + %s)", headerReset, ms, want, reset)
	}
}

// mwCheck429 checks LaunchDarkly's 429: rate_limited, its message, and an
// integer Retry-After.
func mwCheck429(t *testing.T, status int, h http.Header, body []byte, retry string) {
	t.Helper()
	m := mwError(t, status, h, body, http.StatusTooManyRequests, CodeRateLimited)
	if m["message"] != mwRateMessage {
		t.Errorf("message %q, want %q", m["message"], mwRateMessage)
	}
	if got := h.Get("Retry-After"); got != retry {
		t.Errorf("Retry-After %q, want %q", got, retry)
	}
}

func TestHTTPRateLimit_Middleware(t *testing.T) {
	t.Parallel()
	const a, b, c = "a", "b", "c"
	ok, limited := http.StatusOK, http.StatusTooManyRequests
	cases := []struct {
		name  string
		opts  RateLimitOptions
		steps []mwRateStep
	}{
		{"counts down, then 429", RateLimitOptions{GlobalPer10s: 10, RoutePer10s: 5}, []mwRateStep{
			{0, a, "t1", ok, "9", "4", 2 * time.Second, ""},
			{0, a, "t1", ok, "8", "3", 4 * time.Second, ""},
			{0, a, "t1", ok, "7", "2", 6 * time.Second, ""},
			{0, a, "t1", ok, "6", "1", 8 * time.Second, ""},
			{0, a, "t1", ok, "5", "0", 10 * time.Second, ""},
			{0, a, "t1", limited, "5", "0", 10 * time.Second, "2"},
			{time.Second, a, "t1", limited, "6", "0", 9 * time.Second, "1"},
			{time.Second, a, "t1", ok, "6", "0", 10 * time.Second, ""},
		}},
		{"per caller", RateLimitOptions{RoutePer10s: 2}, []mwRateStep{
			{0, a, "t1", ok, "", "1", 5 * time.Second, ""},
			{0, a, "t1", ok, "", "0", 10 * time.Second, ""},
			{0, a, "t1", limited, "", "0", 10 * time.Second, "5"},
			{0, a, "t2", ok, "", "1", 5 * time.Second, ""},
			{0, a, "member:m1", ok, "", "1", 5 * time.Second, ""},
			{0, a, "ip:192.0.2.1:1000", ok, "", "1", 5 * time.Second, ""},
			{0, a, "ip:192.0.2.1:2000", ok, "", "0", 10 * time.Second, ""}, // same address, other port
			{0, a, "ip:192.0.2.2:1000", ok, "", "1", 5 * time.Second, ""},
			{0, a, "ip:[2001:db8::1]:443", ok, "", "1", 5 * time.Second, ""},
			{0, a, "t1", limited, "", "0", 10 * time.Second, "5"},
		}},
		{"per route, one global budget", RateLimitOptions{GlobalPer10s: 3, RoutePer10s: 2}, []mwRateStep{
			{0, a, "t1", ok, "2", "1", 0, ""},
			{0, a, "t1", ok, "1", "0", 0, ""},
			{0, a, "t1", limited, "1", "0", 0, "5"}, // the route's limit
			{0, b, "t1", ok, "0", "1", 0, ""},
			{0, b, "t1", limited, "0", "1", 0, "4"}, // the global limit: 10s/3
			{0, a, "t2", ok, "2", "1", 0, ""},
		}},
		{"refused requests spend nothing", RateLimitOptions{GlobalPer10s: 2, RoutePer10s: 1}, []mwRateStep{
			{0, a, "t1", ok, "1", "0", 10 * time.Second, ""},
			{0, a, "t1", limited, "1", "0", 10 * time.Second, "10"},
			{0, a, "t1", limited, "1", "0", 10 * time.Second, "10"},
			{0, b, "t1", ok, "0", "0", 10 * time.Second, ""},
			{0, c, "t1", limited, "0", "1", 10 * time.Second, "5"},
			{6 * time.Second, c, "t1", ok, "0", "0", 0, ""},
		}},
		{"refills, up to the budget", RateLimitOptions{GlobalPer10s: 10}, []mwRateStep{
			{0, a, "t1", ok, "9", "", time.Second, ""},
			{0, a, "t1", ok, "8", "", 2 * time.Second, ""},
			{0, b, "t1", ok, "7", "", 3 * time.Second, ""},
			{0, a, "t1", ok, "6", "", 4 * time.Second, ""},
			{0, a, "t1", ok, "5", "", 5 * time.Second, ""},
			{0, a, "t1", ok, "4", "", 6 * time.Second, ""},
			{0, a, "t1", ok, "3", "", 7 * time.Second, ""},
			{0, a, "t1", ok, "2", "", 8 * time.Second, ""},
			{0, a, "t1", ok, "1", "", 9 * time.Second, ""},
			{0, a, "t1", ok, "0", "", 10 * time.Second, ""},
			{0, b, "t1", limited, "0", "", 10 * time.Second, "1"},
			{500 * time.Millisecond, a, "t1", limited, "0", "", 9500 * time.Millisecond, "1"},
			{500 * time.Millisecond, a, "t1", ok, "0", "", 10 * time.Second, ""},
			{10 * time.Second, a, "t1", ok, "9", "", time.Second, ""},
			{time.Hour, a, "t1", ok, "9", "", time.Second, ""},
			{0, a, "t1", ok, "8", "", 2 * time.Second, ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clock := tstNewClock()
			lim := newRateLimiter(tc.opts, clock.Now)
			calls := 0
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls++
				w.WriteHeader(http.StatusOK)
			})
			routes := map[string]http.Handler{}
			for _, name := range []string{a, b, c} {
				routes[name] = lim.middleware(&route{method: http.MethodGet, path: "/mwtest/" + name + "/{key}"}, next)
			}
			for i, s := range tc.steps {
				clock.Advance(s.advance)
				before := calls
				rec := httptest.NewRecorder()
				routes[s.route].ServeHTTP(rec, mwCallerRequest(http.MethodGet, "/api/v2/mwtest/"+s.route+"/k"+strconv.Itoa(i), s.caller))
				if rec.Code != s.status {
					t.Fatalf("step %d (%+v): status %d, want %d; body %s", i, s, rec.Code, s.status, rec.Body)
				}
				mwCheckRateHeaders(t, rec.Header(), clock.Now(), s.global, s.route2, s.reset)
				if s.status == http.StatusTooManyRequests {
					mwCheck429(t, rec.Code, rec.Header(), rec.Body.Bytes(), s.retry)
					if calls != before {
						t.Errorf("step %d: a refused request reached the route", i)
					}
				} else if calls != before+1 || rec.Header().Get("Retry-After") != "" {
					t.Errorf("step %d: route called %d times, Retry-After %q; want once, none", i, calls-before, rec.Header().Get("Retry-After"))
				}
			}
		})
	}
}

func TestHTTPRateLimit_NoLimits(t *testing.T) {
	t.Parallel()
	lim := newRateLimiter(RateLimitOptions{}, time.Now)
	h := lim.middleware(&route{method: http.MethodGet, path: "/mwtest"}, mwReply(http.StatusOK, ""))
	for range 100 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, mwCallerRequest(http.MethodGet, "/api/v2/mwtest", "t1"))
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d without limits", rec.Code)
		}
		for _, name := range []string{headerGlobalRemaining, headerRouteRemaining, headerReset, "Retry-After"} {
			if v := rec.Header().Get(name); v != "" {
				t.Fatalf("%s %q without limits, want none", name, v)
			}
		}
	}
}

func TestHTTPRateLimit_CallerKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		p      *Principal
		remote string
		want   string
	}{
		{"service token", &Principal{Kind: PrincipalServiceToken, TokenID: "tok1"}, "192.0.2.1:1", "token:tok1"},
		{"personal token, not its member", &Principal{Kind: PrincipalPersonalToken, TokenID: "tok2", MemberID: "m1"}, "192.0.2.1:1", "token:tok2"},
		{"session member", &Principal{Kind: PrincipalMember, MemberID: "m1"}, "192.0.2.1:1", "member:m1"},
		{"IPv4", nil, "192.0.2.1:1234", "ip:192.0.2.1"},
		{"IPv6", nil, "[2001:db8::1]:443", "ip:2001:db8::1"},
		{"no port", nil, "192.0.2.7", "ip:192.0.2.7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tc.remote
			if tc.p != nil {
				req = req.WithContext(WithPrincipal(context.Background(), *tc.p))
			}
			if got := callerKey(req); got != tc.want {
				t.Errorf("callerKey = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestHTTPRateLimit_BoundedState(t *testing.T) {
	t.Parallel()
	lim := newRateLimiter(RateLimitOptions{GlobalPer10s: 5}, time.Now)
	for i := range maxLimiters {
		lim.limiter("g\x00ip:"+strconv.Itoa(i), 5)
	}
	if len(lim.lims) != maxLimiters {
		t.Fatalf("%d limiters, want %d", len(lim.lims), maxLimiters)
	}
	if l := lim.limiter("g\x00ip:new", 5); l == nil || len(lim.lims) != 1 {
		t.Errorf("past maxLimiters: %d limiters kept, want the new one only", len(lim.lims))
	}
}

// mwRateRoutes are test-only routes: GET and PATCH of /mwtest/items/{key},
// and a public GET /mwtest/open.
func mwRateRoutes(a *api) []*route {
	done := func(w http.ResponseWriter, r *http.Request) error {
		return writeJSON(w, http.StatusOK, map[string]string{"method": r.Method})
	}
	return []*route{
		{method: http.MethodGet, path: "/mwtest/items/{key}", operationID: "mwGetItem", handle: done},
		{method: http.MethodPatch, path: "/mwtest/items/{key}", operationID: "mwPatchItem", handle: done},
		{method: http.MethodGet, path: "/mwtest/open", operationID: "mwGetOpen", public: true, handle: done},
	}
}

func TestHTTPRateLimit_ThroughHandler(t *testing.T) {
	t.Parallel()
	e, clock := mwServer(t, mwRateRoutes, WithRateLimit(RateLimitOptions{GlobalPer10s: 4, RoutePer10s: 2}))
	owner, err := e.st.Owner(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.st.CreateToken(t.Context(), owner.ID, TokenPost{Name: "other", Role: RoleReader})
	if err != nil {
		t.Fatal(err)
	}
	patch := http.Header{MethodOverrideHeader: {"PATCH"}}
	ok, limited := http.StatusOK, http.StatusTooManyRequests
	steps := []struct {
		name    string
		advance time.Duration
		req     htReq
		status  int
		global  string
		route   string
		reset   time.Duration
		retry   string
	}{
		{"first", 0, htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, ok, "3", "1", 5 * time.Second, ""},
		{"second", 0, htReq{Method: http.MethodGet, Path: "/api/v2/versions"}, ok, "2", "0", 10 * time.Second, ""},
		{"route exhausted", 0, htReq{Method: http.MethodGet, Path: "/api/v2/versions", Header: http.Header{"Origin": {"https://app.example"}}}, limited, "2", "0", 10 * time.Second, "5"},
		{"another token", 0, htReq{Method: http.MethodGet, Path: "/api/v2/versions", Auth: other.Token}, ok, "3", "1", 5 * time.Second, ""},
		{"another route", 0, htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/items/x"}, ok, "1", "1", 0, ""},
		{"same route template", 0, htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/items/y"}, ok, "0", "0", 10 * time.Second, ""},
		{"global exhausted", 0, htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/items/x", Header: patch, Body: `{}`}, limited, "0", "2", 10 * time.Second, "3"},
		{"refilled", 10 * time.Second, htReq{Method: http.MethodPatch, Path: "/api/v2/mwtest/items/x", Body: `{}`}, ok, "3", "1", 5 * time.Second, ""},
		{"tunnelled PATCH is the PATCH route", 0, htReq{Method: http.MethodPost, Path: "/api/v2/mwtest/items/z", Header: patch, Body: `{}`}, ok, "2", "0", 10 * time.Second, ""},
		{"PATCH route exhausted", 0, htReq{Method: http.MethodPatch, Path: "/api/v2/mwtest/items/x", Body: `{}`}, limited, "2", "0", 10 * time.Second, "5"},
		{"public route by address", 0, htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/open", Auth: "-"}, ok, "3", "1", 5 * time.Second, ""},
		{"public route ignores the token", 0, htReq{Method: http.MethodGet, Path: "/api/v2/mwtest/open"}, ok, "2", "0", 10 * time.Second, ""},
		{"public root shares the address's budget", 0, htReq{Method: http.MethodGet, Path: "/api/v2", Auth: "-"}, ok, "1", "1", 0, ""},
	}
	for _, s := range steps {
		clock.Advance(s.advance)
		resp, body := e.do(s.req)
		if resp.StatusCode != s.status {
			t.Fatalf("%s: status %d, want %d; body %s", s.name, resp.StatusCode, s.status, body)
		}
		mwCheckRateHeaders(t, resp.Header, clock.Now(), s.global, s.route, s.reset)
		if s.status == http.StatusTooManyRequests {
			mwCheck429(t, resp.StatusCode, resp.Header, body, s.retry)
			mwCheckCORS(t, resp.Header, s.req.Header.Get("Origin"))
		}
	}
}
