package notify

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crossdock/crossdock/logistics"
)

// fakeResolver answers from a table; a name may answer differently on
// later lookups (DNS rebinding). It counts lookups.
type fakeResolver struct {
	mu      sync.Mutex
	answers map[string][][]netip.Addr
	lookups map[string]int
}

var _ Resolver = (*fakeResolver)(nil)

func newFakeResolver(answers map[string][]string) *fakeResolver {
	r := &fakeResolver{answers: map[string][][]netip.Addr{}, lookups: map[string]int{}}
	for host, ips := range answers {
		r.set(host, ips...)
	}
	return r
}

// set adds an answer for host: the first lookup gets the first answer, and
// so on; the last repeats.
func (r *fakeResolver) set(host string, ips ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var addrs []netip.Addr
	for _, ip := range ips {
		addrs = append(addrs, netip.MustParseAddr(ip))
	}
	r.answers[host] = append(r.answers[host], addrs)
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	answers, ok := r.answers[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	n := r.lookups[host]
	r.lookups[host]++
	if n >= len(answers) {
		n = len(answers) - 1
	}
	return answers[n], nil
}

// noDial fails the test if the guard ever tries to connect.
func noDial(t *testing.T) DialFunc {
	return func(_ context.Context, network, address string) (net.Conn, error) {
		t.Errorf("a connection to %s %s was attempted", network, address)
		return nil, errors.New("test: dialling is forbidden")
	}
}

const public = "93.184.215.14"

func TestCheckURLRefusesInternalDestinations(t *testing.T) {
	resolver := newFakeResolver(map[string][]string{
		"hooks.example.com":   {public},
		"localhost":           {"127.0.0.1", "::1"},
		"intranet.example":    {"10.1.2.3"},
		"mixed.example.com":   {public, "192.168.1.10"},
		"metadata.example":    {"169.254.169.254"},
		"cgnat.example":       {"100.64.12.1"},
		"v6private.example":   {"fd12:3456::1"},
		"mapped.example":      {"::ffff:127.0.0.1"},
		"2130706433":          {"127.0.0.1"}, // what libc's inet_aton makes of a decimal host
		"0x7f.1":              {"127.0.0.1"},
		"multicast.example":   {"239.1.2.3"},
		"unspecified.example": {"0.0.0.0"},
	})
	g := NewGuard(GuardOptions{Resolver: resolver, Dial: noDial(t)})
	tests := []struct {
		url, problem string
	}{
		{"https://127.0.0.1/hook", "loopback"},
		{"https://127.1.2.3:8443/hook", "loopback"},
		{"https://localhost/hook", "loopback"},
		{"https://[::1]/hook", "loopback"},
		{"https://10.0.0.5/hook", "private"},
		{"https://172.16.4.4/hook", "private"},
		{"https://192.168.0.1/hook", "private"},
		{"https://intranet.example/hook", "private"},
		{"https://[fc00::1]/hook", "private"},
		{"https://v6private.example/hook", "private"},
		{"https://169.254.169.254/latest/meta-data/", "cloud metadata"},
		{"https://metadata.example/", "cloud metadata"},
		{"https://169.254.10.10/hook", "link-local"},
		{"https://[fe80::1]/hook", "link-local"},
		{"https://[fe80::1%25eth0]/hook", "link-local"},
		{"https://100.64.0.1/hook", "carrier-grade NAT"},
		{"https://cgnat.example/hook", "carrier-grade NAT"},
		{"https://0.0.0.0/hook", "unspecified"},
		{"https://unspecified.example/hook", "unspecified"},
		{"https://[::]/hook", "unspecified"},
		{"https://224.0.0.1/hook", "multicast"},
		{"https://multicast.example/hook", "multicast"},
		{"https://[ff02::1]/hook", "multicast"},
		{"https://[::ffff:127.0.0.1]/hook", "IPv4-mapped form of a loopback"},
		{"https://[::ffff:169.254.169.254]/hook", "IPv4-mapped form of the link-local cloud metadata"},
		{"https://mapped.example/hook", "IPv4-mapped form of a loopback"},
		{"https://2130706433/hook", "loopback"},
		{"https://0x7f.1/hook", "loopback"},
		{"https://mixed.example.com/hook", "private"},
		{"https://192.0.2.10/hook", "reserved"},
		{"http://hooks.example.com/hook", "must use https"},
		{"ftp://hooks.example.com/hook", "must use https"},
		{"hooks.example.com/hook", "absolute https URL"},
		{"https:///hook", "must name a host"},
		{"https://user:pass@hooks.example.com/hook", "user name or password"},
		{"https://nowhere.example/hook", "does not resolve"},
		{"https://hooks.example.com:99999/hook", "invalid port"},
		{"", "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := g.CheckURL(t.Context(), tt.url)
			require.Error(t, err)
			var le *logistics.Error
			require.ErrorAs(t, err, &le)
			assert.Equal(t, logistics.CodeInvalid, le.Code)
			require.Len(t, le.Details, 1)
			assert.Equal(t, "url", le.Details[0].Field)
			assert.Contains(t, le.Details[0].Problem, tt.problem)
		})
	}
	t.Run("public https is allowed", func(t *testing.T) {
		require.NoError(t, g.CheckURL(t.Context(), "https://hooks.example.com/crossdock?x=1"))
		require.NoError(t, g.CheckURL(t.Context(), "https://"+public+":8443/hook"))
		require.NoError(t, g.CheckURL(t.Context(), "https://[2606:4700::6810:85e5]/hook"))
	})
}

func TestAllowPrivateIsForDevelopment(t *testing.T) {
	resolver := newFakeResolver(map[string][]string{"localhost": {"127.0.0.1"}})
	g := NewGuard(GuardOptions{AllowPrivate: true, Resolver: resolver, Dial: noDial(t)})
	assert.True(t, g.AllowsPrivate())
	for _, u := range []string{"http://localhost:9000/hook", "http://127.0.0.1/hook", "https://10.0.0.5/hook",
		"https://169.254.169.254/", "https://[::1]/hook", "https://[fd00::1]/hook", "https://100.64.0.1/"} {
		assert.NoError(t, g.CheckURL(t.Context(), u), u)
	}
	for _, u := range []string{"https://0.0.0.0/", "https://224.0.0.1/", "https://[::]/", "ftp://127.0.0.1/"} {
		assert.Error(t, g.CheckURL(t.Context(), u), u)
	}
}

// TestDialRefusesARebindingName: a name that resolved to a public address
// when subscribed and to loopback when the sender connects is refused at
// connect time, and no connection is attempted.
func TestDialRefusesARebindingName(t *testing.T) {
	resolver := newFakeResolver(nil)
	resolver.set("rebind.example.com", public)
	resolver.set("rebind.example.com", "127.0.0.1")
	g := NewGuard(GuardOptions{Resolver: resolver, Dial: noDial(t)})

	require.NoError(t, g.CheckURL(t.Context(), "https://rebind.example.com/hook"))
	conn, err := g.DialContext(t.Context(), "tcp", "rebind.example.com:443")
	require.ErrorIs(t, err, ErrRefused)
	assert.Nil(t, conn)
	assert.Contains(t, err.Error(), "127.0.0.1 is a loopback address")
	assert.Equal(t, 2, resolver.lookups["rebind.example.com"], "resolved again at connect time")

	_, err = g.DialContext(t.Context(), "tcp", "[::ffff:10.0.0.1]:443")
	require.ErrorIs(t, err, ErrRefused)
}

// TestDialConnectsToTheCheckedAddress: an allowed name is dialled at the
// address that was checked, not resolved a second time by the dialer.
func TestDialConnectsToTheCheckedAddress(t *testing.T) {
	resolver := newFakeResolver(map[string][]string{"hooks.example.com": {public}})
	var dialled []string
	g := NewGuard(GuardOptions{Resolver: resolver, Dial: func(_ context.Context, network, address string) (net.Conn, error) {
		dialled = append(dialled, network+" "+address)
		return nil, errors.New("test: not really dialling")
	}})
	_, err := g.DialContext(t.Context(), "tcp", "hooks.example.com:8443")
	require.Error(t, err)
	assert.Equal(t, []string{"tcp " + public + ":8443"}, dialled)
}

// TestControlHookStopsTheSocket uses the real default dialer against a
// listener on loopback: the Control hook refuses before connect(2), so the
// listener never sees a connection.
func TestControlHookStopsTheSocket(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if conn, err := ln.Accept(); err == nil {
			conn.Close()
			accepted <- struct{}{}
		}
	}()

	g := NewGuard(GuardOptions{})
	d := &net.Dialer{Timeout: time.Second, Control: g.Control}
	conn, err := d.DialContext(t.Context(), "tcp", ln.Addr().String())
	require.ErrorIs(t, err, ErrRefused)
	assert.Nil(t, conn)

	// The guard's own DialContext with the default dialer refuses too.
	conn, err = g.DialContext(t.Context(), "tcp", ln.Addr().String())
	require.ErrorIs(t, err, ErrRefused)
	assert.Nil(t, conn)

	// Let the listener prove the negative: a connection that had been
	// made would be accepted well within this window.
	select {
	case <-accepted:
		t.Fatal("the listener accepted a connection the guard should have stopped")
	case <-time.After(200 * time.Millisecond):
	}

	// In development the same dial goes through.
	dev := NewGuard(GuardOptions{AllowPrivate: true})
	conn, err = dev.DialContext(t.Context(), "tcp", ln.Addr().String())
	require.NoError(t, err)
	conn.Close()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("the allowed connection was not accepted")
	}
}
