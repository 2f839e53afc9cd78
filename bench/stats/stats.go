package stats

import (
	"math/bits"
	"time"
)

const (
	subBits    = 4
	subBuckets = 1 << subBits
	// Enough powers of two to cover 1 µs .. ~1 hour.
	powers     = 33
	numBuckets = powers * subBuckets
)

// Histogram counts durations with bounded relative error. The zero value
// is ready to use.
type Histogram struct {
	counts [numBuckets]uint64
	n      uint64
	max    time.Duration
	sum    time.Duration
}

func bucket(us uint64) int {
	if us < subBuckets {
		return int(us)
	}
	exp := bits.Len64(us) - 1 - subBits // us >> exp lies in [16, 32)
	i := (exp+1)*subBuckets + int(us>>uint(exp)) - subBuckets
	if i >= numBuckets {
		return numBuckets - 1
	}
	return i
}

// upper returns the largest value (µs) that falls in bucket i.
func upper(i int) uint64 {
	if i < subBuckets {
		return uint64(i)
	}
	exp := i/subBuckets - 1
	mant := uint64(i%subBuckets + subBuckets)
	return (mant+1)<<uint(exp) - 1
}

// Record adds one observation.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucket(uint64(d/time.Microsecond))]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

// Count is the number of observations.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest observation.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean is the average observation.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns an upper bound of the q-quantile (0 < q <= 1), within
// 1/16 of the true value (and never above Max).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			d := time.Duration(upper(i)) * time.Microsecond
			return min(d, h.max)
		}
	}
	return h.max
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Kind names one exchange kind.
type Kind uint8

// The exchange kinds.
const (
	DORA Kind = iota
	Renew
	Rebind
	Release
	Decline
	Flood // a DISCOVER from a throw-away MAC; complete when an OFFER comes back
	NumKinds
)

var kindNames = [NumKinds]string{"dora", "renew", "rebind", "release", "decline", "flood"}

func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Counters are one kind's totals.
type Counters struct {
	Started   uint64 // exchanges begun
	Completed uint64 // answered (ACK, or OFFER for Flood; sent, for Release and Decline)
	Timeouts  uint64 // gave up after the last retry
	Retries   uint64 // retransmissions
	NAKs      uint64
	Latency   Histogram
}

// Set holds the counters of every kind plus frame-level totals.
type Set struct {
	Kinds        [NumKinds]Counters
	TxFrames     uint64
	TxDropped    uint64 // frames the socket would not take
	RxFrames     uint64
	RxMalformed  uint64 // DHCP frames that failed to parse
	RxUnmatched  uint64 // replies for no waiting client (late, duplicate) and frames that are not DHCP
	DupAddresses uint64 // ACKs for an address another live client holds
	Skipped      uint64 // starts the rate asked for but no idle client was available
}

// Sub returns s minus o for the plain counters (histograms are not
// subtracted; the caller keeps them from the start of the window).
func (s *Set) Sub(o *Set) Set {
	r := *s
	for k := range r.Kinds {
		a, b := &r.Kinds[k], &o.Kinds[k]
		a.Started -= b.Started
		a.Completed -= b.Completed
		a.Timeouts -= b.Timeouts
		a.Retries -= b.Retries
		a.NAKs -= b.NAKs
	}
	r.TxFrames -= o.TxFrames
	r.TxDropped -= o.TxDropped
	r.RxFrames -= o.RxFrames
	r.RxMalformed -= o.RxMalformed
	r.RxUnmatched -= o.RxUnmatched
	r.DupAddresses -= o.DupAddresses
	r.Skipped -= o.Skipped
	return r
}
