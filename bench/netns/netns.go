package netns

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	inetns "github.com/xdhcp/xdhcp/internal/netns"
)

// Default addressing of the topology; 10.99.0.0/16 is private to the
// namespaces and never reaches the host.
var (
	defaultSubnet  = netip.MustParsePrefix("10.99.0.0/16")
	defaultSrvAddr = netip.MustParseAddr("10.99.0.1")
	defaultGenAddr = netip.MustParseAddr("10.99.0.2")
	defaultPeer    = netip.MustParseAddr("10.99.0.3")
)

// Interface names inside the namespaces.
const (
	GenIface = "gen0"
	SrvIface = "srv0"
)

// Config says how to name and address the topology. A nil *Config means
// defaults.
type Config struct {
	Prefix  string       // namespace name prefix; default "xb"
	Subnet  netip.Prefix // default 10.99.0.0/16
	SrvAddr netip.Addr   // default 10.99.0.1
	GenAddr netip.Addr   // default 10.99.0.2
	// Pair adds a second server namespace (a failover partner, srv0 at
	// PeerAddr); the three namespaces then meet on a bridge in a fourth,
	// switch namespace instead of one veth pair.
	Pair     bool
	PeerAddr netip.Addr // default 10.99.0.3
}

// Topology is a live set of namespaces: gen0 <-> srv0 directly, or, for a
// pair, gen0, srv0 and the peer's srv0 on one bridge.
type Topology struct {
	GenNS, SrvNS     string
	GenIface         string
	SrvIface         string
	Subnet           netip.Prefix
	SrvAddr, GenAddr netip.Addr
	PeerNS, SwitchNS string     // set for a pair
	PeerAddr         netip.Addr // set for a pair

	closeOnce sync.Once
	closeErr  error
}

var counter atomic.Uint64

// UniqueName returns prefix + pid + a per-process counter.
func UniqueName(prefix string) string {
	return fmt.Sprintf("%s%d-%d", prefix, os.Getpid(), counter.Add(1))
}

// New creates the namespaces and the veth pair and brings everything up.
// On error, whatever was created is removed again.
func New(ctx context.Context, cfg *Config) (*Topology, error) {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if c.Prefix == "" {
		c.Prefix = "xb"
	}
	if !c.Subnet.IsValid() {
		c.Subnet = defaultSubnet
	}
	if !c.SrvAddr.IsValid() {
		c.SrvAddr = defaultSrvAddr
	}
	if !c.GenAddr.IsValid() {
		c.GenAddr = defaultGenAddr
	}
	base := UniqueName(c.Prefix)
	t := &Topology{
		GenNS: base + "-gen", SrvNS: base + "-srv",
		GenIface: GenIface, SrvIface: SrvIface,
		Subnet: c.Subnet, SrvAddr: c.SrvAddr, GenAddr: c.GenAddr,
	}
	bits := fmt.Sprintf("/%d", c.Subnet.Bits())
	steps := [][]string{
		{"netns", "add", t.GenNS},
		{"netns", "add", t.SrvNS},
	}
	if !c.Pair {
		steps = append(steps, []string{"link", "add", GenIface, "netns", t.GenNS, "type", "veth", "peer", "name", SrvIface, "netns", t.SrvNS})
	} else {
		if !c.PeerAddr.IsValid() {
			c.PeerAddr = defaultPeer
		}
		t.PeerNS, t.SwitchNS, t.PeerAddr = base+"-peer", base+"-sw", c.PeerAddr
		steps = append(steps,
			[]string{"netns", "add", t.PeerNS},
			[]string{"netns", "add", t.SwitchNS},
			[]string{"-n", t.SwitchNS, "link", "add", "br0", "type", "bridge"},
			[]string{"-n", t.SwitchNS, "link", "set", "br0", "up"},
		)
		for i, end := range [][2]string{{t.GenNS, GenIface}, {t.SrvNS, SrvIface}, {t.PeerNS, SrvIface}} {
			port := fmt.Sprintf("p%d", i)
			steps = append(steps,
				[]string{"link", "add", end[1], "netns", end[0], "type", "veth", "peer", "name", port, "netns", t.SwitchNS},
				[]string{"-n", t.SwitchNS, "link", "set", port, "master", "br0", "up"},
			)
		}
		steps = append(steps,
			[]string{"-n", t.PeerNS, "addr", "add", c.PeerAddr.String() + bits, "dev", SrvIface},
			[]string{"-n", t.PeerNS, "link", "set", "lo", "up"},
			[]string{"-n", t.PeerNS, "link", "set", SrvIface, "up"},
		)
	}
	steps = append(steps,
		[]string{"-n", t.GenNS, "addr", "add", c.GenAddr.String() + bits, "dev", GenIface},
		[]string{"-n", t.SrvNS, "addr", "add", c.SrvAddr.String() + bits, "dev", SrvIface},
		[]string{"-n", t.GenNS, "link", "set", "lo", "up"},
		[]string{"-n", t.SrvNS, "link", "set", "lo", "up"},
		[]string{"-n", t.GenNS, "link", "set", GenIface, "up"},
		[]string{"-n", t.SrvNS, "link", "set", SrvIface, "up"},
	)
	for _, s := range steps {
		if err := ip(ctx, s...); err != nil {
			_ = t.Close()
			return nil, fmt.Errorf("build topology %s: %w", base, err)
		}
	}
	if c.Pair {
		if err := Do(t.SwitchNS, plainBridge); err != nil {
			_ = t.Close()
			return nil, fmt.Errorf("build topology %s: switch %s: %w", base, t.SwitchNS, err)
		}
	}

	if err := t.waitRunning(ctx); err != nil {
		_ = t.Close()
		return nil, err
	}
	return t, nil
}

// waitRunning waits until both veth ends report carrier, because servers
// (Kea) refuse to open sockets on an interface that is not yet running.
func (t *Topology) waitRunning(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		up := 0
		ends := [][2]string{{t.GenNS, t.GenIface}, {t.SrvNS, t.SrvIface}}
		if t.PeerNS != "" {
			ends = append(ends, [2]string{t.PeerNS, t.SrvIface})
		}
		for _, c := range ends {
			out, err := exec.CommandContext(ctx, "ip", "-n", c[0], "-o", "link", "show", c[1]).Output()
			if err == nil && strings.Contains(string(out), "state UP") {
				up++
			}
		}
		if up == len(ends) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("build topology: %s/%s and %s/%s not running after 5s", t.GenNS, t.GenIface, t.SrvNS, t.SrvIface)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Command returns a command that runs name inside namespace ns.
func Command(ctx context.Context, ns, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", ns, name}, args...)
	return exec.CommandContext(ctx, "ip", full...)
}

// Close deletes both namespaces. It is safe to call more than once.
func (t *Topology) Close() error {
	t.closeOnce.Do(func() {
		var errs []string
		for _, ns := range []string{t.GenNS, t.SrvNS, t.PeerNS, t.SwitchNS} {
			if ns == "" {
				continue
			}
			if err := ip(context.Background(), "netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
				errs = append(errs, err.Error())
			}
		}
		if len(errs) > 0 {
			t.closeErr = fmt.Errorf("delete namespaces: %s", strings.Join(errs, "; "))
		}
	})
	return t.closeErr
}

// BridgeNetfilter lists the switch namespace's br_netfilter settings,
// which New turns off: a kernel with br_netfilter (built in or loaded, as
// container hosts have it) would otherwise pass every bridged frame
// through the IP stack's netfilter hooks, a cost a hardware switch does
// not have, which profiles of the pair showed in every partner's and the
// generator's transmit. They are the switch namespace's own (Linux 5.3
// and later), so the host's stay as they are.
var BridgeNetfilter = []string{
	"/proc/sys/net/bridge/bridge-nf-call-iptables",
	"/proc/sys/net/bridge/bridge-nf-call-ip6tables",
	"/proc/sys/net/bridge/bridge-nf-call-arptables",
}

// plainBridge turns off br_netfilter in the current namespace; without
// br_netfilter the settings do not exist and there is nothing to do.
func plainBridge() error {
	for _, f := range BridgeNetfilter {
		if err := os.WriteFile(f, []byte("0\n"), 0o644); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("turn off bridge netfilter: %w", err)
		}
	}
	return nil
}

func ip(ctx context.Context, args ...string) error {
	out, err := exec.CommandContext(ctx, "ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Do runs fn on an OS thread switched into the named namespace; sockets
// opened inside fn stay in that namespace (internal/netns.DoIn).
func Do(ns string, fn func() error) error { return inetns.DoIn(ns, fn) }
