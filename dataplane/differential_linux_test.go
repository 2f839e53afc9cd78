package dataplane

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"golang.org/x/sys/unix"

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
	// The corpus must reach deep: every verdict but the flood guards,
	// which TestDifferentialGuards covers.
	for r := range reasonLen {
		if r == ReasonRateLimit || r == ReasonSourceLimit || r == ReasonDiscoverBudget || r == ReasonRetryLane {
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

// TestDifferentialGuards runs a corpus through both twins with all three
// flood guards on, with relayed frames source limited and not. Rates of 1
// packet a second make the outcome independent of timing while the test
// lasts well under a second: a guard that is exhausted stays so, on both
// twins, and the Go filter is given the kernel's clock read just before
// each program run.
func TestDifferentialGuards(t *testing.T) {
	for _, relayedOn := range []bool{false, true} {
		t.Run(fmt.Sprintf("relayed=%t", relayedOn), func(t *testing.T) {
			cfg := config.Dataplane{
				SecsBypass:     5,
				RateLimit:      config.RateLimit{PerClientPPS: 1, Burst: 3},
				SourceLimit:    config.SourceLimit{PPS: 1, Burst: 6, Relayed: relayedOn},
				DiscoverBudget: config.DiscoverBudget{PPS: 1, Burst: 150, RetryPPS: 1},
			}
			differentialGuards(t, cfg)
		})
	}
}

// differentialGuards runs the guards' corpus through both twins at cfg.
func differentialGuards(t *testing.T, cfg config.Dataplane) {
	d := mustDataplane(t, cfg)
	f := NewFilter(cfg)
	rng := rand.New(rand.NewPCG(82, 83))
	var owned [loadbalance.Buckets]bool
	for b := range owned {
		owned[b] = rng.IntN(4) != 0
	}
	for _, p := range []policy{d, f} {
		if err := p.SetBuckets(owned); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	seen := map[Verdict]int{}
	relayedLimited := 0
	corpus := randomCorpus(rng, 3000)
	if cfg.DiscoverBudget.RetryPPS > 0 {
		// Clients that ask twice, for the retry lane, once the random
		// corpus has spent the budget.
		// Each from its own port and in one of our buckets, so that
		// only the budget and the lane decide.
		for i := range 40 {
			chaddr := keyWhere(700+i, func(b uint8) bool { return owned[b] })
			fr := frame{srcMAC: []byte{0x02, 0x7e, 0, 0, 1, byte(i)}, payload: newMsg(withMAC(chaddr)).bytes()}.bytes()
			corpus = append(corpus, fr, fr)
		}
	}
	for i, fr := range corpus {
		now := monotonicNow(t)
		x := runXDP(t, d, fr)
		g := f.Frame(fr, now)
		if x != g {
			t.Fatalf("frame %d (%d bytes) %x: xdp says %s, go says %s", i, len(fr), fr, x, g)
		}
		seen[x]++
		if x.Reason == ReasonSourceLimit && isRelayed(fr) {
			relayedLimited++
		}
	}
	switch {
	case cfg.SourceLimit.Relayed && relayedLimited == 0:
		t.Error("source-limit.relayed is on but no relayed frame was source limited")
	case !cfg.SourceLimit.Relayed && relayedLimited > 0:
		t.Errorf("source-limit.relayed is off but %d relayed frames were source limited", relayedLimited)
	}
	if el := time.Since(start); el > 900*time.Millisecond {
		t.Logf("the corpus took %v: tokens may have come back during it", el)
	}
	compareStats(t, d, f)
	for _, r := range []Reason{ReasonRateLimit, ReasonSourceLimit, ReasonDiscoverBudget} {
		if seen[Verdict{Drop, r}] == 0 {
			t.Errorf("the corpus never produced dropped-%s", r)
		}
	}
	if cfg.DiscoverBudget.RetryPPS > 0 && seen[Verdict{Pass, ReasonRetryLane}] == 0 {
		t.Error("the corpus never produced passed-retry-lane")
	}
	t.Logf("verdicts: %v", seen)
}

// monotonicNow reads CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns.
func monotonicNow(tb testing.TB) time.Time {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		tb.Fatal(err)
	}
	return time.Unix(0, ts.Nano())
}

// isRelayed reports whether fr is a BOOTP message with giaddr set.
func isRelayed(fr []byte) bool {
	payload, _, ok := frameBOOTP(fr, new(linkSource))
	if !ok || len(payload) < bootpGiaddrOff+4 {
		return false
	}
	return binary.BigEndian.Uint32(payload[bootpGiaddrOff:]) != 0
}
