package servers

import (
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// exposition serves a registry holding the given const histogram through
// promhttp, as xdhcpd's metrics endpoint does, and returns the text.
func exposition(t *testing.T, count uint64, sum float64, buckets map[float64]uint64, labels ...string) []byte {
	t.Helper()
	reg := prometheus.NewRegistry()
	desc := prometheus.NewDesc(LagMetric, "lag", labels, nil)
	var values []string
	for range labels {
		values = append(values, "a")
	}
	reg.MustRegister(constCollector{prometheus.MustNewConstHistogram(desc, count, sum, buckets, values...)})
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, err := io.ReadAll(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type constCollector struct{ m prometheus.Metric }

func (c constCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.m.Desc() }
func (c constCollector) Collect(ch chan<- prometheus.Metric) { ch <- c.m }

func TestParseHistogramFromPromhttp(t *testing.T) {
	body := exposition(t, 10, 0.0123, map[float64]uint64{0.0001: 0, 0.0002: 4, 0.0004: 9, 0.0008: 10})
	h, err := ParseHistogram(body, LagMetric)
	if err != nil {
		t.Fatalf("%v in:\n%s", err, body)
	}
	wantBounds := []float64{0.0001, 0.0002, 0.0004, 0.0008, math.Inf(1)}
	wantCounts := []uint64{0, 4, 9, 10, 10}
	if len(h.Bounds) != len(wantBounds) {
		t.Fatalf("bounds %v, want %v", h.Bounds, wantBounds)
	}
	for i := range wantBounds {
		if h.Bounds[i] != wantBounds[i] || h.Counts[i] != wantCounts[i] {
			t.Errorf("bucket %d = le %g: %d, want le %g: %d", i, h.Bounds[i], h.Counts[i], wantBounds[i], wantCounts[i])
		}
	}
	if h.Count != 10 || h.Sum != 0.0123 {
		t.Errorf("count %d sum %g, want 10 and 0.0123", h.Count, h.Sum)
	}
}

func TestParseHistogramFixture(t *testing.T) {
	body, err := os.ReadFile("testdata/xdhcpd-metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHistogram(body, LagMetric)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture's two label sets are summed.
	if h.Count != 1503 || len(h.Bounds) != 19 || h.Counts[len(h.Counts)-1] != 1503 {
		t.Errorf("got count %d, %d bounds, +Inf %d; want 1503, 19, 1503", h.Count, len(h.Bounds), h.Counts[len(h.Counts)-1])
	}
	if _, err := ParseHistogram(body, "xdhcp_no_such_histogram"); !errors.Is(err, ErrNoMetric) {
		t.Errorf("missing histogram: %v, want ErrNoMetric", err)
	}
	st, partner, err := xdhcpdFailoverState(body)
	if err != nil || st != "NORMAL" || partner != "NORMAL" {
		t.Errorf("xdhcpdFailoverState = %q, %q, %v; want NORMAL, NORMAL", st, partner, err)
	}
	for name, want := range map[string]float64{"xdhcp_failover_unacked_updates": 3, "xdhcp_failover_pending_updates": 0} {
		if v, err := gauge(body, name); err != nil || v != want {
			t.Errorf("gauge %s = %v, %v; want %v", name, v, err, want)
		}
	}
}

func TestParseHistogramErrors(t *testing.T) {
	const m = LagMetric
	for _, tc := range []struct {
		name, text, want string
	}{
		{"no value", m + "_count\n", "no value"},
		{"unclosed labels", m + `_bucket{le="1" 3` + "\n", "unclosed"},
		{"bucket without le", m + `_bucket{x="1"} 3` + "\n", "without le"},
		{"bad le", m + `_bucket{le="soon"} 3` + "\n", "le"},
		{"fractional count", m + `_bucket{le="+Inf"} 2.5` + "\n", "whole number"},
		{"negative count", m + "_count -1\n", "whole number"},
		{"bad sum", m + "_sum x\n", "sum"},
		{"no +Inf bucket", m + `_bucket{le="1"} 3` + "\n" + m + "_count 3\n", "+Inf"},
		{"not cumulative", m + `_bucket{le="1"} 3` + "\n" + m + `_bucket{le="+Inf"} 2` + "\n", "fewer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseHistogram([]byte(tc.text), m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func hist(counts ...uint64) Histogram {
	bounds := []float64{0.001, 0.002, 0.004, math.Inf(1)}
	return Histogram{Bounds: bounds, Counts: counts, Count: counts[len(counts)-1]}
}

func TestHistogramQuantile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      Histogram
		q      float64
		want   time.Duration
		wantOK bool
	}{
		{"empty", hist(0, 0, 0, 0), 0.5, 0, false},
		{"median in first bucket", hist(10, 10, 10, 10), 0.5, 500 * time.Microsecond, true},
		{"p99 interpolated", hist(0, 50, 100, 100), 0.99, 3960 * time.Microsecond, true},
		{"p50 at a bucket edge", hist(0, 50, 100, 100), 0.5, 2 * time.Millisecond, true},
		{"in the +Inf bucket", hist(0, 0, 1, 100), 0.99, 4 * time.Millisecond, true},
		{"q out of range", hist(1, 1, 1, 1), 1.5, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.h.Quantile(tc.q)
			if ok != tc.wantOK || (got-tc.want).Abs() > time.Microsecond {
				t.Errorf("Quantile(%v) = %v, %v; want %v, %v", tc.q, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestHistogramStepDelta(t *testing.T) {
	before := hist(5, 8, 10, 10)
	before.Sum = 0.010
	after := hist(5, 58, 110, 110)
	after.Sum = 0.260
	d, err := after.Sub(before)
	if err != nil {
		t.Fatal(err)
	}
	if d.Count != 100 || d.Counts[0] != 0 || d.Counts[1] != 50 || d.Counts[2] != 100 {
		t.Errorf("delta %+v", d)
	}
	if mean, ok := d.Mean(); !ok || (mean-2500*time.Microsecond).Abs() > time.Microsecond {
		t.Errorf("mean %v %v, want 2.5ms", mean, ok)
	}
	if _, err := before.Sub(after); err == nil {
		t.Error("a histogram that went down subtracted without error")
	}
	sum, err := (Histogram{}).Add(before)
	if err != nil || sum.Count != 10 {
		t.Fatalf("zero + before = %+v, %v", sum, err)
	}
	if sum, err = sum.Add(after); err != nil || sum.Count != 120 || sum.Counts[1] != 66 {
		t.Errorf("before + after = %+v, %v", sum, err)
	}
	other := Histogram{Bounds: []float64{1, math.Inf(1)}, Counts: []uint64{1, 1}, Count: 1}
	if _, err := before.Add(other); err == nil {
		t.Error("histograms with different bounds added without error")
	}
	if _, ok := (Histogram{}).Mean(); ok {
		t.Error("mean of an empty histogram reported ok")
	}
}
