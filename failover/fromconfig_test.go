package failover

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/internal/config"
)

func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "failover.secret")
	os.WriteFile(secret, []byte("0123456789abcdef0123\n"), 0o600)
	doc := `server:
  interfaces: [eth1]
scopes:
  - subnet: 192.0.2.0/24
    pools: [192.0.2.100-192.0.2.199]
failover:
  name: edge-pair
  role: secondary
  listen: 192.0.2.2
  partner: 192.0.2.1:647
  mode: hot-standby
  hot-standby: {server-role: standby, reserve-percent: 7}
  mclt: 30m
  state-switchover-interval: 1h
  shared-secret-file: ` + secret + "\n"
	c, err := config.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := FromConfig(c.Failover)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Role != fsm.Secondary || cfg.Mode != fsm.HotStandby || cfg.Active || cfg.ReservePercent != 7 ||
		cfg.MCLT != 30*time.Minute || cfg.SwitchoverInterval != time.Hour || string(cfg.Secret) != "0123456789abcdef0123" ||
		cfg.Listen != "192.0.2.2:647" || cfg.ReceiveTimer != 10*time.Second || !cfg.StopPaused || cfg.ReplicateAuto {
		t.Fatalf("%+v", cfg)
	}
	c.Failover.StopState, c.Failover.ReplicateScopes = config.StopShutdown, config.ReplicateAuto
	if cfg, err := FromConfig(c.Failover); err != nil || cfg.StopPaused || !cfg.ReplicateAuto {
		t.Fatalf("stop-state: shutdown, replicate-scopes: auto gave %+v (%v)", cfg, err)
	}
	if _, err := New(cfg, newFakeServer("s", newOwnership(), nil), nil); err != nil {
		t.Fatalf("New refuses a config that config.Parse accepted: %v", err)
	}
	os.WriteFile(secret, []byte("short"), 0o600)
	if _, err := FromConfig(c.Failover); err == nil || !strings.Contains(err.Error(), "shared-secret-file") {
		t.Fatalf("short secret: %v", err)
	}
}

func TestHotStandbyPair(t *testing.T) {
	a, b, _ := pair(t, func(p, s *Config) {
		p.Mode, s.Mode = fsm.HotStandby, fsm.HotStandby
		p.Active, p.ReservePercent, s.ReservePercent = true, 5, 5
	})
	if n := len(onlyTrue(a.srv.policy().Buckets)); n != 256 {
		t.Fatalf("active owns %d buckets", n)
	}
	if a.srv.policy().PrimaryShare != 95 {
		t.Fatalf("primary (active) share %d%%, want 95", a.srv.policy().PrimaryShare)
	}
	if n := len(onlyTrue(b.srv.policy().Buckets)); n != 0 {
		t.Fatalf("standby owns %d buckets in NORMAL", n)
	}
	// The standby holds its 5% reserve of the 64 free addresses.
	waitFor(t, 5*time.Second, "standby reserve", func() bool { return b.srv.count(lease.StateBackup) == 3 })
	b.crash()
	waitFor(t, 3*time.Second, "active alone", stateIs(a, "COMMUNICATIONS-INTERRUPTED"))
	if n := len(onlyTrue(a.srv.policy().Buckets)); n != 256 {
		t.Fatalf("active owns %d buckets alone", n)
	}
}

func onlyTrue(b [256]bool) []int {
	var out []int
	for i, v := range b {
		if v {
			out = append(out, i)
		}
	}
	return out
}
