package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/e2e"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// The demo's failover timing: short, so the state machine runs while one
// watches.
const (
	demoMCLT       = 30 * time.Second
	demoSwitchover = 5 * time.Second
)

// reservedMAC is the hardware address the demo gives udhcpc's host, so
// that it gets the reservation of demo.yaml.
var reservedMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}

var (
	addrA = netip.MustParsePrefix("192.0.2.1/24")
	addrB = netip.MustParsePrefix("192.0.2.2/24")
)

// server is one partner of the demo pair.
type server struct {
	name   string // "A" or "B"
	role   string
	addr   netip.Addr
	daemon *e2e.Daemon
}

// demo holds what the demo created, for teardown.
type demo struct {
	opt     options
	out     io.Writer
	step    int
	tmp     string
	secret  string
	lab     *e2e.PairLab
	a, b    *server
	clients []dhcpclients.Client
	relay   *dhcpclients.Relay
	hosts   int
}

// say prints a numbered step.
func (d *demo) say(format string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n==> %d. %s\n", d.step, fmt.Sprintf(format, args...))
}

// detail prints an indented line under the current step.
func (d *demo) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "    %s\n", fmt.Sprintf(format, args...))
}

// block prints multi-line text indented.
func (d *demo) block(text string) {
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		fmt.Fprintf(d.out, "    | %s\n", line)
	}
}

func (d *demo) pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d.opt.pause):
		return nil
	}
}

func (d *demo) run(ctx context.Context) error {
	if err := netns.CheckRoot(); err != nil {
		return fmt.Errorf("%w (try: sudo make demo)", err)
	}
	tools := []string{"ip", "unshare", "dhclient", "udhcpc", "dhcpcd", "dhcrelay"}
	if d.opt.xdhcpd == "" {
		tools = append(tools, "go")
	}
	if err := dhcpclients.CheckTools(tools...); err != nil {
		return err
	}
	var err error
	if d.tmp, err = os.MkdirTemp("", "xdhcp-demo-"); err != nil {
		return err
	}
	fmt.Fprintln(d.out, "xdhcp demo: a failover pair of xdhcpd servers, deployed the way Windows Server DHCP")
	fmt.Fprintln(d.out, "failover usually is: two servers on one link and a relayed subnet, load balance 50/50,")
	fmt.Fprintln(d.out, "a shared secret; real DHCP clients in network namespaces.")
	fmt.Fprintf(d.out, "Scratch directory: %s (removed at the end)\n", d.tmp)

	steps := []func(context.Context) error{
		d.binaries, d.topology, d.startServers, d.directClients, d.relayedClient, d.showNormal,
		d.changeSplit, d.stopOne, d.serveAlone, d.restart, d.report,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
		if err := d.pause(ctx); err != nil {
			return err
		}
	}
	d.say("Done: every client got its lease and the pair survived losing a server. Tearing down.")
	return nil
}

func (d *demo) binaries(ctx context.Context) error {
	if d.opt.xdhcpd != "" {
		d.say("Using xdhcpd %s and xdhcpctl %s", d.opt.xdhcpd, d.opt.xdhcpctl)
		return nil
	}
	d.say("Building xdhcpd and xdhcpctl (go build ./cmd/xdhcpd ./cmd/xdhcpctl)")
	bin, err := e2e.Build(ctx, filepath.Join(d.tmp, "bin"))
	if err != nil {
		return err
	}
	d.opt.xdhcpd, d.opt.xdhcpctl = bin.Xdhcpd, bin.Xdhcpctl
	d.detail("built %s", filepath.Dir(bin.Xdhcpd))
	return nil
}

func (d *demo) topology(ctx context.Context) error {
	d.say("Building the network out of namespaces")
	lab, err := e2e.NewPairLab("xdemo", addrA, addrB)
	if err != nil {
		return err
	}
	d.lab = lab
	d.detail("server A namespace %-20s %s %s (primary; XDP on this veth)", lab.Server.Name, e2e.ServerIface, addrA)
	d.detail("server B namespace %-20s %s %s (secondary; XDP on this veth)", lab.B.Name, e2e.ServerIface, addrB)
	d.detail("switch namespace   %-20s bridge br0: one LAN for both servers and the hosts", lab.Switch.Name)
	d.detail("the failover link is TCP port 647 between the two servers on that LAN")
	return nil
}

func (d *demo) startServers(ctx context.Context) error {
	d.say("Starting both servers: same scopes, opposite roles, one shared secret")
	d.secret = filepath.Join(d.tmp, "failover.secret")
	if err := e2e.WriteSecret(d.secret); err != nil {
		return err
	}
	d.detail("shared secret: 32 random bytes in %s (mode 0600); every failover message carries an HMAC-SHA256", d.secret)
	d.detail("MCLT %s and state-switchover-interval %s: short on purpose, so the states change while you watch", demoMCLT, demoSwitchover)
	bin := e2e.Binaries{Xdhcpd: d.opt.xdhcpd, Xdhcpctl: d.opt.xdhcpctl}
	d.a = &server{name: "A", role: "primary", addr: addrA.Addr(), daemon: e2e.NewDaemon(bin, d.lab.Server, filepath.Join(d.tmp, "a"))}
	d.b = &server{name: "B", role: "secondary", addr: addrB.Addr(), daemon: e2e.NewDaemon(bin, d.lab.B, filepath.Join(d.tmp, "b"))}
	for _, s := range []*server{d.a, d.b} {
		partner := d.b
		if s == d.b {
			partner = d.a
		}
		if err := os.MkdirAll(s.daemon.Dir, 0o755); err != nil {
			return err
		}
		if d.opt.showLog {
			s.daemon.LogSink = prefixWriter{w: d.out, prefix: "    xdhcpd " + s.name + ": "}
		}
		var cfg strings.Builder
		err := template.Must(template.New("demo.yaml").Parse(configTemplate)).Execute(&cfg, map[string]string{
			"Name": s.name, "Address": s.addr.String(), "DataDir": s.daemon.DataDir, "Socket": s.daemon.Socket,
			"Dataplane": d.opt.dataplane, "Role": s.role, "Listen": s.addr.String() + ":647",
			"Partner": partner.addr.String() + ":647", "MCLT": demoMCLT.String(), "Switchover": demoSwitchover.String(),
			"Secret": d.secret,
		})
		if err != nil {
			return fmt.Errorf("demo configuration: %w", err)
		}
		if err := s.daemon.WriteConfig(cfg.String()); err != nil {
			return err
		}
		if s == d.a {
			d.detail("server A's configuration (B's is the mirror: role secondary, listen and partner swapped):")
			d.block(cfg.String())
		}
	}
	for _, s := range []*server{d.a, d.b} {
		d.detail("ip netns exec %s %s --config %s", s.daemon.NS.Name, d.opt.xdhcpd, s.daemon.Config)
		if err := s.daemon.Start(ctx); err != nil {
			return err
		}
		d.detail("server %s is up (pid %d)", s.name, s.daemon.Pid())
	}
	return d.waitBoth(ctx, "NORMAL", 30*time.Second)
}

// waitBoth waits until both servers are in state with each other, then
// says how long it took.
func (d *demo) waitBoth(ctx context.Context, state string, limit time.Duration) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for _, s := range []*server{d.a, d.b} {
		if _, err := s.daemon.WaitFailover(ctx, "server "+s.name, e2e.InState(state, state)); err != nil {
			return err
		}
	}
	d.detail("both servers %s with each other after %.1fs", state, time.Since(start).Seconds())
	return nil
}

// ctl shows an xdhcpctl command's human output for server s; a failing
// command is reported and the demo goes on.
func (d *demo) ctl(ctx context.Context, s *server, args ...string) {
	d.detail("$ xdhcpctl --socket %s %s      # server %s", s.daemon.Socket, strings.Join(args, " "), s.name)
	out, err := s.daemon.CtlText(ctx, args...)
	if err != nil {
		d.detail("(not available: %v)", err)
		return
	}
	d.block(out)
}

// whose names the server with address a.
func (d *demo) whose(a netip.Addr) string {
	switch a {
	case d.a.addr:
		return "server A (primary)"
	case d.b.addr:
		return "server B (secondary)"
	}
	return "server " + a.String()
}

// macIn returns a MAC starting 02:tag whose RFC 3074 bucket, with or
// without a client identifier 01+MAC (clients differ in sending one), is
// one that owner (primary or secondary) has at percent.
func macIn(tag byte, owner string, percent int) net.HardwareAddr {
	n := loadbalance.SplitCount(percent)
	ok := func(b uint8) bool { return (int(b) < n) == (owner == "primary") }
	for i := 0; ; i++ {
		mac := net.HardwareAddr{0x02, tag, 0, 0, byte(i >> 8), byte(i)}
		if ok(loadbalance.Hash(mac)) && ok(loadbalance.Hash(append([]byte{1}, mac...))) {
			return mac
		}
	}
}

func (d *demo) directClients(ctx context.Context) error {
	macs := map[string]net.HardwareAddr{
		"dhclient": macIn(0x10, "primary", 50),
		"udhcpc":   reservedMAC,
		"dhcpcd":   macIn(0x11, "secondary", 50),
	}
	for _, kind := range dhcpclients.Kinds {
		note := fmt.Sprintf("MAC %s", macs[kind])
		if kind == "udhcpc" {
			note += ", which has a reservation"
		}
		d.say("Running %s on the LAN (%s)", kind, note)
		if _, err := d.newClient(ctx, kind, macs[kind]); err != nil {
			return err
		}
		if err := d.pause(ctx); err != nil {
			return err
		}
	}
	return nil
}

// newClient adds a host with mac on the LAN and runs a client of kind.
func (d *demo) newClient(ctx context.Context, kind string, mac net.HardwareAddr) (dhcpclients.Lease, error) {
	d.hosts++
	host, err := d.lab.AddHost(fmt.Sprintf("%s%d", kind[:4], d.hosts))
	if err != nil {
		return dhcpclients.Lease{}, err
	}
	if err := host.SetMAC(e2e.HostIface, mac); err != nil {
		return dhcpclients.Lease{}, err
	}
	return d.runClient(ctx, kind, host)
}

// runClient starts a client of kind in host and shows its lease and who
// answered.
func (d *demo) runClient(ctx context.Context, kind string, host *netns.NS) (dhcpclients.Lease, error) {
	c, err := dhcpclients.New(kind, dhcpclients.Config{NS: host, Iface: e2e.HostIface,
		Dir: filepath.Join(d.tmp, host.Name), Hostname: "demo-" + kind})
	if err != nil {
		return dhcpclients.Lease{}, err
	}
	d.clients = append(d.clients, c)
	actx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	l, err := c.Acquire(actx)
	if err != nil {
		return l, err
	}
	d.detail("%s got %s from %s", kind, l.Prefix(), d.whose(l.ServerID))
	note := ""
	if len(d.clients) == 1 {
		note = " (a new lease lasts at most the MCLT until the partner has acknowledged it; renewals then get the full time)"
	}
	d.detail("  router %s, DNS %s, lease %s%s", joinAddrs(l.Routers), joinAddrs(l.DNS), l.LeaseTime, note)
	return l, nil
}

func (d *demo) relayedClient(ctx context.Context) error {
	d.say("A second subnet behind a relay: dhcrelay forwards to both servers and adds option 82")
	relay, client, err := d.lab.AddPairRelay(netip.MustParsePrefix("192.0.2.3/24"), netip.MustParsePrefix("198.51.100.1/24"))
	if err != nil {
		return err
	}
	d.detail("relay namespace  %-22s eth0 192.0.2.3/24 upstream, %s 198.51.100.1/24 downstream", relay.Name, e2e.RelayDown)
	d.detail("client namespace %-22s behind the relay", client.Name)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if d.relay, err = dhcpclients.StartRelayTo(rctx, relay, e2e.RelayDown, e2e.HostIface, d.a.addr, d.b.addr); err != nil {
		return err
	}
	d.detail("dhcrelay -d -4 -a -id %s -iu %s %s %s", e2e.RelayDown, e2e.HostIface, d.a.addr, d.b.addr)
	if _, err = d.runClient(ctx, "dhclient", client); err != nil {
		return err
	}
	// The client renews by unicast to its server: route it through the
	// relay, as the relayed subnet's gateway would.
	if err := relay.EnableForwarding(); err != nil {
		return err
	}
	return client.AddRoute("default", "198.51.100.1")
}

func (d *demo) showNormal(ctx context.Context) error {
	d.say("Both servers report NORMAL: each answers the clients of its own hash buckets")
	d.ctl(ctx, d.a, "failover", "status")
	d.ctl(ctx, d.b, "failover", "status")
	return nil
}

func (d *demo) changeSplit(ctx context.Context) error {
	d.say("Changing the split live to 70/30: the primary takes 179 of the 256 buckets")
	d.ctl(ctx, d.a, "failover", "split", "70")
	for _, s := range []*server{d.a, d.b} {
		st, err := s.daemon.FailoverStatus(ctx)
		if err != nil {
			return err
		}
		d.detail("server %s now owns %d buckets (split %d%%)", s.name, st.OwnedBuckets, st.SplitPercent)
	}
	d.ctl(ctx, d.b, "dataplane")
	return nil
}

func (d *demo) stopOne(ctx context.Context) error {
	d.say("Stopping server B (SIGTERM): A loses its partner")
	stopped := time.Now()
	if err := d.b.daemon.Stop(); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	st, err := d.a.daemon.WaitFailover(wctx, "server A", e2e.InState("COMMUNICATIONS-INTERRUPTED", ""))
	if err != nil {
		return err
	}
	d.detail("after %.1fs server A is %s: it answers every client but allocates only from its own free addresses",
		time.Since(stopped).Seconds(), st.State)
	d.detail("waiting for the state-switchover-interval (%s) ...", demoSwitchover)
	if st, err = d.a.daemon.WaitFailover(wctx, "server A", e2e.InState("PARTNER-DOWN", "")); err != nil {
		return err
	}
	d.detail("after %.1fs server A is %s: it has taken over all %d buckets", time.Since(stopped).Seconds(), st.State, st.OwnedBuckets)
	d.ctl(ctx, d.a, "failover", "status")
	return nil
}

func (d *demo) serveAlone(ctx context.Context) error {
	mac := macIn(0x12, "secondary", 70)
	d.say("A new client whose bucket belongs to B (MAC %s): A answers it now", mac)
	l, err := d.newClient(ctx, "udhcpc", mac)
	if err != nil {
		return err
	}
	if l.ServerID != d.a.addr {
		return fmt.Errorf("the new client was answered by %s, not by server A", l.ServerID)
	}
	return nil
}

func (d *demo) restart(ctx context.Context) error {
	d.say("Restarting server B: A went PARTNER-DOWN while B was away, so B recovers before it serves again")
	d.detail("B asks A for every binding (UPDREQALL), then waits in RECOVER-WAIT until one MCLT (%s) has passed", demoMCLT)
	d.detail("since it last served, so that nothing it might have promised a client is still unknown to A")
	if err := d.b.daemon.Start(ctx); err != nil {
		return err
	}
	trail := e2e.WatchStates(d.b.daemon)
	err := d.waitBoth(ctx, "NORMAL", 60*time.Second)
	var states []string
	for _, s := range trail.Stop() {
		if own, _, _ := strings.Cut(s, "/"); len(states) == 0 || states[len(states)-1] != own {
			states = append(states, own)
		}
	}
	d.detail("server B went through %s (polled every 50 ms)", strings.Join(states, " -> "))
	if err != nil {
		return err
	}
	d.ctl(ctx, d.a, "failover", "status")
	d.ctl(ctx, d.b, "failover", "status")
	return nil
}

func (d *demo) report(ctx context.Context) error {
	d.say("Both lease stores hold every client's lease")
	var counts []int
	for _, s := range []*server{d.a, d.b} {
		d.ctl(ctx, s, "leases")
		leases, err := s.daemon.Leases(ctx)
		if err != nil {
			return err
		}
		counts = append(counts, countActive(leases))
	}
	if counts[0] < len(d.clients) || counts[1] < len(d.clients) {
		return fmt.Errorf("servers list %d and %d active leases for %d clients", counts[0], counts[1], len(d.clients))
	}
	d.detail("server A: %d active leases, server B: %d, for %d clients", counts[0], counts[1], len(d.clients))
	return nil
}

func countActive(leases []api.Lease) int {
	n := 0
	for _, l := range leases {
		if l.State == "active" {
			n++
		}
	}
	return n
}

// teardown stops everything the demo started and deletes its namespaces
// and files. It runs on success, failure and interrupt alike.
func (d *demo) teardown() {
	var errs []error
	for _, c := range d.clients {
		errs = append(errs, c.Close())
	}
	if d.relay != nil {
		errs = append(errs, d.relay.Stop())
	}
	for _, s := range []*server{d.a, d.b} {
		if s != nil && s.daemon.Running() {
			fmt.Fprintf(d.out, "    stopping xdhcpd %s (SIGTERM)\n", s.name)
			errs = append(errs, s.daemon.Stop())
		}
	}
	if d.lab != nil {
		fmt.Fprintln(d.out, "    deleting the namespaces")
		errs = append(errs, d.lab.Close())
	}
	if d.tmp != "" {
		errs = append(errs, os.RemoveAll(d.tmp))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(d.out, "    teardown:", err)
	}
}

func joinAddrs(addrs []netip.Addr) string {
	if len(addrs) == 0 {
		return "-"
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// prefixWriter prefixes each line written with prefix.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line != "" {
			fmt.Fprint(p.w, p.prefix+line)
		}
	}
	return len(b), nil
}
