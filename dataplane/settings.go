package dataplane

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

// ErrModeOff is returned by New when the configuration says
// dataplane.mode: off; the control plane then uses a Filter alone.
var ErrModeOff = errors.New("dataplane mode is off: use the Go filter (NewFilter)")

// defaultTableSize is the size of the rate-limit and source tables when
// the config leaves it 0.
const defaultTableSize = 65536

// settings are the checked, derived numbers both twins work from.
type settings struct {
	perClient       gcra // dataplane.rate-limit
	tableSize       uint32
	source          gcra // dataplane.source-limit
	sourceTableSize uint32
	sourceRelayed   bool // dataplane.source-limit.relayed
	budget          gcra // dataplane.discover-budget
	retry           gcra // dataplane.discover-budget.retry-pps (on only with the budget)
	secsBypass      uint32
}

// gcra is one token bucket, kept as a theoretical arrival time: each
// packet moves it interval ahead, and a packet that would move it more
// than tau past now is over the rate.
type gcra struct {
	on       bool
	interval uint64 // ns a token is worth: 1e9 / pps
	tau      uint64 // ns a sender may run ahead: (burst-1) * interval
}

// newGCRA checks pps and burst for the config section at path; pps 0 is
// off, burst 0 is defBurst.
func newGCRA(path string, pps, burst, defBurst uint32) (gcra, error) {
	if pps == 0 {
		return gcra{}, nil
	}
	if uint64(pps) > uint64(time.Second) {
		return gcra{}, fmt.Errorf("dataplane.%s %d: at most %d", path, pps, uint64(time.Second))
	}
	if burst == 0 {
		burst = defBurst
	}
	interval := uint64(time.Second) / uint64(pps)
	return gcra{on: true, interval: interval, tau: uint64(burst-1) * interval}, nil
}

// settingsFrom checks cfg and derives the settings from it. Zero table
// sizes and bursts get the defaults config.Parse gives them; a zero rate
// is off.
func settingsFrom(cfg config.Dataplane) (settings, error) {
	var s settings
	switch cfg.Mode {
	case "", config.DataplaneAuto, config.DataplaneNative, config.DataplaneGeneric, config.DataplaneOff:
	default:
		return s, fmt.Errorf("dataplane.mode %q: want auto, native, generic or off", cfg.Mode)
	}
	bypass, err := checkSecsBypass(cfg.SecsBypass)
	if err != nil {
		return s, err
	}
	s.secsBypass = bypass
	s.tableSize = cmpOr(cfg.RateLimit.TableSize, defaultTableSize)
	s.sourceTableSize = cmpOr(cfg.SourceLimit.TableSize, defaultTableSize)
	s.sourceRelayed = cfg.SourceLimit.Relayed
	rl, sl, db := cfg.RateLimit, cfg.SourceLimit, cfg.DiscoverBudget
	if s.perClient, err = newGCRA("rate-limit.per-client-pps", rl.PerClientPPS, rl.Burst, 2*rl.PerClientPPS); err != nil {
		return s, err
	}
	if s.source, err = newGCRA("source-limit.pps", sl.PPS, sl.Burst, 2*sl.PPS); err != nil {
		return s, err
	}
	if s.budget, err = newGCRA("discover-budget.pps", db.PPS, db.Burst, config.DiscoverBudgetBurst(db.PPS)); err != nil {
		return s, err
	}
	if s.budget.on {
		if s.retry, err = newGCRA("discover-budget.retry-pps", db.RetryPPS, 0, config.DiscoverBudgetBurst(db.RetryPPS)); err != nil {
			return s, err
		}
	}
	return s, nil
}

// keepTables returns next with s's table sizes: the program's LRU maps
// cannot be resized while it is loaded, so a new size waits for a restart.
func (s settings) keepTables(next settings) settings {
	next.tableSize, next.sourceTableSize = s.tableSize, s.sourceTableSize
	return next
}

// RestartNeeded names the settings, as config paths, that differ between
// running and next and that Reconfigure cannot change: the mode and the
// sizes of the per-client and per-source tables. They take effect when the
// dataplane is built again, at the next start of xdhcpd.
func RestartNeeded(running, next config.Dataplane) []string {
	var changed []string
	mode := func(m config.DataplaneMode) config.DataplaneMode {
		if m == "" {
			return config.DataplaneAuto
		}
		return m
	}
	if mode(running.Mode) != mode(next.Mode) {
		changed = append(changed, "dataplane.mode")
	}
	if cmp.Or(running.AFXDP, config.AFXDPAuto) != cmp.Or(next.AFXDP, config.AFXDPAuto) {
		changed = append(changed, "dataplane.afxdp")
	}
	if cmpOr(running.RateLimit.TableSize, defaultTableSize) != cmpOr(next.RateLimit.TableSize, defaultTableSize) {
		changed = append(changed, "dataplane.rate-limit.table-size")
	}
	if cmpOr(running.SourceLimit.TableSize, defaultTableSize) != cmpOr(next.SourceLimit.TableSize, defaultTableSize) {
		changed = append(changed, "dataplane.source-limit.table-size")
	}
	return changed
}

func cmpOr(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

func checkSecsBypass(secs int) (uint32, error) {
	if secs < 0 || secs > 65535 {
		return 0, fmt.Errorf("dataplane.secs-bypass %d: want 0 (off) to 65535 seconds", secs)
	}
	return uint32(secs), nil
}
