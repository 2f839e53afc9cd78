package dataplane

import (
	"container/list"
	"sync"
	"sync/atomic"
	"time"
)

// limiter is the Go twin of the XDP program's LRU tables of token buckets
// (the per-client and the per-source flood guards): a GCRA token bucket
// per key in an LRU table of fixed size. Its rate may change while it
// runs (setRate); the table, like the program's, keeps its entries and
// its size.
type limiter[K comparable] struct {
	rate atomic.Pointer[gcra]

	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used; values are *limiterEntry[K]
	keys  map[K]*list.Element
}

type limiterEntry[K comparable] struct {
	key K
	tat uint64 // theoretical arrival time of the next packet, ns
}

// newLimiter returns a limiter of size entries at rate (which may be off).
func newLimiter[K comparable](rate gcra, size uint32) *limiter[K] {
	l := &limiter[K]{
		size:  int(size),
		order: list.New(),
		keys:  make(map[K]*list.Element),
	}
	l.setRate(rate)
	return l
}

// setRate puts rate in force for the packets after it; entries already
// in the table keep their arrival times, as in the program's tables.
func (l *limiter[K]) setRate(rate gcra) { l.rate.Store(&rate) }

// on reports whether the limiter limits anything.
func (l *limiter[K]) on() bool { return l.rate.Load().on }

// allow reports whether key may send a packet at now (ns), and charges it
// for the packet when it may. A new key starts with a full bucket. A
// limiter that is off allows everything and charges nothing.
func (l *limiter[K]) allow(key K, now uint64) bool {
	rate := l.rate.Load()
	if !rate.on {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.keys[key]
	if !ok {
		if l.order.Len() >= l.size {
			oldest := l.order.Back()
			delete(l.keys, oldest.Value.(*limiterEntry[K]).key)
			l.order.Remove(oldest)
		}
		l.keys[key] = l.order.PushFront(&limiterEntry[K]{key: key, tat: now + rate.interval})
		return true
	}
	l.order.MoveToFront(el)
	e := el.Value.(*limiterEntry[K])
	tat := max(e.tat, now)
	if tat-now > rate.tau {
		return false
	}
	e.tat = tat + rate.interval
	return true
}

// budgetCASTries mirrors BUDGET_CAS_TRIES in bpf/xdhcp.c.
const budgetCASTries = 4

// retrySlots and retryWindowSec mirror RETRY_SLOTS and RETRY_WINDOW_S in
// bpf/xdhcp.c.
const (
	retrySlots     = 1 << 20
	retryWindowSec = 64
)

// retryLane is the Go twin of the program's retry lane: its own shared
// bucket (retry_budget_map) and the memory of the clients the discover
// budget refused (retry_map), one entry a slot: the high 32 bits of the
// FNV-1a 64 hash of chaddr, then the second of the refusal counted from 1;
// 0 is empty. The memory (8 MiB) is allocated at its first use.
type retryLane struct {
	bucket *budget
	slots  atomic.Pointer[[retrySlots]atomic.Uint64]
}

func newRetryLane(rate gcra) *retryLane { return &retryLane{bucket: newBudget(rate)} }

// table returns the memory, allocating it on first use.
func (l *retryLane) table() *[retrySlots]atomic.Uint64 {
	if t := l.slots.Load(); t != nil {
		return t
	}
	l.slots.CompareAndSwap(nil, new([retrySlots]atomic.Uint64))
	return l.slots.Load()
}

// allow decides on a DISCOVER the discover budget refused at now (ns),
// from the client whose hardware address is chaddr, as retry_ok does: a
// client refused before, within retryWindowSec, passes if the lane has a
// token, and its entry is spent; any other refusal is remembered.
func (l *retryLane) allow(chaddr []byte, now uint64) bool {
	h := fnv1a64(chaddr)
	e := &l.table()[uint32(h)&(retrySlots-1)]
	tag := uint32(h >> 32)
	sec := uint32(now/uint64(time.Second) + 1)
	if old := e.Load(); old != 0 && uint32(old>>32) == tag && sec-uint32(old) <= retryWindowSec && l.bucket.allow(now) {
		e.Store(0)
		return true
	}
	e.Store(uint64(tag)<<32 | uint64(sec))
	return false
}

// budget is the Go twin of the program's discover budget: one GCRA token
// bucket shared by every caller, updated with compare-and-swap. Its rate
// may change while it runs; the arrival time is kept, as budget_map's.
type budget struct {
	rate atomic.Pointer[gcra]
	tat  atomic.Uint64
}

// newBudget returns a budget at rate (which may be off).
func newBudget(rate gcra) *budget {
	b := &budget{}
	b.setRate(rate)
	return b
}

// setRate puts rate in force for the packets after it.
func (b *budget) setRate(rate gcra) { b.rate.Store(&rate) }

// on says whether the budget is in force.
func (b *budget) on() bool { return b.rate.Load().on }

// allow takes a token at now (ns) if there is one. A budget that is off
// allows everything and charges nothing.
func (b *budget) allow(now uint64) bool {
	rate := b.rate.Load()
	if !rate.on {
		return true
	}
	for range budgetCASTries {
		old := b.tat.Load()
		t := max(old, now)
		if t-now > rate.tau {
			return false
		}
		if b.tat.CompareAndSwap(old, t+rate.interval) {
			return true
		}
	}
	return false // other callers took the tokens meanwhile
}
