package alloc

import (
	"cmp"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
)

// Apply decides, by draft-12 §7.1.3 (Figure 7.1.3-1), whether to accept a
// binding update from the failover partner, and if so makes it the
// scope's state. It returns the lease now in force for ip: on acceptance
// the update (the caller persists it, then acknowledges); on rejection this
// server's record, with a *RejectError carrying the reject-reason.
//
// The receiving server's state is its binding: ACTIVE (leased), EXPIRED or
// RELEASED (free, last client remembered), FREE/BACKUP (free), ABANDONED
// (declined). Offers are not bindings and never block an update: an offer
// the update contradicts is dropped. Per state of the update:
//
//   - Active binds ip to the update's client. Against an ACTIVE binding of
//     another client the primary rejects (fatal conflict) and the
//     secondary accepts (the table's rule 5). Against an ACTIVE binding of
//     the same client it is accepted with the later of both expiries and
//     cltts, so that partners whose renewals crossed agree. Against
//     EXPIRED or RELEASED
//     it wins with a client-last-transaction-time (Updated) that is not
//     earlier: times are compared in whole seconds, as the wire carries
//     them, and a tie goes to the Active binding.
//     If the client holds another Active lease here, both stay (the
//     client's current one is the one with the later cltt).
//   - Expired and Released end an ACTIVE binding only once its expiry has
//     passed (Expired) or with a later cltt (Released, not in the same
//     second; also Expired of the same client, whose lease the partner
//     ended when the client moved to another address there); Expired ends
//     a RELEASED one only with a later cltt. The
//     address becomes available: the primary's, remembering the client.
//     The partner ended the binding, so nobody waits for an
//     acknowledgement: the lease in force is the update with State Free.
//   - Free and Backup make the address the primary's or the secondary's
//     free address (pool balancing, draft-12 §5.4); against ACTIVE only once
//     its expiry has passed.
//   - Reset frees the address (the primary's, forgetting the client);
//     Abandoned holds it out of use until the update's Expiry (or the
//     decline hold). Both are always accepted.
//
// A zero Updated counts as earlier than any, as §7.1.3 says.
func (s *Scope) Apply(l lease.Lease, now time.Time) (lease.Lease, error) {
	reject := func(r RejectReason, format string, a ...any) error {
		return &RejectError{IP: l.IP, Reason: r, Why: fmt.Sprintf(format, a...)}
	}
	if !l.IP.Is4() {
		return lease.Lease{}, reject(RejectIllegalAddress, "not an IPv4 address")
	}
	key := KeyOf(l.ClientID, l.HWType, l.HWAddr)
	switch l.State {
	case lease.StateActive:
		if key == "" {
			return lease.Lease{}, reject(RejectMissingBinding, "active binding without a client identifier or hardware address")
		}
	case lease.StateExpired, lease.StateReleased, lease.StateFree, lease.StateBackup, lease.StateReset, lease.StateAbandoned:
	default:
		return lease.Lease{}, reject(RejectMissingBinding, "unknown binding state %d", l.State)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.role == RoleNone {
		return lease.Lease{}, reject(RejectMisc, "%v", ErrNoFailover)
	}
	t := nanos(now)
	s.expireLocked(now, t)
	a := addrU32(l.IP)
	i, ok := s.slotOf(a)
	_, reserved := s.resByIP[a]
	switch {
	case reserved:
		i = s.slotOrAdd(a)
	case !ok || s.slots[i].flags&(flagExcluded|flagOutside) != 0:
		return lease.Lease{}, reject(RejectIllegalAddress, "not part of any pool of scope %v", s.prefix)
	}
	sl := &s.slots[i]
	var ours lease.State
	switch {
	case sl.state == stActive:
		ours = lease.StateActive
	case sl.state == stDeclined:
		ours = lease.StateAbandoned
	case sl.rec != nil && sl.state == stFree:
		ours = sl.rec.State
	default:
		ours = lease.StateFree
	}
	keep := func() lease.Lease {
		if sl.rec != nil {
			return *sl.rec
		}
		return s.freeView(i)
	}
	cltt := compareCLTT(l.Updated, sl.rec)
	expired := sl.rec != nil && now.After(sl.rec.Expiry)
	switch ours {
	case lease.StateActive:
		switch l.State {
		case lease.StateActive:
			if sl.key != key && s.role == RolePrimary {
				return keep(), reject(RejectFatalConflict, "address in use by another client (the primary's binding stands)")
			}
			if sl.key == key {
				l = sameClient(l, sl.rec)
			}
		case lease.StateExpired:
			// A client that moved to another address at the partner ended
			// this lease early: its later transaction says so. The
			// partner's copy of the expiry is in whole seconds, so it
			// runs out up to a second before ours: that is not early.
			wireExpired := sl.rec != nil && !now.Before(sl.rec.Expiry.Truncate(time.Second))
			if !wireExpired && !(sl.key == key && cltt > 0) {
				return keep(), reject(RejectOutdated, "leased here until %v", sl.rec.Expiry)
			}
		case lease.StateFree, lease.StateBackup:
			if !expired {
				return keep(), reject(RejectOutdated, "leased here until %v", sl.rec.Expiry)
			}
		case lease.StateReleased:
			if cltt <= 0 { // a tie keeps the lease: the client may be using it
				return keep(), reject(RejectOutdated, "this server's binding is as recent or more")
			}
		}
	case lease.StateExpired:
		if l.State == lease.StateActive && cltt < 0 { // a tie binds: the client may be using it
			return keep(), reject(RejectOutdated, "this server's expired binding is more recent")
		}
	case lease.StateReleased:
		switch {
		case l.State == lease.StateActive && cltt < 0, // a tie binds, as above
			l.State == lease.StateExpired && cltt <= 0:
			return keep(), reject(RejectOutdated, "this server's released binding is as recent or more")
		}
	case lease.StateAbandoned:
		if l.State != lease.StateReset && l.State != lease.StateAbandoned {
			return keep(), reject(RejectLessCritical, "abandoned here")
		}
	}
	return s.accept(i, l, key, now), nil
}

// compareCLTT compares an update's client-last-transaction-time u with
// that of this server's record rec: 1 when u is later, 0 when both fall in
// the same second, -1 when u is earlier (§7.1.3: a missing time is never
// later; any time is later than a missing one).
//
// The comparison is at the wire's precision, whole seconds: the partner's
// times arrive truncated to the second while our own records keep
// nanoseconds, so a record written at 06.6 would otherwise beat the
// partner's transaction at 06.2 sent as 06. Within one second the order is
// unknown; the callers settle ties towards keeping or making the address
// Active, the safe side (a client may be using it; the cost is only a
// delayed reuse), which both partners reach whichever way the updates
// cross.
func compareCLTT(u time.Time, rec *lease.Lease) int {
	switch {
	case u.IsZero():
		return -1
	case rec == nil || rec.Updated.IsZero():
		return 1
	}
	return cmp.Compare(u.Unix(), rec.Updated.Unix())
}

// laterCLTT says whether u is later than rec's cltt at wire precision.
func laterCLTT(u time.Time, rec *lease.Lease) bool { return compareCLTT(u, rec) > 0 }

// sameClient is the binding in force when the partner's ACTIVE update u
// and this server's ACTIVE binding rec are of the same client: both
// partners may have renewed it while cut off, and their updates cross, so
// each must reach the same record from the pair whichever arrives first.
// It is the update (the partner's view) with the later of both expiries
// and cltts: an address is not reused while either server has promised
// it, and the client's last transaction is the latest either saw.
func sameClient(u lease.Lease, rec *lease.Lease) lease.Lease {
	if rec.Expiry.After(u.Expiry) {
		u.Expiry = rec.Expiry
	}
	if rec.Updated.After(u.Updated) {
		u.Updated = rec.Updated
	}
	if !rec.Start.IsZero() && (u.Start.IsZero() || rec.Start.Before(u.Start)) {
		u.Start = rec.Start
	}
	return u
}

// freeView is the record of free slot i that has none: FREE or BACKUP by
// its owner.
func (s *Scope) freeView(i int32) lease.Lease {
	st := lease.StateFree
	if s.slots[i].own&ownSecondary != 0 {
		st = lease.StateBackup
	}
	return lease.Lease{IP: s.addrOf(i), State: st}
}

// accept makes the partner's update l the state of slot i.
func (s *Scope) accept(i int32, l lease.Lease, key ClientKey, now time.Time) lease.Lease {
	sl := &s.slots[i]
	if sl.state == stOffered && !(l.State == lease.StateActive && sl.key == key) {
		switch l.State {
		case lease.StateFree, lease.StateBackup:
			// Our offer stands, but the address changes hands: Request
			// checks the owner before binding it.
			sl.own = ownerOf(l.State)
			return copyLease(l)
		case lease.StateExpired, lease.StateReleased:
			return copyLease(l) // the partner's client is gone; our offer stands
		}
		s.cancelOffer(i, sl.key)
	}
	switch l.State {
	case lease.StateActive:
		return s.applyActive(i, l, key)
	case lease.StateExpired, lease.StateReleased:
		// The partner ended the binding and knows it: the address is
		// available, the primary's, and remembers its client.
		s.unschedule(i)
		s.setRecord(i, l)
		sl.rec.State = lease.StateFree
		sl.own = ownSet
		s.free(i, listRecycled)
		s.claimKey(i, key)
		return *sl.rec
	case lease.StateFree, lease.StateBackup, lease.StateReset:
		s.unschedule(i)
		s.dropRecord(i)
		s.setKey(i, "")
		sl.own = ownerOf(l.State)
		s.free(i, listFresh)
	case lease.StateAbandoned:
		s.unlink(i)
		s.setKey(i, "")
		s.setRecord(i, l)
		if !sl.rec.Expiry.After(now) {
			sl.rec.Expiry = now.Add(s.declineHold)
		}
		s.setState(i, stDeclined)
		s.schedule(i, nanos(sl.rec.Expiry))
		return *sl.rec
	}
	return copyLease(l)
}

// ownerOf returns the ownership a FREE (the primary's) or BACKUP (the
// secondary's) record gives; any other available state is the primary's.
func ownerOf(st lease.State) ownBits {
	if st == lease.StateBackup {
		return ownSecondary | ownSet
	}
	return ownSet
}

// applyActive binds slot i to the partner's client.
func (s *Scope) applyActive(i int32, l lease.Lease, key ClientKey) lease.Lease {
	sl := &s.slots[i]
	s.unlink(i)
	s.setRecord(i, l)
	s.setState(i, stActive)
	s.schedule(i, nanos(l.Expiry))
	sl.own = ownSet
	s.claimKey(i, key)
	return *sl.rec
}

// claimKey gives slot i, whose record is client k's, to k. If k holds an
// offer elsewhere it is cancelled. If it holds another lease, both stay:
// one client with two addresses (one from each partner, bound while they
// were cut off) is legal (draft-12 §7.1.2), and ending one here would
// leave the partner's record of it Active while ours says Expired, a
// difference no later update settles. The client's current lease (the one
// Offer gives back) is the one with the later cltt; the other runs out.
func (s *Scope) claimKey(i int32, k ClientKey) {
	if s.slots[i].key != k {
		s.setKey(i, "")
	}
	if k == "" {
		return
	}
	j, ok := s.clientSlot(k)
	if ok && j != i {
		switch s.slots[j].state {
		case stOffered:
			s.cancelOffer(j, k)
		case stActive:
			mine, theirs := s.slots[j].rec, s.slots[i].rec
			if theirs.State != lease.StateActive || !laterCLTT(theirs.Updated, mine) {
				s.slots[i].key = k // the other lease stays the client's current one
				return
			}
		}
	}
	s.setKey(i, k)
}

// setRecord gives slot i a copy of l (with its own byte slices).
func (s *Scope) setRecord(i int32, l lease.Lease) {
	rec := s.slots[i].rec
	if rec == nil {
		rec = s.newRecord(i)
	}
	*rec = copyLease(l)
	rec.IP = s.addrOf(i)
}

// copyLease returns l with byte slices of its own.
func copyLease(l lease.Lease) lease.Lease {
	l.ClientID = keepOrClone(nil, l.ClientID)
	l.HWAddr = keepOrClone(nil, l.HWAddr)
	l.CircuitID = keepOrClone(nil, l.CircuitID)
	l.RemoteID = keepOrClone(nil, l.RemoteID)
	return l
}
