package flagstore

// Where webhooks may be sent. A webhook's url is chosen by whoever may
// create webhooks, not by the host, so by default a delivery may reach only
// public addresses: not the host's loopback, private networks, link-local
// metadata services and the like. The check runs when a connection is
// dialled, on the address actually dialled, so a name that resolves
// differently later (DNS rebinding) cannot get around it.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// WithWebhookClient sets the HTTP client that delivers webhooks (its
// timeouts, transport, proxy, TLS settings). The destination policy still
// applies: an *http.Transport (or none, meaning http.DefaultTransport) is
// cloned with its dialer wrapped, so the policy judges every connection the
// transport opens (through a proxy, the proxy's address); any other
// RoundTripper is given only requests whose host resolves to allowed
// addresses, a check made before the request rather than at dial time. By
// default webhooks use a client of their own that follows no redirects and
// uses no proxy.
func WithWebhookClient(c *http.Client) Option {
	return func(cfg *config) { cfg.hooks.client = c }
}

// WithWebhookDestinations sets the destination policy of webhooks: allow is
// asked with the url's host name and each IP address a delivery is about to
// connect to, and a webhook whose url is an IP address is checked when it is
// created or changed. The default is [PublicWebhookDestination]. A refused
// delivery is dropped and reported, not retried.
func WithWebhookDestinations(allow func(host string, ip netip.Addr) bool) Option {
	return func(cfg *config) { cfg.hooks.allow = allow }
}

// PublicWebhookDestination is the default destination policy: it allows
// globally routable unicast addresses and refuses loopback, private
// (RFC 1918, fc00::/7), shared (100.64.0.0/10), link-local, multicast,
// unspecified, benchmarking and other special-purpose addresses, including
// IPv4 addresses mapped or translated into IPv6.
func PublicWebhookDestination(_ string, ip netip.Addr) bool {
	ip = ip.Unmap()
	if nat64.Contains(ip) {
		a := ip.As16()
		ip = netip.AddrFrom4([4]byte(a[12:]))
	}
	if !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() {
		return false
	}
	for _, p := range specialPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// nat64 is the well-known NAT64 prefix, whose addresses stand for IPv4 ones.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// specialPrefixes are special-purpose ranges that IsGlobalUnicast accepts
// but a webhook has no business reaching.
var specialPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("fec0::/10"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
}

// destinationError is a delivery refused by the destination policy. It is
// not retried: the answer would be the same.
type destinationError struct {
	host string
	ip   netip.Addr
}

func (e *destinationError) Error() string {
	return fmt.Sprintf("webhook destination %s (%s) is not allowed", e.host, e.ip)
}

// guardClient returns the client deliveries use: c (nil for the default)
// with the destination policy built into its transport.
func guardClient(c *http.Client, allow func(string, netip.Addr) bool) *http.Client {
	if c == nil {
		return &http.Client{
			Transport: &http.Transport{
				DialContext:           guardedDial(allow, nil),
				ForceAttemptHTTP2:     true,
				MaxIdleConns:          100,
				IdleConnTimeout:       90 * time.Second,
				TLSHandshakeTimeout:   10 * time.Second,
				ExpectContinueTimeout: time.Second,
			},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	out := *c
	switch t := c.Transport.(type) {
	case nil:
		base := http.DefaultTransport.(*http.Transport).Clone()
		base.DialContext = guardedDial(allow, nil)
		out.Transport = base
	case *http.Transport:
		tc := t.Clone()
		tc.DialContext = guardedDial(allow, t.DialContext)
		out.Transport = tc
	default:
		out.Transport = preflight{next: t, allow: allow}
	}
	return &out
}

// guardedDial returns a DialContext that applies allow. Without next it
// dials itself and checks each resolved address before connecting (the
// dialer's Control hook); with next, the host's own dialer, it checks the
// address next connected to and closes the connection, before anything is
// sent, if it is refused.
func guardedDial(allow func(string, netip.Addr) bool, next func(ctx context.Context, network, addr string) (net.Conn, error)) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		if next == nil {
			d := net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second,
				Control: func(_, address string, _ syscall.RawConn) error {
					return checkDestination(allow, host, address)
				}}
			return d.DialContext(ctx, network, addr)
		}
		conn, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if err := checkDestination(allow, host, conn.RemoteAddr().String()); err != nil {
			_ = conn.Close()
			return nil, err
		}
		return conn, nil
	}
}

// checkDestination asks allow about the "ip:port" address.
func checkDestination(allow func(string, netip.Addr) bool, host, address string) error {
	ipStr, _, err := net.SplitHostPort(address)
	if err != nil {
		ipStr = address
	}
	ip, err := netip.ParseAddr(ipStr)
	if err != nil || !allow(host, ip.WithZone("")) {
		return &destinationError{host: host, ip: ip}
	}
	return nil
}

// preflight applies the destination policy in front of a RoundTripper it
// cannot see into: every address the request's host resolves to must be
// allowed.
type preflight struct {
	next  http.RoundTripper
	allow func(string, netip.Addr) bool
}

func (p preflight) RoundTrip(req *http.Request) (*http.Response, error) {
	host := req.URL.Hostname()
	ips, err := net.DefaultResolver.LookupNetIP(req.Context(), "ip", host)
	if err == nil {
		for _, ip := range ips {
			if !p.allow(host, ip.WithZone("")) {
				err = &destinationError{host: host, ip: ip}
				break
			}
		}
	}
	if err != nil {
		if req.Body != nil {
			_ = req.Body.Close() // a RoundTripper closes the body, even on error
		}
		return nil, err
	}
	return p.next.RoundTrip(req)
}

// refusedDestination reports whether err is a refusal by the policy.
func refusedDestination(err error) bool {
	var de *destinationError
	return errors.As(err, &de)
}
