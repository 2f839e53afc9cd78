package suite

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/procstat"
	"github.com/xdhcp/xdhcp/bench/servers"
	"github.com/xdhcp/xdhcp/bench/xdpecho"
)

// Step is the outcome of one fixed-rate run of a scenario.
type Step struct {
	Offered   float64 // exchanges started per second (target)
	Completed float64 // exchanges completed per second
	DropRatio float64 // 0..1
	P50, P90  time.Duration
	P99, Max  time.Duration
	NAKs      int64
	Dups      int64   // addresses handed to two live clients
	GenCPU    float64 // generator CPU seconds
	Extra     string  // driver-specific note (e.g. legitimate-client success in a flood)
}

// Driver runs one step of a scenario from the generator namespace.
type Driver interface {
	Name() string
	Scenarios() []string
	Step(ctx context.Context, req StepRequest) (Step, error)
}

// StepRequest is one fixed-rate step for a Driver.
type StepRequest struct {
	Topo     *netns.Topology
	Scenario string
	Rate     int
	Duration time.Duration
	// Mark, when the driver can tell, is called with "measure" when the
	// measured phase starts (after any warm-up) and "done" when it ends,
	// so the server's CPU is sampled over that window only.
	Mark func(phase string)
}

// PhaseMark prefixes the phase lines `xdhcp-bench run --phase-marks`
// prints on stderr.
const PhaseMark = "xdhcp-bench-phase: "

// Config selects what the suite runs. Zero values mean defaults.
type Config struct {
	Servers   []string      // default kea, xdhcpd
	Driver    Driver        // required
	Rates     []int         // offered rates of the sweep, rising
	StepTime  time.Duration // length of each step; default 3s
	MaxDrop   float64       // drop ratio at which a sweep stops; default 0.01
	LeaseTime time.Duration // default 1h
	OutDir    string        // where results go; empty: not written
	// Binaries maps a server name to an executable overriding PATH
	// (e.g. a freshly built xdhcpd).
	Binaries map[string]string
	Logger   *zap.Logger
	// PairsRenewCached runs ScenarioRenewCached for the failover pairs
	// too; the full plan leaves it out to stay within its time budget.
	PairsRenewCached bool
}

// Row is one measured step of one server and scenario.
type Row struct {
	Server, Driver, Scenario string
	Step
	ServerCPU  float64 // server CPU seconds during the step
	Durability string
	Lag        Lag // replication lag of a pair's binding updates in the step
	// LagNote, for a pair that reports no lag, says where its replication
	// time shows instead (servers.Server.LagNote).
	LagNote string
}

// Lag summarises the replication lag histogram's observations in one
// step: the time from a lease being committed and queued for the partner
// to the partner's acknowledgement, for the updates acknowledged between
// the scrape before the step and the one after it. Updates is 0 for
// servers that export no lag. Unacked counts the updates still queued or
// unacknowledged when the step's lag was read (after waiting at most
// settleLimit): a pair that replicates slower than it answers carries
// them into the next step.
type Lag struct {
	P50, P99, Mean time.Duration
	Updates        uint64
	Unacked        int
}

// CPUPer1000 returns server CPU seconds per 1,000 completed exchanges.
func (r Row) CPUPer1000(d time.Duration) float64 {
	n := r.Completed * d.Seconds()
	if n <= 0 {
		return 0
	}
	return r.ServerCPU / n * 1000
}

// Pool used by every server: 10.99.1.0-10.99.254.255 in 10.99.0.0/16.
var (
	PoolStart = netip.MustParseAddr("10.99.1.0")
	PoolEnd   = netip.MustParseAddr("10.99.254.255")
)

// Run runs the matrix and returns every measured step. It stops early,
// returning what it has, when ctx is cancelled.
func Run(ctx context.Context, cfg Config) ([]Row, error) {
	if cfg.Driver == nil {
		return nil, errors.New("suite: Config.Driver is required")
	}
	if len(cfg.Servers) == 0 {
		cfg.Servers = []string{"kea", "xdhcpd"}
	}
	if len(cfg.Rates) == 0 {
		cfg.Rates = []int{2000, 5000, 10000, 20000, 30000}
	}
	if cfg.StepTime <= 0 {
		cfg.StepTime = 3 * time.Second
	}
	if cfg.MaxDrop <= 0 {
		cfg.MaxDrop = 0.01
	}
	if cfg.LeaseTime <= 0 {
		cfg.LeaseTime = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	var rows []Row
	for _, name := range cfg.Servers {
		srv, err := servers.Lookup(name)
		if err != nil {
			return rows, fmt.Errorf("suite: %w", err)
		}
		got, err := runServer(ctx, cfg, srv)
		rows = append(rows, got...)
		if err != nil {
			if ctx.Err() != nil {
				return rows, ctx.Err()
			}
			cfg.Logger.Error("server run failed; continuing with the next", zap.String("server", name), zap.Error(err))
		}
	}
	return rows, nil
}

func runServer(ctx context.Context, cfg Config, srv servers.Server) ([]Row, error) {
	log := cfg.Logger.With(zap.String("server", srv.Name), zap.String("driver", cfg.Driver.Name()))
	var rows []Row
	for _, scen := range cfg.Driver.Scenarios() {
		if len(srv.Scenarios) > 0 && !slices.Contains(srv.Scenarios, scen) {
			continue
		}
		if scen == ScenarioRenewCached && (!srv.LeaseCache || srv.Pair && !cfg.PairsRenewCached) {
			continue // no cache to measure, or a pair left out (PairsRenewCached)
		}
		// A fresh topology and server per scenario, so leases from one
		// scenario do not change the next.
		got, err := runScenario(ctx, cfg, srv, scen, log)
		rows = append(rows, got...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// holdsGenXDP reports whether the driver attaches an XDP program of its
// own to the generator interface (xdhcp-bench with AF_XDP), which then
// also does what GenXDPPass's pass-all program is for.
func holdsGenXDP(d Driver) bool {
	g, ok := d.(Generator)
	return ok && g.IO == "afxdp"
}

func runScenario(ctx context.Context, cfg Config, srv servers.Server, scen string, log *zap.Logger) ([]Row, error) {
	topo, err := netns.New(ctx, &netns.Config{Prefix: "xbs", Pair: srv.Pair})
	if err != nil {
		return nil, err
	}
	defer func() { _ = topo.Close() }()
	if srv.GenXDPPass && !holdsGenXDP(cfg.Driver) {
		var pass io.Closer
		err := netns.Do(topo.GenNS, func() error {
			ifi, err := net.InterfaceByName(topo.GenIface)
			if err != nil {
				return err
			}
			pass, err = xdpecho.AttachPass(ifi.Index)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", srv.Name, err)
		}
		defer pass.Close()
	}
	dir := filepath.Join(os.TempDir(), netns.UniqueName("xdhcp-bench-"+srv.Name+"-"))
	defer func() { _ = os.RemoveAll(dir) }()
	spec := servers.Spec{
		Namespace: topo.SrvNS, Iface: topo.SrvIface, Addr: topo.SrvAddr, Subnet: topo.Subnet,
		PoolStart: PoolStart, PoolEnd: PoolEnd, LeaseTime: cfg.LeaseTime, Dir: dir,
		Binary: cfg.Binaries[srv.Name], PeerNamespace: topo.PeerNS, PeerAddr: topo.PeerAddr,
	}
	durability := srv.Durability
	if scen == ScenarioRenewCached {
		spec.LeaseCachePercent = servers.LeaseCachePercent
		durability = fmt.Sprintf("%s; lease cache %d%%", durability, spec.LeaseCachePercent)
	}
	proc, err := srv.Start(ctx, spec)
	if err != nil {
		return nil, err
	}
	defer func() { _ = proc.Stop() }()
	if err := waitReady(ctx, cfg.Driver, topo); err != nil {
		return nil, fmt.Errorf("%s not answering: %w; output:\n%s", srv.Name, err, proc.Tail())
	}
	var rows []Row
	for _, rate := range cfg.Rates {
		lagBefore, lagErr := scrapeLag(ctx, proc)
		before, err := proc.CPU()
		if err != nil {
			return rows, fmt.Errorf("%s died before the %d/s step: %w; output:\n%s", srv.Name, rate, err, proc.Tail())
		}
		var mStart, mEnd procstat.CPU
		var marks int
		mark := func(phase string) {
			c, err := proc.CPU()
			if err != nil {
				return
			}
			switch phase {
			case "measure":
				mStart, marks = c, marks|1
			case "done":
				mEnd, marks = c, marks|2
			}
		}
		st, err := cfg.Driver.Step(ctx, StepRequest{Topo: topo, Scenario: scen, Rate: rate, Duration: cfg.StepTime, Mark: mark})
		if err != nil {
			if ctx.Err() != nil {
				return rows, err
			}
			// A step that could not run (a renew warm-up the server
			// could not bind in time) ends this scenario's sweep, not
			// the server's run: its other scenarios still get measured.
			if _, dead := proc.CPU(); dead != nil {
				return rows, fmt.Errorf("%s died during the %d/s step: %w; output:\n%s", srv.Name, rate, dead, proc.Tail())
			}
			log.Warn("step failed; ending this scenario's sweep", zap.String("scenario", scen), zap.Int("offered", rate), zap.Error(err))
			break
		}
		after, err := proc.CPU()
		if err != nil {
			return rows, fmt.Errorf("%s died during the %d/s step: %w; output:\n%s", srv.Name, rate, err, proc.Tail())
		}
		cpu := after.Sub(before)
		if marks == 3 {
			cpu = mEnd.Sub(mStart)
		}
		row := Row{Server: srv.Name, Driver: cfg.Driver.Name(), Scenario: scen, Step: st, ServerCPU: cpu.Total(),
			Durability: durability, LagNote: srv.LagNote}
		if srv.ReportsLag {
			if lagErr == nil {
				row.Lag, lagErr = stepLag(ctx, proc, lagBefore)
			}
			if lagErr != nil {
				row.Extra = strings.TrimSpace(row.Extra + " replication lag not measured: " + lagErr.Error())
				log.Warn("replication lag not measured", zap.String("scenario", scen), zap.Int("offered", rate), zap.Error(lagErr))
			}
		}
		rows = append(rows, row)
		log.Info("step", zap.String("scenario", scen), zap.Int("offered", rate),
			zap.Float64("completed", st.Completed), zap.Float64("drop", st.DropRatio), zap.Float64("server_cpu_s", row.ServerCPU),
			zap.Uint64("lag_updates", row.Lag.Updates), zap.Duration("lag_p99", row.Lag.P99), zap.Int("lag_unacked", row.Lag.Unacked))
		if st.DropRatio > cfg.MaxDrop {
			break
		}
	}
	return rows, nil
}

// settleLimit bounds the wait, after a step, for a pair's last binding
// updates to be acknowledged before the lag histogram is read. Normally
// they are within milliseconds; a backlog is reported, not waited out.
const settleLimit = time.Second

// scrapeLag reads a pair's lag histogram before a step; nothing for a
// server that reports none.
func scrapeLag(ctx context.Context, proc *servers.Process) (servers.Histogram, error) {
	if !proc.Server.ReportsLag {
		return servers.Histogram{}, nil
	}
	return proc.ReplicationLag(ctx)
}

// stepLag waits for the step's binding updates to be acknowledged and
// summarises the lag observed since before.
func stepLag(ctx context.Context, proc *servers.Process, before servers.Histogram) (Lag, error) {
	left, err := proc.Settle(ctx, settleLimit)
	if err != nil {
		return Lag{}, err
	}
	after, err := proc.ReplicationLag(ctx)
	if err != nil {
		return Lag{}, err
	}
	d, err := after.Sub(before)
	if err != nil {
		return Lag{}, err
	}
	lag := summarise(d)
	lag.Unacked = left
	return lag, nil
}

// summarise reduces a step's histogram to p50, p99 and mean.
func summarise(h servers.Histogram) Lag {
	lag := Lag{Updates: h.Count}
	lag.P50, _ = h.Quantile(0.50)
	lag.P99, _ = h.Quantile(0.99)
	lag.Mean, _ = h.Mean()
	return lag
}

// waitReady runs tiny steps until the server completes an exchange.
func waitReady(ctx context.Context, d Driver, topo *netns.Topology) error {
	var last error
	for try := 0; try < 10; try++ {
		st, err := d.Step(ctx, StepRequest{Topo: topo, Scenario: "probe", Rate: 20, Duration: 500 * time.Millisecond})
		if err == nil && st.Completed > 0 {
			return nil
		}
		last = err
		if last == nil {
			last = errors.New("no exchange completed")
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return last
}

// Best returns, per server and scenario, the step with the highest
// completed rate whose drop ratio is at most maxDrop.
func Best(rows []Row, maxDrop float64) []Row {
	type key struct{ server, scen, driver string }
	best := map[key]int{}
	var order []key
	for i, r := range rows {
		k := key{r.Server, r.Scenario, r.Driver}
		j, seen := best[k]
		if !seen {
			order = append(order, k)
			best[k] = -1
			j = -1
		}
		if r.DropRatio <= maxDrop && (j < 0 || r.Completed > rows[j].Completed) {
			best[k] = i
		}
	}
	var out []Row
	for _, k := range order {
		if i := best[k]; i >= 0 {
			out = append(out, rows[i])
		} else {
			out = append(out, Row{Server: k.server, Scenario: k.scen, Driver: k.driver})
		}
	}
	return out
}
