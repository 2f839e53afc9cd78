// Package rawio sends and receives whole Ethernet frames on one interface
// through an AF_PACKET socket, in batches: sendmmsg for transmit, and for
// receive either recvmmsg or a TPACKET_V3 memory-mapped ring.
//
// # Choice of engine
//
// docs/BENCHMARKS.md records the measurement behind the default (the
// xdhcp-bench run --io flag selects the engine). A classic BPF filter
// attached to the socket admits only DHCP frames to the configured UDP
// ports (and ARP when asked), and PACKET_IGNORE_OUTGOING hides the
// socket's own transmissions, so user space sees only replies.
package rawio
