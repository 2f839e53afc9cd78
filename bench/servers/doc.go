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
// durable, as observed with strace on this machine.
package servers
