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

// traffic is the wire form of every benchmark client's messages, built
// before timing starts.
type traffic struct {
	discover [][]byte
	request  [][]byte // SELECTING, for the address the client is offered
	renew    [][]byte // RENEWING (ciaddr set, unicast)
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
	res := s.h.Handle(Request{Msg: &d.Msg, Link: ispLink, Now: s.now})
	var yi netip.Addr
	if res.Reply != nil {
		s.buf = AppendReply(s.buf, res.Reply)
		yi, _ = addr4(res.Reply.YourIPAddr)
		s.replies.Put(res.Reply)
	}
	s.requests.Put(d)
	return res.Outcome, yi
}

// dora runs DISCOVER then REQUEST for client n, building the REQUEST for
// the offered address, and fails unless both are answered.
func (s *server) dora(tb testing.TB, tr *traffic, n int) {
	if o, yi := s.serve(tb, tr.discover[n]); o != Offered {
		tb.Fatalf("client %d: DISCOVER: %s", n, o)
	} else if tr.request[n] == nil {
		tr.request[n] = msg(dhcpv4.MessageTypeRequest, benchMAC(n), withOpt(dhcpv4.OptionParameterRequestList, benchPRL),
			withAddr(dhcpv4.OptionServerIdentifier, "10.0.0.1"), withAddr(dhcpv4.OptionRequestedIPAddress, yi.String())).ToBytes()
		tr.renew[n] = msg(dhcpv4.MessageTypeRequest, benchMAC(n), withOpt(dhcpv4.OptionParameterRequestList, benchPRL),
			withCiaddr(yi.String())).ToBytes()
	}
	if o, _ := s.serve(tb, tr.request[n]); o != Acked {
		tb.Fatalf("client %d: REQUEST: %s", n, o)
	}
}

// newTraffic builds the clients' DISCOVERs; their REQUESTs are built by
// the first DORA of each client.
func newTraffic() *traffic {
	tr := &traffic{
		discover: make([][]byte, benchClients),
		request:  make([][]byte, benchClients),
		renew:    make([][]byte, benchClients),
	}
	for n := range benchClients {
		tr.discover[n] = msg(dhcpv4.MessageTypeDiscover, benchMAC(n), withOpt(dhcpv4.OptionParameterRequestList, benchPRL)).ToBytes()
	}
	return tr
}

// boundServer returns a server on which every benchmark client holds a
// lease, and the traffic with every client's REQUESTs.
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
func BenchmarkDORA(b *testing.B) {
	b.Run("new", func(b *testing.B) {
		_, tr := boundServer(b) // the REQUESTs: a new server offers the same addresses in the same order
		var s *server
		b.ReportAllocs()
		b.ResetTimer()
		for n := 0; b.Loop(); n++ {
			if n%benchClients == 0 {
				b.StopTimer()
				s = newBenchServer(b)
				b.StartTimer()
			}
			s.dora(b, tr, n%benchClients)
		}
	})
	b.Run("bound", func(b *testing.B) {
		s, tr := boundServer(b)
		b.ReportAllocs()
		b.ResetTimer()
		for n := 0; b.Loop(); n++ {
			s.dora(b, tr, n%benchClients)
		}
	})
}

// BenchmarkRenew measures one RENEWING REQUEST (decode, handle, encode
// the ACK) per op, for 60,000 distinct clients holding leases in a /16
// scope.
func BenchmarkRenew(b *testing.B) {
	s, tr := boundServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		c := n % benchClients
		if o, _ := s.serve(b, tr.renew[c]); o != Acked {
			b.Fatalf("client %d: renewal: %s", c, o)
		}
	}
}
