package e2e

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// The load tests use the benchmarking range 198.18.0.0/15 (RFC 2544):
// perfdhcp acts as a relay from 198.18.0.2, so the server picks the scope
// by that giaddr and answers it on port 67.
const (
	perfServer = "198.18.0.1/16"
	perfGiaddr = "198.18.0.2/16"
)

func perfSpec() ServerSpec {
	return ServerSpec{
		Interfaces: []string{ServerIface},
		Address:    netip.MustParseAddr("198.18.0.1"),
		Scopes: []ScopeSpec{{
			Subnet:    netip.MustParsePrefix("198.18.0.0/16"),
			Pools:     []string{"198.18.1.0-198.18.255.254"},
			LeaseTime: time.Hour,
			Routers:   addrs("198.18.0.1"),
		}},
	}
}

// perfLab starts a daemon for perfSpec and a perfdhcp host.
func perfLab(t *testing.T) (*Daemon, *netns.NS) {
	lab := newLab(t, perfServer)
	d := startDaemon(t, lab, perfSpec())
	host, err := lab.AddHost("perf")
	mustDo(t, err, host.AddAddr(HostIface, perfGiaddr))
	return d, host
}

// ackCapture records, on the perfdhcp host, every DHCPACK the server sent.
func ackCapture(t *testing.T, ctx context.Context, host *netns.NS) *dhcpclients.Capture {
	t.Helper()
	c, err := dhcpclients.StartCapture(ctx, host, HostIface, "udp port 67 and src host 198.18.0.1",
		"dhcp.option.dhcp == 5", "dhcp.ip.your", "dhcp.hw.mac_addr")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ackedPairs turns captured rows into ip -> hardware address, failing on
// an address ACKed to two clients.
func ackedPairs(t *testing.T, rows [][]string) map[string]string {
	t.Helper()
	acked := make(map[string]string)
	for _, r := range rows {
		if len(r) != 2 {
			t.Fatalf("capture row %q", r)
		}
		ip, hw := r[0], strings.ToLower(r[1])
		if prev, ok := acked[ip]; ok && prev != hw {
			t.Errorf("%s ACKed to both %s and %s", ip, prev, hw)
		}
		acked[ip] = hw
	}
	return acked
}

func TestPerfdhcpLoadHandsOutDistinctLeases(t *testing.T) {
	setup(t, "perfdhcp")
	d, host := perfLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// What reached the client side, to tell server drops from perfdhcp's.
	wire, err := dhcpclients.StartCapture(ctx, host, HostIface, "udp port 67 and src host 198.18.0.1", "", "dhcp.option.dhcp")
	mustDo(t, err)
	const n = 2000
	res, err := dhcpclients.RunPerfdhcp(ctx, host, dhcpclients.PerfOptions{
		Iface: HostIface, Rate: 250, Clients: 1 << 30, Exchanges: n, Duration: 40 * time.Second,
		DropTime: 5 * time.Second, ExitWait: 3 * time.Second, Unique: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	do, ra := res.DiscoverOffer, res.RequestAck
	t.Logf("perfdhcp: DISCOVER-OFFER %+v, REQUEST-ACK %+v", do, ra)
	rows, err := wire.Stop()
	mustDo(t, err)
	types := make(map[string]int)
	for _, r := range rows {
		types[r[0]]++
	}
	t.Logf("server replies seen on the client's link: %d OFFER, %d ACK, %d NAK", types["2"], types["5"], types["6"])
	if dp, err := d.CtlText(ctx, "dataplane"); err == nil {
		t.Logf("xdhcpctl dataplane:\n%s", dp)
	}
	// perfdhcp may start a few exchanges past -n; every one must complete.
	if do.Sent < n || do.Received != do.Sent || do.Drops != 0 || ra.Sent != do.Sent || ra.Received != ra.Sent || ra.Drops != 0 ||
		do.NonUnique+ra.NonUnique+do.Rejected+ra.Rejected != 0 {
		t.Fatalf("want at least %d DORA exchanges, none dropped or duplicated\n%s", n, res.Output)
	}
	ips, hws := make(map[string]bool), make(map[string]bool)
	for _, l := range leases(t, d) {
		if l.State == "active" && netip.MustParsePrefix("198.18.0.0/16").Contains(netip.MustParseAddr(l.IP)) {
			ips[l.IP], hws[l.HWAddress] = true, true
		}
	}
	if len(ips) != ra.Received || len(hws) != ra.Received {
		t.Fatalf("xdhcpctl leases: %d distinct active addresses for %d distinct clients, want %d of each", len(ips), len(hws), ra.Received)
	}
}

func TestKill9UnderLoadLosesNoAckedLease(t *testing.T) {
	setup(t, "perfdhcp")
	d, host := perfLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	capture := ackCapture(t, ctx, host)

	var wg sync.WaitGroup
	var perfErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, perfErr = dhcpclients.RunPerfdhcp(ctx, host, dhcpclients.PerfOptions{
			Iface: HostIface, Rate: 300, Clients: 1 << 30, Duration: 8 * time.Second, DropTime: 2 * time.Second,
		})
	}()
	time.Sleep(4 * time.Second)
	pid := d.Pid()
	d.Kill()
	t.Logf("killed xdhcpd (pid %d) with SIGKILL under load", pid)
	wg.Wait()
	if perfErr != nil {
		t.Fatal(perfErr)
	}
	rows, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	acked := ackedPairs(t, rows)
	if len(acked) < 100 {
		t.Fatalf("only %d ACKs seen before the kill: the load did not run", len(acked))
	}

	if err := d.Start(ctx); err != nil {
		t.Fatalf("restart on the same data-dir after SIGKILL: %v", err)
	}
	stored := make(map[string]string)
	for _, l := range leases(t, d) {
		if l.State == "active" {
			stored[l.IP] = strings.ToLower(l.HWAddress)
		}
	}
	lost := 0
	for ip, hw := range acked {
		if stored[ip] != hw {
			lost++
			if lost <= 10 {
				t.Errorf("ACKed %s to %s, after restart: %q", ip, hw, stored[ip])
			}
		}
	}
	t.Logf("%d ACKed leases before SIGKILL, %d active after restart, %d lost", len(acked), len(stored), lost)
}
