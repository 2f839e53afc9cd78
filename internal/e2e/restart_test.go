package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/dhcpclients"
)

func TestRestartKeepsEveryLease(t *testing.T) {
	setup(t, "dhclient", "udhcpc")
	lab := newLab(t, "192.0.2.1/24")
	d := startDaemon(t, lab, lanSpec(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var clients []dhcpclients.Client
	var got []dhcpclients.Lease
	for i, kind := range []string{"dhclient", "udhcpc", "udhcpc"} {
		host, err := lab.AddHost("rs")
		mustDo(t, err)
		c := newClient(t, kind, host, fmt.Sprintf("restart-%d", i))
		l, err := c.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		clients, got = append(clients, c), append(got, l)
	}
	before := leaseSet(leases(t, d))
	if len(before) != len(got) {
		t.Fatalf("%d leases before restart, want %d: %v", len(before), len(got), before)
	}

	if err := d.Stop(); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	after := leaseSet(leases(t, d))
	for ip, l := range before {
		a, ok := after[ip]
		if !ok || a.HWAddress != l.HWAddress || a.State != l.State || !a.Expiry.Equal(l.Expiry) ||
			a.ClientID != l.ClientID || a.Hostname != l.Hostname || !a.Start.Equal(l.Start) {
			t.Errorf("lease %s before restart %+v, after %+v (found %v)", ip, l, a, ok)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d leases after restart, %d before", len(after), len(before))
	}

	// dhclient started again on its lease file asks for its address from
	// INIT-REBOOT: the restarted server must grant it.
	renewed, err := clients[0].Renew(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if renewed.IP != got[0].IP {
		t.Errorf("after restart dhclient got %s, had %s", renewed, got[0].IP)
	}
	// The lease was read from the store, so it is known durable: minutes
	// into an hour, the lease cache answers without a write.
	if n := reusedOf(t, d); n == 0 {
		t.Errorf("after restart %d REQUESTs answered from the lease cache, want dhclient's (at least 1)", n)
	}
}

// leaseSet keys active leases by address.
func leaseSet(ls []api.Lease) map[string]api.Lease {
	m := make(map[string]api.Lease)
	for _, l := range ls {
		if l.State == "active" {
			m[l.IP] = l
		}
	}
	return m
}
