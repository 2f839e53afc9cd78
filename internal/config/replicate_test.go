package config

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const replicaBase = `server:
  interfaces: [eth1]
  address: 192.0.2.1
options:
  domain-name: file.example
dataplane:
  rate-limit: {per-client-pps: 10, burst: 99}
scopes:
  - subnet: 192.0.2.0/24
    pools: [192.0.2.100-192.0.2.199]
  - subnet: 198.51.100.0/24
    pools: [198.51.100.10-198.51.100.20]
failover: {name: p, role: secondary, listen: 192.0.2.1, partner: 192.0.2.2, scopes: [192.0.2.0/24]}
`

func TestReplaceScopes(t *testing.T) {
	base, err := Parse([]byte(replicaBase))
	if err != nil {
		t.Fatal(err)
	}
	good := func() Scope {
		return Scope{Subnet: netip.MustParsePrefix("192.0.2.0/24"), LeaseTime: Duration(time.Hour), Protocol: ProtocolDHCP,
			Pools:        []Range{{netip.MustParseAddr("192.0.2.50"), netip.MustParseAddr("192.0.2.150")}},
			Exclude:      []Range{{netip.MustParseAddr("192.0.2.60"), netip.MustParseAddr("192.0.2.60")}},
			Options:      Options{6: {192, 0, 2, 53}},
			Reservations: []Reservation{{HWAddress: net.HardwareAddr{2, 0, 0, 0, 0, 7}, IP: netip.MustParseAddr("192.0.2.7"), Hostname: "printer"}}}
	}
	tests := []struct {
		name   string
		mutate func(*[]Scope)
		want   []string // substrings of the error; none: accepted
	}{
		{name: "valid replacement", mutate: func(*[]Scope) {}},
		{name: "a failover scope missing", mutate: func(s *[]Scope) { *s = nil }, want: []string{"failover scope 192.0.2.0/24 is missing"}},
		{name: "a scope not under failover here", mutate: func(s *[]Scope) {
			x := good()
			x.Subnet = netip.MustParsePrefix("203.0.113.0/24")
			*s = append(*s, x)
		}, want: []string{"203.0.113.0/24 is not under failover here", "failover.scopes"}},
		{name: "the same scope twice", mutate: func(s *[]Scope) { *s = append(*s, good()) }, want: []string{"appears twice"}},
		{name: "pool outside the subnet", mutate: func(s *[]Scope) {
			(*s)[0].Pools[0].End = netip.MustParseAddr("192.0.3.10")
		}, want: []string{"scopes[192.0.2.0/24].pools[0]", "outside the scope's subnet"}},
		{name: "range the wrong way round", mutate: func(s *[]Scope) {
			(*s)[0].Pools[0] = Range{netip.MustParseAddr("192.0.2.150"), netip.MustParseAddr("192.0.2.50")}
		}, want: []string{"lower one first"}},
		{name: "invalid addresses do not panic", mutate: func(s *[]Scope) {
			(*s)[0].Pools[0] = Range{}
			(*s)[0].Reservations[0].IP = netip.Addr{}
		}, want: []string{"not a range of IPv4 addresses", "reservations[0].ip"}},
		{name: "server-owned option", mutate: func(s *[]Scope) { (*s)[0].Options[51] = []byte{0, 0, 0, 1} }, want: []string{"option 51", "set lease-time instead"}},
		{name: "malformed address option", mutate: func(s *[]Scope) { (*s)[0].Options[6] = []byte{1, 2, 3} }, want: []string{"not IPv4 addresses"}},
		{name: "reservation naming its client twice", mutate: func(s *[]Scope) { (*s)[0].Reservations[0].ClientID = []byte{1, 2} }, want: []string{"names its client 2 ways"}},
		{name: "lease time out of range", mutate: func(s *[]Scope) { (*s)[0].LeaseTime = Duration(time.Second) }, want: []string{"lease-time", "out of range"}},
		{name: "server address in a pool", mutate: func(s *[]Scope) {
			(*s)[0].Pools[0].Start = netip.MustParseAddr("192.0.2.1")
		}, want: []string{"server.address", "could be leased"}},
		{name: "bad hostname", mutate: func(s *[]Scope) { (*s)[0].Reservations[0].Hostname = "bad host" }, want: []string{"hostname", "not a host name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scopes := []Scope{good()}
			tt.mutate(&scopes)
			cfg, err := ReplaceScopes(base, scopes)
			if len(tt.want) > 0 {
				if err == nil {
					t.Fatal("accepted")
				}
				for _, w := range tt.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "line ") {
					t.Errorf("error %q names a line of a file that does not exist", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sc := cfg.Scopes[0]
			if sc.Pools[0].Start != netip.MustParseAddr("192.0.2.50") || len(sc.Reservations) != 1 {
				t.Fatalf("scope not replaced: %+v", sc)
			}
			if _, merged := sc.Options[15]; merged {
				t.Fatal("this server's global domain-name was merged into the replicated options")
			}
			if cfg.Scopes[1].Subnet != netip.MustParsePrefix("198.51.100.0/24") || cfg.Failover != base.Failover || cfg.Dataplane.RateLimit.Burst != 99 {
				t.Fatalf("the rest of the configuration changed: %+v", cfg)
			}
			if base.Scopes[0].Pools[0].Start != netip.MustParseAddr("192.0.2.100") {
				t.Fatal("base was changed")
			}
		})
	}
}

func TestReplaceScopesNeedsFailover(t *testing.T) {
	base, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReplaceScopes(base, nil); err == nil || !strings.Contains(err.Error(), "failover section") {
		t.Fatalf("err = %v", err)
	}
}

func TestReplicateScopesKey(t *testing.T) {
	for _, tt := range []struct {
		doc      string
		want     ReplicateMode
		wantStop StopState
		err      string
	}{
		{doc: "", want: ReplicateManual, wantStop: StopPaused},
		{doc: "  replicate-scopes: auto\n", want: ReplicateAuto, wantStop: StopPaused},
		{doc: "  replicate-scopes: manual\n  stop-state: shutdown\n", want: ReplicateManual, wantStop: StopShutdown},
		{doc: "  replicate-scopes: always\n", err: `failover.replicate-scopes "always": must be one of manual, auto`},
		{doc: "  stop-state: paused\n", want: ReplicateManual, wantStop: StopPaused},
		{doc: "  stop-state: halt\n", err: `failover.stop-state "halt": must be one of paused, shutdown`},
	} {
		cfg, err := Parse([]byte(minimal + "failover:\n  name: p\n  role: primary\n  listen: 192.0.2.1\n  partner: 192.0.2.2\n" + tt.doc))
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.doc, err, tt.err)
			}
			continue
		}
		if err != nil || cfg.Failover.ReplicateScopes != tt.want || cfg.Failover.StopState != tt.wantStop {
			t.Errorf("%q: %v, %v", tt.doc, cfg, err)
		}
	}
}
