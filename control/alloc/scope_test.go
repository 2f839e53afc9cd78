package alloc

import (
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

func TestKeyOf(t *testing.T) {
	mac := []byte{0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}
	tests := []struct {
		name     string
		clientID []byte
		htype    uint8
		chaddr   []byte
		want     ClientKey
	}{
		{"client id wins", []byte{1, 2, 3}, 1, mac, "i:\x01\x02\x03"},
		{"hardware address", nil, 1, mac, "h:\x01\xaa\xbb\xcc\xdd\xee\xff"},
		{"empty client id falls back", []byte{}, 6, mac[:2], "h:\x06\xaa\xbb"},
		{"no identity", nil, 1, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := KeyOf(tt.clientID, tt.htype, tt.chaddr); got != tt.want {
				t.Errorf("KeyOf = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewScopeErrors(t *testing.T) {
	sub := netip.MustParsePrefix("10.0.0.0/24")
	tests := []struct {
		name         string
		cfg          config.Scope
		offerHold    time.Duration
		declineHold  time.Duration
		want         string // substring of the error
		cachePercent int
	}{
		{"zero offer hold", scopeCfg(rng("10.0.0.10", "10.0.0.20")), 0, time.Hour, "server.offer-hold", 0},
		{"negative decline hold", scopeCfg(rng("10.0.0.10", "10.0.0.20")), time.Second, -1, "server.decline-hold", 0},
		{"cache threshold over 100", scopeCfg(rng("10.0.0.10", "10.0.0.20")), time.Second, 0, "server.cache-threshold-percent", 101},
		{"negative cache threshold", scopeCfg(rng("10.0.0.10", "10.0.0.20")), time.Second, 0, "server.cache-threshold-percent", -1},
		{"ipv6 subnet", config.Scope{Subnet: netip.MustParsePrefix("2001:db8::/64")}, time.Second, 0, "IPv4 prefix", 0},
		{"reversed pool", scopeCfg(rng("10.0.0.20", "10.0.0.10")), time.Second, 0, "pools[0]", 0},
		{"pool outside subnet", scopeCfg(rng("10.0.0.250", "10.0.1.5")), time.Second, 0, "inside the subnet", 0},
		{"pool too large", config.Scope{Subnet: netip.MustParsePrefix("10.0.0.0/7"), Pools: []config.Range{rng("10.0.0.0", "11.255.255.255")}}, time.Second, 0, "at most", 0},
		{"reversed exclude", config.Scope{Subnet: sub, Exclude: []config.Range{rng("10.0.0.9", "10.0.0.8")}}, time.Second, 0, "exclude[0]", 0},
		{"reservation outside subnet", config.Scope{Subnet: sub, Reservations: []config.Reservation{{HWAddress: net.HardwareAddr{1}, IP: ip("10.0.1.1")}}}, time.Second, 0, "reservations[0]", 0},
		{"reservation without identity", config.Scope{Subnet: sub, Reservations: []config.Reservation{{IP: ip("10.0.0.1")}}}, time.Second, 0, "set one of", 0},
		{"duplicate reserved ip", config.Scope{Subnet: sub, Reservations: []config.Reservation{
			{HWAddress: net.HardwareAddr{1}, IP: ip("10.0.0.1")}, {HWAddress: net.HardwareAddr{2}, IP: ip("10.0.0.1")}}}, time.Second, 0, "already reserved by reservations[0]", 0},
		{"duplicate hw-address", config.Scope{Subnet: sub, Reservations: []config.Reservation{
			{HWAddress: net.HardwareAddr{1}, IP: ip("10.0.0.1")}, {HWAddress: net.HardwareAddr{1}, IP: ip("10.0.0.2")}}}, time.Second, 0, "hw-address already used", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewScope(tt.cfg, tt.offerHold, tt.declineHold, tt.cachePercent)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewScope error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// reservedScope has a pool .10-.19 with .15 reserved for hw(100), .30
// (outside the pool) for client-id "res-id", .31 for circuit-id "port7",
// and .18-.19 excluded.
func reservedScope(t *testing.T) *Scope {
	t.Helper()
	cfg := scopeCfg(rng("10.0.0.10", "10.0.0.19"))
	cfg.Exclude = []config.Range{rng("10.0.0.18", "10.0.0.19")}
	cfg.Reservations = []config.Reservation{
		{HWAddress: hw(100).HWAddr, IP: ip("10.0.0.15"), Hostname: "printer"},
		{ClientID: []byte("res-id"), IP: ip("10.0.0.30")},
		{CircuitID: []byte("port7"), IP: ip("10.0.0.31")},
	}
	return mustScope(t, cfg)
}

func TestOfferOrder(t *testing.T) {
	circuit := hw(7)
	circuit.CircuitID = []byte("port7")
	tests := []struct {
		name   string
		setup  func(t *testing.T, s *Scope) // runs at t0
		client Client
		req    netip.Addr
		at     time.Duration // after t0
		want   netip.Addr
	}{
		{name: "reservation by hw-address in the pool", client: hw(100), want: ip("10.0.0.15")},
		{name: "reservation by client-id outside the pool", client: withID("res-id", 1), want: ip("10.0.0.30")},
		{name: "reservation by circuit-id", client: circuit, want: ip("10.0.0.31")},
		{name: "reservation beats requested address", client: hw(100), req: ip("10.0.0.12"), want: ip("10.0.0.15")},
		{name: "reservation beats current dynamic lease", client: hw(100),
			setup: func(t *testing.T, s *Scope) {
				// A lease from before the reservation was configured.
				l := lease.Lease{IP: ip("10.0.0.11"), State: lease.StateActive, HWType: 1, HWAddr: hw(100).HWAddr, Expiry: t0.Add(time.Hour)}
				if err := s.Restore(l); err != nil {
					t.Fatal(err)
				}
			},
			want: ip("10.0.0.15")},
		{name: "reserved address leased to another: served dynamically", client: hw(100),
			setup: func(t *testing.T, s *Scope) {
				l := lease.Lease{IP: ip("10.0.0.15"), State: lease.StateActive, HWType: 1, HWAddr: hw(1).HWAddr, Expiry: t0.Add(time.Hour)}
				if err := s.Restore(l); err != nil {
					t.Fatal(err)
				}
			},
			want: ip("10.0.0.10")},
		{name: "never-used addresses in ascending order", client: hw(1), want: ip("10.0.0.10")},
		{name: "reserved pool address skipped", client: hw(6),
			setup: func(t *testing.T, s *Scope) {
				for n := 1; n <= 5; n++ {
					bindNew(t, s, hw(n), t0)
				}
			},
			want: ip("10.0.0.16")},
		{name: "current lease returned", client: hw(2), req: ip("10.0.0.13"),
			setup: func(t *testing.T, s *Scope) { bindNew(t, s, hw(1), t0); bindNew(t, s, hw(2), t0) },
			want:  ip("10.0.0.11")},
		{name: "held offer returned again", client: hw(2), at: 5 * time.Second,
			setup: func(t *testing.T, s *Scope) {
				mustOffer(t, s, hw(1), netip.Addr{}, t0)
				mustOffer(t, s, hw(2), ip("10.0.0.14"), t0)
			},
			want: ip("10.0.0.14")},
		{name: "previous address after release", client: hw(1), at: time.Minute,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), ip("10.0.0.13"), t0)
				s.Release(hw(1), ip("10.0.0.13"), t0)
				bindNew(t, s, hw(2), t0)
			},
			want: ip("10.0.0.13")},
		{name: "previous address after expiry", client: hw(1), at: 2 * time.Hour,
			setup: func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), ip("10.0.0.13"), t0) },
			want:  ip("10.0.0.13")},
		{name: "previous address beats requested", client: hw(1), req: ip("10.0.0.16"), at: time.Minute,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), ip("10.0.0.13"), t0)
				s.Release(hw(1), ip("10.0.0.13"), t0)
			},
			want: ip("10.0.0.13")},
		{name: "previous address taken: next free", client: hw(1), at: time.Minute,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), ip("10.0.0.10"), t0)
				s.Release(hw(1), ip("10.0.0.10"), t0)
				mustRequest(t, s, hw(2), ip("10.0.0.10"), t0)
			},
			want: ip("10.0.0.11")},
		{name: "requested free address honoured", client: hw(1), req: ip("10.0.0.17"), want: ip("10.0.0.17")},
		{name: "requested excluded address refused", client: hw(1), req: ip("10.0.0.18"), want: ip("10.0.0.10")},
		{name: "requested reserved address refused", client: hw(1), req: ip("10.0.0.15"), want: ip("10.0.0.10")},
		{name: "requested address outside pools refused", client: hw(1), req: ip("10.0.0.40"), want: ip("10.0.0.10")},
		{name: "requested address of another subnet refused", client: hw(1), req: ip("192.0.2.12"), want: ip("10.0.0.10")},
		{name: "requested address offered to another refused", client: hw(2), req: ip("10.0.0.12"),
			setup: func(t *testing.T, s *Scope) { mustOffer(t, s, hw(1), ip("10.0.0.12"), t0) },
			want:  ip("10.0.0.10")},
		{name: "requested address leased to another refused", client: hw(2), req: ip("10.0.0.10"),
			setup: func(t *testing.T, s *Scope) { bindNew(t, s, hw(1), t0) },
			want:  ip("10.0.0.11")},
		{name: "fresh before recycled, then the longest free", client: hw(9), at: time.Minute,
			setup: func(t *testing.T, s *Scope) {
				// Use every dynamic address, then free .16 before .11.
				for n := 1; n <= 7; n++ {
					bindNew(t, s, hw(n), t0)
				}
				s.Release(hw(6), ip("10.0.0.16"), t0.Add(time.Second))
				s.Release(hw(2), ip("10.0.0.11"), t0.Add(2*time.Second))
			},
			want: ip("10.0.0.16")},
		{name: "declined address skipped", client: hw(2),
			setup: func(t *testing.T, s *Scope) {
				a := mustOffer(t, s, hw(1), netip.Addr{}, t0)
				s.Decline(hw(1), a, t0)
			},
			want: ip("10.0.0.11")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := reservedScope(t)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			got, err := s.Offer(tt.client, tt.req, t0.Add(tt.at))
			if err != nil {
				t.Fatalf("Offer: %v", err)
			}
			if got != tt.want {
				t.Errorf("Offer = %v, want %v", got, tt.want)
			}
			checkInvariants(t, s)
		})
	}
}

func TestRequestRules(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T, s *Scope)
		client  Client
		ip      netip.Addr
		wantErr bool // ErrNotAvailable
	}{
		{name: "own offer", client: hw(1), ip: ip("10.0.0.12"),
			setup: func(t *testing.T, s *Scope) { mustOffer(t, s, hw(1), ip("10.0.0.12"), t0) }},
		{name: "free address without offer (init-reboot, bootp)", client: hw(1), ip: ip("10.0.0.13")},
		{name: "own reservation outside the pools", client: withID("res-id", 1), ip: ip("10.0.0.30")},
		{name: "own reservation inside the pool", client: hw(100), ip: ip("10.0.0.15")},
		{name: "renew own lease", client: hw(1), ip: ip("10.0.0.10"),
			setup: func(t *testing.T, s *Scope) { bindNew(t, s, hw(1), t0) }},
		{name: "address leased to another", client: hw(2), ip: ip("10.0.0.10"), wantErr: true,
			setup: func(t *testing.T, s *Scope) { bindNew(t, s, hw(1), t0) }},
		{name: "address offered to another", client: hw(2), ip: ip("10.0.0.10"), wantErr: true,
			setup: func(t *testing.T, s *Scope) { mustOffer(t, s, hw(1), netip.Addr{}, t0) }},
		{name: "excluded address", client: hw(1), ip: ip("10.0.0.18"), wantErr: true},
		{name: "outside the pools", client: hw(1), ip: ip("10.0.0.40"), wantErr: true},
		{name: "another subnet", client: hw(1), ip: ip("192.0.2.1"), wantErr: true},
		{name: "IPv6", client: hw(1), ip: ip("2001:db8::1"), wantErr: true},
		{name: "reserved for another client", client: hw(1), ip: ip("10.0.0.15"), wantErr: true},
		{name: "reserved outside pools for another client", client: hw(1), ip: ip("10.0.0.30"), wantErr: true},
		{name: "client with a reservation asks for another address", client: hw(100), ip: ip("10.0.0.11"), wantErr: true},
		{name: "client whose reservation is taken may use a dynamic one", client: hw(100), ip: ip("10.0.0.11"),
			setup: func(t *testing.T, s *Scope) {
				l := lease.Lease{IP: ip("10.0.0.15"), State: lease.StateActive, HWType: 1, HWAddr: hw(1).HWAddr, Expiry: t0.Add(time.Hour)}
				if err := s.Restore(l); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "renewal of a lease on a now-reserved address", client: hw(1), ip: ip("10.0.0.15"), wantErr: true,
			setup: func(t *testing.T, s *Scope) {
				l := lease.Lease{IP: ip("10.0.0.15"), State: lease.StateActive, HWType: 1, HWAddr: hw(1).HWAddr, Expiry: t0.Add(time.Hour)}
				if err := s.Restore(l); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "renewal of a lease now outside the pools", client: hw(1), ip: ip("10.0.0.50"), wantErr: true,
			setup: func(t *testing.T, s *Scope) {
				l := lease.Lease{IP: ip("10.0.0.50"), State: lease.StateActive, HWType: 1, HWAddr: hw(1).HWAddr, Expiry: t0.Add(time.Hour)}
				if err := s.Restore(l); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "declined address", client: hw(2), ip: ip("10.0.0.10"), wantErr: true,
			setup: func(t *testing.T, s *Scope) {
				a := mustOffer(t, s, hw(1), netip.Addr{}, t0)
				s.Decline(hw(1), a, t0)
			}},
		{name: "address free again after its offer lapsed", client: hw(2), ip: ip("10.0.0.10"),
			setup: func(t *testing.T, s *Scope) {
				mustOffer(t, s, hw(1), netip.Addr{}, t0.Add(-time.Minute))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := reservedScope(t)
			if tt.setup != nil {
				tt.setup(t, s)
			}
			now := t0.Add(time.Second)
			l, err := s.Request(tt.client, tt.ip, testLeaseTime, now)
			if tt.wantErr {
				if !errors.Is(err, ErrNotAvailable) {
					t.Fatalf("Request error %v, want ErrNotAvailable", err)
				}
				checkInvariants(t, s)
				return
			}
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if l.IP != tt.ip || l.State != lease.StateActive || !l.Expiry.Equal(now.Add(testLeaseTime)) || !l.Updated.Equal(now) {
				t.Errorf("lease %+v: want Active on %v until %v, updated %v", l, tt.ip, now.Add(testLeaseTime), now)
			}
			if string(l.HWAddr) != string(tt.client.HWAddr) || string(l.ClientID) != string(tt.client.ClientID) {
				t.Errorf("lease identity %x/%q, want %x/%q", l.HWAddr, l.ClientID, tt.client.HWAddr, tt.client.ClientID)
			}
			if got, ok := s.Lookup(tt.ip); !ok || got.State != lease.StateActive {
				t.Errorf("Lookup(%v) = %+v, %v", tt.ip, got, ok)
			}
			if got, ok := s.LookupClient(tt.client.Key); !ok || got.IP != tt.ip {
				t.Errorf("LookupClient = %+v, %v; want the lease on %v", got, ok, tt.ip)
			}
			checkInvariants(t, s)
		})
	}
}

func TestRequestRenewKeepsStart(t *testing.T) {
	s := reservedScope(t)
	first := bindNew(t, s, hw(1), t0)
	later := t0.Add(30 * time.Minute)
	renewed := mustRequest(t, s, hw(1), first.IP, later)
	if !renewed.Start.Equal(t0) || !renewed.Expiry.Equal(later.Add(testLeaseTime)) || !renewed.Updated.Equal(later) {
		t.Errorf("renewed lease start %v expiry %v updated %v; want start %v expiry %v updated %v",
			renewed.Start, renewed.Expiry, renewed.Updated, t0, later.Add(testLeaseTime), later)
	}
	// The renewal pushed the expiry: nothing is due at the old expiry.
	if got := s.Expire(t0.Add(testLeaseTime)); len(got) != 0 {
		t.Errorf("Expire at the old expiry returned %v", got)
	}
	res, err := s.Request(hw(100), ip("10.0.0.15"), testLeaseTime, t0)
	if err != nil || res.Hostname != "printer" {
		t.Errorf("reserved lease %+v, %v: want hostname from the reservation", res, err)
	}
	if _, err := s.Request(hw(1), first.IP, 0, later); err == nil || errors.Is(err, ErrNotAvailable) {
		t.Errorf("zero lease time: error %v, want a plain error", err)
	}
	checkInvariants(t, s)
}

func TestTwoClientsNeverShareAnOffer(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.50")))
	seen := make(map[netip.Addr]ClientKey)
	for n := range 50 {
		c := hw(n)
		// Everyone asks for the same address; only the first gets it.
		a := mustOffer(t, s, c, ip("10.0.0.7"), t0)
		if prev, dup := seen[a]; dup {
			t.Fatalf("%v offered to %q and %q", a, prev, c.Key)
		}
		seen[a] = c.Key
	}
	if _, err := s.Offer(hw(99), netip.Addr{}, t0); !errors.Is(err, ErrNoAddrAvail) {
		t.Fatalf("51st offer: %v, want ErrNoAddrAvail", err)
	}
	checkInvariants(t, s)
}

func TestOfferHoldExpires(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.1")))
	a := mustOffer(t, s, hw(1), netip.Addr{}, t0)
	if _, err := s.Offer(hw(2), netip.Addr{}, t0.Add(offerPreemptAfter-time.Nanosecond)); !errors.Is(err, ErrNoAddrAvail) {
		t.Fatalf("offer during the hold: %v, want ErrNoAddrAvail", err)
	}
	if _, err := s.Request(hw(2), a, testLeaseTime, t0.Add(testOfferHold/2)); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("request of the held address by another: %v, want ErrNotAvailable", err)
	}
	if got := s.Expire(t0.Add(testOfferHold)); len(got) != 0 {
		t.Errorf("Expire returned %v for a lapsed offer; offers are not stored", got)
	}
	if st := s.Stats(); st.Offered != 0 || st.Free != 1 {
		t.Errorf("after the hold: %+v, want the address free", st)
	}
	if got := mustOffer(t, s, hw(2), netip.Addr{}, t0.Add(testOfferHold)); got != a {
		t.Errorf("offer after the hold = %v, want %v", got, a)
	}
	checkInvariants(t, s)
}

func TestStaleOfferGoesToAClientThatFindsNoFreeAddress(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.2")))
	first := mustOffer(t, s, hw(1), netip.Addr{}, t0)
	mustOffer(t, s, hw(2), netip.Addr{}, t0.Add(300*time.Millisecond))
	// Full, and every offer younger than offerPreemptAfter: nothing to take.
	if _, err := s.Offer(hw(3), netip.Addr{}, t0.Add(offerPreemptAfter-time.Millisecond)); !errors.Is(err, ErrNoAddrAvail) {
		t.Fatalf("offer with only young offers held: %v, want ErrNoAddrAvail", err)
	}
	// The oldest offer is now stale: its address goes to the newcomer.
	got := mustOffer(t, s, hw(3), netip.Addr{}, t0.Add(offerPreemptAfter))
	if got != first {
		t.Fatalf("newcomer offered %v, want the stale offer's %v", got, first)
	}
	if _, err := s.Request(hw(1), first, testLeaseTime, t0.Add(offerPreemptAfter)); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("request by the client whose offer was taken: %v, want ErrNotAvailable (a NAK)", err)
	}
	if st := s.Stats(); st.Preempted != 1 || st.Exhausted != 1 {
		t.Errorf("stats %+v, want 1 preempted and 1 exhausted", st)
	}
	checkInvariants(t, s)
}

func TestExhaustionIsCounted(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.3")))
	for n := range 3 {
		bindNew(t, s, hw(n), t0)
	}
	for want := uint64(1); want <= 3; want++ {
		if _, err := s.Offer(hw(10), netip.Addr{}, t0); err != ErrNoAddrAvail {
			t.Fatalf("Offer on a full pool: %v, want ErrNoAddrAvail", err)
		}
		if got := s.Stats().Exhausted; got != want {
			t.Errorf("Exhausted = %d, want %d", got, want)
		}
	}
	// A client with a lease still gets it on a full pool.
	if _, err := s.Offer(hw(1), netip.Addr{}, t0); err != nil {
		t.Errorf("Offer to a bound client on a full pool: %v", err)
	}
	// Expiry reclaims the pool without an explicit Expire call.
	if _, err := s.Offer(hw(10), netip.Addr{}, t0.Add(testLeaseTime)); err != nil {
		t.Errorf("Offer after the leases expired: %v", err)
	}
	if got := s.Expire(t0.Add(testLeaseTime)); len(got) != 3 {
		t.Errorf("Expire returned %d leases, want the 3 expired during Offer", len(got))
	}
	checkInvariants(t, s)
}

func TestExcludedNeverGiven(t *testing.T) {
	cfg := scopeCfg(rng("10.0.0.1", "10.0.0.20"))
	cfg.Exclude = []config.Range{rng("10.0.0.3", "10.0.0.5"), rng("10.0.0.19", "10.0.0.40")}
	s := mustScope(t, cfg)
	if st := s.Stats(); st.Total != 15 || st.Free != 15 {
		t.Fatalf("stats %+v, want Total and Free 15", st)
	}
	got := 0
	for n := 0; ; n++ {
		a, err := s.Offer(hw(n), ip("10.0.0.4"), t0)
		if errors.Is(err, ErrNoAddrAvail) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if v := a.As4()[3]; (v >= 3 && v <= 5) || v >= 19 {
			t.Fatalf("excluded %v offered", a)
		}
		got++
	}
	if got != 15 {
		t.Errorf("%d addresses offered, want 15", got)
	}
	checkInvariants(t, s)
}

func TestDeclineHold(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.2")))
	a := mustOffer(t, s, hw(1), netip.Addr{}, t0)
	if _, ok := s.Decline(hw(2), a, t0); ok {
		t.Fatal("Decline by a client that was not offered the address succeeded")
	}
	l, ok := s.Decline(hw(1), a, t0)
	if !ok || l.State != lease.StateAbandoned || !l.Expiry.Equal(t0.Add(testDeclineHold)) || l.IP != a {
		t.Fatalf("Decline = %+v, %v; want Abandoned on %v until %v", l, ok, a, t0.Add(testDeclineHold))
	}
	if st := s.Stats(); st.Declined != 1 || st.Free != 1 {
		t.Errorf("stats %+v, want 1 declined 1 free", st)
	}
	// The decliner gets another address and the declined one goes to nobody.
	if b := mustOffer(t, s, hw(1), a, t0); b == a {
		t.Errorf("declined %v offered again", a)
	}
	if _, err := s.Offer(hw(3), a, t0); !errors.Is(err, ErrNoAddrAvail) {
		t.Errorf("Offer with only a declined address left: %v, want ErrNoAddrAvail", err)
	}
	if got := s.Expire(t0.Add(testDeclineHold - time.Second)); len(got) != 0 {
		t.Errorf("Expire before the hold ended returned %v", got)
	}
	got := s.Expire(t0.Add(testDeclineHold))
	if len(got) != 1 || got[0].IP != a || got[0].State != lease.StateFree {
		t.Fatalf("Expire at the end of the hold = %+v, want %v Free", got, a)
	}
	if _, ok := s.Lookup(a); ok {
		t.Errorf("Lookup(%v) found a record after the hold", a)
	}
	if b := mustOffer(t, s, hw(3), a, t0.Add(testDeclineHold)); b != a {
		t.Errorf("after the hold Offer(requested %v) = %v, want it", a, b)
	}
	// Declining a bound lease works too.
	c := mustRequest(t, s, hw(3), a, t0.Add(testDeclineHold))
	if l, ok := s.Decline(hw(3), c.IP, t0.Add(testDeclineHold)); !ok || l.State != lease.StateAbandoned {
		t.Errorf("Decline of a bound lease = %+v, %v", l, ok)
	}
	checkInvariants(t, s)
}

func TestReleaseThenReoffer(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.10")))
	l := bindNew(t, s, hw(1), t0)
	if _, ok := s.Release(hw(2), l.IP, t0); ok {
		t.Fatal("Release by another client succeeded")
	}
	now := t0.Add(time.Minute)
	r, ok := s.Release(hw(1), l.IP, now)
	if !ok || r.State != lease.StateReleased || !r.Expiry.Equal(now) || !r.Start.Equal(t0) {
		t.Fatalf("Release = %+v, %v", r, ok)
	}
	if _, ok := s.Release(hw(1), l.IP, now); ok {
		t.Error("second Release succeeded")
	}
	for n := 2; n <= 5; n++ { // other clients take fresh addresses first
		if a := mustOffer(t, s, hw(n), netip.Addr{}, now); a == l.IP {
			t.Fatalf("released %v given to another client while fresh ones were free", a)
		}
	}
	if a := mustOffer(t, s, hw(1), netip.Addr{}, now); a != l.IP {
		t.Errorf("Offer to the releasing client = %v, want %v", a, l.IP)
	}
	again := mustRequest(t, s, hw(1), l.IP, now)
	if !again.Start.Equal(now) {
		t.Errorf("new binding after release starts %v, want %v", again.Start, now)
	}
	checkInvariants(t, s)
}

func TestExpireReturnsExactlyTheExpired(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.10")))
	times := []time.Duration{3 * time.Hour, time.Hour, 2 * time.Hour, time.Hour}
	bound := make([]lease.Lease, len(times))
	for n, d := range times {
		c := hw(n)
		a := mustOffer(t, s, c, netip.Addr{}, t0)
		l, err := s.Request(c, a, d, t0)
		if err != nil {
			t.Fatal(err)
		}
		bound[n] = l
	}
	mustOffer(t, s, hw(50), netip.Addr{}, t0) // offers are never returned
	steps := []struct {
		at   time.Duration
		want []int // indexes into bound
	}{
		{time.Hour - time.Nanosecond, nil},
		{time.Hour, []int{1, 3}},
		{time.Hour + time.Minute, nil},
		{4 * time.Hour, []int{2, 0}},
		{5 * time.Hour, nil},
	}
	for _, st := range steps {
		got := s.Expire(t0.Add(st.at))
		if len(got) != len(st.want) {
			t.Fatalf("Expire(+%v) = %d leases %+v, want %d", st.at, len(got), got, len(st.want))
		}
		byIP := make(map[netip.Addr]lease.Lease)
		for _, l := range got {
			byIP[l.IP] = l
		}
		for _, n := range st.want {
			l, ok := byIP[bound[n].IP]
			if !ok || l.State != lease.StateExpired || !l.Expiry.Equal(bound[n].Expiry) {
				t.Errorf("Expire(+%v): %v is %+v, %v; want it expired at %v", st.at, bound[n].IP, l, ok, bound[n].Expiry)
			}
		}
		checkInvariants(t, s)
	}
	if st := s.Stats(); st.Active != 0 || st.Offered != 0 || st.Free != 10 {
		t.Errorf("stats %+v, want everything free", st)
	}
}

func TestMovingEndsTheOldLease(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.10")))
	old := bindNew(t, s, hw(1), t0)
	now := t0.Add(time.Minute)
	moved := mustRequest(t, s, hw(1), ip("10.0.0.7"), now)
	got := s.Expire(now)
	if len(got) != 1 || got[0].IP != old.IP || got[0].State != lease.StateExpired || !got[0].Expiry.Equal(now) {
		t.Fatalf("Expire after moving = %+v, want %v expired at %v", got, old.IP, now)
	}
	if l, ok := s.LookupClient(hw(1).Key); !ok || l.IP != moved.IP {
		t.Errorf("LookupClient = %+v, want %v", l, moved.IP)
	}
	checkInvariants(t, s)
}

func TestMultiPool(t *testing.T) {
	cfg := scopeCfg(rng("10.0.0.200", "10.0.0.202"), rng("10.0.0.10", "10.0.0.12"), rng("10.0.0.11", "10.0.0.14"), rng("10.0.0.15", "10.0.0.15"))
	s := mustScope(t, cfg)
	if st := s.Stats(); st.Total != 9 {
		t.Fatalf("Total %d, want 9 (overlapping and adjacent pools merged)", st.Total)
	}
	var got []string
	for n := 0; ; n++ {
		a, err := s.Offer(hw(n), netip.Addr{}, t0)
		if errors.Is(err, ErrNoAddrAvail) {
			break
		}
		got = append(got, a.String())
		mustRequest(t, s, hw(n), a, t0)
	}
	want := "10.0.0.10 10.0.0.11 10.0.0.12 10.0.0.13 10.0.0.14 10.0.0.15 10.0.0.200 10.0.0.201 10.0.0.202"
	if strings.Join(got, " ") != want {
		t.Errorf("allocation order %v, want %v", got, want)
	}
	if _, err := s.Request(hw(99), ip("10.0.0.100"), testLeaseTime, t0); !errors.Is(err, ErrNotAvailable) {
		t.Errorf("Request between pools: %v, want ErrNotAvailable", err)
	}
	checkInvariants(t, s)
}

func TestDeleteFreesAndForgets(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.10")))
	l := bindNew(t, s, hw(1), t0)
	if _, ok := s.Delete(ip("10.0.0.9")); ok {
		t.Error("Delete of an address without a lease succeeded")
	}
	d, ok := s.Delete(l.IP)
	if !ok || d.IP != l.IP || d.State != lease.StateActive {
		t.Fatalf("Delete = %+v, %v", d, ok)
	}
	if _, ok := s.Lookup(l.IP); ok {
		t.Error("lease still there after Delete")
	}
	if _, ok := s.LookupClient(hw(1).Key); ok {
		t.Error("client still indexed after Delete")
	}
	if got := s.Expire(t0.Add(2 * testLeaseTime)); len(got) != 0 {
		t.Errorf("deleted lease expired later: %v", got)
	}
	if a := mustOffer(t, s, hw(2), netip.Addr{}, t0); a != l.IP {
		t.Errorf("Offer after Delete = %v, want the deleted %v first", a, l.IP)
	}
	checkInvariants(t, s)
}

func TestLeasesIteratesAllAndStops(t *testing.T) {
	s := mustScope(t, config.Scope{Subnet: netip.MustParsePrefix("10.0.0.0/16"), Pools: []config.Range{rng("10.0.0.1", "10.0.3.255")}})
	for n := range 600 {
		bindNew(t, s, hw(n), t0)
	}
	seen := make(map[netip.Addr]bool)
	s.Leases(func(l lease.Lease) bool {
		if seen[l.IP] {
			t.Errorf("%v seen twice", l.IP)
		}
		seen[l.IP] = true
		return true
	})
	if len(seen) != 600 {
		t.Errorf("Leases visited %d, want 600", len(seen))
	}
	calls := 0
	s.Leases(func(lease.Lease) bool { calls++; return calls < 300 })
	if calls != 300 {
		t.Errorf("Leases called fn %d times after it returned false at 300", calls)
	}
}

func TestNoIdentity(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.10")))
	if _, err := s.Offer(Client{}, netip.Addr{}, t0); err == nil || errors.Is(err, ErrNoAddrAvail) {
		t.Errorf("Offer without identity: %v, want an identity error", err)
	}
	if _, err := s.Request(Client{}, ip("10.0.0.1"), testLeaseTime, t0); err == nil {
		t.Error("Request without identity succeeded")
	}
	// A client without Key gets one computed.
	c := hw(1)
	c.Key = ""
	a := mustOffer(t, s, c, netip.Addr{}, t0)
	if b := mustOffer(t, s, hw(1), netip.Addr{}, t0); b != a {
		t.Errorf("same client with and without Key got %v and %v", a, b)
	}
}

func TestOfferQueueToleratesClockSkew(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.10")))
	// Workers' clocks disagree: offers arrive out of time order.
	skew := []time.Duration{5, 3, 9, 1, 7, 7, 0}
	for n, d := range skew {
		mustOffer(t, s, hw(n), netip.Addr{}, t0.Add(d*time.Millisecond))
		checkInvariants(t, s)
	}
	s.Expire(t0.Add(testOfferHold + 4*time.Millisecond)) // lapses those made at 0, 1 and 3 ms
	if st := s.Stats(); st.Offered != 4 {
		t.Errorf("%d offers held, want 4", st.Offered)
	}
	checkInvariants(t, s)
}
