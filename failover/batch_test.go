package failover

import (
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
)

// batchServer is a fakeServer that takes the partner's updates in runs,
// as control/server does with one durable commit per run; each run costs
// commit, as a synced commit would.
type batchServer struct {
	*fakeServer
	commit time.Duration
	mu     sync.Mutex
	runs   []int
}

func (b *batchServer) ApplyBindings(ls []lease.Lease) []error {
	time.Sleep(b.commit)
	errs := make([]error, len(ls))
	for i, l := range ls {
		errs[i] = b.fakeServer.ApplyBinding(l)
	}
	b.mu.Lock()
	b.runs = append(b.runs, len(ls))
	b.mu.Unlock()
	return errs
}

func (b *batchServer) runSizes() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]int(nil), b.runs...)
}

// TestUpdatesArrivingTogetherShareOneApply: a partner whose commits are
// slow takes the BNDUPDs waiting on the connection as one run, so the
// stream is not held to one commit per update; a refusal inside a run is
// answered with its reason while the rest of the run is acknowledged.
func TestUpdatesArrivingTogetherShareOneApply(t *testing.T) {
	addr := freePort(t)
	own := newOwnership()
	pc, sc := testConfig(fsm.Primary, addr), testConfig(fsm.Secondary, addr)
	pool := testPool(64)
	a := start(t, pc, newFakeServer("primary", own, pool))
	secondary := newFakeServer("secondary", own, pool)
	refused := netip.MustParseAddr("198.51.100.77")
	secondary.reject = map[netip.Addr]uint8{refused: 7}
	bs := &batchServer{fakeServer: secondary, commit: 5 * time.Millisecond}
	b := startWith(t, sc, bs, secondary)
	waitFor(t, 10*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })

	const n = 400
	now := time.Now()
	ip := netip.MustParseAddr("198.51.100.1")
	var ips []netip.Addr
	for i := range n {
		a.p.Updated(activeLease(ip, now, byte(i)))
		ips = append(ips, ip)
		ip = ip.Next()
	}
	waitFor(t, 20*time.Second, "every update answered", func() bool {
		st := a.p.Status()
		return st.UnackedUpdates == 0 && st.PendingUpdates == 0
	})
	for _, ip := range ips {
		_, ok := secondary.binding(ip)
		if ip == refused && ok {
			t.Fatalf("%s was refused by the partner yet stored", ip)
		}
		if ip != refused && !ok {
			t.Fatalf("%s missing on the partner", ip)
		}
	}
	runs := bs.runSizes()
	largest := 0
	for _, r := range runs {
		largest = max(largest, r)
	}
	// At 5 ms a commit, one update per commit would take 2 s; runs must
	// carry many.
	if largest < 2 || len(runs) > n/2 {
		t.Fatalf("%d runs for %d updates, largest %d: updates were not taken together", len(runs), n, largest)
	}
	if got := a.p.Status().Counters.UpdatesRejected; got != 1 {
		t.Fatalf("the sender counted %d refused updates, want the 1 refused inside a run", got)
	}
	t.Logf("%d updates in %d runs, largest %d", n, len(runs), largest)
}
