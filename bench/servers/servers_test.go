package servers

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/perfdhcp"
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
	for _, name := range []string{"kea", "kea-mt", "dhcpd", "dnsmasq"} {
		t.Run(name, func(t *testing.T) {
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
				LeaseTime: time.Hour, Dir: t.TempDir(),
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
