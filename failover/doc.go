// Package failover is xdhcpd's DHCP failover engine: two servers serve the
// same scopes as partners over one TCP connection speaking
// draft-ietf-dhc-failover-12 as ISC dhcpd 4.x does (package wire), with
// optional HMAC-SHA256 message authentication (package auth) and the
// draft's server state machine (package fsm).
//
// # Integration
//
// The server builds one Peer per failover relationship and runs it:
//
//	peer, err := failover.New(cfg, deps, log)   // cfg from internal/config's Failover
//	go peer.Run(ctx)                            // returns nil when ctx ends
//
// deps implements Deps (and, for pool balancing, FreePools):
//
//   - PutMeta/GetMeta: lease.Store's, for the durable state and split.
//   - ApplyBinding(l): commit a partner's binding (or a pool transfer) to
//     the lease store and the allocator. Do not call Peer.Updated for it.
//     Optionally (BatchApplier) StageBinding/CommitBindings, so that the
//     updates that arrive together share one durable commit.
//   - ForEachBinding(fn): iterate the lease store (UPDREQALL, restart).
//   - SetOwnedBuckets(owned, loadBalancing): program the dataplane bucket
//     map and the Go filter. loadBalancing is true only in NORMAL of
//     load-balance mode, where load-balance-max-seconds applies.
//   - SetServing(policy): what the handler may answer (none, renewals
//     only, all) and which free addresses the allocator may use (none, its
//     own share policy.Own = lease.StateFree on the primary or
//     lease.StateBackup on the secondary, or all).
//
// On the DHCP path the server calls, per binding:
//
//	granted := peer.LeaseTime(desired, current)  // before commit: the MCLT rule
//	... commit lease (Expiry = now + granted) ...
//	peer.Updated(committed)                      // after the durable commit: queues the BNDUPD
//
// Operator commands map to PartnerDown, SetSplit and Status.
//
// # Connection
//
// The primary dials the partner; the secondary listens and accepts only
// from the partner's host. CONNECT carries the relationship name, MCLT,
// max-unacked-bndupd, receive timer and the primary's bucket map, which
// the secondary adopts (ISC behaviour). Each side sends CONTACT after
// ContactInterval of silence (or a third of the partner's announced receive
// timer, if shorter), drops the link after ReceiveTimer without a message,
// and keeps no more BNDUPDs in flight than the smaller of both sides'
// max-unacked-bndupd; the primary reconnects with exponential backoff.
//
// # Updates
//
// Updated queues a binding (coalescing repeats per address); at most
// MaxUnackedBndUpd BNDUPDs are in flight, those of one round written in a
// single batch. Unacked updates go back to the queue on a lost connection;
// after a restart, bindings changed since the last moment everything was
// acknowledged are queued again. UPDREQ is answered with the queue,
// UPDREQALL with every binding, each followed by UPDDONE once acked.
// Updates refused for a retryable reason (6, 254) are resent, at most
// MaxResends times, unless a newer update of the address supersedes them;
// refusals are counted by reason (Status.RejectedBy). Status.ReplicationLag
// is the histogram of queued-to-BNDACK times.
//
// # Scope settings
//
// When Deps implements ScopeSettings, Replicate pushes the failover
// scopes' settings to an xdhcp partner over the same authenticated
// connection (message types 203/204, in chunks); the partner refuses a
// copy older than its own unless forced, else applies it through
// ApplySettings. With ReplicateAuto the engine pushes on every connection.
//
// # Stopping
//
// When Run's context ends the engine enters PAUSED (StopPaused) or
// SHUTDOWN, stores it, sends STATE, waits up to StopWait for the
// partner's answer and the acks in flight, and sends DISCONNECT; Stopped
// is closed after that.
package failover
