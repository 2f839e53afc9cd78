package failover

import (
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
)

// batchServer is a fakeServer that stages the partner's updates and
// commits them in runs, as control/server does with one durable commit
// per run; each commit costs commit, as a synced commit would.
type batchServer struct {
	*fakeServer
	commit time.Duration
	mu     sync.Mutex
	runs   []int
}

func (b *batchServer) StageBinding(l lease.Lease) (lease.Lease, error) {
	return l, b.fakeServer.ApplyBinding(l)
}

func (b *batchServer) CommitBindings(recs []lease.Lease) error {
	time.Sleep(b.commit)
	b.mu.Lock()
	b.runs = append(b.runs, len(recs))
	b.mu.Unlock()
	return nil
}

// asyncBatchServer is a batchServer whose commits are queued to a
// committer goroutine of its own that, as control/server's lease store
// does, takes everything waiting and commits it together, in order, in
// one commit of the batchServer's cost (AsyncBatchApplier); the first
// failFirst commits fail.
type asyncBatchServer struct {
	*batchServer
	mu        sync.Mutex
	pending   []asyncCommit
	wake      chan struct{}
	failFirst atomic.Int32
}

type asyncCommit struct {
	recs []lease.Lease
	done func(error)
}

func newAsyncBatchServer(t *testing.T, b *batchServer) *asyncBatchServer {
	a := &asyncBatchServer{batchServer: b, wake: make(chan struct{}, 1)}
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for {
			select {
			case <-stop:
				return
			case <-a.wake:
			}
			a.mu.Lock()
			batch := a.pending
			a.pending = nil
			a.mu.Unlock()
			var all []lease.Lease
			for _, c := range batch {
				all = append(all, c.recs...)
			}
			err := a.CommitBindings(all)
			if a.failFirst.Add(-1) >= 0 {
				err = errors.New("commit failed (test)")
			}
			for _, c := range batch {
				c.done(err)
			}
		}
	}()
	t.Cleanup(func() { close(stop); <-stopped })
	return a
}

func (a *asyncBatchServer) CommitBindingsAsync(recs []lease.Lease, done func(error)) {
	a.mu.Lock()
	a.pending = append(a.pending, asyncCommit{recs: recs, done: done})
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
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
// Both partners send updates, so each connection carries BNDUPDs and
// BNDACKs interleaved, and runs must take both.
func TestUpdatesArrivingTogetherShareOneApply(t *testing.T) {
	for _, tt := range []struct {
		name      string
		async     bool
		failFirst int32 // async commits that fail before the rest succeed
	}{
		{name: "blocking commit"},
		{name: "commit in flight while the engine goes on", async: true},
		{name: "failed commits are refused and resent", async: true, failFirst: 2},
	} {
		t.Run(tt.name, func(t *testing.T) { testRuns(t, tt.async, tt.failFirst) })
	}
}

func testRuns(t *testing.T, async bool, failFirst int32) {
	addr := freePort(t)
	own := newOwnership()
	pc, sc := testConfig(fsm.Primary, addr), testConfig(fsm.Secondary, addr)
	pool := testPool(64)
	primary, secondary := newFakeServer("primary", own, pool), newFakeServer("secondary", own, pool)
	refused := netip.MustParseAddr("198.51.100.77")
	secondary.reject = map[netip.Addr]uint8{refused: 7}
	pa := &batchServer{fakeServer: primary, commit: 5 * time.Millisecond}
	sa := &batchServer{fakeServer: secondary, commit: 5 * time.Millisecond}
	var depsA, depsB Deps = pa, sa
	if async {
		aa, ab := newAsyncBatchServer(t, pa), newAsyncBatchServer(t, sa)
		ab.failFirst.Store(failFirst)
		depsA, depsB = aa, ab
	}
	if failFirst > 0 {
		pc.ResendDelay = 10 * time.Millisecond
	}
	a := startWith(t, pc, depsA, primary)
	b := startWith(t, sc, depsB, secondary)
	waitFor(t, 10*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })

	const n = 400
	now := time.Now()
	fromA, fromB := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("203.0.113.1")
	var ipsA, ipsB []netip.Addr
	for i := range n {
		a.p.Updated(activeLease(fromA, now, byte(i)))
		b.p.Updated(activeLease(fromB, now, byte(i)))
		ipsA, ipsB = append(ipsA, fromA), append(ipsB, fromB)
		fromA, fromB = fromA.Next(), fromB.Next()
	}
	waitFor(t, 20*time.Second, "every update answered", func() bool {
		sta, stb := a.p.Status(), b.p.Status()
		return sta.UnackedUpdates == 0 && sta.PendingUpdates == 0 && stb.UnackedUpdates == 0 && stb.PendingUpdates == 0
	})
	for _, c := range []struct {
		to  *fakeServer
		ips []netip.Addr
	}{{secondary, ipsA}, {primary, ipsB}} {
		for _, ip := range c.ips {
			_, ok := c.to.binding(ip)
			if ip == refused && ok {
				t.Fatalf("%s was refused by the %s yet stored", ip, c.to.name)
			}
			if ip != refused && !ok {
				t.Fatalf("%s missing on the %s", ip, c.to.name)
			}
		}
	}
	// At 5 ms a commit, one update per commit would take 2 s a side;
	// runs must carry many, although each connection interleaves one
	// side's BNDUPDs with the other's BNDACKs.
	for _, bs := range []*batchServer{pa, sa} {
		runs := bs.runSizes()
		largest := 0
		for _, r := range runs {
			largest = max(largest, r)
		}
		if largest < 2 || len(runs) > n/2 {
			t.Fatalf("%s: %d commits for %d updates, largest %d: updates were not taken together", bs.name, len(runs), n, largest)
		}
		t.Logf("%s: %d updates in %d commits, largest %d", bs.name, n, len(runs), largest)
	}
	c := a.p.Status().Counters
	if failFirst == 0 && c.UpdatesRejected != 1 {
		t.Fatalf("the primary counted %d refused updates, want the 1 refused inside a run", c.UpdatesRejected)
	}
	if failFirst > 0 && (c.UpdatesRejected < 2 || c.UpdatesResent == 0) {
		t.Fatalf("with %d failed commits on the secondary the primary counted %d refusals and %d resends, want the failed runs refused and resent",
			failFirst, c.UpdatesRejected, c.UpdatesResent)
	}
}
