package main

import (
	"context"
	"flag"
	"fmt"
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
	serverList := fs.String("servers", "kea,xdhcpd", "comma-separated servers: xdhcpd, kea, kea-mt, dhcpd, dnsmasq")
	quick := fs.Bool("quick", false, "short sweep (bench-quick)")
	driver := fs.String("driver", "perfdhcp", "load generator: perfdhcp or gen (xdhcp-bench's own)")
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
	switch *driver {
	case "perfdhcp":
		cfg.Driver = suite.PerfDHCP{}
		cfg.Rates = []int{500, 1000, 2000, 5000, 10000, 15000, 20000, 25000, 30000, 40000}
		if *quick {
			cfg.Rates = []int{500, 2000, 5000, 10000, 20000, 30000}
		}
	default:
		return fmt.Errorf("--driver %q: choose perfdhcp or gen", *driver)
	}
	if cfg.StepTime == 0 {
		cfg.StepTime = 3 * time.Second
		if *quick {
			cfg.StepTime = 2 * time.Second
		}
	}
	if *rates != "" {
		cfg.Rates = nil
		for _, r := range strings.Split(*rates, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(r))
			if err != nil || n <= 0 {
				return fmt.Errorf("--rates: %q is not a positive integer", r)
			}
			cfg.Rates = append(cfg.Rates, n)
		}
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join("bench", "results", time.Now().UTC().Format("2006-01-02T1504Z"))
	}
	started := time.Now()
	rows, runErr := suite.Run(ctx, cfg)
	header := fmt.Sprintf("# xdhcp-bench suite %s\n\nCommand: `xdhcp-bench suite %s`\n\n", started.UTC().Format(time.RFC3339), strings.Join(args, " "))
	if err := suite.WriteDir(dir, rows, cfg.StepTime, cfg.MaxDrop, header); err != nil {
		return err
	}
	if err := suite.WriteMarkdown(e.stdout, rows, cfg.StepTime, cfg.MaxDrop); err != nil {
		return err
	}
	e.log.Info("results written", zap.String("dir", dir), zap.Duration("took", time.Since(started).Round(time.Second)))
	return runErr
}
