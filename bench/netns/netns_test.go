package netns

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestTopologyPingAndCleanup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces; run as root")
	}
	for _, pair := range []bool{false, true} {
		t.Run(map[bool]string{false: "single", true: "pair"}[pair], func(t *testing.T) { checkTopology(t, pair) })
	}
}

func checkTopology(t *testing.T, pair bool) {
	ctx := context.Background()
	topo, err := New(ctx, &Config{Prefix: "xbt", Pair: pair})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	ends := []struct{ ns, iface string }{{topo.GenNS, GenIface}, {topo.SrvNS, SrvIface}}
	if pair {
		if topo.PeerNS == "" || topo.SwitchNS == "" || !topo.PeerAddr.IsValid() {
			t.Fatalf("pair topology without peer: %+v", topo)
		}
		ends = append(ends, struct{ ns, iface string }{topo.PeerNS, SrvIface})
		for _, f := range BridgeNetfilter {
			out, err := Command(ctx, topo.SwitchNS, "cat", f).CombinedOutput()
			switch {
			case err != nil && strings.Contains(string(out), "No such file"):
				t.Logf("%s: no br_netfilter in this kernel", f)
			case err != nil:
				t.Fatalf("read %s in the switch: %v: %s", f, err, out)
			case strings.TrimSpace(string(out)) != "0":
				t.Errorf("%s in the switch is %s, want 0", f, strings.TrimSpace(string(out)))
			}
		}
	}
	for _, c := range ends {
		out, err := Command(ctx, c.ns, "ip", "-o", "link", "show", c.iface).CombinedOutput()
		if err != nil {
			t.Fatalf("show %s in %s: %v: %s", c.iface, c.ns, err, out)
		}
		if !strings.Contains(string(out), "LOWER_UP") {
			t.Errorf("%s in %s is not up: %s", c.iface, c.ns, out)
		}
	}
	if err := topo.Close(); err != nil {
		t.Fatal(err)
	}
	list, err := os.ReadDir("/run/netns")
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range list {
		if n := e.Name(); n == topo.GenNS || n == topo.SrvNS || (pair && (n == topo.PeerNS || n == topo.SwitchNS)) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}
