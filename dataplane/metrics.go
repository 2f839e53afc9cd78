package dataplane

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// The metrics both twins export. The source label is "xdp" for the
// program's counters and "filter" for the Go filter's.
var (
	packetsDesc = prometheus.NewDesc("xdhcp_dataplane_packets_total",
		"Frames classified by the dataplane, by action and reason.",
		[]string{"source", "action", "reason"}, nil)
	bytesDesc = prometheus.NewDesc("xdhcp_dataplane_bytes_total",
		"Bytes of the frames classified by the dataplane, by action and reason.",
		[]string{"source", "action", "reason"}, nil)
	bucketsDesc = prometheus.NewDesc("xdhcp_dataplane_owned_buckets",
		"RFC 3074 hash buckets this server serves now (256: all).",
		[]string{"source"}, nil)
	balancingDesc = prometheus.NewDesc("xdhcp_dataplane_load_balancing",
		"1 when load balancing is on.", []string{"source"}, nil)
	attachedDesc = prometheus.NewDesc("xdhcp_dataplane_attached",
		"1 for each interface the XDP program is attached to, with its mode.",
		[]string{"interface", "mode"}, nil)
	errorsDesc = prometheus.NewDesc("xdhcp_dataplane_scrape_error",
		"1 when the dataplane counters could not be read.", []string{"source"}, nil)
)

func describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{packetsDesc, bytesDesc, bucketsDesc, balancingDesc, attachedDesc, errorsDesc} {
		ch <- d
	}
}

// collect sends the metrics of one twin.
func collect(ch chan<- prometheus.Metric, source string, stats Stats, err error, owned [loadbalance.Buckets]bool, balancing bool) {
	failed := 0.0
	if err != nil {
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.GaugeValue, failed, source)
	for _, c := range stats.Counters {
		a, r := c.Action.String(), c.Reason.String()
		ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(c.Packets), source, a, r)
		ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(c.Bytes), source, a, r)
	}
	ch <- prometheus.MustNewConstMetric(bucketsDesc, prometheus.GaugeValue, float64(loadbalance.Count(owned)), source)
	lb := 0.0
	if balancing {
		lb = 1
	}
	ch <- prometheus.MustNewConstMetric(balancingDesc, prometheus.GaugeValue, lb, source)
}

var _ prometheus.Collector = (*Filter)(nil)

// Describe implements prometheus.Collector.
func (f *Filter) Describe(ch chan<- *prometheus.Desc) { describe(ch) }

// Collect implements prometheus.Collector.
func (f *Filter) Collect(ch chan<- prometheus.Metric) {
	s, err := f.Stats()
	collect(ch, "filter", s, err, f.Buckets(), f.LoadBalancing())
}
