package e2e

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
)

// TestFailoverReplicateScopes changes the primary's scope in its file (a
// second name server, a reservation for a client in the secondary's
// buckets), reloads and replicates it: the secondary refuses a push of its
// older copy, applies the primary's without a restart, and serves a real
// client (udhcpc) the new option and the reserved address. Then
// replicate-scopes: auto pushes the next change on reload alone; the
// secondary restarted keeps the replicated settings over its own file;
// no lease is lost on either side.
func TestFailoverReplicateScopes(t *testing.T) {
	setup(t, "udhcpc")
	p := newPair(t, pairOpts{percent: 50, mclt: 10 * time.Second})
	p.waitSettled(t, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	checkAllAnswered(t, benchRun{clients: 30, rate: 100, duration: 2 * time.Second, seed: 0x51, retries: 2}.run(t, p.clients))
	p.waitSettled(t, 20*time.Second)
	hadA, hadB := activeLeases(t, p.a), activeLeases(t, p.b)

	// The primary's file gets a second name server and a reservation for
	// a client that hashes into the secondary's buckets.
	resMAC := macFor(0x52, true, secondaryBucket(50))
	resIP := netip.MustParseAddr("192.0.2.15")
	specA := p.spec(foAddrA.Addr())
	specA.Scopes[0].DNS = addrs("192.0.2.53", "192.0.2.54")
	specA.Scopes[0].Reservations = []Reservation{{HW: resMAC, IP: resIP}}
	writeFailoverConfig(t, p.a, specA, p.foA, foMetricsA, "")
	if _, err := p.a.Ctl(ctx, "reload"); err != nil {
		t.Fatal(err)
	}

	// The secondary's copy is now the older one: its push is refused.
	if out, err := p.b.CtlText(ctx, "failover", "replicate"); err == nil || !strings.Contains(err.Error(), "changed later") ||
		!strings.Contains(err.Error(), "--force") {
		t.Fatalf("replicating the older copy: %v %s; want a refusal naming --force", err, out)
	}
	if n := status(t, p.a).Counters["settings-refused"]; n != 1 {
		t.Errorf("the primary counted %d refused pushes, want 1", n)
	}

	out, err := p.a.CtlText(ctx, "failover", "replicate")
	if err != nil || !strings.Contains(out, "partner applied our scope settings") {
		t.Fatalf("replicate: %v %s", err, out)
	}
	t.Logf("xdhcpctl failover replicate: %s", strings.TrimSpace(out))
	if stA, stB := status(t, p.a), status(t, p.b); !stB.SettingsReplicated || stA.SettingsReplicated || stB.Settings != stA.Settings {
		t.Errorf("settings versions after the push: A %+v (replicated %v), B %+v (replicated %v); want B to hold A's version as a replicated copy",
			stA.Settings, stA.SettingsReplicated, stB.Settings, stB.SettingsReplicated)
	}
	var again api.Replicate
	if js, err := p.a.Ctl(ctx, "failover", "replicate"); err != nil || json.Unmarshal([]byte(js), &again) != nil || again.Outcome != "identical" {
		t.Errorf("a second push: %v %s; want outcome identical", err, js)
	}

	reserved := p.addClient(t, "udhcpc", resMAC)
	l := acquire(t, reserved, false, foAddrB.Addr())
	if l.IP != resIP || !slices.Equal(l.DNS, addrs("192.0.2.53", "192.0.2.54")) {
		t.Errorf("the secondary gave %s with dns %v; want the reserved %s with the replicated dns [192.0.2.53 192.0.2.54]", l.IP, l.DNS, resIP)
	}

	// replicate-scopes: auto pushes on reload, with no command.
	specA.Scopes[0].DNS = addrs("192.0.2.53", "192.0.2.55")
	writeFailoverConfig(t, p.a, specA, p.foA, foMetricsA, "  replicate-scopes: auto\n")
	applied := status(t, p.b).Counters["settings-applied"]
	if _, err := p.a.Ctl(ctx, "reload"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.b.WaitFailover(ctx, "B applies the automatic push", func(st api.FailoverStatus) bool {
		return st.Counters["settings-applied"] > applied
	}); err != nil {
		t.Fatal(err)
	}
	l = acquire(t, reserved, true, foAddrB.Addr())
	if l.IP != resIP || !slices.Equal(l.DNS, addrs("192.0.2.53", "192.0.2.55")) {
		t.Errorf("after the automatic push the renewal gave %s with dns %v; want %s with [192.0.2.53 192.0.2.55]", l.IP, l.DNS, resIP)
	}

	// The secondary restarted keeps the replicated copy over its file.
	if err := p.b.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := p.b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p.waitSettled(t, 60*time.Second)
	if !strings.Contains(p.b.Log(), "overridden by the copy replicated from the partner") {
		t.Error("the restarted secondary does not say that the replicated scopes override its file's")
	}
	l = acquire(t, reserved, true, foAddrB.Addr())
	if l.IP != resIP || !slices.Equal(l.DNS, addrs("192.0.2.53", "192.0.2.55")) {
		t.Errorf("after the secondary's restart the renewal gave %s with dns %v; want %s with [192.0.2.53 192.0.2.55]", l.IP, l.DNS, resIP)
	}

	now := p.waitSameBindings(t, 20*time.Second)
	n := checkKept(t, "the primary", hadA, now) + checkKept(t, "the secondary", hadB, now)
	t.Logf("%d leases from before the replication checked on both", n)
	stA := status(t, p.a)
	t.Logf("primary: settings pushed %d; replication lag %+v", stA.Counters["settings-pushed"], stA.ReplicationLag)
}

// writeFailoverConfig writes d's configuration with extra lines appended
// to its failover section (which the file ends with).
func writeFailoverConfig(t testing.TB, d *Daemon, spec ServerSpec, fo FailoverSpec, metrics, extra string) {
	t.Helper()
	if err := d.WriteFailoverSpec(spec, fo, metrics); err != nil {
		t.Fatal(err)
	}
	if extra == "" {
		return
	}
	text, err := os.ReadFile(d.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.WriteConfig(string(text) + extra); err != nil {
		t.Fatal(err)
	}
}

// TestFailoverStopAnnouncesShutdown stops a primary configured with
// stop-state: shutdown: the secondary goes PARTNER-DOWN at once (it has no
// state-switchover-interval, so silence alone would leave it in
// COMMUNICATIONS-INTERRUPTED), and the primary comes back through
// RECOVER to NORMAL with every lease.
func TestFailoverStopAnnouncesShutdown(t *testing.T) {
	setup(t)
	p := newPair(t, pairOpts{percent: 50, mclt: 5 * time.Second})
	p.waitSettled(t, 30*time.Second)
	if err := p.a.Stop(); err != nil {
		t.Fatal(err)
	}
	writeFailoverConfig(t, p.a, p.spec(foAddrA.Addr()), p.foA, foMetricsA, "  stop-state: shutdown\n")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := p.a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p.waitSettled(t, 30*time.Second)
	checkAllAnswered(t, benchRun{clients: 20, rate: 100, duration: time.Second, seed: 0x53, retries: 2}.run(t, p.clients))
	p.waitSettled(t, 20*time.Second)
	had := activeLeases(t, p.b)

	if err := p.a.Stop(); err != nil {
		t.Fatal(err)
	}
	st, err := p.b.WaitFailover(ctx, "B takes over", InState("PARTNER-DOWN", ""))
	if err != nil {
		t.Fatal(err)
	}
	if st.Counters["timeouts"] != 0 {
		t.Errorf("B saw %d timeouts: the stop looked like a crash", st.Counters["timeouts"])
	}
	if !strings.Contains(p.a.Log(), "failover stopped") {
		t.Error("A's log does not record its stop sequence")
	}
	if err := p.a.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p.waitSettled(t, 60*time.Second)
	if strings.Contains(p.a.Log(), "POTENTIAL-CONFLICT") || strings.Contains(p.b.Log(), "POTENTIAL-CONFLICT") {
		t.Error("coming back from an acknowledged shutdown raised POTENTIAL-CONFLICT; want RECOVER")
	}
	now := p.waitSameBindings(t, 20*time.Second)
	t.Logf("%d leases kept across the shutdown", checkKept(t, "the pair", had, now))
}
