package dataplane

import (
	"fmt"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

func TestRateLimitTableEviction(t *testing.T) {
	// The Go table holds 2 clients: a third evicts the least recently used.
	f := NewFilter(config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1, Burst: 1, TableSize: 2}})
	now := time.Now()
	a, b, c := dhcpFrame(newMsg(withMAC(mac(1)))), dhcpFrame(newMsg(withMAC(mac(2)))), dhcpFrame(newMsg(withMAC(mac(3))))
	for _, fr := range [][]byte{a, b, c} {
		if got := f.Frame(fr, now); got != passOurs {
			t.Fatalf("first packet: %s", got)
		}
	}
	if got := f.Frame(a, now); got != passOurs {
		t.Fatalf("evicted client: %s, want %s (a fresh bucket)", got, passOurs)
	}
	if got := f.Frame(c, now); got != (Verdict{Drop, ReasonRateLimit}) {
		t.Fatalf("remembered client: %s, want dropped-ratelimit", got)
	}
}

func TestPayloadMatchesFrame(t *testing.T) {
	for _, c := range balancedCases() {
		payload, _, ok := frameBOOTP(c.frame)
		if !ok {
			continue
		}
		f := NewFilter(config.Dataplane{SecsBypass: 3})
		if err := f.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		if got := f.Payload(payload, time.Now()); got != c.want {
			t.Errorf("%s: Payload says %s, Frame says %s", c.name, got, c.want)
		}
	}
}

func TestVerdictNames(t *testing.T) {
	for _, tt := range []struct {
		v    Verdict
		want string
	}{
		{passOurs, "passed-ours"},
		{dropPartner, "dropped-partner"},
		{Verdict{Drop, ReasonRateLimit}, "dropped-ratelimit"},
		{passNotDHCP, "passed-not-dhcp"},
		{passBypass, "passed-secs-bypass"},
		{Verdict{Action(9), Reason(99)}, "action(9)-reason(99)"},
	} {
		if got := tt.v.String(); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.v, got, tt.want)
		}
	}
	for i := range counterSlots {
		if got := counterIndex(verdictOfIndex(i)); got != i {
			t.Fatalf("counter index %d round-trips to %d", i, got)
		}
	}
	_ = fmt.Sprint(newStats())
}
