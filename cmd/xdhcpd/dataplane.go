package main

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/server"
	"github.com/xdhcp/xdhcp/dataplane"
	"github.com/xdhcp/xdhcp/internal/config"
)

// dataplaneSetup is what the daemon attached: the XDP program on the
// interfaces where it could, and the Go filter for the others.
type dataplaneSetup struct {
	log    *zap.Logger
	xdp    *dataplane.Dataplane // nil with mode off or when nothing attached
	filter filterAdapter
	modes  map[string]string // interface -> "xdp-native" / "xdp-generic"

	mu  sync.Mutex       // serialises reload with bucket changes; guards the fields below
	cfg config.Dataplane // in force: the mode and table sizes of the start, the rest as last reloaded
	// secsBypass is the secs bypass while load balancing.
	secsBypass int
}

// startDataplane loads the XDP program and attaches it to every serving
// interface. With mode auto a failure to load or attach is logged and the
// Go filter takes over; with native or generic it is an error.
func startDataplane(log *zap.Logger, cfg *config.Config, reg prometheus.Registerer) (*dataplaneSetup, error) {
	d := &dataplaneSetup{
		log:        log,
		filter:     filterAdapter{dataplane.NewFilter(cfg.Dataplane)},
		modes:      map[string]string{},
		cfg:        cfg.Dataplane,
		secsBypass: secsBypassOf(cfg),
	}
	if cfg.Dataplane.Mode == config.DataplaneOff {
		log.Info("XDP off by configuration: the Go filter screens packets")
		return d, nil
	}
	xdp, err := dataplane.New(cfg.Dataplane, log)
	if err != nil {
		if cfg.Dataplane.Mode != config.DataplaneAuto {
			return nil, fmt.Errorf("dataplane.mode %s: %w (set dataplane.mode: auto to fall back to the Go filter)", cfg.Dataplane.Mode, err)
		}
		log.Warn("XDP program not loaded; the Go filter screens packets instead", zap.Error(err))
		return d, nil
	}
	for _, ifname := range cfg.Server.Interfaces {
		mode, err := xdp.Attach(ifname)
		if err != nil {
			if cfg.Dataplane.Mode != config.DataplaneAuto {
				xdp.Close()
				return nil, fmt.Errorf("dataplane.mode %s: attach to %s: %w", cfg.Dataplane.Mode, ifname, err)
			}
			log.Warn("XDP not attached; the Go filter screens this interface", zap.String("interface", ifname), zap.Error(err))
			continue
		}
		d.modes[ifname] = "xdp-" + mode.String()
	}
	if len(d.modes) == 0 {
		xdp.Close()
		return d, nil
	}
	d.xdp = xdp
	if reg != nil {
		if err := reg.Register(xdp); err != nil {
			return nil, fmt.Errorf("register dataplane metrics: %w", err)
		}
	}
	return d, nil
}

// sockets is the XDP program's table of AF_XDP sockets, or nil when no
// program is loaded.
func (d *dataplaneSetup) sockets() server.SocketRegistrar {
	if d.xdp == nil {
		return nil
	}
	return d.xdp
}

// secsBypassOf is the secs bypass while load balancing: dataplane.secs-bypass,
// or failover's load-balance-max-seconds when that is 0.
func secsBypassOf(cfg *config.Config) int {
	if cfg.Dataplane.SecsBypass == 0 && cfg.Failover != nil {
		return cfg.Failover.LoadBalanceMaxSeconds
	}
	return cfg.Dataplane.SecsBypass
}

// screen is what the XDP program and the Go filter both let the daemon set.
type screen interface {
	SetBuckets([256]bool) error
	SetLoadBalancing(bool) error
	SetSecsBypass(int) error
	Reconfigure(config.Dataplane) error
}

// screens returns the Go filter and, when attached, the XDP program.
func (d *dataplaneSetup) screens() []screen {
	targets := []screen{d.filter.f}
	if d.xdp != nil {
		targets = append(targets, d.xdp)
	}
	return targets
}

// SetOwnedBuckets installs the buckets failover gives this server, in the
// XDP program and the Go filter alike, with failover's
// load-balance-max-seconds as the secs bypass unless dataplane.secs-bypass
// sets one.
func (d *dataplaneSetup) SetOwnedBuckets(owned [256]bool, loadBalancing bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, t := range d.screens() {
		var err error
		if loadBalancing {
			if err = t.SetSecsBypass(d.secsBypass); err == nil {
				err = t.SetBuckets(owned)
			}
		} else {
			err = t.SetLoadBalancing(false)
		}
		if err != nil {
			return fmt.Errorf("set load-balancing buckets: %w", err)
		}
	}
	return nil
}

// reload puts a reloaded configuration's flood guards (dataplane.rate-limit,
// source-limit, discover-budget) and secs bypass in force in the attached
// XDP program and in the Go filter, without detaching. The mode and the
// table sizes stay as they were at start: the kernel cannot resize the
// program's tables, so a change to them is logged and waits for a restart.
// It is meant to be called by the control plane after `xdhcpctl reload`
// has put cfg in force.
func (d *dataplaneSetup) reload(cfg *config.Config) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, name := range dataplane.RestartNeeded(d.cfg, cfg.Dataplane) {
		d.log.Warn("reload: a changed dataplane setting takes effect at the next restart of xdhcpd; the running value is kept",
			zap.String("setting", name))
	}
	live := cfg.Dataplane
	live.Mode = d.cfg.Mode
	live.RateLimit.TableSize = d.cfg.RateLimit.TableSize
	live.SourceLimit.TableSize = d.cfg.SourceLimit.TableSize
	bypass := secsBypassOf(cfg)
	program := live
	// The secs bypass matters only in the partner's buckets, that is while
	// load balancing, and then it is the effective one.
	program.SecsBypass = bypass
	var errs []error
	for _, t := range d.screens() {
		if err := t.Reconfigure(program); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("reload dataplane: %w", err)
	}
	d.cfg, d.secsBypass = live, bypass
	d.log.Info("dataplane guards reloaded",
		zap.Uint32("rate-limit.per-client-pps", live.RateLimit.PerClientPPS),
		zap.Uint32("source-limit.pps", live.SourceLimit.PPS), zap.Bool("source-limit.relayed", live.SourceLimit.Relayed),
		zap.Uint32("discover-budget.pps", live.DiscoverBudget.PPS), zap.Uint32("discover-budget.retry-pps", live.DiscoverBudget.RetryPPS),
		zap.Int("secs-bypass", bypass))
	return nil
}

func (d *dataplaneSetup) close() {
	if d.xdp != nil {
		d.xdp.Close()
	}
}

// dataplaneStatus is what `xdhcpctl dataplane` shows.
type dataplaneStatus struct {
	Mode         string            `json:"mode"`
	Interfaces   map[string]string `json:"interfaces"`
	OwnedBuckets int               `json:"owned-buckets"`
	RateLimit    rateLimit         `json:"rate-limit"`
	SourceLimit  sourceLimit       `json:"source-limit"`
	Budget       discoverBudget    `json:"discover-budget"`
	SecsBypass   int               `json:"secs-bypass"`
	XDP          map[string]uint64 `json:"xdp-counters,omitempty"`
	GoFilter     map[string]uint64 `json:"go-filter-counters"`
}

// sourceLimit is config.SourceLimit with the config file's key names.
type sourceLimit struct {
	PPS       uint32 `json:"pps"`
	Burst     uint32 `json:"burst"`
	TableSize uint32 `json:"table-size"`
	Relayed   bool   `json:"relayed"`
}

// discoverBudget is config.DiscoverBudget with the config file's key names.
type discoverBudget struct {
	PPS      uint32 `json:"pps"`
	Burst    uint32 `json:"burst"`
	RetryPPS uint32 `json:"retry-pps"`
}

// rateLimit is config.RateLimit with the config file's key names.
type rateLimit struct {
	PerClientPPS uint32 `json:"per-client-pps"`
	Burst        uint32 `json:"burst"`
	TableSize    uint32 `json:"table-size"`
}

func (d *dataplaneSetup) status() (any, error) {
	fstats, err := d.filter.f.Stats()
	if err != nil {
		return nil, fmt.Errorf("go filter counters: %w", err)
	}
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	st := dataplaneStatus{
		Mode:        string(cfg.Mode),
		Interfaces:  d.modes,
		RateLimit:   rateLimit(cfg.RateLimit),
		SourceLimit: sourceLimit(cfg.SourceLimit),
		Budget:      discoverBudget(cfg.DiscoverBudget),
		SecsBypass:  cfg.SecsBypass,
		GoFilter:    counterMap(fstats),
	}
	buckets := d.filter.f.Buckets()
	if d.xdp != nil {
		stats, err := d.xdp.Stats()
		if err != nil {
			return nil, fmt.Errorf("dataplane counters: %w", err)
		}
		st.XDP = counterMap(stats)
		buckets = d.xdp.Buckets()
	}
	for _, owned := range buckets {
		if owned {
			st.OwnedBuckets++
		}
	}
	return st, nil
}

// filterAdapter lets the control plane consult the Go filter.
type filterAdapter struct{ f *dataplane.Filter }

func (a filterAdapter) Allow(payload []byte, now time.Time) (bool, string) {
	v := a.f.Payload(payload, now)
	return v.Action == dataplane.Pass, v.Reason.String()
}

// counterMap keeps the non-zero counters, named "passed-ours" and so on.
func counterMap(s dataplane.Stats) map[string]uint64 {
	m := map[string]uint64{}
	for _, c := range s.Counters {
		if c.Packets > 0 {
			m[c.Verdict.String()] = c.Packets
		}
	}
	return m
}
