package dataplane

import (
	"container/list"
	"sync"
)

// limiter is the Go twin of the XDP program's per-client flood guard: a
// GCRA token bucket per chaddr in an LRU table of fixed size.
type limiter struct {
	interval uint64 // ns per token
	tau      uint64 // ns a client may run ahead of its rate

	mu      sync.Mutex
	size    int
	order   *list.List // front: most recently used; values are *limiterEntry
	clients map[[maxHlen]byte]*list.Element
}

type limiterEntry struct {
	client [maxHlen]byte
	tat    uint64 // theoretical arrival time of the next packet, ns
}

func newLimiter(s settings) *limiter {
	if !s.rateLimit {
		return nil
	}
	return &limiter{
		interval: s.interval,
		tau:      s.tau,
		size:     int(s.tableSize),
		order:    list.New(),
		clients:  make(map[[maxHlen]byte]*list.Element),
	}
}

// allow reports whether client may send a packet at now (ns), and charges
// it for the packet when it may. A nil limiter allows everything.
func (l *limiter) allow(client [maxHlen]byte, now uint64) bool {
	if l == nil {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.clients[client]
	if !ok {
		if l.order.Len() >= l.size {
			oldest := l.order.Back()
			delete(l.clients, oldest.Value.(*limiterEntry).client)
			l.order.Remove(oldest)
		}
		l.clients[client] = l.order.PushFront(&limiterEntry{client: client, tat: now + l.interval})
		return true
	}
	l.order.MoveToFront(el)
	e := el.Value.(*limiterEntry)
	tat := max(e.tat, now)
	if tat-now > l.tau {
		return false
	}
	e.tat = tat + l.interval
	return true
}
