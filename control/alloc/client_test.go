package alloc

import (
	"net/netip"
	"testing"
)

// TestComputedKeysAreKept checks that a client whose Key the scope computes
// (from a buffer on the stack of each call) keeps its identity once the
// buffer is reused by other clients' calls: it gets its own address back
// and its lease is found under KeyOf.
func TestComputedKeysAreKept(t *testing.T) {
	tests := []struct {
		name   string
		client func(n int) Client
	}{
		{"hardware address", func(n int) Client { c := hw(n); c.Key = ""; return c }},
		{"client identifier", func(n int) Client { c := withID("id-"+string(rune('a'+n)), n); c.Key = ""; return c }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustScope(t, scopeCfg(rng("10.0.0.10", "10.0.0.40")))
			got := make(map[int]netip.Addr)
			for n := range 8 {
				got[n] = bindNew(t, s, tt.client(n), t0).IP
			}
			// Lookups first: no call in between computes the same key again.
			for n := range 8 {
				c := tt.client(n)
				l, ok := s.LookupClient(KeyOf(c.ClientID, c.HWType, c.HWAddr))
				if !ok || l.IP != got[n] {
					t.Errorf("LookupClient(client %d) = %v, %v; want %v", n, l.IP, ok, got[n])
				}
			}
			for n := range 8 {
				if a := mustOffer(t, s, tt.client(n), netip.Addr{}, t0); a != got[n] {
					t.Errorf("client %d offered %v, want its lease %v", n, a, got[n])
				}
			}
			checkInvariants(t, s)
		})
	}
}

// TestBoundClientCostsNoAllocation checks that the key the scope computes
// for a client stays on the stack: a client renewing its lease allocates
// nothing in the allocator.
func TestBoundClientCostsNoAllocation(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.10", "10.0.0.40")))
	c := hw(1)
	c.Key = ""
	a := bindNew(t, s, c, t0)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := s.Offer(c, netip.Addr{}, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Request(c, a.IP, testLeaseTime, t0); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Offer and Request of a bound client: %v allocations, want 0", allocs)
	}
}
