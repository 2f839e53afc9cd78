// Package server runs the xdhcpd control plane: it receives DHCP on the
// serving interfaces, asks the handler (control/handler) what to answer,
// makes every new or changed lease durable in the store (control/lease)
// before its reply leaves, and sends the reply where RFC 2131 §4.1 says.
//
// # Packet path
//
// Each serving interface has a UDP socket bound to port 67 on that device
// and a packet socket for direct replies. A fixed set of worker goroutines
// read the UDP sockets; when the XDP dataplane is not attached to the
// interface, the Go filter (dataplane.Filter) decides first, exactly as the
// XDP program would. The handler's decision is then either sent at once (an
// OFFER, a NAK, an INFORM's ACK) or handed to the store's group committer,
// whose completion sends the ACK once the lease is on disk. Many leases share
// one synced Badger transaction, so durability does not cap throughput.
//
// # Where replies go
//
//   - giaddr set: to the relay, giaddr:67, by UDP.
//   - ciaddr set (renewing, rebinding, inform): to ciaddr:68; through the
//     packet socket at the client's hardware address when ciaddr is in one
//     of the interface's subnets (no ARP entry needed per client), else by
//     UDP through the kernel's routing.
//   - NAK, or the client asked for broadcast: 255.255.255.255:68 on the link.
//   - otherwise: to yiaddr:68 at the client's hardware address, through the
//     packet socket, so a client without an address still gets its OFFER.
//
// # Housekeeping
//
// Once a second each scope's expired leases, declines whose hold ended and
// stale offers are reclaimed and the changes committed. Reload re-reads the
// configuration and rebuilds the allocators from the live leases while
// packet handling is paused for the swap, so no lease is dropped.
package server
