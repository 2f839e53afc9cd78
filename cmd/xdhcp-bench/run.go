package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/bench/afxdp"
	"github.com/xdhcp/xdhcp/bench/loadgen"
	"github.com/xdhcp/xdhcp/bench/procstat"
	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/report"
	"github.com/xdhcp/xdhcp/bench/stats"
	"github.com/xdhcp/xdhcp/bench/suite"
)

func runGenerator(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	iface := fs.String("iface", "", "interface to send and receive on (required)")
	scenario := fs.String("scenario", "dora", "dora | renew | rebind | mix | flood")
	clients := fs.Int("clients", 1000, "distinct simulated clients")
	rate := fs.Float64("rate", 0, "exchanges started per second; 0 = unbounded (keeps --window in flight)")
	window := fs.Int("window", 1024, "exchanges in flight when --rate is 0")
	tick := fs.Duration("tick", 100*time.Microsecond, "pacing quantum at a --rate: starts leave in bursts of rate×tick, and the generator sleeps between them")
	idle := fs.String("idle", "sleep", "how the generator waits with nothing due: sleep (a tick on a timer; replies wait in the ring) | poll (woken by each reply, which costs the server a wake-up per reply)")
	duration := fs.Duration("duration", 10*time.Second, "measured time")
	timeout := fs.Duration("timeout", time.Second, "per-attempt timeout")
	retries := fs.Int("retries", 0, "retransmissions before an exchange counts as dropped")
	clientID := fs.Bool("client-id", false, "send option 61")
	release := fs.Bool("release", false, "dora: RELEASE after every ACK")
	decline := fs.Bool("decline", false, "dora: DECLINE after every ACK")
	relay := fs.String("relay", "", "act as a relay with this giaddr (an address of --iface); needs --server")
	server := fs.String("server", "", "relay targets, comma-separated (e.g. both partners of a failover pair)")
	legit := fs.Float64("legit-rate", 100, "flood: DORA starts per second by legitimate clients")
	floodSource := fs.String("flood-source", "spoofed", "flood: Ethernet source of the flood's frames: spoofed (each frame's random chaddr) | port (this interface's MAC, random chaddrs: one attacking port)")
	seed := fs.Uint("mac-seed", 0, "second byte of client MACs (0-255), to run several generators")
	ioMode := fs.String("io", "recvmmsg", "packet I/O: recvmmsg | ring (TPACKET_V3 receive ring) | afxdp (AF_XDP socket on queue 0, with an XDP redirect program)")
	batch := fs.Int("batch", 64, "frames per system call (afxdp: per ring round)")
	untilDrop := fs.String("until-drop", "", "sweep: raise --rate (from --start-rate) until drops exceed this (e.g. 1%), then report the best rate")
	startRate := fs.Float64("start-rate", 1000, "first rate of an --until-drop sweep")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	asCSV := fs.Bool("csv", false, "print CSV instead of a table")
	progress := fs.String("progress", "auto", "live progress on stderr: auto (when a terminal) | on | off")
	phaseMarks := fs.Bool("phase-marks", false, "print \""+PhaseMark+"measure\" and \""+PhaseMark+"done\" lines on stderr around the measured phase (for the suite's CPU sampling)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *iface == "" {
		return fmt.Errorf("run: --iface is required (e.g. --iface gen0)")
	}
	if *seed > 255 {
		return fmt.Errorf("run: --mac-seed %d: use 0-255", *seed)
	}
	cfg := loadgen.Config{
		Scenario: loadgen.Scenario(*scenario), Clients: *clients, Rate: *rate, Tick: *tick, Idle: loadgen.IdleMode(*idle), Window: *window, Duration: *duration,
		Timeout: *timeout, Retries: *retries, ClientID: *clientID, Release: *release, Decline: *decline,
		LegitRate: *legit, MACSeed: byte(*seed), FloodSource: loadgen.FloodSource(*floodSource),
	}
	if *phaseMarks {
		cfg.OnPhase = func(p string) { fmt.Fprintln(e.stderr, PhaseMark+p) }
	}
	if *relay != "" {
		var err error
		if cfg.Relay, err = netip.ParseAddr(*relay); err != nil {
			return fmt.Errorf("run: --relay: %w", err)
		}
		for _, a := range strings.Split(*server, ",") {
			addr, err := netip.ParseAddr(strings.TrimSpace(a))
			if err != nil {
				return fmt.Errorf("run: --server (needed with --relay): %w", err)
			}
			cfg.Servers = append(cfg.Servers, addr)
		}
		// Replies to the relay land on this host's port 67; hold it so
		// the kernel does not answer them with ICMP port unreachable.
		sink, err := net.ListenPacket("udp4", ":67")
		if err != nil {
			return fmt.Errorf("run: hold UDP port 67 for relayed replies: %w", err)
		}
		defer sink.Close()
	}
	var maxDrop float64
	if *untilDrop != "" {
		v, err := strconv.ParseFloat(strings.TrimSuffix(*untilDrop, "%"), 64)
		if err != nil || v <= 0 || v >= 100 {
			return fmt.Errorf("run: --until-drop %q: give a percentage such as 1%%", *untilDrop)
		}
		maxDrop = v / 100
	}
	conn, err := openPacketIO(e, *iface, *ioMode, *batch)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	defer conn.Close()
	showProgress := *progress == "on" || (*progress == "auto" && isTerminal(os.Stderr))
	lost := &socketLoss{conn: conn}
	runOnce := func(c loadgen.Config) (report.Report, error) {
		var p report.Progress
		if showProgress {
			c.Progress = func(s loadgen.Snapshot) {
				fmt.Fprintf(e.stderr, "\r%s\x1b[K", p.Line(s, primaryOf(c.Scenario)))
			}
		}
		before, _ := procstat.Read(os.Getpid())
		lost.since()
		res, err := loadgen.Run(ctx, conn, c)
		if showProgress {
			fmt.Fprint(e.stderr, "\r\x1b[K")
		}
		if err != nil {
			return report.Report{}, err
		}
		after, _ := procstat.Read(os.Getpid())
		r := report.From(res, after.Sub(before).Total())
		r.RxLost = lost.since()
		return r, nil
	}
	var reports []report.Report
	if maxDrop == 0 {
		r, err := runOnce(cfg)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
		reports = append(reports, r)
	} else {
		reports, err = sweep(ctx, e, cfg, *startRate, maxDrop, runOnce)
		if err != nil {
			return fmt.Errorf("run: %w", err)
		}
	}
	switch {
	case *asJSON:
		return report.WriteJSON(e.stdout, reports)
	case *asCSV:
		return report.WriteCSV(e.stdout, reports)
	}
	for _, r := range reports {
		if err := report.WriteTable(e.stdout, r); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout)
	}
	if maxDrop > 0 {
		best := bestUnder(reports, maxDrop)
		if best == nil {
			fmt.Fprintf(e.stdout, "no rate stayed under %.2g%% drops\n", maxDrop*100)
		} else {
			k := best.PrimaryKind()
			fmt.Fprintf(e.stdout, "max sustained %s rate under %.2g%% drops: %.0f/s (offered %.0f/s)\n", k.Kind, maxDrop*100, k.CompletedPerS, best.TargetRate)
		}
	}
	return nil
}

// packetIO is a generator's packet I/O that must be closed.
type packetIO interface {
	loadgen.PacketIO
	io.Closer
}

// openPacketIO opens the --io engine on iface, admitting DHCP to ports 67
// and 68 and ARP.
func openPacketIO(e env, iface, mode string, batch int) (packetIO, error) {
	ports := []uint16{67, 68}
	switch mode {
	case "recvmmsg", "ring":
		return rawio.Open(iface, &rawio.Config{Ports: ports, ARP: true, Batch: batch, RxRing: mode == "ring"})
	case "afxdp":
		c, err := afxdp.Open(iface, &afxdp.Config{Ports: ports, ARP: true, Batch: batch})
		if err != nil {
			return nil, err
		}
		e.log.Info("AF_XDP socket open", zap.String("iface", iface), zap.Stringer("mode", c.Mode()))
		return c, nil
	}
	return nil, fmt.Errorf("--io %q: choose recvmmsg, ring or afxdp", mode)
}

// socketLoss counts the received frames the kernel drops on the way to
// the generator's socket (a full ring, an empty fill ring).
type socketLoss struct {
	conn packetIO
	seen uint64 // AF_XDP's counters run on; AF_PACKET's reset when read
}

// since returns the drops since its previous call, 0 when the engine
// cannot tell.
func (l *socketLoss) since() uint64 {
	switch c := l.conn.(type) {
	case *afxdp.Conn:
		st, err := c.Socket.Stats()
		if err != nil {
			return 0
		}
		total := st.Rx_dropped + st.Rx_ring_full
		d := total - l.seen
		l.seen = total
		return d
	case *rawio.Conn:
		st, err := c.Stats()
		if err != nil {
			return 0
		}
		return uint64(st.Drops)
	}
	return 0
}

// PhaseMark prefixes the stderr lines --phase-marks prints.
const PhaseMark = suite.PhaseMark

func primaryOf(s loadgen.Scenario) stats.Kind {
	r := loadgen.Result{Config: loadgen.Config{Scenario: s}}
	return r.Primary()
}

// sweep raises the rate by half each step until the primary kind's drop
// ratio exceeds maxDrop, then bisects twice between the last good and the
// first bad rate.
func sweep(ctx context.Context, e env, cfg loadgen.Config, start, maxDrop float64, runOnce func(loadgen.Config) (report.Report, error)) ([]report.Report, error) {
	var out []report.Report
	step := func(rate float64) (bool, error) {
		c := cfg
		c.Rate = rate
		r, err := runOnce(c)
		if err != nil {
			return false, err
		}
		out = append(out, r)
		k := r.PrimaryKind()
		fmt.Fprintf(e.stderr, "sweep: offered %.0f/s -> completed %.0f/s, drops %.2f%%\n", rate, k.CompletedPerS, 100*k.DropRatio)
		return k.DropRatio <= maxDrop && k.Started > 0, nil
	}
	good, bad := 0.0, 0.0
	for rate := start; ctx.Err() == nil; rate *= 1.5 {
		ok, err := step(rate)
		if err != nil {
			return out, err
		}
		if !ok {
			bad = rate
			break
		}
		good = rate
		if rate > 5e6 {
			break
		}
	}
	for i := 0; i < 2 && bad > 0 && good > 0 && ctx.Err() == nil; i++ {
		mid := (good + bad) / 2
		ok, err := step(mid)
		if err != nil {
			return out, err
		}
		if ok {
			good = mid
		} else {
			bad = mid
		}
	}
	return out, nil
}

func bestUnder(rs []report.Report, maxDrop float64) *report.Report {
	var best *report.Report
	for i := range rs {
		k := rs[i].PrimaryKind()
		if k.DropRatio <= maxDrop && k.Started > 0 && (best == nil || k.CompletedPerS > best.PrimaryKind().CompletedPerS) {
			best = &rs[i]
		}
	}
	return best
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
