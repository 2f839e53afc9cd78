// Package alloc hands out IPv4 addresses from the pools of one DHCP scope.
//
// It keeps everything in memory and does no I/O: the DHCP handler asks a
// [Scope] for an address (Offer), binds it (Request), and persists the
// [lease.Lease] it gets back through the lease store. At start the scope is
// rebuilt from the store with Restore. Changes the allocator makes on its
// own (leases running out, decline holds ending) are collected and handed to
// the caller by Expire, which it calls periodically to persist them.
//
// # Index
//
// Every address of the scope's pools has a slot: pool addresses are slots
// 0..n-1 in ascending address order (the pools are merged and sorted), and
// addresses outside the pools that still need a record (reservations outside
// the pools, leases restored from a changed configuration) get slots after
// them. Per-address state lives in one flat slice of slots.
//
// Free pool addresses sit on intrusive doubly-linked lists threaded through
// the slots (prev/next slot numbers), so taking the head, appending, and
// unlinking one given address are all O(1):
//
//   - the fresh list holds addresses no client is remembered for (never used,
//     or deleted by the operator), in ascending order;
//   - the recycled list holds addresses whose last client is remembered
//     (expired, released, declined and back), oldest first, so a returning
//     client is likely to find its previous address still free.
//
// New clients get fresh addresses first, then the longest-free recycled one.
// Each slot records which list it is on. There is one fresh/recycled pair
// per failover owner (list id = owner*2 + kind); without failover only the
// primary's pair is used, so such a scope behaves as if failover did not
// exist.
//
// A map from [ClientKey] to slot finds a client's offer, lease or previous
// address. A min-heap of deadlines (offer holds, lease expiries, decline
// holds) makes Expire O(1) when nothing is due and O(log n) per change.
//
// # Rules
//
// Offer picks, in order: the client's reservation; its current lease; the
// address already held as its offer; its previous address if still free; the
// requested address (option 50) if free and allowed; the next free address.
// The chosen address is held for the offer hold so no other client is offered
// it. When no address is free, an offer made a quarter of a second or more
// ago (real clients answer within milliseconds) gives its address to the
// newcomer, so a DISCOVER flood from random MACs cannot hold the whole pool
// for the offer hold; its client gets a NAK if it asks for it later.
// Otherwise a full pool returns [ErrNoAddrAvail] and is counted in [Stats].
// Request binds an address and returns the lease to persist, or
// [ErrNotAvailable] (wrapped with the reason) for a NAK.
//
// [Scope.RequestCached] is Request with a lease cache: a REQUEST early in a
// lease (less than the scope's cache threshold of its term) that changes
// nothing about it is answered with the lease as it stands, and nothing is
// to be persisted. Only a lease the caller has reported durable
// ([Scope.MarkDurable]) qualifies, and any change to the address (a new
// binding, a release, an expiry, the partner's update) clears that mark,
// so a lease is never reused before its write has finished.
//
// # Failover ownership
//
// A scope becomes one half of a draft-ietf-dhc-failover-12 pair with
// [Scope.SetShare]. As the draft says (§5.4), only an available address has
// an owner; a leased or abandoned address is owned by neither server (an
// offered one stays its owner's until it is bound). The allocator keeps an absolute owner per free dynamic
// address, in the draft's terms:
//
//   - FREE: the primary's to allocate (lease.StateFree records);
//   - BACKUP: the secondary's to allocate (lease.StateBackup records).
//
// [Owner] (OwnerSelf, OwnerPartner) is the same thing relative to this
// server. Who owns what:
//
//   - Split: SetShare(role, primaryPermille) gives the primary
//     floor(dynamic*permille/1000) of the dynamic addresses (pool addresses
//     neither reserved nor excluded) and the secondary the rest. The
//     addresses are ranked once, by a fixed bit-reversal order over the
//     pool order, and the primary takes the lowest ranks: both partners
//     compute the same division from the same configuration and both pass
//     the primary's share, so no address is on both sides or on neither,
//     and the primary's set at a larger share contains its set at any
//     smaller one. The split applies only to addresses no record speaks
//     for.
//   - Records: a stored or received FREE record makes an address the
//     primary's, BACKUP the secondary's. Any address that becomes available
//     after a binding ends here or at the partner (expiry, release, the end
//     of a decline hold, an operator's Delete, RESET) is the primary's, as
//     §5.4 says; the primary rebalances by sending BACKUP records.
//   - Moves: [Scope.Transfer] gives free addresses away (or takes over a
//     downed partner's) and returns the FREE/BACKUP records to store and
//     send; [Scope.Apply] takes the partner's. The giver always stops using
//     an address before the taker starts, so in between it is on neither
//     side.
//
// Restore rebuilds ownership from the records: FREE and BACKUP as above,
// every other state the primary's once free; addresses without a record
// get the split, whether SetShare runs before or after Restore. The caller
// must therefore store the FREE records the allocator returns (including
// those Expire returns for ended decline holds) instead of deleting them,
// on failover scopes: a missing record means "as the split says".
//
// # Who may allocate what
//
// [Scope.SetAllocation] sets the policy for clients without a binding:
//
//   - AllocOwn (the zero value; NORMAL, COMMUNICATIONS-INTERRUPTED,
//     PARTNER-DOWN before the MCLT passed): this server's share only;
//   - AllocAll (PARTNER-DOWN after the MCLT): its share, then the partner's;
//   - AllocNone (RECOVER-DONE and the other states that make no new
//     bindings): Offer returns [ErrNoNewBindings] and Request refuses free
//     addresses.
//
// In every policy a client keeps and renews its Active lease, and a
// reservation is served (both partners have the same reservations, so it
// cannot conflict). An offer whose address the policy no longer allows is
// not bound.
//
// Controlled re-allocation (§5.2.2): on a failover scope a lease that
// expires or is released here does not go back to a free list. It waits,
// free only for its own client, until the partner acknowledges the
// Expired/Released update ([Scope.Acked]), or, in PARTNER-DOWN, until an
// MCLT has passed ([Scope.ReclaimAwaiting]); then it is the primary's.
// When the partner itself reports the end of a binding, nobody waits.
//
// # Split changes
//
// Calling SetShare again with another share moves free addresses from the
// side whose share shrinks to the side whose share grows, and nothing the
// other way (addresses the giver had received by balancing stay put). The
// giver must apply the change before the taker: the giver stops using the
// moved addresses at once, and until the taker applies it they are on
// neither side, never on both. In a three-step exchange (prepare,
// acknowledge, commit) the giver applies it at its first step and the taker
// at its last. SetShare returns the FREE/BACKUP records of the moved
// addresses for the caller to store; the partner is not told, it applies
// the same change itself.
//
// # Conflicts
//
// [Scope.Apply] decides a partner's binding update by the table of §7.1.3
// (Figure 7.1.3-1): client-last-transaction-time (lease.Lease.Updated)
// decides between an update and an EXPIRED or RELEASED binding here,
// expiry decides whether a FREE/BACKUP/EXPIRED update may end a live lease,
// ABANDONED here rejects all but RESET and ABANDONED, and two ACTIVE
// bindings of different clients are settled by role: the secondary accepts
// the primary's, the primary rejects the secondary's (reject-reason 2). A
// rejection is a [*RejectError] carrying the draft's reject-reason code.
//
// After a partition both partners' updates cross, so every rule must lead
// both sides to the same record whichever update arrives first:
//
//   - cltts are compared in whole seconds, the wire's precision (our own
//     records keep nanoseconds, the partner's arrive truncated); within
//     one second neither is later, and the tie goes to the Active binding
//     (a client may be using the address; the cost is a delayed reuse);
//   - two ACTIVE bindings of the same client merge into the later expiry
//     and cltt;
//   - a client bound to a different address by each partner keeps both
//     (legal, §7.1.2); its current lease is the later one, the other runs
//     out;
//   - a client that moves to another address ends its old lease with that
//     transaction's time, and an EXPIRED update of the same client with a
//     later cltt ends the partner's Active copy.
//
// Updated is the client's last transaction on Active, Expired, Released
// and Abandoned records. On FREE and BACKUP records it may instead be when
// the record was written (settled after the partner's acknowledgement,
// moved by pool balancing; the engine picks the records to resend after a
// restart by that field), so no rule compares it.
package alloc
