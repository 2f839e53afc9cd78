package e2e

import (
	"context"
	"testing"
	"time"
)

// TestRetryLaneAdmitsRealClientUnderSpoofedFlood floods DISCOVERs, each
// from its own random MAC (which no source guard can tell from a new
// client), at 2,000/s against a discover budget of 1 a second, so that a
// new client's DISCOVER gets through the budget about once in 2,000
// tries. A real dhclient must still get its lease during the flood: the
// budget refuses its first DISCOVER and remembers it, and its
// retransmission passes on the retry lane (dataplane.discover-budget.
// retry-pps, on by default), which the flood never reaches because it
// never asks twice.
func TestRetryLaneAdmitsRealClientUnderSpoofedFlood(t *testing.T) {
	spec := perfSpec()
	spec.DiscoverBudgetPPS = 1
	lab, d, attacker, exe := floodLab(t, spec)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	flood := runFlood(ctx, t, attacker, exe, "--flood-source", "spoofed", "--clients", "1000", "--rate", "2000",
		"--legit-rate", "0.1", "--duration", "40s")
	got, took, err := acquireDuringFlood(ctx, t, lab, 35*time.Second)
	dp, dpErr := d.Dataplane(ctx)
	mustDo(t, dpErr)
	if err != nil {
		t.Fatalf("a new client during the spoofed flood got no lease in %v: %v; XDP counters %v", took, err, dp.XDP)
	}
	t.Logf("client got %s in %v during the flood; XDP counters %v", got.IP, took, dp.XDP)
	if dp.XDP["passed-retry-lane"] == 0 {
		t.Errorf("no DISCOVER passed on the retry lane: %v", dp.XDP)
	}
	if dp.XDP["dropped-discover-budget"] < 1000 {
		t.Errorf("the budget dropped only %d DISCOVERs of the flood: %v", dp.XDP["dropped-discover-budget"], dp.XDP)
	}
	cancel() // the flood has served its purpose
	<-flood
	if !d.Running() {
		t.Fatal("xdhcpd died during the flood")
	}
}
