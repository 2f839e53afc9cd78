// Package afxdp sends and receives whole Ethernet frames on one queue of
// an interface through an AF_XDP socket: the load generator's third packet
// I/O engine beside bench/rawio's recvmmsg and TPACKET_V3 ring (xdhcp-bench
// run --io afxdp).
//
// # How it works
//
// Open registers a UMEM (an anonymous mapping cut into 2 KiB frames, half
// for receive and half for transmit), maps its fill and completion rings
// and the socket's RX and TX rings, and binds the socket to the queue,
// asking for zero-copy first and falling back to copy mode (veth has only
// copy mode); Conn.Mode reports what it got. It then attaches
// xdp_redirect_xsk (redirect.c) through a bpf_link, so the program goes
// away with the process, even after kill -9.
//
// The program redirects to the socket the frames rawio's socket filter
// would admit (unfragmented IPv4 UDP to the configured ports, and ARP when
// asked) and passes everything else to the stack. ARP requests for the
// interface's own IPv4 addresses also pass, so the kernel keeps answering
// for a relay's giaddr. The socket never sees its own transmissions.
//
// # Limits
//
// One socket serves one queue. Frames the program wants that arrive on a
// queue without a socket are passed and counted (Counters, NoSocket): give
// a multi-queue interface one combined channel (ethtool -L IFACE combined
// 1) or steer the traffic to the bound queue. Frames longer than a UMEM
// frame less the XDP headroom (1,792 bytes) cannot be received.
package afxdp
