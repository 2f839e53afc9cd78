package perfdhcp

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/xdhcp/xdhcp/bench/netns"
)

// Options is one perfdhcp run: -4 -l Iface -r Rate -R Clients -p Period.
type Options struct {
	Namespace string        // where perfdhcp runs (the generator namespace)
	Iface     string        // -l
	Rate      int           // -r: DORA exchanges initiated per second
	Clients   int           // -R: distinct simulated clients
	Period    time.Duration // -p: test length (whole seconds, at least 1)
	Extra     []string      // more arguments, placed before the interface
}

// Exchange is perfdhcp's statistics for one exchange (DISCOVER-OFFER or
// REQUEST-ACK).
type Exchange struct {
	Sent, Received, Drops int64
	Rejected, NonUnique   int64
	MinDelay, AvgDelay    time.Duration // zero when perfdhcp printed n/a
	MaxDelay              time.Duration
}

// Result is a parsed perfdhcp report.
type Result struct {
	Rate         float64 // completed 4-way exchanges per second, as perfdhcp computed it
	ExpectedRate float64
	DO, RA       Exchange
	CPU          time.Duration // perfdhcp's own user+system CPU time (set by Run)
}

// DropRatio is the fraction of started exchanges that did not complete.
func (r Result) DropRatio() float64 {
	if r.DO.Sent == 0 {
		return 0
	}
	return float64(r.DO.Drops+r.RA.Drops) / float64(r.DO.Sent)
}

// Args returns the perfdhcp command-line arguments for o.
func (o Options) Args() []string {
	secs := int(o.Period.Round(time.Second) / time.Second)
	if secs < 1 {
		secs = 1
	}
	args := []string{"-4", "-r", strconv.Itoa(o.Rate), "-R", strconv.Itoa(o.Clients), "-p", strconv.Itoa(secs)}
	args = append(args, o.Extra...)
	return append(args, "-l", o.Iface)
}

// Run runs perfdhcp and parses its report. perfdhcp's exit status is
// ignored when its report parses, because it exits non-zero whenever any
// packet was dropped.
func Run(ctx context.Context, o Options) (Result, []byte, error) {
	if o.Rate <= 0 {
		return Result{}, nil, errors.New("perfdhcp: Rate must be positive (perfdhcp's unbounded mode has no rate to compare)")
	}
	cmd := netns.Command(ctx, o.Namespace, "perfdhcp", o.Args()...)
	out, runErr := cmd.CombinedOutput()
	res, err := Parse(bytes.NewReader(out))
	if err != nil {
		if runErr != nil {
			err = fmt.Errorf("%w (perfdhcp: %v)", err, runErr)
		}
		return Result{}, out, fmt.Errorf("run perfdhcp %s: %w", strings.Join(o.Args(), " "), err)
	}
	if ps := cmd.ProcessState; ps != nil {
		res.CPU = ps.UserTime() + ps.SystemTime()
	}
	return res, out, nil
}

// Parse reads perfdhcp's DHCPv4 report.
func Parse(r io.Reader) (Result, error) {
	var res Result
	var cur *Exchange
	sawRate := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Rate:"):
			// "Rate: 4998.38 4-way exchanges/second, expected rate: 5000"
			f := strings.Fields(line)
			if len(f) < 2 {
				return res, fmt.Errorf("parse perfdhcp rate line %q", line)
			}
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return res, fmt.Errorf("parse perfdhcp rate line %q: %w", line, err)
			}
			res.Rate, sawRate = v, true
			if i := strings.Index(line, "expected rate:"); i >= 0 {
				res.ExpectedRate, _ = strconv.ParseFloat(strings.TrimSpace(line[i+len("expected rate:"):]), 64)
			}
		case strings.HasPrefix(line, "***Statistics for: DISCOVER-OFFER"):
			cur = &res.DO
		case strings.HasPrefix(line, "***Statistics for: REQUEST-ACK"):
			cur = &res.RA
		case strings.HasPrefix(line, "***"):
			cur = nil
		case cur != nil:
			if err := parseStat(cur, line); err != nil {
				return res, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read perfdhcp output: %w", err)
	}
	if !sawRate {
		return res, errors.New("perfdhcp output has no \"Rate:\" line")
	}
	return res, nil
}

func parseStat(e *Exchange, line string) error {
	key, val, ok := strings.Cut(line, ":")
	if !ok {
		return nil
	}
	val = strings.TrimSpace(val)
	ints := map[string]*int64{
		"sent packets": &e.Sent, "received packets": &e.Received, "drops": &e.Drops,
		"rejected leases": &e.Rejected, "non unique addresses": &e.NonUnique,
	}
	delays := map[string]*time.Duration{"min delay": &e.MinDelay, "avg delay": &e.AvgDelay, "max delay": &e.MaxDelay}
	if p, ok := ints[key]; ok {
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return fmt.Errorf("parse perfdhcp %q: %w", line, err)
		}
		*p = n
		return nil
	}
	if p, ok := delays[key]; ok {
		ms, found := strings.CutSuffix(val, " ms")
		if !found {
			return nil // "n/a", "inf ms" or the garbled "avg delay: min delay: n/a"
		}
		f, err := strconv.ParseFloat(ms, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil
		}
		*p = time.Duration(f * float64(time.Millisecond))
	}
	return nil
}
