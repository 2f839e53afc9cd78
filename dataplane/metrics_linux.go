package dataplane

import "github.com/prometheus/client_golang/prometheus"

var _ prometheus.Collector = (*Dataplane)(nil)

// Describe implements prometheus.Collector.
func (d *Dataplane) Describe(ch chan<- *prometheus.Desc) { describe(ch) }

// Collect implements prometheus.Collector.
func (d *Dataplane) Collect(ch chan<- prometheus.Metric) {
	s, err := d.Stats()
	if err != nil {
		s = newStats()
	}
	collect(ch, "xdp", s, err, d.Buckets(), d.LoadBalancing())
	for name, mode := range d.Attached() {
		ch <- prometheus.MustNewConstMetric(attachedDesc, prometheus.GaugeValue, 1, name, mode.String())
	}
}
