package servers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNoLag is returned by ReplicationLag for a server that does not
// export LagMetric.
var ErrNoLag = errors.New("server exports no replication lag")

// ReplicationLag scrapes LagMetric from the process (and its partner) and
// returns the sum of their histograms: every binding update either
// partner has had acknowledged since it started.
func (p *Process) ReplicationLag(ctx context.Context) (Histogram, error) {
	if !p.Server.ReportsLag {
		return Histogram{}, fmt.Errorf("%s: %w", p.Server.Name, ErrNoLag)
	}
	var sum Histogram
	for _, inst := range p.instances() {
		body, err := scrape(ctx, inst.spec.Namespace, inst.spec.MetricsListen)
		if err != nil {
			return Histogram{}, err
		}
		h, err := ParseHistogram(body, LagMetric)
		if err != nil {
			return Histogram{}, fmt.Errorf("%s %s: %w", p.Server.Name, inst.spec.Role, err)
		}
		if sum, err = sum.Add(h); err != nil {
			return Histogram{}, fmt.Errorf("%s: %w", p.Server.Name, err)
		}
	}
	return sum, nil
}

// Settle waits, for at most limit, until neither partner of a server that
// reports lag has binding updates queued or unacknowledged, so a lag
// scrape after a step includes the step's last updates. It returns the
// updates still outstanding when limit passed.
func (p *Process) Settle(ctx context.Context, limit time.Duration) (int, error) {
	if !p.Server.ReportsLag {
		return 0, nil
	}
	deadline := time.Now().Add(limit)
	for {
		outstanding := 0
		for _, inst := range p.instances() {
			body, err := scrape(ctx, inst.spec.Namespace, inst.spec.MetricsListen)
			if err != nil {
				return 0, err
			}
			for _, g := range []string{"xdhcp_failover_unacked_updates", "xdhcp_failover_pending_updates"} {
				v, err := gauge(body, g)
				if err != nil {
					return 0, fmt.Errorf("%s %s: %w", p.Server.Name, inst.spec.Role, err)
				}
				outstanding += int(v)
			}
		}
		if outstanding == 0 || time.Now().After(deadline) {
			return outstanding, nil
		}
		select {
		case <-ctx.Done():
			return outstanding, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (p *Process) instances() []*Process {
	if p.Partner != nil {
		return []*Process{p, p.Partner}
	}
	return []*Process{p}
}

// gauge returns the value of an unlabelled sample in an exposition.
func gauge(exposition []byte, name string) (float64, error) {
	for _, line := range strings.Split(string(exposition), "\n") {
		series, _, value, err := splitSample(strings.TrimSpace(line))
		if err != nil || series != name {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(value, &v); err != nil {
			return 0, fmt.Errorf("%s value %q: %w", name, value, err)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%s: %w", name, ErrNoMetric)
}

// xdhcpdFailoverState returns the state and partner state xdhcpd reports
// in xdhcp_failover_state (the series whose value is 1).
func xdhcpdFailoverState(exposition []byte) (state, partner string, err error) {
	for _, line := range strings.Split(string(exposition), "\n") {
		series, labels, value, err := splitSample(strings.TrimSpace(line))
		if err != nil || series != "xdhcp_failover_state" || value != "1" {
			continue
		}
		state, _ = labelValue(labels, "state")
		partner, _ = labelValue(labels, "partner_state")
		return state, partner, nil
	}
	return "", "", fmt.Errorf("xdhcp_failover_state: %w", ErrNoMetric)
}

// waitXdhcpdNormal waits until both partners report NORMAL with the
// partner NORMAL too.
func waitXdhcpdNormal(ctx context.Context, p *Process) error {
	return waitPair(ctx, p, "NORMAL/NORMAL", func(ctx context.Context, inst *Process) (string, error) {
		body, err := scrape(ctx, inst.spec.Namespace, inst.spec.MetricsListen)
		if err != nil {
			return "", err
		}
		st, partner, err := xdhcpdFailoverState(body)
		if err != nil {
			return "", err
		}
		return st + "/" + partner, nil
	})
}
