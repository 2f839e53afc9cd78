package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
)

// TestFloodingClientIsRateLimitedAtXDP floods from one client MAC with
// perfdhcp (-R 1) while the per-client flood guard is on: the XDP program
// must drop the excess, and another client must still get its lease.
func TestFloodingClientIsRateLimitedAtXDP(t *testing.T) {
	setup(t, "perfdhcp", "udhcpc")
	lab := newLab(t, perfServer)
	spec := perfSpec()
	spec.RateLimitPPS, spec.RateLimitBurst = 10, 20
	d := startDaemon(t, lab, spec)
	flooder, err := lab.AddHost("fl")
	mustDo(t, err, flooder.AddAddr(HostIface, perfGiaddr))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	flood := make(chan error, 1)
	go func() {
		_, err := dhcpclients.RunPerfdhcp(ctx, flooder, dhcpclients.PerfOptions{
			Iface: HostIface, Rate: 400, Clients: 1, Duration: 4 * time.Second,
		})
		flood <- err
	}()
	time.Sleep(time.Second)
	host, err := lab.AddHost("ok")
	mustDo(t, err)
	got, err := newClient(t, "udhcpc", host, "").Acquire(ctx)
	if err != nil {
		t.Fatalf("a well-behaved client during the flood: %v", err)
	}
	if err := <-flood; err != nil {
		t.Fatal(err)
	}
	dp, err := d.Dataplane(ctx)
	mustDo(t, err)
	t.Logf("client got %s during the flood; XDP counters %v", got.IP, dp.XDP)
	if dp.XDP["dropped-ratelimit"] < 100 {
		t.Errorf("XDP dropped %d frames of a 400/s flood from one MAC at 10 pps: %v", dp.XDP["dropped-ratelimit"], dp.XDP)
	}
	if !d.Running() {
		t.Fatal("xdhcpd died during the flood")
	}
}
