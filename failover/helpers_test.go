package failover

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"go.uber.org/zap/zaptest"
)

// ownership records the bucket maps both fake servers have installed and
// counts instants at which a bucket had two owners while both were load
// balancing (NORMAL).
type ownership struct {
	mu         sync.Mutex
	owned      map[string][256]bool
	lb         map[string]bool
	violations []string
	changes    int
}

func newOwnership() *ownership {
	return &ownership{owned: map[string][256]bool{}, lb: map[string]bool{}}
}

func (o *ownership) set(name string, owned [256]bool, lb bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.owned[name], o.lb[name] = owned, lb
	o.changes++
	if len(o.owned) < 2 {
		return
	}
	var names []string
	for n := range o.owned {
		names = append(names, n)
	}
	a, b := names[0], names[1]
	if !o.lb[a] || !o.lb[b] {
		return
	}
	for i := range 256 {
		if o.owned[a][i] && o.owned[b][i] {
			o.violations = append(o.violations, fmt.Sprintf("change %d: bucket %d owned by both", o.changes, i))
			return
		}
	}
}

// fakeServer is an in-memory server behind Deps and FreePools.
type fakeServer struct {
	name     string
	own      *ownership
	mu       sync.Mutex
	meta     map[string][]byte
	binds    map[netip.Addr]lease.Lease
	pool     []netip.Addr
	pol      ServingPolicy
	apply    time.Duration // delay per ApplyBinding, to hold updates in flight
	nApplied int
	nAcked   int
	// ackedStates counts BindingAcked calls per state of the acked update.
	ackedStates map[lease.State]int
	reject      map[netip.Addr]uint8 // ApplyBinding refuses these with the reason
	transient   map[netip.Addr]int   // ApplyBinding refuses these with reason 6 this many more times
}

func newFakeServer(name string, own *ownership, pool []netip.Addr) *fakeServer {
	return &fakeServer{name: name, own: own, meta: map[string][]byte{}, binds: map[netip.Addr]lease.Lease{}, pool: pool}
}

func (f *fakeServer) PutMeta(k string, v []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.meta[k] = append([]byte(nil), v...)
	return nil
}

func (f *fakeServer) GetMeta(k string) ([]byte, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.meta[k]
	return v, ok, nil
}

func (f *fakeServer) ApplyBinding(l lease.Lease) error {
	if f.apply > 0 {
		time.Sleep(f.apply)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.reject[l.IP]; ok {
		return &RejectError{Reason: r, Err: fmt.Errorf("test refuses %s", l.IP)}
	}
	if f.transient[l.IP] > 0 {
		f.transient[l.IP]--
		return fmt.Errorf("test cannot store %s now", l.IP)
	}
	f.binds[l.IP] = l
	f.nApplied++
	return nil
}

func (f *fakeServer) ForEachBinding(fn func(lease.Lease) bool) {
	f.mu.Lock()
	var all []lease.Lease
	for _, l := range f.binds {
		all = append(all, l)
	}
	f.mu.Unlock()
	for _, l := range all {
		if !fn(l) {
			return
		}
	}
}

func (f *fakeServer) SetOwnedBuckets(owned [256]bool, lb bool) error {
	f.own.set(f.name, owned, lb)
	return nil
}

func (f *fakeServer) SetServing(p ServingPolicy) {
	f.mu.Lock()
	f.pol = p
	f.mu.Unlock()
}

func (f *fakeServer) ForEachFree(fn func(netip.Addr, lease.State) bool) {
	f.mu.Lock()
	type e struct {
		ip netip.Addr
		st lease.State
	}
	var out []e
	for _, ip := range f.pool {
		l, ok := f.binds[ip]
		switch {
		case !ok:
			out = append(out, e{ip, lease.StateFree})
		case l.State == lease.StateFree || l.State == lease.StateBackup:
			out = append(out, e{ip, l.State})
		}
	}
	f.mu.Unlock()
	for _, x := range out {
		if !fn(x.ip, x.st) {
			return
		}
	}
}

// GiveFree moves n of this server's free addresses (the primary's FREE,
// the secondary's BACKUP) to the partner's share.
func (f *fakeServer) GiveFree(n int) ([]lease.Lease, error) {
	mine, theirs := lease.StateFree, lease.StateBackup
	if f.name == "secondary" {
		mine, theirs = theirs, mine
	}
	var give []netip.Addr
	f.ForEachFree(func(ip netip.Addr, owner lease.State) bool {
		if owner == mine {
			give = append(give, ip)
		}
		return len(give) < n
	})
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []lease.Lease
	now := time.Now()
	for _, ip := range give {
		l := lease.Lease{IP: ip, State: theirs, Start: now, Updated: now}
		f.binds[ip] = l
		out = append(out, l)
	}
	return out, nil
}

// BindingAcked counts the partner's acknowledgements passed on, per
// state of the acknowledged update.
func (f *fakeServer) BindingAcked(l lease.Lease) {
	f.mu.Lock()
	f.nAcked++
	if f.ackedStates == nil {
		f.ackedStates = map[lease.State]int{}
	}
	f.ackedStates[l.State]++
	f.mu.Unlock()
}

// acked returns how many acknowledgements of updates in state st reached
// BindingAcked.
func (f *fakeServer) acked(st lease.State) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ackedStates[st]
}

func (f *fakeServer) binding(ip netip.Addr) (lease.Lease, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.binds[ip]
	return l, ok
}

func (f *fakeServer) policy() ServingPolicy {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pol
}

func (f *fakeServer) count(st lease.State) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, l := range f.binds {
		if l.State == st {
			n++
		}
	}
	return n
}

// freePort returns a loopback address nobody listens on now.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func testConfig(role fsm.Role, addr string) Config {
	return Config{
		Name: "test-pair", Role: role, Listen: addr, Partner: addr,
		Mode: fsm.LoadBalance, SplitPercent: 50, MCLT: 2 * time.Second,
		MaxUnackedBndUpd: 10, ReceiveTimer: time.Second, ContactInterval: 250 * time.Millisecond,
		StartupWait: 300 * time.Millisecond, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond,
		BalanceInterval: 500 * time.Millisecond, Secret: []byte("a test secret of some length"),
	}
}

// running is a Peer and its server run until stop or the test ends.
type running struct {
	p    *Peer
	srv  *fakeServer
	stop context.CancelFunc
	done chan error
}

func start(t testing.TB, cfg Config, srv *fakeServer) *running {
	t.Helper()
	return startWith(t, cfg, srv, srv)
}

// startWith runs an engine over deps, a server built around srv.
func startWith(t testing.TB, cfg Config, deps Deps, srv *fakeServer) *running {
	t.Helper()
	p, err := New(cfg, deps, zaptest.NewLogger(t).Named(srv.name))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, srv: srv, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	t.Cleanup(r.halt)
	return r
}

func (r *running) halt() {
	r.stop()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		panic("failover Peer.Run did not return after cancel")
	}
	r.done <- nil // make halt idempotent
}

// crash stops the engine the way a crash does: the partner is not told.
func (r *running) crash() {
	r.p.abruptStop.Store(true)
	r.halt()
}

// waitFor polls cond until it holds or timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func stateIs(r *running, s string) func() bool {
	return func() bool { return r.p.Status().State == s }
}

func pair(t testing.TB, mutate func(primary, secondary *Config)) (*running, *running, *ownership) {
	t.Helper()
	addr := freePort(t)
	own := newOwnership()
	pc, sc := testConfig(fsm.Primary, addr), testConfig(fsm.Secondary, addr)
	if mutate != nil {
		mutate(&pc, &sc)
	}
	pool := testPool(64)
	a := start(t, pc, newFakeServer("primary", own, pool))
	b := start(t, sc, newFakeServer("secondary", own, pool))
	waitFor(t, 10*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })
	return a, b, own
}

func testPool(n int) []netip.Addr {
	var out []netip.Addr
	ip := netip.MustParseAddr("192.0.2.10")
	for range n {
		out = append(out, ip)
		ip = ip.Next()
	}
	return out
}

func activeLease(ip netip.Addr, now time.Time, mac byte) lease.Lease {
	return lease.Lease{IP: ip, State: lease.StateActive, HWType: 1, HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, mac},
		ClientID: []byte{1, 2, 0, 0, 0, 0, mac}, Start: now, Expiry: now.Add(time.Hour), Updated: now}
}
