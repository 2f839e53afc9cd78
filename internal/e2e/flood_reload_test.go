package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// TestFloodGuardReloadRaisesPerClientLimit floods from one client MAC (perfdhcp
// -R 1, relayed without option 82, so no other guard applies) while the
// per-client limit holds it to 5 packets a second, raises the limit in the
// file and reloads with xdhcpctl, and floods again: the attached XDP
// program, never detached, must now pass the client it was dropping.
func TestFloodGuardReloadRaisesPerClientLimit(t *testing.T) {
	setup(t, "perfdhcp")
	spec := perfSpec()
	spec.RateLimitPPS, spec.RateLimitBurst = 5, 5
	d, flooder := startFloodLab(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	flood := func() {
		t.Helper()
		if _, err := dhcpclients.RunPerfdhcp(ctx, flooder, dhcpclients.PerfOptions{
			Iface: HostIface, Rate: 200, Clients: 1, Duration: 2 * time.Second,
		}); err != nil {
			t.Fatal(err)
		}
	}
	counters := func() (passed, limited uint64) {
		t.Helper()
		dp, err := d.Dataplane(ctx)
		mustDo(t, err)
		if len(dp.Interfaces) == 0 || len(dp.XDP) == 0 {
			t.Fatalf("XDP is not attached: %+v", dp)
		}
		for name, n := range dp.XDP {
			if strings.HasPrefix(name, "passed-") {
				passed += n
			}
		}
		return passed, dp.XDP["dropped-ratelimit"]
	}

	flood()
	passed0, limited0 := counters()
	if limited0 < 100 {
		t.Fatalf("at 5 pps the program dropped %d of a 200/s flood from one MAC", limited0)
	}

	spec.RateLimitPPS, spec.RateLimitBurst = 100000, 200000
	mustDo(t, d.WriteSpec(spec))
	if _, err := d.Ctl(ctx, "reload"); err != nil {
		t.Fatal(err)
	}
	dp, err := d.Dataplane(ctx)
	mustDo(t, err)
	if dp.RateLimit.PerClientPPS != 100000 {
		t.Fatalf("after reload xdhcpctl dataplane shows per-client-pps %d, want 100000: the reload did not reach the dataplane", dp.RateLimit.PerClientPPS)
	}
	flood()
	passed1, limited1 := counters()
	t.Logf("before the reload: %d passed, %d rate limited; after it: %d passed, %d rate limited", passed0, limited0, passed1-passed0, limited1-limited0)
	if limited1 != limited0 {
		t.Errorf("the program still rate limited %d frames after the limit was raised to 100000 pps", limited1-limited0)
	}
	if passed1-passed0 < 200 {
		t.Errorf("after the reload only %d frames of a 2 s flood at 200/s passed", passed1-passed0)
	}
	if dp.Interfaces[ServerIface] == "" {
		t.Errorf("the program is no longer attached to %s after the reload: %v", ServerIface, dp.Interfaces)
	}
}

// startFloodLab starts xdhcpd for spec (a perfSpec) in a new lab and
// returns it with a host on its LAN to flood from.
func startFloodLab(t *testing.T, spec ServerSpec) (*Daemon, *netns.NS) {
	t.Helper()
	lab := newLab(t, perfServer)
	d := startDaemon(t, lab, spec)
	flooder, err := lab.AddHost("fl")
	mustDo(t, err, flooder.AddAddr(HostIface, perfGiaddr))
	return d, flooder
}
