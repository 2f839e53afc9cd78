package dhcpclients

import (
	"context"
	"fmt"
	"syscall"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Udhcpc drives busybox udhcpc in the foreground.
type Udhcpc struct {
	cfg    Config
	events *eventDir
	script string
	out    SyncBuffer
	proc   *netns.Proc
}

var _ Client = (*Udhcpc)(nil)

// udhcpcApply puts the leased address on the interface; udhcpc renews by
// unicast from it.
const udhcpcApply = `case "$1" in
bound|renew) ip addr replace "$ip/$mask" dev "$interface" ;;
esac`

// NewUdhcpc writes udhcpc's script; Acquire starts it.
func NewUdhcpc(cfg Config) (*Udhcpc, error) {
	events, script, err := prepare(cfg, udhcpcApply)
	if err != nil {
		return nil, err
	}
	return &Udhcpc{cfg: cfg, events: events, script: script}, nil
}

// Name returns "udhcpc".
func (c *Udhcpc) Name() string { return "udhcpc" }

// Output returns what udhcpc printed.
func (c *Udhcpc) Output() string { return c.out.String() }

// Acquire starts udhcpc (it stays running) and waits for "bound".
func (c *Udhcpc) Acquire(ctx context.Context) (Lease, error) {
	args := []string{"-f", "-n", "-i", c.cfg.Iface, "-s", c.script, "-t", "5", "-T", "1"}
	if c.cfg.Hostname != "" {
		args = append(args, "-x", "hostname:"+c.cfg.Hostname)
	}
	cmd := c.cfg.NS.Command(context.Background(), "udhcpc", args...)
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	proc, err := c.cfg.NS.Start(cmd)
	if err != nil {
		return Lease{}, err
	}
	c.proc = proc
	return waitLease(ctx, c.events, udhcpcNames, proc.Done(), c.Name(), c.Output)
}

// Renew sends SIGUSR1, which makes udhcpc renew at once, and waits for
// "renew". Events recorded before the call are skipped.
func (c *Udhcpc) Renew(ctx context.Context) (Lease, error) {
	if c.proc == nil {
		return Lease{}, fmt.Errorf("udhcpc is not running")
	}
	if err := c.events.skipRecorded(); err != nil {
		return Lease{}, err
	}
	if err := c.proc.Signal(syscall.SIGUSR1); err != nil {
		return Lease{}, fmt.Errorf("ask udhcpc to renew: %w", err)
	}
	return waitLease(ctx, c.events, udhcpcNames, c.proc.Done(), c.Name(), c.Output)
}

// Release sends SIGUSR2, which makes udhcpc send DHCPRELEASE and
// deconfigure, and waits for its "deconfig" event.
func (c *Udhcpc) Release(ctx context.Context) error {
	if c.proc == nil {
		return fmt.Errorf("udhcpc is not running")
	}
	if err := c.proc.Signal(syscall.SIGUSR2); err != nil {
		return fmt.Errorf("ask udhcpc to release: %w", err)
	}
	_, err := c.events.next(ctx, func(env map[string]string) bool { return env["SCRIPT_ARG"] == "deconfig" })
	if err != nil {
		return fmt.Errorf("udhcpc did not release: %w\n%s", err, c.Output())
	}
	return nil
}

// Close kills udhcpc by PID; it sends no RELEASE.
func (c *Udhcpc) Close() error {
	return killProc(&c.proc)
}
