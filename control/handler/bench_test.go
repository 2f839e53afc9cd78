package handler

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.uber.org/zap"
)

// benchClients is how many distinct clients the benchmarks cycle through:
// most of the ISP scope's /16 pool, so the allocator's client index and
// slots are as large as in a busy server.
const benchClients = 60000

// benchPRL is the parameter request list of the benchmarks' clients, what
// a typical CPE asks for.
var benchPRL = []byte{1, 3, 6, 15, 42, 51, 54, 58, 59}

func benchMAC(n int) net.HardwareAddr {
	return net.HardwareAddr{2, 0xdd, 0, byte(n >> 16), byte(n >> 8), byte(n)}
}

// traffic is the benchmark clients' messages: one template per kind, which
// each message copies into a receive buffer and patches with its client's
// hardware address and address, as the kernel would hand the server a
// fresh datagram in a buffer it reuses. (Separate wire bytes for 60,000
// clients would add a cache miss per message that a server never sees.)
type traffic struct {
	discover, request, renew template
	addrs                    [][4]byte // each client's address, filled by its first DORA
	rx                       []byte
}

// template is the wire form of one kind of message for client 0.
type template struct {
	wire        []byte
	requestedAt int  // offset of option 50's value, or -1
	ciaddr      bool // the client's address goes in ciaddr
}

func newTemplate(m *dhcpv4.DHCPv4, ciaddr bool) template {
	t := template{wire: m.ToBytes(), requestedAt: -1, ciaddr: ciaddr}
	opts := t.wire[bootpHeaderLen+4:]
	for i := 0; i < len(opts) && opts[i] != 255; {
		if opts[i] == 0 {
			i++
			continue
		}
		if opts[i] == dhcpv4.OptionRequestedIPAddress.Code() {
			t.requestedAt = bootpHeaderLen + 4 + i + 2
		}
		i += 2 + int(opts[i+1])
	}
	return t
}

// message returns client n's message in tr's receive buffer.
func (tr *traffic) message(t *template, n int) []byte {
	b := append(tr.rx[:0], t.wire...)
	mac := benchMAC(n)
	copy(b[28:34], mac)
	if t.ciaddr {
		copy(b[12:16], tr.addrs[n][:])
	}
	if t.requestedAt >= 0 {
		copy(b[t.requestedAt:t.requestedAt+4], tr.addrs[n][:])
	}
	tr.rx = b
	return b
}

// server is what the server does per datagram, minus the socket and the
// lease store: decode into a recycled message, handle, encode the reply
// into a reused buffer, and give message and reply back.
type server struct {
	h        *Handler
	requests RequestPool
	replies  *ReplyPool
	buf      []byte
	now      time.Time
	decoded  bool // answer with HandleDecoded instead of Handle
}

func newBenchServer(tb testing.TB) *server {
	pool := new(ReplyPool)
	return &server{h: newISPHandler(tb, zap.NewNop(), pool), replies: pool, buf: make([]byte, 0, 1500), now: t0}
}

// serve runs one datagram through the server's steps and returns what
// the handler did and the reply's yiaddr.
func (s *server) serve(tb testing.TB, wire []byte) (Outcome, netip.Addr) {
	d, err := s.requests.Decode(wire)
	if err != nil {
		tb.Fatal(err)
	}
	var res Result
	if s.decoded {
		res = s.h.HandleDecoded(d, ispLink, s.now)
	} else {
		res = s.h.Handle(Request{Msg: d.Message(), Link: ispLink, Now: s.now})
	}
	var yi netip.Addr
	if res.Reply != nil {
		s.buf = AppendReply(s.buf, res.Reply)
		yi = res.Reply.YourIP()
		s.replies.Put(res.Reply)
	}
	s.requests.Put(d)
	return res.Outcome, yi
}

// dora runs DISCOVER then REQUEST for client n, for the address the
// client was offered, and fails unless both are answered.
func (s *server) dora(tb testing.TB, tr *traffic, n int) {
	o, yi := s.serve(tb, tr.message(&tr.discover, n))
	if o != Offered {
		tb.Fatalf("client %d: DISCOVER: %s", n, o)
	}
	tr.addrs[n] = yi.As4()
	if o, _ := s.serve(tb, tr.message(&tr.request, n)); o != Acked {
		tb.Fatalf("client %d: REQUEST: %s", n, o)
	}
}

func newTraffic() *traffic {
	prl := withOpt(dhcpv4.OptionParameterRequestList, benchPRL)
	some := "10.0.0.1" // replaced by each client's address
	return &traffic{
		discover: newTemplate(msg(dhcpv4.MessageTypeDiscover, benchMAC(0), prl), false),
		request: newTemplate(msg(dhcpv4.MessageTypeRequest, benchMAC(0), prl, withAddr(dhcpv4.OptionServerIdentifier, "10.0.0.1"),
			withAddr(dhcpv4.OptionRequestedIPAddress, some)), false),
		renew: newTemplate(msg(dhcpv4.MessageTypeRequest, benchMAC(0), prl, withCiaddr(some)), true),
		addrs: make([][4]byte, benchClients),
		rx:    make([]byte, 0, 1500),
	}
}

// boundServer returns a server on which every benchmark client holds a
// lease, and the traffic with every client's address.
func boundServer(b *testing.B) (*server, *traffic) {
	b.Helper()
	tr := newTraffic()
	s := newBenchServer(b)
	for n := range benchClients {
		s.dora(b, tr, n)
	}
	return s, tr
}

// BenchmarkDORA measures one DISCOVER and one REQUEST (decode, handle,
// encode the OFFER and the ACK) per op, for 60,000 distinct clients of a
// /16 scope:
//
//   - new: each client is new to the server (the server is rebuilt, off
//     the clock, whenever every client has been through);
//   - bound: each client already holds its lease, as after a restart of
//     the client.
func BenchmarkDORA(b *testing.B) { benchDORA(b, false) }

// BenchmarkDORADecoded is BenchmarkDORA with Handler.HandleDecoded.
func BenchmarkDORADecoded(b *testing.B) { benchDORA(b, true) }

// BenchmarkRenew measures one RENEWING REQUEST (decode, handle, encode
// the ACK) per op, for 60,000 distinct clients holding leases in a /16
// scope.
func BenchmarkRenew(b *testing.B) { benchRenew(b, false) }

// BenchmarkRenewDecoded is BenchmarkRenew with Handler.HandleDecoded.
func BenchmarkRenewDecoded(b *testing.B) { benchRenew(b, true) }

func benchDORA(b *testing.B, decoded bool) {
	b.Run("new", func(b *testing.B) {
		tr := newTraffic()
		var s *server
		b.ReportAllocs()
		b.ResetTimer()
		for n := 0; b.Loop(); n++ {
			if n%benchClients == 0 {
				b.StopTimer()
				s = newBenchServer(b)
				s.decoded = decoded
				b.StartTimer()
			}
			s.dora(b, tr, n%benchClients)
		}
	})
	b.Run("bound", func(b *testing.B) {
		s, tr := boundServer(b)
		s.decoded = decoded
		b.ReportAllocs()
		b.ResetTimer()
		for n := 0; b.Loop(); n++ {
			s.dora(b, tr, n%benchClients)
		}
	})
}

func benchRenew(b *testing.B, decoded bool) {
	s, tr := boundServer(b)
	s.decoded = decoded
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		c := n % benchClients
		if o, _ := s.serve(b, tr.message(&tr.renew, c)); o != Acked {
			b.Fatalf("client %d: renewal: %s", c, o)
		}
	}
}
