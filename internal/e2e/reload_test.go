package e2e

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestReloadAppliesNewOptionsAndKeepsLeases changes the lease time and
// name server in the file, reloads with xdhcpctl, and checks a renewing
// client sees the new values while its lease and address stay.
func TestReloadAppliesNewOptionsAndKeepsLeases(t *testing.T) {
	setup(t, "udhcpc")
	lab := newLab(t, "192.0.2.1/24")
	spec := lanSpec(time.Hour)
	d := startDaemon(t, lab, spec)
	host, err := lab.AddHost("rl")
	mustDo(t, err)
	c := newClient(t, "udhcpc", host, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := c.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}

	spec.Scopes[0].LeaseTime = 2 * time.Hour
	spec.Scopes[0].DNS = addrs("192.0.2.54", "192.0.2.55")
	mustDo(t, d.WriteSpec(spec))
	if _, err := d.Ctl(ctx, "reload"); err != nil {
		t.Fatal(err)
	}
	if _, ok := LeaseByIP(leases(t, d), first.IP); !ok {
		t.Fatalf("lease of %s gone after reload", first.IP)
	}
	renewed, err := c.Renew(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.IP != first.IP || renewed.LeaseTime != 2*time.Hour || !slices.Equal(renewed.DNS, addrs("192.0.2.54", "192.0.2.55")) {
		t.Errorf("after reload the renewal gave %s; want %s for 2h with dns [192.0.2.54 192.0.2.55]", renewed, first.IP)
	}
}
