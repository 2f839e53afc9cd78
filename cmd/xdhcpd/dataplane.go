package main

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/dataplane"
	"github.com/xdhcp/xdhcp/internal/config"
)

// dataplaneSetup is what the daemon attached: the XDP program on the
// interfaces where it could, and the Go filter for the others.
type dataplaneSetup struct {
	xdp    *dataplane.Dataplane // nil with mode off or when nothing attached
	filter filterAdapter
	modes  map[string]string // interface -> "xdp-native" / "xdp-generic"
	cfg    config.Dataplane
	// secsBypass is the secs bypass while load balancing.
	secsBypass int
}

// startDataplane loads the XDP program and attaches it to every serving
// interface. With mode auto a failure to load or attach is logged and the
// Go filter takes over; with native or generic it is an error.
func startDataplane(log *zap.Logger, cfg *config.Config, reg prometheus.Registerer) (*dataplaneSetup, error) {
	d := &dataplaneSetup{
		filter: filterAdapter{dataplane.NewFilter(cfg.Dataplane)},
		modes:  map[string]string{},
		cfg:    cfg.Dataplane,
	}
	d.secsBypass = cfg.Dataplane.SecsBypass
	if d.secsBypass == 0 && cfg.Failover != nil {
		d.secsBypass = cfg.Failover.LoadBalanceMaxSeconds
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

// SetOwnedBuckets installs the buckets failover gives this server, in the
// XDP program and the Go filter alike, with failover's
// load-balance-max-seconds as the secs bypass unless dataplane.secs-bypass
// sets one.
func (d *dataplaneSetup) SetOwnedBuckets(owned [256]bool, loadBalancing bool) error {
	type balancer interface {
		SetBuckets([256]bool) error
		SetLoadBalancing(bool) error
		SetSecsBypass(int) error
	}
	targets := []balancer{d.filter.f}
	if d.xdp != nil {
		targets = append(targets, d.xdp)
	}
	for _, t := range targets {
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
	PPS   uint32 `json:"pps"`
	Burst uint32 `json:"burst"`
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
	st := dataplaneStatus{
		Mode:        string(d.cfg.Mode),
		Interfaces:  d.modes,
		RateLimit:   rateLimit(d.cfg.RateLimit),
		SourceLimit: sourceLimit(d.cfg.SourceLimit),
		Budget:      discoverBudget(d.cfg.DiscoverBudget),
		SecsBypass:  d.cfg.SecsBypass,
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
