package lease_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
)

func Example() {
	// A real server passes Dir (and a logger) instead of InMemory.
	store, err := lease.Open(lease.Options{InMemory: true})
	if err != nil {
		panic(err)
	}
	defer store.Close()

	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	l := lease.Lease{
		IP:      netip.MustParseAddr("192.0.2.10"),
		State:   lease.StateActive,
		HWType:  1,
		HWAddr:  net.HardwareAddr{0x02, 0, 0, 0, 0, 0x10},
		Start:   now,
		Expiry:  now.Add(time.Hour),
		Updated: now,
	}
	// Commit returns once the lease is synced: only then may the ACK go.
	if err := store.Commit(context.Background(), l); err != nil {
		panic(err)
	}

	// At start, rebuild allocator state from every stored lease.
	err = store.ForEach(func(l lease.Lease) error {
		fmt.Println(l.IP, l.State, l.HWAddr, l.Expiry.Format(time.RFC3339))
		return nil
	})
	if err != nil {
		panic(err)
	}
	// Output: 192.0.2.10 active 02:00:00:00:00:10 2026-11-27T13:00:00Z
}
