package failover

import (
	"net/netip"
	"testing"

	"github.com/xdhcp/xdhcp/control/lease"
)

// TestUpdateQueueOrder drives the queue through pushes, superseding
// pushes, retries and pops, checking after each step what pop and minSeq
// give: the oldest live update, with superseded ones skipped.
func TestUpdateQueueOrder(t *testing.T) {
	addr := func(n byte) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, n}) }
	var q updateQueue
	q.init()
	push := func(n byte) uint64 { return q.push(lease.Lease{IP: addr(n)}, 0) }

	s1 := push(1)
	push(2)
	s3 := push(3)
	if got := q.minSeq(); got != s1 {
		t.Fatalf("minSeq = %d, want %d", got, s1)
	}
	s1b := push(1) // supersedes the first: .1 now comes after .3
	if q.len() != 3 {
		t.Fatalf("len = %d after superseding, want 3", q.len())
	}
	var got []netip.Addr
	var seqs []uint64
	for {
		it, ok := q.pop()
		if !ok {
			break
		}
		got = append(got, it.l.IP)
		seqs = append(seqs, it.seq)
		if len(got) == 1 {
			if m := q.minSeq(); m != s3 {
				t.Errorf("minSeq after the first pop = %d, want %d (.3; .1's old entry is stale)", m, s3)
			}
		}
	}
	want := []netip.Addr{addr(2), addr(3), addr(1)}
	if len(got) != len(want) {
		t.Fatalf("popped %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("popped %v, want %v", got, want)
		}
	}
	if seqs[2] != s1b {
		t.Errorf(".1 popped with seq %d, want the superseding %d", seqs[2], s1b)
	}
	if q.minSeq() != 0 || q.len() != 0 {
		t.Errorf("empty queue: minSeq %d, len %d", q.minSeq(), q.len())
	}

	// A retry of an update older than the queued one is dropped; a
	// retry of the newest is queued again with a new sequence.
	old := queued{l: lease.Lease{IP: addr(4)}, seq: 1}
	push(4)
	q.retry(old)
	if it, _ := q.pop(); it.seq == 1 {
		t.Errorf("a stale retry replaced the queued update")
	}
	q.retry(old)
	if it, ok := q.pop(); !ok || it.l.IP != addr(4) || it.seq <= s1b {
		t.Errorf("retry of a popped update: pop = %+v, %v", it, ok)
	}
}

// TestSeqOrderReusesItsArray pushes and pops far more entries than the
// queue ever holds and checks the order stays FIFO and the array small.
func TestSeqOrderReusesItsArray(t *testing.T) {
	var o seqOrder
	next, want := uint64(1), uint64(1)
	for round := 0; round < 10000; round++ {
		for range 3 {
			o.push(seqRef{seq: next})
			next++
		}
		for range 3 {
			r, ok := o.pop()
			if !ok || r.seq != want {
				t.Fatalf("round %d: pop = %d, %v; want %d", round, r.seq, ok, want)
			}
			want++
		}
		if round%7 == 0 { // let it hold a few across rounds
			o.push(seqRef{seq: next})
			next++
		}
	}
	for {
		r, ok := o.pop()
		if !ok {
			break
		}
		if r.seq != want {
			t.Fatalf("drain: pop = %d, want %d", r.seq, want)
		}
		want++
	}
	if want != next {
		t.Fatalf("popped up to %d, pushed up to %d", want-1, next-1)
	}
	if c := cap(o.refs); c > 8192 {
		t.Errorf("array grew to %d entries for a queue of at most %d", c, 10000/7+4)
	}
}
