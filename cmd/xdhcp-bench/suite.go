package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/bench/suite"
)

// Default sweeps. The generator's reach past what any server sustains; a
// sweep stops at the first step over --max-drop.
var (
	genRates          = []int{250, 1000, 5000, 10000, 15000, 20000, 40000, 60000, 80000, 100000, 120000, 140000, 160000, 180000, 200000, 240000, 280000, 320000, 360000, 400000}
	genRatesQuick     = []int{500, 2500, 10000, 40000, 80000}
	perfdhcpRates     = []int{500, 1000, 2500, 5000, 10000, 15000, 20000, 25000, 30000, 40000}
	perfdhcpQuick     = []int{1000, 5000, 10000, 20000, 30000}
	yardstickRates    = []int{50000, 100000, 200000, 300000, 400000, 500000}
	yardstickQuick    = []int{50000, 100000, 200000}
	yardstickPerfdhcp = []int{5000, 10000, 15000, 20000, 25000, 30000, 40000}
	// The pairs' full sweeps, shorter so the full plan stays under 20
	// minutes: xdhcpd's pair skips the low steps single xdhcpd already
	// covers; Kea's pair, which saturates in the low thousands here, gets
	// finer steps there and none above.
	pairRates  = []int{1000, 5000, 20000, 40000, 60000, 80000, 120000}
	keaHARates = []int{250, 1000, 2000, 4000, 8000}
)

// fullRates returns a server's sweep in the full plan.
func fullRates(server string) []int {
	switch server {
	case "xdhcpd-failover":
		return pairRates
	case "kea-ha":
		return keaHARates
	}
	return genRates
}

// plansBySweep groups consecutive servers that share a sweep into one
// plan each, keeping the servers' order.
func plansBySweep(d suite.Driver, servers []string, rates func(server string) []int) []plan {
	var plans []plan
	for _, s := range servers {
		r := rates(s)
		if n := len(plans); n > 0 && slices.Equal(plans[n-1].rates, r) {
			plans[n-1].servers = append(plans[n-1].servers, s)
			continue
		}
		plans = append(plans, plan{d, []string{s}, r})
	}
	return plans
}

// defaultGenServers is the full plan's server list: the failover pairs
// (xdhcpd's, then Kea's HA pair) follow single xdhcpd; quick leaves the
// pairs out, Kea's alone needing about 20 s per scenario to reach
// load-balancing.
const defaultGenServers = "xdhcpd,xdhcpd-failover,kea-ha,kea,kea-mt,dhcpd,dnsmasq"

// plan is one suite.Run: a driver over some servers at some rates.
type plan struct {
	driver  suite.Driver
	servers []string
	rates   []int
}

func runSuite(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	quick := fs.Bool("quick", false, "short plan (make bench-quick): fewer servers, rates and shorter steps")
	servers := fs.String("servers", "", "servers the xdhcp-bench generator runs against: xdhcpd, xdhcpd-failover, kea-ha, kea, kea-mt, dhcpd, dnsmasq, echo, echo-xdp; default "+defaultGenServers+" (quick: xdhcpd,kea); \"none\" skips")
	scenarios := fs.String("scenarios", "", "generator scenarios; default dora,renew,renew-cached,mix,flood (quick: without renew-cached, to stay under 3 minutes)")
	perfServers := fs.String("perfdhcp-servers", "xdhcpd,kea", "servers perfdhcp (DORA) runs against; \"none\" skips")
	yardstick := fs.Bool("yardstick", true, "also run both generators against the XDP echo responder (echo-xdp)")
	rates := fs.String("rates", "", "comma-separated offered rates for every sweep; default depends on the driver, the server and --quick")
	step := fs.Duration("step", 0, "length of each rate step; default 3s (quick: 1.5s)")
	maxDrop := fs.Float64("max-drop", 0.01, "drop ratio that ends a sweep and bounds the reported max rate")
	out := fs.String("out", "", "results directory; default bench/results/<UTC date-time>")
	xdhcpd := fs.String("xdhcpd", "", "xdhcpd binary to use instead of the one on PATH")
	genIO := fs.String("gen-io", "afxdp", "the xdhcp-bench generator's packet I/O: afxdp (fastest here, docs/BENCHMARKS.md), recvmmsg or ring")
	genIdle := fs.String("gen-idle", "sleep", "how the generator waits with nothing due: sleep or poll (xdhcp-bench run --idle)")
	pairsCached := fs.Bool("pairs-renew-cached", false, "also run renew-cached for the failover pairs (left out of the default plan for its time)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("suite: find own executable: %w", err)
	}
	cfg := suite.Config{StepTime: *step, MaxDrop: *maxDrop, Logger: e.log, PairsRenewCached: *pairsCached,
		Binaries: map[string]string{"echo": self, "echo-xdp": self}}
	if *xdhcpd != "" {
		abs, err := filepath.Abs(*xdhcpd)
		if err != nil {
			return fmt.Errorf("--xdhcpd: %w", err)
		}
		cfg.Binaries["xdhcpd"], cfg.Binaries["xdhcpd-failover"] = abs, abs
	}
	if cfg.StepTime == 0 {
		cfg.StepTime = 3 * time.Second
		if *quick {
			cfg.StepTime = 1500 * time.Millisecond
		}
	}
	var userRates []int
	if *rates != "" {
		for _, r := range strings.Split(*rates, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(r))
			if err != nil || n <= 0 {
				return fmt.Errorf("--rates: %q is not a positive integer", r)
			}
			userRates = append(userRates, n)
		}
	}
	pick := func(full, short []int) []int {
		if userRates != nil {
			return userRates
		}
		if *quick {
			return short
		}
		return full
	}
	genSweep := func(server string) []int { return pick(fullRates(server), genRatesQuick) }
	list := func(s, def string) []string {
		if s == "" {
			s = def
		}
		if s == "none" {
			return nil
		}
		return strings.Split(s, ",")
	}
	genServers := list(*servers, defaultGenServers)
	if *quick && *servers == "" {
		genServers = []string{"xdhcpd", "kea"}
	}
	switch *genIO {
	case "afxdp", "recvmmsg", "ring":
	default:
		return fmt.Errorf("--gen-io %q: choose afxdp, recvmmsg or ring", *genIO)
	}
	if *genIdle != "sleep" && *genIdle != "poll" {
		return fmt.Errorf("--gen-idle %q: choose sleep or poll", *genIdle)
	}
	gen := suite.Generator{Binary: self, IO: *genIO, Idle: *genIdle}
	switch {
	case *scenarios != "":
		gen.ScenarioOf = strings.Split(*scenarios, ",")
	case *quick:
		gen.ScenarioOf = slices.DeleteFunc(gen.Scenarios(), func(s string) bool { return s == suite.ScenarioRenewCached })
	}
	var plans []plan
	plans = append(plans, plansBySweep(gen, genServers, genSweep)...)
	if ps := list(*perfServers, "xdhcpd,kea"); len(ps) > 0 {
		plans = append(plans, plan{suite.PerfDHCP{}, ps, pick(perfdhcpRates, perfdhcpQuick)})
	}
	if *yardstick {
		plans = append(plans,
			plan{suite.Generator{Binary: self, IO: *genIO, Idle: *genIdle, ScenarioOf: []string{"dora"}}, []string{"echo-xdp"}, pick(yardstickRates, yardstickQuick)},
			plan{suite.PerfDHCP{}, []string{"echo-xdp"}, pick(yardstickPerfdhcp, perfdhcpQuick)})
	}
	if len(plans) == 0 {
		return fmt.Errorf("suite: nothing to run (all server lists are \"none\" and --yardstick=false)")
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("bench", "results", time.Now().UTC().Format("2006-01-02T1504Z"))
	}
	started := time.Now()
	var rows []suite.Row
	var runErr error
	for _, p := range plans {
		c := cfg
		c.Driver, c.Servers, c.Rates = p.driver, p.servers, p.rates
		got, err := suite.Run(ctx, c)
		rows = append(rows, got...)
		if err != nil {
			runErr = err
			break
		}
	}
	took := time.Since(started).Round(time.Second)
	header := fmt.Sprintf("# xdhcp-bench suite, %s\n\nCommand: `xdhcp-bench suite %s` (took %s)\n\n", started.UTC().Format(time.RFC3339), strings.Join(args, " "), took)
	if err := suite.WriteDir(dir, rows, cfg.StepTime, cfg.MaxDrop, header); err != nil {
		return err
	}
	if pngs, err := suite.Plot(ctx, dir, rows); err != nil {
		e.log.Warn("no plots", zap.Error(err))
	} else if err := suite.AppendPlots(dir, pngs); err != nil {
		return err
	}
	if err := suite.WriteMarkdown(e.stdout, rows, cfg.StepTime, cfg.MaxDrop); err != nil {
		return err
	}
	e.log.Info("results written", zap.String("dir", dir), zap.Duration("took", took))
	return runErr
}
