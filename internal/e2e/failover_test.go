package e2e

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// TestFailoverLoadBalance runs 80 clients through a NORMAL pair at 50/50
// and 70/30: every client gets a lease, each server's XDP program passes
// exactly the frames its partner drops, each server ACKs the share of
// clients whose buckets it owns, and both stores end with the same
// active bindings, one per client.
func TestFailoverLoadBalance(t *testing.T) {
	for _, percent := range []int{50, 70} {
		t.Run(fmt.Sprintf("split%d", percent), func(t *testing.T) {
			setup(t)
			p := newPair(t, pairOpts{percent: percent, mclt: 10 * time.Second})
			stA, stB := p.waitSettled(t, 30*time.Second)
			wantA := loadbalance.SplitCount(percent)
			if stA.OwnedBuckets != wantA || stB.OwnedBuckets != 256-wantA {
				t.Fatalf("owned buckets A %d, B %d; want %d and %d", stA.OwnedBuckets, stB.OwnedBuckets, wantA, 256-wantA)
			}
			dpA0, dpB0 := dataplaneOf(t, p.a), dataplaneOf(t, p.b)
			ackA0, ackB0 := acks(t, p.lab.Server, foMetricsA), acks(t, p.lab.B, foMetricsB)

			bench := benchRun{clients: 80, rate: 200, duration: 3 * time.Second, seed: percent, retries: 2}
			k := checkAllAnswered(t, bench.run(t, p.clients))
			p.waitSettled(t, 30*time.Second)

			dpA, dpB := dataplaneOf(t, p.a), dataplaneOf(t, p.b)
			passA, dropA := counterDelta(dpA0.XDP, dpA.XDP, "passed-ours"), counterDelta(dpA0.XDP, dpA.XDP, "dropped-partner")
			passB, dropB := counterDelta(dpB0.XDP, dpB.XDP, "passed-ours"), counterDelta(dpB0.XDP, dpB.XDP, "dropped-partner")
			t.Logf("XDP: A passed %d dropped %d; B passed %d dropped %d", passA, dropA, passB, dropB)
			if passA != dropB || passB != dropA {
				t.Errorf("the split leaves frames to both or neither: A passed %d / B dropped %d, B passed %d / A dropped %d", passA, dropB, passB, dropA)
			}
			primary := bench.primaryClients(percent)
			wantShare := float64(primary) / float64(bench.clients)
			if share := float64(passA) / float64(passA+passB); math.Abs(share-wantShare) > 0.08 {
				t.Errorf("A passed %.2f of the frames; %d of %d clients hash into its buckets (%.2f)", share, primary, bench.clients, wantShare)
			}
			ackA, ackB := acks(t, p.lab.Server, foMetricsA)-ackA0, acks(t, p.lab.B, foMetricsB)-ackB0
			t.Logf("ACKs: A %.0f, B %.0f; %d of %d clients in A's buckets", ackA, ackB, primary, bench.clients)
			if ackA+ackB < float64(k.Completed) {
				t.Errorf("%.0f ACKs counted by the servers for %d completed exchanges", ackA+ackB, k.Completed)
			}
			if share := ackA / (ackA + ackB); math.Abs(share-wantShare) > 0.08 {
				t.Errorf("A sent %.2f of the ACKs; want about %.2f", share, wantShare)
			}

			bound := p.waitSameBindings(t, 15*time.Second)
			byMAC := map[string]string{}
			for ip, mac := range bound {
				if other, dup := byMAC[mac]; dup {
					t.Errorf("client %s holds two active addresses, %s and %s", mac, other, ip)
				}
				byMAC[mac] = ip
			}
			for i := 0; i < bench.clients; i++ {
				if _, ok := byMAC[bench.mac(i).String()]; !ok {
					t.Errorf("client %s has no active lease in either store", bench.mac(i))
				}
			}
			t.Logf("both stores hold the same %d active bindings", len(bound))
		})
	}
}
