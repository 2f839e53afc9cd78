package servers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/perfdhcp"
	"github.com/xdhcp/xdhcp/internal/e2e"
)

func TestLookup(t *testing.T) {
	if _, err := Lookup("kea"); err != nil {
		t.Errorf("Lookup(kea): %v", err)
	}
	if _, err := Lookup("nope"); !errors.Is(err, ErrUnknown) {
		t.Errorf("Lookup(nope) err = %v, want ErrUnknown", err)
	}
}

// TestServersAnswer starts every installed third-party server in a fresh
// namespace pair and checks that perfdhcp completes DORA exchanges with it.
func TestServersAnswer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces; run as root")
	}
	if _, err := exec.LookPath("perfdhcp"); err != nil {
		t.Skip("perfdhcp not installed (Debian package kea-admin? no: perfdhcp)")
	}
	// Each with its lease cache off (as every scenario but renew-cached
	// runs it) and, where it has one, on: both configurations must start.
	cases := []struct {
		name  string
		cache int
	}{{"kea", 0}, {"kea", LeaseCachePercent}, {"kea-mt", 0}, {"dhcpd", 0}, {"dhcpd", LeaseCachePercent}, {"dnsmasq", 0}}
	for _, tc := range cases {
		name := tc.name
		t.Run(fmt.Sprintf("%s/cache-%d", name, tc.cache), func(t *testing.T) {
			srv, _ := Lookup(name)
			if _, err := exec.LookPath(srv.binary); err != nil {
				t.Skipf("%s not installed", srv.binary)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			topo, err := netns.New(ctx, &netns.Config{Prefix: "xbsrv"})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = topo.Close() })
			p, err := srv.Start(ctx, Spec{
				Namespace: topo.SrvNS, Iface: topo.SrvIface, Addr: topo.SrvAddr, Subnet: topo.Subnet,
				PoolStart: netip.MustParseAddr("10.99.1.0"), PoolEnd: netip.MustParseAddr("10.99.1.255"),
				LeaseTime: time.Hour, Dir: t.TempDir(), LeaseCachePercent: tc.cache,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Stop() })
			var res perfdhcp.Result
			for try := 0; try < 5; try++ { // servers take a moment to open their sockets
				res, _, err = perfdhcp.Run(ctx, perfdhcp.Options{Namespace: topo.GenNS, Iface: topo.GenIface, Rate: 50, Clients: 10, Period: time.Second, Extra: []string{"-n", "5", "-W", "300000"}})
				if err == nil && res.RA.Received > 0 {
					break
				}
			}
			if err != nil || res.RA.Received == 0 {
				t.Fatalf("no DORA completed (err %v, result %+v); server output:\n%s", err, res, p.Tail())
			}
			cpu, err := p.CPU()
			if err != nil {
				t.Fatal(err)
			}
			if cpu.Total() < 0 {
				t.Errorf("negative cpu %v", cpu)
			}
			if err := p.Stop(); err != nil {
				t.Error(err)
			}
			if p.Alive() {
				t.Error("still alive after Stop")
			}
		})
	}
}

// TestPairsReachNormal starts each failover pair on the pair topology,
// which Start returns only once both partners are in normal operation, and
// checks the pair answers DORA and (for xdhcpd) that each acknowledged
// lease shows up in the replication lag histogram.
func TestPairsReachNormal(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces; run as root")
	}
	if _, err := exec.LookPath("perfdhcp"); err != nil {
		t.Fatalf("perfdhcp not installed (Debian package kea-admin): %v", err)
	}
	xdhcpd := xdhcpdBinary(t)
	for _, name := range []string{"kea-ha", "xdhcpd-failover"} {
		t.Run(name, func(t *testing.T) {
			srv, _ := Lookup(name)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			topo, err := netns.New(ctx, &netns.Config{Prefix: "xbsrv", Pair: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = topo.Close() })
			spec := Spec{
				Namespace: topo.SrvNS, Iface: topo.SrvIface, Addr: topo.SrvAddr, Subnet: topo.Subnet,
				PoolStart: netip.MustParseAddr("10.99.1.0"), PoolEnd: netip.MustParseAddr("10.99.1.255"),
				LeaseTime: time.Hour, Dir: t.TempDir(), PeerNamespace: topo.PeerNS, PeerAddr: topo.PeerAddr,
			}
			if name == "xdhcpd-failover" {
				spec.Binary = xdhcpd
			}
			started := time.Now()
			p, err := srv.Start(ctx, spec)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = p.Stop() })
			t.Logf("%s in normal operation %v after start", name, time.Since(started).Round(time.Millisecond))
			var before Histogram
			if srv.ReportsLag {
				if before, err = p.ReplicationLag(ctx); err != nil {
					t.Fatal(err)
				}
			} else if _, err := p.ReplicationLag(ctx); !errors.Is(err, ErrNoLag) {
				t.Errorf("ReplicationLag of %s: %v, want ErrNoLag", name, err)
			}
			res, _, err := perfdhcp.Run(ctx, perfdhcp.Options{Namespace: topo.GenNS, Iface: topo.GenIface, Rate: 50, Clients: 20, Period: time.Second,
				Extra: []string{"-n", "20", "-W", "300000"}})
			if err != nil || res.RA.Received == 0 {
				t.Fatalf("no DORA completed (err %v, result %+v); server output:\n%s", err, res, p.Tail())
			}
			if !srv.ReportsLag {
				return
			}
			if left, err := p.Settle(ctx, 2*time.Second); err != nil || left != 0 {
				t.Fatalf("Settle: %d updates outstanding, %v", left, err)
			}
			after, err := p.ReplicationLag(ctx)
			if err != nil {
				t.Fatal(err)
			}
			d, err := after.Sub(before)
			if err != nil {
				t.Fatal(err)
			}
			if d.Count < uint64(res.RA.Received) {
				t.Errorf("lag histogram counted %d updates for %d ACKs", d.Count, res.RA.Received)
			}
			p99, ok := d.Quantile(0.99)
			if !ok || p99 <= 0 || p99 > 5*time.Second {
				t.Errorf("lag p99 = %v (ok %v), want a positive lag under 5s", p99, ok)
			}
		})
	}
}

// xdhcpdBinary returns an xdhcpd executable: $XDHCP_E2E_BINDIR/xdhcpd when
// set (a prebuilt one, as for internal/e2e), else one built from this
// module.
func xdhcpdBinary(t *testing.T) string {
	if dir := os.Getenv("XDHCP_E2E_BINDIR"); dir != "" {
		return filepath.Join(dir, "xdhcpd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bin, err := e2e.Build(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("build xdhcpd: %v", err)
	}
	return bin.Xdhcpd
}
