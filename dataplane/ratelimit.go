package dataplane

import (
	"container/list"
	"sync"
	"sync/atomic"
)

// limiter is the Go twin of the XDP program's LRU tables of token buckets
// (the per-client and the per-source flood guards): a GCRA token bucket
// per key in an LRU table of fixed size.
type limiter[K comparable] struct {
	rate gcra

	mu    sync.Mutex
	size  int
	order *list.List // front: most recently used; values are *limiterEntry[K]
	keys  map[K]*list.Element
}

type limiterEntry[K comparable] struct {
	key K
	tat uint64 // theoretical arrival time of the next packet, ns
}

// newLimiter returns a limiter of size entries, or nil when rate is off.
func newLimiter[K comparable](rate gcra, size uint32) *limiter[K] {
	if !rate.on {
		return nil
	}
	return &limiter[K]{
		rate:  rate,
		size:  int(size),
		order: list.New(),
		keys:  make(map[K]*list.Element),
	}
}

// allow reports whether key may send a packet at now (ns), and charges it
// for the packet when it may. A new key starts with a full bucket. A nil
// limiter allows everything.
func (l *limiter[K]) allow(key K, now uint64) bool {
	if l == nil {
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
		l.keys[key] = l.order.PushFront(&limiterEntry[K]{key: key, tat: now + l.rate.interval})
		return true
	}
	l.order.MoveToFront(el)
	e := el.Value.(*limiterEntry[K])
	tat := max(e.tat, now)
	if tat-now > l.rate.tau {
		return false
	}
	e.tat = tat + l.rate.interval
	return true
}

// budgetCASTries mirrors BUDGET_CAS_TRIES in bpf/xdhcp.c.
const budgetCASTries = 4

// budget is the Go twin of the program's discover budget: one GCRA token
// bucket shared by every caller, updated with compare-and-swap.
type budget struct {
	rate gcra
	tat  atomic.Uint64
}

// newBudget returns a budget, or nil when rate is off.
func newBudget(rate gcra) *budget {
	if !rate.on {
		return nil
	}
	return &budget{rate: rate}
}

// allow takes a token at now (ns) if there is one. A nil budget allows
// everything.
func (b *budget) allow(now uint64) bool {
	if b == nil {
		return true
	}
	for range budgetCASTries {
		old := b.tat.Load()
		t := max(old, now)
		if t-now > b.rate.tau {
			return false
		}
		if b.tat.CompareAndSwap(old, t+b.rate.interval) {
			return true
		}
	}
	return false // other callers took the tokens meanwhile
}
