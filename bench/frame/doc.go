// Package frame builds and parses whole DHCPv4 frames (Ethernet, IPv4, UDP,
// BOOTP and the options the generator and responder use) and ARP frames,
// without allocating, so the load generator can move hundreds of thousands
// of frames a second.
//
// # Scope
//
// Build writes the options that are set in a Message (message type, server
// identifier, requested address, lease time, subnet mask, client identifier,
// relay agent information with circuit-id and remote-id). Parse reads those
// same options and ignores the rest; byte slices in a parsed Message alias
// the frame. Malformed input returns an error, never panics.
package frame
