package e2e

import (
	"context"
	"encoding/hex"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
)

func TestRelayedClientGetsRelayedScopeWithOption82(t *testing.T) {
	setup(t, "dhcrelay", "udhcpc")
	lab := newLab(t, "192.0.2.1/24")
	spec := lanSpec(time.Hour)
	spec.Scopes = append(spec.Scopes, ScopeSpec{
		Subnet:  netip.MustParsePrefix("198.51.100.0/24"),
		Pools:   []string{"198.51.100.100-198.51.100.199"},
		Routers: addrs("198.51.100.1"),
		DNS:     addrs("192.0.2.53"),
	})
	d := startDaemon(t, lab, spec)
	relay, client, err := lab.AddRelay(netip.MustParsePrefix("192.0.2.2/24"), netip.MustParsePrefix("198.51.100.1/24"))
	mustDo(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	// The server's replies as they reach the relay's upstream side.
	capture, err := dhcpclients.StartCapture(ctx, relay, HostIface, "udp port 67 and src host 192.0.2.1",
		"dhcp.option.dhcp == 5", "dhcp.ip.your", "dhcp.ip.relay", "dhcp.option.agent_information_option.agent_circuit_id")
	mustDo(t, err)
	r, err := dhcpclients.StartRelay(ctx, relay, RelayDown, HostIface, netip.MustParseAddr("192.0.2.1"))
	mustDo(t, err)

	got, err := newClient(t, "udhcpc", client, "relayed").Acquire(ctx)
	if err != nil {
		t.Fatalf("%v\ndhcrelay:\n%s", err, r.Output())
	}
	t.Logf("relayed client: %s", got)
	if !inRange(got.IP, "198.51.100.100", "198.51.100.199") || got.PrefixLen != 24 || !slices.Equal(got.Routers, addrs("198.51.100.1")) {
		t.Errorf("relayed client got %s; want an address of 198.51.100.100-199/24 with router 198.51.100.1", got)
	}
	rows, err := capture.Stop()
	mustDo(t, err)
	wantCircuit := hex.EncodeToString([]byte(RelayDown))
	if len(rows) == 0 || len(rows[0]) != 3 || rows[0][0] != got.IP.String() || rows[0][1] != "198.51.100.1" || rows[0][2] != wantCircuit {
		t.Errorf("server's ACK on the relay's upstream (yiaddr, giaddr, circuit-id): %q; want [%s 198.51.100.1 %s]", rows, got.IP, wantCircuit)
	}
	l, ok := LeaseByIP(leases(t, d), got.IP)
	if !ok || l.Scope != "198.51.100.0/24" || l.CircuitID != RelayDown {
		t.Errorf("server's lease for %s: %+v (found %v); want scope 198.51.100.0/24, circuit-id %q", got.IP, l, ok, RelayDown)
	}
}
