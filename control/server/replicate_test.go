package server

import (
	"context"
	"crypto/sha256"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover"
	"github.com/xdhcp/xdhcp/internal/config"
)

func replicaScopes() []config.Scope {
	return []config.Scope{
		{Subnet: netip.MustParsePrefix("198.51.100.0/24"), LeaseTime: config.Duration(time.Hour), Protocol: config.ProtocolDHCP, Line: 12},
		{Subnet: netip.MustParsePrefix("192.0.2.0/24"), LeaseTime: config.Duration(time.Hour), Protocol: config.ProtocolBoth, Line: 3,
			Pools:   []config.Range{{Start: netip.MustParseAddr("192.0.2.10"), End: netip.MustParseAddr("192.0.2.20")}},
			Options: config.Options{6: {192, 0, 2, 53}, 3: {192, 0, 2, 1}},
			Reservations: []config.Reservation{{HWAddress: net.HardwareAddr{2, 0, 0, 0, 0, 9}, IP: netip.MustParseAddr("192.0.2.9"),
				Hostname: "cam", Line: 7}}},
	}
}

func TestEncodeScopesIsCanonical(t *testing.T) {
	a := replicaScopes()
	b := []config.Scope{a[1], a[0]}
	b[0].Line = 99
	ea, err := encodeScopes(a)
	if err != nil {
		t.Fatal(err)
	}
	eb, err := encodeScopes(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(ea) != string(eb) {
		t.Fatalf("order or line numbers change the payload:\n%s\n%s", ea, eb)
	}
	if a[1].Reservations[0].Line != 7 {
		t.Fatal("encoding changed its input")
	}
	got, err := decodeScopes(ea)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Subnet != a[1].Subnet || got[0].Reservations[0].IP != a[1].Reservations[0].IP ||
		string(got[0].Options[6]) != string(a[1].Options[6]) || got[0].Reservations[0].HWAddress.String() != "02:00:00:00:00:09" {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestDecodeScopesRefusesGarbage(t *testing.T) {
	for _, tt := range []struct{ name, data, want string }{
		{"not JSON", "\x00\x01garbage", "decode replicated scopes"},
		{"empty list", "[]", "no scope"},
		{"unknown field", `[{"Subnet":"192.0.2.0/24","Evil":1}]`, "unknown field"},
		{"trailing data", `[{"Subnet":"192.0.2.0/24"}] {}`, "data after the scope list"},
		{"bad prefix", `[{"Subnet":"192.0.2.0/99"}]`, "decode replicated scopes"},
		{"huge number", `[{"Subnet":"192.0.2.0/24","LeaseTime":1e400}]`, "decode replicated scopes"},
		{"an object, not a list", `{"Subnet":"192.0.2.0/24"}`, "decode replicated scopes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := decodeScopes([]byte(tt.data)); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// FuzzReplicatedScopes: whatever a partner sends, decoding and checking
// it never panics.
func FuzzReplicatedScopes(f *testing.F) {
	base, err := config.Parse([]byte("server: {interfaces: [eth1]}\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.10-192.0.2.20]\nfailover: {name: p, role: primary, listen: 192.0.2.1, partner: 192.0.2.2}\n"))
	if err != nil {
		f.Fatal(err)
	}
	seed, _ := encodeScopes(replicaScopes()[1:])
	f.Add(seed)
	f.Add([]byte(`[{"Subnet":"192.0.2.0/24","Pools":[{"Start":"","End":"192.0.2.1"}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		scopes, err := decodeScopes(data)
		if err != nil {
			return
		}
		_, _ = config.ReplaceScopes(base, scopes)
	})
}

// replicaServer is a Server without interfaces over store, enough for the
// replication paths (the reload path with no links).
func replicaServer(t *testing.T, store *lease.Store, cfg *config.Config, log *zap.Logger) *Server {
	t.Helper()
	s := &Server{log: log, opts: Options{Config: cfg, Store: store, Log: log}, store: store}
	h, _, err := s.buildHandler(cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.h, s.cfg = h, cfg
	return s
}

func replicaConfig(t *testing.T, pool, dns string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(`server: {interfaces: [eth1], address: 192.0.2.2}
scopes:
  - subnet: 192.0.2.0/24
    pools: [` + pool + `]
    options: {domain-name-servers: [` + dns + `]}
  - subnet: 198.51.100.0/24
    pools: [198.51.100.10-198.51.100.20]
failover: {name: p, role: secondary, listen: 192.0.2.2, partner: 192.0.2.1, scopes: [192.0.2.0/24]}
`))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func pushOf(t *testing.T, cfg *config.Config, gen uint64, changed time.Time) failover.Settings {
	t.Helper()
	data, err := encodeScopes(failoverScopesOf(cfg))
	if err != nil {
		t.Fatal(err)
	}
	return failover.Settings{Version: failover.SettingsVersion{Generation: gen, Changed: changed, Hash: sha256.Sum256(data)}, Data: data}
}

// TestReplicaLifecycle walks the rules of docs/FAILOVER.md: a first start
// makes generation 1 from the file; a partner's push goes in force, keeps
// every lease and adopts the pusher's version; a restart with the file
// unchanged keeps the replicated copy and says so; an invalid push changes
// nothing; an edit of the file wins with a new generation.
func TestReplicaLifecycle(t *testing.T) {
	store, err := lease.Open(lease.Options{InMemory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	core, logs := observer.New(zap.InfoLevel)
	log := zap.New(core)
	fileCfg := replicaConfig(t, "192.0.2.100-192.0.2.199", "192.0.2.53")

	s := replicaServer(t, store, fileCfg, log)
	s.startReplica()
	local, err := s.LocalSettings()
	if err != nil || local.Version.Generation != 1 || local.Version.Hash != sha256.Sum256(local.Data) {
		t.Fatalf("first start: %+v %v", local.Version, err)
	}

	// A lease in the part of the pool the push removes.
	kept := lease.Lease{IP: netip.MustParseAddr("192.0.2.150"), State: lease.StateActive, HWType: 1,
		HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Start: time.Now(), Expiry: time.Now().Add(time.Hour), Updated: time.Now()}
	if err := store.Commit(context.Background(), kept); err != nil {
		t.Fatal(err)
	}
	pushed := pushOf(t, replicaConfig(t, "192.0.2.100-192.0.2.120", "192.0.2.53, 192.0.2.54"), 7, time.Now().Add(time.Minute))
	if err := s.ApplySettings(pushed); err != nil {
		t.Fatal(err)
	}
	if got := s.cfg.Scopes[0]; got.Pools[0].End != netip.MustParseAddr("192.0.2.120") || len(got.Options[6]) != 8 {
		t.Fatalf("pushed scope not in force: %+v", got)
	}
	if s.cfg.Scopes[1].Subnet != netip.MustParsePrefix("198.51.100.0/24") {
		t.Fatal("the scope outside failover changed")
	}
	if !hasLease(s, kept.IP) {
		t.Fatal("the lease outside the shrunk pool was lost")
	}
	if v, replicated := s.settingsVersion(); !replicated || v.Generation != 7 {
		t.Fatalf("version after the push %+v replicated %v", v, replicated)
	}

	// An invalid push: refused, nothing changes.
	bad := pushOf(t, replicaConfig(t, "192.0.2.100-192.0.2.120", "192.0.2.53"), 8, time.Now().Add(2*time.Minute))
	bad.Data = []byte(strings.Replace(string(bad.Data), `"End":"192.0.2.120"`, `"End":"192.0.3.5"`, 1))
	bad.Version.Hash = sha256.Sum256(bad.Data)
	if err := s.ApplySettings(bad); err == nil || !strings.Contains(err.Error(), "outside the scope's subnet") {
		t.Fatalf("invalid push: %v", err)
	}
	if v, _ := s.settingsVersion(); v.Generation != 7 || s.cfg.Scopes[0].Pools[0].End != netip.MustParseAddr("192.0.2.120") {
		t.Fatalf("an invalid push changed the settings: %+v", v)
	}

	// Restart with the same file: the replicated copy stays, logged.
	r := replicaServer(t, store, fileCfg, log)
	r.startReplica()
	if r.cfg.Scopes[0].Pools[0].End != netip.MustParseAddr("192.0.2.120") {
		t.Fatalf("after a restart the file's copy is in force: %+v", r.cfg.Scopes[0].Pools)
	}
	if logs.FilterMessageSnippet("overridden by the copy replicated from the partner").Len() == 0 {
		t.Fatal("the restart does not say the file's copy is overridden")
	}
	if got, _ := r.LocalSettings(); !got.Version.Equal(pushed.Version) || string(got.Data) != string(pushed.Data) {
		t.Fatalf("after a restart the settings are %+v, want the pushed %+v", got.Version, pushed.Version)
	}

	// The operator edits the file: it wins, as a newer local change.
	edited := replicaConfig(t, "192.0.2.100-192.0.2.180", "192.0.2.53")
	cfg, done := r.replicaOverlay(edited)
	_, err = r.swapConfig(cfg)
	done(err == nil)
	if err != nil {
		t.Fatal(err)
	}
	v, replicated := r.settingsVersion()
	if replicated || v.Generation != 8 || r.cfg.Scopes[0].Pools[0].End != netip.MustParseAddr("192.0.2.180") {
		t.Fatalf("after the file's edit: version %+v replicated %v pools %+v", v, replicated, r.cfg.Scopes[0].Pools)
	}
}

func hasLease(s *Server, ip netip.Addr) bool {
	found := false
	for _, sc := range s.h.Scopes() {
		sc.Alloc.Leases(func(l lease.Lease) bool {
			found = found || l.IP == ip && l.State == lease.StateActive
			return true
		})
	}
	return found
}
