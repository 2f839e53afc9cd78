package alloc

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

// pairCfg is a scope with two pools, an exclusion and a reservation inside
// a pool: 10.0.0.10-.49 and .100-.130 less .20-.24 and the reserved .40,
// which leaves 40+31-5-1 = 65 dynamic addresses.
func pairCfg() config.Scope {
	cfg := scopeCfg(rng("10.0.0.10", "10.0.0.49"), rng("10.0.0.100", "10.0.0.130"))
	cfg.Exclude = []config.Range{rng("10.0.0.20", "10.0.0.24")}
	cfg.Reservations = []config.Reservation{{HWAddress: hw(900).HWAddr, IP: ip("10.0.0.40")}}
	return cfg
}

const pairDynamic = 65

// mustShare makes s a failover scope.
func mustShare(t testing.TB, s *Scope, role Role, permille int) {
	t.Helper()
	if _, err := s.SetShare(role, permille, t0); err != nil {
		t.Fatalf("SetShare(%v, %d): %v", role, permille, err)
	}
}

// pair returns a primary and a secondary scope built from the same
// configuration with the primary holding permille of the addresses.
func pair(t testing.TB, cfg config.Scope, permille int) (p, s *Scope) {
	t.Helper()
	p, s = mustScope(t, cfg), mustScope(t, cfg)
	mustShare(t, p, RolePrimary, permille)
	mustShare(t, s, RoleSecondary, permille)
	return p, s
}

// dynamicAddrs returns the scope's dynamic addresses in pool order.
func dynamicAddrs(s *Scope) []netip.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []netip.Addr
	for i := int32(0); i < s.poolSlots; i++ {
		if s.slots[i].flags == 0 {
			out = append(out, s.addrOf(i))
		}
	}
	return out
}

// checkPair fails if a free address is this server's on both sides. (On
// neither side is allowed: an address in transit.)
func checkPair(t testing.TB, p, s *Scope) {
	t.Helper()
	for _, a := range dynamicAddrs(p) {
		po, pok := p.Owner(a)
		so, sok := s.Owner(a)
		if pok && po == OwnerSelf && sok && so == OwnerSelf {
			t.Fatalf("%v is free for both servers", a)
		}
	}
}

func TestSetShareDividesExactly(t *testing.T) {
	for _, permille := range []int{0, 1, 500, 700, 999, 1000} {
		p, s := pair(t, pairCfg(), permille)
		checkInvariants(t, p)
		checkInvariants(t, s)
		wantP := pairDynamic * permille / 1000
		ps, ss := p.Stats(), s.Stats()
		if ps.FreeMine != wantP || ps.FreePartner != pairDynamic-wantP || ps.Free != pairDynamic {
			t.Errorf("%d‰: primary stats %+v, want FreeMine %d of %d", permille, ps, wantP, pairDynamic)
		}
		if ss.FreeMine != pairDynamic-wantP || ss.FreePartner != wantP {
			t.Errorf("%d‰: secondary stats %+v, want FreeMine %d", permille, ss, pairDynamic-wantP)
		}
		again := mustScope(t, pairCfg())
		mustShare(t, again, RolePrimary, permille)
		for _, a := range dynamicAddrs(p) {
			po, pok := p.Owner(a)
			so, sok := s.Owner(a)
			ao, _ := again.Owner(a)
			if !pok || !sok || po == so {
				t.Fatalf("%d‰: %v owned %v/%v by the primary, %v/%v by the secondary", permille, a, po, pok, so, sok)
			}
			if ao != po {
				t.Fatalf("%d‰: %v: two primaries from one configuration disagree", permille, a)
			}
		}
		for _, a := range []netip.Addr{ip("10.0.0.20"), ip("10.0.0.40"), ip("10.0.0.9")} {
			if _, ok := p.Owner(a); ok {
				t.Errorf("%v (excluded, reserved or outside) has an owner", a)
			}
		}
	}
}

func TestSetShareSpreadsOverThePools(t *testing.T) {
	p := mustScope(t, pairCfg())
	mustShare(t, p, RolePrimary, 500)
	mine := 0
	for _, a := range dynamicAddrs(p) {
		if o, _ := p.Owner(a); o == OwnerSelf && a.Less(ip("10.0.0.100")) {
			mine++
		}
	}
	// 34 dynamic addresses in the first pool: half of them, give or take.
	if mine < 14 || mine > 20 {
		t.Errorf("primary owns %d of the first pool's 34 addresses at 50%%", mine)
	}
}

func TestSetShareErrors(t *testing.T) {
	tests := []struct {
		name     string
		role     Role
		permille int
	}{
		{"no role", RoleNone, 500},
		{"negative", RolePrimary, -1},
		{"over 1000", RoleSecondary, 1001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := mustScope(t, pairCfg()).SetShare(tt.role, tt.permille, t0); err == nil {
				t.Fatal("SetShare succeeded")
			}
		})
	}
	s := mustScope(t, pairCfg())
	mustShare(t, s, RolePrimary, 500)
	if _, err := s.SetShare(RoleSecondary, 500, t0); err == nil {
		t.Fatal("role changed from primary to secondary")
	}
}

func TestLiveResplitNeverDoubleOwns(t *testing.T) {
	p, s := pair(t, pairCfg(), 300)
	// Some addresses are bound on both sides (as BNDUPDs would have told).
	for n := range 5 {
		l := bindNew(t, p, hw(n), t0)
		if _, err := s.Apply(l, t0); err != nil {
			t.Fatal(err)
		}
	}
	for _, next := range []int{700, 1000, 0, 420} {
		prev := p.Stats().FreeMine + p.Stats().FreePartner
		// The side whose share shrinks applies first.
		giver, taker := s, p
		giverRole, takerRole := RoleSecondary, RolePrimary
		if next < p.share {
			giver, taker, giverRole, takerRole = p, s, RolePrimary, RoleSecondary
		}
		gave, err := giver.SetShare(giverRole, next, t0)
		if err != nil {
			t.Fatal(err)
		}
		checkPair(t, p, s)
		checkInvariants(t, giver)
		took, err := taker.SetShare(takerRole, next, t0)
		if err != nil {
			t.Fatal(err)
		}
		checkPair(t, p, s)
		checkInvariants(t, taker)
		if len(gave) != len(took) {
			t.Errorf("to %d‰: giver moved %d, taker %d", next, len(gave), len(took))
		}
		for k := range gave {
			if gave[k].IP != took[k].IP || gave[k].State != took[k].State {
				t.Fatalf("to %d‰: move %d differs: %+v vs %+v", next, k, gave[k], took[k])
			}
		}
		ps := p.Stats()
		if ps.FreeMine+ps.FreePartner != prev {
			t.Fatalf("to %d‰: free addresses %d, was %d", next, ps.FreeMine+ps.FreePartner, prev)
		}
		if want := pairDynamic * next / 1000; ps.FreeMine+5 < want-5 || ps.FreeMine > want {
			t.Errorf("to %d‰: primary owns %d free, want about %d less the 5 bound", next, ps.FreeMine, want)
		}
	}
}

// exhaust offers and binds addresses to new clients from base until Offer
// fails, returning the addresses and the error.
func exhaust(t *testing.T, s *Scope, base int) ([]netip.Addr, error) {
	t.Helper()
	var got []netip.Addr
	for n := base; ; n++ {
		a, err := s.Offer(hw(n), netip.Addr{}, t0)
		if err != nil {
			return got, err
		}
		mustRequest(t, s, hw(n), a, t0)
		got = append(got, a)
	}
}

func TestAllocationPolicies(t *testing.T) {
	tests := []struct {
		name        string
		policy      AllocPolicy
		wantMine    int // addresses of this server's share handed out
		wantPartner int
		wantErr     error
	}{
		{"own share only", AllocOwn, pairDynamic * 700 / 1000, 0, ErrNoAddrAvail},
		{"all after ours", AllocAll, pairDynamic * 700 / 1000, pairDynamic - pairDynamic*700/1000, ErrNoAddrAvail},
		{"none", AllocNone, 0, 0, ErrNoNewBindings},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustScope(t, pairCfg())
			mustShare(t, s, RolePrimary, 700)
			owner := map[netip.Addr]Owner{}
			for _, a := range dynamicAddrs(s) {
				owner[a], _ = s.Owner(a)
			}
			s.SetAllocation(tt.policy)
			got, err := exhaust(t, s, 0)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Offer error %v, want %v", err, tt.wantErr)
			}
			var mine, partner int
			for _, a := range got {
				if owner[a] == OwnerSelf {
					mine++
					if partner > 0 {
						t.Errorf("%v (ours) handed out after a partner's address", a)
					}
				} else {
					partner++
				}
			}
			if mine != tt.wantMine || partner != tt.wantPartner {
				t.Errorf("handed out %d of ours and %d of the partner's, want %d and %d", mine, partner, tt.wantMine, tt.wantPartner)
			}
			checkInvariants(t, s)
		})
	}
}

func TestAllocOwnRefusesPartnerAddresses(t *testing.T) {
	s := mustScope(t, pairCfg())
	mustShare(t, s, RoleSecondary, 500)
	var theirs netip.Addr
	for _, a := range dynamicAddrs(s) {
		if o, _ := s.Owner(a); o == OwnerPartner {
			theirs = a
			break
		}
	}
	if a := mustOffer(t, s, hw(1), theirs, t0); a == theirs {
		t.Fatalf("offered the partner's %v on request", a)
	}
	if _, err := s.Request(hw(2), theirs, testLeaseTime, t0); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("Request of the partner's %v: %v, want ErrNotAvailable", theirs, err)
	}
	s.SetAllocation(AllocAll)
	if a := mustOffer(t, s, hw(3), theirs, t0); a != theirs {
		t.Fatalf("AllocAll offered %v, want the requested %v", a, theirs)
	}
	// Back to our share: the offer is not bound.
	s.SetAllocation(AllocOwn)
	if _, err := s.Request(hw(3), theirs, testLeaseTime, t0); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("Request of an offer of the partner's address after AllocOwn: %v", err)
	}
	checkInvariants(t, s)
}

func TestAllocNoneKeepsExistingBindings(t *testing.T) {
	cfg := pairCfg()
	s := mustScope(t, cfg)
	mustShare(t, s, RolePrimary, 1000)
	old := bindNew(t, s, hw(1), t0)
	s.SetAllocation(AllocNone)
	later := t0.Add(time.Minute)
	if a := mustOffer(t, s, hw(1), netip.Addr{}, later); a != old.IP {
		t.Fatalf("renewing client offered %v, want its %v", a, old.IP)
	}
	renewed := mustRequest(t, s, hw(1), old.IP, later)
	if !renewed.Expiry.After(old.Expiry) {
		t.Errorf("renewal kept expiry %v", renewed.Expiry)
	}
	if _, err := s.Offer(hw(2), netip.Addr{}, later); !errors.Is(err, ErrNoNewBindings) {
		t.Fatalf("new client: %v, want ErrNoNewBindings", err)
	}
	if _, err := s.Request(hw(2), ip("10.0.0.11"), testLeaseTime, later); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("new client's Request: %v, want ErrNotAvailable", err)
	}
	// A reservation cannot conflict with the partner's, which has the same.
	if a := mustOffer(t, s, hw(900), netip.Addr{}, later); a != ip("10.0.0.40") {
		t.Fatalf("reserved client offered %v", a)
	}
	if st := s.Stats(); st.Refused != 1 || st.Exhausted != 0 {
		t.Errorf("stats %+v: want one refusal and no exhaustion", st)
	}
}

// other returns a lease like l for another client.
func other(l lease.Lease, n int) lease.Lease {
	c := hw(n)
	l.HWAddr, l.ClientID = c.HWAddr, nil
	return l
}

func rejectReason(err error) RejectReason {
	var re *RejectError
	if errors.As(err, &re) {
		return re.Reason
	}
	return 0
}

func TestApply(t *testing.T) {
	a := ip("10.0.0.11")
	active := func(n int, cltt time.Time) lease.Lease {
		c := hw(n)
		return lease.Lease{IP: a, State: lease.StateActive, HWType: 1, HWAddr: c.HWAddr, Start: cltt, Updated: cltt, Expiry: cltt.Add(time.Hour)}
	}
	with := func(l lease.Lease, st lease.State) lease.Lease { l.State = st; return l }
	tests := []struct {
		name   string
		role   Role
		setup  func(t *testing.T, s *Scope) // brings a to the receiving state
		update lease.Lease
		now    time.Time
		want   RejectReason // 0: accepted
		check  func(t *testing.T, s *Scope)
	}{
		{name: "active on an address free here", role: RolePrimary,
			update: active(7, t0), now: t0,
			check: func(t *testing.T, s *Scope) {
				if _, ok := s.Owner(a); ok {
					t.Error("bound address still on a free list")
				}
				if l, _ := s.LookupClient(hw(7).Key); l.IP != a || l.State != lease.StateActive {
					t.Errorf("client's lease %+v", l)
				}
				if got := mustOffer(t, s, hw(8), a, t0); got == a {
					t.Error("offered the partner's binding to another client")
				}
			}},
		{name: "active takes an address offered here", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustOffer(t, s, hw(1), a, t0) },
			update: active(7, t0), now: t0,
			check: func(t *testing.T, s *Scope) {
				if _, err := s.Request(hw(1), a, testLeaseTime, t0); !errors.Is(err, ErrNotAvailable) {
					t.Errorf("our client bound the partner's address: %v", err)
				}
			}},
		{name: "conflict: primary keeps its binding", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0) },
			update: active(7, t0.Add(time.Minute)), now: t0.Add(time.Minute), want: RejectFatalConflict,
			check: func(t *testing.T, s *Scope) {
				if l, _ := s.Lookup(a); KeyOf(nil, 1, l.HWAddr) != hw(1).Key {
					t.Errorf("primary's binding lost: %+v", l)
				}
			}},
		{name: "conflict: secondary yields to the primary", role: RoleSecondary,
			setup: func(t *testing.T, s *Scope) {
				s.SetAllocation(AllocAll)
				mustRequest(t, s, hw(1), a, t0.Add(time.Minute))
			},
			update: active(7, t0), now: t0.Add(time.Minute),
			check: func(t *testing.T, s *Scope) {
				if l, _ := s.Lookup(a); KeyOf(nil, 1, l.HWAddr) != hw(7).Key {
					t.Errorf("primary's binding not taken: %+v", l)
				}
				if _, ok := s.LookupClient(hw(1).Key); ok {
					if l, _ := s.LookupClient(hw(1).Key); l.State == lease.StateActive && l.IP == a {
						t.Error("our client still holds the address")
					}
				}
			}},
		{name: "active beats an older release", role: RolePrimary,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), a, t0)
				s.Release(hw(1), a, t0.Add(time.Minute))
			},
			update: active(7, t0.Add(2*time.Minute)), now: t0.Add(2 * time.Minute)},
		{name: "active older than our release is outdated", role: RolePrimary,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), a, t0)
				s.Release(hw(1), a, t0.Add(2*time.Minute))
			},
			update: active(7, t0.Add(time.Minute)), now: t0.Add(2 * time.Minute), want: RejectOutdated},
		{name: "active without cltt is never later", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0); s.Release(hw(1), a, t0) },
			update: active(7, time.Time{}), now: t0, want: RejectOutdated},
		{name: "active beats an older expiry", role: RoleSecondary,
			setup: func(t *testing.T, s *Scope) {
				s.SetAllocation(AllocAll)
				mustRequest(t, s, hw(1), a, t0)
				s.Expire(t0.Add(2 * time.Hour))
			},
			update: active(7, t0.Add(3*time.Hour)), now: t0.Add(3 * time.Hour)},
		{name: "active older than our expired lease's cltt is outdated", role: RoleSecondary,
			setup: func(t *testing.T, s *Scope) {
				s.SetAllocation(AllocAll)
				mustRequest(t, s, hw(1), a, t0.Add(time.Minute))
				s.Expire(t0.Add(2 * time.Hour))
			},
			update: active(7, t0), now: t0.Add(3 * time.Hour), want: RejectOutdated},
		{name: "partner's release with a later cltt ends our lease", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0) },
			update: with(active(1, t0.Add(time.Minute)), lease.StateReleased), now: t0.Add(time.Minute),
			check: func(t *testing.T, s *Scope) {
				if o, ok := s.Owner(a); !ok || o != OwnerSelf {
					t.Errorf("released address owner %v %v, want the primary's", o, ok)
				}
				if got := mustOffer(t, s, hw(1), netip.Addr{}, t0.Add(time.Minute)); got != a {
					t.Errorf("returning client offered %v, want %v", got, a)
				}
			}},
		{name: "partner's release older than our renewal is outdated", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0.Add(time.Minute)) },
			update: with(active(1, t0), lease.StateReleased), now: t0.Add(time.Minute), want: RejectOutdated},
		{name: "partner's expiry before ours ends is outdated", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0) },
			update: with(active(1, t0), lease.StateExpired), now: t0.Add(30 * time.Minute), want: RejectOutdated},
		{name: "partner's expiry with a later cltt of the same client ends our lease", role: RolePrimary,
			// The client moved to another address at the partner, which
			// ended this lease then.
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0) },
			update: with(active(1, t0.Add(time.Minute)), lease.StateExpired), now: t0.Add(time.Minute),
			check: func(t *testing.T, s *Scope) {
				if l, _ := s.Lookup(a); l.State != lease.StateFree {
					t.Errorf("record %+v, want Free", l)
				}
			}},
		{name: "partner's expiry of another client is outdated whatever its cltt", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0) },
			update: with(active(7, t0.Add(time.Minute)), lease.StateExpired), now: t0.Add(time.Minute), want: RejectOutdated},
		{name: "partner's expiry in the same second as our lease is outdated", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0.Add(600*time.Millisecond)) },
			update: with(active(1, t0), lease.StateExpired), now: t0.Add(time.Minute), want: RejectOutdated},
		{name: "partner's expiry in our lease's last second (wire precision) ends it", role: RolePrimary,
			setup:  func(t *testing.T, s *Scope) { mustRequest(t, s, hw(1), a, t0.Add(600*time.Millisecond)) },
			update: with(active(1, t0), lease.StateExpired), now: t0.Add(testLeaseTime + 100*time.Millisecond),
			check: func(t *testing.T, s *Scope) {
				if l, _ := s.Lookup(a); l.State == lease.StateActive {
					t.Errorf("record %+v still active", l)
				}
			}},
		{name: "partner's expiry returns the address to the primary", role: RoleSecondary,
			setup:  func(t *testing.T, s *Scope) { s.Apply(active(1, t0), t0) },
			update: with(active(1, t0), lease.StateExpired), now: t0.Add(2 * time.Hour),
			check: func(t *testing.T, s *Scope) {
				if o, ok := s.Owner(a); !ok || o != OwnerPartner {
					t.Errorf("owner %v %v, want the partner (primary)", o, ok)
				}
				if l, _ := s.Lookup(a); l.State != lease.StateFree || KeyOf(nil, 1, l.HWAddr) != hw(1).Key {
					t.Errorf("record %+v, want Free remembering the client", l)
				}
			}},
		{name: "active binds over a free record settled after its cltt", role: RolePrimary,
			// A FREE record's time is when it was settled, not a client's
			// transaction: it must not make the partner's binding outdated.
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), a, t0)
				s.Expire(t0.Add(time.Hour))
				if l, ok := s.Acked(a, t0.Add(3*time.Hour)); !ok || l.State != lease.StateFree {
					t.Fatalf("Acked: %+v %v", l, ok)
				}
			},
			update: active(7, t0.Add(2*time.Hour)), now: t0.Add(3 * time.Hour)},
		{name: "backup moves a free address to the secondary", role: RoleSecondary,
			update: lease.Lease{IP: a, State: lease.StateBackup, Updated: t0}, now: t0,
			check: func(t *testing.T, s *Scope) {
				if o, ok := s.Owner(a); !ok || o != OwnerSelf {
					t.Errorf("owner %v %v, want ours", o, ok)
				}
			}},
		{name: "free takes a free address back to the primary", role: RoleSecondary,
			setup:  func(t *testing.T, s *Scope) { s.Apply(lease.Lease{IP: a, State: lease.StateBackup}, t0) },
			update: lease.Lease{IP: a, State: lease.StateFree, Updated: t0}, now: t0,
			check: func(t *testing.T, s *Scope) {
				if o, ok := s.Owner(a); !ok || o != OwnerPartner {
					t.Errorf("owner %v %v, want the primary", o, ok)
				}
			}},
		{name: "free against a live lease is outdated", role: RoleSecondary,
			setup:  func(t *testing.T, s *Scope) { s.SetAllocation(AllocAll); mustRequest(t, s, hw(1), a, t0) },
			update: lease.Lease{IP: a, State: lease.StateFree, Updated: t0}, now: t0.Add(time.Minute), want: RejectOutdated},
		{name: "abandoned here is less critical than active", role: RolePrimary,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), a, t0)
				s.Decline(hw(1), a, t0)
			},
			update: active(7, t0.Add(time.Minute)), now: t0.Add(time.Minute), want: RejectLessCritical},
		{name: "reset clears an abandoned address", role: RolePrimary,
			setup: func(t *testing.T, s *Scope) {
				mustRequest(t, s, hw(1), a, t0)
				s.Decline(hw(1), a, t0)
			},
			update: lease.Lease{IP: a, State: lease.StateReset, Updated: t0}, now: t0.Add(time.Minute),
			check: func(t *testing.T, s *Scope) {
				if _, ok := s.Owner(a); !ok {
					t.Error("reset address not free")
				}
			}},
		{name: "partner's abandon holds the address", role: RolePrimary,
			update: lease.Lease{IP: a, State: lease.StateAbandoned, Updated: t0}, now: t0,
			check: func(t *testing.T, s *Scope) {
				if l, ok := s.Lookup(a); !ok || l.State != lease.StateAbandoned || !l.Expiry.Equal(t0.Add(testDeclineHold)) {
					t.Errorf("record %+v", l)
				}
			}},
		{name: "excluded address is illegal", role: RolePrimary,
			update: lease.Lease{IP: ip("10.0.0.21"), State: lease.StateFree}, now: t0, want: RejectIllegalAddress},
		{name: "address outside the pools is illegal", role: RolePrimary,
			update: func() lease.Lease { l := active(7, t0); l.IP = ip("10.0.0.60"); return l }(), now: t0, want: RejectIllegalAddress},
		{name: "active without a client", role: RolePrimary,
			update: lease.Lease{IP: a, State: lease.StateActive, Updated: t0}, now: t0, want: RejectMissingBinding},
		{name: "unknown state", role: RolePrimary,
			update: lease.Lease{IP: a, State: 99}, now: t0, want: RejectMissingBinding},
		{name: "no failover", role: RoleNone,
			update: active(7, t0), now: t0, want: RejectMisc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustScope(t, pairCfg())
			if tt.role != RoleNone {
				mustShare(t, s, tt.role, 1000)
			}
			if tt.setup != nil {
				tt.setup(t, s)
			}
			u := tt.update
			before, _ := s.Lookup(u.IP)
			inForce, err := s.Apply(u, tt.now)
			if got := rejectReason(err); got != tt.want || (err != nil) != (tt.want != 0) {
				t.Fatalf("Apply: %v (reason %d), want reason %d", err, got, tt.want)
			}
			checkInvariants(t, s)
			if tt.want == 0 {
				if inForce.IP != u.IP || (inForce.State != u.State && u.State != lease.StateExpired && u.State != lease.StateReleased) {
					t.Errorf("in force %+v, want the update %+v", inForce, u)
				}
			} else if after, _ := s.Lookup(u.IP); after.State != before.State || !after.Updated.Equal(before.Updated) {
				t.Errorf("rejected update changed the record: %+v -> %+v", before, after)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestApplyComparesCLTTAtWirePrecision: the partner's cltt arrives in
// whole seconds, ours is kept in nanoseconds. Within one second neither is
// later, and the tie goes to the Active binding on both sides, so the
// partners agree whichever way their updates cross.
func TestApplyComparesCLTTAtWirePrecision(t *testing.T) {
	a := ip("10.0.0.11")
	local := t0.Add(600 * time.Millisecond) // our record's cltt, within second t0
	// here brings a to the receiving state with cltt local and returns now.
	here := map[lease.State]func(t *testing.T, s *Scope) time.Time{
		lease.StateActive: func(t *testing.T, s *Scope) time.Time {
			mustRequest(t, s, hw(1), a, local)
			return local.Add(time.Second)
		},
		lease.StateExpired: func(t *testing.T, s *Scope) time.Time {
			mustRequest(t, s, hw(1), a, local)
			s.Expire(local.Add(testLeaseTime))
			return local.Add(testLeaseTime + time.Second)
		},
		lease.StateReleased: func(t *testing.T, s *Scope) time.Time {
			mustRequest(t, s, hw(1), a, local.Add(-time.Minute))
			s.Release(hw(1), a, local)
			return local.Add(time.Second)
		},
	}
	tests := []struct {
		name   string
		here   lease.State
		update lease.State
		cltt   time.Time // the update's, whole seconds as on the wire
		want   RejectReason
		after  lease.State // the record afterwards
	}{
		{"active in the same second as our expiry binds", lease.StateExpired, lease.StateActive, t0, 0, lease.StateActive},
		{"active a second later than our expiry binds", lease.StateExpired, lease.StateActive, t0.Add(time.Second), 0, lease.StateActive},
		{"active a second before our expiry is outdated", lease.StateExpired, lease.StateActive, t0.Add(-time.Second), RejectOutdated, lease.StateExpired},
		{"active in the same second as our release binds", lease.StateReleased, lease.StateActive, t0, 0, lease.StateActive},
		{"expired in the same second as our release is outdated", lease.StateReleased, lease.StateExpired, t0, RejectOutdated, lease.StateReleased},
		{"release in the same second as our lease is outdated", lease.StateActive, lease.StateReleased, t0, RejectOutdated, lease.StateActive},
		{"release a second after our lease ends it", lease.StateActive, lease.StateReleased, t0.Add(time.Second), 0, lease.StateFree},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustScope(t, pairCfg())
			mustShare(t, s, RolePrimary, 1000)
			now := here[tt.here](t, s)
			u := lease.Lease{IP: a, State: tt.update, HWType: 1, HWAddr: hw(1).HWAddr, Start: tt.cltt, Updated: tt.cltt, Expiry: tt.cltt}
			if tt.update == lease.StateActive {
				u.Expiry = now.Add(time.Hour)
			}
			_, err := s.Apply(u, now)
			if got := rejectReason(err); got != tt.want || (err != nil) != (tt.want != 0) {
				t.Fatalf("Apply %v (cltt %v) over %v (cltt %v): %v (reason %d), want reason %d",
					tt.update, tt.cltt.Format(time.StampMilli), tt.here, local.Format(time.StampMilli), err, got, tt.want)
			}
			if l, _ := s.Lookup(a); l.State != tt.after {
				t.Errorf("record afterwards %v, want %v", l.State, tt.after)
			}
			checkInvariants(t, s)
		})
	}
}

// onWire is l as a BNDUPD carries it: times in whole seconds.
func onWire(l lease.Lease) lease.Lease {
	for _, t := range []*time.Time{&l.Start, &l.Expiry, &l.Updated} {
		*t = t.Truncate(time.Second)
	}
	return l
}

// TestApplyCrossingRenewalsOfOneClientAgree: both partners renewed one
// client's address while cut off; when their updates cross, each accepts
// the other's and both must end with the same binding, the later expiry,
// or one side would expire the address while the other still holds it.
func TestApplyCrossingRenewalsOfOneClientAgree(t *testing.T) {
	tests := []struct {
		name         string
		pAt, sAt     time.Duration // when each renewed, after t0
		pLen, sLen   time.Duration // the lease each gave
		wantExpiryAt time.Duration // the agreed expiry, after t0, whole seconds
	}{
		{name: "same second, secondary's lease longer", pAt: 200 * time.Millisecond, sAt: 700 * time.Millisecond, pLen: 30 * time.Second, sLen: 40 * time.Second, wantExpiryAt: 40 * time.Second},
		{name: "same second, primary's lease longer", pAt: 700 * time.Millisecond, sAt: 200 * time.Millisecond, pLen: 40 * time.Second, sLen: 30 * time.Second, wantExpiryAt: 40 * time.Second},
		{name: "secondary later but shorter", pAt: 0, sAt: 5 * time.Second, pLen: time.Minute, sLen: 20 * time.Second, wantExpiryAt: time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := pairCfg()
			cfg.LeaseTime = config.Duration(time.Hour)
			p, s := pair(t, cfg, 500)
			// Before the cut both hold the client's lease on a.
			orig := bindNew(t, p, hw(1), t0.Add(-time.Hour))
			if _, err := s.Apply(onWire(orig), t0.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			a := orig.IP
			pl, err := p.Request(hw(1), a, tt.pLen, t0.Add(tt.pAt))
			if err != nil {
				t.Fatal(err)
			}
			sl, err := s.Request(hw(1), a, tt.sLen, t0.Add(tt.sAt))
			if err != nil {
				t.Fatal(err)
			}
			now := t0.Add(10 * time.Second)
			if _, err := p.Apply(onWire(sl), now); err != nil {
				t.Fatalf("primary refused the secondary's renewal: %v", err)
			}
			if _, err := s.Apply(onWire(pl), now); err != nil {
				t.Fatalf("secondary refused the primary's renewal: %v", err)
			}
			want := t0.Add(tt.wantExpiryAt)
			for name, sc := range map[string]*Scope{"primary": p, "secondary": s} {
				l, _ := sc.Lookup(a)
				if l.State != lease.StateActive || KeyOf(nil, 1, l.HWAddr) != hw(1).Key || l.Expiry.Unix() != want.Unix() {
					t.Errorf("%s: %v %v until %v, want active for the client until %v", name, l.State, l.HWAddr, l.Expiry, want)
				}
				checkInvariants(t, sc)
			}
		})
	}
}

// TestClientMovingAtOneServerEndsItsLeaseAtBoth: a client bound on a at
// both partners moves to b at one of them; that server ends a at once and
// its EXPIRED update, carrying the client's later transaction, must end a
// at the partner too, or the partner would hold a Active while this
// server's record says Expired.
func TestClientMovingAtOneServerEndsItsLeaseAtBoth(t *testing.T) {
	p, s := pair(t, pairCfg(), 1000)
	orig := bindNew(t, p, hw(1), t0)
	if _, err := s.Apply(onWire(orig), t0); err != nil {
		t.Fatal(err)
	}
	moved := t0.Add(time.Minute)
	b := dynamicAddrs(p)[0]
	if b == orig.IP {
		b = dynamicAddrs(p)[1]
	}
	if _, err := p.Request(hw(1), b, testLeaseTime, moved); err != nil {
		t.Fatal(err)
	}
	ended := p.Expire(moved)
	if len(ended) != 1 || ended[0].IP != orig.IP || ended[0].State != lease.StateExpired || !ended[0].Updated.Equal(moved) {
		t.Fatalf("Expire returned %+v, want %v Expired with cltt %v", ended, orig.IP, moved)
	}
	if _, err := s.Apply(onWire(ended[0]), moved.Add(time.Second)); err != nil {
		t.Fatalf("partner refused the end of the moved client's lease: %v", err)
	}
	if l, _ := s.Lookup(orig.IP); l.State == lease.StateActive {
		t.Errorf("partner still holds %v Active: %+v", orig.IP, l)
	}
	checkInvariants(t, s)
}

// TestApplyClientWithTwoAddressesKeepsBoth: a client bound by each partner
// while they were cut off holds two addresses; the partner's binding must
// not end ours (its record of ours would stay Active while ours says
// Expired, and the stores would never agree). The client's current lease
// is the one with the later cltt.
func TestApplyClientWithTwoAddressesKeepsBoth(t *testing.T) {
	tests := []struct {
		name        string
		theirsCLTT  time.Duration // after our binding at t0
		wantCurrent string        // "ours" or "theirs"
	}{
		{name: "partner's binding is later", theirsCLTT: time.Minute, wantCurrent: "theirs"},
		{name: "partner's binding is earlier", theirsCLTT: -time.Minute, wantCurrent: "ours"},
		{name: "same second", theirsCLTT: 0, wantCurrent: "ours"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustScope(t, pairCfg())
			mustShare(t, s, RoleSecondary, 0)
			mine := bindNew(t, s, hw(1), t0)
			theirs := lease.Lease{IP: ip("10.0.0.30"), State: lease.StateActive, HWType: 1, HWAddr: hw(1).HWAddr,
				Updated: t0.Add(tt.theirsCLTT), Expiry: t0.Add(time.Hour)}
			if theirs.IP == mine.IP {
				theirs.IP = ip("10.0.0.31")
			}
			now := t0.Add(time.Minute)
			if _, err := s.Apply(theirs, now); err != nil {
				t.Fatal(err)
			}
			if changed := s.Expire(now.Add(time.Second)); len(changed) != 0 {
				t.Errorf("Expire returned %+v, want both leases kept", changed)
			}
			for _, a := range []netip.Addr{mine.IP, theirs.IP} {
				if l, _ := s.Lookup(a); l.State != lease.StateActive || KeyOf(nil, 1, l.HWAddr) != hw(1).Key {
					t.Errorf("%v: %+v, want the client's Active lease", a, l)
				}
			}
			want := mine.IP
			if tt.wantCurrent == "theirs" {
				want = theirs.IP
			}
			if l, _ := s.LookupClient(hw(1).Key); l.IP != want {
				t.Errorf("client's current lease %v, want %v", l.IP, want)
			}
			checkInvariants(t, s)
		})
	}
}

func TestTransfer(t *testing.T) {
	p, s := pair(t, pairCfg(), 1000)
	gave, err := p.Transfer(20, OwnerSelf, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(gave) != 20 {
		t.Fatalf("gave %d, want 20", len(gave))
	}
	checkPair(t, p, s) // given away before the secondary knows: on neither side
	for _, l := range gave {
		if l.State != lease.StateBackup {
			t.Fatalf("transfer record %+v, want Backup", l)
		}
		if o, ok := p.Owner(l.IP); !ok || o != OwnerPartner {
			t.Fatalf("%v still ours after giving it", l.IP)
		}
		if _, err := s.Apply(l, t0); err != nil {
			t.Fatal(err)
		}
	}
	checkPair(t, p, s)
	if ps, ss := p.Stats(), s.Stats(); ps.FreeMine != pairDynamic-20 || ss.FreeMine != 20 {
		t.Errorf("after the gift: primary %+v secondary %+v", ps, ss)
	}
	// The partner went down: take all of its addresses.
	took, err := p.Transfer(pairDynamic, OwnerPartner, t0)
	if err != nil || len(took) != 20 {
		t.Fatalf("takeover moved %d (%v), want 20", len(took), err)
	}
	if st := p.Stats(); st.FreeMine != pairDynamic || st.FreePartner != 0 {
		t.Errorf("after takeover %+v", st)
	}
	if _, err := mustScope(t, pairCfg()).Transfer(1, OwnerSelf, t0); !errors.Is(err, ErrNoFailover) {
		t.Errorf("Transfer without failover: %v", err)
	}
	checkInvariants(t, p)
	checkInvariants(t, s)
}

func TestExpiredWaitsForTheAcknowledgement(t *testing.T) {
	s := mustScope(t, scopeCfg(rng("10.0.0.10", "10.0.0.11")))
	mustShare(t, s, RolePrimary, 1000)
	a := bindNew(t, s, hw(1), t0).IP
	bindNew(t, s, hw(2), t0)
	later := t0.Add(2 * testLeaseTime)
	changed := s.Expire(later)
	if len(changed) != 2 {
		t.Fatalf("expired %d, want 2", len(changed))
	}
	if _, err := s.Offer(hw(3), netip.Addr{}, later); !errors.Is(err, ErrNoAddrAvail) {
		t.Fatalf("new client got an unacknowledged expired address: %v", err)
	}
	if _, err := s.Request(hw(3), a, testLeaseTime, later); !errors.Is(err, ErrNotAvailable) {
		t.Fatalf("new client bound an unacknowledged expired address: %v", err)
	}
	if got := mustOffer(t, s, hw(1), netip.Addr{}, later); got != a {
		t.Fatalf("its own client offered %v, want %v back", got, a)
	}
	if st := s.Stats(); st.Awaiting != 1 || st.Free != 1 {
		t.Errorf("stats %+v, want 1 awaiting", st)
	}
	free, ok := s.Acked(changed[1].IP, later)
	if !ok || free.State != lease.StateFree {
		t.Fatalf("Acked = %+v %v", free, ok)
	}
	if got := mustOffer(t, s, hw(3), netip.Addr{}, later); got != changed[1].IP {
		t.Fatalf("after the ack new client offered %v, want %v", got, changed[1].IP)
	}
	// The offer to hw(1) lapses: back to waiting, then reclaimed in PARTNER-DOWN.
	s.Expire(later.Add(testOfferHold))
	freed := t0.Add(testLeaseTime)
	if got := s.ReclaimAwaiting(freed, later.Add(testOfferHold)); len(got) != 0 {
		t.Fatalf("reclaimed %+v freed after the cut", got)
	}
	if got := s.ReclaimAwaiting(freed.Add(time.Second), later.Add(testOfferHold)); len(got) != 1 || got[0].IP != a {
		t.Fatalf("reclaimed %+v, want %v", got, a)
	}
	checkInvariants(t, s)
}

// store is what a caller persists from the allocator's results.
type store map[netip.Addr]lease.Lease

func (st store) put(ls ...lease.Lease) {
	for _, l := range ls {
		st[l.IP] = l
	}
}

func TestRestoreKeepsOwnership(t *testing.T) {
	for _, shareFirst := range []bool{true, false} {
		db := store{}
		s := mustScope(t, pairCfg())
		mustShare(t, s, RoleSecondary, 600)
		s.SetAllocation(AllocAll)
		for n := range 10 {
			db.put(bindNew(t, s, hw(n), t0))
		}
		for n := range 3 {
			l, _ := s.LookupClient(hw(n).Key)
			r, _ := s.Release(hw(n), l.IP, t0)
			db.put(r)
		}
		l, _ := s.LookupClient(hw(0).Key)
		f, _ := s.Acked(l.IP, t0)
		db.put(f)
		gave, _ := s.Transfer(4, OwnerSelf, t0)
		took, _ := s.Transfer(2, OwnerPartner, t0)
		db.put(gave...)
		db.put(took...)
		inForce, err := s.Apply(lease.Lease{IP: dynamicAddrs(s)[60], State: lease.StateBackup, Updated: t0}, t0)
		if err != nil {
			t.Fatal(err)
		}
		db.put(inForce)

		r := mustScope(t, pairCfg())
		if shareFirst {
			mustShare(t, r, RoleSecondary, 600)
		}
		for _, l := range db {
			if err := r.Restore(l); err != nil {
				t.Fatal(err)
			}
		}
		if !shareFirst {
			mustShare(t, r, RoleSecondary, 600)
		}
		r.SetAllocation(AllocAll)
		checkInvariants(t, r)
		for _, a := range dynamicAddrs(s) {
			wo, wok := s.Owner(a)
			go_, gok := r.Owner(a)
			if wo != go_ || wok != gok {
				t.Errorf("share first %v: %v owner %v %v after restore, was %v %v", shareFirst, a, go_, gok, wo, wok)
			}
		}
		want, got := s.Stats(), r.Stats()
		want.Exhausted, got.Exhausted = 0, 0
		if want != got {
			t.Errorf("share first %v: stats %+v after restore, want %+v", shareFirst, got, want)
		}
	}
}

// TestPartitionedPairNeverDoubleBinds runs a primary and a secondary that
// cannot talk (COMMUNICATIONS-INTERRUPTED: both AllocOwn, both answer every
// client) with clients coming, renewing, releasing and expiring on either
// side, then lets them exchange every binding. No address may be bound to
// two clients across the two scopes at any time, and the exchange must
// find no conflict.
func TestPartitionedPairNeverDoubleBinds(t *testing.T) {
	p, s := pair(t, pairCfg(), 500)
	// Before the partition the pair shared some bindings.
	for n := range 10 {
		l := bindNew(t, p, hw(n), t0)
		if _, err := s.Apply(l, t0); err != nil {
			t.Fatal(err)
		}
	}
	now := t0
	sides := []*Scope{p, s}
	for step := range 4000 {
		now = now.Add(7 * time.Second)
		side := sides[step%2]
		c := hw((step * 7919) % 150)
		switch step % 5 {
		case 0, 1, 2:
			a, err := side.Offer(c, netip.Addr{}, now)
			if err == nil {
				_, err = side.Request(c, a, time.Duration(10+step%50)*time.Minute, now)
			}
			if err != nil && !errors.Is(err, ErrNoAddrAvail) {
				t.Fatalf("step %d: %v", step, err)
			}
		case 3:
			if l, ok := side.LookupClient(c.Key); ok && l.State == lease.StateActive {
				side.Release(c, l.IP, now)
			}
		case 4:
			side.Expire(now)
		}
		if step%97 == 0 {
			checkNoDoubleBinding(t, p, s, now)
		}
	}
	checkNoDoubleBinding(t, p, s, now)
	// The partition heals: each side sends every binding it has.
	for _, dir := range [][2]*Scope{{p, s}, {s, p}} {
		from, to := dir[0], dir[1]
		from.Leases(func(l lease.Lease) bool {
			if _, err := to.Apply(l, now); rejectReason(err) == RejectFatalConflict {
				t.Errorf("conflict on %v after the partition: %v", l.IP, err)
			}
			return true
		})
	}
	checkInvariants(t, p)
	checkInvariants(t, s)
}

func checkNoDoubleBinding(t *testing.T, p, s *Scope, now time.Time) {
	t.Helper()
	bound := map[netip.Addr]ClientKey{}
	p.Leases(func(l lease.Lease) bool {
		if l.State == lease.StateActive && l.Expiry.After(now) {
			bound[l.IP] = KeyOf(l.ClientID, l.HWType, l.HWAddr)
		}
		return true
	})
	s.Leases(func(l lease.Lease) bool {
		k := KeyOf(l.ClientID, l.HWType, l.HWAddr)
		if l.State == lease.StateActive && l.Expiry.After(now) {
			if pk, ok := bound[l.IP]; ok && pk != k {
				t.Fatalf("%v bound to %q by the primary and %q by the secondary", l.IP, pk, k)
			}
		}
		return true
	})
}

func TestExpireReturnsTheCurrentRecord(t *testing.T) {
	s := mustScope(t, pairCfg())
	mustShare(t, s, RolePrimary, 1000)
	a := bindNew(t, s, hw(1), t0).IP
	later := t0.Add(2 * testLeaseTime)
	// The lease expires inside Offer; the client takes its address back
	// before the caller's next Expire.
	if got := mustOffer(t, s, hw(1), netip.Addr{}, later); got != a {
		t.Fatalf("offered %v, want %v", got, a)
	}
	mustRequest(t, s, hw(1), a, later)
	if changed := s.Expire(later); len(changed) != 0 {
		t.Fatalf("Expire returned %+v, superseded by the lease Request returned", changed)
	}
}

// TestRandomFailoverOperationsKeepInvariants mixes client traffic with
// every failover operation on a primary and a secondary that exchange
// their bindings, and checks the internal structures after each step.
func TestRandomFailoverOperationsKeepInvariants(t *testing.T) {
	p, s := pair(t, pairCfg(), 500)
	r := rand.New(rand.NewPCG(7, 7))
	now := t0
	states := []lease.State{lease.StateActive, lease.StateExpired, lease.StateReleased, lease.StateFree,
		lease.StateBackup, lease.StateReset, lease.StateAbandoned}
	addr := func() netip.Addr { return u32Addr(addrU32(ip("10.0.0.8")) + uint32(r.IntN(130))) }
	for step := range 20000 {
		side, peer := p, s
		if r.IntN(2) == 1 {
			side, peer = s, p
		}
		c := hw(r.IntN(40))
		now = now.Add(time.Duration(r.IntN(90)) * time.Second)
		var op string
		switch r.IntN(12) {
		case 0, 1, 2:
			op = "offer+request"
			if a, err := side.Offer(c, addr(), now); err == nil {
				if l, err := side.Request(c, a, time.Duration(1+r.IntN(60))*time.Minute, now); err == nil && r.IntN(2) == 0 {
					peer.Apply(l, now)
				}
			}
		case 3:
			op = "release"
			if l, ok := side.LookupClient(c.Key); ok {
				if rl, ok := side.Release(c, l.IP, now); ok && r.IntN(2) == 0 {
					peer.Apply(rl, now)
					side.Acked(rl.IP, now)
				}
			}
		case 4:
			op = "decline"
			if l, ok := side.LookupClient(c.Key); ok {
				side.Decline(c, l.IP, now)
			}
		case 5:
			op = "expire"
			for _, l := range side.Expire(now) {
				if r.IntN(2) == 0 {
					peer.Apply(l, now)
					side.Acked(l.IP, now)
				}
			}
		case 6:
			op = "apply"
			l := lease.Lease{IP: addr(), State: states[r.IntN(len(states))], HWType: 1, HWAddr: c.HWAddr,
				Updated: now.Add(time.Duration(r.IntN(600)-300) * time.Second), Expiry: now.Add(time.Duration(r.IntN(7200)-3600) * time.Second)}
			side.Apply(l, now)
		case 7:
			op = "transfer"
			from := Owner(r.IntN(2))
			moved, _ := side.Transfer(r.IntN(8), from, now)
			for _, l := range moved {
				peer.Apply(l, now)
			}
		case 8:
			op = "policy"
			side.SetAllocation(AllocPolicy(r.IntN(3)))
		case 9:
			op = "resplit"
			next := r.IntN(1001)
			giver, taker := s, p
			if next < p.share {
				giver, taker = p, s
			}
			if _, err := giver.SetShare(giver.Role(), next, now); err != nil {
				t.Fatal(err)
			}
			if _, err := taker.SetShare(taker.Role(), next, now); err != nil {
				t.Fatal(err)
			}
		case 10:
			op = "reclaim"
			side.ReclaimAwaiting(now.Add(-time.Hour), now)
		case 11:
			op = "restore"
			l := lease.Lease{IP: addr(), State: states[r.IntN(len(states))], HWType: 1, HWAddr: c.HWAddr,
				Expiry: now.Add(time.Duration(r.IntN(7200)-3600) * time.Second)}
			if err := side.Restore(l); err != nil {
				t.Fatal(err)
			}
		}
		for _, sc := range []*Scope{p, s} {
			sc.mu.Lock()
			err := sc.invariantError()
			sc.mu.Unlock()
			if err != nil {
				t.Fatalf("step %d (%s by %q): %v", step, op, c.Key, err)
			}
		}
	}
}

func TestSetShareKeepsFreshOrder(t *testing.T) {
	p, s := pair(t, pairCfg(), 500)
	for _, sc := range []*Scope{p, s} {
		prev := netip.Addr{}
		for n := range 10 {
			a := mustOffer(t, sc, hw(n), netip.Addr{}, t0)
			if prev.IsValid() && !prev.Less(a) {
				t.Fatalf("%v: offered %v after %v: fresh addresses not in ascending order", sc.Role(), a, prev)
			}
			prev = a
		}
	}
}

// TestConcurrentFailoverOperations runs client traffic on a primary while
// partner updates, transfers, policy changes and the engine's reads run
// concurrently (for the race detector), then checks the structures.
func TestConcurrentFailoverOperations(t *testing.T) {
	p, s := pair(t, pairCfg(), 500)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for n := range 2000 {
				c := hw(g*1000 + n%200)
				now := t0.Add(time.Duration(n) * time.Second)
				if a, err := p.Offer(c, netip.Addr{}, now); err == nil {
					if l, err := p.Request(c, a, time.Minute, now); err == nil && n%3 == 0 {
						p.Release(c, l.IP, now)
						p.Acked(l.IP, now)
					}
				}
			}
		})
	}
	wg.Go(func() {
		for n := range 500 {
			now := t0.Add(time.Duration(n) * time.Second)
			moved, _ := s.Transfer(1, OwnerSelf, now)
			for _, l := range moved {
				p.Apply(l, now)
			}
			p.SetAllocation(AllocPolicy(n % 2))
			p.Expire(now)
			p.ForEachFree(func(netip.Addr, lease.State) bool { return n%2 == 0 })
			_ = p.Stats()
		}
	})
	wg.Wait()
	checkInvariants(t, p)
	checkInvariants(t, s)
	checkPair(t, p, s)
}
