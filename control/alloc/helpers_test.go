package alloc

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

const (
	testOfferHold   = 10 * time.Second
	testDeclineHold = time.Hour
	testLeaseTime   = time.Hour
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func rng(a, b string) config.Range { return config.Range{Start: ip(a), End: ip(b)} }

// scopeCfg returns a /24 scope with the given pools.
func scopeCfg(pools ...config.Range) config.Scope {
	return config.Scope{Subnet: netip.MustParsePrefix("10.0.0.0/24"), Pools: pools}
}

func mustScope(t testing.TB, cfg config.Scope) *Scope {
	t.Helper()
	s, err := NewScope(cfg, testOfferHold, testDeclineHold, 0)
	if err != nil {
		t.Fatalf("NewScope: %v", err)
	}
	return s
}

// hw returns a client identified by its hardware address 02:00:00:00:hi:lo.
func hw(n int) Client {
	mac := net.HardwareAddr{2, 0, 0, 0, byte(n >> 8), byte(n)}
	return Client{Key: KeyOf(nil, 1, mac), HWType: 1, HWAddr: mac}
}

// withID returns a client identified by option 61.
func withID(id string, n int) Client {
	c := hw(n)
	c.ClientID = []byte(id)
	c.Key = KeyOf(c.ClientID, c.HWType, c.HWAddr)
	return c
}

func mustOffer(t testing.TB, s *Scope, c Client, req netip.Addr, now time.Time) netip.Addr {
	t.Helper()
	a, err := s.Offer(c, req, now)
	if err != nil {
		t.Fatalf("Offer(%s, %v): %v", c.Key, req, err)
	}
	return a
}

func mustRequest(t testing.TB, s *Scope, c Client, a netip.Addr, now time.Time) lease.Lease {
	t.Helper()
	l, err := s.Request(c, a, testLeaseTime, now)
	if err != nil {
		t.Fatalf("Request(%s, %v): %v", c.Key, a, err)
	}
	return l
}

// bindNew offers and requests an address for c.
func bindNew(t testing.TB, s *Scope, c Client, now time.Time) lease.Lease {
	t.Helper()
	return mustRequest(t, s, c, mustOffer(t, s, c, netip.Addr{}, now), now)
}

// checkInvariants verifies the internal structures agree with each other.
func checkInvariants(t testing.TB, s *Scope) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.invariantError(); err != nil {
		t.Fatal(err)
	}
}

func (s *Scope) invariantError() error {
	onList := make(map[int32]listID)
	ids := []listID{listOffered}
	for l := range s.lists {
		ids = append(ids, listID(l))
	}
	for _, l := range ids {
		lst := *s.list(l)
		n, prev := 0, noSlot
		for i := lst.head; i != noSlot; i = s.slots[i].next {
			sl := s.slots[i]
			if sl.list != l || sl.prev != prev {
				return fmt.Errorf("list %d: slot %d has list %d prev %d, want %d %d", l, i, sl.list, sl.prev, l, prev)
			}
			if _, dup := onList[i]; dup || n > len(s.slots) {
				return fmt.Errorf("list %d: slot %d seen twice", l, i)
			}
			if l == listOffered && prev != noSlot && s.slots[prev].heldUntil > sl.heldUntil {
				return fmt.Errorf("offer queue out of order at slot %d", i)
			}
			if l < numFreeLists && freeList(sl.own, l%numListKinds) != l {
				return fmt.Errorf("list %d: slot %d has owner bits %b", l, i, sl.own)
			}
			if l == listAwaiting && (!awaitsAck(sl.rec) || s.role == RoleNone) {
				return fmt.Errorf("awaiting list: slot %d without an Expired or Released record, or without failover", i)
			}
			onList[i] = l
			prev = i
			n++
		}
		if lst.tail != prev || lst.n != n {
			return fmt.Errorf("list %d: tail %d n %d, walked tail %d n %d", l, lst.tail, lst.n, prev, n)
		}
	}
	var counts [numStates]int
	for i := range s.slots {
		idx := int32(i)
		sl := s.slots[i]
		counts[sl.state]++
		l, listed := onList[idx]
		if !listed {
			l = listNone
		}
		switch {
		case sl.list != l:
			return fmt.Errorf("slot %d: list %d but linked on %d", i, sl.list, l)
		case sl.state == stOffered && l != listOffered,
			sl.state == stFree && sl.flags == 0 && l == listNone,
			sl.state == stFree && l != listNone && l != listAwaiting && l >= numFreeLists,
			sl.state != stFree && sl.state != stOffered && l != listNone,
			sl.state == stFree && sl.flags != 0 && l != listNone:
			return fmt.Errorf("slot %d (%v) state %d flags %b is on list %d", i, s.addrOf(idx), sl.state, sl.flags, l)
		}
		timed := sl.state == stActive || sl.state == stDeclined
		if (sl.heapPos != noSlot) != timed {
			return fmt.Errorf("slot %d state %d: heapPos %d", i, sl.state, sl.heapPos)
		}
		if timed && s.timers[sl.heapPos].idx != idx {
			return fmt.Errorf("slot %d: heap entry %d points to %d", i, sl.heapPos, s.timers[sl.heapPos].idx)
		}
		if (sl.state == stOffered || sl.state == stActive) && sl.key == "" {
			return fmt.Errorf("slot %d state %d without client", i, sl.state)
		}
		if sl.durable && sl.state != stActive {
			return fmt.Errorf("slot %d state %d marked durable", i, sl.state)
		}
		if sl.state == stActive && (sl.rec == nil || sl.rec.State != lease.StateActive) {
			return fmt.Errorf("slot %d active without an Active record", i)
		}
		if sl.state == stDeclined && (sl.rec == nil || sl.rec.State != lease.StateAbandoned || sl.key != "") {
			return fmt.Errorf("slot %d declined without an Abandoned record or with a client", i)
		}
		if sl.rec != nil && sl.rec.IP != s.addrOf(idx) {
			return fmt.Errorf("slot %d (%v) holds a record for %v", i, s.addrOf(idx), sl.rec.IP)
		}
		if sl.rec != nil && sl.state != stDeclined && KeyOf(sl.rec.ClientID, sl.rec.HWType, sl.rec.HWAddr) != sl.key {
			return fmt.Errorf("slot %d: record of %q but key %q", i, KeyOf(sl.rec.ClientID, sl.rec.HWType, sl.rec.HWAddr), sl.key)
		}
	}
	if counts != s.counts {
		return fmt.Errorf("state counts %v, walked %v", s.counts, counts)
	}
	for p, tm := range s.timers {
		if p > 0 && s.timers[(p-1)/2].at > tm.at {
			return fmt.Errorf("heap order broken at %d", p)
		}
		if s.slots[tm.idx].heapPos != int32(p) {
			return fmt.Errorf("heap entry %d: slot %d has heapPos %d", p, tm.idx, s.slots[tm.idx].heapPos)
		}
	}
	for k, i := range s.clients {
		if s.slots[i].key != k {
			return fmt.Errorf("client %q points to slot %d keyed %q", k, i, s.slots[i].key)
		}
	}
	return nil
}
