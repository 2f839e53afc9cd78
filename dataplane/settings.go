package dataplane

import (
	"errors"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

// ErrModeOff is returned by New when the configuration says
// dataplane.mode: off; the control plane then uses a Filter alone.
var ErrModeOff = errors.New("dataplane mode is off: use the Go filter (NewFilter)")

// defaultTableSize is the rate-limit table size when the config leaves it 0.
const defaultTableSize = 65536

// settings are the checked, derived numbers both twins work from.
type settings struct {
	rateLimit  bool
	interval   uint64 // ns a client's token is worth: 1e9 / per-client-pps
	tau        uint64 // ns a client may run ahead: (burst-1) * interval
	tableSize  uint32
	secsBypass uint32
}

// settingsFrom checks cfg and derives the settings from it. Zero values get
// the same defaults config.Parse gives them.
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
	s.tableSize = cfg.RateLimit.TableSize
	if s.tableSize == 0 {
		s.tableSize = defaultTableSize
	}
	pps := uint64(cfg.RateLimit.PerClientPPS)
	if pps == 0 {
		return s, nil
	}
	if pps > uint64(time.Second) {
		return s, fmt.Errorf("dataplane.rate-limit.per-client-pps %d: at most %d", pps, uint64(time.Second))
	}
	burst := uint64(cfg.RateLimit.Burst)
	if burst == 0 {
		burst = 2 * pps
	}
	s.rateLimit = true
	s.interval = uint64(time.Second) / pps
	s.tau = (burst - 1) * s.interval
	return s, nil
}

func checkSecsBypass(secs int) (uint32, error) {
	if secs < 0 || secs > 65535 {
		return 0, fmt.Errorf("dataplane.secs-bypass %d: want 0 (off) to 65535 seconds", secs)
	}
	return uint32(secs), nil
}
