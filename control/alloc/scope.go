package alloc

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

// ErrNoAddrAvail is returned by Offer when the scope has no free address
// for the client. Each occurrence is counted in Stats.Exhausted.
var ErrNoAddrAvail = errors.New("no free address in the scope's pools")

// ErrNotAvailable is wrapped by Request errors when the requested address
// cannot go to this client; the caller answers DHCPNAK.
var ErrNotAvailable = errors.New("address not available to this client")

// maxPoolAddresses bounds the pool addresses of one scope (slots are int32
// and each costs about 56 bytes, so a full-size scope needs about 940 MB).
const maxPoolAddresses = 1 << 24

// Scope allocates addresses from one configured scope. It has its own mutex
// and is safe for concurrent use.
type Scope struct {
	mu sync.Mutex

	prefix       netip.Prefix
	offerHold    time.Duration
	declineHold  time.Duration
	cachePercent int64 // RequestCached reuses a durable lease younger than this share of its term

	segments  []segment // merged pools, ascending
	poolSlots int32     // slots [0, poolSlots) are pool addresses
	slots     []slot
	extraAddr []uint32         // address of slot poolSlots+k
	extraSlot map[uint32]int32 // outside-the-pools address -> slot

	lists         [numFreeLists + 1]dlist // free lists per owner and kind, then the awaiting list
	offers        dlist                   // held offers, oldest first
	recycledDirty bool                    // Restore appended to a recycled list out of order

	// Failover (see failover.go); the zero values mean no failover: every
	// address is the primary's and this server is treated as the primary.
	role   Role
	mine   ownBits     // 0 or ownSecondary: this server's share
	policy AllocPolicy // what new clients may be given
	share  int         // the primary's share in permille, once SetShare ran

	timers  []timer             // min-heap of deadlines
	clients map[ClientKey]int32 // client -> its offer, lease or previous address

	reservations []config.Reservation
	resByHW      map[string]int
	resByID      map[string]int
	resByCircuit map[string]int
	resByIP      map[uint32]int

	dynamic   int            // pool addresses neither excluded nor reserved
	counts    [numStates]int // slots per state
	exhausted uint64         // ErrNoAddrAvail returned
	preempted uint64         // stale offers whose address went to another client
	refused   uint64         // ErrNoNewBindings returned
	reused    uint64         // REQUESTs answered with the stored lease, unwritten
	pending   []lease.Lease  // changes made outside Expire, returned by the next Expire
	spare     []*lease.Lease // dropped records kept for reuse
}

// NewScope builds the allocator of one scope. offerHold (> 0) is how long an
// offered address stays reserved for its client; declineHold (>= 0) how long
// a declined address stays out of use; cachePercent (0 to 100, 0 disables)
// how far into its term, in percent, a durable lease is reused as it is by
// RequestCached. All pool addresses start free; call Restore with every
// stored lease before serving.
func NewScope(cfg config.Scope, offerHold, declineHold time.Duration, cachePercent int) (*Scope, error) {
	name := scopeName(cfg)
	if offerHold <= 0 {
		return nil, fmt.Errorf("%s: offer hold %v must be positive (server.offer-hold)", name, offerHold)
	}
	if declineHold < 0 {
		return nil, fmt.Errorf("%s: decline hold %v must not be negative (server.decline-hold)", name, declineHold)
	}
	if cachePercent < 0 || cachePercent > 100 {
		return nil, fmt.Errorf("%s: cache threshold %d%% must be from 0 to 100 (server.cache-threshold-percent)", name, cachePercent)
	}
	if !cfg.Subnet.IsValid() || !cfg.Subnet.Addr().Is4() {
		return nil, fmt.Errorf("%s: subnet must be an IPv4 prefix such as 192.0.2.0/24", name)
	}
	s := &Scope{
		prefix:       cfg.Subnet.Masked(),
		offerHold:    offerHold,
		declineHold:  declineHold,
		cachePercent: int64(cachePercent),
		extraSlot:    make(map[uint32]int32),
		resByHW:      make(map[string]int),
		resByID:      make(map[string]int),
		resByCircuit: make(map[string]int),
		resByIP:      make(map[uint32]int),
	}
	if err := s.buildSegments(name, cfg.Pools); err != nil {
		return nil, err
	}
	if err := s.buildReservations(name, cfg.Reservations); err != nil {
		return nil, err
	}
	s.slots = make([]slot, s.poolSlots)
	for i := range s.slots {
		s.slots[i] = slot{prev: noSlot, next: noSlot, heapPos: noSlot, list: listNone}
	}
	for k, ex := range cfg.Exclude {
		if !ex.Start.Is4() || !ex.End.Is4() || ex.End.Less(ex.Start) {
			return nil, fmt.Errorf("%s: exclude[%d] %v-%v: want an IPv4 range with start <= end", name, k, ex.Start, ex.End)
		}
		s.markRange(addrU32(ex.Start), addrU32(ex.End), flagExcluded)
	}
	for a := range s.resByIP {
		if i, ok := s.poolSlot(a); ok {
			s.slots[i].flags |= flagReserved
		}
	}
	for i := range s.lists {
		s.lists[i] = dlist{head: noSlot, tail: noSlot}
	}
	s.offers = dlist{head: noSlot, tail: noSlot}
	for i := int32(0); i < s.poolSlots; i++ {
		if s.slots[i].flags == 0 {
			s.pushBack(listFresh, i)
		}
	}
	s.dynamic = s.lists[listFresh].n
	s.counts[stFree] = int(s.poolSlots)
	s.clients = make(map[ClientKey]int32, min(s.dynamic, 1<<16))
	s.timers = make([]timer, 0, min(s.dynamic, 1<<16))
	return s, nil
}

func scopeName(cfg config.Scope) string {
	if cfg.Line > 0 {
		return fmt.Sprintf("scope %v (line %d)", cfg.Subnet, cfg.Line)
	}
	return fmt.Sprintf("scope %v", cfg.Subnet)
}

// buildSegments validates the pools and merges them into sorted,
// non-overlapping segments.
func (s *Scope) buildSegments(name string, pools []config.Range) error {
	type span struct{ first, last uint32 }
	spans := make([]span, 0, len(pools))
	for k, p := range pools {
		if !p.Start.Is4() || !p.End.Is4() || p.End.Less(p.Start) {
			return fmt.Errorf("%s: pools[%d] %v-%v: want an IPv4 range with start <= end", name, k, p.Start, p.End)
		}
		if !s.prefix.Contains(p.Start) || !s.prefix.Contains(p.End) {
			return fmt.Errorf("%s: pools[%d] %v-%v: must lie inside the subnet %v", name, k, p.Start, p.End, s.prefix)
		}
		spans = append(spans, span{addrU32(p.Start), addrU32(p.End)})
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].first < spans[b].first })
	var total uint64
	for _, sp := range spans {
		if n := len(s.segments); n > 0 && uint64(sp.first) <= uint64(s.segments[n-1].last)+1 {
			if sp.last > s.segments[n-1].last {
				total += uint64(sp.last - s.segments[n-1].last)
				s.segments[n-1].last = sp.last
			}
			continue
		}
		s.segments = append(s.segments, segment{first: sp.first, last: sp.last, base: int32(min(total, maxPoolAddresses))})
		total += uint64(sp.last-sp.first) + 1
		if total > maxPoolAddresses {
			break
		}
	}
	if total > maxPoolAddresses {
		return fmt.Errorf("%s: pools hold %d or more addresses, at most %d per scope: split the scope or shrink the pools", name, total, maxPoolAddresses)
	}
	s.poolSlots = int32(total)
	return nil
}

// markRange sets flag on every pool address in [first, last].
func (s *Scope) markRange(first, last uint32, flag slotFlags) {
	for _, seg := range s.segments {
		lo, hi := max(first, seg.first), min(last, seg.last)
		for a := uint64(lo); a <= uint64(hi); a++ {
			s.slots[seg.base+int32(uint32(a)-seg.first)].flags |= flag
		}
	}
}

func (s *Scope) buildReservations(name string, rs []config.Reservation) error {
	s.reservations = append([]config.Reservation(nil), rs...)
	index := func(m map[string]int, id []byte, k int, field string) error {
		if len(id) == 0 {
			return nil
		}
		if prev, dup := m[string(id)]; dup {
			return fmt.Errorf("%s: reservations[%d]: %s already used by reservations[%d]; remove one of them", name, k, field, prev)
		}
		m[string(id)] = k
		return nil
	}
	for k, r := range rs {
		if !r.IP.Is4() || !s.prefix.Contains(r.IP) {
			return fmt.Errorf("%s: reservations[%d]: ip %v must be an IPv4 address inside %v", name, k, r.IP, s.prefix)
		}
		if len(r.HWAddress) == 0 && len(r.ClientID) == 0 && len(r.CircuitID) == 0 {
			return fmt.Errorf("%s: reservations[%d]: set one of hw-address, client-id or circuit-id", name, k)
		}
		a := addrU32(r.IP)
		if prev, dup := s.resByIP[a]; dup {
			return fmt.Errorf("%s: reservations[%d]: ip %v already reserved by reservations[%d]", name, k, r.IP, prev)
		}
		s.resByIP[a] = k
		for _, f := range []struct {
			m     map[string]int
			id    []byte
			field string
		}{{s.resByHW, r.HWAddress, "hw-address"}, {s.resByID, r.ClientID, "client-id"}, {s.resByCircuit, r.CircuitID, "circuit-id"}} {
			if err := index(f.m, f.id, k, f.field); err != nil {
				return err
			}
		}
	}
	return nil
}

// Prefix returns the scope's subnet.
func (s *Scope) Prefix() netip.Prefix { return s.prefix }

// Reservation returns the reservation matching c by client identifier,
// hardware address or circuit-id, in that order of precedence.
func (s *Scope) Reservation(c Client) (config.Reservation, bool) {
	k, ok := s.reservationOf(c)
	if !ok {
		return config.Reservation{}, false
	}
	return s.reservations[k], true
}

// reservationOf needs no lock: the reservation maps never change after
// NewScope.
func (s *Scope) reservationOf(c Client) (int, bool) {
	if len(c.ClientID) > 0 && len(s.resByID) > 0 {
		if k, ok := s.resByID[string(c.ClientID)]; ok {
			return k, true
		}
	}
	if len(c.HWAddr) > 0 && len(s.resByHW) > 0 {
		if k, ok := s.resByHW[string(c.HWAddr)]; ok {
			return k, true
		}
	}
	if len(c.CircuitID) > 0 && len(s.resByCircuit) > 0 {
		if k, ok := s.resByCircuit[string(c.CircuitID)]; ok {
			return k, true
		}
	}
	return 0, false
}

// nanos converts t to Unix nanoseconds, saturating outside the range
// int64 can hold (the zero time counts as the far past).
func nanos(t time.Time) int64 {
	if t.Before(time.Unix(0, math.MinInt64)) {
		return math.MinInt64
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// setState moves slot i to st, keeping the per-state counts. Its record
// is about to change, so it is no longer known to be durable.
func (s *Scope) setState(i int32, st slotState) {
	sl := &s.slots[i]
	s.counts[sl.state]--
	s.counts[st]++
	sl.state = st
	sl.durable = false
}

// setKey associates slot i with client k ("" for none), dropping the old
// client's map entry if it pointed here. The slot and the client index
// keep k: it must not alias a caller's buffer (see ownKey).
func (s *Scope) setKey(i int32, k ClientKey) {
	sl := &s.slots[i]
	if sl.key == k && k != "" {
		if j, ok := s.clients[k]; ok && j == i {
			return // already indexed: a lookup is cheaper than a store
		}
	}
	if sl.key != k && sl.key != "" {
		if j, ok := s.clients[sl.key]; ok && j == i {
			delete(s.clients, sl.key)
		}
	}
	sl.key = k
	if k != "" {
		s.clients[k] = i
	}
}

// ownKey returns client k's key as slot i may keep it. given is the key
// the caller set in Client.Key, a string the scope may keep; when it is
// empty, k was computed into a buffer that is reused (Client.key) and is
// replaced by the slot's own string when that already holds k, else by a
// copy.
func (s *Scope) ownKey(i int32, k, given ClientKey) ClientKey {
	if given != "" {
		return given
	}
	if have := s.slots[i].key; have == k {
		return have
	}
	return ClientKey(strings.Clone(string(k)))
}

// clientSlot returns the slot associated with client k.
func (s *Scope) clientSlot(k ClientKey) (int32, bool) {
	i, ok := s.clients[k]
	if !ok || s.slots[i].key != k {
		return noSlot, false
	}
	return i, true
}

// free makes slot i free and, if it may be handed out, links it on its
// owner's list of kind (at the back for recycled, at the front for fresh).
func (s *Scope) free(i int32, kind listID) {
	s.unlink(i)
	s.unschedule(i)
	s.setState(i, stFree)
	sl := &s.slots[i]
	if sl.flags != 0 {
		return
	}
	l := freeList(sl.own, kind)
	if kind == listRecycled {
		s.pushBack(l, i)
	} else {
		s.pushFront(l, i)
	}
}

// freeRecord frees slot i, which keeps its record and client. An Expired or
// Released record on a failover scope waits for the partner's
// acknowledgement (only its last client may take it meanwhile); any other
// goes to its owner's recycled list.
func (s *Scope) freeRecord(i int32) {
	if s.role == RoleNone || s.slots[i].flags != 0 || !awaitsAck(s.slots[i].rec) {
		s.free(i, listRecycled)
		return
	}
	s.unlink(i)
	s.unschedule(i)
	s.setState(i, stFree)
	s.pushBack(listAwaiting, i)
}

func awaitsAck(rec *lease.Lease) bool {
	return rec != nil && (rec.State == lease.StateExpired || rec.State == lease.StateReleased)
}

// unbound frees slot i after a binding or decline ended here. The address
// is available again and, as draft-12 §5.4 says, the primary's.
func (s *Scope) unbound(i int32) {
	s.slots[i].own = ownSet
	if s.slots[i].rec != nil {
		s.freeRecord(i)
	} else {
		s.free(i, listRecycled)
	}
}

// cancelOffer frees slot i if it is an offer held for k.
func (s *Scope) cancelOffer(i int32, k ClientKey) {
	sl := &s.slots[i]
	if sl.state != stOffered || sl.key != k {
		return
	}
	if sl.rec != nil {
		s.freeRecord(i)
	} else {
		s.free(i, listFresh)
	}
}

// usableBy says whether client k may be given slot i (ignoring flags).
func (s *Scope) usableBy(i int32, k ClientKey) bool {
	sl := &s.slots[i]
	switch sl.state {
	case stFree:
		return true
	case stOffered, stActive:
		return sl.key == k
	}
	return false
}

// Offer chooses an address for c and holds it for the offer hold. See the
// package documentation for the order of preference.
func (s *Scope) Offer(c Client, requested netip.Addr, now time.Time) (netip.Addr, error) {
	var kb keyBuf
	k, err := c.key(&kb)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("offer: %w", err)
	}
	res, hasRes := s.reservationOf(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := nanos(now)
	s.expireLocked(now, t)
	if hasRes {
		i := s.slotOrAdd(addrU32(s.reservations[res].IP))
		if s.usableBy(i, k) {
			if s.slots[i].state != stActive {
				s.hold(i, k, c.Key, t)
			}
			return s.reservations[res].IP, nil
		}
		// Held by another client (a lease from before the reservation, or
		// declined): serve c dynamically until it is free.
	}
	if i, ok := s.clientSlot(k); ok {
		sl := &s.slots[i]
		switch {
		case sl.flags != 0:
			// Its address is no longer allowed (excluded, reserved or
			// outside the pools): give it another.
		case sl.state == stActive:
			return s.addrOf(i), nil
		case sl.state == stOffered && s.mayAllocate(sl.own), s.takable(i, k):
			s.hold(i, k, c.Key, t)
			return s.addrOf(i), nil
		}
	}
	if s.policy == AllocNone {
		s.refused++
		return netip.Addr{}, ErrNoNewBindings
	}
	if requested.Is4() {
		if i, ok := s.poolSlot(addrU32(requested)); ok && s.takable(i, k) {
			s.hold(i, k, c.Key, t)
			return requested, nil
		}
	}
	i := s.nextFree()
	if i == noSlot {
		i = s.preemptStaleOffer(t)
	}
	if i == noSlot {
		s.exhausted++
		return netip.Addr{}, ErrNoAddrAvail
	}
	s.hold(i, k, c.Key, t)
	return s.addrOf(i), nil
}

// offerPreemptAfter is how old an offer must be before a client that finds
// no free address may take its address. A client answers an OFFER within
// milliseconds, so an offer a quarter of a second old belongs to a client
// that went elsewhere, or to a DISCOVER flood from random MACs that would
// otherwise hold the whole pool for the offer hold. The shorter this is,
// the faster a flood may be before new clients find the pool all offered:
// a pool of n addresses turns over n / offerPreemptAfter offers a second.
// With a second, a flood of 120,000 new MACs a second against a /16 cost
// 46% of new legitimate clients their DORA; with a quarter second none
// (docs/BENCHMARKS.md, "Offers taken back sooner").
const offerPreemptAfter = 250 * time.Millisecond

// preemptStaleOffer frees the oldest offer if it was made at least
// offerPreemptAfter ago (the offer queue is in order of age) and returns
// its slot, or noSlot. A client whose offer was taken gets a NAK if it
// still asks for the address, and starts again.
func (s *Scope) preemptStaleOffer(t int64) int32 {
	i := s.offers.head
	if i == noSlot {
		return noSlot
	}
	sl := &s.slots[i]
	madeAt := sl.heldUntil - int64(s.offerHold)
	if t-madeAt < int64(min(offerPreemptAfter, s.offerHold)) || !s.mayAllocate(sl.own) {
		return noSlot
	}
	s.cancelOffer(i, sl.key)
	s.preempted++
	return i
}

// nextFree returns the address a new client gets: this server's fresh, then
// recycled addresses, then, when the policy allows all, the partner's.
func (s *Scope) nextFree() int32 {
	mine := freeList(s.mine, listFresh)
	if i := s.lists[mine].head; i != noSlot {
		return i
	}
	if i := s.lists[mine+listRecycled].head; i != noSlot {
		return i
	}
	if s.policy != AllocAll {
		return noSlot
	}
	other := freeList(s.mine^ownSecondary, listFresh)
	if i := s.lists[other].head; i != noSlot {
		return i
	}
	return s.lists[other+listRecycled].head
}

// hold makes slot i an offer to k until now+offerHold (given: see
// ownKey). Any other offer held for k is released: a client holds at most
// one offer.
func (s *Scope) hold(i int32, k, given ClientKey, now int64) {
	if j, ok := s.clientSlot(k); ok && j != i {
		s.cancelOffer(j, k)
	}
	sl := &s.slots[i]
	if sl.list == listAwaiting {
		sl.own = s.mine // its own client's again: ours while the offer lasts
	}
	s.unlink(i)
	if sl.key != k {
		s.dropRecord(i) // the previous client's expired lease: it loses its affinity
	}
	s.setKey(i, s.ownKey(i, k, given))
	s.setState(i, stOffered)
	sl.heldUntil = addNanos(now, s.offerHold)
	s.queueOffer(i)
}

func addNanos(t int64, d time.Duration) int64 {
	if t > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return t + int64(d)
}

// Request binds ip to c for leaseTime: for DHCPREQUEST in every client state
// and for BOOTP. It succeeds when ip is c's reservation, c's offer, c's
// lease, or a free pool address that is neither excluded nor reserved for
// another client; then it returns the Active lease to persist. Otherwise the
// error wraps ErrNotAvailable (answer DHCPNAK). A client that has a usable
// reservation is refused any other address, so that it comes back for its
// reservation.
//
// If c held a lease on another address, that lease is ended: the next
// Expire returns it as Expired.
func (s *Scope) Request(c Client, ip netip.Addr, leaseTime time.Duration, now time.Time) (lease.Lease, error) {
	l, _, err := s.request(c, ip, leaseTime, now, false)
	return l, err
}

// RequestCached is Request, except that it may answer with c's lease on ip
// as it stands, changing nothing: reused is true, and there is nothing to
// persist. It does when the scope's cache threshold allows (ISC dhcpd's
// dhcp-cache-threshold, Kea's cache-threshold): the lease is Active and
// known durable (MarkDurable), less than the threshold's share of the term
// it was last granted for has passed, that term was at least leaseTime
// (else the client gets the longer lease it is now due) and no more of it
// remains than leaseTime, and the client's identity, hostname and relay
// agent information are those stored. The client is then told the lease's
// remaining time, which is already on disk, so a crash loses nothing it
// was promised.
func (s *Scope) RequestCached(c Client, ip netip.Addr, leaseTime time.Duration, now time.Time) (l lease.Lease, reused bool, err error) {
	return s.request(c, ip, leaseTime, now, s.cachePercent > 0)
}

func (s *Scope) request(c Client, ip netip.Addr, leaseTime time.Duration, now time.Time, mayReuse bool) (lease.Lease, bool, error) {
	var kb keyBuf
	k, err := c.key(&kb)
	if err != nil {
		return lease.Lease{}, false, fmt.Errorf("request %v: %w", ip, err)
	}
	if leaseTime <= 0 {
		return lease.Lease{}, false, fmt.Errorf("request %v: lease time %v must be positive", ip, leaseTime)
	}
	if !ip.Is4() {
		return lease.Lease{}, false, fmt.Errorf("request %v: not an IPv4 address: %w", ip, ErrNotAvailable)
	}
	res, hasRes := s.reservationOf(c)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := nanos(now)
	s.expireLocked(now, t)
	a := addrU32(ip)
	var i int32
	if hasRes && s.reservations[res].IP == ip {
		i = s.slotOrAdd(a)
		if !s.usableBy(i, k) {
			return lease.Lease{}, false, fmt.Errorf("reserved address %v is held by another client or declined: %w", ip, ErrNotAvailable)
		}
	} else {
		if hasRes {
			if j, ok := s.slotOf(addrU32(s.reservations[res].IP)); !ok || s.usableBy(j, k) {
				return lease.Lease{}, false, fmt.Errorf("client has reservation %v, not %v: %w", s.reservations[res].IP, ip, ErrNotAvailable)
			}
		}
		var ok bool
		if i, ok = s.poolSlot(a); !ok {
			return lease.Lease{}, false, fmt.Errorf("%v is outside the scope's pools: %w", ip, ErrNotAvailable)
		}
		sl := &s.slots[i]
		switch {
		case sl.flags&flagReserved != 0:
			return lease.Lease{}, false, fmt.Errorf("%v is reserved for another client: %w", ip, ErrNotAvailable)
		case sl.flags&flagExcluded != 0:
			return lease.Lease{}, false, fmt.Errorf("%v is excluded from the pools: %w", ip, ErrNotAvailable)
		case sl.state == stDeclined:
			return lease.Lease{}, false, fmt.Errorf("%v was declined and is held until %v: %w", ip, sl.rec.Expiry, ErrNotAvailable)
		case !s.usableBy(i, k):
			return lease.Lease{}, false, fmt.Errorf("%v is held by another client: %w", ip, ErrNotAvailable)
		case sl.state == stFree && !s.takable(i, k), sl.state == stOffered && !s.mayAllocate(sl.own):
			return lease.Lease{}, false, fmt.Errorf("%v: %s: %w", ip, s.whyNotOurs(i), ErrNotAvailable)
		}
	}
	hostname := c.Hostname
	if hasRes && s.reservations[res].Hostname != "" {
		hostname = s.reservations[res].Hostname
	}
	if mayReuse && s.reusable(i, c, k, hostname, leaseTime, t) {
		s.reused++
		return *s.slots[i].rec, true, nil
	}
	return s.bind(i, c, k, hostname, leaseTime, now, t), false, nil
}

// reusable reports whether slot i's lease may answer client c (key k,
// hostname) as it stands at t, instead of a new one for leaseTime: see
// RequestCached.
func (s *Scope) reusable(i int32, c Client, k ClientKey, hostname string, leaseTime time.Duration, t int64) bool {
	sl := &s.slots[i]
	rec := sl.rec
	if sl.state != stActive || !sl.durable || sl.key != k || rec == nil || rec.State != lease.StateActive {
		return false
	}
	granted, age, left := nanos(rec.Expiry)-nanos(rec.Updated), t-nanos(rec.Updated), nanos(rec.Expiry)-t
	switch {
	case age < 0, left <= 0, left > int64(leaseTime):
		return false
	case granted < int64(leaseTime):
		// Granted a shorter term than it would get now (the failover
		// MCLT's first grant, a lease time raised since): it is extended.
		return false
	case age >= granted/100*s.cachePercent:
		return false
	}
	return rec.HWType == c.HWType && string(rec.HWAddr) == string(c.HWAddr) &&
		string(rec.ClientID) == string(c.ClientID) && rec.Hostname == hostname &&
		string(rec.CircuitID) == string(c.CircuitID) && string(rec.RemoteID) == string(c.RemoteID)
}

// MarkDurable records that leases, as Request returned them, are on disk,
// so that RequestCached may answer with them. A lease whose address has
// changed since (a later Request, a release, an expiry, the partner's
// update) is passed over: only the record as it was persisted counts.
func (s *Scope) MarkDurable(leases ...lease.Lease) {
	if s.cachePercent == 0 {
		return // nothing would read the marks
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range leases {
		l := &leases[k]
		if l.State != lease.StateActive || !l.IP.Is4() {
			continue
		}
		i, ok := s.slotOf(addrU32(l.IP))
		if !ok {
			continue
		}
		sl := &s.slots[i]
		if sl.state == stActive && sl.rec != nil && sl.rec.Updated.Equal(l.Updated) && sl.rec.Expiry.Equal(l.Expiry) {
			sl.durable = true
		}
	}
}

// bind makes slot i the Active lease of c, whose key is k, and returns a
// copy of it.
func (s *Scope) bind(i int32, c Client, k ClientKey, hostname string, leaseTime time.Duration, now time.Time, t int64) lease.Lease {
	j, ok := s.clientSlot(k)
	// A renewal, or the REQUEST after an OFFER: slot i is already k's in
	// the index, and setKey would only look that up again.
	indexed := ok && j == i
	if ok && j != i {
		switch s.slots[j].state {
		case stOffered:
			s.cancelOffer(j, k)
		case stActive:
			// One lease per client: the old one ends now, by this
			// transaction of its client. Its cltt says so, which lets a
			// failover partner still holding it Active accept its end.
			s.slots[j].rec.Expiry = now
			s.slots[j].rec.Updated = now
			s.slots[j].durable = false
			s.schedule(j, t)
		}
	}
	sl := &s.slots[i]
	s.unlink(i)
	rec := sl.rec
	if rec == nil || sl.key != k {
		rec = s.newRecord(i)
	}
	if rec.State != lease.StateActive || rec.Start.IsZero() {
		rec.Start = now
	}
	rec.State = lease.StateActive
	rec.ClientID = keepOrClone(rec.ClientID, c.ClientID)
	rec.HWType = c.HWType
	rec.HWAddr = keepOrClone(rec.HWAddr, c.HWAddr)
	rec.CircuitID = keepOrClone(rec.CircuitID, c.CircuitID)
	rec.RemoteID = keepOrClone(rec.RemoteID, c.RemoteID)
	rec.Hostname = hostname
	rec.Expiry = now.Add(leaseTime)
	rec.Updated = now
	if !indexed {
		s.setKey(i, s.ownKey(i, k, c.Key))
	}
	s.setState(i, stActive)
	s.schedule(i, addNanos(t, leaseTime))
	return *rec
}

// maxSpareRecords bounds the lease records kept for reuse.
const maxSpareRecords = 256

// newRecord gives slot i an empty lease record for its address, reusing a
// spare one when there is one. Records are only ever copied out by value,
// so reusing the struct is safe; its byte slices are never written.
func (s *Scope) newRecord(i int32) *lease.Lease {
	var rec *lease.Lease
	if n := len(s.spare); n > 0 {
		rec, s.spare = s.spare[n-1], s.spare[:n-1]
		*rec = lease.Lease{}
	} else {
		rec = new(lease.Lease)
	}
	rec.IP = s.addrOf(i)
	s.slots[i].rec = rec
	return rec
}

// dropRecord removes slot i's lease record, keeping it for reuse.
func (s *Scope) dropRecord(i int32) {
	if rec := s.slots[i].rec; rec != nil && len(s.spare) < maxSpareRecords {
		s.spare = append(s.spare, rec)
	}
	s.slots[i].rec = nil
}

// keepOrClone returns old when it already holds the bytes of b, else a copy
// of b. Stored slices are never modified in place, so leases handed out
// earlier keep their contents.
func keepOrClone(old, b []byte) []byte {
	if string(old) == string(b) {
		return old
	}
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

// Release ends c's lease on ip (DHCPRELEASE). The address becomes free and
// remembers c, so c gets it back while nobody else took it.
func (s *Scope) Release(c Client, ip netip.Addr, now time.Time) (lease.Lease, bool) {
	var kb keyBuf
	k, err := c.key(&kb)
	if err != nil {
		return lease.Lease{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.heldSlot(k, ip, false)
	if !ok {
		return lease.Lease{}, false
	}
	if s.recycledDirty {
		s.sortRecycled()
	}
	rec := s.slots[i].rec
	rec.State = lease.StateReleased
	rec.Expiry = now
	rec.Updated = now
	s.unbound(i)
	return *rec, true
}

// heldSlot returns the slot of ip if it is leased to k, or also offered to
// k when offers is set. Call with s.mu held.
func (s *Scope) heldSlot(k ClientKey, ip netip.Addr, offers bool) (int32, bool) {
	if !ip.Is4() {
		return noSlot, false
	}
	i, ok := s.slotOf(addrU32(ip))
	if !ok || s.slots[i].key != k {
		return noSlot, false
	}
	st := s.slots[i].state
	return i, st == stActive || offers && st == stOffered
}

// Decline marks ip, offered or leased to c, as abandoned for the decline
// hold (DHCPDECLINE: the client found it in use). The returned lease keeps
// the declining client's identity for the operator.
func (s *Scope) Decline(c Client, ip netip.Addr, now time.Time) (lease.Lease, bool) {
	var kb keyBuf
	k, err := c.key(&kb)
	if err != nil {
		return lease.Lease{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.heldSlot(k, ip, true)
	if !ok {
		return lease.Lease{}, false
	}
	s.unlink(i) // from the offer queue
	*s.newRecord(i) = lease.Lease{
		IP:        ip,
		State:     lease.StateAbandoned,
		ClientID:  keepOrClone(nil, c.ClientID),
		HWType:    c.HWType,
		HWAddr:    keepOrClone(nil, c.HWAddr),
		Start:     now,
		Expiry:    now.Add(s.declineHold),
		Updated:   now,
		CircuitID: keepOrClone(nil, c.CircuitID),
		RemoteID:  keepOrClone(nil, c.RemoteID),
	}
	s.setKey(i, "")
	s.setState(i, stDeclined)
	s.schedule(i, addNanos(nanos(now), s.declineHold))
	return *s.slots[i].rec, true
}

// Expire processes every deadline up to now: Active leases past their
// expiry become Expired (free, remembering their client), declined
// addresses past their hold become free again (returned with State Free:
// the caller may delete the record), and lapsed offers are dropped. It
// returns the changed leases, including changes Offer and Request made on
// the way, for the caller to persist. It costs O(1) when nothing is due.
func (s *Scope) Expire(now time.Time) []lease.Lease {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now, nanos(now))
	out := s.pending[:0]
	for _, l := range s.pending {
		// A change made since (the client came back, the partner's update
		// was applied) supersedes the queued record and was returned to the
		// caller by the call that made it: leave the queued one out, so the
		// caller never stores it over the newer one.
		if _, rec := s.record(l.IP); rec == nil || rec.State == l.State && rec.Updated.Equal(l.Updated) && rec.Expiry.Equal(l.Expiry) {
			out = append(out, l)
		}
	}
	s.pending = nil
	return out
}

func (s *Scope) expireLocked(now time.Time, t int64) {
	if s.recycledDirty {
		s.sortRecycled() // before anything else joins the recycled list
	}
	for i := s.offers.head; i != noSlot && s.slots[i].heldUntil <= t; i = s.offers.head {
		s.cancelOffer(i, s.slots[i].key)
	}
	for len(s.timers) > 0 && s.timers[0].at <= t {
		i := s.timers[0].idx
		sl := &s.slots[i]
		switch sl.state {
		case stActive:
			sl.rec.State = lease.StateExpired
			s.pending = append(s.pending, *sl.rec)
			s.unbound(i)
		case stDeclined:
			s.pending = append(s.pending, lease.Lease{IP: sl.rec.IP, State: lease.StateFree, Updated: now})
			s.dropRecord(i)
			s.unbound(i)
		default:
			s.unschedule(i)
		}
	}
}

// Delete removes the lease on ip (operator action); the address becomes
// free and forgets its client. It returns the removed lease.
func (s *Scope) Delete(ip netip.Addr) (lease.Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, rec := s.record(ip)
	if rec == nil {
		return lease.Lease{}, false
	}
	out := *rec
	s.dropRecord(i)
	s.setKey(i, "")
	s.slots[i].own = ownSet // available again: the primary's (draft-12 §5.4)
	s.free(i, listFresh)
	return out, true
}

// Lookup returns the lease record of ip: Active, Expired, Released or
// Abandoned, or on a failover scope Free or Backup when the address
// remembers its last client. Offers are not leases.
func (s *Scope) Lookup(ip netip.Addr) (lease.Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, rec := s.record(ip); rec != nil {
		return *rec, true
	}
	return lease.Lease{}, false
}

// record returns the slot of ip and its lease record (nil when none).
// Call with s.mu held.
func (s *Scope) record(ip netip.Addr) (int32, *lease.Lease) {
	if !ip.Is4() {
		return noSlot, nil
	}
	if i, ok := s.slotOf(addrU32(ip)); ok {
		return i, s.slots[i].rec
	}
	return noSlot, nil
}

// LookupClient returns the most recent lease record of the client.
func (s *Scope) LookupClient(key ClientKey) (lease.Lease, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.clientSlot(key)
	if !ok || s.slots[i].rec == nil {
		return lease.Lease{}, false
	}
	return *s.slots[i].rec, true
}

// leasesBatch is how many leases Leases copies per hold of the lock.
const leasesBatch = 256

// Leases calls fn with every lease record, in slot order, until fn returns
// false. fn runs without the scope's lock, so it may call s; records
// changed meanwhile may be seen in either state.
func (s *Scope) Leases(fn func(lease.Lease) bool) {
	buf := make([]lease.Lease, 0, leasesBatch)
	for next := 0; ; {
		buf = buf[:0]
		s.mu.Lock()
		for ; next < len(s.slots) && len(buf) < leasesBatch; next++ {
			if r := s.slots[next].rec; r != nil {
				buf = append(buf, *r)
			}
		}
		done := next >= len(s.slots)
		s.mu.Unlock()
		for _, l := range buf {
			if !fn(l) {
				return
			}
		}
		if done {
			return
		}
	}
}

// Stats is a snapshot of a scope's address counts.
type Stats struct {
	Total       int    // pool addresses neither excluded nor reserved (dynamic capacity)
	Free        int    // of Total, free now: FreeMine + FreePartner + Awaiting
	FreeMine    int    // of Free, this server's share (all of Free without failover)
	FreePartner int    // of Free, the failover partner's share
	Awaiting    int    // of Free, freed here and waiting for the partner's acknowledgement
	Offered     int    // addresses held for an offer (dynamic or reserved)
	Active      int    // active leases (dynamic, reserved or outside the pools)
	Declined    int    // addresses held as declined
	Reserved    int    // configured reservations
	Exhausted   uint64 // offers refused with ErrNoAddrAvail
	Preempted   uint64 // stale offers (offerPreemptAfter or more old) whose address went to a client that found no free one
	Refused     uint64 // offers refused with ErrNoNewBindings
	Reused      uint64 // REQUESTs answered by RequestCached with the stored lease, unwritten
}

// Stats returns the current counts.
func (s *Scope) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	mine, other := freeList(s.mine, listFresh), freeList(s.mine^ownSecondary, listFresh)
	st := Stats{
		Total:       s.dynamic,
		FreeMine:    s.lists[mine].n + s.lists[mine+listRecycled].n,
		FreePartner: s.lists[other].n + s.lists[other+listRecycled].n,
		Awaiting:    s.lists[listAwaiting].n,
		Offered:     s.counts[stOffered],
		Active:      s.counts[stActive],
		Declined:    s.counts[stDeclined],
		Reserved:    len(s.reservations),
		Exhausted:   s.exhausted,
		Preempted:   s.preempted,
		Refused:     s.refused,
		Reused:      s.reused,
	}
	st.Free = st.FreeMine + st.FreePartner + st.Awaiting
	return st
}
