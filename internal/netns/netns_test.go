package netns

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func TestVethAndBridgeCarryTraffic(t *testing.T) {
	a := New(t, "nst-a")
	sw := New(t, "nst-sw")
	b := New(t, "nst-b")
	VethPair(t, a, "eth0", sw, "pa")
	VethPair(t, b, "eth0", sw, "pb")
	Bridge(t, sw, "br0", "pa", "pb")
	mac, _ := net.ParseMAC("02:00:00:aa:bb:cc")
	for _, step := range []error{
		a.SetMAC("eth0", mac),
		a.AddAddr("eth0", "192.0.2.1/24"),
		b.AddAddr("eth0", "192.0.2.2/24"),
		b.AddRoute("198.51.100.0/24", "192.0.2.1"),
	} {
		if step != nil {
			t.Fatal(step)
		}
	}
	got, err := a.MAC("eth0")
	if err != nil || got.String() != mac.String() {
		t.Fatalf("MAC = %v, %v; want %v", got, err, mac)
	}
	if err := b.Run("busybox", "ping", "-c", "1", "-W", "2", "192.0.2.1"); err != nil {
		t.Fatalf("ping across the bridge: %v", err)
	}
	out, err := b.Output("ip", "route", "show", "198.51.100.0/24")
	if err != nil || !strings.Contains(out, "via 192.0.2.1") {
		t.Fatalf("route: %q, %v", out, err)
	}
}

func TestResolvConfIsPrivate(t *testing.T) {
	ns := New(t, "nst-r")
	host, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Skipf("host has no resolv.conf: %v", err)
	}
	if err := ns.Run("sh", "-c", "echo nameserver 192.0.2.53 > /etc/resolv.conf"); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile("/etc/resolv.conf")
	if err != nil || string(after) != string(host) {
		t.Fatalf("host resolv.conf changed by a write inside the namespace")
	}
}

func TestCloseStopsProcessesAndDeletes(t *testing.T) {
	RequireRoot(t)
	ns, err := Create("nst-c")
	if err != nil {
		t.Fatal(err)
	}
	p, err := ns.Start(ns.Command(context.Background(), "sleep", "60"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := ns.Close(); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() || time.Since(start) > 5*time.Second {
		t.Fatalf("sleep not stopped by Close")
	}
	if _, err := os.Stat("/run/netns/" + ns.Name); !os.IsNotExist(err) {
		t.Fatalf("namespace %s still exists: %v", ns.Name, err)
	}
	if err := ns.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestDoOpensSocketsInside(t *testing.T) {
	ns := New(t, "nst-d")
	if err := ns.AddAddr("lo", "192.0.2.7/32"); err != nil {
		t.Fatal(err)
	}
	var conn net.PacketConn
	err := ns.Do(func() error {
		var err error
		conn, err = net.ListenPacket("udp4", "192.0.2.7:0")
		return err
	})
	if err != nil {
		t.Fatalf("listen on a namespace-only address: %v", err)
	}
	defer conn.Close()
	if _, err := net.ListenPacket("udp4", "192.0.2.7:0"); err == nil {
		t.Fatal("the namespace's address is bound outside it: Do leaked the thread's namespace")
	}
}
