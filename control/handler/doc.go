// Package handler decides how xdhcpd answers each DHCPv4 or BOOTP message.
//
// It is the protocol core of the control plane and does no I/O: given a
// decoded request and the link it arrived on, Handle picks the scope, asks
// the scope's allocator (control/alloc) for an address, and returns the reply
// to send together with the lease that must be made durable first. The
// server (control/server) owns sockets, the lease store and the order
// "commit, then send".
//
// # Scope selection
//
// A relayed message (giaddr set) is served from the scope whose subnet holds
// giaddr. A direct one is served from the scopes on the link it arrived on
// (the subnets of the interface's own addresses), tried in order until one
// has a free address, so several subnets can share one link. A renewing
// client (ciaddr set, no requested address) is served from the scope that
// holds ciaddr, whichever link it came in on.
//
// # Message handling (RFC 2131 §4.3)
//
//   - DISCOVER: offer the client's reservation, its current or previous
//     address, the address it asks for, or the next free one.
//   - REQUEST in SELECTING (server identifier present): ACK when the server
//     identifier is ours and the address can go to the client, otherwise NAK;
//     a REQUEST naming another server is ignored.
//   - REQUEST in INIT-REBOOT (requested address, no ciaddr): NAK when the
//     address is not on the client's network or belongs to someone else,
//     else ACK. The server is authoritative for its scopes.
//   - REQUEST in RENEWING or REBINDING (ciaddr): ACK and extend, or NAK when
//     the address is bound to another client or lies in no pool.
//   - RELEASE and DECLINE change the lease and are not answered; INFORM gets
//     an ACK with options only.
//   - BOOTP (no message type option): answered from a reservation or the
//     pool when the scope's protocol allows bootp.
//
// # The hot path
//
// RequestPool decodes datagrams into recycled Decoded values: the header,
// and the options the handler reads found in one pass; the library's
// option map is built only if Decoded.Message asks for it. HandleDecoded
// answers such a request without allocating for a known client: the
// Result's lease lives in the Decoded until it is given back.
//
// Replies are the package's own Reply type, recycled by ReplyPool: the
// header in fixed arrays, the message type as a field, and the options as
// a bit set of codes with one value each, so that building, encoding
// (AppendReply: code order, no sort) and recycling a reply touch no map.
// Reply.Message converts a reply to the library's form for tests and cold
// paths, and NewReply converts back.
package handler
