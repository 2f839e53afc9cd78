package dataplane

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// TestProgramHashMatchesGo checks the C hash against the Go one bucket for
// bucket: with a random assignment, the program must keep exactly the keys
// whose Go bucket is owned, for client identifiers of every length and
// chaddr of every hlen.
func TestProgramHashMatchesGo(t *testing.T) {
	d := mustDataplane(t, config.Dataplane{})
	rng := rand.New(rand.NewPCG(3074, 1))
	var owned [loadbalance.Buckets]bool
	for b := range owned {
		owned[b] = rng.IntN(2) == 0
	}
	if err := d.SetBuckets(owned); err != nil {
		t.Fatal(err)
	}
	check := func(key []byte, frame []byte) {
		t.Helper()
		want := uint32(xdpDrop)
		if owned[loadbalance.Hash(key)] {
			want = xdpPass
		}
		ret, err := d.objs.XdhcpXdp.Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		if ret != want {
			t.Fatalf("key %x (Go bucket %d): program returned %d, want %d", key, loadbalance.Hash(key), ret, want)
		}
	}
	for n := 1; n <= 255; n++ {
		for range 4 {
			cid := make([]byte, n)
			for i := range cid {
				cid[i] = byte(rng.Uint32())
			}
			check(cid, dhcpFrame(newMsg(withType(dhcpDiscover, opt(optClientID, cid...)))))
		}
	}
	for hlen := 0; hlen <= maxHlen; hlen++ {
		for range 16 {
			chaddr := make([]byte, hlen)
			for i := range chaddr {
				chaddr[i] = byte(rng.Uint32())
			}
			check(chaddr, dhcpFrame(newMsg(withMAC(chaddr))))
		}
	}
	for _, v := range []string{"\x00\x00\x00\x00\x00\x00", "\xff\xff\xff\xff\xff\xff", "\x02\x42\x5a\x00\x00\x01"} {
		check([]byte(v), dhcpFrame(newMsg(withMAC([]byte(v)))))
	}
}

// TestBucketSwapIsAtomic swaps between two complementary assignments while
// frames run, and checks that the program is never left without an
// assignment, that each swap is in force when SetBuckets returns (the
// kernel waits for running programs on a map-in-map update), and that the
// final map is whole, bucket for bucket.
func TestBucketSwapIsAtomic(t *testing.T) {
	d := mustDataplane(t, config.Dataplane{})
	evens, odds := [loadbalance.Buckets]bool{}, [loadbalance.Buckets]bool{}
	for b := range evens {
		evens[b], odds[b] = b%2 == 0, b%2 == 1
	}
	even := dhcpFrame(newMsg(withMAC(keyIn(0))))
	run := func(frame []byte) uint32 {
		ret, err := d.objs.XdhcpXdp.Run(&ebpf.RunOptions{Data: frame})
		if err != nil {
			t.Fatal(err)
		}
		return ret
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range 20 {
			next, want := evens, uint32(xdpPass)
			if i%2 == 1 {
				next, want = odds, xdpDrop
			}
			if err := d.SetBuckets(next); err != nil {
				t.Error(err)
				return
			}
			// In force at once: bucket 0 follows the assignment just set.
			if got := run(even); got != want {
				t.Errorf("swap %d: bucket 0 gives %d right after SetBuckets, want %d", i, got, want)
			}
		}
	}()
	var runs atomic.Int64
	frames := [][]byte{even, dhcpFrame(newMsg(withMAC(keyIn(1))))}
	for i := 0; ; i++ {
		select {
		case <-done:
			wg.Wait()
			t.Logf("%d frames ran during 20 swaps", runs.Load())
			final := d.Buckets()
			if final != odds {
				t.Fatal("Buckets() is not the last assignment set")
			}
			for b := range loadbalance.Buckets {
				want := uint32(xdpDrop)
				if final[b] {
					want = xdpPass
				}
				if got := run(dhcpFrame(newMsg(withMAC(keyIn(uint8(b)))))); got != want {
					t.Fatalf("bucket %d after swaps: %d, want %d", b, got, want)
				}
			}
			return
		default:
		}
		if ret := run(frames[i%2]); ret != xdpPass && ret != xdpDrop {
			t.Fatalf("return code %d during swaps", ret)
		}
		runs.Add(1)
	}
}
