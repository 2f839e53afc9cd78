package dataplane

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// TestDifferential feeds one corpus (well-formed, mutated and random frames)
// to the XDP program through BPF_PROG_TEST_RUN and to the Go filter, and
// demands the same verdict for every frame and the same counters at the end.
func TestDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(67, 68))
	var owned [loadbalance.Buckets]bool
	for b := range owned {
		owned[b] = rng.IntN(2) == 0
	}
	cfg := config.Dataplane{SecsBypass: 5}
	d := mustDataplane(t, cfg)
	f := NewFilter(cfg)
	for _, p := range []policy{d, f} {
		if err := p.SetBuckets(owned); err != nil {
			t.Fatal(err)
		}
	}
	corpus := randomCorpus(rng, 20000)
	seen := map[Verdict]int{}
	for i, fr := range corpus {
		x := runXDP(t, d, fr)
		g := f.Frame(fr, time.Now())
		if x != g {
			t.Fatalf("frame %d (%d bytes) %x: xdp says %s, go says %s", i, len(fr), fr, x, g)
		}
		seen[x]++
	}
	compareStats(t, d, f)
	// The corpus must reach deep: every verdict but rate limiting.
	for r := range reasonLen {
		if r == ReasonRateLimit {
			continue
		}
		if seen[Verdict{Pass, r}]+seen[Verdict{Drop, r}] == 0 {
			t.Errorf("the corpus never produced reason %s", r)
		}
	}
	t.Logf("verdicts: %v", seen)
}

// TestDifferentialRateLimit repeats clients past their burst on both twins.
func TestDifferentialRateLimit(t *testing.T) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 3}}
	d := mustDataplane(t, cfg)
	f := NewFilter(cfg)
	rng := rand.New(rand.NewPCG(1, 2))
	drops := 0
	for c := range 50 {
		fr := dhcpFrame(newMsg(withMAC([]byte{0x02, 0xbb, 0, 0, byte(c), byte(rng.Uint32())})))
		for range 2 + rng.IntN(5) {
			x, g := runXDP(t, d, fr), f.Frame(fr, time.Now())
			if x != g {
				t.Fatalf("client %d: xdp says %s, go says %s", c, x, g)
			}
			if x.Reason == ReasonRateLimit {
				drops++
			}
		}
	}
	if drops == 0 {
		t.Fatal("no client was rate limited")
	}
	compareStats(t, d, f)
}

func compareStats(t *testing.T, d *Dataplane, f *Filter) {
	t.Helper()
	xs, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	gs, _ := f.Stats()
	for i := range xs.Counters {
		x, g := xs.Counters[i], gs.Counters[i]
		if x.Packets != g.Packets || x.Bytes != g.Bytes {
			t.Errorf("counter %s: xdp %d packets %d bytes, go %d packets %d bytes", x.Verdict, x.Packets, x.Bytes, g.Packets, g.Bytes)
		}
	}
}
