// Package dataplane runs xdhcp's XDP program and its pure-Go twin.
//
// The XDP program (bpf/xdhcp.c, compiled by bpf2go into the committed
// xdhcp_bpfel.o) classifies every frame on a serving interface before the
// kernel builds an skb: frames that are not DHCP to port 67 pass untouched,
// malformed DHCP is dropped, the failover partner's RFC 3074 hash buckets
// are dropped, and the flood guard drops what is over its rates: per
// client (chaddr), per source (the Ethernet source and VLAN IDs, or, when
// source-limit.relayed is set, the relay's giaddr and option 82) and one
// budget for all DISCOVERs. Every
// verdict is counted by (Action, Reason). docs/DATAPLANE.md has the full
// verdict table.
//
// # Dataplane
//
// New loads the program and its maps; Attach attaches it to an interface
// (native XDP, falling back to generic in auto mode) through a bpf_link,
// which the kernel removes when the process exits, however it exits. Close
// detaches from every interface. SetBuckets, SetSplit and SetLoadBalancing
// change the bucket assignment atomically: the program sees the old one or
// the new one, never a mix. Reconfigure rewrites the guards' rates and the
// secs bypass in the attached program (the tables keep their sizes until a
// restart; RestartNeeded names such changes). Stats sums the per-CPU
// counters; a Dataplane is a prometheus.Collector.
//
// # Filter
//
// Filter makes the same decisions in Go, for when XDP cannot be attached
// (no privileges, dataplane.mode: off). The control plane calls Payload on
// each datagram it reads from port 67 and drops what the filter drops.
// Frame takes a whole Ethernet frame; the tests feed one corpus to the
// program (through BPF_PROG_TEST_RUN) and to Frame and demand the same
// verdicts.
//
// # Regenerating
//
// After changing bpf/xdhcp.c run `go generate ./dataplane/` (clang and
// libbpf-dev needed) and commit the regenerated files; the output is
// reproducible byte for byte.
package dataplane
