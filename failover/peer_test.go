package failover

import (
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/auth"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

func TestHandshakeReachesNormalWithSplitBuckets(t *testing.T) {
	a, b, own := pair(t, nil)
	pa, pb := a.srv.policy(), b.srv.policy()
	if !pa.LoadBalanced || !pb.LoadBalanced {
		t.Fatalf("NORMAL without load balancing: %+v / %+v", pa, pb)
	}
	if loadbalance.Count(pa.Buckets) != 128 || pb.Buckets != loadbalance.Complement(pa.Buckets) {
		t.Fatalf("buckets: primary %d, secondary complement %v", loadbalance.Count(pa.Buckets), pb.Buckets == loadbalance.Complement(pa.Buckets))
	}
	if pa.PrimaryShare != 50 || pb.PrimaryShare != 50 {
		t.Fatalf("primary share %d / %d, want 50", pa.PrimaryShare, pb.PrimaryShare)
	}
	if pa.Own != lease.StateFree || pb.Own != lease.StateBackup {
		t.Fatalf("own shares %v / %v", pa.Own, pb.Own)
	}
	st := a.p.Status()
	if !st.Connected || st.PartnerState != "NORMAL" || !st.Authenticated || st.SplitPercent != 50 || st.Counters.Connections != 1 {
		t.Fatalf("status %+v", st)
	}
	// Pool balancing gives the secondary half the free addresses as BACKUP.
	waitFor(t, 5*time.Second, "secondary holds half the pool as BACKUP", func() bool {
		return b.srv.count(lease.StateBackup) == 32 && a.srv.count(lease.StateBackup) == 32
	})
	if len(own.violations) > 0 {
		t.Fatalf("double ownership: %v", own.violations)
	}
}

func TestBindingStreamWithFlowControl(t *testing.T) {
	// The secondary's smaller window limits the primary (max-unacked-bndupd
	// is what the receiver announces it can hold).
	a, b, _ := pair(t, func(p, s *Config) { s.MaxUnackedBndUpd = 4 })
	b.srv.apply = 2 * time.Millisecond // slow partner: updates pile up in flight
	now := time.Now()
	const n = 300
	ip := netip.MustParseAddr("198.51.100.1")
	var ips []netip.Addr
	for i := range n {
		a.p.Updated(activeLease(ip, now, byte(i)))
		ips = append(ips, ip)
		ip = ip.Next()
	}
	maxInFlight := 0
	waitFor(t, 20*time.Second, "all bindings applied on the partner", func() bool {
		maxInFlight = max(maxInFlight, a.p.Status().UnackedUpdates)
		for _, ip := range ips {
			if _, ok := b.srv.binding(ip); !ok {
				return false
			}
		}
		return true
	})
	if maxInFlight > 4 {
		t.Fatalf("%d updates in flight, limit 4", maxInFlight)
	}
	got, _ := b.srv.binding(ips[7])
	if got.State != lease.StateActive || got.HWAddr[5] != 7 || got.ClientID[6] != 7 || got.Expiry.Unix() != now.Add(time.Hour).Unix() {
		t.Fatalf("partner's copy %+v", got)
	}
	waitFor(t, 5*time.Second, "all acked", func() bool {
		st := a.p.Status()
		return st.UnackedUpdates == 0 && st.PendingUpdates == 0 && st.Counters.UpdatesAcked >= n
	})
	a.srv.mu.Lock()
	acked := a.srv.nAcked
	a.srv.mu.Unlock()
	if acked != 0 {
		t.Fatalf("BindingAcked called %d times for %d acked ACTIVE updates, want none (only ends of bindings)", acked, n)
	}
	// The partner acked potential expiry now+1h, so a renewal may now get
	// the full hour; a never-acked address only the MCLT.
	if got := a.p.LeaseTime(time.Hour, activeLease(ips[0], now, 0)); got < 59*time.Minute {
		t.Fatalf("LeaseTime after ack = %v, want about 1h", got)
	}
	if got := a.p.LeaseTime(time.Hour, lease.Lease{IP: netip.MustParseAddr("203.0.113.5")}); got != 2*time.Second {
		t.Fatalf("LeaseTime for a new address = %v, want MCLT 2s", got)
	}
}

// TestOnlyAckedEndsOfBindingsReachAckHandler: an acknowledged EXPIRED or
// RELEASED update lets the address become free (alloc.Scope.Acked); the
// acknowledgement of an ACTIVE, FREE or BACKUP update must not, or an
// address whose lease ended here after its ACTIVE update left (a partner
// update ended it, the client moved) would be freed while the partner
// still holds it Active.
func TestOnlyAckedEndsOfBindingsReachAckHandler(t *testing.T) {
	a, b, _ := pair(t, nil)
	now := time.Now()
	ip := netip.MustParseAddr("198.51.100.1")
	tests := []struct {
		state   lease.State
		handled bool
	}{
		{lease.StateActive, false},
		{lease.StateExpired, true},
		{lease.StateReleased, true},
		{lease.StateFree, false},
		{lease.StateBackup, false},
		{lease.StateAbandoned, false},
	}
	for i, tt := range tests {
		l := activeLease(ip, now, byte(i))
		l.State = tt.state
		a.p.Updated(l)
		ip = ip.Next()
	}
	waitFor(t, 5*time.Second, "every update acked", func() bool {
		st := a.p.Status()
		return st.UnackedUpdates == 0 && st.PendingUpdates == 0 && st.Counters.UpdatesAcked >= uint64(len(tests))
	})
	if n := b.srv.count(lease.StateActive); n != 1 {
		t.Errorf("partner holds %d active bindings, want 1", n)
	}
	for _, tt := range tests {
		want := 0
		if tt.handled {
			want = 1
		}
		if got := a.srv.acked(tt.state); got != want {
			t.Errorf("acked %v update: BindingAcked called %d times, want %d", tt.state, got, want)
		}
	}
}

func TestLossThenPartnerDownThenRecovery(t *testing.T) {
	addr := freePort(t)
	own := newOwnership()
	pool := testPool(64)
	pc, sc := testConfig(fsm.Primary, addr), testConfig(fsm.Secondary, addr)
	pc.SwitchoverInterval = 500 * time.Millisecond
	a := start(t, pc, newFakeServer("primary", own, pool))
	bsrv := newFakeServer("secondary", own, pool)
	b := start(t, sc, bsrv)
	waitFor(t, 10*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })

	b.crash()
	lost := time.Now()
	waitFor(t, pc.ReceiveTimer+time.Second, "COMMUNICATIONS-INTERRUPTED", stateIs(a, "COMMUNICATIONS-INTERRUPTED"))
	if p := a.srv.policy(); p.LoadBalanced || loadbalance.Count(p.Buckets) != 256 || p.Allocate != fsm.AllocateOwn {
		t.Fatalf("COMMUNICATIONS-INTERRUPTED policy %+v", p)
	}
	waitFor(t, 3*time.Second, "PARTNER-DOWN after the switchover interval", stateIs(a, "PARTNER-DOWN"))
	if took := time.Since(lost); took < pc.SwitchoverInterval {
		t.Fatalf("PARTNER-DOWN after %v, before the switchover interval", took)
	}
	waitFor(t, pc.MCLT+2*time.Second, "partner's share usable after MCLT", func() bool { return a.srv.policy().Allocate == fsm.AllocateAll })

	// The survivor keeps serving: a binding made while the partner is down.
	now := time.Now()
	made := netip.MustParseAddr("192.0.2.200")
	a.srv.ApplyBinding(activeLease(made, now, 42))
	a.p.Updated(activeLease(made, now, 42))

	// The partner returns with its stored state and resynchronises.
	b2 := start(t, sc, bsrv)
	waitFor(t, 15*time.Second, "both NORMAL again", func() bool { return stateIs(a, "NORMAL")() && stateIs(b2, "NORMAL")() })
	if l, ok := bsrv.binding(made); !ok || l.State != lease.StateActive || l.HWAddr[5] != 42 {
		t.Fatalf("returning partner lacks the binding made while it was down: %+v %v", l, ok)
	}
	if p := bsrv.policy(); !p.LoadBalanced || loadbalance.Count(p.Buckets) != 128 {
		t.Fatalf("split not restored: %+v", p)
	}
	rec, _ := fsm.Load(a.srv)
	if rec == nil || rec.State != wire.StateNormal {
		t.Fatalf("durable state %+v", rec)
	}
}

func TestPartnerDownCommand(t *testing.T) {
	addr := freePort(t)
	own := newOwnership()
	asrv := newFakeServer("primary", own, nil)
	fsm.Save(asrv, fsm.Persisted{State: wire.StateNormal, Since: time.Now().Add(-time.Hour), LastOperational: time.Now().Add(-time.Minute)})
	a := start(t, testConfig(fsm.Primary, addr), asrv)
	waitFor(t, 5*time.Second, "COMMUNICATIONS-INTERRUPTED after startup", stateIs(a, "COMMUNICATIONS-INTERRUPTED"))
	if err := a.p.PartnerDown(); err != nil {
		t.Fatal(err)
	}
	if s := a.p.Status().State; s != "PARTNER-DOWN" {
		t.Fatalf("state %s", s)
	}
	b := start(t, testConfig(fsm.Secondary, addr), newFakeServer("secondary", own, nil))
	waitFor(t, 15*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })
	if err := a.p.PartnerDown(); !errors.Is(err, fsm.ErrNotAllowed) {
		t.Fatalf("PartnerDown in NORMAL with the partner connected = %v", err)
	}
}

func TestAuthenticationRefusals(t *testing.T) {
	tests := []struct {
		name            string
		primary, second []byte
	}{
		{"wrong secret", []byte("the primary's secret, long enough"), []byte("the secondary's other secret!!")},
		{"missing digest", nil, []byte("the secondary's secret, long enough")},
		{"unexpected digest", []byte("the primary's secret, long enough"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := freePort(t)
			own := newOwnership()
			pc, sc := testConfig(fsm.Primary, addr), testConfig(fsm.Secondary, addr)
			pc.Secret, sc.Secret = tt.primary, tt.second
			a := start(t, pc, newFakeServer("primary", own, nil))
			b := start(t, sc, newFakeServer("secondary", own, nil))
			waitFor(t, 5*time.Second, "refusals counted", func() bool { return b.p.Status().Counters.AuthFailures >= 2 })
			// The dialing side counts the refusal too: the secondary
			// answers with a digest reject reason, or its answer fails
			// the primary's own check.
			waitFor(t, 5*time.Second, "the primary counts being refused", func() bool { return a.p.Status().Counters.AuthFailures >= 1 })
			if a.p.Status().Connected || b.p.Status().Connected || b.p.Status().Counters.Connections != 0 {
				t.Fatalf("connected despite %s", tt.name)
			}
		})
	}
}

// rawPrimary dials the secondary and completes the handshake by hand.
func rawPrimary(t *testing.T, addr string, secret []byte) (net.Conn, *auth.Session) {
	t.Helper()
	var conn net.Conn
	var err error
	waitFor(t, 5*time.Second, "secondary listening", func() bool {
		conn, err = net.Dial("tcp", addr)
		return err == nil
	})
	t.Cleanup(func() { conn.Close() })
	s := auth.NewSession(secret, true)
	m := &wire.Message{Type: wire.MsgConnect}
	m.Add(wire.OptRelationshipName, []byte("test-pair"))
	m.AddUint32(wire.OptMCLT, 2)
	b, _ := s.Seal(m)
	conn.Write(b)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, ack, err := wire.ReadMessage(conn, nil)
	if err != nil || ack.Type != wire.MsgConnectAck || s.Open(raw, ack) != nil {
		t.Fatalf("handshake: %v %v", ack, err)
	}
	return conn, s
}

func TestGarbageAndStalledPartner(t *testing.T) {
	addr := freePort(t)
	sc := testConfig(fsm.Secondary, addr)
	b := start(t, sc, newFakeServer("secondary", newOwnership(), nil))

	// Garbage instead of CONNECT.
	var conn net.Conn
	waitFor(t, 5*time.Second, "secondary listening", func() bool {
		c, err := net.Dial("tcp", addr)
		conn = c
		return err == nil
	})
	conn.Write([]byte{0xff, 0xff, 1, 2, 3})
	conn.Close()
	waitFor(t, 3*time.Second, "garbage counted", func() bool { return b.p.Status().Counters.Malformed >= 1 })

	// Garbage after a good handshake: the link is dropped.
	c2, _ := rawPrimary(t, addr, sc.Secret)
	waitFor(t, 3*time.Second, "connected", func() bool { return b.p.Status().Connected })
	c2.Write([]byte{0, 13, 3, 12, 0, 0, 0, 0, 0, 0, 0, 1, 9})
	waitFor(t, 3*time.Second, "bad message drops the link", func() bool {
		st := b.p.Status()
		return !st.Connected && st.Counters.Malformed+st.Counters.AuthFailures >= 2
	})

	// A partner that completes the handshake and then says nothing is
	// found out within the receive timer.
	rawPrimary(t, addr, sc.Secret)
	waitFor(t, 3*time.Second, "connected", func() bool { return b.p.Status().Connected })
	since := time.Now()
	waitFor(t, sc.ReceiveTimer+time.Second, "silent partner dropped", func() bool { return !b.p.Status().Connected })
	if took := time.Since(since); took < sc.ReceiveTimer/2 {
		t.Fatalf("dropped after %v, sooner than the receive timer", took)
	}
	if b.p.Status().Counters.Timeouts == 0 {
		t.Fatal("timeout not counted")
	}
}

func TestLiveSplitChangeNeverDoubleOwns(t *testing.T) {
	a, b, own := pair(t, nil)
	for _, step := range []struct {
		by      *running
		percent int
		primary int
	}{
		{a, 70, 179}, {b, 30, 77}, {a, 50, 128}, {b, 100, 256}, {a, 0, 0},
	} {
		if err := step.by.p.SetSplit(step.percent); err != nil {
			t.Fatalf("SetSplit(%d): %v", step.percent, err)
		}
		waitFor(t, 3*time.Second, "both sides on the new split", func() bool {
			pa, pb := a.srv.policy(), b.srv.policy()
			return loadbalance.Count(pa.Buckets) == step.primary && pb.Buckets == loadbalance.Complement(pa.Buckets) &&
				a.p.Status().SplitPercent == step.percent && b.p.Status().SplitPercent == step.percent
		})
	}
	own.mu.Lock()
	defer own.mu.Unlock()
	if len(own.violations) > 0 {
		t.Fatalf("a bucket had two owners: %v", own.violations)
	}
	// The split survives in the durable metadata.
	v, ok, _ := a.srv.GetMeta(splitKey)
	if !ok || loadbalance.Count(wire.HBA(v).Buckets()) != 0 {
		t.Fatalf("persisted split %x", v)
	}
}

func TestSetSplitRefusedWhenAlone(t *testing.T) {
	a := start(t, testConfig(fsm.Primary, freePort(t)), newFakeServer("primary", newOwnership(), nil))
	waitFor(t, 5*time.Second, "RECOVER (first start, partner unreachable)", stateIs(a, "RECOVER"))
	if p := a.srv.policy(); p.Answer != fsm.AnswerNone {
		t.Fatalf("a recovering server answers clients: %+v", p)
	}
	if err := a.p.SetSplit(70); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("SetSplit alone = %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := testConfig(fsm.Secondary, "no-port")
	cfg.MCLT = 0
	if _, err := New(cfg, newFakeServer("x", newOwnership(), nil), nil); err == nil {
		t.Fatal("bad config accepted")
	}
}

func TestRejectedUpdateIsCounted(t *testing.T) {
	a, b, _ := pair(t, nil)
	bad := netip.MustParseAddr("203.0.113.9")
	b.srv.mu.Lock()
	b.srv.reject = map[netip.Addr]uint8{bad: uint8(wire.RejectOutdatedBindInfo)}
	b.srv.mu.Unlock()
	a.p.Updated(activeLease(bad, time.Now(), 9))
	waitFor(t, 5*time.Second, "rejection counted on both sides", func() bool {
		return a.p.Status().Counters.UpdatesRejected == 1 && b.p.Status().Counters.ApplyFailures == 1
	})
	if got := a.p.LeaseTime(time.Hour, lease.Lease{IP: bad}); got > a.p.cfg.MCLT {
		t.Fatalf("a rejected update raised the lease limit to %v", got)
	}
}

// TestBothRecoveringWithBindingsExchange starts two servers that have
// bindings but no failover history: both are in RECOVER, both ask for every
// binding, and each must answer the other while still recovering.
func TestBothRecoveringWithBindingsExchange(t *testing.T) {
	addr := freePort(t)
	own := newOwnership()
	now := time.Now()
	asrv, bsrv := newFakeServer("primary", own, nil), newFakeServer("secondary", own, nil)
	fromA, fromB := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	asrv.ApplyBinding(activeLease(fromA, now, 1))
	bsrv.ApplyBinding(activeLease(fromB, now, 2))
	a := start(t, testConfig(fsm.Primary, addr), asrv)
	b := start(t, testConfig(fsm.Secondary, addr), bsrv)
	waitFor(t, 10*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })
	if _, ok := asrv.binding(fromB); !ok {
		t.Error("primary lacks the secondary's binding")
	}
	if _, ok := bsrv.binding(fromA); !ok {
		t.Error("secondary lacks the primary's binding")
	}
}

// TestContactFollowsPartnerReceiveTimer gives the primary a long contact
// interval and the secondary a short receive timer: the primary must talk
// often enough for the partner's timer, which CONNECTACK announced.
func TestContactFollowsPartnerReceiveTimer(t *testing.T) {
	a, b, _ := pair(t, func(p, s *Config) {
		p.ReceiveTimer, p.ContactInterval, p.StartupWait = 10*time.Second, 3*time.Second, time.Second
		s.ReceiveTimer, s.ContactInterval = time.Second, 300*time.Millisecond
	})
	time.Sleep(2500 * time.Millisecond)
	if st := b.p.Status(); !st.Connected || st.Counters.Timeouts != 0 || st.Counters.Connections != 1 {
		t.Fatalf("secondary lost the quiet primary: %+v", st.Counters)
	}
	if !a.p.Status().Connected {
		t.Fatal("primary disconnected")
	}
}

// scriptedPrimary is a hand-driven primary on a raw connection.
type scriptedPrimary struct {
	t    *testing.T
	conn net.Conn
	sess *auth.Session
	xid  uint32
}

func (s *scriptedPrimary) send(m *wire.Message) {
	s.t.Helper()
	s.xid++
	m.XID = s.xid
	b, err := s.sess.Seal(m)
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.conn.Write(b); err != nil {
		s.t.Fatal(err)
	}
}

// await reads until a message of type want arrives.
func (s *scriptedPrimary) await(want wire.MsgType) *wire.Message {
	s.t.Helper()
	for {
		s.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		raw, m, err := wire.ReadMessage(s.conn, nil)
		if err != nil {
			s.t.Fatalf("waiting for %s: %v", want, err)
		}
		if err := s.sess.Open(raw, m); err != nil {
			s.t.Fatal(err)
		}
		if m.Type == want {
			return m
		}
	}
}

// connect dials the secondary with split percent and brings it to NORMAL.
func connectScripted(t *testing.T, addr string, secret []byte, percent int) *scriptedPrimary {
	var conn net.Conn
	waitFor(t, 5*time.Second, "secondary listening", func() bool {
		c, err := net.Dial("tcp", addr)
		conn = c
		return err == nil
	})
	t.Cleanup(func() { conn.Close() })
	s := &scriptedPrimary{t: t, conn: conn, sess: auth.NewSession(secret, true)}
	m := &wire.Message{Type: wire.MsgConnect}
	m.Add(wire.OptRelationshipName, []byte("test-pair"))
	m.AddUint32(wire.OptMCLT, 2)
	hba := wire.HBAFromBuckets(loadbalance.SplitBuckets(percent))
	m.Add(wire.OptHashBucketAssignment, hba[:])
	s.send(m)
	s.await(wire.MsgConnectAck)
	s.send((&wire.Message{Type: wire.MsgState}).AddUint8(wire.OptServerState, uint8(wire.StateNormal)).AddUint8(wire.OptServerFlags, 0))
	return s
}

// TestInterruptedSplitKeepsConservativeShare cuts a split change between
// the secondary's acknowledgement and the primary's commit: the secondary
// must keep the smaller of its old and new address shares until the next
// CONNECT tells it the primary's map, so that the two shares never overlap.
func TestInterruptedSplitKeepsConservativeShare(t *testing.T) {
	addr := freePort(t)
	sc := testConfig(fsm.Secondary, addr)
	srv := newFakeServer("secondary", newOwnership(), nil)
	b := start(t, sc, srv)

	s := connectScripted(t, addr, sc.Secret, 50)
	if upd := s.await(wire.MsgUpdReqAll); upd != nil { // the secondary recovers first
		s.send(&wire.Message{Type: wire.MsgUpdDone})
	}
	waitFor(t, 5*time.Second, "secondary NORMAL", stateIs(b, "NORMAL"))
	if got := srv.policy().PrimaryShare; got != 50 {
		t.Fatalf("share %d before the change", got)
	}

	// Proposal: the primary takes 70%. The secondary shrinks at once.
	prep := &wire.Message{Type: msgSplitPrepare}
	hba := wire.HBAFromBuckets(loadbalance.SplitBuckets(70))
	prep.Add(wire.OptHashBucketAssignment, hba[:])
	s.send(prep)
	s.await(msgSplitAck)
	p := srv.policy()
	if p.PrimaryShare != 70 || loadbalance.Count(p.Buckets) != 256-179 {
		t.Fatalf("after PREPARE: share %d, %d buckets; want 70 and %d", p.PrimaryShare, loadbalance.Count(p.Buckets), 256-179)
	}
	// The connection dies before COMMIT: the conservative share stays.
	s.conn.Close()
	waitFor(t, 3*time.Second, "COMMUNICATIONS-INTERRUPTED", stateIs(b, "COMMUNICATIONS-INTERRUPTED"))
	if got := srv.policy().PrimaryShare; got != 70 {
		t.Fatalf("interrupted change: secondary's share went back to %d%% of the primary", got)
	}
	if v, _, _ := srv.GetMeta(shareFloorKey); len(v) != 1 || v[0] != 70 {
		t.Fatalf("share floor not stored: %v", v)
	}
	// The primary reconnects with its old map (it never got to commit).
	connectScripted(t, addr, sc.Secret, 50)
	waitFor(t, 3*time.Second, "the primary's map adopted", func() bool { return srv.policy().PrimaryShare == 50 })
}
