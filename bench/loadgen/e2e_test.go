//go:build linux

package loadgen_test

import (
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/loadgen"
	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/responder"
	"github.com/xdhcp/xdhcp/bench/stats"
)

// TestAgainstEchoResponder runs the generator over a real veth pair
// against the echo responder in its own namespace.
func TestAgainstEchoResponder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and packet sockets; run as root")
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topo, err := netns.New(ctx, &netns.Config{Prefix: "xbe2e"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	open := func(ns, iface string, cfg *rawio.Config) *rawio.Conn {
		var c *rawio.Conn
		if err := netns.Do(ns, func() (err error) { c, err = rawio.Open(iface, cfg); return err }); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	srv := open(topo.SrvNS, topo.SrvIface, &rawio.Config{Ports: []uint16{67}})
	done := make(chan responder.Counters, 1)
	go func() {
		c, err := responder.Serve(ctx, srv, responder.Config{ServerIP: topo.SrvAddr, ServerMAC: srv.HardwareAddr()})
		if err != nil {
			t.Error(err)
		}
		done <- c
	}()
	gen := open(topo.GenNS, topo.GenIface, &rawio.Config{Ports: []uint16{67, 68}, ARP: true})

	tests := []struct {
		name string
		cfg  loadgen.Config
		kind stats.Kind
	}{
		{"dora unbounded", loadgen.Config{Clients: 5000}, stats.DORA},
		{"dora at a fixed rate", loadgen.Config{Clients: 5000, Rate: 3000}, stats.DORA},
		{"renew", loadgen.Config{Scenario: loadgen.ScenarioRenew, Clients: 500}, stats.Renew},
		{"relayed", loadgen.Config{Clients: 500, Relay: topo.GenAddr, Servers: []netip.Addr{topo.SrvAddr}}, stats.DORA},
		{"relayed renew", loadgen.Config{Scenario: loadgen.ScenarioRenew, Clients: 300, Relay: topo.GenAddr, Servers: []netip.Addr{topo.SrvAddr}}, stats.Renew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Duration, cfg.Timeout, cfg.Retries = 400*time.Millisecond, 500*time.Millisecond, 2
			res, err := loadgen.Run(ctx, gen, cfg)
			if err != nil {
				t.Fatal(err)
			}
			k := res.Stats.Kinds[tt.kind]
			if k.Completed == 0 || res.DropRatio(tt.kind) > 0 || res.Stats.DupAddresses != 0 || res.Stats.RxMalformed != 0 {
				t.Errorf("%s: %+v, dups %d, malformed %d", tt.kind, k, res.Stats.DupAddresses, res.Stats.RxMalformed)
			}
			t.Logf("%s: %d completed (%.0f/s), p99 %v", tt.kind, k.Completed, res.CompletedRate(tt.kind), k.Latency.Quantile(0.99))
		})
	}
	cancel()
	if c := <-done; c.Replied == 0 || c.Malformed != 0 {
		t.Errorf("responder counters %+v", c)
	}
}
