package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
)

// TestFailoverRestartKeepsState stops the primary with SIGTERM after a
// split change: the secondary goes COMMUNICATIONS-INTERRUPTED; the primary
// restarts from its stored state (not the RECOVER of a first start, which
// would answer nobody), answers clients at once, and the pair is NORMAL
// again with the stored split and every lease.
func TestFailoverRestartKeepsState(t *testing.T) {
	setup(t, "udhcpc")
	p := newPair(t, pairOpts{percent: 50, mclt: 10 * time.Second})
	p.waitSettled(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := p.a.SetSplit(ctx, 70); err != nil {
		t.Fatal(err)
	}
	checkAllAnswered(t, benchRun{clients: 40, rate: 100, duration: 2 * time.Second, seed: 9, retries: 2}.run(t, p.clients))
	p.waitSettled(t, 20*time.Second)
	had := activeLeases(t, p.a)

	if err := p.a.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.b.WaitFailover(ctx, "B notices the stop", InState("COMMUNICATIONS-INTERRUPTED", "")); err != nil {
		t.Fatal(err)
	}
	// The link stays cut while A restarts, so A shows the state it
	// resumed from its store rather than one its partner moved it to.
	if err := p.lab.Server.Run("ip", "link", "set", ServerIface, "down"); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// The control socket answers before the failover engine starts: an
	// empty state is not yet a resumed one.
	st, err := p.a.WaitFailover(ctx, "A resumes", func(st api.FailoverStatus) bool { return st.State != "" && st.State != "STARTUP" })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("A restarted alone: %s, answering %s, split %d%%", st.State, st.Answering, st.SplitPercent)
	if st.State != "COMMUNICATIONS-INTERRUPTED" || st.Answering != "all" {
		t.Errorf("A did not resume from its stored NORMAL: %s answering %s; want COMMUNICATIONS-INTERRUPTED answering all", st.State, st.Answering)
	}
	if err := p.lab.Server.Run("ip", "link", "set", ServerIface, "up"); err != nil {
		t.Fatal(err)
	}
	stA, stB := p.waitSettled(t, 30*time.Second)
	if stA.SplitPercent != 70 || stA.OwnedBuckets != 179 || stB.OwnedBuckets != 77 {
		t.Errorf("after restart: split %d%%, A %d buckets, B %d; want the stored 70%%: 179 and 77", stA.SplitPercent, stA.OwnedBuckets, stB.OwnedBuckets)
	}
	now := p.waitSameBindings(t, 15*time.Second)
	t.Logf("%d leases from before the restart checked on both", checkKept(t, "the restarted pair", had, now))
	acquire(t, p.addClient(t, "udhcpc", macFor(0x31, true, primaryBucket(70))), false, foAddrA.Addr())
}
