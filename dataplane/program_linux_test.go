package dataplane

import (
	"errors"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

func TestVerdicts(t *testing.T) {
	cases := balancedCases()
	forBothTwins(t, config.Dataplane{SecsBypass: 3}, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		for _, c := range cases {
			if got := tw.run(t, c.frame); got != c.want {
				t.Errorf("%s: %s says %s, want %s", c.name, tw.name, got, c.want)
			}
		}
		s, err := tw.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if s.Total() != uint64(len(cases)) {
			t.Errorf("counters total %d, want %d frames", s.Total(), len(cases))
		}
	})
}

func TestLoadBalancingOffOwnsEverything(t *testing.T) {
	forBothTwins(t, config.Dataplane{}, func(t *testing.T, tw twin) {
		if got := tw.run(t, partnerFrame()); got != passOurs {
			t.Fatalf("default: partner key gives %s, want %s", got, passOurs)
		}
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, partnerFrame()); got != dropPartner {
			t.Fatalf("split 50: partner key gives %s, want %s", got, dropPartner)
		}
		if err := tw.SetLoadBalancing(false); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, partnerFrame()); got != passOurs {
			t.Fatalf("balancing off: partner key gives %s, want %s", got, passOurs)
		}
		if n := loadbalance.Count(tw.Buckets()); n != 256 {
			t.Fatalf("balancing off: Buckets owns %d, want 256", n)
		}
		if err := tw.SetLoadBalancing(true); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, partnerFrame()); got != dropPartner {
			t.Fatalf("balancing back on: partner key gives %s, want %s", got, dropPartner)
		}
	})
}

func TestSecsBypassChanges(t *testing.T) {
	forBothTwins(t, config.Dataplane{}, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		late := partnerFrame(withSecs(10))
		if got := tw.run(t, late); got != dropPartner {
			t.Fatalf("bypass off: %s, want %s", got, dropPartner)
		}
		if err := tw.SetSecsBypass(10); err != nil {
			t.Fatal(err)
		}
		if got := tw.run(t, late); got != passBypass {
			t.Fatalf("bypass 10: %s, want %s", got, passBypass)
		}
		if err := tw.SetSecsBypass(70000); err == nil {
			t.Fatal("SetSecsBypass(70000) succeeded")
		}
	})
}

// TestSplits checks every bucket at several splits, for both roles: the
// primary serves buckets 0..N-1, the secondary the rest.
func TestSplits(t *testing.T) {
	var keys [loadbalance.Buckets][]byte
	for b := range keys {
		keys[b] = keyIn(uint8(b))
	}
	forBothTwins(t, config.Dataplane{}, func(t *testing.T, tw twin) {
		for _, percent := range []int{0, 1, 33, 50, 67, 99, 100} {
			for _, primary := range []bool{true, false} {
				if err := tw.SetSplit(percent, primary); err != nil {
					t.Fatal(err)
				}
				n := loadbalance.SplitCount(percent)
				for b, key := range keys {
					want := (b < n) == primary
					got := tw.run(t, dhcpFrame(newMsg(withMAC(key))))
					if (got == passOurs) != want || (got != passOurs && got != dropPartner) {
						t.Fatalf("split %d%% primary=%v bucket %d: %s, want ours=%v", percent, primary, b, got, want)
					}
				}
			}
		}
		if err := tw.SetSplit(101, true); err == nil {
			t.Error("SetSplit(101) succeeded")
		}
	})
}

// TestRateLimit sends from one client faster than its rate, then waits for
// the bucket to refill. The limit is 2 packets/s with a burst of 3.
func TestRateLimit(t *testing.T) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 2, Burst: 3, TableSize: 64}}
	forBothTwins(t, cfg, func(t *testing.T, tw twin) {
		looping, other := oursFrame(), dhcpFrame(newMsg(withMAC(mac(0x77))))
		for i := range 3 {
			if got := tw.run(t, looping); got != passOurs {
				t.Fatalf("packet %d of the burst: %s, want %s", i+1, got, passOurs)
			}
		}
		if got := tw.run(t, looping); got != (Verdict{Drop, ReasonRateLimit}) {
			t.Fatalf("packet past the burst: %s, want dropped-ratelimit", got)
		}
		if got := tw.run(t, other); got != passOurs {
			t.Fatalf("another client: %s, want %s", got, passOurs)
		}
		// A request that is never balanced is limited too.
		renew := oursFrame(withType(dhcpRequest), withCiaddr())
		if got := tw.run(t, renew); got != (Verdict{Drop, ReasonRateLimit}) {
			t.Fatalf("renewal past the burst: %s, want dropped-ratelimit", got)
		}
		// One token comes back every 500ms.
		time.Sleep(600 * time.Millisecond)
		if got := tw.run(t, looping); got != passOurs {
			t.Fatalf("after 600ms: %s, want %s", got, passOurs)
		}
		if got := tw.run(t, looping); got != (Verdict{Drop, ReasonRateLimit}) {
			t.Fatalf("second packet after 600ms: %s, want dropped-ratelimit", got)
		}
	})
}

// TestRateLimitSparesPartnerDrops checks that frames dropped for the
// partner do not use up the client's tokens.
func TestRateLimitSparesPartnerDrops(t *testing.T) {
	cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1}}
	forBothTwins(t, cfg, func(t *testing.T, tw twin) {
		if err := tw.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if got := tw.run(t, partnerFrame()); got != dropPartner {
				t.Fatalf("%s, want %s", got, dropPartner)
			}
		}
		if got := tw.run(t, partnerFrame(withType(dhcpRequest), withCiaddr())); got != passUnbalanced {
			t.Fatalf("renewal after partner drops: %s, want %s", got, passUnbalanced)
		}
	})
}

func TestNewModeOff(t *testing.T) {
	if _, err := New(config.Dataplane{Mode: config.DataplaneOff}, nil); !errors.Is(err, ErrModeOff) {
		t.Fatalf("New with mode off: %v, want ErrModeOff", err)
	}
}

// TestRateLimitAppliesTo checks which passing frames the flood guard
// charges: every BOOTREQUEST that passes, whatever its reason, and nothing
// that is not one. With a burst of 1, a second identical frame tells.
func TestRateLimitAppliesTo(t *testing.T) {
	limited := Verdict{Drop, ReasonRateLimit}
	cases := []struct {
		name  string
		frame []byte
		first Verdict
		again Verdict
	}{
		{"discover ours", oursFrame(), passOurs, limited},
		{"secs bypass", partnerFrame(withSecs(30)), passBypass, limited},
		{"renewal", partnerFrame(withType(dhcpRequest), withCiaddr()), passUnbalanced, limited},
		{"overload", partnerFrame(withOptions(opt(optOverload, 3), endOpt)), Verdict{Pass, ReasonOverload}, limited},
		{"option limit", partnerFrame(withOptions(make([]byte, 200), msgType(1), endOpt)), Verdict{Pass, ReasonOptionLimit}, limited},
		{"option limit after a type", partnerFrame(withOptions(msgType(7), make([]byte, 200), endOpt)), Verdict{Pass, ReasonOptionLimit}, limited},
		{"bootreply", partnerFrame(func(m *msg) { m.op = 2 }), Verdict{Pass, ReasonNotRequest}, Verdict{Pass, ReasonNotRequest}},
		{"fragment", frame{fragField: 0x2000, payload: newMsg().bytes()}.bytes(), Verdict{Pass, ReasonFragment}, Verdict{Pass, ReasonFragment}},
		{"partner", partnerFrame(), dropPartner, dropPartner},
		{"malformed", oursFrame(func(m *msg) { m.hlen = 17 }), dropMalformed, dropMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := config.Dataplane{SecsBypass: 10, RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1}}
			forBothTwins(t, cfg, func(t *testing.T, tw twin) {
				if err := tw.SetSplit(50, true); err != nil {
					t.Fatal(err)
				}
				if got := tw.run(t, c.frame); got != c.first {
					t.Fatalf("first: %s, want %s", got, c.first)
				}
				if got := tw.run(t, c.frame); got != c.again {
					t.Fatalf("again: %s, want %s", got, c.again)
				}
			})
		})
	}
}
