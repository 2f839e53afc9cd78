// Package servers starts the DHCP servers under test with equivalent
// configurations: the same interface, subnet, pool, lease time and each
// server's own default durable lease storage.
//
// # Servers
//
//   - xdhcpd: this project's server (Badger lease store, synced before ACK).
//   - kea, kea-mt: kea-dhcp4 with the memfile backend, single- and
//     multi-threaded.
//   - dhcpd: ISC dhcpd with its leases file (ping-check off, as for
//     dnsmasq).
//   - dnsmasq: dnsmasq's DHCP server with its lease file (DNS off, and
//     --no-ping so it does not wait for an ICMP probe before each offer).
//   - echo: xdhcp-bench's own stateless responder, the generator's
//     yardstick (Spec.Binary should name the xdhcp-bench executable).
//
// Each Server's Durability field states what it does to make a lease
// durable, as observed with strace on this machine. Servers with a lease
// cache (LeaseCache: xdhcpd, Kea, ISC dhcpd) run with the threshold
// Spec.LeaseCachePercent gives, 0 (off) unless the suite says otherwise.
//
// # Pairs
//
// A Pair server runs a primary in Spec.Namespace and a secondary in
// Spec.PeerNamespace, and Start returns only when both are in normal
// operation:
//
//   - xdhcpd-failover: two xdhcpd in failover load-balance 50/50; ready when
//     both report NORMAL with the partner NORMAL (xdhcp_failover_state).
//   - kea-ha: two multi-threaded kea-dhcp4 with the HA hook in
//     load-balancing mode, talking through HA+MT's dedicated HTTP listener
//     (port 8001, no kea-ctrl-agent), the pool split in halves by the
//     HA_server1/HA_server2 classes; ready when both answer ha-heartbeat
//     on their unix control sockets with load-balancing. With Kea's
//     default heartbeat delay (10 s) that takes about 20 s.
//
// # Replication lag
//
// Process.ReplicationLag scrapes LagMetric from both xdhcpd partners
// (their metrics endpoint on 127.0.0.1:9267 inside each namespace) and
// sums the histograms; Histogram.Sub gives a step's share and Quantile and
// Mean summarise it. Process.Settle waits until no binding update is
// queued or unacknowledged, so a step's last updates are counted in it.
package servers
