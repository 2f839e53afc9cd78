package dhcpclients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Dhclient drives ISC dhclient in the foreground ("-d -1 -4").
type Dhclient struct {
	cfg    Config
	events *eventDir
	script string
	conf   string
	out    SyncBuffer
	proc   *netns.Proc
}

var _ Client = (*Dhclient)(nil)

// dhclientApply puts the leased address on the interface.
const dhclientApply = `case "$reason" in
BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
esac`

// NewDhclient prepares dhclient's files; Acquire starts it.
func NewDhclient(cfg Config) (*Dhclient, error) {
	events, script, err := prepare(cfg, dhclientApply)
	if err != nil {
		return nil, err
	}
	conf := "request subnet-mask, broadcast-address, routers, domain-name-servers, host-name, dhcp-lease-time, dhcp-server-identifier;\n"
	if cfg.Hostname != "" {
		conf += fmt.Sprintf("send host-name %q;\n", cfg.Hostname)
	}
	confPath := filepath.Join(cfg.Dir, "dhclient.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write dhclient config: %w", err)
	}
	return &Dhclient{cfg: cfg, events: events, script: script, conf: confPath}, nil
}

// Name returns "dhclient".
func (c *Dhclient) Name() string { return "dhclient" }

// Output returns what dhclient printed.
func (c *Dhclient) Output() string { return c.out.String() }

func (c *Dhclient) start() error {
	cmd := c.cfg.NS.Command(context.Background(), "dhclient", "-d", "-1", "-4",
		"-lf", filepath.Join(c.cfg.Dir, "dhclient.leases"),
		"-pf", filepath.Join(c.cfg.Dir, "dhclient.pid"),
		"-sf", c.script, "-cf", c.conf, c.cfg.Iface)
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	proc, err := c.cfg.NS.Start(cmd)
	if err != nil {
		return err
	}
	c.proc = proc
	return nil
}

// Acquire starts dhclient and waits for BOUND.
func (c *Dhclient) Acquire(ctx context.Context) (Lease, error) {
	if err := c.start(); err != nil {
		return Lease{}, err
	}
	return waitLease(ctx, c.events, iscNames, c.proc.Done(), c.Name(), c.Output)
}

// Renew kills dhclient and starts it again on the same lease file: it asks
// for its recorded address from INIT-REBOOT, and the server's ACK extends
// the lease (event REBOOT). Events recorded before the call, such as a
// renewal dhclient made on its own, are skipped.
func (c *Dhclient) Renew(ctx context.Context) (Lease, error) {
	if err := c.Close(); err != nil {
		return Lease{}, err
	}
	if err := c.events.skipRecorded(); err != nil {
		return Lease{}, err
	}
	return c.Acquire(ctx)
}

// Close kills dhclient by PID; it sends no RELEASE.
func (c *Dhclient) Close() error {
	return killProc(&c.proc)
}
