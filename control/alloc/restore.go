package alloc

import (
	"fmt"

	"github.com/xdhcp/xdhcp/control/lease"
)

// Restore loads one stored lease, at start before serving. Leases on
// addresses outside the pools (reservations, or a configuration that
// changed) are kept: an Active one stays leased until it expires, but such
// an address is never handed out again unless it is the client's
// reservation. A later Restore of the same address replaces the earlier
// one. Active leases whose expiry has passed are returned as Expired by the
// next Expire. Stored Free, Reset and Backup records leave the address free.
//
// Failover ownership (see the package documentation): a Free record makes
// the address the primary's, a Backup record the secondary's, and either
// keeps the client it names, if any, for affinity. Every other record means
// the address was bound here, so when it is free it is the primary's; on a
// failover scope Expired and Released records wait for the partner's
// acknowledgement (Acked). Addresses without a record get their owner from
// SetShare, whether it runs before or after Restore.
func (s *Scope) Restore(l lease.Lease) error {
	if !l.IP.Is4() {
		return fmt.Errorf("restore lease %v: not an IPv4 address", l.IP)
	}
	switch l.State {
	case lease.StateFree, lease.StateActive, lease.StateExpired, lease.StateReleased,
		lease.StateAbandoned, lease.StateReset, lease.StateBackup:
	default:
		return fmt.Errorf("restore lease %v: unknown state %d", l.IP, l.State)
	}
	rec := l
	rec.ClientID = keepOrClone(nil, l.ClientID)
	rec.HWAddr = keepOrClone(nil, l.HWAddr)
	rec.CircuitID = keepOrClone(nil, l.CircuitID)
	rec.RemoteID = keepOrClone(nil, l.RemoteID)
	key := KeyOf(l.ClientID, l.HWType, l.HWAddr)

	s.mu.Lock()
	defer s.mu.Unlock()
	i := s.slotOrAdd(addrU32(l.IP))
	s.clear(i)
	sl := &s.slots[i]
	sl.own = ownSet // bound here, so the primary's when free (draft-12 §5.4)
	switch l.State {
	case lease.StateActive:
		sl.rec = &rec
		s.setState(i, stActive)
		s.schedule(i, nanos(l.Expiry))
		s.restoreKey(i, key)
	case lease.StateExpired, lease.StateReleased:
		sl.rec = &rec
		s.restoreKey(i, key)
		s.freeRecord(i)
		s.recycledDirty = true
	case lease.StateAbandoned:
		sl.rec = &rec
		s.setState(i, stDeclined)
		s.schedule(i, nanos(l.Expiry))
	case lease.StateFree, lease.StateBackup:
		sl.own = ownerOf(l.State)
		if key == "" {
			s.free(i, listFresh)
			break
		}
		sl.rec = &rec
		s.restoreKey(i, key)
		s.free(i, listRecycled)
		s.recycledDirty = true
	default:
		s.free(i, listFresh)
	}
	return nil
}

// clear detaches slot i from lists, heap, client map and record, leaving
// it free and on no list.
func (s *Scope) clear(i int32) {
	s.unlink(i)
	s.unschedule(i)
	s.setKey(i, "")
	s.dropRecord(i)
	s.setState(i, stFree)
}

// restoreKey gives slot i to client k and points the client index at it
// unless the client already has a more recent record: an Active lease beats
// a finished one, then the later Expiry wins.
func (s *Scope) restoreKey(i int32, k ClientKey) {
	if k == "" {
		return
	}
	if j, ok := s.clientSlot(k); ok && j != i && !s.moreRecent(i, j) {
		s.slots[i].key = k
		return
	}
	s.setKey(i, k)
}

func (s *Scope) moreRecent(i, j int32) bool {
	a, b := s.slots[i].rec, s.slots[j].rec
	if b == nil {
		return true
	}
	if (a.State == lease.StateActive) != (b.State == lease.StateActive) {
		return a.State == lease.StateActive
	}
	return a.Expiry.After(b.Expiry)
}
