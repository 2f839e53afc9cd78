package alloc

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

// benchScope returns a /16 scope (65534 pool addresses) with `used` of them
// leased to other clients.
func benchScope(b *testing.B, used int) *Scope {
	b.Helper()
	s, err := NewScope(config.Scope{
		Subnet: netip.MustParsePrefix("10.0.0.0/16"),
		Pools:  []config.Range{rng("10.0.0.1", "10.0.255.254")},
	}, testOfferHold, testDeclineHold, 0)
	if err != nil {
		b.Fatal(err)
	}
	fillScope(b, s, used)
	return s
}

// fillScope leases used addresses to clients apart from the benchmark's.
func fillScope(b *testing.B, s *Scope, used int) {
	b.Helper()
	for n := range used {
		c := hw(n)
		c.HWAddr[2] = 1 // apart from the benchmark's clients
		c.Key = KeyOf(nil, 1, c.HWAddr)
		a, err := s.Offer(c, netip.Addr{}, t0)
		if err != nil {
			b.Fatal(err)
		}
		// Older leases expire before the benchmark's, as in a running server.
		if _, err := s.Request(c, a, testLeaseTime-time.Minute, t0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOfferRequest measures one DISCOVER+REQUEST (Offer then Request)
// plus the operation that gives the address back, on a nearly empty and a
// nearly full /16 pool: the cost must not grow with the pool's use.
//
//   - new: the client is unknown (the address is then deleted, so the next
//     client takes it from the free lists);
//   - returning: the client released its previous address and gets it back.
func BenchmarkOfferRequest(b *testing.B) {
	benchOfferRequest(b, 65534, func(b *testing.B, s *Scope) {})
}

// BenchmarkOfferRequestFailover is BenchmarkOfferRequest on the primary of
// a failover pair holding half of the /16 pool, allocating its own share
// (AllocOwn): "returning" clients' released addresses wait for the
// partner's acknowledgement, which only their own client may bypass.
func BenchmarkOfferRequestFailover(b *testing.B) {
	benchOfferRequest(b, 65534/2, func(b *testing.B, s *Scope) {
		if _, err := s.SetShare(RolePrimary, 500, t0); err != nil {
			b.Fatal(err)
		}
	})
}

// benchOfferRequest runs the Offer/Request/give-back loop on a /16 scope
// that setup prepared, empty and with all but the benchmark's clients'
// share of capacity addresses leased.
func benchOfferRequest(b *testing.B, capacity int, setup func(*testing.B, *Scope)) {
	const clients = 1024
	for _, fill := range []struct {
		name string
		used int
	}{{"empty", 0}, {"full", capacity - clients}} {
		for _, mode := range []string{"new", "returning"} {
			b.Run(fill.name+"/"+mode, func(b *testing.B) {
				s := benchScope(b, 0)
				setup(b, s)
				fillScope(b, s, fill.used)
				cs := make([]Client, clients)
				for n := range cs {
					cs[n] = hw(n)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for n := 0; b.Loop(); n++ {
					c := cs[n%clients]
					a, err := s.Offer(c, netip.Addr{}, t0)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := s.Request(c, a, testLeaseTime, t0); err != nil {
						b.Fatal(err)
					}
					if mode == "new" {
						s.Delete(a)
					} else {
						s.Release(c, a, t0)
					}
				}
				b.StopTimer()
				if st := s.Stats(); st.Free+st.Active+st.Offered != st.Total {
					b.Fatalf("stats %+v do not add up", st)
				}
			})
		}
	}
}

// BenchmarkRenewMany renews the leases of 60,000 bound clients in turn, as
// a busy server sees renewals: each client's index entry and slot have
// left the CPU caches by its next turn, which the 1,024 clients of
// BenchmarkOfferRequest never do. Keys are computed per call, as the
// handler's are (Client.Key empty).
func BenchmarkRenewMany(b *testing.B) {
	const clients = 60000
	s := benchScope(b, 0)
	cs := make([]Client, clients)
	addrs := make([]netip.Addr, clients)
	for n := range cs {
		cs[n] = hw(n)
		cs[n].Key = ""
		a, err := s.Offer(cs[n], netip.Addr{}, t0)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Request(cs[n], a, testLeaseTime, t0); err != nil {
			b.Fatal(err)
		}
		addrs[n] = a
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		i := n % clients
		if _, err := s.Request(cs[i], addrs[i], testLeaseTime, t0); err != nil {
			b.Fatal(err)
		}
	}
}
