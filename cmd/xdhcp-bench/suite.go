package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/bench/suite"
)

func runSuite(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("suite", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	serverList := fs.String("servers", "kea,xdhcpd", "comma-separated servers: xdhcpd, kea, kea-mt, dhcpd, dnsmasq, echo, echo-xdp")
	quick := fs.Bool("quick", false, "short sweep (bench-quick)")
	drivers := fs.String("driver", "gen", "comma-separated load generators, run in turn: gen (xdhcp-bench's own), perfdhcp")
	scenarios := fs.String("scenarios", "dora,renew,mix,flood", "gen driver scenarios")
	rates := fs.String("rates", "", "comma-separated offered rates; default depends on --quick and --driver")
	step := fs.Duration("step", 0, "length of each rate step; default 3s (quick: 2s)")
	maxDrop := fs.Float64("max-drop", 0.01, "drop ratio that ends a sweep and bounds the reported max rate")
	out := fs.String("out", "", "results directory; default bench/results/<UTC date-time>")
	xdhcpd := fs.String("xdhcpd", "", "xdhcpd binary to use instead of the one on PATH")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := suite.Config{
		Servers: strings.Split(*serverList, ","), StepTime: *step, MaxDrop: *maxDrop, Logger: e.log,
		Binaries: map[string]string{},
	}
	if *xdhcpd != "" {
		abs, err := filepath.Abs(*xdhcpd)
		if err != nil {
			return fmt.Errorf("--xdhcpd: %w", err)
		}
		cfg.Binaries["xdhcpd"] = abs
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("suite: find own executable: %w", err)
	}
	cfg.Binaries["echo"], cfg.Binaries["echo-xdp"] = self, self
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
	type run struct {
		driver suite.Driver
		rates  []int
	}
	var runs []run
	for _, d := range strings.Split(*drivers, ",") {
		switch d {
		case "perfdhcp":
			r := []int{500, 1000, 2000, 5000, 10000, 15000, 20000, 25000, 30000, 40000}
			if *quick {
				r = []int{1000, 5000, 10000, 20000, 30000}
			}
			runs = append(runs, run{suite.PerfDHCP{}, r})
		case "gen":
			r := []int{250, 1000, 2500, 5000, 10000, 20000, 40000, 60000, 80000, 120000, 160000}
			if *quick {
				r = []int{500, 2500, 10000, 40000, 80000}
			}
			runs = append(runs, run{suite.Generator{Binary: self, ScenarioOf: strings.Split(*scenarios, ",")}, r})
		default:
			return fmt.Errorf("--driver %q: choose gen or perfdhcp", d)
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("bench", "results", time.Now().UTC().Format("2006-01-02T1504Z"))
	}
	started := time.Now()
	var rows []suite.Row
	var runErr error
	for _, r := range runs {
		c := cfg
		c.Driver, c.Rates = r.driver, r.rates
		if userRates != nil {
			c.Rates = userRates
		}
		got, err := suite.Run(ctx, c)
		rows = append(rows, got...)
		if err != nil {
			runErr = err
			break
		}
	}
	header := fmt.Sprintf("# xdhcp-bench suite %s\n\nCommand: `xdhcp-bench suite %s`\n\n", started.UTC().Format(time.RFC3339), strings.Join(args, " "))
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
	e.log.Info("results written", zap.String("dir", dir), zap.Duration("took", time.Since(started).Round(time.Second)))
	return runErr
}
