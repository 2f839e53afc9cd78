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
	ctx := context.Background()
	topo, err := New(ctx, &Config{Prefix: "xbt"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	for _, c := range []struct{ ns, iface string }{{topo.GenNS, GenIface}, {topo.SrvNS, SrvIface}} {
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
		if strings.HasPrefix(e.Name(), topo.GenNS) || e.Name() == topo.SrvNS {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
}
