package dataplane

import (
	"fmt"
	"slices"
	"strings"
	"sync"
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
		payload, _, ok := frameBOOTP(c.frame, new(linkSource))
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

func TestSettingsErrorsNameTheField(t *testing.T) {
	for _, tt := range []struct {
		cfg   config.Dataplane
		field string
	}{
		{config.Dataplane{Mode: "turbo"}, "dataplane.mode"},
		{config.Dataplane{SecsBypass: -1}, "dataplane.secs-bypass"},
		{config.Dataplane{SecsBypass: 65536}, "dataplane.secs-bypass"},
		{config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 2_000_000_000}}, "dataplane.rate-limit.per-client-pps"},
		{config.Dataplane{SourceLimit: config.SourceLimit{PPS: 2_000_000_000}}, "dataplane.source-limit.pps"},
		{config.Dataplane{DiscoverBudget: config.DiscoverBudget{PPS: 2_000_000_000}}, "dataplane.discover-budget.pps"},
	} {
		_, err := settingsFrom(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%+v: error %v, want one naming %s", tt.cfg, err, tt.field)
		}
	}
	s, err := settingsFrom(config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 10}})
	if err != nil {
		t.Fatal(err)
	}
	// Burst defaults to 2*pps: 20 packets at once, so tau is 19 intervals.
	if s.perClient.interval != 100_000_000 || s.perClient.tau != 19*100_000_000 || s.tableSize != defaultTableSize {
		t.Errorf("derived settings %+v", s)
	}
	if s.source.on || s.budget.on {
		t.Errorf("zero source-limit and discover-budget are on: %+v", s)
	}
	s, err = settingsFrom(config.Dataplane{SourceLimit: config.SourceLimit{PPS: 4}, DiscoverBudget: config.DiscoverBudget{PPS: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	// Source burst defaults to 2*pps (8); the budget's to pps/10 (100).
	if s.source.interval != 250_000_000 || s.source.tau != 7*250_000_000 || s.sourceTableSize != defaultTableSize {
		t.Errorf("derived source settings %+v", s.source)
	}
	if s.budget.interval != 1_000_000 || s.budget.tau != 99*1_000_000 {
		t.Errorf("derived budget settings %+v", s.budget)
	}
}

// TestFilterConcurrent runs frames while the assignment and the guards
// change; run with -race.
func TestFilterConcurrent(t *testing.T) {
	f := NewFilter(config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: 1000, TableSize: 16}})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				v := f.Frame(dhcpFrame(newMsg(withMAC(mac(byte(w*31+i))))), time.Now())
				if v != passOurs && v != dropPartner && v.Reason != ReasonRateLimit && v.Reason != ReasonSourceLimit && v.Reason != ReasonDiscoverBudget {
					t.Errorf("verdict %s", v)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if err := f.SetSplit(i%101, i%2 == 0); err != nil {
			t.Fatal(err)
		}
		if err := f.SetLoadBalancing(i%3 != 0); err != nil {
			t.Fatal(err)
		}
		cfg := config.Dataplane{RateLimit: config.RateLimit{PerClientPPS: uint32(1000 + i), TableSize: 16},
			SourceLimit: config.SourceLimit{PPS: uint32(i % 2 * 1000), Relayed: i%4 == 0}, DiscoverBudget: config.DiscoverBudget{PPS: uint32(i % 3 * 1000)}}
		if err := f.Reconfigure(cfg); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	s, _ := f.Stats()
	if s.Total() != 8000 {
		t.Fatalf("counted %d frames, want 8000", s.Total())
	}
}

// TestPayloadSourceLimit checks the source limit on bare UDP payloads:
// relayed messages with option 82 are limited by relay and circuit when
// source-limit.relayed is on, and not at all when it is off; direct ones
// cannot be, since a socket does not tell the Ethernet source.
func TestPayloadSourceLimit(t *testing.T) {
	relayedFrom := func(circuit string) func(*msg) {
		return func(m *msg) {
			m.giaddr = [4]byte{10, 9, 0, 1}
			m.options = concat(msgType(dhcpDiscover), opt(optRelayAgent, []byte(circuit)...), endOpt)
		}
	}
	for _, tt := range []struct {
		name    string
		relayed bool
		msg     func(i int) msg
		want    Verdict // of the third message
	}{
		{"relayed on, one circuit", true, func(i int) msg { return newMsg(withMAC(mac(byte(i))), relayedFrom("port-1")) }, Verdict{Drop, ReasonSourceLimit}},
		{"relayed on, a circuit each", true, func(i int) msg { return newMsg(withMAC(mac(byte(i))), relayedFrom(string(rune('a'+i)))) }, passOurs},
		{"relayed off, one circuit", false, func(i int) msg { return newMsg(withMAC(mac(byte(i))), relayedFrom("port-1")) }, passOurs},
		{"direct", true, func(i int) msg { return newMsg(withMAC(mac(byte(i)))) }, passOurs},
	} {
		f := NewFilter(config.Dataplane{SourceLimit: config.SourceLimit{PPS: 1, Burst: 2, Relayed: tt.relayed}})
		now := time.Now()
		var got Verdict
		for i := range 3 {
			got = f.Payload(tt.msg(i).bytes(), now)
		}
		if got != tt.want {
			t.Errorf("%s: third message %s, want %s", tt.name, got, tt.want)
		}
	}
}

// TestRestartNeeded checks which changes wait for a restart.
func TestRestartNeeded(t *testing.T) {
	base := config.Dataplane{Mode: config.DataplaneAuto,
		RateLimit:   config.RateLimit{PerClientPPS: 5, TableSize: 65536},
		SourceLimit: config.SourceLimit{PPS: 20, TableSize: 65536}}
	for _, tt := range []struct {
		name string
		edit func(*config.Dataplane)
		want []string
	}{
		{"nothing", func(*config.Dataplane) {}, nil},
		{"rates, bursts, relayed, budget, bypass", func(d *config.Dataplane) {
			d.RateLimit.PerClientPPS, d.RateLimit.Burst = 50, 7
			d.SourceLimit.PPS, d.SourceLimit.Relayed = 0, true
			d.DiscoverBudget.PPS, d.SecsBypass = 1000, 9
		}, nil},
		{"mode empty is auto", func(d *config.Dataplane) { d.Mode = "" }, nil},
		{"table size 0 is the default", func(d *config.Dataplane) { d.RateLimit.TableSize = 0 }, nil},
		{"mode", func(d *config.Dataplane) { d.Mode = config.DataplaneOff }, []string{"dataplane.mode"}},
		{"afxdp empty is auto", func(d *config.Dataplane) { d.AFXDP = config.AFXDPAuto }, nil},
		{"afxdp", func(d *config.Dataplane) { d.AFXDP = config.AFXDPOff }, []string{"dataplane.afxdp"}},
		{"both tables", func(d *config.Dataplane) { d.RateLimit.TableSize, d.SourceLimit.TableSize = 10, 20 },
			[]string{"dataplane.rate-limit.table-size", "dataplane.source-limit.table-size"}},
	} {
		next := base
		tt.edit(&next)
		if got := RestartNeeded(base, next); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
