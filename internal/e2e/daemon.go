package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// Binaries are the paths of a built xdhcpd and xdhcpctl.
type Binaries struct {
	Xdhcpd, Xdhcpctl string
}

// ModuleRoot returns the root directory of the module that holds the
// current directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find the module root with go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the xdhcp module (go env GOMOD says %q): run from the repository", gomod)
	}
	return filepath.Dir(gomod), nil
}

// GoBuild builds the packages (module-relative, "./cmd/xdhcpd") into
// outDir, a directory.
func GoBuild(ctx context.Context, outDir string, pkgs ...string) error {
	root, err := ModuleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", append([]string{"build", "-o", outDir + string(filepath.Separator)}, pkgs...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s in %s: %w\n%s", strings.Join(pkgs, " "), root, err, out)
	}
	return nil
}

// Build compiles xdhcpd and xdhcpctl into outDir.
func Build(ctx context.Context, outDir string) (Binaries, error) {
	if err := GoBuild(ctx, outDir, "./cmd/xdhcpd", "./cmd/xdhcpctl"); err != nil {
		return Binaries{}, err
	}
	return Binaries{Xdhcpd: filepath.Join(outDir, "xdhcpd"), Xdhcpctl: filepath.Join(outDir, "xdhcpctl")}, nil
}

// ServerSpec is the part of an xdhcpd configuration a test chooses; Daemon
// fills in the data directory and control socket.
type ServerSpec struct {
	Interfaces []string
	Address    netip.Addr // server identifier
	Dataplane  string     // auto, native, generic or off; "" means auto
	// RateLimitPPS and RateLimitBurst set the per-client flood guard;
	// 0 leaves it off.
	RateLimitPPS, RateLimitBurst uint32
	// DiscoverBudgetPPS sets dataplane.discover-budget (its burst the
	// default); 0 leaves it off.
	DiscoverBudgetPPS uint32
	// NoRetryLane turns the budget's retry lane off (retry-pps 0); else it
	// has the default, the budget's rate.
	NoRetryLane bool
	// NoLeaseCache sets server.cache-threshold-percent to 0: every
	// REQUEST writes a new lease. Otherwise the default (25%) applies.
	NoLeaseCache bool
	Scopes       []ScopeSpec
}

// ScopeSpec is one scope of a ServerSpec.
type ScopeSpec struct {
	Subnet       netip.Prefix
	Pools        []string // "a-b"
	LeaseTime    time.Duration
	Routers, DNS []netip.Addr
	Reservations []Reservation
}

// Reservation is a fixed address for a hardware address.
type Reservation struct {
	HW net.HardwareAddr
	IP netip.Addr
}

// yaml renders the spec as an xdhcpd configuration file.
func (s ServerSpec) yaml(dataDir, socket string) string {
	var b strings.Builder
	mode := s.Dataplane
	if mode == "" {
		mode = "auto"
	}
	fmt.Fprintf(&b, "server:\n  interfaces: [%s]\n  address: %s\n  data-dir: %q\n  control-socket: %q\n  metrics-listen: \"\"\n  log-level: debug\n",
		strings.Join(s.Interfaces, ", "), s.Address, dataDir, socket)
	if s.NoLeaseCache {
		b.WriteString("  cache-threshold-percent: 0\n")
	}
	fmt.Fprintf(&b, "dataplane:\n  mode: %s\n", mode)
	if s.RateLimitPPS > 0 {
		fmt.Fprintf(&b, "  rate-limit: {per-client-pps: %d, burst: %d}\n", s.RateLimitPPS, s.RateLimitBurst)
	}
	if s.DiscoverBudgetPPS > 0 {
		lane := ""
		if s.NoRetryLane {
			lane = ", retry-pps: 0"
		}
		fmt.Fprintf(&b, "  discover-budget: {pps: %d%s}\n", s.DiscoverBudgetPPS, lane)
	}
	b.WriteString("scopes:\n")
	for _, sc := range s.Scopes {
		fmt.Fprintf(&b, "  - subnet: %s\n    pools: [%s]\n", sc.Subnet, strings.Join(sc.Pools, ", "))
		if sc.LeaseTime > 0 {
			fmt.Fprintf(&b, "    lease-time: %ds\n", int(sc.LeaseTime.Seconds()))
		}
		if len(sc.Routers)+len(sc.DNS) > 0 {
			fmt.Fprintf(&b, "    options:\n")
			if len(sc.Routers) > 0 {
				fmt.Fprintf(&b, "      routers: [%s]\n", joinAddrs(sc.Routers))
			}
			if len(sc.DNS) > 0 {
				fmt.Fprintf(&b, "      domain-name-servers: [%s]\n", joinAddrs(sc.DNS))
			}
		}
		if len(sc.Reservations) > 0 {
			fmt.Fprintf(&b, "    reservations:\n")
			for _, r := range sc.Reservations {
				fmt.Fprintf(&b, "      - {hw-address: %q, ip: %s}\n", r.HW, r.IP)
			}
		}
	}
	return b.String()
}

func joinAddrs(addrs []netip.Addr) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// Daemon is one xdhcpd running in a namespace, with its files in Dir.
type Daemon struct {
	Bin     Binaries
	NS      *netns.NS
	Dir     string
	Config  string // path of the configuration file
	DataDir string
	Socket  string
	// LogSink, when set, also receives the daemon's log.
	LogSink io.Writer

	mu   sync.Mutex
	log  bytes.Buffer
	proc *netns.Proc
}

// NewDaemon prepares a daemon whose configuration, lease store and socket
// live in dir.
func NewDaemon(bin Binaries, ns *netns.NS, dir string) *Daemon {
	return &Daemon{Bin: bin, NS: ns, Dir: dir,
		Config: filepath.Join(dir, "xdhcpd.yaml"), DataDir: filepath.Join(dir, "data"), Socket: filepath.Join(dir, "ctl.sock")}
}

// WriteSpec writes the configuration for spec.
func (d *Daemon) WriteSpec(spec ServerSpec) error {
	return d.WriteConfig(spec.yaml(d.DataDir, d.Socket))
}

// WriteConfig writes a configuration file as given.
func (d *Daemon) WriteConfig(text string) error {
	if err := os.WriteFile(d.Config, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write xdhcpd config: %w", err)
	}
	return nil
}

// Write collects the daemon's log.
func (d *Daemon) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.log.Write(p)
	if d.LogSink != nil {
		_, _ = d.LogSink.Write(p)
	}
	return len(p), nil
}

// Log returns everything the daemon logged, across restarts.
func (d *Daemon) Log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// Start runs xdhcpd and waits until "xdhcpctl status" answers.
func (d *Daemon) Start(ctx context.Context) error {
	if d.Running() {
		return fmt.Errorf("xdhcpd already running (pid %d)", d.proc.Pid())
	}
	fmt.Fprintf(d, "--- e2e: starting xdhcpd --config %s\n", d.Config)
	cmd := d.NS.Command(context.Background(), d.Bin.Xdhcpd, "--config", d.Config)
	cmd.Stdout, cmd.Stderr = d, d
	proc, err := d.NS.Start(cmd)
	if err != nil {
		return err
	}
	d.proc = proc
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if _, err := d.Ctl(ctx, "status"); err == nil {
			return nil
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("xdhcpd exited before it was ready: %v\n%s", proc.Wait(), d.Log())
		case <-ctx.Done():
			return fmt.Errorf("xdhcpd not ready (xdhcpctl status fails): %w\n%s", ctx.Err(), d.Log())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Running reports whether the daemon process is alive.
func (d *Daemon) Running() bool { return d.proc != nil && !d.proc.Exited() }

// Pid returns the daemon's process id, or 0.
func (d *Daemon) Pid() int {
	if d.proc == nil {
		return 0
	}
	return d.proc.Pid()
}

// Stop sends SIGTERM and waits for a clean exit; it is an error when the
// daemon needs more than 15 s or exits with a failure.
func (d *Daemon) Stop() error {
	if d.proc == nil {
		return nil
	}
	proc := d.proc
	d.proc = nil
	if proc.Exited() {
		return fmt.Errorf("xdhcpd had already exited: %v", proc.Wait())
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-proc.Done():
		if err := proc.Wait(); err != nil {
			return fmt.Errorf("xdhcpd exited with %v after SIGTERM", err)
		}
		return nil
	case <-time.After(15 * time.Second):
		_ = proc.Kill()
		return errors.New("xdhcpd did not exit within 15s of SIGTERM; killed")
	}
}

// Kill sends SIGKILL and waits for the process to go.
func (d *Daemon) Kill() {
	if d.proc != nil {
		_ = d.proc.Kill()
		d.proc = nil
	}
}

// Ctl runs xdhcpctl with --json against the daemon and returns its output.
func (d *Daemon) Ctl(ctx context.Context, args ...string) (string, error) {
	return d.ctl(ctx, true, args...)
}

// CtlText runs xdhcpctl for human-readable output.
func (d *Daemon) CtlText(ctx context.Context, args ...string) (string, error) {
	return d.ctl(ctx, false, args...)
}

func (d *Daemon) ctl(ctx context.Context, asJSON bool, args ...string) (string, error) {
	full := []string{"--socket", d.Socket}
	if asJSON {
		full = append(full, "--json")
	}
	full = append(full, args...)
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, d.Bin.Xdhcpctl, full...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("xdhcpctl %s: %w: %s", strings.Join(full, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Leases returns every lease xdhcpctl lists.
func (d *Daemon) Leases(ctx context.Context) ([]api.Lease, error) {
	out, err := d.Ctl(ctx, "leases")
	if err != nil {
		return nil, err
	}
	var leases []api.Lease
	if err := json.Unmarshal([]byte(out), &leases); err != nil {
		return nil, fmt.Errorf("decode xdhcpctl leases: %w\n%s", err, out)
	}
	return leases, nil
}

// Status returns xdhcpctl status.
func (d *Daemon) Status(ctx context.Context) (api.Status, error) {
	var st api.Status
	out, err := d.Ctl(ctx, "status")
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		return st, fmt.Errorf("decode xdhcpctl status: %w\n%s", err, out)
	}
	return st, nil
}

// Dataplane is what "xdhcpctl dataplane" reports that the tests read.
type Dataplane struct {
	Mode       string            `json:"mode"`
	Interfaces map[string]string `json:"interfaces"`
	RateLimit  struct {
		PerClientPPS uint32 `json:"per-client-pps"`
		Burst        uint32 `json:"burst"`
	} `json:"rate-limit"`
	XDP      map[string]uint64 `json:"xdp-counters"`
	GoFilter map[string]uint64 `json:"go-filter-counters"`
}

// Dataplane returns xdhcpctl dataplane.
func (d *Daemon) Dataplane(ctx context.Context) (Dataplane, error) {
	var dp Dataplane
	out, err := d.Ctl(ctx, "dataplane")
	if err != nil {
		return dp, err
	}
	if err := json.Unmarshal([]byte(out), &dp); err != nil {
		return dp, fmt.Errorf("decode xdhcpctl dataplane: %w\n%s", err, out)
	}
	return dp, nil
}

// LeaseByIP finds the lease of ip among leases.
func LeaseByIP(leases []api.Lease, ip netip.Addr) (api.Lease, bool) {
	for _, l := range leases {
		if l.IP == ip.String() {
			return l, true
		}
	}
	return api.Lease{}, false
}
