package dataplane

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/xdhcp/xdhcp/internal/config"
)

func TestFilterMetrics(t *testing.T) {
	f := NewFilter(config.Dataplane{})
	if err := f.SetSplit(50, true); err != nil {
		t.Fatal(err)
	}
	f.Frame(dhcpFrame(newMsg(withMAC(partnerMAC))), time.Now())
	f.Frame(dhcpFrame(newMsg(withMAC(ourMAC))), time.Now())
	f.Frame(dhcpFrame(newMsg(withMAC(ourMAC))), time.Now())
	mfs := gather(t, f)
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() == "xdhcp_dataplane_owned_buckets" {
			if v := mf.GetMetric()[0].GetGauge().GetValue(); v != 128 {
				t.Errorf("owned_buckets = %v, want 128", v)
			}
		}
		if mf.GetName() != "xdhcp_dataplane_packets_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var action, reason string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "action":
					action = l.GetValue()
				case "reason":
					reason = l.GetValue()
				}
			}
			got[action+"/"+reason] = m.GetCounter().GetValue()
		}
	}
	if got["pass/ours"] != 2 || got["drop/partner"] != 1 {
		t.Errorf("packets_total: %v", got)
	}
	if len(got) != counterSlots {
		t.Errorf("%d packet series, want one for each of %d verdicts", len(got), counterSlots)
	}
}

// gather registers c on a pedantic registry and gathers its metrics.
func gather(t *testing.T, c prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}
