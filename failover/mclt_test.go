package failover

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
)

// TestLeaseTimeMCLTRule holds LeaseTime to draft-12 §5.2.1 case by case:
// a grant runs at most MCLT past the latest of now, the potential expiry
// the partner acknowledged for the address, and the client's current
// expiry; never past what the server wanted; never negative.
func TestLeaseTimeMCLTRule(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	const mclt = time.Hour
	ip := netip.MustParseAddr("192.0.2.10")
	other := netip.MustParseAddr("192.0.2.11")
	cases := []struct {
		name    string
		acked   map[netip.Addr]time.Time // partner's acknowledged potential expiries
		desired time.Duration
		l       lease.Lease
		want    time.Duration
	}{
		{"new binding: MCLT", nil, 8 * time.Hour, lease.Lease{IP: ip}, mclt},
		{"shorter than MCLT wanted", nil, 10 * time.Minute, lease.Lease{IP: ip}, 10 * time.Minute},
		{"acked potential expiry extends", map[netip.Addr]time.Time{ip: now.Add(8 * time.Hour)}, 8 * time.Hour, lease.Lease{IP: ip}, 8 * time.Hour},
		{"acked short of desired: acked + MCLT", map[netip.Addr]time.Time{ip: now.Add(2 * time.Hour)}, 8 * time.Hour, lease.Lease{IP: ip}, 3 * time.Hour},
		{"acked in the past counts as now", map[netip.Addr]time.Time{ip: now.Add(-time.Hour)}, 8 * time.Hour, lease.Lease{IP: ip}, mclt},
		{"another address's ack does not count", map[netip.Addr]time.Time{other: now.Add(8 * time.Hour)}, 8 * time.Hour, lease.Lease{IP: ip}, mclt},
		{"renewal: current expiry + MCLT", nil, 8 * time.Hour,
			lease.Lease{IP: ip, State: lease.StateActive, Expiry: now.Add(30 * time.Minute)}, 90 * time.Minute},
		{"expired lease's expiry does not count", nil, 8 * time.Hour,
			lease.Lease{IP: ip, State: lease.StateExpired, Expiry: now.Add(30 * time.Minute)}, mclt},
		{"later of ack and expiry", map[netip.Addr]time.Time{ip: now.Add(2 * time.Hour)}, 8 * time.Hour,
			lease.Lease{IP: ip, State: lease.StateActive, Expiry: now.Add(4 * time.Hour)}, 5 * time.Hour},
		{"not IPv4: MCLT", map[netip.Addr]time.Time{ip: now.Add(8 * time.Hour)}, 8 * time.Hour, lease.Lease{IP: netip.MustParseAddr("2001:db8::1")}, mclt},
		{"nothing wanted", nil, 0, lease.Lease{IP: ip}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := &Peer{now: func() time.Time { return now }}
			p.mclt.init(mclt)
			for a, pot := range tc.acked {
				p.mclt.ack(a, pot)
			}
			if got := p.LeaseTime(tc.desired, tc.l); got != tc.want {
				t.Fatalf("LeaseTime(%v) = %v, want %v", tc.desired, got, tc.want)
			}
		})
	}
}

// TestMCLTAckKeepsTheLatest: an acknowledgement never moves an address's
// potential expiry back, and a zero one is ignored.
func TestMCLTAckKeepsTheLatest(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	ip := netip.MustParseAddr("192.0.2.10")
	p := &Peer{now: func() time.Time { return now }}
	p.mclt.init(time.Hour)
	p.mclt.ack(ip, now.Add(5*time.Hour))
	p.mclt.ack(ip, now.Add(2*time.Hour))
	p.mclt.ack(ip, time.Time{})
	if got := p.LeaseTime(8*time.Hour, lease.Lease{IP: ip}); got != 6*time.Hour {
		t.Fatalf("after acks of +5h, +2h and zero: LeaseTime = %v, want 6h (+5h + MCLT)", got)
	}
}
