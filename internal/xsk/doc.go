// Package xsk is an AF_XDP socket on one queue of a network interface: the
// UMEM, its fill and completion rings, and the socket's RX and TX rings,
// shared with the kernel by mmap.
//
// The socket receives only what an XDP program redirects to it through an
// XSKMAP; this package opens and binds the socket, and the caller puts
// FD into its own program's map. Both xdhcpd's dataplane (bpf/xdhcp.c) and
// the load generator's redirect program (bench/afxdp) do so.
//
// Frames are copied in and out of the UMEM: on veth, which has no
// zero-copy mode, the kernel copies anyway, and a copy of a 300-byte DHCP
// frame costs less than the bookkeeping of lending UMEM frames to callers.
// A Socket is not safe for concurrent use, except that receiving (Receive)
// and sending (Send) use separate rings and may run in two goroutines at
// once.
package xsk
