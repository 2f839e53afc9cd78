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
// Each slot records which list it is on; the lists are indexed by a list id
// so that the failover work can give every address an owner (this server or
// its partner) by keeping one fresh/recycled pair per owner without changing
// the slot layout.
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
// it. A full pool returns [ErrNoAddrAvail] and is counted in [Stats].
// Request binds an address and returns the lease to persist, or
// [ErrNotAvailable] (wrapped with the reason) for a NAK.
package alloc
