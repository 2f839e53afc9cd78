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

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/e2e"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// reservedMAC is the hardware address the demo gives udhcpc's host, so
// that it gets the reservation of demo.yaml.
var reservedMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}

// demo holds what the demo created, for teardown.
type demo struct {
	opt     options
	out     io.Writer
	step    int
	tmp     string
	lab     *e2e.Lab
	daemon  *e2e.Daemon
	clients []dhcpclients.Client
	relay   *dhcpclients.Relay
}

// say prints a numbered step and pauses so a reader can follow.
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
	fmt.Fprintln(d.out, "xdhcp demo: xdhcpd serving real DHCP clients in network namespaces.")
	fmt.Fprintf(d.out, "Scratch directory: %s (removed at the end)\n", d.tmp)

	steps := []func(context.Context) error{
		d.binaries, d.topology, d.startServer, d.directClients, d.relayedClient, d.report,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
		if err := d.pause(ctx); err != nil {
			return err
		}
	}
	d.say("Done: every client got its lease. Tearing down.")
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
	lab, err := e2e.NewLab("xdemo", netip.MustParsePrefix("192.0.2.1/24"))
	if err != nil {
		return err
	}
	d.lab = lab
	d.detail("server namespace %-22s %s 192.0.2.1/24 (xdhcpd serves here, XDP on this veth)", lab.Server.Name, e2e.ServerIface)
	d.detail("switch namespace %-22s bridge br0 joining the server and the hosts", lab.Switch.Name)
	return nil
}

func (d *demo) startServer(ctx context.Context) error {
	d.say("Starting xdhcpd with the demo configuration (embedded in the demo)")
	d.daemon = e2e.NewDaemon(e2e.Binaries{Xdhcpd: d.opt.xdhcpd, Xdhcpctl: d.opt.xdhcpctl}, d.lab.Server, d.tmp)
	if d.opt.showLog {
		d.daemon.LogSink = prefixWriter{w: d.out, prefix: "    xdhcpd: "}
	}
	var cfg strings.Builder
	err := template.Must(template.New("demo.yaml").Parse(configTemplate)).Execute(&cfg, map[string]string{
		"DataDir": d.daemon.DataDir, "Socket": d.daemon.Socket, "Dataplane": d.opt.dataplane,
	})
	if err != nil {
		return fmt.Errorf("demo configuration: %w", err)
	}
	if err := d.daemon.WriteConfig(cfg.String()); err != nil {
		return err
	}
	d.block(cfg.String())
	d.detail("ip netns exec %s %s --config %s", d.lab.Server.Name, d.opt.xdhcpd, d.daemon.Config)
	if err := d.daemon.Start(ctx); err != nil {
		return err
	}
	d.detail("xdhcpd is up (pid %d); xdhcpctl status answers on %s", d.daemon.Pid(), d.daemon.Socket)
	d.ctl(ctx, "dataplane")
	return nil
}

// ctl shows an xdhcpctl command's human output; a failing command is
// reported and the demo goes on.
func (d *demo) ctl(ctx context.Context, args ...string) {
	d.detail("$ xdhcpctl --socket %s %s", d.daemon.Socket, strings.Join(args, " "))
	out, err := d.daemon.CtlText(ctx, args...)
	if err != nil {
		d.detail("(not available: %v)", err)
		return
	}
	d.block(out)
}

func (d *demo) directClients(ctx context.Context) error {
	for _, kind := range dhcpclients.Kinds {
		host, err := d.lab.AddHost(kind[:4])
		if err != nil {
			return err
		}
		note := ""
		if kind == "udhcpc" {
			if err := host.SetMAC(e2e.HostIface, reservedMAC); err != nil {
				return err
			}
			note = fmt.Sprintf(" with MAC %s, which has a reservation", reservedMAC)
		}
		d.say("Running %s in its own namespace %s%s", kind, host.Name, note)
		if err := d.runClient(ctx, kind, host); err != nil {
			return err
		}
		if err := d.pause(ctx); err != nil {
			return err
		}
	}
	return nil
}

// runClient starts a client of kind in host and shows its lease.
func (d *demo) runClient(ctx context.Context, kind string, host *netns.NS) error {
	c, err := dhcpclients.New(kind, dhcpclients.Config{NS: host, Iface: e2e.HostIface,
		Dir: filepath.Join(d.tmp, host.Name), Hostname: "demo-" + kind})
	if err != nil {
		return err
	}
	d.clients = append(d.clients, c)
	actx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	l, err := c.Acquire(actx)
	if err != nil {
		return err
	}
	d.detail("%s got %s", kind, l.Prefix())
	d.detail("  router %s, DNS %s, lease %s, from server %s", joinAddrs(l.Routers), joinAddrs(l.DNS), l.LeaseTime, l.ServerID)
	return nil
}

func (d *demo) relayedClient(ctx context.Context) error {
	d.say("A second subnet behind a relay: dhcrelay adds option 82 (circuit-id = its interface)")
	relay, client, err := d.lab.AddRelay(netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("198.51.100.1/24"))
	if err != nil {
		return err
	}
	d.detail("relay namespace  %-22s eth0 192.0.2.2/24 upstream, %s 198.51.100.1/24 downstream", relay.Name, e2e.RelayDown)
	d.detail("client namespace %-22s behind the relay", client.Name)
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if d.relay, err = dhcpclients.StartRelay(rctx, relay, e2e.RelayDown, e2e.HostIface, netip.MustParseAddr("192.0.2.1")); err != nil {
		return err
	}
	d.detail("dhcrelay -d -4 -a -id %s -iu %s 192.0.2.1", e2e.RelayDown, e2e.HostIface)
	return d.runClient(ctx, "dhclient", client)
}

func (d *demo) report(ctx context.Context) error {
	d.say("What the server says")
	d.ctl(ctx, "status")
	d.ctl(ctx, "leases")
	d.ctl(ctx, "dataplane")
	leases, err := d.daemon.Leases(ctx)
	if err != nil {
		return err
	}
	if len(leases) < len(d.clients) {
		return fmt.Errorf("xdhcpctl lists %d leases for %d clients", len(leases), len(d.clients))
	}
	return nil
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
	if d.daemon != nil && d.daemon.Running() {
		fmt.Fprintln(d.out, "    stopping xdhcpd (SIGTERM)")
		errs = append(errs, d.daemon.Stop())
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
