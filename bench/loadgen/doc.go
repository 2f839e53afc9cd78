// Package loadgen is the DHCP load generator's engine: a population of
// simulated clients, each a small state machine (DISCOVER → OFFER →
// REQUEST → ACK, then RENEW by unicast, REBIND by broadcast, RELEASE or
// DECLINE), driven open-loop at a target rate over a batched PacketIO.
//
// # Scenarios
//
//   - dora: every start is a full DORA by the next free client.
//   - renew: all clients are bound first (warm-up, not measured); then
//     every start is a unicast RENEW.
//   - rebind: as renew, with broadcast REBINDs.
//   - mix: half the clients are bound in warm-up and renew; the other
//     half do DORA; starts alternate between the two.
//   - flood: DISCOVERs from throw-away MACs at the target rate, while a
//     few legitimate clients (LegitRate) do DORA inside it and are
//     measured.
//
// # Design
//
// One goroutine does everything: starts due exchanges, retransmits timed
// out ones, sends in batches and handles replies, so there are no locks
// on the hot path. Transaction ids map straight to client indexes (offset
// by a per-run salt), timeouts sit in a FIFO because every attempt has the
// same timeout, and the generator answers ARP for addresses its clients
// hold so servers that unicast through the kernel can reach them.
package loadgen
