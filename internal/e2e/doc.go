// Package e2e runs xdhcpd end to end: real DHCP clients (dhclient, udhcpc,
// dhcpcd), Kea's perfdhcp and ISC dhcrelay talk to the real daemon across
// veth links and a bridge between network namespaces, and the tests check
// what the clients got against what xdhcpctl reports.
//
// The non-test files are the harness, shared with cmd/xdhcp-demo: Build
// compiles xdhcpd and xdhcpctl, Lab wires a server namespace and any number
// of client namespaces to a bridge in a switch namespace (and AddRelay a
// subnet behind a relay), and Daemon runs xdhcpd in the server namespace
// and queries it through xdhcpctl --json.
//
// # What is tested
//
//   - each real client gets a lease with the configured router, name
//     server and lease time, and renews it: with the lease cache off the
//     server's expiry moves; with it on (the default) the client is told
//     the remaining time and nothing is written, alone and in a pair;
//   - a reserved MAC gets its address; a full pool counts exhaustion and
//     a released address goes to the next client; dhcpcd's ARP probe
//     finds a squatter and its DECLINE keeps the address out of use;
//   - perfdhcp's DORA load completes without drops or duplicates, and the
//     server lists one distinct active lease per exchange;
//   - SIGKILL under load loses no lease whose ACK was seen on the wire;
//   - SIGTERM and restart keep every lease; reload applies new options;
//   - a relayed client gets the relayed scope, with option 82 echoed;
//   - malformed frames and a one-MAC flood are dropped by the XDP program
//     and the server keeps serving, in XDP native, generic and off modes;
//   - a failover pair splits clients 50/50 and 70/30 by RFC 3074 bucket in
//     XDP, every frame passed by exactly one server, and both stores hold
//     every lease;
//   - the secondary takes over when the primary is killed (COMMUNICATIONS-
//     INTERRUPTED, then PARTNER-DOWN after the switchover interval),
//     renews the primary's clients, and the pair recovers without losing a
//     lease; a restart resumes the stored failover state and split;
//   - a partitioned pair never binds one address to two clients, and the
//     stores converge when the link heals;
//   - garbage, a stalled partner and a wrong secret are refused and
//     counted while clients keep getting leases;
//   - a live split change under load leaves no client unanswered and no
//     bucket with two owners;
//   - the demo runs the pair, refuses without root or tools, and cleans up
//     on Ctrl-C.
//
// # Running
//
// The tests need root and the client packages (isc-dhcp-client, udhcpc,
// dhcpcd-base, kea-admin, isc-dhcp-relay, tshark); the failover tests also
// build cmd/xdhcp-bench as their load generator. They skip when not root
// and fail, naming the package, when a program is missing:
//
//	go test ./internal/e2e/
//
// TestMain builds xdhcpd and xdhcpctl from the module; set
// XDHCP_E2E_BINDIR to a directory holding both to test prebuilt binaries.
package e2e
