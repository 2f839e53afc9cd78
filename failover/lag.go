package failover

import (
	"sync"
	"time"
)

// LagBounds returns the upper bounds, in seconds, of the replication lag
// histogram: exponential, doubling from 100µs to about 13s (18 buckets).
func LagBounds() []float64 {
	out := make([]float64, 18)
	b := 100e-6
	for i := range out {
		out[i] = b
		b *= 2
	}
	return out
}

// Lag is a histogram of replication lag: the time from the moment a
// binding the server durably committed was queued for the partner
// (Peer.Updated) to the partner's BNDACK accepting it. Only updates that
// came through Updated are measured; resends for UPDREQALL, pool
// transfers and restarts are not client traffic.
type Lag struct {
	Buckets []float64 // upper bounds in seconds (LagBounds)
	Counts  []uint64  // observations per bucket, not cumulative; one more entry than Buckets for "above the last bound"
	Count   uint64
	Sum     float64 // seconds
}

// Mean is the average lag (0 with no observation).
func (l Lag) Mean() time.Duration {
	if l.Count == 0 {
		return 0
	}
	return time.Duration(l.Sum / float64(l.Count) * float64(time.Second))
}

// Quantile estimates the q-quantile (0 < q <= 1) by linear interpolation
// inside the bucket that holds it, as Prometheus' histogram_quantile does.
// An observation above the last bound reports the last bound. 0 with no
// observation.
func (l Lag) Quantile(q float64) time.Duration {
	if l.Count == 0 || len(l.Counts) != len(l.Buckets)+1 {
		return 0
	}
	rank := q * float64(l.Count)
	var cum float64
	lower := 0.0
	for i, upper := range l.Buckets {
		n := float64(l.Counts[i])
		if n > 0 && cum+n >= rank {
			frac := (rank - cum) / n
			return time.Duration((lower + (upper-lower)*frac) * float64(time.Second))
		}
		cum += n
		lower = upper
	}
	return time.Duration(l.Buckets[len(l.Buckets)-1] * float64(time.Second))
}

// Cumulative returns the cumulative count per upper bound, the form a
// Prometheus histogram takes.
func (l Lag) Cumulative() map[float64]uint64 {
	out := make(map[float64]uint64, len(l.Buckets))
	var cum uint64
	for i, b := range l.Buckets {
		if i < len(l.Counts) {
			cum += l.Counts[i]
		}
		out[b] = cum
	}
	return out
}

// lagHistogram accumulates Lag; it is written by the engine goroutine and
// read by Status.
type lagHistogram struct {
	mu  sync.Mutex
	lag Lag
}

func (h *lagHistogram) init() {
	b := LagBounds()
	h.lag = Lag{Buckets: b, Counts: make([]uint64, len(b)+1)}
}

func (h *lagHistogram) observe(d time.Duration) {
	s := max(d, 0).Seconds()
	i := 0
	for i < len(h.lag.Buckets) && s > h.lag.Buckets[i] {
		i++
	}
	h.mu.Lock()
	h.lag.Counts[i]++
	h.lag.Count++
	h.lag.Sum += s
	h.mu.Unlock()
}

func (h *lagHistogram) snapshot() Lag {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.lag
	out.Counts = append([]uint64(nil), h.lag.Counts...)
	return out
}
