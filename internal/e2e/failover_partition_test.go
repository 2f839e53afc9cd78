package e2e

import (
	"maps"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
)

// TestFailoverPartition cuts the failover link while both servers stay up
// and reachable by clients: both go COMMUNICATIONS-INTERRUPTED (no
// switchover interval is configured, as a partition must not lead to
// PARTNER-DOWN), answer every client from their own share of free
// addresses, and no address is bound to two clients across the two
// stores. Healed, the pair returns to NORMAL and the stores converge.
func TestFailoverPartition(t *testing.T) {
	setup(t)
	p := newPair(t, pairOpts{percent: 50, mclt: 10 * time.Second, ownLink: true})
	p.waitSettled(t, 30*time.Second)
	known := benchRun{clients: 40, rate: 100, duration: 2 * time.Second, seed: 5, retries: 2}
	checkAllAnswered(t, known.run(t, p.clients))
	p.waitSettled(t, 20*time.Second)
	p.waitSameBindings(t, 10*time.Second)

	if err := p.lab.Server.Run("ip", "link", "set", FailoverIface, "down"); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	stA, stB := p.wait(t, "COMMUNICATIONS-INTERRUPTED after the cut", 20*time.Second, InState("COMMUNICATIONS-INTERRUPTED", ""))
	t.Logf("both COMMUNICATIONS-INTERRUPTED %.1fs after the cut", time.Since(cut).Seconds())
	for _, st := range []api.FailoverStatus{stA, stB} {
		if st.OwnedBuckets != 256 || st.Answering != "all" || st.Allocating != "own share" {
			t.Errorf("%s while partitioned: %d buckets, answering %s, allocating %s; want 256, all, own share", st.Role, st.OwnedBuckets, st.Answering, st.Allocating)
		}
	}

	// Known clients come back and new ones arrive, on both servers at once.
	second, err := p.lab.AddHost("bench2")
	if err != nil {
		t.Fatal(err)
	}
	waitKnown := known.start(t, p.clients)
	fresh := benchRun{clients: 80, rate: 200, duration: 3 * time.Second, seed: 6, retries: 2}
	checkAllAnswered(t, fresh.run(t, second))
	checkAllAnswered(t, waitKnown())
	a, b := activeLeases(t, p.a), activeLeases(t, p.b)
	conflicts := 0
	for ip, la := range a {
		if lb, ok := b[ip]; ok && lb.HWAddress != la.HWAddress {
			conflicts++
			t.Errorf("address %s bound to %s on A and to %s on B at once", ip, la.HWAddress, lb.HWAddress)
		}
	}
	t.Logf("partitioned: A holds %d active bindings, B %d, %d addresses bound to two clients", len(a), len(b), conflicts)
	if st := status(t, p.a); st.State != "COMMUNICATIONS-INTERRUPTED" {
		t.Errorf("A left COMMUNICATIONS-INTERRUPTED during the partition: %s", st.State)
	}

	if err := p.lab.Server.Run("ip", "link", "set", FailoverIface, "up"); err != nil {
		t.Fatal(err)
	}
	healed := time.Now()
	p.waitSettled(t, 60*time.Second)
	t.Logf("NORMAL and settled %.1fs after the link came back", time.Since(healed).Seconds())
	now := p.waitSameBindings(t, 20*time.Second)
	had := maps.Clone(a)
	maps.Copy(had, b)
	n := checkKept(t, "the healed pair", had, now)
	t.Logf("both stores hold the same %d active bindings; %d unexpired bindings from the partition checked", len(now), n)
	if n == 0 {
		t.Error("no binding from the partition was left to check")
	}
}
