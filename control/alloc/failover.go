package alloc

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
)

// Role is this server's failover role for a scope.
type Role uint8

// The roles. RoleNone (the zero value) is a scope without failover: every
// dynamic address is this server's.
const (
	RoleNone Role = iota
	RolePrimary
	RoleSecondary
)

func (r Role) String() string {
	switch r {
	case RoleNone:
		return "none"
	case RolePrimary:
		return "primary"
	case RoleSecondary:
		return "secondary"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Owner says whose share a free address is in, relative to this server.
type Owner uint8

// The owners.
const (
	OwnerSelf Owner = iota
	OwnerPartner
)

func (o Owner) String() string {
	if o == OwnerSelf {
		return "self"
	}
	return "partner"
}

// AllocPolicy says which free addresses Offer and Request may give to a
// client that has no binding on them.
type AllocPolicy uint8

// The policies. AllocOwn is the zero value: without failover it is the only
// policy that matters, since every address is this server's.
const (
	AllocOwn  AllocPolicy = iota // this server's share only (NORMAL, COMMUNICATIONS-INTERRUPTED, PARTNER-DOWN before the MCLT passed)
	AllocAll                     // this server's share, then the partner's (PARTNER-DOWN after the MCLT)
	AllocNone                    // no new bindings: renewals, existing leases and reservations only (RECOVER-DONE, ...)
)

func (p AllocPolicy) String() string {
	switch p {
	case AllocOwn:
		return "own"
	case AllocAll:
		return "all"
	case AllocNone:
		return "none"
	}
	return fmt.Sprintf("policy(%d)", uint8(p))
}

// ErrNoNewBindings is returned by Offer when the allocation policy is
// AllocNone and the client has no binding to keep. It is counted in
// Stats.Refused, not Stats.Exhausted.
var ErrNoNewBindings = errors.New("failover state allows no new bindings")

// ErrNoFailover is returned by the failover operations on a scope whose
// role was never set with SetShare.
var ErrNoFailover = errors.New("scope has no failover role (call SetShare first)")

// RejectReason is a draft-12 reject-reason code (§12.21) saying why Apply
// refused a partner's binding update; the engine copies it into the BNDACK.
type RejectReason uint8

// The reasons Apply uses.
const (
	RejectIllegalAddress RejectReason = 1  // not an address of this scope's pools or reservations
	RejectFatalConflict  RejectReason = 2  // bound to another client here, and this server is the primary
	RejectMissingBinding RejectReason = 3  // an ACTIVE update without a client, or an unknown state
	RejectMisc           RejectReason = 6  // the scope has no failover role
	RejectOutdated       RejectReason = 15 // this server's binding is more recent
	RejectLessCritical   RejectReason = 16 // the address is ABANDONED here
)

// RejectError is Apply's error when it refuses an update.
type RejectError struct {
	IP     netip.Addr
	Reason RejectReason
	Why    string
}

func (e *RejectError) Error() string {
	return fmt.Sprintf("binding update for %v rejected (reason %d): %s", e.IP, e.Reason, e.Why)
}

// Role returns the scope's failover role.
func (s *Scope) Role() Role {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

// SetShare makes the scope a failover scope and divides its dynamic
// addresses (pool addresses neither reserved nor excluded) between the
// primary and the secondary: the primary's share is
// floor(dynamic*primaryPermille/1000) addresses, chosen by the same
// deterministic rule on both servers from the same configuration, so both
// pass the same primaryPermille and their own role.
//
// The first call assigns every address whose owner no record, transfer or
// binding has set (Restore may run before or after it). A later call with
// another share is a live split change: it moves only addresses from the
// share that shrinks to the share that grows, and returns a FREE or BACKUP
// record for every free address it moved, for the caller to persist (they
// are not sent to the partner, which applies the same change itself). See
// the package documentation for the order in which the partners apply it.
// Offered, leased and declined addresses keep their binding. The role
// cannot change once set.
func (s *Scope) SetShare(role Role, primaryPermille int, now time.Time) ([]lease.Lease, error) {
	if role != RolePrimary && role != RoleSecondary {
		return nil, fmt.Errorf("set failover share: role %v: want primary or secondary", role)
	}
	if primaryPermille < 0 || primaryPermille > 1000 {
		return nil, fmt.Errorf("set failover share: %d‰: want 0 to 1000", primaryPermille)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.role != RoleNone && s.role != role {
		return nil, fmt.Errorf("set failover share: scope is %v, cannot become %v", s.role, role)
	}
	if s.recycledDirty {
		s.sortRecycled()
	}
	first := s.role == RoleNone
	prev := s.share
	if !first && prev == primaryPermille {
		return nil, nil
	}
	s.role, s.share = role, primaryPermille
	s.mine = 0
	if role == RoleSecondary {
		s.mine = ownSecondary
	}
	primary := primaryShare(s.dynamic, primaryPermille)
	var moved []lease.Lease
	d := 0
	for i := int32(0); i < s.poolSlots; i++ {
		sl := &s.slots[i]
		if sl.flags != 0 {
			continue
		}
		want := ownSecondary
		if primary[d] {
			want = 0
		}
		d++
		have := sl.own & ownSecondary
		switch {
		case want == have:
			continue
		case first && sl.own&ownSet != 0:
			continue // a record or a transfer said whose it is
		case !first && (primaryPermille > prev) != (want == 0):
			continue // a split change moves addresses one way only
		}
		sl.own = want | sl.own&ownSet
		if !first {
			sl.own |= ownSet
		}
		if sl.state == stFree && sl.list != listAwaiting && sl.list != listNone {
			kind := sl.list % numListKinds
			s.unlink(i)
			if !first {
				s.dropRecord(i)
				s.setKey(i, "")
				kind = listFresh
				moved = append(moved, s.ownershipRecord(i, now))
			}
			// Walking in pool order, appending keeps the fresh lists
			// ascending; the recycled lists are sorted again below.
			s.pushBack(freeList(sl.own, kind), i)
			s.recycledDirty = s.recycledDirty || kind == listRecycled
		}
	}
	if first {
		// Leases that ended before the role was known wait for the
		// partner's acknowledgement like any other (draft-12 §5.2.2).
		for o := range ownBits(numOwners) {
			l := s.list(freeList(o, listRecycled))
			for i := l.head; i != noSlot; {
				next := s.slots[i].next
				if awaitsAck(s.slots[i].rec) {
					s.freeRecord(i)
				}
				i = next
			}
		}
	}
	return moved, nil
}

// primaryShare marks which of n dynamic addresses (in pool order) are the
// primary's: the first floor(n*permille/1000) in bit-reversed order, which
// spreads them evenly over the pools. Because the order is fixed, a larger
// share is a superset of a smaller one, so a split change only moves
// addresses in one direction.
func primaryShare(n, permille int) []bool {
	out := make([]bool, n)
	want := int(int64(n) * int64(permille) / 1000)
	if want == 0 {
		return out
	}
	width := bits.Len(uint(n - 1))
	for j, got := uint(0), 0; got < want; j++ {
		r := int(bits.Reverse(j) >> (bits.UintSize - width))
		if width == 0 {
			r = 0
		}
		if r < n {
			out[r] = true
			got++
		}
	}
	return out
}

// ownershipRecord returns the FREE or BACKUP record of free slot i.
func (s *Scope) ownershipRecord(i int32, now time.Time) lease.Lease {
	l := s.freeView(i)
	l.Updated = now
	return l
}

// SetAllocation sets what Offer and Request may give to new clients. It
// takes effect for the next call; offers already made to addresses the new
// policy does not allow are not bound by Request (the client gets another
// address at its next DISCOVER).
func (s *Scope) SetAllocation(p AllocPolicy) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.policy = p
}

// Allocation returns the current allocation policy.
func (s *Scope) Allocation() AllocPolicy {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.policy
}

// whyNotOurs explains why free or offered slot i may not be bound now.
func (s *Scope) whyNotOurs(i int32) string {
	switch {
	case s.policy == AllocNone:
		return ErrNoNewBindings.Error()
	case s.slots[i].list == listAwaiting:
		return "its last lease ended here and the failover partner has not acknowledged that yet"
	}
	return "the failover partner's to allocate"
}

// Owner returns whose share ip is in when it is a free dynamic address on
// a free list; ok is false for bound, offered, declined, reserved, excluded
// and unknown addresses, and for addresses awaiting the partner's
// acknowledgement, which belong to no share (draft-12 §5.4: a leased
// address is owned by neither server).
func (s *Scope) Owner(ip netip.Addr) (Owner, bool) {
	if !ip.Is4() {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.poolSlot(addrU32(ip))
	if !ok {
		return 0, false
	}
	sl := &s.slots[i]
	if sl.state != stFree || sl.list == listNone || sl.list == listAwaiting {
		return 0, false
	}
	return s.relative(sl.own), true
}

func (s *Scope) relative(o ownBits) Owner {
	if o&ownSecondary == s.mine {
		return OwnerSelf
	}
	return OwnerPartner
}

// ForEachFree calls fn with every free dynamic address and its owner as a
// record state, lease.StateFree (the primary's) or lease.StateBackup (the
// secondary's), in pool order, until fn returns false. Addresses awaiting
// the partner's acknowledgement are left out. fn runs without the scope's
// lock.
func (s *Scope) ForEachFree(fn func(ip netip.Addr, owner lease.State) bool) {
	type entry struct {
		ip    netip.Addr
		owner lease.State
	}
	buf := make([]entry, 0, leasesBatch)
	for next := int32(0); ; {
		buf = buf[:0]
		s.mu.Lock()
		for ; next < s.poolSlots && len(buf) < leasesBatch; next++ {
			sl := &s.slots[next]
			if sl.state != stFree || sl.list == listNone || sl.list == listAwaiting {
				continue
			}
			v := s.freeView(next)
			buf = append(buf, entry{v.IP, v.State})
		}
		done := next >= s.poolSlots
		s.mu.Unlock()
		for _, e := range buf {
			if !fn(e.ip, e.owner) {
				return
			}
		}
		if done {
			return
		}
	}
}

// Transfer moves up to n free addresses out of from's share into the other
// server's and returns their FREE or BACKUP records, for the caller to
// persist and send to the partner in BNDUPDs. Addresses without a
// remembered client go first. Giving (from OwnerSelf) is always safe: this
// server stops using the addresses before the partner hears of them.
// Taking (from OwnerPartner) is only safe when the partner cannot use them:
// it is down and the MCLT has passed (PARTNER-DOWN takeover, n = the
// partner's free count). The partner's own gifts arrive through Apply.
func (s *Scope) Transfer(n int, from Owner, now time.Time) ([]lease.Lease, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.role == RoleNone {
		return nil, fmt.Errorf("transfer free addresses: %w", ErrNoFailover)
	}
	src := s.mine
	if from == OwnerPartner {
		src ^= ownSecondary
	}
	if s.recycledDirty {
		s.sortRecycled()
	}
	var out []lease.Lease
	take := func(l *dlist, fromTail bool) {
		for len(out) < n {
			i := l.head
			if fromTail {
				i = l.tail
			}
			if i == noSlot {
				return
			}
			s.dropRecord(i)
			s.setKey(i, "")
			s.slots[i].own = src ^ ownSecondary | ownSet
			s.free(i, listFresh)
			out = append(out, s.ownershipRecord(i, now))
		}
	}
	take(s.list(freeList(src, listFresh)), true)
	take(s.list(freeList(src, listRecycled)), false)
	return out, nil
}

// Acked tells the scope that the partner acknowledged this server's update
// for ip with state Expired or Released (BNDACK without reject-reason). If
// the address is still waiting for that, it becomes the primary's free
// address (draft-12 §5.4), remembering its last client, and the FREE record
// to persist is returned.
func (s *Scope) Acked(ip netip.Addr, now time.Time) (lease.Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, rec := s.record(ip)
	if rec == nil || s.slots[i].list != listAwaiting {
		return lease.Lease{}, false
	}
	return s.settle(i, now), true
}

// settle moves awaiting slot i to the primary's recycled list with a FREE
// record that keeps its last client.
func (s *Scope) settle(i int32, now time.Time) lease.Lease {
	sl := &s.slots[i]
	s.unlink(i)
	sl.rec.State = lease.StateFree
	sl.rec.Updated = now
	sl.own = ownSet
	s.free(i, listRecycled)
	return *sl.rec
}

// ReclaimAwaiting makes every address that has waited for the partner's
// acknowledgement since before freedBefore free again (the primary's), and
// returns their FREE records to persist. In PARTNER-DOWN the caller passes
// now minus the MCLT (draft-12 §5.2.2: an address that became available in
// PARTNER-DOWN may go to another client an MCLT later).
func (s *Scope) ReclaimAwaiting(freedBefore, now time.Time) []lease.Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []lease.Lease
	for i := s.lists[listAwaiting].head; i != noSlot; {
		next := s.slots[i].next
		if s.slots[i].rec.Expiry.Before(freedBefore) {
			out = append(out, s.settle(i, now))
		}
		i = next
	}
	return out
}
