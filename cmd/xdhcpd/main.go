// Command xdhcpd is the xdhcp DHCPv4 server daemon.
//
//	xdhcpd --config /etc/xdhcp/xdhcpd.yaml
//	xdhcpd --config FILE --check      # validate the configuration and exit
//
// It attaches the XDP dataplane to each serving interface, restores leases
// from its Badger store, serves DHCP until SIGINT or SIGTERM, and answers
// xdhcpctl on its control socket.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/control/server"
	"github.com/xdhcp/xdhcp/failover"
	"github.com/xdhcp/xdhcp/internal/config"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "xdhcpd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("xdhcpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "/etc/xdhcp/xdhcpd.yaml", "configuration file (YAML, see docs/CONFIG.md)")
	check := fs.Bool("check", false, "validate the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the whole run to this file (for benchmarks)")
	memProfile := fs.String("memprofile", "", "write a Go allocation profile to this file when the server stops (for benchmarks)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *showVersion {
		fmt.Fprintln(stdout, "xdhcpd", version)
		return nil
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *check {
		fmt.Fprintf(stdout, "%s: configuration is valid (%d scopes)\n", *cfgPath, len(cfg.Scopes))
		return nil
	}
	log, err := newLogger(cfg.Server.LogLevel, cfg.Server.LogFormat, stderr)
	if err != nil {
		return err
	}
	defer log.Sync() //nolint:errcheck // stderr may not sync
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer writeAllocProfile(log, *memProfile)
	}
	return serve(ctx, log, cfg, *cfgPath)
}

// writeAllocProfile writes the allocations made since start (pprof's
// "allocs" profile) to path; a failure is logged, the exit status is the
// server's.
func writeAllocProfile(log *zap.Logger, path string) {
	f, err := os.Create(path)
	if err == nil {
		err = pprof.Lookup("allocs").WriteTo(f, 0)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Error("--memprofile: write allocation profile", zap.String("path", path), zap.Error(err))
	}
}

func serve(ctx context.Context, log *zap.Logger, cfg *config.Config, cfgPath string) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	storeMetrics, err := server.NewStoreMetrics(reg)
	if err != nil {
		return err
	}
	store, err := lease.Open(lease.Options{
		Dir:         cfg.Server.DataDir,
		MaxBatch:    cfg.Server.CommitBatch,
		CommitDelay: time.Duration(cfg.Server.CommitDelay),
		Log:         log.Named("store"),
		OnCommit:    storeMetrics.Observe,
	})
	if err != nil {
		return fmt.Errorf("server.data-dir: %w", err)
	}
	defer func() {
		if err := store.Close(); err != nil {
			log.Error("closing lease store", zap.Error(err))
		}
	}()

	dp, err := startDataplane(log.Named("dataplane"), cfg, reg)
	if err != nil {
		return err
	}
	defer dp.close()

	srv, err := server.New(server.Options{
		Config:          cfg,
		ConfigPath:      cfgPath,
		Store:           store,
		Log:             log,
		Registry:        reg,
		Filter:          dp.filter,
		Dataplane:       dp.modes,
		DataplaneStatus: dp.status,
		Buckets:         dp,
		Sockets:         dp.sockets(),
		OnReload:        dp.reload,
		Version:         version,
	})
	if err != nil {
		return err
	}
	defer srv.Close()
	if cfg.Failover != nil {
		if err := startFailover(ctx, log.Named("failover"), cfg, srv, reg); err != nil {
			return err
		}
	}
	if err := srv.ServeControl(ctx, cfg.Server.ControlSocket); err != nil {
		return err
	}
	if cfg.Server.MetricsListen != "" {
		if err := serveMetrics(ctx, log, cfg.Server.MetricsListen, reg); err != nil {
			return err
		}
	}
	err = srv.Run(ctx)
	log.Info("stopped")
	return err
}

// startFailover builds the failover engine for cfg's failover section,
// hands it the failover scopes and runs it until ctx ends.
func startFailover(ctx context.Context, log *zap.Logger, cfg *config.Config, srv *server.Server, reg prometheus.Registerer) error {
	fcfg, err := failover.FromConfig(cfg.Failover)
	if err != nil {
		return err
	}
	peer, err := failover.New(fcfg, srv, log)
	if err != nil {
		return err
	}
	srv.EnableFailover(peer, cfg.Failover.Role == config.FailoverSecondary, cfg.Failover.MCLT.D(), cfg.Failover.Scopes)
	if reg != nil {
		if err := reg.Register(newFailoverCollector(peer)); err != nil {
			return fmt.Errorf("register failover metrics: %w", err)
		}
	}
	go func() {
		if err := peer.Run(ctx); err != nil {
			log.Error("failover engine stopped", zap.Error(err))
		}
	}()
	return nil
}

// serveMetrics exposes reg at /metrics on addr until ctx ends.
func serveMetrics(ctx context.Context, log *zap.Logger, addr string, reg *prometheus.Registry) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("server.metrics-listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdownCtx)
	}()
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", zap.Error(err))
		}
	}()
	log.Info("metrics", zap.String("listen", ln.Addr().String()))
	return nil
}

func newLogger(level, format string, w io.Writer) (*zap.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("server.log-level: %w", err)
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.EncodeTime = zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "json" {
		enc = zapcore.NewJSONEncoder(encCfg)
	} else {
		encCfg.EncodeLevel = zapcore.CapitalLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	}
	return zap.New(zapcore.NewCore(enc, zapcore.AddSync(w), lvl)), nil
}
