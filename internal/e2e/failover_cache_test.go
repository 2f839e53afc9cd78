package e2e

import (
	"testing"
	"time"
)

// TestFailoverRenewalFromCache runs a real client through a pair with the
// lease cache at its default (25%): its first lease is MCLT long, so the
// first renewal writes the full lease and replicates it; the next one,
// seconds later, is answered from the primary's cache with the remaining
// time, and both partners still hold the same lease, expiring when the
// client was told.
func TestFailoverRenewalFromCache(t *testing.T) {
	setup(t, "dhclient")
	const leaseTime = 10 * time.Minute // the pair's scope (newPair)
	p := newPair(t, pairOpts{percent: 50, mclt: 5 * time.Second})
	p.waitSettled(t, 30*time.Second)

	c := p.addClient(t, "dhclient", macFor(0x21, false, primaryBucket(50)))
	first := acquire(t, c, false, foAddrA.Addr())
	p.waitSettled(t, 20*time.Second)
	extended := acquire(t, c, true, foAddrA.Addr())
	if extended.IP != first.IP || extended.LeaseTime != leaseTime {
		t.Fatalf("first renewal: %s, want %s for the full %s (a written lease)", extended, first.IP, leaseTime)
	}
	p.waitSettled(t, 20*time.Second)
	ip := first.IP.String()
	before := activeLeases(t, p.a)[ip]
	reusedBefore := reusedOf(t, p.a)

	time.Sleep(1500 * time.Millisecond) // so that a written lease would visibly move
	cached := acquire(t, c, true, foAddrA.Addr())
	if cached.IP != first.IP || cached.LeaseTime >= leaseTime || cached.LeaseTime < leaseTime-time.Minute {
		t.Errorf("second renewal: %s, want %s for the remaining time, just under %s", cached, first.IP, leaseTime)
	}
	if n := reusedOf(t, p.a) - reusedBefore; n == 0 {
		t.Errorf("primary answered %d renewals from its cache, want at least 1 (more if the client retransmitted)", n)
	}
	p.waitSettled(t, 20*time.Second)
	a, b := activeLeases(t, p.a)[ip], activeLeases(t, p.b)[ip]
	if !a.Expiry.Equal(before.Expiry) {
		t.Errorf("primary's expiry moved from %v to %v on a renewal from the cache", before.Expiry, a.Expiry)
	}
	// The failover protocol carries times in whole seconds.
	if d := a.Expiry.Sub(b.Expiry); d < 0 || d >= time.Second || b.HWAddress != a.HWAddress {
		t.Errorf("partners disagree on %s: A %s until %v, B %s until %v", ip, a.HWAddress, a.Expiry, b.HWAddress, b.Expiry)
	}
}
