package main

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xdhcp/xdhcp/failover"
)

type fixedStatus failover.Status

func (f fixedStatus) Status() failover.Status { return failover.Status(f) }

func TestFailoverCollectorExportsReplicationLag(t *testing.T) {
	bounds := failover.LagBounds()
	counts := make([]uint64, len(bounds)+1)
	counts[0], counts[3], counts[len(bounds)] = 2, 1, 1 // ≤100µs, (400µs, 800µs], above the last bound
	st := failover.Status{State: "NORMAL", PartnerState: "NORMAL", Connected: true,
		ReplicationLag: failover.Lag{Buckets: bounds, Counts: counts, Count: 4, Sum: 20.0007},
		RejectedBy:     map[string]uint64{"outdated-binding-info": 3}}
	reg := prometheus.NewRegistry()
	reg.MustRegister(newFailoverCollector(fixedStatus(st)))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range families {
		found[mf.GetName()] = true
		if mf.GetName() != "xdhcp_failover_replication_lag_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if h.GetSampleCount() != 4 || h.GetSampleSum() != 20.0007 {
			t.Fatalf("count %d sum %v, want 4 and 20.0007", h.GetSampleCount(), h.GetSampleSum())
		}
		if len(h.GetBucket()) != len(bounds) {
			t.Fatalf("%d buckets, want %d", len(h.GetBucket()), len(bounds))
		}
		for i, b := range h.GetBucket() {
			want := uint64(2)
			if i >= 3 {
				want = 3
			}
			if b.GetUpperBound() != bounds[i] || b.GetCumulativeCount() != want {
				t.Errorf("bucket %d: le=%v count %d, want le=%v count %d", i, b.GetUpperBound(), b.GetCumulativeCount(), bounds[i], want)
			}
		}
	}
	for _, name := range []string{"xdhcp_failover_updates_rejected_total", "xdhcp_failover_replication_lag_seconds", "xdhcp_failover_connected", "xdhcp_failover_events_total", "xdhcp_failover_state"} {
		if !found[name] {
			t.Errorf("metric %s not exported", name)
		}
	}
}
