package main

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// TestDataplaneReload reloads the flood guards and the secs bypass into a
// running setup (the Go filter; dataplane.TestReconfigure covers the XDP
// program's side) and checks each on the next packet, the status, and
// that a new mode or table size is kept for a restart and logged.
func TestDataplaneReload(t *testing.T) {
	const base = "server:\n  interfaces: [eth1]\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.100-192.0.2.199]\ndataplane:\n"
	parse := func(dataplane string) *config.Config {
		t.Helper()
		if !strings.Contains(dataplane, "mode:") {
			dataplane += "  mode: off\n"
		}
		cfg, err := config.Parse([]byte(base + dataplane))
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	core, logs := observer.New(zap.WarnLevel)
	d, err := startDataplane(zap.New(core), parse("  rate-limit: {per-client-pps: 1, burst: 1}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	// Half the buckets are ours: a client in the other half tests the bypass.
	if err := d.SetOwnedBuckets(loadbalance.SplitBuckets(50), true); err != nil {
		t.Fatal(err)
	}
	ours, partners := clientIn(t, true), clientIn(t, false)
	now := time.Now()
	steps := []struct {
		name   string
		reload string // dataplane keys reloaded before the packet; "" none
		packet []byte
		pass   bool
	}{
		{"first DISCOVER", "", discover(t, ours, 0), true},
		{"over the per-client rate", "", discover(t, ours, 0), false},
		{"rate raised: passes", "  rate-limit: {per-client-pps: 1000}\n", discover(t, ours, 0), true},
		{"partner's bucket", "", discover(t, partners, 10), false},
		{"secs-bypass 5: partner's bucket after 10 s passes", "  secs-bypass: 5\n", discover(t, partners, 10), true},
		{"rate lowered again, new table size and mode kept for a restart",
			"  mode: generic\n  rate-limit: {per-client-pps: 1, burst: 1, table-size: 8}\n", discover(t, ours, 0), false},
	}
	for _, s := range steps {
		if s.reload != "" {
			if err := d.reload(parse(s.reload)); err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
		}
		if ok, reason := d.filter.Allow(s.packet, now); ok != s.pass {
			t.Fatalf("%s: allowed %t (%s), want %t", s.name, ok, reason, s.pass)
		}
	}
	st, err := d.status()
	if err != nil {
		t.Fatal(err)
	}
	got := st.(dataplaneStatus)
	if got.Mode != "off" || got.RateLimit != (rateLimit{PerClientPPS: 1, Burst: 1, TableSize: 65536}) {
		t.Errorf("status after reload: mode %q, rate-limit %+v; want the start's mode and table size with the reloaded rate", got.Mode, got.RateLimit)
	}
	var restart []string
	for _, e := range logs.FilterMessageSnippet("next restart").All() {
		restart = append(restart, e.ContextMap()["setting"].(string))
	}
	if want := []string{"dataplane.mode", "dataplane.rate-limit.table-size"}; len(restart) != 2 || restart[0] != want[0] || restart[1] != want[1] {
		t.Errorf("restart warnings for %q, want %q", restart, want)
	}
}

// clientIn returns a MAC whose RFC 3074 bucket is in the first half
// (ours at split 50) or not.
func clientIn(t *testing.T, firstHalf bool) net.HardwareAddr {
	for i := range 1000 {
		hw := net.HardwareAddr{0x02, 0, 0, 0, byte(i >> 8), byte(i)}
		if (loadbalance.Hash(hw) < 128) == firstHalf {
			return hw
		}
	}
	t.Fatal("no MAC in the wanted half of the buckets")
	return nil
}

// discover is a DISCOVER's UDP payload from hw, waiting secs seconds.
func discover(t *testing.T, hw net.HardwareAddr, secs uint16) []byte {
	m, err := dhcpv4.NewDiscovery(hw)
	if err != nil {
		t.Fatal(err)
	}
	m.NumSeconds = secs
	return m.ToBytes()
}
