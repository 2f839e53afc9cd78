package failover

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/xdhcp/xdhcp/failover/fsm"
)

// Config is the engine's configuration. internal/config's Failover section
// converts to it; zero durations and counts take the defaults below.
type Config struct {
	Name               string        // relationship name; must match the partner's
	Role               fsm.Role      // primary dials, secondary listens
	Listen             string        // host:port the secondary accepts on
	Partner            string        // host:port of the partner (the primary dials it; the secondary accepts only from its host)
	Mode               fsm.Mode      // load-balance or hot-standby
	SplitPercent       int           // load-balance: the primary's share of the 256 buckets and of free addresses
	Active             bool          // hot-standby: this server is the active one
	ReservePercent     int           // hot-standby: the standby's share of free addresses
	MCLT               time.Duration // maximum client lead time
	SwitchoverInterval time.Duration // COMMUNICATIONS-INTERRUPTED to PARTNER-DOWN; 0: only by command
	Secret             []byte        // shared secret; nil: unauthenticated (logged loudly)
	MaxUnackedBndUpd   int           // BNDUPDs in flight at most
	LoadBalanceMaxSecs int           // clients whose secs field reaches this are answered whatever their bucket (for the dataplane)

	ReceiveTimer    time.Duration // silence after which the connection is declared lost; default 10s
	ContactInterval time.Duration // send CONTACT after this much send silence; default ReceiveTimer/3
	StartupWait     time.Duration // longest STARTUP without contact; default 2*ReceiveTimer
	ReconnectMin    time.Duration // first reconnect delay; default 500ms
	ReconnectMax    time.Duration // reconnect backoff cap; default 30s
	MaxClockSkew    time.Duration // warn when the partner's clock differs more; default 5s
	BalanceInterval time.Duration // how often free addresses are rebalanced in NORMAL; default 1m
	SplitTimeout    time.Duration // how long SetSplit waits for the partner; default ReceiveTimer

	StopPaused bool          // on stop send PAUSED (a restart: the partner goes COMMUNICATIONS-INTERRUPTED) instead of SHUTDOWN (the partner goes PARTNER-DOWN)
	StopWait   time.Duration // how long a stop waits for the partner's answer; default min(ReceiveTimer, 3s)

	MaxResends  int           // resends of an update refused for a retryable reason; default 3; negative: none
	ResendDelay time.Duration // first resend delay, doubling per attempt; default 1s

	ReplicateAuto    bool          // replicate-scopes: auto: push the scope settings on every connection (the server pushes after reloads)
	ReplicateTimeout time.Duration // how long Replicate waits for the partner's answer; default 3*ReceiveTimer
}

// Defaults of the optional settings.
const (
	DefaultReceiveTimer     = 10 * time.Second
	DefaultReconnectMin     = 500 * time.Millisecond
	DefaultReconnectMax     = 30 * time.Second
	DefaultMaxClockSkew     = 5 * time.Second
	DefaultBalanceInterval  = time.Minute
	DefaultMaxUnackedBndUpd = 1000
	DefaultPort             = 647
	DefaultMaxResends       = 3
)

func (c *Config) setDefaults() {
	if c.ReceiveTimer == 0 {
		c.ReceiveTimer = DefaultReceiveTimer
	}
	if c.ContactInterval == 0 {
		c.ContactInterval = c.ReceiveTimer / 3
	}
	if c.StartupWait == 0 {
		c.StartupWait = 2 * c.ReceiveTimer
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.MaxClockSkew == 0 {
		c.MaxClockSkew = DefaultMaxClockSkew
	}
	if c.BalanceInterval == 0 {
		c.BalanceInterval = DefaultBalanceInterval
	}
	if c.MaxUnackedBndUpd == 0 {
		c.MaxUnackedBndUpd = DefaultMaxUnackedBndUpd
	}
	if c.SplitTimeout == 0 {
		c.SplitTimeout = c.ReceiveTimer
	}
	if c.MaxResends == 0 {
		c.MaxResends = DefaultMaxResends
	}
	if c.ResendDelay == 0 {
		c.ResendDelay = time.Second
	}
	if c.StopWait == 0 {
		c.StopWait = min(c.ReceiveTimer, 3*time.Second)
	}
	if c.ReplicateTimeout == 0 {
		c.ReplicateTimeout = 3 * c.ReceiveTimer
	}
}

func (c *Config) validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Name == "" || len(c.Name) > 255 {
		bad("failover name %q: give a relationship name of 1 to 255 bytes, the same on both partners", c.Name)
	}
	if _, _, err := net.SplitHostPort(c.Partner); err != nil {
		bad("failover partner %q: want host:port (e.g. 192.0.2.2:647): %v", c.Partner, err)
	}
	if c.Role == fsm.Secondary {
		if _, _, err := net.SplitHostPort(c.Listen); err != nil {
			bad("failover listen %q: the secondary accepts the primary's connection; want host:port: %v", c.Listen, err)
		}
	}
	if c.SplitPercent < 0 || c.SplitPercent > 100 {
		bad("failover split %d%%: want 0 to 100", c.SplitPercent)
	}
	if c.ReservePercent < 0 || c.ReservePercent > 100 {
		bad("failover reserve %d%%: want 0 to 100", c.ReservePercent)
	}
	if c.MCLT <= 0 {
		bad("failover MCLT %v: want a positive duration (e.g. 1h)", c.MCLT)
	}
	if c.MaxUnackedBndUpd < 1 {
		bad("failover max-unacked-bndupd %d: want at least 1", c.MaxUnackedBndUpd)
	}
	if c.ContactInterval >= c.ReceiveTimer {
		bad("failover contact interval %v must be below the receive timer %v", c.ContactInterval, c.ReceiveTimer)
	}
	return errors.Join(errs...)
}
