// Package bench is the root of xdhcp's DHCP benchmark tooling. It holds no
// code of its own; the work is split into narrow packages:
//
//   - netns: a generator namespace joined to a server namespace by a veth pair.
//   - procstat: CPU seconds of a process from /proc.
//   - servers: equivalent configurations and process control for xdhcpd, Kea,
//     ISC dhcpd and dnsmasq.
//   - perfdhcp: runs ISC perfdhcp and parses its report.
//   - frame, rawio, stats, loadgen, responder, report: the xdhcp-bench load
//     generator and its echo responder.
//   - afxdp: an AF_XDP socket, the generator's fastest packet I/O here
//     (`xdhcp-bench run --io afxdp`).
//   - xdpecho: XDP programs for the yardstick: an echo responder that
//     answers in the driver, a pass-all program and a live-frames flood.
//   - suite: the benchmark matrix behind `make bench`.
package bench
