package failover

import (
	"fmt"

	"github.com/xdhcp/xdhcp/failover/auth"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/internal/config"
)

// FromConfig turns the parsed failover section into the engine's Config,
// reading the shared secret file when one is named.
func FromConfig(c *config.Failover) (Config, error) {
	if c == nil {
		return Config{}, fmt.Errorf("failover: no failover section")
	}
	cfg := Config{
		Name:               c.Name,
		Listen:             c.Listen,
		Partner:            c.Partner,
		SplitPercent:       c.LoadBalancePercent,
		Active:             c.HotStandby.ServerRole == "active",
		ReservePercent:     c.HotStandby.ReservePercent,
		MCLT:               c.MCLT.D(),
		SwitchoverInterval: c.StateSwitchoverInterval.D(),
		MaxUnackedBndUpd:   c.MaxUnackedBndUpd,
		LoadBalanceMaxSecs: c.LoadBalanceMaxSeconds,
		ReceiveTimer:       c.MaxResponseDelay.D(),
		MaxClockSkew:       c.MaxClockSkew.D(),
		ReplicateAuto:      c.ReplicateScopes == config.ReplicateAuto,
		StopPaused:         c.StopState != config.StopShutdown,
	}
	if c.Role == config.FailoverSecondary {
		cfg.Role = fsm.Secondary
	}
	if c.Mode == config.FailoverHotStandby {
		cfg.Mode = fsm.HotStandby
	}
	if c.SharedSecretFile != "" {
		secret, err := auth.LoadSecret(c.SharedSecretFile)
		if err != nil {
			return Config{}, fmt.Errorf("failover.shared-secret-file: %w", err)
		}
		cfg.Secret = secret
	}
	return cfg, nil
}
