package alloc

import (
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
)

// TestRequestCached covers when a REQUEST is answered with the stored lease
// as it stands (no write) and when it gets a new one: a 1h lease bound at
// t0 with a 25% threshold may be reused for its first 15 minutes, once it
// is durable, by the same client with the same details.
func TestRequestCached(t *testing.T) {
	withName := func(c Client, name string) Client { c.Hostname = name; return c }
	withCircuit := func(c Client, id string) Client { c.CircuitID = []byte(id); return c }
	tests := []struct {
		name      string
		percent   int
		durable   bool          // MarkDurable ran with the bound lease
		stale     bool          // MarkDurable ran with an older copy of it instead
		rebind    bool          // a plain Request renewed it after it was marked
		after     time.Duration // the REQUEST's time after t0
		leaseTime time.Duration // what the REQUEST would be granted
		client    func(Client) Client
		want      bool // reused
	}{
		{name: "durable, early in the lease", percent: 25, durable: true, after: 10 * time.Minute, want: true},
		{name: "right after the ACK", percent: 25, durable: true, after: 0, want: true},
		{name: "not known durable", percent: 25, after: 10 * time.Minute},
		{name: "marked with an older copy", percent: 25, stale: true, after: 10 * time.Minute},
		{name: "renewed after it was marked", percent: 25, durable: true, rebind: true, after: 10 * time.Minute},
		{name: "at the threshold", percent: 25, durable: true, after: 15 * time.Minute},
		{name: "past the threshold", percent: 25, durable: true, after: 40 * time.Minute},
		{name: "threshold 0 disables", percent: 0, durable: true, after: time.Second},
		{name: "threshold 100", percent: 100, durable: true, after: 59 * time.Minute, want: true},
		{name: "grant now longer than the stored one", percent: 25, durable: true, after: time.Minute, leaseTime: 2 * time.Hour},
		{name: "grant now shorter than what is left", percent: 25, durable: true, after: time.Minute, leaseTime: 30 * time.Minute},
		{name: "hostname changed", percent: 25, durable: true, after: time.Minute,
			client: func(c Client) Client { return withName(c, "other") }},
		{name: "relay circuit changed", percent: 25, durable: true, after: time.Minute,
			client: func(c Client) Client { return withCircuit(c, "port-9") }},
		{name: "same details", percent: 25, durable: true, after: time.Minute,
			client: func(c Client) Client { return withCircuit(withName(c, "cpe"), "port-1") }, want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewScope(scopeCfg(rng("10.0.0.10", "10.0.0.20")), testOfferHold, testDeclineHold, tt.percent)
			if err != nil {
				t.Fatal(err)
			}
			c := withCircuit(withName(hw(1), "cpe"), "port-1")
			first := bindNew(t, s, c, t0.Add(-time.Second))
			bound := mustRequest(t, s, c, first.IP, t0) // the lease under test: granted at t0
			switch {
			case tt.stale:
				s.MarkDurable(first)
			case tt.durable:
				s.MarkDurable(bound)
			}
			if tt.rebind {
				bound = mustRequest(t, s, c, bound.IP, t0)
			}
			if tt.client != nil {
				c = tt.client(c)
			}
			lt := tt.leaseTime
			if lt == 0 {
				lt = testLeaseTime
			}
			now := t0.Add(tt.after)
			got, reused, err := s.RequestCached(c, bound.IP, lt, now)
			if err != nil {
				t.Fatalf("RequestCached: %v", err)
			}
			if reused != tt.want {
				t.Fatalf("reused = %v, want %v", reused, tt.want)
			}
			if reused {
				if !got.Expiry.Equal(bound.Expiry) || !got.Updated.Equal(bound.Updated) {
					t.Errorf("reused lease expires %v updated %v, want the stored %v %v", got.Expiry, got.Updated, bound.Expiry, bound.Updated)
				}
			} else if want := now.Add(lt); !got.Expiry.Equal(want) {
				t.Errorf("new lease expires %v, want %v", got.Expiry, want)
			}
			if n, want := s.Stats().Reused, map[bool]uint64{true: 1}[tt.want]; n != want {
				t.Errorf("Stats().Reused = %d, want %d", n, want)
			}
			checkInvariants(t, s)
		})
	}
}

// TestRequestCachedThenWrites checks that a reused lease changes nothing:
// a later REQUEST past the threshold extends it from that time, and the
// mark does not outlive a release.
func TestRequestCachedThenWrites(t *testing.T) {
	s, err := NewScope(scopeCfg(rng("10.0.0.10", "10.0.0.20")), testOfferHold, testDeclineHold, 50)
	if err != nil {
		t.Fatal(err)
	}
	c := hw(1)
	l := bindNew(t, s, c, t0)
	s.MarkDurable(l)
	if _, reused, _ := s.RequestCached(c, l.IP, testLeaseTime, t0.Add(10*time.Minute)); !reused {
		t.Fatal("first renewal was not reused")
	}
	late := t0.Add(31 * time.Minute)
	got, reused, err := s.RequestCached(c, l.IP, testLeaseTime, late)
	if err != nil || reused || !got.Expiry.Equal(late.Add(testLeaseTime)) {
		t.Fatalf("renewal past the threshold: reused %v expiry %v err %v, want a new lease to %v", reused, got.Expiry, err, late.Add(testLeaseTime))
	}
	s.MarkDurable(got)
	if _, ok := s.Release(c, l.IP, late.Add(time.Minute)); !ok {
		t.Fatal("release refused")
	}
	checkInvariants(t, s)
	again, reused, err := s.RequestCached(c, l.IP, testLeaseTime, late.Add(2*time.Minute))
	if err != nil || reused || again.State != lease.StateActive {
		t.Fatalf("REQUEST after release: reused %v state %v err %v, want a new Active lease", reused, again.State, err)
	}
}

// TestPartnerUpdateEndsReuse checks that a failover partner's update of a
// lease (Apply) clears its durable mark: the partner's record is not on
// this server's disk until it is written here, so the next REQUEST writes.
func TestPartnerUpdateEndsReuse(t *testing.T) {
	s, err := NewScope(scopeCfg(rng("10.0.0.10", "10.0.0.20")), testOfferHold, testDeclineHold, 25)
	if err != nil {
		t.Fatal(err)
	}
	mustShare(t, s, RolePrimary, 500)
	c := hw(1)
	l := bindNew(t, s, c, t0)
	s.MarkDurable(l)
	if _, reused, _ := s.RequestCached(c, l.IP, testLeaseTime, t0.Add(time.Second/2)); !reused {
		t.Fatal("REQUEST before the partner's update was not reused")
	}
	theirs := l
	theirs.Updated = t0.Add(time.Second)
	theirs.Expiry = t0.Add(time.Second + testLeaseTime)
	if _, err := s.Apply(theirs, t0.Add(time.Second)); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	checkInvariants(t, s)
	if _, reused, err := s.RequestCached(c, l.IP, testLeaseTime, t0.Add(2*time.Second)); err != nil || reused {
		t.Fatalf("REQUEST after the partner's update: reused %v, err %v; want a write", reused, err)
	}
}
