package e2e

import (
	"context"
	"maps"
	"testing"
	"time"
)

// TestFailoverPrimaryKilled kills the primary with SIGKILL: the secondary
// goes COMMUNICATIONS-INTERRUPTED, then PARTNER-DOWN once the switchover
// interval has passed, renews the primary's client and serves new clients
// of every bucket; the primary comes back, the pair returns to NORMAL,
// and every unexpired lease either server had is active on both.
func TestFailoverPrimaryKilled(t *testing.T) {
	setup(t, "dhclient", "udhcpc")
	const switchover = 4 * time.Second
	p := newPair(t, pairOpts{percent: 50, mclt: 5 * time.Second, switchover: switchover})
	p.waitSettled(t, 30*time.Second)

	// A client of the primary's buckets, served by the primary.
	old := p.addClient(t, "dhclient", macFor(0x11, false, primaryBucket(50)))
	first := acquire(t, old, false, foAddrA.Addr())
	// Its first lease is MCLT long; once B has acknowledged the binding,
	// a renewal gets the full lease time, which outlasts the outage.
	p.waitSettled(t, 20*time.Second)
	if l := acquire(t, old, true, foAddrA.Addr()); l.IP != first.IP || l.LeaseTime <= 5*time.Second {
		t.Fatalf("renewal with the primary: %s, want %s for more than the MCLT", l, first.IP)
	}
	checkAllAnswered(t, benchRun{clients: 40, rate: 100, duration: 2 * time.Second, seed: 3, retries: 2}.run(t, p.clients))
	p.waitSettled(t, 20*time.Second)
	p.waitSameBindings(t, 10*time.Second)
	had := activeLeases(t, p.a)

	killed := time.Now()
	p.a.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := p.b.WaitFailover(ctx, "B notices the loss", InState("COMMUNICATIONS-INTERRUPTED", "")); err != nil {
		t.Fatal(err)
	}
	t.Logf("B COMMUNICATIONS-INTERRUPTED %.1fs after the kill", time.Since(killed).Seconds())
	stB, err := p.b.WaitFailover(ctx, "B takes over", InState("PARTNER-DOWN", ""))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("B PARTNER-DOWN %.1fs after the kill (switchover interval %s): answering %s, allocating %s, %d buckets",
		time.Since(killed).Seconds(), switchover, stB.Answering, stB.Allocating, stB.OwnedBuckets)
	if time.Since(killed) < switchover || stB.OwnedBuckets != 256 || stB.Answering != "all" {
		t.Errorf("B in PARTNER-DOWN too early or not serving everyone: %+v", stB)
	}

	// The primary's client renews (INIT-REBOOT, broadcast) with B.
	renewed := acquire(t, old, true, foAddrB.Addr())
	if renewed.IP != first.IP || renewed.Event != "REBOOT" {
		t.Errorf("the primary's client did not keep its address by INIT-REBOOT: %s, had %s\n%s", renewed, first.IP, old.Output())
	}
	// A new client of the primary's buckets, and new load, from B.
	fresh := p.addClient(t, "udhcpc", macFor(0x12, true, primaryBucket(50)))
	acquire(t, fresh, false, foAddrB.Addr())
	checkAllAnswered(t, benchRun{clients: 40, rate: 100, duration: 2 * time.Second, seed: 4, retries: 2}.run(t, p.clients))
	maps.Copy(had, activeLeases(t, p.b))

	restarted := time.Now()
	trailB := WatchStates(p.b)
	if err := p.a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	trailA := WatchStates(p.a)
	stA, _ := p.waitSettled(t, 60*time.Second)
	t.Logf("both NORMAL %.1fs after the primary restarted; A owns %d buckets", time.Since(restarted).Seconds(), stA.OwnedBuckets)
	t.Logf("states (own/partner's) on the way: A %v; B %v", trailA.Stop(), trailB.Stop())
	now := p.waitSameBindings(t, 15*time.Second)
	n := checkKept(t, "the pair", had, now)
	t.Logf("%d unexpired leases from before and during the outage are active on both", n)
	if n < 40 {
		t.Errorf("only %d leases were still unexpired to check", n)
	}
	// Both keep serving: the renewed client renews again.
	if l := acquire(t, old, true, foAddrA.Addr()); l.IP != first.IP {
		t.Errorf("after recovery the primary's client got %s, had %s", l.IP, first.IP)
	}
}
