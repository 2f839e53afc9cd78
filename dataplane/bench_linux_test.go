package dataplane

import (
	"bytes"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

// benchProgram runs frame through the program b.N times inside the kernel
// (BPF_PROG_TEST_RUN with Repeat) and reports the kernel's time per frame.
// setup prepares the dataplane; want is the verdict every run after the
// first few must reach.
func benchProgram(b *testing.B, cfg config.Dataplane, setup func(*Dataplane) error, frame []byte, want Verdict) {
	d := mustDataplane(b, cfg)
	if setup != nil {
		if err := setup(d); err != nil {
			b.Fatal(err)
		}
	}
	// Warm up (the rate limiter's first packets pass) and check the path.
	for range 4 {
		runXDP(b, d, frame)
	}
	if got := runXDP(b, d, frame); got != want {
		b.Fatalf("frame takes %s, want %s", got, want)
	}
	b.ResetTimer()
	ret, perRun, err := d.objs.XdhcpXdp.Benchmark(frame, b.N, b.ResetTimer)
	if err != nil {
		b.Fatal(err)
	}
	wantRet := uint32(xdpPass)
	if want.Action == Drop {
		wantRet = xdpDrop
	}
	if ret != wantRet {
		b.Fatalf("program returned %d, want %d", ret, wantRet)
	}
	b.ReportMetric(float64(perRun.Nanoseconds()), "ns/packet")
}

func splitHalf(d *Dataplane) error { return d.SetSplit(50, true) }

// BenchmarkProgram_Pass: a DISCOVER in one of our buckets, no rate limit.
func BenchmarkProgram_Pass(b *testing.B) {
	benchProgram(b, config.Dataplane{}, splitHalf, dhcpFrame(newMsg(withMAC(ourMAC))), passOurs)
}

// BenchmarkProgram_PassRateLimited: the same, through the rate limiter's
// table (a limit high enough never to drop).
func BenchmarkProgram_PassRateLimited(b *testing.B) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1_000_000_000, Burst: 1 << 30}}
	benchProgram(b, cfg, splitHalf, dhcpFrame(newMsg(withMAC(ourMAC))), passOurs)
}

// BenchmarkProgram_PassLongClientID: a DISCOVER with a 255-byte option 61,
// the longest key the hash walks.
func BenchmarkProgram_PassLongClientID(b *testing.B) {
	cid := cidWhere(255, func(b uint8) bool { return b < 128 })
	benchProgram(b, config.Dataplane{}, splitHalf, dhcpFrame(newMsg(withType(dhcpDiscover, opt(optClientID, cid...)))), passOurs)
}

// BenchmarkProgram_PartnerDrop: a DISCOVER in the partner's bucket.
func BenchmarkProgram_PartnerDrop(b *testing.B) {
	benchProgram(b, config.Dataplane{}, splitHalf, dhcpFrame(newMsg(withMAC(partnerMAC))), dropPartner)
}

// BenchmarkProgram_RateLimit: a client far over its rate.
func BenchmarkProgram_RateLimit(b *testing.B) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1}}
	benchProgram(b, cfg, nil, dhcpFrame(newMsg(withMAC(ourMAC))), Verdict{Drop, ReasonRateLimit})
}

// BenchmarkProgram_PassGuarded: a DISCOVER in one of our buckets through
// all three guards (limits high enough never to drop): what a passing
// frame pays for the whole flood guard.
func BenchmarkProgram_PassGuarded(b *testing.B) {
	cfg := config.Dataplane{
		RateLimit:      config.RateLimit{PerClientPPS: 1_000_000_000, Burst: 1 << 30},
		SourceLimit:    config.SourceLimit{PPS: 1_000_000_000, Burst: 1 << 30, Relayed: true},
		DiscoverBudget: config.DiscoverBudget{PPS: 1_000_000_000, Burst: 1 << 30},
	}
	benchProgram(b, cfg, splitHalf, dhcpFrame(newMsg(withMAC(ourMAC))), passOurs)
}

// BenchmarkProgram_SourceLimit: a frame from a port far over its rate.
func BenchmarkProgram_SourceLimit(b *testing.B) {
	cfg := config.Dataplane{SourceLimit: config.SourceLimit{PPS: 1, Burst: 1}}
	benchProgram(b, cfg, nil, dhcpFrame(newMsg(withMAC(ourMAC))), dropSourceLimit)
}

// BenchmarkProgram_SourceLimitRelayed: a relayed frame whose circuit (a
// 255-byte option 82, the longest the hash walks) is far over its rate,
// with source-limit.relayed on.
func BenchmarkProgram_SourceLimitRelayed(b *testing.B) {
	cfg := config.Dataplane{SourceLimit: config.SourceLimit{PPS: 1, Burst: 1, Relayed: true}}
	m := newMsg(withMAC(ourMAC), relayed(relayG, bytes.Repeat([]byte{7}, 255), dhcpDiscover))
	benchProgram(b, cfg, nil, dhcpFrame(m), dropSourceLimit)
}

// BenchmarkProgram_DiscoverBudget: a DISCOVER when the budget is spent.
func BenchmarkProgram_DiscoverBudget(b *testing.B) {
	cfg := config.Dataplane{DiscoverBudget: config.DiscoverBudget{PPS: 1, Burst: 1}}
	benchProgram(b, cfg, nil, dhcpFrame(newMsg(withMAC(ourMAC))), dropBudget)
}

// BenchmarkProgram_DiscoverBudgetRetryLane: a DISCOVER when the budget is
// spent and the retry lane on, in its dearest case: the client is
// remembered, so the lane's bucket is tried too (and is spent).
func BenchmarkProgram_DiscoverBudgetRetryLane(b *testing.B) {
	cfg := config.Dataplane{DiscoverBudget: config.DiscoverBudget{PPS: 1, Burst: 1, RetryPPS: 1}}
	benchProgram(b, cfg, nil, dhcpFrame(newMsg(withMAC(ourMAC))), dropBudget)
}

// BenchmarkProgram_NotDHCP: a UDP frame to another port, the common case
// on a busy interface.
func BenchmarkProgram_NotDHCP(b *testing.B) {
	benchProgram(b, config.Dataplane{}, nil, frame{dport: 53, payload: make([]byte, 64)}.bytes(), passNotDHCP)
}

// BenchmarkFilter_* run the same frames through the Go filter.
func BenchmarkFilter_Pass(b *testing.B) {
	benchFilter(b, config.Dataplane{}, dhcpFrame(newMsg(withMAC(ourMAC))), passOurs)
}

func BenchmarkFilter_PartnerDrop(b *testing.B) {
	benchFilter(b, config.Dataplane{}, dhcpFrame(newMsg(withMAC(partnerMAC))), dropPartner)
}

func BenchmarkFilter_RateLimit(b *testing.B) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1}}
	benchFilter(b, cfg, dhcpFrame(newMsg(withMAC(ourMAC))), Verdict{Drop, ReasonRateLimit})
}

func benchFilter(b *testing.B, cfg config.Dataplane, frame []byte, want Verdict) {
	f := NewFilter(cfg)
	if err := f.SetSplit(50, true); err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	f.Frame(frame, now)
	if got := f.Frame(frame, now); got != want {
		b.Fatalf("frame takes %s, want %s", got, want)
	}
	for b.Loop() {
		f.Frame(frame, now)
	}
}
