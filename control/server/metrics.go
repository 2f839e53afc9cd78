package server

import (
	"sync/atomic"

	"fmt"
	"go.uber.org/zap"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xdhcp/xdhcp/control/handler"
)

// metrics is the server's prometheus.Collector: packet and outcome
// counters it updates, and scope gauges it reads from the allocators at
// scrape time.
type metrics struct {
	srv   *Server
	tally [256]atomic.Uint64 // outcomes since start, for the periodic summary

	// The per-packet counters, looked up once rather than by label each time.
	inByType, outByType [numTypes]prometheus.Counter
	byOutcome           [256]prometheus.Counter
	in                  *prometheus.CounterVec
	out                 *prometheus.CounterVec
	outcomes            *prometheus.CounterVec
	drops               *prometheus.CounterVec

	leasesDesc      *prometheus.Desc
	utilizationDesc *prometheus.Desc
	exhaustedDesc   *prometheus.Desc
	reusedDesc      *prometheus.Desc
}

var _ prometheus.Collector = (*metrics)(nil)

func newMetrics(s *Server) *metrics {
	m := &metrics{
		srv: s,
		in: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xdhcp_packets_received_total", Help: "DHCP messages received, by message type.",
		}, []string{"type"}),
		out: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xdhcp_packets_sent_total", Help: "DHCP replies sent, by message type.",
		}, []string{"type"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xdhcp_outcomes_total", Help: "What the handler did with each decoded message.",
		}, []string{"outcome"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "xdhcp_drops_total", Help: "Packets dropped before or after the handler, by reason.",
		}, []string{"reason"}),
		leasesDesc: prometheus.NewDesc("xdhcp_leases", "Addresses by scope and state.",
			[]string{"scope", "state"}, nil),
		utilizationDesc: prometheus.NewDesc("xdhcp_pool_utilization_ratio",
			"Share of a scope's dynamic addresses not free (0..1).", []string{"scope"}, nil),
		exhaustedDesc: prometheus.NewDesc("xdhcp_pool_exhausted_total",
			"Times a client found no free address in the scope.", []string{"scope"}, nil),
		reusedDesc: prometheus.NewDesc("xdhcp_leases_reused_total",
			"REQUESTs answered with the stored lease and its remaining time, without a write (server.cache-threshold-percent).",
			[]string{"scope"}, nil),
	}
	for _, o := range handler.Outcomes() {
		m.byOutcome[o] = m.outcomes.WithLabelValues(o.String())
	}
	for i, name := range typeNames {
		m.inByType[i] = m.in.WithLabelValues(name)
		m.outByType[i] = m.out.WithLabelValues(name)
	}
	return m
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	m.in.Describe(ch)
	m.out.Describe(ch)
	m.outcomes.Describe(ch)
	m.drops.Describe(ch)
	ch <- m.leasesDesc
	ch <- m.utilizationDesc
	ch <- m.exhaustedDesc
	ch <- m.reusedDesc
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.in.Collect(ch)
	m.out.Collect(ch)
	m.outcomes.Collect(ch)
	m.drops.Collect(ch)
	for _, ss := range m.srv.Status().Scopes {
		for state, v := range map[string]uint64{
			"free": ss.Free, "offered": ss.Offered, "active": ss.Active,
			"declined": ss.Declined, "reserved": ss.Reserved,
		} {
			ch <- prometheus.MustNewConstMetric(m.leasesDesc, prometheus.GaugeValue, float64(v), ss.Subnet, state)
		}
		ch <- prometheus.MustNewConstMetric(m.utilizationDesc, prometheus.GaugeValue, ss.Utilization, ss.Subnet)
		ch <- prometheus.MustNewConstMetric(m.exhaustedDesc, prometheus.CounterValue, float64(ss.Exhausted), ss.Subnet)
		ch <- prometheus.MustNewConstMetric(m.reusedDesc, prometheus.CounterValue, float64(ss.Reused), ss.Subnet)
	}
}

func (m *metrics) received(req *handler.Decoded) { m.inByType[typeIndex(req.MessageType())].Inc() }

// sent counts a reply; one without a type is a BOOTREPLY.
func (m *metrics) sent(r *handler.Reply) {
	typ := r.MessageType()
	m.outByType[typeIndex(typ, typ != dhcpv4.MessageTypeNone)].Inc()
}

func (m *metrics) drop(reason string)         { m.drops.WithLabelValues(reason).Inc() }
func (m *metrics) dropN(reason string, n int) { m.drops.WithLabelValues(reason).Add(float64(n)) }
func (m *metrics) outcome(o handler.Outcome) {
	m.byOutcome[o].Inc()
	m.tally[o].Add(1)
}

// summary returns the outcomes counted since the last call (prev holds the
// totals then and is updated), as log fields; nil when nothing happened.
func (m *metrics) summary(prev *[256]uint64) []zap.Field {
	var fields []zap.Field
	for _, o := range handler.Outcomes() {
		now := m.tally[o].Load()
		if d := now - prev[o]; d > 0 {
			fields = append(fields, zap.Uint64(o.String(), d))
		}
		prev[o] = now
	}
	return fields
}

// StoreMetrics measures the lease store's durable commits. It exists
// before the server, since the store is opened first.
type StoreMetrics struct {
	commit prometheus.Histogram
	batch  prometheus.Histogram
}

// NewStoreMetrics registers the commit histograms with reg (nil: not
// exported).
func NewStoreMetrics(reg prometheus.Registerer) (*StoreMetrics, error) {
	m := &StoreMetrics{
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xdhcp_store_commit_seconds",
			Help:    "Latency of one durable lease store commit (one synced transaction).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "xdhcp_store_commit_leases",
			Help:    "Leases written by one durable lease store commit.",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.commit, m.batch} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register store metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Observe records one commit; pass it as lease.Options.OnCommit.
func (m *StoreMetrics) Observe(leases int, took time.Duration) {
	m.commit.Observe(took.Seconds())
	m.batch.Observe(float64(leases))
}

// typeNames labels the message types counted: BOOTP (no type option),
// the eight RFC 2131 types by number, and everything else.
var typeNames = [numTypes]string{"bootp", "DISCOVER", "OFFER", "REQUEST", "DECLINE", "ACK", "NAK", "RELEASE", "INFORM", "other"}

const numTypes = 10

// typeIndex maps a message type to its slot in typeNames; present is
// false for BOOTP, which has no type option.
func typeIndex(typ dhcpv4.MessageType, present bool) int {
	switch {
	case !present:
		return 0
	case typ >= 1 && typ <= 8:
		return int(typ)
	}
	return numTypes - 1
}
