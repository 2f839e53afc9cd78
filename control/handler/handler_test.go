package handler

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
	"go.uber.org/zap/zaptest"

	"github.com/xdhcp/xdhcp/control/alloc"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

const testLink = 7

var (
	serverID   = netip.MustParseAddr("192.0.2.1")
	otherID    = netip.MustParseAddr("192.0.2.2")
	reservedHW = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	t0         = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

// newTestHandler serves 192.0.2.0/24 on testLink (a small pool and one
// reservation), 198.51.100.0/24 through relays, and 203.0.113.0/24 for
// BOOTP and DHCP alike.
func newTestHandler(t *testing.T) *Handler {
	t.Helper()
	routers := []byte{192, 0, 2, 1}
	scopes := []config.Scope{
		{
			Subnet:    netip.MustParsePrefix("192.0.2.0/24"),
			Pools:     []config.Range{{Start: netip.MustParseAddr("192.0.2.100"), End: netip.MustParseAddr("192.0.2.102")}},
			LeaseTime: config.Duration(time.Hour),
			Protocol:  config.ProtocolDHCP,
			Options:   config.Options{3: routers, 6: {192, 0, 2, 53}, 15: []byte("example.net")},
			Reservations: []config.Reservation{
				{HWAddress: reservedHW, IP: netip.MustParseAddr("192.0.2.10"), Hostname: "printer"},
			},
		},
		{
			Subnet:    netip.MustParsePrefix("198.51.100.0/24"),
			Pools:     []config.Range{{Start: netip.MustParseAddr("198.51.100.100"), End: netip.MustParseAddr("198.51.100.199")}},
			LeaseTime: config.Duration(2 * time.Hour),
			Protocol:  config.ProtocolDHCP,
		},
		{
			Subnet:    netip.MustParsePrefix("203.0.113.0/24"),
			Pools:     []config.Range{{Start: netip.MustParseAddr("203.0.113.100"), End: netip.MustParseAddr("203.0.113.199")}},
			LeaseTime: config.Duration(time.Hour),
			Protocol:  config.ProtocolBoth,
		},
	}
	hs := newScopes(t, scopes)
	links := []Link{
		{Index: testLink, Name: "srv0", Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/24")}},
		{Index: testLink + 1, Name: "srv1", Addrs: []netip.Prefix{netip.MustParsePrefix("203.0.113.1/24")}},
	}
	h, err := New(zaptest.NewLogger(t), serverID, hs, links, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// newScopes builds each configured scope with its allocator (a 10s offer
// hold, a 1h decline hold).
func newScopes(tb testing.TB, cfgs []config.Scope) []*Scope {
	tb.Helper()
	var scopes []*Scope
	for _, sc := range cfgs {
		a, err := alloc.NewScope(sc, 10*time.Second, time.Hour, config.DefaultCacheThreshold)
		if err != nil {
			tb.Fatalf("NewScope(%s): %v", sc.Subnet, err)
		}
		scopes = append(scopes, &Scope{Config: sc, Alloc: a})
	}
	return scopes
}

// msg builds a client message; mods adjust it.
func msg(typ dhcpv4.MessageType, hw net.HardwareAddr, mods ...func(*dhcpv4.DHCPv4)) *dhcpv4.DHCPv4 {
	m := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootRequest,
		HWType:        iana.HWTypeEthernet,
		TransactionID: dhcpv4.TransactionID{1, 2, 3, 4},
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: net.IPv4zero,
		ClientHWAddr:  hw,
		Options:       dhcpv4.Options{},
	}
	if typ != 0 {
		m.Options[uint8(dhcpv4.OptionDHCPMessageType)] = []byte{byte(typ)}
	}
	for _, f := range mods {
		f(m)
	}
	// Round-trip through the wire format, as the server does.
	d, err := Decode(m.ToBytes())
	if err != nil {
		panic(err)
	}
	return d
}

func withOpt(code dhcpv4.OptionCode, v []byte) func(*dhcpv4.DHCPv4) {
	return func(m *dhcpv4.DHCPv4) { m.Options[code.Code()] = v }
}

func withAddr(code dhcpv4.OptionCode, a string) func(*dhcpv4.DHCPv4) {
	return withOpt(code, netip.MustParseAddr(a).AsSlice())
}

func withCiaddr(a string) func(*dhcpv4.DHCPv4) {
	return func(m *dhcpv4.DHCPv4) { m.ClientIPAddr = net.ParseIP(a).To4() }
}

func withGiaddr(a string) func(*dhcpv4.DHCPv4) {
	return func(m *dhcpv4.DHCPv4) { m.GatewayIPAddr = net.ParseIP(a).To4(); m.HopCount = 1 }
}

func hw(last byte) net.HardwareAddr { return net.HardwareAddr{2, 0xaa, 0, 0, 0, last} }

// dora runs DISCOVER and REQUEST for a client and returns the ACKed lease.
func dora(t *testing.T, h *Handler, c net.HardwareAddr) netip.Addr {
	t.Helper()
	off := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeDiscover, c), Link: testLink, Now: t0})
	if off.Outcome != Offered {
		t.Fatalf("DISCOVER from %s: outcome %s, want offer", c, off.Outcome)
	}
	yi := off.Reply.YourIP().String()
	ack := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeRequest, c,
		withAddr(dhcpv4.OptionServerIdentifier, serverID.String()),
		withAddr(dhcpv4.OptionRequestedIPAddress, yi)), Link: testLink, Now: t0})
	if ack.Outcome != Acked || ack.Lease == nil {
		t.Fatalf("REQUEST from %s for %s: outcome %s, want ack with lease", c, yi, ack.Outcome)
	}
	return ack.Lease.IP
}

func TestHandle(t *testing.T) {
	type check func(t *testing.T, res Result)
	wantYiaddr := func(a string) check {
		return func(t *testing.T, res Result) {
			if got := res.Reply.YourIP().String(); got != a {
				t.Errorf("yiaddr = %s, want %s", got, a)
			}
		}
	}
	wantOpt := func(code dhcpv4.OptionCode, v []byte) check {
		return func(t *testing.T, res Result) {
			if got, _ := res.Reply.Option(code.Code()); !bytes.Equal(got, v) {
				t.Errorf("option %d = %v, want %v", code.Code(), got, v)
			}
		}
	}
	noOpt := func(code dhcpv4.OptionCode) check {
		return func(t *testing.T, res Result) {
			if _, ok := res.Reply.Option(code.Code()); ok {
				t.Errorf("option %d present, want absent", code.Code())
			}
		}
	}
	wantLease := func(state lease.State, ip string) check {
		return func(t *testing.T, res Result) {
			if res.Lease == nil {
				t.Fatal("no lease to persist")
			}
			if res.Lease.State != state || res.Lease.IP.String() != ip {
				t.Errorf("lease = %s %s, want %s %s", res.Lease.State, res.Lease.IP, state, ip)
			}
		}
	}
	noReply := func(t *testing.T, res Result) {
		if res.Reply != nil {
			t.Errorf("reply sent: %s", res.Reply.Message().Summary())
		}
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, h *Handler) // runs first, e.g. to bind a lease
		msg     *dhcpv4.DHCPv4
		link    int
		outcome Outcome
		checks  []check
	}{
		{
			name: "discover gets the first free address and the scope's options",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(1)), link: testLink, outcome: Offered,
			checks: []check{
				wantYiaddr("192.0.2.100"),
				wantOpt(dhcpv4.OptionServerIdentifier, serverID.AsSlice()),
				wantOpt(dhcpv4.OptionIPAddressLeaseTime, []byte{0, 0, 0x0e, 0x10}),
				wantOpt(dhcpv4.OptionRenewTimeValue, []byte{0, 0, 0x07, 0x08}),
				wantOpt(dhcpv4.OptionRebindingTimeValue, []byte{0, 0, 0x0c, 0x4e}),
				wantOpt(dhcpv4.OptionSubnetMask, []byte{255, 255, 255, 0}),
				wantOpt(dhcpv4.OptionRouter, []byte{192, 0, 2, 1}),
				wantOpt(dhcpv4.OptionDomainName, []byte("example.net")),
			},
		},
		{
			name: "parameter request list limits the configured options",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(1), withOpt(dhcpv4.OptionParameterRequestList, []byte{1, 3})),
			link: testLink, outcome: Offered,
			checks: []check{wantOpt(dhcpv4.OptionRouter, []byte{192, 0, 2, 1}), noOpt(dhcpv4.OptionDomainName), noOpt(dhcpv4.OptionDomainNameServer)},
		},
		{
			name: "a reservation wins over the pool",
			msg:  msg(dhcpv4.MessageTypeDiscover, reservedHW), link: testLink, outcome: Offered,
			checks: []check{wantYiaddr("192.0.2.10"), wantOpt(dhcpv4.OptionHostName, []byte("printer"))},
		},
		{
			name: "the requested address is offered when free",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(2), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.102")),
			link: testLink, outcome: Offered, checks: []check{wantYiaddr("192.0.2.102")},
		},
		{
			name: "a shorter requested lease time is granted",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(2), withOpt(dhcpv4.OptionIPAddressLeaseTime, []byte{0, 0, 0x02, 0x58})),
			link: testLink, outcome: Offered, checks: []check{wantOpt(dhcpv4.OptionIPAddressLeaseTime, []byte{0, 0, 0x02, 0x58})},
		},
		{
			name: "client identifier is echoed (RFC 6842)",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(3), withOpt(dhcpv4.OptionClientIdentifier, []byte{1, 2, 3})),
			link: testLink, outcome: Offered, checks: []check{wantOpt(dhcpv4.OptionClientIdentifier, []byte{1, 2, 3})},
		},
		{
			name: "a relayed discover is served from giaddr's scope with option 82 echoed",
			msg: msg(dhcpv4.MessageTypeDiscover, hw(4), withGiaddr("198.51.100.1"),
				withOpt(dhcpv4.OptionRelayAgentInformation, []byte{1, 3, 'a', 'b', 'c'})),
			link: testLink, outcome: Offered,
			checks: []check{wantYiaddr("198.51.100.100"), wantOpt(dhcpv4.OptionRelayAgentInformation, []byte{1, 3, 'a', 'b', 'c'}),
				wantOpt(dhcpv4.OptionIPAddressLeaseTime, []byte{0, 0, 0x1c, 0x20})},
		},
		{
			name: "a relay from an unknown network is not answered",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(4), withGiaddr("10.9.9.1")), link: testLink, outcome: DropNoScope,
		},
		{
			name: "a discover on a link with no scope is not answered",
			msg:  msg(dhcpv4.MessageTypeDiscover, hw(4)), link: 99, outcome: DropNoScope,
		},
		{
			name: "a request in SELECTING for our offer is ACKed with a lease to persist",
			msg: msg(dhcpv4.MessageTypeRequest, hw(5), withAddr(dhcpv4.OptionServerIdentifier, "192.0.2.1"),
				withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.101")),
			link: testLink, outcome: Acked,
			checks: []check{wantYiaddr("192.0.2.101"), wantLease(lease.StateActive, "192.0.2.101")},
		},
		{
			name: "a request naming another server is ignored",
			msg: msg(dhcpv4.MessageTypeRequest, hw(5), withAddr(dhcpv4.OptionServerIdentifier, otherID.String()),
				withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.101")),
			link: testLink, outcome: DropNotForUs, checks: []check{noReply},
		},
		{
			name: "INIT-REBOOT for an address on another network is NAKed",
			msg:  msg(dhcpv4.MessageTypeRequest, hw(6), withAddr(dhcpv4.OptionRequestedIPAddress, "10.1.1.5")),
			link: testLink, outcome: Naked,
			checks: []check{wantYiaddr("0.0.0.0"), wantOpt(dhcpv4.OptionServerIdentifier, serverID.AsSlice())},
		},
		{
			name: "INIT-REBOOT for an address bound to someone else is NAKed",
			setup: func(t *testing.T, h *Handler) {
				if got := dora(t, h, hw(7)); got.String() != "192.0.2.100" {
					t.Fatalf("setup lease = %s", got)
				}
			},
			msg:  msg(dhcpv4.MessageTypeRequest, hw(8), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.100")),
			link: testLink, outcome: Naked,
		},
		{
			name:  "RENEWING extends the client's own lease",
			setup: func(t *testing.T, h *Handler) { dora(t, h, hw(9)) },
			msg:   msg(dhcpv4.MessageTypeRequest, hw(9), withCiaddr("192.0.2.100")),
			link:  testLink, outcome: Acked,
			checks: []check{wantYiaddr("192.0.2.100"), wantLease(lease.StateActive, "192.0.2.100")},
		},
		{
			name:  "RENEWING someone else's address is NAKed",
			setup: func(t *testing.T, h *Handler) { dora(t, h, hw(9)) },
			msg:   msg(dhcpv4.MessageTypeRequest, hw(10), withCiaddr("192.0.2.100")),
			link:  testLink, outcome: Naked,
		},
		{
			name:  "RELEASE frees the client's lease without a reply",
			setup: func(t *testing.T, h *Handler) { dora(t, h, hw(11)) },
			msg: msg(dhcpv4.MessageTypeRelease, hw(11), withCiaddr("192.0.2.100"),
				withAddr(dhcpv4.OptionServerIdentifier, "192.0.2.1")),
			link: testLink, outcome: Released, checks: []check{noReply, wantLease(lease.StateReleased, "192.0.2.100")},
		},
		{
			name: "RELEASE of an address the client does not hold changes nothing",
			msg:  msg(dhcpv4.MessageTypeRelease, hw(12), withCiaddr("192.0.2.100")),
			link: testLink, outcome: DropUnknownBinding, checks: []check{noReply},
		},
		{
			name:  "DECLINE abandons the address",
			setup: func(t *testing.T, h *Handler) { dora(t, h, hw(13)) },
			msg: msg(dhcpv4.MessageTypeDecline, hw(13), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.100"),
				withAddr(dhcpv4.OptionServerIdentifier, "192.0.2.1")),
			link: testLink, outcome: Declined, checks: []check{noReply, wantLease(lease.StateAbandoned, "192.0.2.100")},
		},
		{
			name: "INFORM gets options and no lease",
			msg:  msg(dhcpv4.MessageTypeInform, hw(14), withCiaddr("192.0.2.50")),
			link: testLink, outcome: Informed,
			checks: []check{wantYiaddr("0.0.0.0"), noOpt(dhcpv4.OptionIPAddressLeaseTime), wantOpt(dhcpv4.OptionRouter, []byte{192, 0, 2, 1})},
		},
		{
			name: "BOOTP to a dhcp-only scope is not answered",
			msg:  msg(0, hw(15)), link: testLink, outcome: DropProtocol,
		},
		{
			name: "BOOTP to a scope allowing it binds an address in one step",
			msg:  msg(0, hw(16)), link: testLink + 1, outcome: BootpReplied,
			checks: []check{wantYiaddr("203.0.113.100"), noOpt(dhcpv4.OptionDHCPMessageType), wantLease(lease.StateActive, "203.0.113.100")},
		},
		{
			name: "OFFER from a client is not answered",
			msg:  msg(dhcpv4.MessageTypeOffer, hw(17)), link: testLink, outcome: DropUnknownType,
		},
		{
			name: "REQUEST with nothing to request is malformed",
			msg:  msg(dhcpv4.MessageTypeRequest, hw(18)), link: testLink, outcome: DropMalformed,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t)
			if tt.setup != nil {
				tt.setup(t, h)
			}
			res := h.Handle(Request{Msg: tt.msg, Link: tt.link, Now: t0})
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome = %s, want %s", res.Outcome, tt.outcome)
			}
			if tt.outcome.Dropped() && res.Reply != nil {
				t.Fatalf("dropped outcome %s with a reply", res.Outcome)
			}
			if !tt.outcome.Dropped() && tt.outcome != Released && tt.outcome != Declined && res.Reply == nil {
				t.Fatalf("outcome %s without a reply", res.Outcome)
			}
			if res.Reply != nil {
				if m := res.Reply.Message(); m.OpCode != dhcpv4.OpcodeBootReply || res.Reply.TransactionID() != tt.msg.TransactionID {
					t.Errorf("reply header: op %v xid %v", m.OpCode, res.Reply.TransactionID())
				}
				if _, err := Decode(res.Reply.ToBytes()); err != nil {
					t.Errorf("reply does not decode: %v", err)
				}
			}
			for _, c := range tt.checks {
				c(t, res)
			}
		})
	}
}

func TestTwoClientsNeverShareAnAddress(t *testing.T) {
	h := newTestHandler(t)
	seen := map[netip.Addr]net.HardwareAddr{}
	for i := byte(1); i <= 3; i++ {
		ip := dora(t, h, hw(i))
		if prev, dup := seen[ip]; dup {
			t.Fatalf("%s given to %s and %s", ip, prev, hw(i))
		}
		seen[ip] = hw(i)
	}
	// The pool (three addresses) is now full.
	res := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeDiscover, hw(4)), Link: testLink, Now: t0})
	if res.Outcome != DropPoolExhausted {
		t.Fatalf("fourth client: outcome %s, want %s", res.Outcome, DropPoolExhausted)
	}
	// The first client comes back and gets its own address again.
	res = h.Handle(Request{Msg: msg(dhcpv4.MessageTypeDiscover, hw(1)), Link: testLink, Now: t0})
	if res.Outcome != Offered || res.Reply.YourIP().String() != "192.0.2.100" {
		t.Fatalf("returning client: %s %v, want offer of 192.0.2.100", res.Outcome, res.Reply)
	}
}

func TestNakThroughRelayAsksForBroadcast(t *testing.T) {
	h := newTestHandler(t)
	res := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeRequest, hw(1), withGiaddr("198.51.100.1"),
		withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.100")), Link: testLink, Now: t0})
	if res.Outcome != Naked {
		t.Fatalf("outcome %s, want nak", res.Outcome)
	}
	if !res.Reply.Broadcast() {
		t.Error("NAK through a relay without the broadcast flag")
	}
}

func TestDecode(t *testing.T) {
	good := msg(dhcpv4.MessageTypeDiscover, hw(1)).ToBytes()
	bootp := make([]byte, 300)
	copy(bootp, good[:bootpHeaderLen])
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
		bootp   bool
	}{
		{name: "dhcp", in: good},
		{name: "bootp without cookie", in: bootp, bootp: true},
		{name: "bare header", in: good[:bootpHeaderLen], bootp: true},
		{name: "too short", in: good[:100], wantErr: true},
		{name: "empty", in: nil, wantErr: true},
		{name: "option runs past the end", in: append(append([]byte{}, good[:240]...), 53, 200, 1), wantErr: true},
		{name: "no end option", in: append(append([]byte{}, good[:240]...), 53, 1, 1), wantErr: true},
		{name: "two-byte message type", in: append(append([]byte{}, good[:240]...), 53, 2, 1, 1, 255), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && tt.bootp == m.Options.Has(dhcpv4.OptionDHCPMessageType) {
				t.Errorf("message type present = %v, want %v", !tt.bootp, tt.bootp)
			}
		})
	}
}

func TestLeaseKeepsHostname(t *testing.T) {
	h := newTestHandler(t)
	res := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeRequest, hw(1),
		withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.100"),
		withOpt(dhcpv4.OptionHostName, []byte("laptop"))), Link: testLink, Now: t0})
	if res.Outcome != Acked {
		t.Fatalf("outcome %s, want ack", res.Outcome)
	}
	if res.Lease.Hostname != "laptop" {
		t.Errorf("persisted hostname %q, want laptop", res.Lease.Hostname)
	}
	// The allocator's own record (what xdhcpctl shows) has it too.
	l, ok := h.ScopeOf(res.Lease.IP).Alloc.Lookup(res.Lease.IP)
	if !ok || l.Hostname != "laptop" {
		t.Errorf("allocator record hostname %q (found %v), want laptop", l.Hostname, ok)
	}
}

// TestRecycledRepliesCarryNothingOver gives every reply back to the pool
// and checks that the next client's reply, built from a recycled message,
// is exactly what a fresh message would have given: no option, address or
// flag of the previous client survives.
func TestRecycledRepliesCarryNothingOver(t *testing.T) {
	relayInfo := []byte{1, 3, 'p', 'o', 'n'}
	steps := []struct {
		name string
		req  *dhcpv4.DHCPv4
		link int
	}{
		{"relayed, client id and relay info", msg(dhcpv4.MessageTypeDiscover, hw(1), withGiaddr("198.51.100.1"),
			withOpt(dhcpv4.OptionClientIdentifier, []byte{1, 2, 0xaa, 0, 0, 0, 1}),
			withOpt(dhcpv4.OptionRelayAgentInformation, relayInfo)), 0},
		{"plain on the link", msg(dhcpv4.MessageTypeDiscover, hw(2)), testLink},
		{"NAK for a foreign address", msg(dhcpv4.MessageTypeRequest, hw(3), withAddr(dhcpv4.OptionRequestedIPAddress, "10.9.9.9")), testLink},
		{"INFORM", msg(dhcpv4.MessageTypeInform, hw(4), withCiaddr("192.0.2.50")), testLink},
		{"plain again", msg(dhcpv4.MessageTypeDiscover, hw(5)), testLink},
	}
	pooled := newTestHandler(t)
	pool := new(ReplyPool)
	pooled.replies = pool
	fresh := newTestHandler(t)
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			got := pooled.Handle(Request{Msg: st.req, Link: st.link, Now: t0})
			want := fresh.Handle(Request{Msg: st.req, Link: st.link, Now: t0})
			if got.Outcome != want.Outcome {
				t.Fatalf("outcome %s, want %s", got.Outcome, want.Outcome)
			}
			if want.Reply == nil {
				t.Fatalf("no reply from the fresh handler (outcome %s); the step tests nothing", want.Outcome)
			}
			if g, w := got.Reply.ToBytes(), want.Reply.ToBytes(); !bytes.Equal(g, w) {
				t.Fatalf("recycled reply differs from a fresh one:\n got %s\nwant %s", got.Reply.Message().Summary(), want.Reply.Message().Summary())
			}
			pool.Put(got.Reply)
		})
	}
}

// TestRenewalFromCache checks the cache threshold end to end in the
// handler: a renewal early in a lease that is durable gets the stored lease
// with its remaining time and no lease to persist; before the commit is
// known, or late in the lease, it gets a new lease to persist. The scopes
// use the default 25% (config.DefaultCacheThreshold) of a 1h lease.
func TestRenewalFromCache(t *testing.T) {
	secs := func(t *testing.T, r *Reply, code dhcpv4.OptionCode) uint32 {
		t.Helper()
		v, ok := r.Option(code.Code())
		if !ok || len(v) != 4 {
			t.Fatalf("option %v = %x, %v; want 4 bytes", code, v, ok)
		}
		return binary.BigEndian.Uint32(v)
	}
	tests := []struct {
		name      string
		committed bool
		after     time.Duration
		wantLease bool   // a lease to persist
		wantSecs  uint32 // option 51
	}{
		{"durable, 10 minutes in", true, 10 * time.Minute, false, 3000},
		{"commit not reported", false, 10 * time.Minute, true, 3600},
		{"durable, 20 minutes in", true, 20 * time.Minute, true, 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t)
			c := hw(30)
			off := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeDiscover, c), Link: testLink, Now: t0})
			yi := off.Reply.YourIP().String()
			ack := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeRequest, c,
				withAddr(dhcpv4.OptionServerIdentifier, serverID.String()),
				withAddr(dhcpv4.OptionRequestedIPAddress, yi)), Link: testLink, Now: t0})
			if ack.Lease == nil {
				t.Fatalf("first REQUEST: outcome %s without a lease", ack.Outcome)
			}
			if tt.committed {
				h.Committed([]lease.Lease{*ack.Lease})
			}
			res := h.Handle(Request{Msg: msg(dhcpv4.MessageTypeRequest, c, withCiaddr(yi)), Link: testLink, Now: t0.Add(tt.after)})
			if res.Outcome != Acked || res.Reply == nil {
				t.Fatalf("renewal: outcome %s, want an ACK", res.Outcome)
			}
			if (res.Lease != nil) != tt.wantLease {
				t.Fatalf("renewal: lease to persist %v, want %v", res.Lease != nil, tt.wantLease)
			}
			if got := secs(t, res.Reply, dhcpv4.OptionIPAddressLeaseTime); got != tt.wantSecs {
				t.Errorf("lease time %d s, want %d", got, tt.wantSecs)
			}
			if got := secs(t, res.Reply, dhcpv4.OptionRenewTimeValue); got != tt.wantSecs/2 {
				t.Errorf("T1 %d s, want %d", got, tt.wantSecs/2)
			}
			if got := secs(t, res.Reply, dhcpv4.OptionRebindingTimeValue); got != tt.wantSecs*7/8 {
				t.Errorf("T2 %d s, want %d", got, tt.wantSecs*7/8)
			}
		})
	}
}
