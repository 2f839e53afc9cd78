package dhcpclients

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Config says where a client runs.
type Config struct {
	NS       *netns.NS // the client's namespace
	Iface    string    // the interface it configures, inside NS
	Dir      string    // a private directory for its script, events, lease and config files
	Hostname string    // sent as option 12; empty sends none
	// Probe makes dhcpcd ARP-probe an acknowledged address and DECLINE it
	// when another host answers; the other clients ignore it.
	Probe bool
}

// Client is one real DHCP client process.
type Client interface {
	// Name is the program's name: "dhclient", "udhcpc" or "dhcpcd".
	Name() string
	// Acquire starts the client and waits for its first lease.
	Acquire(ctx context.Context) (Lease, error)
	// Renew makes the running client (or, for dhclient, a new one with the
	// same lease file) ask the server again for its address and waits for
	// the answer.
	Renew(ctx context.Context) (Lease, error)
	// Output returns what the client printed, for failure messages.
	Output() string
	// Close kills the client by PID without releasing its lease.
	Close() error
}

// Kinds are the client names New accepts.
var Kinds = []string{"dhclient", "udhcpc", "dhcpcd"}

// New returns the client called kind.
func New(kind string, cfg Config) (Client, error) {
	switch kind {
	case "dhclient":
		return NewDhclient(cfg)
	case "udhcpc":
		return NewUdhcpc(cfg)
	case "dhcpcd":
		return NewDhcpcd(cfg)
	}
	return nil, fmt.Errorf("unknown DHCP client %q (want one of %s)", kind, strings.Join(Kinds, ", "))
}

// Debian packages that ship each program this package runs.
var packageOf = map[string]string{
	"dhclient": "isc-dhcp-client",
	"udhcpc":   "udhcpc",
	"dhcpcd":   "dhcpcd-base",
	"perfdhcp": "kea-admin",
	"dhcrelay": "isc-dhcp-relay",
	"tshark":   "tshark",
	"unshare":  "util-linux",
	"nsenter":  "util-linux",
	"ip":       "iproute2",
	"dnsmasq":  "dnsmasq-base",
	"go":       "golang-go (or a Go toolchain on PATH)",
}

// CheckTools returns an error naming each program that is not on PATH and
// the Debian package that provides it.
func CheckTools(programs ...string) error {
	var missing []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			pkg := packageOf[p]
			if pkg == "" {
				pkg = "unknown package"
			}
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", p, pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing programs: %s; install them with apt-get install", strings.Join(missing, ", "))
	}
	return nil
}

// PackageOf names the Debian package that provides program, or "" when
// this package does not know it.
func PackageOf(program string) string { return packageOf[program] }

// hookScript is the script every client runs for its events. apply is
// shell code run first that may configure the client's interface.
const hookScript = `#!/bin/sh
# Written by xdhcp's dhcpclients driver. It records each event and changes
# nothing but the client's own interface inside its network namespace.
dir=%q
%s
n=$(date +%%s%%N)
{ env -0; printf 'SCRIPT_ARG=%%s\0' "$1"; } > "$dir/.$n.$$"
mv "$dir/.$n.$$" "$dir/$n-$$.env"
exit 0
`

// prepare makes the client's directories and writes its hook script.
func prepare(cfg Config, apply string) (events *eventDir, script string, err error) {
	if cfg.NS == nil || cfg.Iface == "" || cfg.Dir == "" {
		return nil, "", fmt.Errorf("dhcp client config needs NS, Iface and Dir")
	}
	evDir := filepath.Join(cfg.Dir, "events")
	if err := os.MkdirAll(evDir, 0o755); err != nil {
		return nil, "", fmt.Errorf("client directory: %w", err)
	}
	script = filepath.Join(cfg.Dir, "hook.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(hookScript, evDir, apply)), 0o755); err != nil {
		return nil, "", fmt.Errorf("write hook script: %w", err)
	}
	return &eventDir{dir: evDir}, script, nil
}

// waitLease waits for the next binding event and parses it.
func waitLease(ctx context.Context, ev *eventDir, names envNames, exited <-chan struct{}, name string, output func() string) (Lease, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-exited:
			// Give the script's last event a moment to land before giving up.
			time.Sleep(300 * time.Millisecond)
			cancel()
		case <-ctx.Done():
		}
	}()
	env, err := ev.next(ctx, func(env map[string]string) bool {
		return bindingEvents[strings.ToUpper(env[names.event])]
	})
	if err != nil {
		return Lease{}, fmt.Errorf("%s got no lease (events: %s): %w\n%s", name, ev.summary(names.event), err, output())
	}
	return parseLease(env, names)
}

// SyncBuffer is a bytes.Buffer safe for a process's output and a
// concurrent reader.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// killProc kills *p by PID, if started, and forgets it.
func killProc(p **netns.Proc) error {
	if *p != nil {
		_ = (*p).Kill()
		*p = nil
	}
	return nil
}
