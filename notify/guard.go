package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"code.dny.dev/ssrf"

	"github.com/crossdock/crossdock/logistics"
)

// MaxURLLength bounds a webhook URL.
const MaxURLLength = 2048

// lookupTimeout bounds one DNS lookup of a webhook host.
const lookupTimeout = 5 * time.Second

// Resolver looks up the addresses of a host name; *net.Resolver satisfies
// it. Tests inject one to control what a name resolves to.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// DialFunc opens a connection to an address that is an IP literal and a
// port, already checked by the Guard.
type DialFunc func(ctx context.Context, network, address string) (net.Conn, error)

// GuardOptions configures a Guard.
type GuardOptions struct {
	// AllowPrivate lets webhooks reach loopback, private (RFC 1918,
	// fc00::/7), link-local and shared (100.64.0.0/10) addresses, and lets
	// URLs use plain http: for development, so a receiver on the same
	// machine works (CROSSDOCK_WEBHOOK_ALLOW_PRIVATE). Unspecified,
	// multicast and reserved addresses stay refused.
	AllowPrivate bool
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver Resolver
	// Dial connects to a checked IP and port (default a net.Dialer whose
	// Control hook checks the address once more at the socket).
	Dial DialFunc
	// DialTimeout bounds the default Dial (default 10s).
	DialTimeout time.Duration
}

// Guard keeps outbound webhooks from reaching Crossdock's own network
// (SSRF). It checks a URL when a merchant subscribes it, and again every
// time the sender connects: it resolves the host itself, refuses if any
// address is not allowed, and dials the checked IP, so a name that is
// re-pointed at an internal address after the subscription (DNS rebinding)
// is refused before any connection is made. The address rules are the IANA
// special-purpose registries as kept by code.dny.dev/ssrf. A Guard is safe
// for concurrent use.
type Guard struct {
	allowPrivate bool
	resolver     Resolver
	dial         DialFunc
	guardian     *ssrf.Guardian
}

// Addresses that AllowPrivate opens up. Everything else the ssrf library
// denies (0.0.0.0/8, multicast, documentation, reserved, non-global IPv6)
// stays denied.
var (
	privateV4 = []netip.Prefix{
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
		netip.MustParsePrefix("169.254.0.0/16"),
		netip.MustParsePrefix("100.64.0.0/10"),
	}
	privateV6 = []netip.Prefix{
		netip.MustParsePrefix("::1/128"),
		netip.MustParsePrefix("fc00::/7"),
		netip.MustParsePrefix("fe80::/10"),
	}
	sharedV4 = netip.MustParsePrefix("100.64.0.0/10")
	metadata = netip.MustParseAddr("169.254.169.254")
)

// ErrRefused is wrapped by every refusal of an address.
var ErrRefused = errors.New("webhook destination refused")

// NewGuard builds a Guard.
func NewGuard(opts GuardOptions) *Guard {
	g := &Guard{allowPrivate: opts.AllowPrivate, resolver: opts.Resolver, dial: opts.Dial}
	if g.resolver == nil {
		g.resolver = net.DefaultResolver
	}
	ssrfOpts := []ssrf.Option{ssrf.WithAnyPort()}
	if opts.AllowPrivate {
		ssrfOpts = append(ssrfOpts, ssrf.WithAllowedV4Prefixes(privateV4...), ssrf.WithAllowedV6Prefixes(privateV6...))
	}
	g.guardian = ssrf.New(ssrfOpts...)
	if g.dial == nil {
		timeout := opts.DialTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		d := &net.Dialer{Timeout: timeout, Control: g.Control}
		g.dial = d.DialContext
	}
	return g
}

// AllowsPrivate reports whether the guard lets webhooks reach private
// addresses (development mode).
func (g *Guard) AllowsPrivate() bool { return g.allowPrivate }

// CheckAddr returns nil if a webhook may connect to ip, or an error wrapping
// ErrRefused that says what kind of address it is. An IPv4-mapped IPv6
// address is judged as the IPv4 address it carries.
func (g *Guard) CheckAddr(ip netip.Addr) error {
	if err := g.guardian.SafeAddr(ip.WithZone("").Unmap()); err != nil {
		return fmt.Errorf("%w: %s is %s", ErrRefused, ip, describe(ip))
	}
	return nil
}

// describe names the kind of a refused address, for people.
func describe(ip netip.Addr) string {
	if ip.Is4In6() {
		return "an IPv4-mapped form of " + describe(ip.Unmap())
	}
	switch {
	case ip.IsUnspecified():
		return "the unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip == metadata:
		return "the link-local cloud metadata address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast():
		return "a multicast address"
	case sharedV4.Contains(ip):
		return "a shared (carrier-grade NAT) address"
	}
	return "a reserved or special-purpose address"
}

// Control is a net.Dialer Control hook: it refuses a socket whose address
// the guard does not allow, before the connection is attempted. The default
// dialer uses it as a last line behind DialContext's own check.
func (g *Guard) Control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse %q", ErrRefused, address)
	}
	switch network {
	case "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrRefused, network)
	}
	return g.CheckAddr(ap.Addr())
}

// resolve returns the addresses of host: the host itself when it is an IP
// literal, otherwise what the resolver says.
func (g *Guard) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	ips, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips, nil
}

// check resolves host and refuses it if any of its addresses is refused: a
// name that mixes public and internal addresses is not a webhook receiver.
func (g *Guard) check(ctx context.Context, host string) ([]netip.Addr, error) {
	ips, err := g.resolve(ctx, host)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if err := g.CheckAddr(ip); err != nil {
			return nil, err
		}
	}
	return ips, nil
}

// DialContext connects to address (host:port) for the webhook sender's
// HTTP transport: it resolves the host, refuses if any address is not
// allowed, then dials the checked addresses in turn. A refused destination
// is never dialled.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", address, err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("dial %s: bad port", address)
	}
	ips, err := g.check(ctx, host)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, ip := range ips {
		conn, err := g.dial(ctx, network, netip.AddrPortFrom(ip.WithZone(""), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// CheckURL checks a webhook URL a merchant subscribes: an absolute https
// URL (http too when private addresses are allowed) of at most
// MaxURLLength characters, without credentials, whose host resolves only
// to allowed addresses. It makes no connection. A refusal is a
// *logistics.Error with CodeInvalid on the field "url".
func (g *Guard) CheckURL(ctx context.Context, raw string) error {
	refuse := func(problem string) error {
		return &logistics.Error{Code: logistics.CodeInvalid, Message: "the webhook URL is not allowed",
			Details: []logistics.FieldProblem{{Field: "url", Problem: problem}}}
	}
	if raw == "" {
		return refuse("is required")
	}
	if len(raw) > MaxURLLength {
		return refuse(fmt.Sprintf("must be at most %d characters", MaxURLLength))
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return refuse("must be an absolute https URL such as https://example.com/webhooks")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !g.allowPrivate {
			return refuse("must use https (plain http is allowed only in development, with CROSSDOCK_WEBHOOK_ALLOW_PRIVATE=true)")
		}
	default:
		return refuse("must use https")
	}
	if u.User != nil {
		return refuse("must not carry a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return refuse("must name a host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return refuse("has an invalid port")
		}
	}
	if _, err := g.check(ctx, host); err != nil {
		if errors.Is(err, ErrRefused) {
			return refuse(fmt.Sprintf("points at an address webhooks may not reach (%s)", trimRefused(err)))
		}
		return refuse(fmt.Sprintf("host %s does not resolve", host))
	}
	return nil
}

// trimRefused drops ErrRefused's own text from a refusal, for messages.
func trimRefused(err error) string {
	msg := err.Error()
	prefix := ErrRefused.Error() + ": "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		return msg[len(prefix):]
	}
	return msg
}
