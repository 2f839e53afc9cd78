package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
)

// TestDeclinedAddressIsNotHandedOutAgain puts a host with a static
// 192.0.2.100 on the LAN. dhcpcd, told to probe, is given 192.0.2.100
// first, finds it in use, sends DHCPDECLINE and must then get the other
// address of the pool; the server must hold the declined one.
func TestDeclinedAddressIsNotHandedOutAgain(t *testing.T) {
	setup(t, "dhcpcd")
	lab := newLab(t, "192.0.2.1/24")
	spec := lanSpec(time.Hour)
	spec.Scopes[0].Pools = []string{"192.0.2.100-192.0.2.101"}
	d := startDaemon(t, lab, spec)
	squatter, err := lab.AddHost("sq")
	mustDo(t, err, squatter.AddAddr(HostIface, "192.0.2.100/24"))
	host, err := lab.AddHost("dcl")
	mustDo(t, err)
	c, err := dhcpclients.NewDhcpcd(dhcpclients.Config{NS: host, Iface: HostIface, Dir: t.TempDir(), Probe: true})
	mustDo(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	got, err := c.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.IP.String() != "192.0.2.101" {
		t.Errorf("dhcpcd bound %s, want 192.0.2.101 after declining 192.0.2.100", got.IP)
	}
	l, ok := LeaseByIP(leases(t, d), got.IP.Prev())
	if !ok || l.State == "active" || l.State == "free" {
		t.Errorf("declined 192.0.2.100 on the server: %+v (found %v); want it held out of use", l, ok)
	}
	st, err := d.Status(ctx)
	mustDo(t, err)
	if st.Scopes[0].Declined != 1 {
		t.Errorf("scope status %+v; want 1 declined", st.Scopes[0])
	}
	t.Logf("dhcpcd: %s; server holds 192.0.2.100 as %q", got, l.State)
}
