package servers

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/procstat"
)

// Spec is what every server under test is configured with.
type Spec struct {
	Namespace string       // server namespace
	Iface     string       // serving interface, e.g. srv0
	Addr      netip.Addr   // server address on Iface
	Subnet    netip.Prefix // the served subnet
	PoolStart netip.Addr
	PoolEnd   netip.Addr
	LeaseTime time.Duration
	Dir       string // private work directory for config, leases, logs
	// Binary overrides the server executable (e.g. a freshly built
	// xdhcpd); empty means the name on PATH.
	Binary string
	// For a failover pair: the partner's namespace and address (on its
	// own srv0). Start fills Role and Partner for each instance.
	PeerNamespace string
	PeerAddr      netip.Addr
	Role          string     // "primary" or "secondary"; empty when not a pair
	Partner       netip.Addr // the other instance's address
	// MetricsListen is where a server that exports LagMetric serves
	// Prometheus metrics inside its namespace; Start fills it.
	MetricsListen string
	// LeaseCachePercent is the lease cache threshold for a server that has
	// one (Server.LeaseCache): a REQUEST in the first LeaseCachePercent of
	// a lease gets the lease as stored, unwritten. 0 turns the cache off,
	// so that every REQUEST writes a lease.
	LeaseCachePercent int
}

// Server describes how to run one DHCP server.
type Server struct {
	Name       string
	Durability string // how the server makes a lease durable
	// Pair servers run two instances, a failover primary in the server
	// namespace and a secondary in the peer namespace.
	Pair bool
	// Scenarios, when set, limits the scenarios the suite runs.
	Scenarios []string
	// GenXDPPass asks for a pass-all XDP program on the generator's
	// interface: frames a server sends with XDP_TX reach a veth peer only
	// when that peer runs XDP.
	GenXDPPass bool
	// ReportsLag is set for servers that export LagMetric (per instance;
	// Process.ReplicationLag sums both of a pair).
	ReportsLag bool
	// LagNote says, for a pair without a lag metric, where its
	// replication time shows instead.
	LagNote string
	// LeaseCache is set for servers that have a lease cache, whose
	// threshold Spec.LeaseCachePercent sets.
	LeaseCache bool
	binary     string
	// ready, when set, blocks until a started pair is in normal
	// operation (both partners serving their halves).
	ready func(ctx context.Context, p *Process) error
	// prepare writes config files into spec.Dir and returns the command
	// arguments and extra environment.
	prepare func(spec Spec) (args, env []string, err error)
}

// ErrUnknown is returned by Lookup for a server name it does not know.
var ErrUnknown = errors.New("unknown server")

// All returns the known servers, keyed by name.
func All() map[string]Server {
	return map[string]Server{
		"xdhcpd": {Name: "xdhcpd", binary: "xdhcpd", prepare: prepareXdhcpd, LeaseCache: true, Durability: "Badger, msync/fsync before ACK (batched)"},
		"kea":    {Name: "kea", binary: "kea-dhcp4", prepare: prepareKea(false), LeaseCache: true, Durability: "memfile CSV, no fsync"},
		// kea-mt leaves renew-cached to kea, whose row shows Kea's cache,
		// to keep the full plan under 20 minutes.
		"kea-mt": {Name: "kea-mt", binary: "kea-dhcp4", prepare: prepareKea(true), LeaseCache: true, Durability: "memfile CSV, no fsync",
			Scenarios: []string{"dora", "renew", "mix", "flood"}},
		"dhcpd":   {Name: "dhcpd", binary: "dhcpd", prepare: prepareDhcpd, LeaseCache: true, Durability: "leases file, fsync per lease"},
		"dnsmasq": {Name: "dnsmasq", binary: "dnsmasq", prepare: prepareDnsmasq, Durability: "lease file rewritten, fsync per lease"},
		"xdhcpd-failover": {Name: "xdhcpd-failover", binary: "xdhcpd", prepare: prepareXdhcpd, Pair: true, LeaseCache: true,
			ReportsLag: true, ready: waitXdhcpdNormal,
			Durability: "Badger, msync/fsync before ACK; binding updates to the partner"},
		// kea-ha runs the scenarios that replicate leases one kind at a
		// time, dora and renew: each scenario costs 20 s of HA start-up,
		// and the full plan must stay under 20 minutes. The flood is
		// about dropping the partner's DISCOVERs at the driver.
		"kea-ha": {Name: "kea-ha", binary: "kea-dhcp4", prepare: keaHAConfigFile, Pair: true, LeaseCache: true, ready: waitKeaLoadBalancing,
			Scenarios:  []string{"dora", "renew"},
			Durability: "memfile CSV, no fsync; partner acknowledges the lease update before the reply",
			LagNote:    "kea-ha sends each lease update to its partner and waits for the partner's answer before it sends the client its ACK, so its replication time is inside its response latency; it exports no separate lag."},
		"echo":     {Name: "echo", binary: "xdhcp-bench", prepare: prepareEcho(false), Durability: "none (stateless yardstick)"},
		"echo-xdp": {Name: "echo-xdp", binary: "xdhcp-bench", prepare: prepareEcho(true), GenXDPPass: true, Durability: "none (stateless XDP yardstick)"},
	}
}

// Names returns the known server names, sorted.
func Names() []string {
	var n []string
	for k := range All() {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// Lookup returns the server called name.
func Lookup(name string) (Server, error) {
	s, ok := All()[name]
	if !ok {
		return Server{}, fmt.Errorf("%w %q: choose from %s", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return s, nil
}

// Process is a running server.
type Process struct {
	Server  Server
	PID     int
	LogPath string
	Partner *Process // the secondary of a pair
	spec    Spec
	cmd     *exec.Cmd
	done    chan error
}

// Start writes the server's configuration into spec.Dir and starts it in
// spec.Namespace (and, for a pair, its partner in spec.PeerNamespace).
// The caller must call Stop.
func (s Server) Start(ctx context.Context, spec Spec) (*Process, error) {
	if s.ReportsLag {
		spec.MetricsListen = metricsListen
	}
	if !s.Pair {
		return s.start(ctx, spec)
	}
	if spec.PeerNamespace == "" || !spec.PeerAddr.IsValid() {
		return nil, fmt.Errorf("start %s: a pair needs Spec.PeerNamespace and PeerAddr", s.Name)
	}
	prim, sec := spec, spec
	prim.Role, prim.Partner = "primary", spec.PeerAddr
	sec.Role, sec.Partner, sec.Namespace, sec.Addr = "secondary", spec.Addr, spec.PeerNamespace, spec.PeerAddr
	sec.Dir = filepath.Join(spec.Dir, "secondary")
	p, err := s.start(ctx, prim)
	if err != nil {
		return nil, err
	}
	if p.Partner, err = s.start(ctx, sec); err != nil {
		_ = p.Stop()
		return nil, err
	}
	if s.ready != nil {
		rctx, cancel := context.WithTimeout(ctx, readyTimeout)
		defer cancel()
		if err := s.ready(rctx, p); err != nil {
			_ = p.Stop()
			return nil, fmt.Errorf("start %s: %w; output:\n%s", s.Name, err, p.Tail())
		}
	}
	return p, nil
}

// readyTimeout bounds the wait for a pair to reach normal operation.
const readyTimeout = 60 * time.Second

// metricsListen is where a server that reports lag serves its metrics,
// inside its own namespace.
const metricsListen = "127.0.0.1:9267"

func (s Server) start(ctx context.Context, spec Spec) (*Process, error) {
	if err := os.MkdirAll(spec.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	args, env, err := s.prepare(spec)
	if err != nil {
		return nil, fmt.Errorf("configure %s: %w", s.Name, err)
	}
	bin := s.binary
	if spec.Binary != "" {
		bin = spec.Binary
	}
	logPath := filepath.Join(spec.Dir, s.Name+".out")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	defer logf.Close()
	// Not CommandContext: the caller stops the server explicitly, with
	// SIGTERM first, so it can flush its leases.
	cmd := netns.Command(context.Background(), spec.Namespace, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	p := &Process{Server: s, PID: cmd.Process.Pid, LogPath: logPath, spec: spec, cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	select {
	case err := <-p.done:
		p.done <- err
		return nil, fmt.Errorf("start %s: exited at once (%v); output:\n%s", s.Name, err, tail(logPath))
	case <-time.After(300 * time.Millisecond):
	case <-ctx.Done():
		_ = p.Stop()
		return nil, ctx.Err()
	}
	return p, nil
}

// Alive reports whether the process (and its partner) is still running.
func (p *Process) Alive() bool {
	if p.Partner != nil && !p.Partner.Alive() {
		return false
	}
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// CPU returns the server's CPU time so far (both instances of a pair).
func (p *Process) CPU() (procstat.CPU, error) {
	c, err := procstat.Read(p.PID)
	if err != nil || p.Partner == nil {
		return c, err
	}
	pc, err := p.Partner.CPU()
	return procstat.CPU{User: c.User + pc.User, System: c.System + pc.System}, err
}

// Stop sends SIGTERM, waits up to five seconds, then SIGKILLs (the
// partner first, for a pair).
func (p *Process) Stop() error {
	if p.Partner != nil {
		if err := p.Partner.Stop(); err != nil {
			return err
		}
	}
	select {
	case err := <-p.done:
		p.done <- err
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		return nil
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		err := <-p.done
		p.done <- err
		return fmt.Errorf("stop %s (pid %d): killed after SIGTERM timeout", p.Server.Name, p.PID)
	}
}

// Tail returns the last lines of the server's output, for error messages.
func (p *Process) Tail() string {
	if p.Partner != nil {
		return tail(p.LogPath) + "\n--- secondary:\n" + p.Partner.Tail()
	}
	return tail(p.LogPath)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func write(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// LeaseCachePercent is the lease cache threshold the suite's renew-cached
// scenario runs every server that has a lease cache with (the default of
// ISC dhcpd's dhcp-cache-threshold; Kea's cache-threshold 0.25; xdhcpd's
// server.cache-threshold-percent). Every other scenario runs with the
// cache off, so that each of its exchanges writes a lease.
const LeaseCachePercent = 25

// benchPairSecret is the shared secret of the benchmark's xdhcpd pair,
// which lives only in the suite's namespaces.
const benchPairSecret = "xdhcp-bench pair secret, not for production\n"

func prepareXdhcpd(s Spec) ([]string, []string, error) {
	cfg := fmt.Sprintf(`server:
  interfaces: [%s]
  address: %s
  data-dir: %s
  control-socket: %s
  metrics-listen: %q
  log-level: warn
  cache-threshold-percent: %d
dataplane:
  mode: auto
scopes:
  - subnet: %s
    pools: ["%s-%s"]
    lease-time: %ds
`, s.Iface, s.Addr, filepath.Join(s.Dir, "data"), filepath.Join(s.Dir, "xdhcpd.sock"), s.MetricsListen,
		s.LeaseCachePercent, s.Subnet.Masked(), s.PoolStart, s.PoolEnd, int(s.LeaseTime.Seconds()))
	if s.Role != "" {
		// The pair authenticates its stream, as docs/CONFIG.md tells
		// operators to; both partners write the same secret.
		secret := filepath.Join(s.Dir, "failover.secret")
		if err := write(secret, benchPairSecret); err != nil {
			return nil, nil, err
		}
		cfg += fmt.Sprintf(`failover:
  name: bench-pair
  role: %s
  listen: %s:647
  partner: %s:647
  mode: load-balance
  load-balance-percent: 50
  shared-secret-file: %s
`, s.Role, s.Addr, s.Partner, secret)
	}
	path := filepath.Join(s.Dir, "xdhcpd.yaml")
	return []string{"--config", path}, nil, write(path, cfg)
}

func prepareDhcpd(s Spec) ([]string, []string, error) {
	p := s.Subnet.Masked()
	mask := netip.AddrFrom4(maskBytes(p.Bits()))
	lt := int(s.LeaseTime.Seconds())
	cfg := fmt.Sprintf(`authoritative;
default-lease-time %d;
max-lease-time %d;
ddns-update-style none;
ping-check false;
dhcp-cache-threshold %d;
subnet %s netmask %s {
  range %s %s;
}
`, lt, lt, s.LeaseCachePercent, p.Addr(), mask, s.PoolStart, s.PoolEnd)
	conf := filepath.Join(s.Dir, "dhcpd.conf")
	leases := filepath.Join(s.Dir, "dhcpd.leases")
	if err := write(leases, ""); err != nil {
		return nil, nil, err
	}
	args := []string{"-f", "-4", "-q", "-cf", conf, "-lf", leases, "-pf", filepath.Join(s.Dir, "dhcpd.pid"), s.Iface}
	return args, nil, write(conf, cfg)
}

func prepareDnsmasq(s Spec) ([]string, []string, error) {
	mask := netip.AddrFrom4(maskBytes(s.Subnet.Bits()))
	size := ipv4Int(s.PoolEnd) - ipv4Int(s.PoolStart) + 1
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--port=0", "--user=root",
		"--interface=" + s.Iface, "--bind-interfaces", "--no-ping", "--log-facility=" + filepath.Join(s.Dir, "dnsmasq.log"),
		fmt.Sprintf("--dhcp-range=%s,%s,%s,%ds", s.PoolStart, s.PoolEnd, mask, int(s.LeaseTime.Seconds())),
		fmt.Sprintf("--dhcp-lease-max=%d", size),
		"--dhcp-leasefile=" + filepath.Join(s.Dir, "dnsmasq.leases"),
		"--pid-file=" + filepath.Join(s.Dir, "dnsmasq.pid"),
		"--dhcp-authoritative",
	}
	return args, nil, nil
}

func prepareEcho(useXDP bool) func(Spec) ([]string, []string, error) {
	return func(s Spec) ([]string, []string, error) {
		args := []string{"responder", "--iface", s.Iface, "--address", s.Addr.String()}
		if useXDP {
			args = append(args, "--xdp")
		}
		return args, nil, nil
	}
}

func maskBytes(bits int) [4]byte {
	m := ^uint32(0) << (32 - bits)
	return [4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

func ipv4Int(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
