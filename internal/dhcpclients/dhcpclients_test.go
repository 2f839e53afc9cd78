package dhcpclients

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// These tests check the drivers against dnsmasq, a DHCP server independent
// of xdhcp, so that a failure of xdhcp's end-to-end tests is never a driver
// bug in disguise.

// startDnsmasq serves DHCP on iface in ns with 1h... leases from ranges
// ("start,end,mask,lease").
func startDnsmasq(t *testing.T, ns *netns.NS, iface string, ranges ...string) {
	t.Helper()
	dir := t.TempDir()
	args := []string{"--no-daemon", "--no-ping", "--conf-file=/dev/null", "--port=0", "--pid-file=",
		"--interface=" + iface, "--bind-interfaces", "--dhcp-leasefile=" + filepath.Join(dir, "leases"),
		"--dhcp-option=3,192.0.2.1", "--dhcp-option=6,192.0.2.53", "--log-dhcp"}
	for _, r := range ranges {
		args = append(args, "--dhcp-range="+r)
	}
	var out SyncBuffer
	cmd := ns.Command(context.Background(), "dnsmasq", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	proc, err := ns.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = proc.Stop(2 * time.Second)
		if t.Failed() {
			t.Logf("dnsmasq:\n%s", out.String())
		}
	})
	time.Sleep(300 * time.Millisecond)
	if proc.Exited() {
		t.Fatalf("dnsmasq exited: %v\n%s", proc.Wait(), out.String())
	}
}

// directLAN is a server namespace (srv0, 192.0.2.1/24) wired to a client
// namespace (eth0).
func directLAN(t *testing.T) (srv, cli *netns.NS) {
	srv = netns.New(t, "dct-s")
	cli = netns.New(t, "dct-c")
	netns.VethPair(t, srv, "srv0", cli, "eth0")
	if err := srv.AddAddr("srv0", "192.0.2.1/24"); err != nil {
		t.Fatal(err)
	}
	return srv, cli
}

func TestClientsGetAndRenewLease(t *testing.T) {
	hostResolv, _ := os.ReadFile("/etc/resolv.conf")
	hostState := dirListing(t, "/var/lib/dhcpcd")
	pool := netip.MustParsePrefix("192.0.2.96/27")
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			srv, cli := directLAN(t)
			startDnsmasq(t, srv, "srv0", "192.0.2.100,192.0.2.120,255.255.255.0,5m")
			c, err := New(kind, Config{NS: cli, Iface: "eth0", Dir: t.TempDir(), Hostname: "test-" + kind})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close() })
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()

			got, err := c.Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := Lease{PrefixLen: 24, Routers: addrs("192.0.2.1"), DNS: addrs("192.0.2.53"),
				LeaseTime: 5 * time.Minute, ServerID: netip.MustParseAddr("192.0.2.1")}
			checkLease(t, got, want, pool)
			if got.Event != "BOUND" {
				t.Errorf("first event %s, want BOUND", got.Event)
			}
			out, err := cli.Output("ip", "-4", "-o", "addr", "show", "dev", "eth0")
			if err != nil || !strings.Contains(out, got.Prefix().String()) {
				t.Errorf("eth0 lacks %s after %s: %q %v", got.Prefix(), kind, out, err)
			}

			renewed, err := c.Renew(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkLease(t, renewed, want, pool)
			if renewed.IP != got.IP || (renewed.Event != "RENEW" && renewed.Event != "REBOOT") {
				t.Errorf("renew gave %s %s, want RENEW or REBOOT of %s", renewed.Event, renewed.IP, got.IP)
			}
			after, _ := os.ReadFile("/etc/resolv.conf")
			if !bytes.Equal(after, hostResolv) {
				t.Errorf("%s changed the host's /etc/resolv.conf", kind)
			}
			if now := dirListing(t, "/var/lib/dhcpcd"); now != hostState {
				t.Errorf("%s changed the host's /var/lib/dhcpcd: %q, was %q", kind, now, hostState)
			}
		})
	}
}

// dirListing names a directory's entries with their sizes and times.
func dirListing(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s\n", e.Name(), info.Size(), info.ModTime())
	}
	return b.String()
}

func addrs(s ...string) []netip.Addr {
	var out []netip.Addr
	for _, a := range s {
		out = append(out, netip.MustParseAddr(a))
	}
	return out
}

func checkLease(t *testing.T, got, want Lease, pool netip.Prefix) {
	t.Helper()
	if !pool.Contains(got.IP) {
		t.Errorf("address %s outside %s", got.IP, pool)
	}
	if got.PrefixLen != want.PrefixLen || !slices.Equal(got.Routers, want.Routers) || !slices.Equal(got.DNS, want.DNS) ||
		got.LeaseTime != want.LeaseTime || got.ServerID != want.ServerID {
		t.Errorf("lease %s\nwant /%d routers %v dns %v lease %s server %s", got, want.PrefixLen, want.Routers, want.DNS, want.LeaseTime, want.ServerID)
	}
}

func TestPerfdhcpAndCapture(t *testing.T) {
	srv, cli := directLAN(t)
	startDnsmasq(t, srv, "srv0", "192.0.2.100,192.0.2.199,255.255.255.0,1h")
	if err := cli.AddAddr("eth0", "192.0.2.2/24"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	capture, err := StartCapture(ctx, cli, "eth0", "udp port 67", "dhcp.option.dhcp == 5", "dhcp.ip.your", "dhcp.hw.mac_addr")
	if err != nil {
		t.Fatal(err)
	}
	res, err := RunPerfdhcp(ctx, cli, PerfOptions{Iface: "eth0", Rate: 50, Clients: 1 << 30, Exchanges: 30, Duration: 10 * time.Second, DropTime: 3 * time.Second, Unique: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.DiscoverOffer.Sent != 30 || res.RequestAck.Received == 0 || res.RequestAck.NonUnique != 0 {
		t.Fatalf("perfdhcp: %+v\n%s", res, res.Output)
	}
	rows, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != res.RequestAck.Received {
		t.Fatalf("captured %d ACKs, perfdhcp received %d: %v", len(rows), res.RequestAck.Received, rows)
	}
	for _, r := range rows {
		if len(r) != 2 || !netip.MustParsePrefix("192.0.2.0/24").Contains(netip.MustParseAddr(r[0])) {
			t.Fatalf("captured row %q", r)
		}
	}
}

func TestRelayAddsCircuitID(t *testing.T) {
	srv := netns.New(t, "dct-s")
	relay := netns.New(t, "dct-r")
	cli := netns.New(t, "dct-c")
	netns.VethPair(t, srv, "srv0", relay, "up0")
	netns.VethPair(t, relay, "down0", cli, "eth0")
	for _, err := range []error{
		srv.AddAddr("srv0", "192.0.2.1/24"),
		relay.AddAddr("up0", "192.0.2.2/24"),
		relay.AddAddr("down0", "198.51.100.1/24"),
		srv.AddRoute("198.51.100.0/24", "192.0.2.2"),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	startDnsmasq(t, srv, "srv0", "198.51.100.100,198.51.100.120,255.255.255.0,1h")
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	r, err := StartRelay(ctx, relay, "down0", "up0", netip.MustParseAddr("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	capture, err := StartCapture(ctx, relay, "up0", "udp port 67", "dhcp.option.dhcp == 5", "dhcp.ip.your", "dhcp.option.agent_information_option.agent_circuit_id")
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewUdhcpc(Config{NS: cli, Iface: "eth0", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := c.Acquire(ctx)
	if err != nil {
		t.Fatalf("%v\nrelay:\n%s", err, r.Output())
	}
	if !netip.MustParsePrefix("198.51.100.0/24").Contains(got.IP) {
		t.Fatalf("relayed client got %s", got)
	}
	rows, err := capture.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 || rows[0][0] != got.IP.String() || rows[0][1] == "" {
		t.Fatalf("server's ACK on the relay's upstream: %q", rows)
	}
	t.Logf("ACK for %s carried circuit-id %s", rows[0][0], rows[0][1])
}
