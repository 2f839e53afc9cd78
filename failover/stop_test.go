package failover

import (
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
)

// TestCleanStop: a stopping server tells its partner, which reacts at once
// (SHUTDOWN: PARTNER-DOWN; PAUSED: COMMUNICATIONS-INTERRUPTED) instead of
// noticing silence after the receive timer; the stopped server's stored
// state says how it stopped, and it comes back to NORMAL.
func TestCleanStop(t *testing.T) {
	tests := []struct {
		name          string
		paused        bool
		stored        wire.ServerState
		partnerAfter  string
		partnerServes bool
	}{
		{name: "shutdown", stored: wire.StateShutdown, partnerAfter: "PARTNER-DOWN"},
		{name: "paused for a restart", paused: true, stored: wire.StatePaused, partnerAfter: "COMMUNICATIONS-INTERRUPTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, _ := pair(t, func(p, s *Config) {
				s.StopPaused = tt.paused
				// Silence alone would take 20s to notice: a prompt
				// reaction can only come from the stop sequence.
				p.ReceiveTimer, p.ContactInterval = 20*time.Second, 250*time.Millisecond
			})
			a.p.Updated(activeLease(testPool(1)[0], time.Now(), 1))
			b.halt()
			rec, err := fsm.Load(b.srv)
			if err != nil || rec == nil || rec.State != tt.stored {
				t.Fatalf("stored state %+v (%v), want %s", rec, err, tt.stored)
			}
			waitFor(t, 2*time.Second, "the partner reacts to the stop", stateIs(a, tt.partnerAfter))
			waitFor(t, 2*time.Second, "the partner closes on DISCONNECT", func() bool { return !a.p.Status().Connected })
			if n := a.p.Status().Counters.Timeouts; n != 0 {
				t.Fatalf("the partner saw %d timeouts: the stop looked like a crash", n)
			}
			if tt.paused {
				return
			}
			// Back from SHUTDOWN: through RECOVER to NORMAL.
			c := start(t, b.p.cfg, b.srv)
			waitFor(t, 15*time.Second, "both NORMAL again", func() bool { return stateIs(a, "NORMAL")() && stateIs(c, "NORMAL")() })
		})
	}
}

func TestStopWithoutPartnerStoresShutdown(t *testing.T) {
	srv := newFakeServer("primary", newOwnership(), nil)
	r := start(t, testConfig(fsm.Primary, freePort(t)), srv)
	waitFor(t, 5*time.Second, "out of STARTUP", func() bool { return r.p.Status().State != "STARTUP" && r.p.Status().State != "" })
	r.halt()
	if rec, err := fsm.Load(srv); err != nil || rec == nil || rec.State != wire.StateShutdown {
		t.Fatalf("stored %+v, %v", rec, err)
	}
}
