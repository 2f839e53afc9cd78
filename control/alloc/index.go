package alloc

import (
	"encoding/binary"
	"net/netip"
	"sort"

	"github.com/xdhcp/xdhcp/control/lease"
)

// noSlot marks the end of a list, or "not in the heap".
const noSlot int32 = -1

// slotState is the allocator's view of one address.
type slotState uint8

const (
	stFree     slotState = iota // no binding; rec, if any, is the last client's Expired/Released lease
	stOffered                   // held for key until its deadline
	stActive                    // bound to key until its deadline
	stDeclined                  // abandoned until its deadline
	numStates
)

// slotFlags say why an address must not be handed out dynamically. A pool
// address is on a free list exactly when it is stFree and has no flags.
type slotFlags uint8

const (
	flagReserved slotFlags = 1 << iota // inside a pool but reserved for one client
	flagExcluded                       // inside an exclude range
	flagOutside                        // not inside any pool
)

// listID names a list threaded through the slots: a free list, the queue
// of held offers, or the addresses waiting for the failover partner's
// acknowledgement. Free lists are kept per owner: listID = owner*numListKinds
// + kind, where owner is the absolute owner (0 the primary's FREE, 1 the
// secondary's BACKUP). Without failover every address is owner 0's.
type listID uint8

const (
	listFresh    listID = iota // no client remembered for the address
	listRecycled               // last client remembered; oldest first
	numListKinds
	numOwners           = 2
	numFreeLists        = numOwners * numListKinds
	listAwaiting        = numFreeLists // expired or released here, until the partner acknowledges (failover only)
	listOffered  listID = 0xfe         // offers, in the order their holds end
	listNone     listID = 0xff
)

// ownBits records which server owns a free pool address. The owner is
// absolute (the primary or the secondary), so a record's FREE or BACKUP state
// maps to it without knowing this server's role.
type ownBits uint8

const (
	ownSecondary ownBits = 1 << iota // the secondary's (BACKUP); clear: the primary's (FREE)
	ownSet                           // set by a record, a transfer or a binding, not by the split
)

// freeList returns the free list of kind for the owner in o.
func freeList(o ownBits, kind listID) listID {
	return listID(o&ownSecondary)*numListKinds + kind
}

// slot is the per-address state. rec, when set, belongs to key, except for
// declined addresses whose key is empty. Offers are timed by heldUntil on
// the offer queue (all holds are equally long, so the queue is in deadline
// order); leases and declines by the heap.
type slot struct {
	rec       *lease.Lease
	key       ClientKey
	heldUntil int64 // Unix nanoseconds; offers only
	prev      int32
	next      int32
	heapPos   int32
	state     slotState
	flags     slotFlags
	list      listID
	own       ownBits
	durable   bool // rec, Active, is on disk as it stands (MarkDurable); setState clears it
}

// dlist is the head and tail of an intrusive list threaded through slots.
type dlist struct {
	head, tail int32
	n          int
}

// segment maps a run of pool addresses to consecutive slots.
type segment struct {
	first, last uint32 // inclusive addresses
	base        int32  // slot of first
}

// timer is one heap entry: slot idx is due at (Unix nanoseconds).
type timer struct {
	at  int64
	idx int32
}

func addrU32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func u32Addr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// poolSlot returns the slot of a pool address.
func (s *Scope) poolSlot(a uint32) (int32, bool) {
	segs := s.segments
	k := sort.Search(len(segs), func(j int) bool { return segs[j].last >= a })
	if k < len(segs) && segs[k].first <= a {
		return segs[k].base + int32(a-segs[k].first), true
	}
	return noSlot, false
}

// slotOf returns the slot of any address the scope has a slot for.
func (s *Scope) slotOf(a uint32) (int32, bool) {
	if i, ok := s.poolSlot(a); ok {
		return i, true
	}
	i, ok := s.extraSlot[a]
	return i, ok
}

// slotOrAdd returns the slot of a, adding an outside-the-pools slot if needed.
func (s *Scope) slotOrAdd(a uint32) int32 {
	if i, ok := s.slotOf(a); ok {
		return i
	}
	i := int32(len(s.slots))
	s.slots = append(s.slots, slot{prev: noSlot, next: noSlot, heapPos: noSlot, list: listNone, flags: flagOutside})
	s.extraAddr = append(s.extraAddr, a)
	s.extraSlot[a] = i
	s.counts[stFree]++
	if _, ok := s.resByIP[a]; ok {
		s.slots[i].flags |= flagReserved
	}
	return i
}

// addrOf returns the address of slot i.
func (s *Scope) addrOf(i int32) netip.Addr {
	if i >= s.poolSlots {
		return u32Addr(s.extraAddr[i-s.poolSlots])
	}
	segs := s.segments
	k := sort.Search(len(segs), func(j int) bool { return segs[j].base > i }) - 1
	return u32Addr(segs[k].first + uint32(i-segs[k].base))
}

// list returns the list named l.
func (s *Scope) list(l listID) *dlist {
	if l == listOffered {
		return &s.offers
	}
	return &s.lists[l]
}

// takable says whether slot i is free and may be handed to client k under
// the allocation policy: an address on a free list when the policy lets this
// server use its owner's share, or an address awaiting the partner's
// acknowledgement when k is its last client (draft-12 §5.2.2).
func (s *Scope) takable(i int32, k ClientKey) bool {
	sl := &s.slots[i]
	switch {
	case sl.state != stFree || sl.list == listNone:
		return false
	case sl.list == listAwaiting:
		return sl.key == k && s.policy != AllocNone
	}
	return s.mayAllocate(sl.own)
}

// mayAllocate says whether the policy lets this server give a new client an
// address owned as o.
func (s *Scope) mayAllocate(o ownBits) bool {
	switch s.policy {
	case AllocOwn:
		return o&ownSecondary == s.mine
	case AllocAll:
		return true
	}
	return false
}

// pushBack appends slot i to list l.
func (s *Scope) pushBack(l listID, i int32) {
	sl, lst := &s.slots[i], s.list(l)
	sl.list, sl.next, sl.prev = l, noSlot, lst.tail
	if lst.tail == noSlot {
		lst.head = i
	} else {
		s.slots[lst.tail].next = i
	}
	lst.tail = i
	lst.n++
}

// pushFront prepends slot i to list l.
func (s *Scope) pushFront(l listID, i int32) {
	sl, lst := &s.slots[i], s.list(l)
	sl.list, sl.prev, sl.next = l, noSlot, lst.head
	if lst.head == noSlot {
		lst.tail = i
	} else {
		s.slots[lst.head].prev = i
	}
	lst.head = i
	lst.n++
}

// queueOffer puts offered slot i on the offer queue, which stays in
// heldUntil order: callers' clocks may disagree a little, so it walks back
// from the tail past later holds (normally none).
func (s *Scope) queueOffer(i int32) {
	until := s.slots[i].heldUntil
	p := s.offers.tail
	for p != noSlot && s.slots[p].heldUntil > until {
		p = s.slots[p].prev
	}
	if p == noSlot {
		s.pushFront(listOffered, i)
		return
	}
	sl := &s.slots[i]
	sl.list, sl.prev, sl.next = listOffered, p, s.slots[p].next
	if sl.next == noSlot {
		s.offers.tail = i
	} else {
		s.slots[sl.next].prev = i
	}
	s.slots[p].next = i
	s.offers.n++
}

// unlink removes slot i from whatever list it is on.
func (s *Scope) unlink(i int32) {
	sl := &s.slots[i]
	if sl.list == listNone {
		return
	}
	lst := s.list(sl.list)
	if sl.prev == noSlot {
		lst.head = sl.next
	} else {
		s.slots[sl.prev].next = sl.next
	}
	if sl.next == noSlot {
		lst.tail = sl.prev
	} else {
		s.slots[sl.next].prev = sl.prev
	}
	lst.n--
	sl.list, sl.prev, sl.next = listNone, noSlot, noSlot
}

// sortRecycled reorders the recycled list by the time each address became
// free (the lease's Expiry), oldest first. Restore appends in store order,
// so this runs once after restoring, before the next allocation.
func (s *Scope) sortRecycled() {
	s.recycledDirty = false
	for o := range ownBits(numOwners) {
		s.sortList(freeList(o, listRecycled))
	}
}

func (s *Scope) sortList(id listID) {
	l := s.list(id)
	order := make([]int32, 0, l.n)
	for i := l.head; i != noSlot; i = s.slots[i].next {
		order = append(order, i)
	}
	freedAt := func(i int32) int64 {
		if r := s.slots[i].rec; r != nil {
			return nanos(r.Expiry)
		}
		return 0
	}
	sort.SliceStable(order, func(a, b int) bool { return freedAt(order[a]) < freedAt(order[b]) })
	for _, i := range order {
		s.unlink(i)
	}
	for _, i := range order {
		s.pushBack(id, i)
	}
}

// schedule sets (or moves) slot i's deadline.
func (s *Scope) schedule(i int32, at int64) {
	if p := s.slots[i].heapPos; p != noSlot {
		old := s.timers[p].at
		s.timers[p].at = at
		if at < old {
			s.heapUp(int(p))
		} else {
			s.heapDown(int(p))
		}
		return
	}
	s.timers = append(s.timers, timer{at: at, idx: i})
	p := len(s.timers) - 1
	s.slots[i].heapPos = int32(p)
	s.heapUp(p)
}

// unschedule removes slot i's deadline, if it has one.
func (s *Scope) unschedule(i int32) {
	p := int(s.slots[i].heapPos)
	if p == int(noSlot) {
		return
	}
	last := len(s.timers) - 1
	if p != last {
		s.heapSwap(p, last)
	}
	s.timers = s.timers[:last]
	s.slots[i].heapPos = noSlot
	if p != last {
		s.heapDown(p)
		s.heapUp(p)
	}
}

func (s *Scope) heapSwap(a, b int) {
	s.timers[a], s.timers[b] = s.timers[b], s.timers[a]
	s.slots[s.timers[a].idx].heapPos = int32(a)
	s.slots[s.timers[b].idx].heapPos = int32(b)
}

func (s *Scope) heapUp(p int) {
	for p > 0 {
		parent := (p - 1) / 2
		if s.timers[parent].at <= s.timers[p].at {
			return
		}
		s.heapSwap(p, parent)
		p = parent
	}
}

func (s *Scope) heapDown(p int) {
	n := len(s.timers)
	for {
		least := p
		if l := 2*p + 1; l < n && s.timers[l].at < s.timers[least].at {
			least = l
		}
		if r := 2*p + 2; r < n && s.timers[r].at < s.timers[least].at {
			least = r
		}
		if least == p {
			return
		}
		s.heapSwap(p, least)
		p = least
	}
}
