package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/xdhcp/xdhcp/failover"
)

// failoverStatuser is the part of *failover.Peer the collector reads.
type failoverStatuser interface{ Status() failover.Status }

// failoverCollector exports the failover engine's state, counters and
// replication lag.
type failoverCollector struct {
	peer                                failoverStatuser
	state, unacked, pending, up, events *prometheus.Desc
	lag, rejected                       *prometheus.Desc
}

func newFailoverCollector(peer failoverStatuser) *failoverCollector {
	return &failoverCollector{
		peer: peer,
		state: prometheus.NewDesc("xdhcp_failover_state",
			"1 for this server's current failover state (draft-12 name), with the partner's.", []string{"state", "partner_state"}, nil),
		unacked: prometheus.NewDesc("xdhcp_failover_unacked_updates",
			"Binding updates sent to the partner and not yet acknowledged.", nil, nil),
		pending: prometheus.NewDesc("xdhcp_failover_pending_updates",
			"Binding updates waiting to be sent to the partner.", nil, nil),
		up: prometheus.NewDesc("xdhcp_failover_connected",
			"1 while the connection to the partner is up.", nil, nil),
		events: prometheus.NewDesc("xdhcp_failover_events_total",
			"Failover engine events since start.", []string{"event"}, nil),
		rejected: prometheus.NewDesc("xdhcp_failover_updates_rejected_total",
			"Binding updates the partner refused, by draft-12 reject reason.", []string{"reason"}, nil),
		lag: prometheus.NewDesc("xdhcp_failover_replication_lag_seconds",
			"Seconds from a committed binding being queued for the partner to the partner's BNDACK accepting it.", nil, nil),
	}
}

func (c *failoverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.unacked, c.pending, c.up, c.events, c.lag, c.rejected} {
		ch <- d
	}
}

func (c *failoverCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.peer.Status()
	ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, 1, st.State, st.PartnerState)
	ch <- prometheus.MustNewConstMetric(c.unacked, prometheus.GaugeValue, float64(st.UnackedUpdates))
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(st.PendingUpdates))
	connected := 0.0
	if st.Connected {
		connected = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, connected)
	lag := st.ReplicationLag
	ch <- prometheus.MustNewConstHistogram(c.lag, lag.Count, lag.Sum, lag.Cumulative())
	for reason, n := range st.RejectedBy {
		ch <- prometheus.MustNewConstMetric(c.rejected, prometheus.CounterValue, float64(n), reason)
	}
	k := st.Counters
	for name, v := range map[string]uint64{
		"connection": k.Connections, "auth-failure": k.AuthFailures, "malformed": k.Malformed, "timeout": k.Timeouts,
		"update-sent": k.UpdatesSent, "update-acked": k.UpdatesAcked, "update-rejected": k.UpdatesRejected, "update-resent": k.UpdatesResent,
		"update-received": k.UpdatesReceived, "apply-failure": k.ApplyFailures, "address-moved": k.AddressesMoved,
		"settings-pushed": k.SettingsPushed, "settings-applied": k.SettingsApplied, "settings-refused": k.SettingsRefused,
	} {
		ch <- prometheus.MustNewConstMetric(c.events, prometheus.CounterValue, float64(v), name)
	}
}
