package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.uber.org/zap/zaptest"

	"github.com/xdhcp/xdhcp/control/handler"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/dataplane"
	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// TestParseUDPFrame checks the header checks the AF_XDP path does in the
// kernel stack's place.
func TestParseUDPFrame(t *testing.T) {
	payload := bytes.Repeat([]byte{0xab}, 300)
	src := netip.MustParseAddr("192.0.2.50")
	good := func() []byte {
		f := append(bytes.Repeat([]byte{0xff}, 6), 2, 0, 0, 0, 0, 1, 0x08, 0x00)
		return appendIPv4UDP(f, src, netip.MustParseAddr("255.255.255.255"), 68, 67, payload)
	}
	// reIP recomputes the IPv4 header checksum after an edit.
	reIP := func(f []byte) []byte {
		ip := f[14:34]
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], ^checksum(0, ip))
		return f
	}
	tests := []struct {
		name string
		edit func([]byte) []byte
		ok   bool
	}{
		{"good", func(f []byte) []byte { return f }, true},
		{"Ethernet padding after the datagram", func(f []byte) []byte { return append(f, 0, 0, 0, 0) }, true},
		{"bad UDP checksum is not checked", func(f []byte) []byte { f[40] ^= 0xff; return f }, true},
		{"short", func(f []byte) []byte { return f[:40] }, false},
		{"not IPv4", func(f []byte) []byte { f[12], f[13] = 0x86, 0xdd; return f }, false},
		{"VLAN tagged", func(f []byte) []byte { f[12], f[13] = 0x81, 0x00; return f }, false},
		{"bad IP checksum", func(f []byte) []byte { f[24] ^= 0x01; return f }, false},
		{"IP version 6 in the header", func(f []byte) []byte { f[14] = 0x65; return reIP(f) }, false},
		{"IHL below 5", func(f []byte) []byte { f[14] = 0x44; return reIP(f) }, false},
		{"total length past the frame", func(f []byte) []byte { binary.BigEndian.PutUint16(f[16:], 2000); return reIP(f) }, false},
		{"fragment", func(f []byte) []byte { f[20] = 0x20; return reIP(f) }, false},
		{"not UDP", func(f []byte) []byte { f[23] = 6; return reIP(f) }, false},
		{"UDP length past the datagram", func(f []byte) []byte { binary.BigEndian.PutUint16(f[38:], 400); return f }, false},
		{"UDP length below its header", func(f []byte) []byte { binary.BigEndian.PutUint16(f[38:], 7); return f }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, from, ok := parseUDPFrame(tc.edit(good()))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (!bytes.Equal(p, payload) || from != netip.AddrPortFrom(src, 68)) {
				t.Errorf("payload of %d bytes from %s, want %d bytes from %s:68", len(p), from, len(payload), src)
			}
		})
	}
}

// TestAFXDPSetting opens a server on a veth in a namespace under each
// dataplane.afxdp setting, with and without the XDP program attached, and
// checks the receive path it reports, or the error that names the field.
func TestAFXDPSetting(t *testing.T) {
	netns.RequireRoot(t)
	srv, cli := netns.New(t, "xsk-srv"), netns.New(t, "xsk-cli")
	netns.VethPair(t, srv, "srv0", cli, "cli0")
	if err := srv.AddAddr("srv0", "192.0.2.1/24"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		afxdp   string
		xdp     bool
		receive string // "" when New must fail
	}{
		{"auto", true, "afxdp"},
		{"on", true, "afxdp"},
		{"off", true, "udp"},
		{"auto", false, "udp"},
		{"on", false, ""},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s xdp=%v", tc.afxdp, tc.xdp), func(t *testing.T) {
			cfg, err := config.Parse([]byte("server:\n  interfaces: [srv0]\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.100-192.0.2.199]\ndataplane:\n  afxdp: " + tc.afxdp + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := newServerIn(t, srv, cfg, tc.xdp)
			if tc.receive == "" {
				if err == nil {
					_ = s.Close()
					t.Fatal("New succeeded")
				}
				if !strings.Contains(err.Error(), "dataplane.afxdp") {
					t.Errorf("error %q does not name dataplane.afxdp", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			st := s.Status()
			if got := st.Interfaces[0].Receive; got != tc.receive {
				t.Errorf("receive path %q, want %q", got, tc.receive)
			}
			if (st.Interfaces[0].AFXDP != nil) != (tc.receive == "afxdp") {
				t.Errorf("AF_XDP status %+v with receive path %s", st.Interfaces[0].AFXDP, tc.receive)
			}
		})
	}
}

// newServerIn makes a server on srv0 in the namespace srv, with an
// in-memory store and, when xdp is set, the XDP program attached.
func newServerIn(t *testing.T, srv *netns.NS, cfg *config.Config, xdp bool) (*Server, error) {
	t.Helper()
	store, err := lease.Open(lease.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	opts := Options{Config: cfg, Store: store, Log: zaptest.NewLogger(t)}
	var s *Server
	err = srv.Do(func() error {
		if xdp {
			d, err := dataplane.New(config.Dataplane{}, zaptest.NewLogger(t))
			if err != nil {
				return err
			}
			t.Cleanup(func() { _ = d.Close() })
			mode, err := d.Attach("srv0")
			if err != nil {
				return err
			}
			opts.Sockets, opts.Dataplane = d, map[string]string{"srv0": "xdp-" + mode.String()}
		}
		var err error
		s, err = New(opts)
		return err
	})
	return s, err
}

// TestAFXDPServesRealClients runs the server behind XDP with AF_XDP and
// has udhcpc clients on the other end of the veth get leases, all through
// the AF_XDP queue; with -race it checks the workers' sharing of the
// queue, and that Run returns promptly when its context ends.
func TestAFXDPServesRealClients(t *testing.T) {
	netns.RequireRoot(t)
	if _, err := exec.LookPath("udhcpc"); err != nil {
		t.Skip("udhcpc not installed (apt-get install udhcpc)")
	}
	srv, cli := netns.New(t, "xsk-srv"), netns.New(t, "xsk-cli")
	netns.VethPair(t, srv, "srv0", cli, "cli0")
	if err := srv.AddAddr("srv0", "192.0.2.1/24"); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("server:\n  interfaces: [srv0]\n  workers: 4\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.100-192.0.2.199]\n    lease-time: 1h\n"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := newServerIn(t, srv, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return within 10 s of its context ending")
		}
	}()

	// Each client is udhcpc on a new MAC; -q: exit once bound; the script
	// /bin/true leaves the interface alone.
	const clients = 3
	for i := range clients {
		mac := fmt.Sprintf("02:00:00:00:01:%02x", i)
		if err := cli.Run("ip", "link", "set", "cli0", "address", mac); err != nil {
			t.Fatal(err)
		}
		runCtx, stop := context.WithTimeout(ctx, 20*time.Second)
		out, err := cli.Command(runCtx, "udhcpc", "-i", "cli0", "-f", "-q", "-n", "-t", "5", "-T", "1", "-s", "/bin/true").CombinedOutput()
		stop()
		if err != nil {
			t.Fatalf("udhcpc %s: %v\n%s", mac, err, out)
		}
	}
	st := s.Status().Interfaces[0]
	if st.Receive != "afxdp" || st.AFXDP == nil {
		t.Fatalf("receive path %+v, want afxdp", st)
	}
	// Each client's DISCOVER and REQUEST came in and its OFFER and ACK went
	// out through the queue.
	if st.AFXDP.Received < 2*clients || st.AFXDP.Sent < 2*clients {
		t.Errorf("AF_XDP counters %+v, want at least %d requests in and %d replies out", st.AFXDP, 2*clients, 2*clients)
	}
	leases := 0
	for _, sc := range s.Status().Scopes {
		leases += int(sc.Active)
	}
	if leases != clients {
		t.Errorf("%d active leases, want %d", leases, clients)
	}
}

// FuzzParseUDPFrame feeds arbitrary frames to the AF_XDP path's header
// checks: no panic, and what it accepts has a valid IPv4 header checksum
// and a payload inside the frame.
func FuzzParseUDPFrame(f *testing.F) {
	f.Add(append(append(bytes.Repeat([]byte{0xff}, 6), 2, 0, 0, 0, 0, 1, 0x08, 0x00),
		appendIPv4UDP(nil, netip.MustParseAddr("192.0.2.9"), netip.MustParseAddr("255.255.255.255"), 68, 67, make([]byte, 300))...))
	f.Add(make([]byte, 42))
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, _, ok := parseUDPFrame(frame)
		if !ok {
			return
		}
		ihl := int(frame[14]&0x0f) * 4
		if checksum(0, frame[14:14+ihl]) != 0xffff {
			t.Fatal("accepted a bad IPv4 header checksum")
		}
		if len(p) > len(frame)-14-20-8 {
			t.Fatalf("payload of %d bytes from a %d-byte frame", len(p), len(frame))
		}
	})
}

// TestOutboxAddresses checks where each kind of reply goes with an AF_XDP
// queue: frames on the queue to the client's (or an on-link relay's)
// hardware address, the UDP socket for relays and clients the link does
// not reach directly.
func TestOutboxAddresses(t *testing.T) {
	ifc := newOutboxIface(t, "192.0.2.1/24")
	chaddr := net.HardwareAddr{2, 0, 0, 0, 0, 0x11}
	relayHW := [6]byte{2, 0, 0, 0, 0, 0x22}
	var requests handler.RequestPool
	request := func(giaddr, ciaddr string, broadcast bool) *dhcpv4.DHCPv4 {
		m, err := dhcpv4.New(dhcpv4.WithHwAddr(chaddr), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest))
		if err != nil {
			t.Fatal(err)
		}
		m.GatewayIPAddr, m.ClientIPAddr = net.ParseIP(giaddr).To4(), net.ParseIP(ciaddr).To4()
		if broadcast {
			m.SetBroadcast()
		}
		return m
	}
	tests := []struct {
		name    string
		req     *dhcpv4.DHCPv4
		via     linkPeer
		udp     string // the UDP destination; "" for a frame
		frameHW [6]byte
		frameTo string
	}{
		{"relay on the link, sent from giaddr", request("192.0.2.7", "0.0.0.0", false),
			linkPeer{ip: netip.MustParseAddr("192.0.2.7"), hw: relayHW}, "", relayHW, "192.0.2.7:67"},
		{"relay on the link, forwarded by another host", request("192.0.2.7", "0.0.0.0", false),
			linkPeer{ip: netip.MustParseAddr("192.0.2.9"), hw: relayHW}, "192.0.2.7:67", [6]byte{}, ""},
		{"relay off the link", request("198.51.100.1", "0.0.0.0", false),
			linkPeer{ip: netip.MustParseAddr("198.51.100.1"), hw: relayHW}, "198.51.100.1:67", [6]byte{}, ""},
		{"relay, sender unknown (UDP socket)", request("192.0.2.7", "0.0.0.0", false),
			linkPeer{}, "192.0.2.7:67", [6]byte{}, ""},
		{"direct, broadcast bit", request("0.0.0.0", "0.0.0.0", true),
			linkPeer{}, "", [6]byte(broadcastHW), "255.255.255.255:68"},
		{"renewal on the link", request("0.0.0.0", "192.0.2.150", false),
			linkPeer{}, "", [6]byte(chaddr), "192.0.2.150:68"},
		{"renewal from off the link", request("0.0.0.0", "203.0.113.5", false),
			linkPeer{}, "203.0.113.5:68", [6]byte{}, ""},
	}
	// A reply too long for a UMEM chunk goes through the UDP socket: to a
	// client broadcast, to a relay as usual.
	long := dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(224), bytes.Repeat([]byte{1}, 255))
	for _, lc := range []struct {
		name string
		req  *dhcpv4.DHCPv4
		via  linkPeer
		want string
	}{
		{"long reply to a client", request("0.0.0.0", "0.0.0.0", false), linkPeer{}, "255.255.255.255:68"},
		{"long reply to an on-link relay", request("192.0.2.7", "0.0.0.0", false),
			linkPeer{ip: netip.MustParseAddr("192.0.2.7"), hw: relayHW}, "192.0.2.7:67"},
	} {
		o := newOutbox(ifc, &xskQueue{}, func(*handler.Reply) {}, func(error) {})
		reply, err := dhcpv4.NewReplyFromRequest(lc.req, dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
			dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 150)))
		if err != nil {
			t.Fatal(err)
		}
		for code := range 8 { // 8 options of 255 bytes: past 1,792
			reply.UpdateOption(dhcpv4.OptGeneric(dhcpv4.GenericOptionCode(224+code), long.Value.ToBytes()))
		}
		o.add(mustDecode(t, &requests, lc.req), mustReply(t, reply), lc.via)
		if o.linkN != 0 || o.udpN != 1 || o.udpMsgs[0].Addr.String() != lc.want {
			t.Errorf("%s: %d frames, %d UDP datagrams (first to %v); want one datagram to %s", lc.name, o.linkN, o.udpN, o.udpMsgs[0].Addr, lc.want)
		}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOutbox(ifc, &xskQueue{}, func(*handler.Reply) {}, func(error) {})
			reply, err := dhcpv4.NewReplyFromRequest(tc.req, dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
				dhcpv4.WithYourIP(net.IPv4(192, 0, 2, 150)))
			if err != nil {
				t.Fatal(err)
			}
			o.add(mustDecode(t, &requests, tc.req), mustReply(t, reply), tc.via)
			if tc.udp != "" {
				if o.udpN != 1 || o.linkN != 0 {
					t.Fatalf("%d UDP datagrams and %d frames queued, want the UDP datagram", o.udpN, o.linkN)
				}
				if got := o.udpMsgs[0].Addr.String(); got != tc.udp {
					t.Errorf("UDP datagram to %s, want %s", got, tc.udp)
				}
				return
			}
			if o.linkN != 1 || o.udpN != 0 {
				t.Fatalf("%d frames and %d UDP datagrams queued, want the frame", o.linkN, o.udpN)
			}
			f := o.frames[0]
			if [6]byte(f[0:6]) != tc.frameHW || [6]byte(f[6:12]) != ifc.xsk.mac {
				t.Errorf("frame from %x to %x, want from %x to %x", f[6:12], f[0:6], ifc.xsk.mac, tc.frameHW)
			}
			if _, _, ok := parseUDPFrame(f); !ok {
				t.Fatal("the frame does not parse")
			}
			to := netip.AddrPortFrom(netip.AddrFrom4([4]byte(f[30:34])), binary.BigEndian.Uint16(f[36:38]))
			if to.String() != tc.frameTo {
				t.Errorf("frame to %s, want %s", to, tc.frameTo)
			}
		})
	}
}

// newOutboxIface is an interface at addr (with its prefix) with an AF_XDP
// port, for outbox tests that queue without sending; its UDP socket is on
// loopback and closed in cleanup.
func newOutboxIface(tb testing.TB, addr string) *iface {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	p := netip.MustParsePrefix(addr)
	return &iface{name: "srv0", addr: p.Addr(), conn: conn, subnets: []netip.Prefix{p.Masked()},
		xsk: &xskPort{mac: [6]byte{2, 0, 0, 0, 0, 0xaa}}}
}

// mustDecode decodes a request as the server receives it.
func mustDecode(tb testing.TB, pool *handler.RequestPool, m *dhcpv4.DHCPv4) *handler.Decoded {
	tb.Helper()
	d, err := pool.Decode(m.ToBytes())
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// mustReply converts a library reply into the handler's.
func mustReply(tb testing.TB, m *dhcpv4.DHCPv4) *handler.Reply {
	tb.Helper()
	r, err := handler.NewReply(m)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// checksumByWords is RFC 1071's sum the plain way, 16 bits at a time: the
// reference checksum is held to.
func checksumByWords(sum uint32, b []byte) uint16 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

func FuzzChecksum(f *testing.F) {
	f.Add(uint32(0), []byte{})
	f.Add(uint32(0x1ffff), []byte{0xff})
	f.Add(uint32(17), bytes.Repeat([]byte{0xff}, 301))
	f.Add(uint32(0xffffffff), bytes.Repeat([]byte{0xab, 0xcd, 0xef}, 97))
	f.Fuzz(func(t *testing.T, sum uint32, b []byte) {
		// The pseudo-header sums passed in stay far below 2^32 - 2^16.
		sum &= 0x00ffffff
		if got, want := checksum(sum, b), checksumByWords(sum, b); got != want {
			t.Fatalf("checksum(%#x, %d bytes) = %#04x, want %#04x", sum, len(b), got, want)
		}
	})
}

func BenchmarkChecksum(b *testing.B) {
	buf := bytes.Repeat([]byte{0x5a, 0xa5, 0x13}, 110) // a 330-byte reply
	for b.Loop() {
		_ = checksum(0, buf)
	}
}
