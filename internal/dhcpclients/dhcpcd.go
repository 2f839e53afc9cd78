package dhcpclients

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Dhcpcd drives dhcpcd in the foreground ("-B") as init of its own PID and
// mount namespaces, so that its privilege-separated helpers die with it and
// its /run and /var/lib/dhcpcd files stay private.
type Dhcpcd struct {
	cfg    Config
	events *eventDir
	script string
	conf   string
	out    SyncBuffer
	proc   *netns.Proc // unshare
	mu     sync.Mutex
	initID int // dhcpcd's host PID: init of its PID namespace
}

var _ Client = (*Dhcpcd)(nil)

// NewDhcpcd writes dhcpcd's script and config; Acquire starts it.
func NewDhcpcd(cfg Config) (*Dhcpcd, error) {
	events, script, err := prepare(cfg, "")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Dir, "lib"), 0o755); err != nil {
		return nil, fmt.Errorf("dhcpcd state directory: %w", err)
	}
	// noarp and nodelay keep the test quick; ipv4only keeps it to DHCPv4.
	conf := "nodelay\nipv4only\noption domain_name_servers, routers, subnet_mask\n"
	if !cfg.Probe {
		conf = "noarp\n" + conf
	}
	if cfg.Hostname != "" {
		conf += "hostname " + cfg.Hostname + "\n"
	}
	confPath := filepath.Join(cfg.Dir, "dhcpcd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("write dhcpcd config: %w", err)
	}
	return &Dhcpcd{cfg: cfg, events: events, script: script, conf: confPath}, nil
}

// Name returns "dhcpcd".
func (c *Dhcpcd) Name() string { return "dhcpcd" }

// Output returns what dhcpcd printed.
func (c *Dhcpcd) Output() string { return c.out.String() }

// Acquire starts dhcpcd and waits for BOUND.
func (c *Dhcpcd) Acquire(ctx context.Context) (Lease, error) {
	inner := fmt.Sprintf("mount -t tmpfs tmpfs /run && mount --bind %s /var/lib/dhcpcd && exec dhcpcd -4 -B -d -f %s -c %s %s",
		shellQuote(filepath.Join(c.cfg.Dir, "lib")), shellQuote(c.conf), shellQuote(c.script), shellQuote(c.cfg.Iface))
	cmd := c.cfg.NS.Command(context.Background(), "unshare", "-p", "-f", "--kill-child", "-m", "sh", "-c", inner)
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	proc, err := c.cfg.NS.Start(cmd)
	if err != nil {
		return Lease{}, err
	}
	c.proc = proc
	// dhcpcd drops privileges, which clears unshare's parent-death signal:
	// kill it ourselves, by PID, whenever the namespace is closed.
	c.cfg.NS.OnClose(func() { _ = c.Close() })
	if err := c.findInit(ctx); err != nil {
		return Lease{}, err
	}
	return waitLease(ctx, c.events, iscNames, proc.Done(), c.Name(), c.Output)
}

// findInit records the host PID of unshare's child, the PID namespace's init.
func (c *Dhcpcd) findInit(ctx context.Context) error {
	pid := c.proc.Pid()
	path := fmt.Sprintf("/proc/%d/task/%d/children", pid, pid)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			if f := strings.Fields(string(data)); len(f) > 0 {
				child, err := strconv.Atoi(f[0])
				if err != nil {
					return fmt.Errorf("child of unshare: %w", err)
				}
				c.mu.Lock()
				c.initID = child
				c.mu.Unlock()
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("dhcpcd did not start: %w\n%s", ctx.Err(), c.Output())
		case <-c.proc.Done():
			return fmt.Errorf("dhcpcd exited at once: %v\n%s", c.proc.Wait(), c.Output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Renew sends dhcpcd SIGUSR1 (what "dhcpcd -N" does), which renews its
// lease at once, and waits for RENEW. Events recorded before the call are
// skipped.
func (c *Dhcpcd) Renew(ctx context.Context) (Lease, error) {
	c.mu.Lock()
	pid := c.initID
	c.mu.Unlock()
	if pid == 0 || c.proc.Exited() {
		return Lease{}, fmt.Errorf("dhcpcd is not running")
	}
	if err := c.events.skipRecorded(); err != nil {
		return Lease{}, err
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		return Lease{}, fmt.Errorf("ask dhcpcd (pid %d) to renew: %w", pid, err)
	}
	return waitLease(ctx, c.events, iscNames, c.proc.Done(), c.Name(), c.Output)
}

// Close kills dhcpcd's PID namespace through its init, by PID, then
// unshare. dhcpcd sends no RELEASE.
func (c *Dhcpcd) Close() error {
	c.mu.Lock()
	pid := c.initID
	c.initID = 0
	c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	if pid != 0 && !c.proc.Exited() {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		// unshare reaps dhcpcd and exits with it; killing unshare first
		// would leave dhcpcd's zombie to the host's init.
		select {
		case <-c.proc.Done():
		case <-time.After(3 * time.Second):
		}
	}
	_ = c.proc.Kill()
	return nil
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
