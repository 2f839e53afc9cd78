package servers

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/bench/netns"
)

// LagMetric is the Prometheus histogram in which xdhcpd records failover
// replication lag: seconds from a committed lease being queued for the
// partner to the partner's BNDACK for it.
const LagMetric = "xdhcp_failover_replication_lag_seconds"

// ErrNoMetric is returned by ParseHistogram when the exposition holds no
// series of the histogram asked for.
var ErrNoMetric = errors.New("metric not exported")

// Histogram is a Prometheus histogram as scraped: cumulative counts per
// upper bound. Series that differ in labels other than le are summed.
type Histogram struct {
	Bounds []float64 // upper bounds, rising; the last is +Inf
	Counts []uint64  // cumulative count of observations ≤ Bounds[i]
	Count  uint64
	Sum    float64
}

// ParseHistogram reads histogram name from a Prometheus text exposition
// (its _bucket, _sum and _count series).
func ParseHistogram(exposition []byte, name string) (Histogram, error) {
	byBound := map[float64]uint64{}
	var h Histogram
	found := false
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		series, labels, value, err := splitSample(text)
		if err != nil {
			return Histogram{}, fmt.Errorf("parse %s line %d: %w", name, line, err)
		}
		switch series {
		case name + "_bucket":
			le, ok := labelValue(labels, "le")
			if !ok {
				return Histogram{}, fmt.Errorf("parse %s line %d: bucket without le label", name, line)
			}
			bound, err := strconv.ParseFloat(le, 64)
			if err != nil {
				return Histogram{}, fmt.Errorf("parse %s line %d: le %q: %w", name, line, le, err)
			}
			n, err := count(value)
			if err != nil {
				return Histogram{}, fmt.Errorf("parse %s line %d: %w", name, line, err)
			}
			byBound[bound] += n
		case name + "_count":
			n, err := count(value)
			if err != nil {
				return Histogram{}, fmt.Errorf("parse %s line %d: %w", name, line, err)
			}
			h.Count += n
		case name + "_sum":
			v, err := strconv.ParseFloat(value, 64)
			if err != nil {
				return Histogram{}, fmt.Errorf("parse %s line %d: sum %q: %w", name, line, value, err)
			}
			h.Sum += v
		default:
			continue
		}
		found = true
	}
	if err := sc.Err(); err != nil {
		return Histogram{}, fmt.Errorf("parse %s: %w", name, err)
	}
	if !found {
		return Histogram{}, fmt.Errorf("%s: %w", name, ErrNoMetric)
	}
	if _, ok := byBound[math.Inf(1)]; !ok {
		return Histogram{}, fmt.Errorf("parse %s: no +Inf bucket", name)
	}
	for b := range byBound {
		h.Bounds = append(h.Bounds, b)
	}
	slices.Sort(h.Bounds)
	for i, b := range h.Bounds {
		h.Counts = append(h.Counts, byBound[b])
		if i > 0 && h.Counts[i] < h.Counts[i-1] {
			return Histogram{}, fmt.Errorf("parse %s: bucket le=%g holds fewer than the one below it", name, b)
		}
	}
	return h, nil
}

// splitSample splits `series{labels} value [timestamp]`.
func splitSample(line string) (series, labels, value string, err error) {
	rest := line
	if i := strings.IndexAny(line, "{ \t"); i < 0 {
		return "", "", "", fmt.Errorf("sample %q has no value", line)
	} else if line[i] == '{' {
		end := strings.LastIndexByte(line, '}')
		if end < i {
			return "", "", "", fmt.Errorf("sample %q: unclosed label set", line)
		}
		series, labels, rest = line[:i], line[i+1:end], line[end+1:]
	} else {
		series, rest = line[:i], line[i:]
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 {
		return "", "", "", fmt.Errorf("sample %q has no value", line)
	}
	return series, labels, fields[0], nil
}

// labelValue finds key="value" in a label set (values in the exposition
// format escape only \\, \" and \n, none of which a number contains).
func labelValue(labels, key string) (string, bool) {
	for _, part := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if ok && k == key {
			return strings.Trim(v, `"`), true
		}
	}
	return "", false
}

func count(value string) (uint64, error) {
	v, err := strconv.ParseFloat(value, 64)
	if err != nil || v < 0 || v != math.Trunc(v) {
		return 0, fmt.Errorf("count %q is not a whole number", value)
	}
	return uint64(v), nil
}

// Add returns the sum of two histograms with the same bounds (two
// partners' lag). The zero Histogram adds as nothing.
func (h Histogram) Add(o Histogram) (Histogram, error) {
	return h.combine(o, func(a, b uint64) uint64 { return a + b }, func(a, b float64) float64 { return a + b })
}

// Sub returns the observations made between earlier and h (a step's
// delta). It fails if a count went down, as after a restart.
func (h Histogram) Sub(earlier Histogram) (Histogram, error) {
	if earlier.Count > h.Count {
		return Histogram{}, fmt.Errorf("histogram count went down from %d to %d (restarted?)", earlier.Count, h.Count)
	}
	for i := range earlier.Counts {
		if i < len(h.Counts) && earlier.Counts[i] > h.Counts[i] {
			return Histogram{}, fmt.Errorf("histogram bucket le=%g went down (restarted?)", h.Bounds[i])
		}
	}
	return h.combine(earlier, func(a, b uint64) uint64 { return a - b }, func(a, b float64) float64 { return a - b })
}

func (h Histogram) combine(o Histogram, counts func(a, b uint64) uint64, sums func(a, b float64) float64) (Histogram, error) {
	switch {
	case len(o.Bounds) == 0:
		return h, nil
	case len(h.Bounds) == 0:
		h = Histogram{Bounds: o.Bounds, Counts: make([]uint64, len(o.Counts))}
	case !slices.Equal(h.Bounds, o.Bounds):
		return Histogram{}, fmt.Errorf("histograms have different bucket bounds: %v and %v", h.Bounds, o.Bounds)
	}
	out := Histogram{Bounds: h.Bounds, Counts: make([]uint64, len(h.Counts)),
		Count: counts(h.Count, o.Count), Sum: sums(h.Sum, o.Sum)}
	for i := range h.Counts {
		out.Counts[i] = counts(h.Counts[i], o.Counts[i])
	}
	return out, nil
}

// Quantile estimates the q-quantile (0 < q ≤ 1) by linear interpolation
// inside the bucket that holds it, as Prometheus' histogram_quantile does:
// the first bucket's lower bound is 0, and a quantile that falls in the
// +Inf bucket reports the highest finite bound. ok is false with no
// observations.
func (h Histogram) Quantile(q float64) (d time.Duration, ok bool) {
	if h.Count == 0 || len(h.Counts) == 0 || q <= 0 || q > 1 {
		return 0, false
	}
	total := float64(h.Counts[len(h.Counts)-1])
	if total == 0 {
		return 0, false
	}
	rank := q * total
	lower, below := 0.0, 0.0
	for i, upper := range h.Bounds {
		cum := float64(h.Counts[i])
		if cum >= rank {
			if math.IsInf(upper, 1) {
				return seconds(lower), true
			}
			return seconds(lower + (upper-lower)*(rank-below)/(cum-below)), true
		}
		lower, below = upper, cum
	}
	return seconds(lower), true
}

// Mean returns the average observation; ok is false with none.
func (h Histogram) Mean() (time.Duration, bool) {
	if h.Count == 0 {
		return 0, false
	}
	return seconds(h.Sum / float64(h.Count)), true
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// scrape fetches http://addr/metrics from inside namespace ns: the
// connection is opened on a thread in the namespace and used from here.
func scrape(ctx context.Context, ns, addr string) ([]byte, error) {
	var conn net.Conn
	err := netns.Do(ns, func() error {
		var err error
		conn, err = (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("scrape %s in %s: %w", addr, ns, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetDeadline(deadline)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s in %s: %w", addr, ns, err)
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return nil, fmt.Errorf("scrape %s in %s: %w", addr, ns, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s in %s: %w", addr, ns, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s in %s: %w", addr, ns, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s in %s: %s", addr, ns, resp.Status)
	}
	return body, nil
}
