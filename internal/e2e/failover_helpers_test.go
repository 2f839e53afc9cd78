package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/report"
	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// The failover tests' addresses: servers A (primary) and B (secondary) on
// one LAN, the failover link either on that LAN or on a veth of its own.
var (
	foAddrA    = netip.MustParsePrefix("192.0.2.1/24")
	foAddrB    = netip.MustParsePrefix("192.0.2.2/24")
	foLinkA    = netip.MustParsePrefix("10.99.0.1/30")
	foLinkB    = netip.MustParsePrefix("10.99.0.2/30")
	foSubnet   = netip.MustParsePrefix("192.0.2.0/24")
	foPool     = "192.0.2.20-192.0.2.250"
	foMetricsA = "192.0.2.1:9267"
	foMetricsB = "192.0.2.2:9267"
)

// pairOpts chooses a pair's failover settings.
type pairOpts struct {
	percent    int
	mclt       time.Duration
	switchover time.Duration // 0: none
	ownLink    bool          // the failover connection on its own veth pair
	dataplane  string        // dataplane.mode; "" means auto
	bigScope   bool          // add floodSubnet (a /16) on the servers' link, for floods
	// discoverBudget is each partner's dataplane.discover-budget.pps; 0: off.
	discoverBudget uint32
	noRetryLane    bool // discover-budget.retry-pps 0
}

// floodSubnet is the large scope of pairOpts.bigScope, with the servers'
// second addresses on the LAN.
var (
	floodSubnet = netip.MustParsePrefix("10.64.0.0/16")
	floodAddrA  = "10.64.0.1/16"
	floodAddrB  = "10.64.0.2/16"
	floodPool   = "10.64.1.0-10.64.255.254"
)

// pair is two xdhcpd failover partners and a client namespace on their LAN.
type pair struct {
	lab     *PairLab
	a, b    *Daemon
	foA     FailoverSpec
	spec    func(addr netip.Addr) ServerSpec
	clients *netns.NS // where xdhcp-bench runs
}

// newPair builds the namespaces, writes both configurations (with one
// shared secret) and starts both daemons.
func newPair(t testing.TB, o pairOpts) *pair {
	t.Helper()
	lab, err := NewPairLab("xf", foAddrA, foAddrB)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := lab.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	p := &pair{lab: lab}
	listenA, listenB := foAddrA.Addr(), foAddrB.Addr()
	if o.ownLink {
		if err := lab.AddFailoverLink(foLinkA, foLinkB); err != nil {
			t.Fatal(err)
		}
		listenA, listenB = foLinkA.Addr(), foLinkB.Addr()
	}
	if p.clients, err = lab.AddHost("bench"); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(t.TempDir(), "failover.secret")
	if err := WriteSecret(secret); err != nil {
		t.Fatal(err)
	}
	p.foA = FailoverSpec{Role: "primary", Listen: netip.AddrPortFrom(listenA, 647), Partner: netip.AddrPortFrom(listenB, 647),
		Percent: o.percent, MCLT: o.mclt, Switchover: o.switchover, MaxResponseDelay: 2 * time.Second, SecretFile: secret}
	p.spec = func(addr netip.Addr) ServerSpec {
		spec := ServerSpec{Interfaces: []string{ServerIface}, Address: addr, Dataplane: o.dataplane, DiscoverBudgetPPS: o.discoverBudget, NoRetryLane: o.noRetryLane, Scopes: []ScopeSpec{{
			Subnet: foSubnet, Pools: []string{foPool}, LeaseTime: 10 * time.Minute,
			Routers: addrs("192.0.2.1"), DNS: addrs("192.0.2.53"),
		}}}
		if o.bigScope {
			spec.Scopes = append(spec.Scopes, ScopeSpec{Subnet: floodSubnet, Pools: []string{floodPool}, LeaseTime: 10 * time.Minute})
		}
		return spec
	}
	if o.bigScope {
		if err := lab.Server.AddAddr(ServerIface, floodAddrA); err != nil {
			t.Fatal(err)
		}
		if err := lab.B.AddAddr(ServerIface, floodAddrB); err != nil {
			t.Fatal(err)
		}
	}
	p.a = newPartner(t, lab.Server, "A")
	p.b = newPartner(t, lab.B, "B")
	p.configure(t, p.a, p.foA)
	p.configure(t, p.b, p.foA.Mirror())
	for _, d := range []*Daemon{p.a, p.b} {
		if err := d.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

// newPartner prepares a daemon whose log is shown when the test fails.
func newPartner(t testing.TB, ns *netns.NS, name string) *Daemon {
	d := NewDaemon(bin, ns, t.TempDir())
	t.Cleanup(func() {
		if d.Running() {
			if err := d.Stop(); err != nil {
				t.Errorf("stop xdhcpd %s: %v", name, err)
			}
		}
		if t.Failed() {
			t.Logf("xdhcpd %s log:\n%s", name, tail(d.Log(), 400))
			if dir := os.Getenv("XDHCP_E2E_LOGDIR"); dir != "" {
				file := filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+name+".log")
				if err := os.WriteFile(file, []byte(d.Log()), 0o644); err == nil {
					t.Logf("full xdhcpd %s log in %s", name, file)
				}
			}
		}
	})
	return d
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... (%d lines cut)", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// configure writes d's configuration with the failover section fo.
func (p *pair) configure(t testing.TB, d *Daemon, fo FailoverSpec) {
	t.Helper()
	addr, metrics := foAddrA.Addr(), foMetricsA
	if d == p.b {
		addr, metrics = foAddrB.Addr(), foMetricsB
	}
	if err := d.WriteFailoverSpec(p.spec(addr), fo, metrics); err != nil {
		t.Fatal(err)
	}
}

// wait polls both partners until cond holds on each.
func (p *pair) wait(t testing.TB, what string, timeout time.Duration, cond func(api.FailoverStatus) bool) (a, b api.FailoverStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var err error
	if a, err = p.a.WaitFailover(ctx, "A "+what, cond); err != nil {
		t.Fatal(err)
	}
	if b, err = p.b.WaitFailover(ctx, "B "+what, cond); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// waitSettled waits until both are NORMAL with nothing in flight.
func (p *pair) waitSettled(t testing.TB, timeout time.Duration) (a, b api.FailoverStatus) {
	t.Helper()
	return p.wait(t, "NORMAL and settled", timeout, Settled)
}

func status(t testing.TB, d *Daemon) api.FailoverStatus {
	t.Helper()
	return query(t, d.FailoverStatus)
}

func dataplaneOf(t testing.TB, d *Daemon) Dataplane {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dp, err := d.Dataplane(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(dp.XDP) == 0 && !strings.HasPrefix(dp.Interfaces[ServerIface], "xdp-") {
		t.Fatalf("XDP is not attached on %s (%v): the failover tests check the XDP bucket split", ServerIface, dp.Interfaces)
	}
	return dp
}

// acks returns how many DHCPACKs the daemon in ns has sent, from its
// metrics at addr.
func acks(t testing.TB, ns *netns.NS, addr string) float64 {
	t.Helper()
	m, err := Metrics(ns, addr)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := m[`xdhcp_packets_sent_total{type="ACK"}`]
	if !ok {
		t.Fatalf("metrics at %s have no xdhcp_packets_sent_total{type=\"ACK\"}", addr)
	}
	return v
}

var (
	benchOnce sync.Once
	benchBin  string
	benchErr  error
)

// buildBench builds cmd/xdhcp-bench next to the other binaries, once.
func buildBench(t testing.TB) string {
	t.Helper()
	benchOnce.Do(func() {
		benchBin, benchErr = filepath.Join(binDir, "xdhcp-bench"), GoBuild(context.Background(), binDir, "./cmd/xdhcp-bench")
	})
	if benchErr != nil {
		t.Fatal(benchErr)
	}
	return benchBin
}

// benchRun is one xdhcp-bench DORA run.
type benchRun struct {
	clients  int
	rate     int
	duration time.Duration
	seed     int // --mac-seed: client MACs are 02:seed:00:00:00:00 + index
	retries  int
}

// run starts xdhcp-bench in ns and returns a function that waits for its
// report.
func (r benchRun) start(t testing.TB, ns *netns.NS) func() report.Report {
	t.Helper()
	exe := buildBench(t)
	cmd := ns.Command(context.Background(), exe, "run", "--iface", HostIface, "--clients", strconv.Itoa(r.clients),
		"--rate", strconv.Itoa(r.rate), "--duration", r.duration.String(), "--progress", "off", "--json",
		"--mac-seed", strconv.Itoa(r.seed), "--retries", strconv.Itoa(r.retries))
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	proc, err := ns.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return func() report.Report {
		t.Helper()
		select {
		case <-proc.Done():
		case <-time.After(r.duration + 60*time.Second):
			_ = proc.Kill()
			t.Fatalf("xdhcp-bench did not finish\n%s", errOut.String())
		}
		if err := proc.Wait(); err != nil {
			t.Fatalf("xdhcp-bench: %v\n%s", err, errOut.String())
		}
		var reps []report.Report
		if err := json.Unmarshal([]byte(out.String()), &reps); err != nil || len(reps) != 1 {
			t.Fatalf("xdhcp-bench report: %v\n%s", err, out.String())
		}
		return reps[0]
	}
}

// run runs xdhcp-bench to the end.
func (r benchRun) run(t testing.TB, ns *netns.NS) report.Report {
	t.Helper()
	return r.start(t, ns)()
}

// mac returns the MAC of bench client idx.
func (r benchRun) mac(idx int) net.HardwareAddr {
	return net.HardwareAddr{0x02, byte(r.seed), byte(idx >> 24), byte(idx >> 16), byte(idx >> 8), byte(idx)}
}

// primaryClients counts the bench's clients whose bucket the primary owns
// at percent.
func (r benchRun) primaryClients(percent int) int {
	n := 0
	for i := 0; i < r.clients; i++ {
		if int(loadbalance.Hash(r.mac(i))) < loadbalance.SplitCount(percent) {
			n++
		}
	}
	return n
}

// checkAllAnswered fails unless every DORA exchange of rep completed with
// no NAK and no address given to two clients.
func checkAllAnswered(t testing.TB, rep report.Report) report.Kind {
	t.Helper()
	k := rep.PrimaryKind()
	t.Logf("xdhcp-bench: %d DORA started, %d completed, %d timeouts, %d retries, %d NAKs, %d duplicate addresses, %d unmatched replies",
		k.Started, k.Completed, k.Timeouts, k.Retries, k.NAKs, rep.DupAddresses, rep.RxUnmatched)
	if k.Started == 0 || k.Timeouts != 0 || k.NAKs != 0 || rep.DupAddresses != 0 || k.Completed+uint64(rep.Inflight) < k.Started {
		t.Errorf("not every client was answered: %+v, duplicates %d, in flight at end %d", k, rep.DupAddresses, rep.Inflight)
	}
	return k
}

// binding is an active lease as both stores should hold it.
type binding struct{ IP, MAC string }

// active returns the daemon's active leases as IP -> MAC.
func active(t testing.TB, d *Daemon) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range leases(t, d) {
		if l.State == "active" && time.Until(l.Expiry) > 0 {
			out[l.IP] = l.HWAddress
		}
	}
	return out
}

// diffBindings describes how two IP -> MAC maps differ ("" when equal).
func diffBindings(a, b map[string]string) string {
	var diff []string
	for ip, mac := range a {
		if b[ip] != mac {
			diff = append(diff, fmt.Sprintf("%s: A %s, B %q", ip, mac, b[ip]))
		}
	}
	for ip, mac := range b {
		if _, ok := a[ip]; !ok {
			diff = append(diff, fmt.Sprintf("%s: A none, B %s", ip, mac))
		}
	}
	sort.Strings(diff)
	return strings.Join(diff, "; ")
}

// waitSameBindings waits until both stores list the same active bindings
// and returns them.
func (p *pair) waitSameBindings(t testing.TB, timeout time.Duration) map[string]string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a, b := active(t, p.a), active(t, p.b)
		d := diffBindings(a, b)
		if d == "" {
			return a
		}
		if time.Now().After(deadline) {
			t.Errorf("the two lease stores differ after %s: %s", timeout, d)
			logDiffering(t, p, a, b)
			t.FailNow()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// macFor returns a MAC starting 02:<tag> whose RFC 3074 bucket (of the
// MAC alone, or of option 61 = 01+MAC when clientID) satisfies want.
func macFor(tag byte, clientID bool, want func(bucket int) bool) net.HardwareAddr {
	for i := 0; i < 1<<16; i++ {
		mac := net.HardwareAddr{0x02, tag, 0xfe, 0, byte(i >> 8), byte(i)}
		key := []byte(mac)
		if clientID {
			key = append([]byte{1}, mac...)
		}
		if want(int(loadbalance.Hash(key))) {
			return mac
		}
	}
	panic("no MAC in the wanted buckets")
}

// primaryBucket and secondaryBucket say who owns a bucket at percent.
func primaryBucket(percent int) func(int) bool {
	return func(b int) bool { return b < loadbalance.SplitCount(percent) }
}

func secondaryBucket(percent int) func(int) bool {
	return func(b int) bool { return b >= loadbalance.SplitCount(percent) }
}

// counterDelta returns after[k] - before[k].
func counterDelta(before, after map[string]uint64, k string) uint64 { return after[k] - before[k] }

// activeLeases returns the daemon's active, unexpired leases by IP.
func activeLeases(t testing.TB, d *Daemon) map[string]api.Lease {
	t.Helper()
	out := map[string]api.Lease{}
	for _, l := range leases(t, d) {
		if l.State == "active" && time.Until(l.Expiry) > 0 {
			out[l.IP] = l
		}
	}
	return out
}

// checkKept fails for each lease of had that is still unexpired (with a
// second to spare) but not active for the same client in now; it returns
// how many it checked.
func checkKept(t testing.TB, who string, had map[string]api.Lease, now map[string]string) int {
	t.Helper()
	n := 0
	for ip, l := range had {
		if time.Until(l.Expiry) < time.Second {
			continue
		}
		n++
		if now[ip] != l.HWAddress {
			t.Errorf("%s lost lease %s of %s (expires %s): now %q", who, ip, l.HWAddress, l.Expiry.Format(time.TimeOnly), now[ip])
		}
	}
	return n
}

// addClient adds a host with mac to the lab and a client of kind on it.
func (p *pair) addClient(t testing.TB, kind string, mac net.HardwareAddr) dhcpclients.Client {
	t.Helper()
	host, err := p.lab.AddHost(kind[:4])
	if err != nil {
		t.Fatal(err)
	}
	if err := host.SetMAC(HostIface, mac); err != nil {
		t.Fatal(err)
	}
	return newClient(t, kind, host, "fo-"+kind)
}

// acquire runs c.Acquire (or Renew) with a timeout and checks the server
// that answered.
func acquire(t testing.TB, c dhcpclients.Client, renew bool, wantServer netip.Addr) dhcpclients.Lease {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var l dhcpclients.Lease
	var err error
	if renew {
		l, err = c.Renew(ctx)
	} else {
		l, err = c.Acquire(ctx)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %s", c.Name(), l)
	if wantServer.IsValid() && l.ServerID != wantServer {
		t.Errorf("%s was answered by %s, want %s", c.Name(), l.ServerID, wantServer)
	}
	return l
}

// logDiffering logs both stores' records of every address whose active
// binding differs.
func logDiffering(t testing.TB, p *pair, a, b map[string]string) {
	t.Helper()
	la, lb := leases(t, p.a), leases(t, p.b)
	rec := func(ls []api.Lease, ip string) string {
		for _, l := range ls {
			if l.IP == ip {
				return fmt.Sprintf("%s %s expiry %s updated %s", l.State, l.HWAddress, l.Expiry.Format("15:04:05.000"), l.Updated.Format("15:04:05.000"))
			}
		}
		return "no record"
	}
	for _, ip := range slices.Sorted(maps.Keys(a)) {
		if b[ip] != a[ip] {
			t.Logf("%s: A {%s}, B {%s}", ip, rec(la, ip), rec(lb, ip))
		}
	}
	for _, ip := range slices.Sorted(maps.Keys(b)) {
		if _, ok := a[ip]; !ok {
			t.Logf("%s: A {%s}, B {%s}", ip, rec(la, ip), rec(lb, ip))
		}
	}
}
