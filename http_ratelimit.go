package flagstore

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimitOptions sets request rate limits, LaunchDarkly's way: a global
// budget per caller across all routes, and a budget per caller and route
// (one method and path template). A caller is an access token, a session
// member, or for unauthenticated routes a client IP. Budgets refill
// continuously; a zero field means no limit of that kind. LaunchDarkly does
// not publish its numbers, so the zero value limits nothing.
type RateLimitOptions struct {
	// GlobalPer10s is how many requests a caller may make in 10 seconds.
	GlobalPer10s int
	// RoutePer10s is how many requests a caller may make to one route in
	// 10 seconds.
	RoutePer10s int
}

// Rate-limit response headers, as LaunchDarkly names them.
const (
	headerGlobalRemaining = "X-Ratelimit-Global-Remaining"
	headerRouteRemaining  = "X-Ratelimit-Route-Remaining"
	headerReset           = "X-Ratelimit-Reset"
)

// maxLimiters bounds the limiters kept; past it, idle state is dropped.
const maxLimiters = 10_000

// rateLimiter keeps one token bucket per caller (and per caller and route).
type rateLimiter struct {
	opts RateLimitOptions
	now  func() time.Time
	mu   sync.Mutex
	lims map[string]*rate.Limiter
}

func newRateLimiter(o RateLimitOptions, now func() time.Time) *rateLimiter {
	return &rateLimiter{opts: o, now: now, lims: map[string]*rate.Limiter{}}
}

// limiter returns the bucket for key, holding perTenSeconds requests.
func (l *rateLimiter) limiter(key string, perTenSeconds int) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.lims[key]
	if !ok {
		if len(l.lims) >= maxLimiters {
			clear(l.lims) // forget everyone: at worst a caller gets a fresh budget
		}
		lim = rate.NewLimiter(rate.Limit(float64(perTenSeconds)/10), perTenSeconds)
		l.lims[key] = lim
	}
	return lim
}

// middleware applies the limits to one route and sets LaunchDarkly's
// headers; an exhausted budget is 429 rate_limited with Retry-After.
func (l *rateLimiter) middleware(rt *route, next http.Handler) http.Handler {
	if l.opts.GlobalPer10s <= 0 && l.opts.RoutePer10s <= 0 {
		return next
	}
	routeKey := rt.pattern()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller := callerKey(r)
		now := l.now()
		type bucket struct {
			lim    *rate.Limiter
			res    *rate.Reservation
			n      int
			header string
		}
		var buckets []bucket
		if n := l.opts.GlobalPer10s; n > 0 {
			buckets = append(buckets, bucket{lim: l.limiter("g\x00"+caller, n), n: n, header: headerGlobalRemaining})
		}
		if n := l.opts.RoutePer10s; n > 0 {
			buckets = append(buckets, bucket{lim: l.limiter("r\x00"+caller+"\x00"+routeKey, n), n: n, header: headerRouteRemaining})
		}
		var wait time.Duration
		for i := range buckets {
			buckets[i].res = buckets[i].lim.ReserveN(now, 1)
			wait = max(wait, buckets[i].res.DelayFrom(now))
		}
		if wait > 0 {
			// A refused request spends no budget, in either bucket: a
			// route's 429s do not use up the caller's global budget.
			for _, b := range buckets {
				b.res.CancelAt(now)
			}
		}
		h := w.Header()
		var reset time.Time
		for _, b := range buckets {
			left := b.lim.TokensAt(now)
			h.Set(b.header, strconv.Itoa(max(0, int(math.Floor(left)))))
			full := now.Add(time.Duration((float64(b.n) - left) / (float64(b.n) / 10) * float64(time.Second)))
			if full.After(reset) {
				reset = full
			}
		}
		h.Set(headerReset, strconv.FormatInt(reset.UnixMilli(), 10))
		if wait > 0 {
			h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, newError(ErrRateLimited, "You've exceeded the API rate limit. Try again later."))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// callerKey names who is calling: the access token, the session member,
// or the client's IP address.
func callerKey(r *http.Request) string {
	if p, ok := PrincipalFrom(r.Context()); ok {
		if p.TokenID != "" {
			return "token:" + p.TokenID
		}
		return "member:" + p.MemberID
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}
