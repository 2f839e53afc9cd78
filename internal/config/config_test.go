package config

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// mustParse parses doc or fails the test.
func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	cfg, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse:\n%v\nfile:\n%s", err, doc)
	}
	return cfg
}

const minimal = `server:
  interfaces: [eth1]
scopes:
  - subnet: 192.0.2.0/24
    pools: [192.0.2.100-192.0.2.199]
`

// valueCheck is one decoded value and what it should be.
type valueCheck struct {
	name      string
	got, want any
}

// checkValues reports every check whose value differs.
func checkValues(t *testing.T, checks []valueCheck) {
	t.Helper()
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestParseMinimalGetsDefaults(t *testing.T) {
	cfg := mustParse(t, minimal)
	s := cfg.Server
	checkValues(t, []valueCheck{
		{"interfaces", strings.Join(s.Interfaces, ","), "eth1"},
		{"address", s.Address, netip.Addr{}},
		{"data-dir", s.DataDir, "/var/lib/xdhcp"},
		{"control-socket", s.ControlSocket, "/run/xdhcp/xdhcpd.sock"},
		{"metrics-listen", s.MetricsListen, "127.0.0.1:9267"},
		{"log-level", s.LogLevel, "info"},
		{"log-format", s.LogFormat, "console"},
		{"offer-hold", s.OfferHold.D(), 10 * time.Second},
		{"decline-hold", s.DeclineHold.D(), 24 * time.Hour},
		{"workers", s.Workers, 4 * runtime.GOMAXPROCS(0)},
		{"commit-batch", s.CommitBatch, 512},
		{"commit-delay", s.CommitDelay.D(), time.Millisecond},
		{"cache-threshold-percent", s.CacheThresholdPercent, 25},
		{"dataplane.mode", cfg.Dataplane.Mode, DataplaneAuto},
		{"rate-limit.per-client-pps", cfg.Dataplane.RateLimit.PerClientPPS, uint32(0)},
		{"rate-limit.burst", cfg.Dataplane.RateLimit.Burst, uint32(0)},
		{"rate-limit.table-size", cfg.Dataplane.RateLimit.TableSize, uint32(65536)},
		{"secs-bypass", cfg.Dataplane.SecsBypass, 0},
		{"global options", len(cfg.Options), 0},
		{"scopes", len(cfg.Scopes), 1},
		{"subnet", cfg.Scopes[0].Subnet, netip.MustParsePrefix("192.0.2.0/24")},
		{"pools", len(cfg.Scopes[0].Pools), 1},
		{"pool", cfg.Scopes[0].Pools[0].String(), "192.0.2.100-192.0.2.199"},
		{"lease-time", cfg.Scopes[0].LeaseTime.D(), 8 * time.Hour},
		{"protocol", cfg.Scopes[0].Protocol, ProtocolDHCP},
		{"scope options", len(cfg.Scopes[0].Options), 0},
		{"scope line", cfg.Scopes[0].Line, 4},
	})
	if cfg.Options == nil || cfg.Scopes[0].Options == nil {
		t.Error("options maps are nil; want empty maps")
	}
}

func TestParseSetsEveryKey(t *testing.T) {
	cfg := mustParse(t, `server:
  interfaces: [eth1, eth2]
  address: 192.0.2.1
  data-dir: /srv/xdhcp
  control-socket: /tmp/x.sock
  metrics-listen: ""
  log-level: debug
  log-format: json
  offer-hold: 5s
  decline-hold: 2d
  workers: 3
  commit-batch: 64
  commit-delay: 0
  cache-threshold-percent: 0
dataplane:
  mode: generic
  rate-limit: {per-client-pps: 7, burst: 9, table-size: 1024}
  secs-bypass: 4
scopes:
  - subnet: 10.0.0.0/31
    pools: [10.0.0.0-10.0.0.1]
    lease-time: 3600
    protocol: both
  - subnet: 10.0.1.7/32
    lease-time: 1d12h
    protocol: bootp
    reservations:
      - {hw-address: 02-00-00-00-00-07, ip: 10.0.1.7}
`)
	s := cfg.Server
	checkValues(t, []valueCheck{
		{"interfaces", strings.Join(s.Interfaces, ","), "eth1,eth2"},
		{"address", s.Address, netip.MustParseAddr("192.0.2.1")},
		{"data-dir", s.DataDir, "/srv/xdhcp"},
		{"control-socket", s.ControlSocket, "/tmp/x.sock"},
		{"metrics-listen off", s.MetricsListen, ""},
		{"log-level", s.LogLevel, "debug"},
		{"log-format", s.LogFormat, "json"},
		{"offer-hold", s.OfferHold.D(), 5 * time.Second},
		{"decline-hold", s.DeclineHold.D(), 48 * time.Hour},
		{"workers", s.Workers, 3},
		{"commit-batch", s.CommitBatch, 64},
		{"commit-delay", s.CommitDelay.D(), time.Duration(0)},
		{"cache-threshold-percent off", s.CacheThresholdPercent, 0},
		{"mode", cfg.Dataplane.Mode, DataplaneGeneric},
		{"pps", cfg.Dataplane.RateLimit.PerClientPPS, uint32(7)},
		{"burst", cfg.Dataplane.RateLimit.Burst, uint32(9)},
		{"table-size", cfg.Dataplane.RateLimit.TableSize, uint32(1024)},
		{"secs-bypass", cfg.Dataplane.SecsBypass, 4},
		{"/31 pool keeps both addresses", cfg.Scopes[0].Pools[0].Size(), uint32(2)},
		{"lease-time seconds", cfg.Scopes[0].LeaseTime.D(), time.Hour},
		{"protocol both", cfg.Scopes[0].Protocol, ProtocolBoth},
		{"lease-time days", cfg.Scopes[1].LeaseTime.D(), 36 * time.Hour},
		{"protocol bootp", cfg.Scopes[1].Protocol, ProtocolBOOTP},
		{"/32 reservation", cfg.Scopes[1].Reservations[0].IP, netip.MustParseAddr("10.0.1.7")},
		{"reservation line", cfg.Scopes[1].Reservations[0].Line, 28},
	})
}

func TestParseBurstDefault(t *testing.T) {
	tests := []struct {
		rateLimit string
		want      uint32
	}{
		{"{}", 0},
		{"{per-client-pps: 10}", 20},
		{"{per-client-pps: 10, burst: 5}", 5},
		{"{per-client-pps: 0, burst: 3}", 3},
	}
	for _, tt := range tests {
		cfg := mustParse(t, minimal+"dataplane:\n  rate-limit: "+tt.rateLimit+"\n")
		if got := cfg.Dataplane.RateLimit.Burst; got != tt.want {
			t.Errorf("rate-limit %s: burst = %d, want %d", tt.rateLimit, got, tt.want)
		}
	}
}

func TestParseNullMeansDefault(t *testing.T) {
	cfg := mustParse(t, `server:
  interfaces: [eth1]
  data-dir:
  log-level: ~
options:
dataplane:
scopes:
  - subnet: 192.0.2.0/24
    lease-time:
    pools:
    options:
`)
	if cfg.Server.DataDir != DefaultDataDir || cfg.Server.LogLevel != "info" || cfg.Scopes[0].LeaseTime != DefaultLeaseTime {
		t.Errorf("null values did not keep the defaults: %+v", cfg)
	}
}

func TestParseAcceptsEdgeLayouts(t *testing.T) {
	tests := []struct{ name, doc string }{
		{"adjacent pools and an exclude across them", strings.Replace(minimal, "[192.0.2.100-192.0.2.199]", "[192.0.2.100-192.0.2.199, 192.0.2.200-192.0.2.210]", 1) + "    exclude: [192.0.2.195-192.0.2.205]\n"},
		{"reservation inside a pool", minimal + "    reservations: [{hw-address: 02:00:00:00:00:01, ip: 192.0.2.150}]\n"},
		{"same client in two scopes", minimal + "    reservations: [{hw-address: 02:00:00:00:00:01, ip: 192.0.2.5}]\n  - subnet: 198.51.100.0/24\n    reservations: [{hw-address: 02:00:00:00:00:01, ip: 198.51.100.5}]\n"},
		{"scope with reservations only", "server: {interfaces: [eth1]}\nscopes:\n  - subnet: 192.0.2.0/24\n    reservations: [{circuit-id: \"hex:0001\", ip: 192.0.2.5}]\n"},
		{"server address excluded from its pool", "server: {interfaces: [eth1], address: 192.0.2.150}\n" + minimal[strings.Index(minimal, "scopes:"):] + "    exclude: [192.0.2.150]\n"},
		{"server address outside every scope (relayed)", "server: {interfaces: [eth1], address: 203.0.113.1}\n" + minimal[strings.Index(minimal, "scopes:"):]},
		{"single-address pool", "server: {interfaces: [eth1]}\nscopes:\n  - subnet: 192.0.2.0/24\n    pools: [192.0.2.7]\n"},
		{"routes with a default route and routers", minimal + "    options:\n      routers: [192.0.2.1]\n      classless-static-routes: [\"0.0.0.0/0 via 192.0.2.1\", \"10.0.0.0/8 via 192.0.2.2\"]\n"},
		{"routes without routers", minimal + "    options:\n      classless-static-routes: [\"10.0.0.0/8 via 192.0.2.2\"]\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mustParse(t, tt.doc) })
	}
}

func TestParseReservationIdentifiers(t *testing.T) {
	cfg := mustParse(t, minimal+`    reservations:
      - {hw-address: "02:00:00:00:00:01", ip: 192.0.2.10, hostname: printer}
      - {hw-address: "0200.0000.0002", ip: 192.0.2.11}
      - {hw-address: "02-00-00-00-00-03", ip: 192.0.2.12}
      - {hw-address: "020000000004", ip: 192.0.2.13}
      - {hw-address: "02:AB:00:00:00:05", ip: 192.0.2.14}
      - {client-id: "01:02:00:00:00:00:09", ip: 192.0.2.15}
      - {circuit-id: "eth0/1/3:100", ip: 192.0.2.16}
      - {circuit-id: "hex:00:04:01:02", ip: 192.0.2.17}
`)
	rs := cfg.Scopes[0].Reservations
	wantMACs := []string{"02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03", "02:00:00:00:00:04", "02:ab:00:00:00:05"}
	for i, want := range wantMACs {
		if got := rs[i].HWAddress.String(); got != want {
			t.Errorf("reservation %d hw-address = %s, want %s", i, got, want)
		}
	}
	if rs[0].Hostname != "printer" {
		t.Errorf("hostname = %q, want printer", rs[0].Hostname)
	}
	if !bytes.Equal(rs[5].ClientID, []byte{1, 2, 0, 0, 0, 0, 9}) || rs[5].HWAddress != nil {
		t.Errorf("client-id reservation = %+v", rs[5])
	}
	if string(rs[6].CircuitID) != "eth0/1/3:100" || !bytes.Equal(rs[7].CircuitID, []byte{0, 4, 1, 2}) {
		t.Errorf("circuit-ids = %q, %x", rs[6].CircuitID, rs[7].CircuitID)
	}
	if rs[6].IP != netip.MustParseAddr("192.0.2.16") {
		t.Errorf("ip = %v", rs[6].IP)
	}
}

func TestParseMergesGlobalOptions(t *testing.T) {
	cfg := mustParse(t, `server:
  interfaces: [eth1]
options:
  domain-name-servers: [192.0.2.53]
  domain-name: global.example
scopes:
  - subnet: 192.0.2.0/24
    options:
      domain-name: scope.example
      routers: [192.0.2.1]
  - subnet: 198.51.100.0/24
`)
	a, b := cfg.Scopes[0].Options, cfg.Scopes[1].Options
	want := []struct {
		opts Options
		code uint8
		val  string
	}{
		{a, 6, "\xc0\x00\x02\x35"},
		{a, 15, "scope.example"},
		{a, 3, "\xc0\x00\x02\x01"},
		{b, 6, "\xc0\x00\x02\x35"},
		{b, 15, "global.example"},
		{cfg.Options, 15, "global.example"},
	}
	for _, w := range want {
		if got := string(w.opts[w.code]); got != w.val {
			t.Errorf("option %d = %q, want %q", w.code, got, w.val)
		}
	}
	if len(a) != 3 || len(b) != 2 || len(cfg.Options) != 2 {
		t.Errorf("option counts = %d, %d, global %d; want 3, 2, 2", len(a), len(b), len(cfg.Options))
	}
	// The scopes hold their own copies: changing one touches nothing else.
	b[6][0] = 1
	if cfg.Options[6][0] != 192 || a[6][0] != 192 {
		t.Error("scopes share option bytes with each other or with the global options")
	}
}

func TestParseExampleFile(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "docs", "examples", "single.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := cfg.Scopes[0]
	if cfg.Server.Address != netip.MustParseAddr("192.0.2.1") || len(s.Pools) != 2 || len(s.Reservations) != 3 {
		t.Errorf("example parsed to %+v", cfg)
	}
	if got, want := s.Reservations[0].HWAddress, (net.HardwareAddr{2, 0, 0, 0, 0, 1}); !bytes.Equal(got, want) {
		t.Errorf("first reservation hw-address = %v, want %v", got, want)
	}
	if got := string(s.Options[252]); got != "http://wpad.example.net/wpad.dat" {
		t.Errorf("option 252 = %q", got)
	}
}

// TestDocsExamplesParse parses every file under docs/examples.
func TestDocsExamplesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "docs", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example files found under docs/examples")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := Load(f); err != nil {
				t.Error(err)
			}
		})
	}
}

// largeFile returns a file of n /24 scopes, each with a pool and a
// reservation.
func largeFile(n int) []byte {
	var b strings.Builder
	b.WriteString("server: {interfaces: [eth1]}\nscopes:\n")
	for i := 0; i < n; i++ {
		x, y := byte(10+i/256), byte(i%256)
		addr := func(last byte) string { return netip.AddrFrom4([4]byte{x, y, 0, last}).String() }
		b.WriteString("  - subnet: " + addr(0) + "/24\n")
		b.WriteString("    pools: [" + addr(10) + "-" + addr(250) + "]\n")
		b.WriteString("    reservations: [{hw-address: \"02:00:00:00:" + hex2(int(x)) + ":" + hex2(int(y)) + "\", ip: " + addr(5) + "}]\n")
	}
	return []byte(b.String())
}

// TestParseLargeFile checks that an ISP-sized file of many scopes parses.
func TestParseLargeFile(t *testing.T) {
	cfg := mustParse(t, string(largeFile(2000)))
	if len(cfg.Scopes) != 2000 || len(cfg.Scopes[1999].Reservations) != 1 {
		t.Errorf("got %d scopes, want 2000 each with a reservation", len(cfg.Scopes))
	}
}

// BenchmarkParse measures parsing the example file and a 2000-scope file.
func BenchmarkParse(b *testing.B) {
	example, err := os.ReadFile(filepath.Join("..", "..", "docs", "examples", "single.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		data []byte
	}{{"example", example}, {"scopes-2000", largeFile(2000)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			for b.Loop() {
				if _, err := Parse(bc.data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func hex2(n int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[n>>4&15], digits[n&15]})
}

func TestLoadReadsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.yaml")
	writeFile(t, path, minimal)
	cfg, err := Load(path)
	if err != nil || cfg.Scopes[0].Pools[0].Size() != 100 {
		t.Fatalf("Load = %+v, %v", cfg, err)
	}
}
