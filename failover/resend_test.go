package failover

import (
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/failover/wire"
)

// TestRefusedUpdatesResend: updates refused for a reason that may pass are
// sent again, within a bound; others are not; every refusal is counted by
// reason.
func TestRefusedUpdatesResend(t *testing.T) {
	ip := netip.MustParseAddr("203.0.113.9")
	tests := []struct {
		name        string
		transient   int   // refusals with reason 6 before the partner accepts
		permanent   uint8 // a reason the partner always gives (0: none)
		wantApplied bool
		wantResent  uint64
		wantBy      map[string]uint64
	}{
		{name: "transient failure is resent until accepted", transient: 2, wantApplied: true, wantResent: 2,
			wantBy: map[string]uint64{"unknown-reason": 2}},
		{name: "outdated information is not resent", permanent: uint8(wire.RejectOutdatedBindInfo),
			wantBy: map[string]uint64{"outdated-binding-info": 1}},
		{name: "resends stop at the bound", transient: 100, wantResent: 3,
			wantBy: map[string]uint64{"unknown-reason": 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, _ := pair(t, func(p, s *Config) { p.ResendDelay = 20 * time.Millisecond })
			b.srv.mu.Lock()
			b.srv.transient = map[netip.Addr]int{ip: tt.transient}
			if tt.permanent != 0 {
				b.srv.reject = map[netip.Addr]uint8{ip: tt.permanent}
			}
			b.srv.mu.Unlock()
			a.p.Updated(activeLease(ip, time.Now(), 9))
			total := uint64(0)
			for _, n := range tt.wantBy {
				total += n
			}
			waitFor(t, 5*time.Second, "every refusal and resend", func() bool {
				st := a.p.Status()
				_, applied := b.srv.binding(ip)
				return st.Counters.UpdatesRejected == total && st.Counters.UpdatesResent == tt.wantResent && applied == tt.wantApplied
			})
			time.Sleep(400 * time.Millisecond) // longer than every backoff step: nothing more may happen
			st := a.p.Status()
			if st.Counters.UpdatesResent != tt.wantResent || st.Counters.UpdatesRejected != total {
				t.Fatalf("resent %d, rejected %d; want %d, %d", st.Counters.UpdatesResent, st.Counters.UpdatesRejected, tt.wantResent, total)
			}
			for reason, n := range tt.wantBy {
				if st.RejectedBy[reason] != n {
					t.Fatalf("rejected by %s: %d, want %d (all: %v)", reason, st.RejectedBy[reason], n, st.RejectedBy)
				}
			}
		})
	}
}

// TestNewerUpdateSupersedesResend: a refused update is not resent once a
// newer update of the address has been queued; the newer one is what the
// partner gets.
func TestNewerUpdateSupersedesResend(t *testing.T) {
	a, b, _ := pair(t, func(p, s *Config) { p.ResendDelay = 300 * time.Millisecond })
	ip := netip.MustParseAddr("203.0.113.10")
	b.srv.mu.Lock()
	b.srv.transient = map[netip.Addr]int{ip: 1}
	b.srv.mu.Unlock()
	now := time.Now()
	a.p.Updated(activeLease(ip, now, 1))
	waitFor(t, 5*time.Second, "the first refusal", func() bool { return a.p.Status().Counters.UpdatesRejected == 1 })
	a.p.Updated(activeLease(ip, now.Add(time.Second), 2))
	waitFor(t, 5*time.Second, "the newer binding applied", func() bool { l, ok := b.srv.binding(ip); return ok && l.HWAddr[5] == 2 })
	time.Sleep(500 * time.Millisecond)
	if l, _ := b.srv.binding(ip); l.HWAddr[5] != 2 {
		t.Fatalf("the old refused update overwrote the newer one: %+v", l)
	}
	if n := a.p.Status().Counters.UpdatesResent; n != 0 {
		t.Fatalf("resent %d superseded updates", n)
	}
}
