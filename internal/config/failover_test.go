package config

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// issueFailover is the failover section of the issue that asked for it.
const issueFailover = `failover:
  name: edge-pair
  role: primary                     # primary | secondary
  listen: 192.0.2.1:647
  partner: 192.0.2.2:647
  mode: load-balance                # load-balance | hot-standby
  load-balance-percent: 50
  hot-standby: {server-role: active, reserve-percent: 5}
  mclt: 1h
  state-switchover-interval: 60m    # omit: partner-down only by command
  shared-secret-file: /etc/xdhcp/failover.secret
  max-unacked-bndupd: 100
  load-balance-max-seconds: 3
  scopes: [192.0.2.0/24]
`

func TestFailoverParses(t *testing.T) {
	cfg, err := Parse([]byte(minimal + issueFailover))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Failover
	want := Failover{
		Name: "edge-pair", Role: FailoverPrimary, Listen: "192.0.2.1:647", Partner: "192.0.2.2:647",
		Mode: FailoverLoadBalance, LoadBalancePercent: 50, HotStandby: HotStandby{ServerRole: "active", ReservePercent: 5},
		MCLT: Duration(time.Hour), StateSwitchoverInterval: Duration(time.Hour), SharedSecretFile: "/etc/xdhcp/failover.secret",
		MaxUnackedBndUpd: 100, LoadBalanceMaxSeconds: 3, MaxResponseDelay: DefaultFailoverResponseDelay,
		MaxClockSkew: DefaultFailoverMaxClockSkew, Scopes: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}, Line: f.Line,
	}
	if f == nil || f.Name != want.Name || f.Role != want.Role || f.Listen != want.Listen || f.Partner != want.Partner ||
		f.Mode != want.Mode || f.HotStandby != want.HotStandby || f.MCLT != want.MCLT || f.StateSwitchoverInterval != want.StateSwitchoverInterval ||
		f.SharedSecretFile != want.SharedSecretFile || f.MaxUnackedBndUpd != want.MaxUnackedBndUpd || f.LoadBalanceMaxSeconds != 3 ||
		len(f.Scopes) != 1 || f.Scopes[0] != want.Scopes[0] || f.Line != 7 {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
}

func TestFailoverDefaults(t *testing.T) {
	cfg, err := Parse([]byte(minimal + "failover: {name: p, role: secondary, listen: 192.0.2.2, partner: primary.example}\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := cfg.Failover
	if f.Listen != "192.0.2.2:647" || f.Partner != "primary.example:647" || f.Mode != FailoverLoadBalance ||
		f.LoadBalancePercent != 50 || f.HotStandby.ReservePercent != 5 || f.MCLT != Duration(time.Hour) ||
		f.StateSwitchoverInterval != 0 || f.SharedSecretFile != "" || f.MaxUnackedBndUpd != 1000 ||
		f.LoadBalanceMaxSeconds != 3 || f.MaxResponseDelay != Duration(10*time.Second) ||
		len(f.Scopes) != 1 || f.Scopes[0] != netip.MustParsePrefix("192.0.2.0/24") {
		t.Fatalf("defaults %+v", f)
	}
	if cfg, _ := Parse([]byte(minimal)); cfg.Failover != nil {
		t.Fatal("failover set without a section")
	}
}

func TestFailoverRejects(t *testing.T) {
	const base = "failover:\n  name: p\n  role: primary\n  listen: 192.0.2.1\n  partner: 192.0.2.2\n"
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{"unknown key", base + "  mcltt: 3  #<\n", []string{`unknown key "mcltt" in failover`, `did you mean "mclt"`}},
		{"missing role", "failover:\n  name: p  #<\n  listen: 192.0.2.1\n  partner: 192.0.2.2\n", []string{"failover.role: is required", "role: primary"}},
		{"bad role", strings.Replace(base, "role: primary", "role: master  #<", 1), []string{`failover.role "master": must be one of primary, secondary`}},
		{"bad mode", base + "  mode: active-active  #<\n", []string{`failover.mode "active-active": must be one of load-balance, hot-standby`}},
		{"percent out of range", base + "  load-balance-percent: 101  #<\n", []string{`failover.load-balance-percent "101": out of range`}},
		{"listen is a name", strings.Replace(base, "listen: 192.0.2.1", "listen: me.example  #<", 1), []string{`failover.listen "me.example": the host must be an IP address`}},
		{"bad port", strings.Replace(base, "partner: 192.0.2.2", "partner: 192.0.2.2:70000  #<", 1), []string{`failover.partner "192.0.2.2:70000": port must be a number from 1 to 65535`}},
		{"partner is self", strings.Replace(base, "partner: 192.0.2.2", "partner: 192.0.2.1:647  #<", 1), []string{`failover.partner "192.0.2.1:647": is the same as failover.listen`}},
		{"mclt fractional", base + "  mclt: 1500ms  #<\n", []string{`failover.mclt "1500ms": must be whole seconds`}},
		{"hot-standby without role", strings.Replace(base, "name: p", "name: p  #<", 1) + "  mode: hot-standby\n", []string{"failover.hot-standby.server-role: is required in hot-standby mode"}},
		{"bad server-role", base + "  mode: hot-standby\n  hot-standby: {server-role: passive}  #<\n", []string{`failover.hot-standby.server-role "passive": must be one of active, standby`}},
		{"switchover below response delay", base + "  state-switchover-interval: 5s  #<\n", []string{"failover.state-switchover-interval \"5s\": is shorter than max-response-delay"}},
		{"scope not configured", base + "  scopes: [198.51.100.0/24]  #<\n", []string{`failover.scopes[0] "198.51.100.0/24": is not the subnet of any scope`}},
		{"scope twice", base + "  scopes:\n    - 192.0.2.0/24\n    - 192.0.2.0/24  #<\n", []string{`failover.scopes[1] "192.0.2.0/24": listed twice`}},
		{"empty secret file", base + "  shared-secret-file: \"\"  #<\n", []string{"failover.shared-secret-file", "must not be empty"}},
		{"unacked zero", base + "  max-unacked-bndupd: 0  #<\n", []string{`failover.max-unacked-bndupd "0": out of range`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := minimal + tt.doc
			_, err := Parse([]byte(doc))
			if err == nil {
				t.Fatal("accepted")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("not an *Error: %v", err)
			}
			line := markedLine(t, doc)
			msg := err.Error()
			if !strings.Contains(msg, "line "+strconv.Itoa(line)+":") {
				t.Errorf("message does not name line %d:\n%s", line, msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
		})
	}
}
