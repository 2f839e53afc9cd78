// Package responder is a minimal DHCP echo responder: the generator's own
// yardstick. It answers DISCOVER with OFFER and REQUEST with ACK using the
// least work that still yields well-formed replies — an address derived
// from the client's MAC, no lease state, no storage — so a run against it
// measures the load generator, not a server.
//
// Reply is the pure per-packet function (also used as the fake server in
// the generator's unit tests); Serve runs it on a packet socket in
// batches.
package responder
