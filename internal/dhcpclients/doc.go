// Package dhcpclients drives real DHCP clients and tools inside network
// namespaces built with internal/netns, for xdhcp's end-to-end tests and
// its demo.
//
// # Clients
//
// Dhclient (isc-dhcp-client), Udhcpc (busybox) and Dhcpcd (dhcpcd-base)
// implement Client. Each runs with a hook script written by this package
// that records every event's environment in a directory and, for dhclient
// and udhcpc, puts the leased address on the client's own interface (dhcpcd
// does that itself). No client ever runs its distribution hooks, so none
// touches the host's resolv.conf; the namespace's own resolv.conf is a
// private file as well (see netns). dhcpcd runs under
// "unshare -p -f --kill-child -m" with private /run and /var/lib/dhcpcd.
// The Lease a client reports is parsed from its script environment, so tests
// assert on what the client really received.
//
// # Tools
//
// RunPerfdhcp runs Kea's perfdhcp and parses its statistics; StartRelay runs
// ISC dhcrelay with option 82; StartCapture runs tshark and returns the
// fields of the packets it saw.
package dhcpclients
