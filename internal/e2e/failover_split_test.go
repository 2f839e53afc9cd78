package e2e

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// TestFailoverLiveSplit changes the split from 50 to 70 while xdhcp-bench
// runs DORA exchanges through the pair with no retransmissions, so every
// exchange lost to the handover shows as a timeout. Afterwards the
// primary owns 179 buckets and the secondary 77, and a second run shows
// that every frame is passed by exactly one of the two XDP programs, in
// the proportion the new split gives.
func TestFailoverLiveSplit(t *testing.T) {
	setup(t)
	p := newPair(t, pairOpts{percent: 50, mclt: 10 * time.Second})
	p.waitSettled(t, 30*time.Second)

	load := benchRun{clients: 80, rate: 200, duration: 4 * time.Second, seed: 7}
	wait := load.start(t, p.clients)
	time.Sleep(1500 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	asked := time.Now()
	st, err := p.a.SetSplit(ctx, 70)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("xdhcpctl failover split 70 answered after %s: split %d%%, A owns %d buckets", time.Since(asked).Round(time.Millisecond), st.SplitPercent, st.OwnedBuckets)
	rep := wait()
	k := rep.PrimaryKind()
	t.Logf("under the split change: %d DORA started, %d completed, %d timed out (no retransmissions), %d NAKs, %d duplicates",
		k.Started, k.Completed, k.Timeouts, k.NAKs, rep.DupAddresses)
	// An exchange whose DISCOVER was answered under the old split and
	// whose REQUEST arrives under the new one is lost: the handover lasts
	// about one round trip on the failover link, a few milliseconds, in
	// which at 200 exchanges/s at most a handful can fall.
	const handoverBound = 3
	if k.Timeouts > handoverBound || k.NAKs != 0 || rep.DupAddresses != 0 {
		t.Errorf("%d exchanges lost (bound %d), %d NAKs, %d duplicates during the split change", k.Timeouts, handoverBound, k.NAKs, rep.DupAddresses)
	}

	stA, stB := p.waitSettled(t, 20*time.Second)
	if stA.OwnedBuckets != 179 || stB.OwnedBuckets != 77 || stA.SplitPercent != 70 || stB.SplitPercent != 70 {
		t.Fatalf("after split 70: A owns %d buckets (split %d%%), B %d (split %d%%); want 179 and 77 at 70%%",
			stA.OwnedBuckets, stA.SplitPercent, stB.OwnedBuckets, stB.SplitPercent)
	}

	// Every bucket has exactly one owner: each frame is passed by one XDP
	// program and dropped by the other, in the new proportion.
	dpA0, dpB0 := dataplaneOf(t, p.a), dataplaneOf(t, p.b)
	// 400 clients cover every bucket; they outnumber the free addresses, so
	// only the classification is checked here, not the answers.
	check := benchRun{clients: 400, rate: 400, duration: time.Second, seed: 8}
	check.run(t, p.clients)
	dpA, dpB := dataplaneOf(t, p.a), dataplaneOf(t, p.b)
	passA, dropA := counterDelta(dpA0.XDP, dpA.XDP, "passed-ours"), counterDelta(dpA0.XDP, dpA.XDP, "dropped-partner")
	passB, dropB := counterDelta(dpB0.XDP, dpB.XDP, "passed-ours"), counterDelta(dpB0.XDP, dpB.XDP, "dropped-partner")
	t.Logf("XDP after the change: A passed %d dropped %d; B passed %d dropped %d", passA, dropA, passB, dropB)
	if passA != dropB || passB != dropA {
		t.Errorf("a bucket has two owners or none: A passed %d / B dropped %d, B passed %d / A dropped %d", passA, dropB, passB, dropA)
	}
	seen := map[uint8]bool{}
	for i := 0; i < check.clients; i++ {
		seen[loadbalance.Hash(check.mac(i))] = true
	}
	want := float64(check.primaryClients(70)) / float64(check.clients)
	if share := float64(passA) / float64(passA+passB); math.Abs(share-want) > 0.05 {
		t.Errorf("A passed %.2f of the frames; its buckets hold %.2f of the clients", share, want)
	}
	t.Logf("the check covered %d of 256 buckets", len(seen))
}
