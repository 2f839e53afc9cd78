package server

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

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
