package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketBounds(t *testing.T) {
	for _, us := range []uint64{0, 1, 15, 16, 17, 31, 32, 33, 100, 1000, 12345, 1 << 30, 1 << 40} {
		i := bucket(us)
		if i < numBuckets-1 && (upper(i) < us || (i > 0 && upper(i-1) >= us)) {
			t.Errorf("value %d in bucket %d with upper %d (previous upper %d)", us, i, upper(i), upper(i-1))
		}
	}
}

func TestQuantilesWithinError(t *testing.T) {
	tests := []struct {
		name string
		gen  func(r *rand.Rand) time.Duration
	}{
		{"uniform 0-10ms", func(r *rand.Rand) time.Duration { return time.Duration(r.Int64N(int64(10 * time.Millisecond))) }},
		{"exponential mean 200us", func(r *rand.Rand) time.Duration { return time.Duration(r.ExpFloat64() * 200e3) }},
		{"constant 1ms", func(*rand.Rand) time.Duration { return time.Millisecond }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			var h Histogram
			var all []time.Duration
			for i := 0; i < 100000; i++ {
				d := tt.gen(r)
				h.Record(d)
				all = append(all, d)
			}
			slices.Sort(all)
			for _, q := range []float64{0.5, 0.9, 0.99, 1} {
				exact := all[int(q*float64(len(all)))-1]
				got := h.Quantile(q)
				lo, hi := exact-exact/16-time.Microsecond, exact+exact/16+time.Microsecond
				if got < lo || got > hi {
					t.Errorf("q%.2f = %v, exact %v (allowed %v..%v)", q, got, exact, lo, hi)
				}
			}
			if h.Max() != all[len(all)-1] || h.Count() != uint64(len(all)) {
				t.Errorf("max %v count %d, want %v %d", h.Max(), h.Count(), all[len(all)-1], len(all))
			}
		})
	}
}

func TestEmptyAndMerge(t *testing.T) {
	var a, b Histogram
	if a.Quantile(0.5) != 0 || a.Mean() != 0 {
		t.Error("empty histogram not zero")
	}
	a.Record(time.Millisecond)
	b.Record(3 * time.Millisecond)
	b.Record(-time.Second) // clamps to 0
	a.Merge(&b)
	if a.Count() != 3 || a.Max() != 3*time.Millisecond {
		t.Errorf("merged count %d max %v", a.Count(), a.Max())
	}
	if q := a.Quantile(0.5); q < 937*time.Microsecond || q > time.Millisecond+63*time.Microsecond {
		t.Errorf("median %v", q)
	}
}

func TestSetSub(t *testing.T) {
	var a, b Set
	a.Kinds[DORA].Completed, b.Kinds[DORA].Completed = 10, 4
	a.TxFrames, b.TxFrames = 7, 2
	d := a.Sub(&b)
	if d.Kinds[DORA].Completed != 6 || d.TxFrames != 5 {
		t.Errorf("Sub = %+v", d)
	}
	if DORA.String() != "dora" || Kind(200).String() != "unknown" {
		t.Error("kind names")
	}
}
