// Package xdpecho loads xdhcp-bench's XDP programs (echo.c):
//
//   - xdp_echo, an in-kernel DHCP echo responder that rewrites DISCOVER
//     into OFFER and REQUEST into ACK in place and sends them back with
//     XDP_TX. Attached to the server side of the benchmark's veth pair it
//     answers at a cost close to nothing, so a run against it measures the
//     load generator alone.
//   - xdp_flood, run through BPF_PROG_TEST_RUN with
//     BPF_F_TEST_XDP_LIVE_FRAMES as an in-kernel frame source: it stamps a
//     fresh client MAC and xid on a DISCOVER template each time and
//     transmits it, for DISCOVER floods without a system call per batch.
//
// # Scope
//
// Both handle only frames xdhcp-bench itself builds (IPv4 without
// options, option 53 first). Others pass and are counted. The programs
// are attached with a bpf_link, so they detach when the process exits,
// even after kill -9.
package xdpecho
