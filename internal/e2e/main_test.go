package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// bin holds the binaries TestMain built (in binDir, removed after the
// tests); buildErr says why it could not.
var (
	bin      Binaries
	binDir   string
	buildErr error
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if netns.CheckRoot() != nil {
		return m.Run() // every test skips
	}
	dir, err := os.MkdirTemp("", "xdhcp-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	if pre := os.Getenv("XDHCP_E2E_BINDIR"); pre != "" {
		// Prebuilt binaries, e.g. from a clean checkout while the tree is
		// being edited.
		bin = Binaries{Xdhcpd: filepath.Join(pre, "xdhcpd"), Xdhcpctl: filepath.Join(pre, "xdhcpctl")}
		return m.Run()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, buildErr = Build(ctx, dir)
	return m.Run()
}

// setup skips when not root, fails when the binaries did not build or a
// program is missing.
func setup(t testing.TB, programs ...string) {
	t.Helper()
	netns.RequireRoot(t)
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	if err := dhcpclients.CheckTools(append(programs, "ip", "tshark")...); err != nil {
		t.Fatal(err)
	}
}

// newLab builds a lab closed at the end of the test.
func newLab(t *testing.T, server string) *Lab {
	t.Helper()
	lab, err := NewLab("xe", netip.MustParsePrefix(server))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	return lab
}

// startDaemon runs xdhcpd for spec in the lab's server namespace. At the
// end of the test it must stop cleanly on SIGTERM; its log is shown when
// the test failed.
func startDaemon(t *testing.T, lab *Lab, spec ServerSpec) *Daemon {
	t.Helper()
	d := NewDaemon(bin, lab.Server, t.TempDir())
	if err := d.WriteSpec(spec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.Running() {
			if err := d.Stop(); err != nil {
				t.Errorf("stop xdhcpd: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("xdhcpd log:\n%s", d.Log())
		}
	})
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// newClient returns a client of kind on host, closed at the end of the test.
func newClient(t testing.TB, kind string, host *netns.NS, hostname string) dhcpclients.Client {
	t.Helper()
	c, err := dhcpclients.New(kind, dhcpclients.Config{NS: host, Iface: HostIface, Dir: t.TempDir(), Hostname: hostname})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// query asks a daemon something through xdhcpctl (get is one of its
// methods), failing the test on an error.
func query[T any](t testing.TB, get func(context.Context) (T, error)) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	v, err := get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func leases(t testing.TB, d *Daemon) []api.Lease {
	t.Helper()
	return query(t, d.Leases)
}

// reusedOf sums the daemon's REQUESTs answered from its lease cache.
func reusedOf(t testing.TB, d *Daemon) uint64 {
	t.Helper()
	var n uint64
	for _, sc := range query(t, d.Status).Scopes {
		n += sc.Reused
	}
	return n
}

func mustDo(t testing.TB, steps ...error) {
	t.Helper()
	for _, err := range steps {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func addrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, a := range s {
		out[i] = netip.MustParseAddr(a)
	}
	return out
}

func inRange(ip netip.Addr, first, last string) bool {
	return ip.Compare(netip.MustParseAddr(first)) >= 0 && ip.Compare(netip.MustParseAddr(last)) <= 0
}
