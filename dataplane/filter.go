package dataplane

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// Filter is the pure-Go twin of the XDP program, for when XDP cannot be
// attached (no privileges, dataplane.mode: off). The control plane asks it
// before doing any work on a packet and drops what it drops. It reaches
// the same verdict as the program on every frame; its counters and load
// balancing behave the same. It is safe for concurrent use.
type Filter struct {
	clients  *limiter[[maxHlen]byte]
	sources  *limiter[sourceKey]
	relayed  atomic.Bool // source-limit.relayed
	discover *budget
	retry    *retryLane

	mu       sync.Mutex // serialises policy changes and Reconfigure
	policy   bucketPolicy
	owned    atomic.Pointer[[loadbalance.Buckets]bool] // effective, swapped whole
	bypass   atomic.Uint32
	counters [counterSlots]struct{ packets, bytes atomic.Uint64 }
}

// NewFilter returns a Filter for cfg. Load balancing starts off (every
// bucket is ours). An invalid cfg gives a Filter with the flood guards and
// secs bypass off; New and config.Parse report such errors.
func NewFilter(cfg config.Dataplane) *Filter {
	s, err := settingsFrom(cfg)
	if err != nil {
		s = settings{tableSize: defaultTableSize, sourceTableSize: defaultTableSize}
	}
	f := &Filter{
		clients:  newLimiter[[maxHlen]byte](s.perClient, s.tableSize),
		sources:  newLimiter[sourceKey](s.source, s.sourceTableSize),
		discover: newBudget(s.budget),
		retry:    newRetryLane(s.retry),
		policy:   newBucketPolicy(),
	}
	f.relayed.Store(s.sourceRelayed)
	f.bypass.Store(s.secsBypass)
	f.publish()
	return f
}

// Reconfigure puts cfg's flood guards (rate-limit, source-limit,
// discover-budget) and secs-bypass in force for the packets after it, as
// Dataplane.Reconfigure does in the program. The tables keep their entries
// and their sizes: a new table-size takes effect at the next start (see
// RestartNeeded), and so does a new mode. An invalid cfg changes nothing.
func (f *Filter) Reconfigure(cfg config.Dataplane) error {
	s, err := settingsFrom(cfg)
	if err != nil {
		return fmt.Errorf("reconfigure go filter: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clients.setRate(s.perClient)
	f.sources.setRate(s.source)
	f.relayed.Store(s.sourceRelayed)
	f.discover.setRate(s.budget)
	f.retry.bucket.setRate(s.retry)
	f.bypass.Store(s.secsBypass)
	return nil
}

// Frame classifies a whole Ethernet frame, as the XDP program does.
func (f *Filter) Frame(frame []byte, now time.Time) Verdict {
	var l2 linkSource
	payload, v, ok := frameBOOTP(frame, &l2)
	if ok {
		v = f.decide(payload, &l2, now)
	}
	f.count(v, len(frame))
	return v
}

// Payload classifies the UDP payload of a datagram to port 67: what the
// control plane reads from its socket when XDP is off. A UDP socket does
// not tell the Ethernet source, so the source limit applies here only to
// relayed messages (giaddr and option 82), and only when
// dataplane.source-limit.relayed is on; Frame applies it to direct frames
// too.
func (f *Filter) Payload(bootp []byte, now time.Time) Verdict {
	v := f.decide(bootp, nil, now)
	f.count(v, len(bootp))
	return v
}

// decide classifies a BOOTP message; l2 is nil when the link layer is not
// known.
func (f *Filter) decide(bootp []byte, l2 *linkSource, now time.Time) Verdict {
	r := parseBOOTP(bootp)
	if r.decided {
		return r.verdict
	}
	reason := r.reason
	if r.balanced {
		reason = ReasonOurs
		if !f.owned.Load()[loadbalance.Hash(r.key)] {
			bypass := f.bypass.Load()
			if bypass == 0 || uint32(r.secs) < bypass {
				return Verdict{Drop, ReasonPartner}
			}
			reason = ReasonSecsBypass
		}
	}
	ns := uint64(now.UnixNano())
	if !f.clients.allow(r.chaddr, ns) {
		return Verdict{Drop, ReasonRateLimit}
	}
	if f.sources.on() {
		if key, ok := r.source(l2, f.relayed.Load()); ok && !f.sources.allow(key, ns) {
			return Verdict{Drop, ReasonSourceLimit}
		}
	}
	if r.discover && !f.discover.allow(ns) {
		if !f.retry.bucket.on() || !f.retry.allow(r.chaddr[:r.hlen], ns) {
			return Verdict{Drop, ReasonDiscoverBudget}
		}
		reason = ReasonRetryLane
	}
	return Verdict{Pass, reason}
}

func (f *Filter) count(v Verdict, n int) {
	c := &f.counters[counterIndex(v)]
	c.packets.Add(1)
	c.bytes.Add(uint64(n))
}

// Stats returns the counters.
func (f *Filter) Stats() (Stats, error) {
	s := newStats()
	for i := range s.Counters {
		s.Counters[i].Packets = f.counters[i].packets.Load()
		s.Counters[i].Bytes = f.counters[i].bytes.Load()
	}
	return s, nil
}

// SetBuckets makes owned the buckets served and turns load balancing on.
func (f *Filter) SetBuckets(owned [loadbalance.Buckets]bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policy.split, f.policy.balancing = owned, true
	f.publish()
	return nil
}

// SetSplit serves the primary's (or the secondary's) share at percent and
// turns load balancing on.
func (f *Filter) SetSplit(percent int, primary bool) error {
	owned, err := splitFor(percent, primary)
	if err != nil {
		return err
	}
	return f.SetBuckets(owned)
}

// SetLoadBalancing turns load balancing on (the last split set, every
// bucket if none was) or off (every bucket).
func (f *Filter) SetLoadBalancing(on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.policy.balancing = on
	f.publish()
	return nil
}

// SetSecsBypass changes the secs bypass; 0 turns it off.
func (f *Filter) SetSecsBypass(secs int) error {
	v, err := checkSecsBypass(secs)
	if err != nil {
		return err
	}
	f.bypass.Store(v)
	return nil
}

// Buckets returns the buckets served now.
func (f *Filter) Buckets() [loadbalance.Buckets]bool { return *f.owned.Load() }

// LoadBalancing reports whether load balancing is on.
func (f *Filter) LoadBalancing() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.policy.balancing
}

// publish swaps in the effective assignment; f.mu is held or f is new.
func (f *Filter) publish() {
	owned := f.policy.effective()
	f.owned.Store(&owned)
}
