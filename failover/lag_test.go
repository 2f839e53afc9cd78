package failover

import (
	"fmt"
	"net/netip"
	"testing"
	"time"
)

func TestLagBoundsAreExponentialFrom100us(t *testing.T) {
	b := LagBounds()
	if b[0] != 100e-6 || b[len(b)-1] < 10 || b[len(b)-1] > 20 {
		t.Fatalf("bounds %v: want 100µs up to about 10s", b)
	}
	for i := 1; i < len(b); i++ {
		if b[i] != 2*b[i-1] {
			t.Fatalf("bound %d = %v, want twice %v", i, b[i], b[i-1])
		}
	}
	b[0] = 42
	if LagBounds()[0] != 100e-6 {
		t.Fatal("LagBounds shares its slice with callers")
	}
}

func TestLagHistogram(t *testing.T) {
	tests := []struct {
		name     string
		observe  []time.Duration
		wantMean time.Duration
		p50, p99 [2]time.Duration // inclusive ranges
		overflow uint64
	}{
		{name: "empty"},
		{
			name:     "all in one bucket",
			observe:  []time.Duration{150 * time.Microsecond, 150 * time.Microsecond},
			wantMean: 150 * time.Microsecond,
			p50:      [2]time.Duration{100 * time.Microsecond, 200 * time.Microsecond},
			p99:      [2]time.Duration{100 * time.Microsecond, 200 * time.Microsecond},
		},
		{
			name: "a slow tail",
			observe: append(repeat(99, 300*time.Microsecond), // bucket (200µs, 400µs]
				time.Second), // bucket (819.2ms, 1.6384s]
			wantMean: (99*300*time.Microsecond + time.Second) / 100,
			p50:      [2]time.Duration{200 * time.Microsecond, 400 * time.Microsecond},
			p99:      [2]time.Duration{200 * time.Microsecond, 400 * time.Microsecond},
		},
		{
			name:     "above the last bound and negative",
			observe:  []time.Duration{time.Minute, -time.Second},
			wantMean: 30 * time.Second,
			p50:      [2]time.Duration{0, 100 * time.Microsecond},
			p99:      [2]time.Duration{13 * time.Second, 14 * time.Second},
			overflow: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h lagHistogram
			h.init()
			for _, d := range tt.observe {
				h.observe(d)
			}
			l := h.snapshot()
			if l.Count != uint64(len(tt.observe)) {
				t.Fatalf("count %d, want %d", l.Count, len(tt.observe))
			}
			if d := l.Mean() - tt.wantMean; d < -time.Microsecond || d > time.Microsecond {
				t.Fatalf("mean %v, want %v", l.Mean(), tt.wantMean)
			}
			for _, q := range []struct {
				q    float64
				want [2]time.Duration
			}{{0.5, tt.p50}, {0.99, tt.p99}} {
				if got := l.Quantile(q.q); got < q.want[0] || got > q.want[1] {
					t.Fatalf("quantile %v = %v, want within %v", q.q, got, q.want)
				}
			}
			if got := l.Counts[len(l.Counts)-1]; got != tt.overflow {
				t.Fatalf("above the last bound: %d, want %d", got, tt.overflow)
			}
			cum := l.Cumulative()
			if last := cum[l.Buckets[len(l.Buckets)-1]]; last != l.Count-tt.overflow {
				t.Fatalf("cumulative at the last bound %d, want %d", last, l.Count-tt.overflow)
			}
			h.observe(time.Millisecond)
			if l.Count == h.snapshot().Count {
				t.Fatal("snapshot shares its counts with the histogram")
			}
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestReplicationLagCountsAckedClientUpdates: every committed binding
// queued through Updated and accepted by the partner is one lag
// observation; a refused one and pool transfers are not.
func TestReplicationLagCountsAckedClientUpdates(t *testing.T) {
	a, b, _ := pair(t, nil)
	bad := netip.MustParseAddr("203.0.113.9")
	b.srv.mu.Lock()
	b.srv.reject = map[netip.Addr]uint8{bad: 6}
	b.srv.mu.Unlock()
	before := a.p.Status().ReplicationLag.Count
	now := time.Now()
	ip := netip.MustParseAddr("198.51.100.1")
	const n = 50
	for i := range n {
		a.p.Updated(activeLease(ip, now, byte(i)))
		ip = ip.Next()
	}
	a.p.Updated(activeLease(bad, now, 99))
	waitFor(t, 10*time.Second, "all updates answered", func() bool {
		st := a.p.Status()
		return st.UnackedUpdates == 0 && st.PendingUpdates == 0 && st.Counters.UpdatesRejected >= 1
	})
	lag := a.p.Status().ReplicationLag
	if got := lag.Count - before; got != n {
		t.Fatalf("%d lag observations for %d accepted updates", got, n)
	}
	if lag.Quantile(0.5) <= 0 || lag.Quantile(0.99) > 10*time.Second || lag.Mean() <= 0 {
		t.Fatalf("lag p50 %v p99 %v mean %v", lag.Quantile(0.5), lag.Quantile(0.99), lag.Mean())
	}
}

// BenchmarkReplicationLag streams b.N bindings through a NORMAL pair on
// loopback (authenticated, a window of 10 updates), all at once ("burst":
// the lag is mostly queueing) or paced at a client rate, and reports the
// lag histogram's p50 and p99 estimates:
//
//	go test -run XXX -bench ReplicationLag ./failover/
func BenchmarkReplicationLag(b *testing.B) {
	for _, rate := range []int{0, 1000, 5000} {
		name := "burst"
		if rate > 0 {
			name = fmt.Sprintf("rate=%d/s", rate)
		}
		b.Run(name, func(b *testing.B) {
			a, _, _ := pair(b, nil)
			before := a.p.Status().ReplicationLag.Count
			now := time.Now()
			ip := netip.MustParseAddr("10.0.0.1")
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if rate > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
				}
				a.p.Updated(activeLease(ip, now, byte(i)))
				ip = ip.Next()
			}
			waitFor(b, time.Minute, "every update acknowledged", func() bool {
				return a.p.Status().ReplicationLag.Count-before >= uint64(b.N)
			})
			b.StopTimer()
			lag := a.p.Status().ReplicationLag
			b.ReportMetric(float64(lag.Quantile(0.5).Microseconds()), "p50-µs")
			b.ReportMetric(float64(lag.Quantile(0.99).Microseconds()), "p99-µs")
		})
	}
}
