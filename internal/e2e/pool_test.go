package e2e

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
)

// TestReleasedAddressGoesToTheNextClient fills a pool of two, checks a
// third client gets nothing and the scope counts the exhaustion, then has
// one client release its lease and the third try again.
func TestReleasedAddressGoesToTheNextClient(t *testing.T) {
	setup(t, "udhcpc")
	lab := newLab(t, "192.0.2.1/24")
	spec := lanSpec(time.Hour)
	spec.Scopes[0].Pools = []string{"192.0.2.100-192.0.2.101"}
	d := startDaemon(t, lab, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var first *dhcpclients.Udhcpc
	var firstIP netip.Addr
	for i := 0; i < 2; i++ {
		host, err := lab.AddHost("pool")
		mustDo(t, err)
		c := newClient(t, "udhcpc", host, "")
		l, err := c.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first, firstIP = c.(*dhcpclients.Udhcpc), l.IP
		}
	}

	host, err := lab.AddHost("late")
	mustDo(t, err)
	late := newClient(t, "udhcpc", host, "")
	if l, err := late.Acquire(ctx); err == nil {
		t.Fatalf("a third client got %s from a pool of two", l)
	}
	st, err := d.Status(ctx)
	mustDo(t, err)
	if sc := st.Scopes[0]; sc.Active != 2 || sc.Free != 0 || sc.Exhausted == 0 {
		t.Errorf("full scope: %+v; want 2 active, 0 free, exhausted counted", sc)
	}

	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, ok := LeaseByIP(leases(t, d), firstIP)
		if ok && l.State != "active" {
			t.Logf("after DHCPRELEASE the server shows %s as %s", firstIP, l.State)
			break
		}
		if !ok {
			t.Logf("after DHCPRELEASE the server no longer lists %s", firstIP)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still %s 5s after DHCPRELEASE", firstIP, l.State)
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = late.Close()
	got, err := late.Acquire(ctx)
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	if got.IP != firstIP {
		t.Errorf("third client got %s, want the released %s", got.IP, firstIP)
	}
}
