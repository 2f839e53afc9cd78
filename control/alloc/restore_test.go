package alloc

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

func allLeases(s *Scope) map[netip.Addr]lease.Lease {
	m := make(map[netip.Addr]lease.Lease)
	s.Leases(func(l lease.Lease) bool { m[l.IP] = l; return true })
	return m
}

// populated returns a scope that went through every kind of change.
func populated(t *testing.T) *Scope {
	t.Helper()
	s := reservedScope(t)
	for n := 1; n <= 6; n++ {
		bindNew(t, s, hw(n), t0.Add(time.Duration(n)*time.Second))
	}
	mustRequest(t, s, withID("res-id", 1), ip("10.0.0.30"), t0)
	s.Release(hw(2), ip("10.0.0.11"), t0.Add(time.Minute))
	s.Release(hw(5), ip("10.0.0.14"), t0.Add(2*time.Minute))
	s.Decline(hw(4), ip("10.0.0.13"), t0.Add(3*time.Minute))
	// hw(1)'s lease expires; hw(6) renews with a longer lease.
	if _, err := s.Request(hw(6), ip("10.0.0.16"), 3*time.Hour, t0.Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	s.Expire(t0.Add(time.Hour + 2*time.Second))
	return s
}

func TestRestoreRebuildsTheSameState(t *testing.T) {
	a := populated(t)
	want := allLeases(a)
	stored := make([]lease.Lease, 0, len(want))
	for _, l := range want {
		stored = append(stored, l)
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(stored), func(i, j int) { stored[i], stored[j] = stored[j], stored[i] })

	b := reservedScope(t)
	for _, l := range stored {
		if err := b.Restore(l); err != nil {
			t.Fatalf("Restore(%v): %v", l.IP, err)
		}
	}
	checkInvariants(t, b)
	if got := allLeases(b); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored leases differ:\n got %v\nwant %v", got, want)
	}
	if sa, sb := a.Stats(), b.Stats(); sa != sb {
		t.Errorf("stats differ: original %+v, restored %+v", sa, sb)
	}
	// Both scopes make the same decisions from here on.
	now := t0.Add(2 * time.Hour)
	for _, c := range []Client{hw(5), hw(2), hw(1), hw(6), hw(40), hw(41), withID("res-id", 1), hw(42), hw(43)} {
		ra, ea := a.Offer(c, netip.Addr{}, now)
		rb, eb := b.Offer(c, netip.Addr{}, now)
		if ra != rb || ea != eb {
			t.Errorf("Offer(%q): original %v %v, restored %v %v", c.Key, ra, ea, rb, eb)
		}
	}
	ea, eb := a.Expire(t0.Add(24*time.Hour)), b.Expire(t0.Add(24*time.Hour))
	if !reflect.DeepEqual(ea, eb) {
		t.Errorf("Expire differs: original %v, restored %v", ea, eb)
	}
	checkInvariants(t, b)
}

func TestRestoreOutsideThePools(t *testing.T) {
	// The pool shrank from .10-.30 to .10-.19 while .25 was leased.
	s := reservedScope(t)
	c := hw(9)
	old := lease.Lease{IP: ip("10.0.0.25"), State: lease.StateActive, HWType: 1, HWAddr: c.HWAddr,
		Start: t0.Add(-time.Hour), Expiry: t0.Add(time.Hour), Updated: t0.Add(-time.Hour)}
	if err := s.Restore(old); err != nil {
		t.Fatal(err)
	}
	if l, ok := s.Lookup(old.IP); !ok || l.State != lease.StateActive {
		t.Fatalf("Lookup = %+v, %v; want the Active lease kept", l, ok)
	}
	if st := s.Stats(); st.Active != 1 || st.Free != st.Total {
		t.Errorf("stats %+v: want 1 active, pool untouched", st)
	}
	if a := mustOffer(t, s, c, netip.Addr{}, t0); a == old.IP {
		t.Errorf("Offer gave the client its address outside the pools")
	}
	if _, err := s.Request(c, old.IP, testLeaseTime, t0); err == nil {
		t.Error("renewal of an address outside the pools succeeded")
	}
	got := s.Expire(t0.Add(time.Hour))
	if len(got) != 1 || got[0].IP != old.IP || got[0].State != lease.StateExpired {
		t.Fatalf("Expire = %+v, want %v expired", got, old.IP)
	}
	if a := mustOffer(t, s, hw(10), old.IP, t0.Add(time.Hour)); a == old.IP {
		t.Error("expired address outside the pools offered")
	}
	checkInvariants(t, s)
}

func TestRestoreOrdersRecycledByFreeTime(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.1", "10.0.0.5")))
	// All but .5 were used; .3 has been free longest, then .1, .4, .2.
	freed := map[string]time.Duration{"10.0.0.3": 1, "10.0.0.1": 2, "10.0.0.4": 3, "10.0.0.2": 4}
	n := 0
	for a, d := range freed {
		n++
		st := lease.StateExpired
		if n%2 == 0 {
			st = lease.StateReleased
		}
		l := lease.Lease{IP: ip(a), State: st, HWType: 1, HWAddr: hw(n).HWAddr, Expiry: t0.Add(d * time.Minute)}
		if err := s.Restore(l); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for k := 100; k < 105; k++ {
		got = append(got, mustOffer(t, s, hw(k), netip.Addr{}, t0.Add(time.Hour)).String())
	}
	if want := []string{"10.0.0.5", "10.0.0.3", "10.0.0.1", "10.0.0.4", "10.0.0.2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("allocation order %v, want %v (fresh, then longest free)", got, want)
	}
	checkInvariants(t, s)
}

func TestRestoreCases(t *testing.T) {
	c := hw(3)
	base := lease.Lease{IP: ip("10.0.0.12"), HWType: 1, HWAddr: c.HWAddr, Expiry: t0.Add(time.Hour)}
	with := func(st lease.State) lease.Lease { l := base; l.State = st; return l }
	tests := []struct {
		name      string
		leases    []lease.Lease
		wantErr   bool
		wantStats Stats
		wantOffer netip.Addr // offer to c
	}{
		{name: "active", leases: []lease.Lease{with(lease.StateActive)},
			wantStats: Stats{Total: 7, Free: 6, FreeMine: 6, Active: 1, Reserved: 3}, wantOffer: ip("10.0.0.12")},
		{name: "expired keeps affinity", leases: []lease.Lease{with(lease.StateExpired)},
			wantStats: Stats{Total: 7, Free: 7, FreeMine: 7, Reserved: 3}, wantOffer: ip("10.0.0.12")},
		{name: "abandoned is held", leases: []lease.Lease{with(lease.StateAbandoned)},
			wantStats: Stats{Total: 7, Free: 6, FreeMine: 6, Declined: 1, Reserved: 3}, wantOffer: ip("10.0.0.10")},
		{name: "free record", leases: []lease.Lease{with(lease.StateFree)},
			wantStats: Stats{Total: 7, Free: 7, FreeMine: 7, Reserved: 3}, wantOffer: ip("10.0.0.12")}, // first in the fresh list
		{name: "later record of the same address wins", leases: []lease.Lease{with(lease.StateActive), with(lease.StateAbandoned)},
			wantStats: Stats{Total: 7, Free: 6, FreeMine: 6, Declined: 1, Reserved: 3}, wantOffer: ip("10.0.0.10")},
		{name: "client's active lease beats its expired one", leases: []lease.Lease{
			with(lease.StateActive), {IP: ip("10.0.0.16"), State: lease.StateExpired, HWType: 1, HWAddr: c.HWAddr, Expiry: t0.Add(2 * time.Hour)}},
			wantStats: Stats{Total: 7, Free: 6, FreeMine: 6, Active: 1, Reserved: 3}, wantOffer: ip("10.0.0.12")},
		{name: "client's latest expired lease wins", leases: []lease.Lease{
			with(lease.StateExpired), {IP: ip("10.0.0.16"), State: lease.StateExpired, HWType: 1, HWAddr: c.HWAddr, Expiry: t0.Add(2 * time.Hour)}},
			wantStats: Stats{Total: 7, Free: 7, FreeMine: 7, Reserved: 3}, wantOffer: ip("10.0.0.16")},
		{name: "IPv6 refused", leases: []lease.Lease{{IP: ip("2001:db8::1"), State: lease.StateActive}}, wantErr: true,
			wantStats: Stats{Total: 7, Free: 7, FreeMine: 7, Reserved: 3}, wantOffer: ip("10.0.0.10")},
		{name: "unknown state refused", leases: []lease.Lease{with(0)}, wantErr: true,
			wantStats: Stats{Total: 7, Free: 7, FreeMine: 7, Reserved: 3}, wantOffer: ip("10.0.0.10")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := reservedScope(t)
			var err error
			for _, l := range tt.leases {
				if e := s.Restore(l); e != nil {
					err = e
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Restore error %v, want error %v", err, tt.wantErr)
			}
			checkInvariants(t, s)
			if st := s.Stats(); st != tt.wantStats {
				t.Errorf("stats %+v, want %+v", st, tt.wantStats)
			}
			if a := mustOffer(t, s, c, netip.Addr{}, t0); a != tt.wantOffer {
				t.Errorf("Offer = %v, want %v", a, tt.wantOffer)
			}
			checkInvariants(t, s)
		})
	}
}

func TestRestoreCopiesBytes(t *testing.T) {
	s := mustScope(t, config.Scope{Subnet: netip.MustParsePrefix("10.0.0.0/24"), Pools: []config.Range{rng("10.0.0.1", "10.0.0.9")}})
	buf := []byte{2, 0, 0, 0, 0, 7}
	if err := s.Restore(lease.Lease{IP: ip("10.0.0.1"), State: lease.StateActive, HWType: 1, HWAddr: buf, Expiry: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	buf[5] = 99 // the store reuses its buffers
	if l, _ := s.Lookup(ip("10.0.0.1")); l.HWAddr[5] != 7 {
		t.Errorf("restored lease changed with the caller's buffer: %v", l.HWAddr)
	}
}
