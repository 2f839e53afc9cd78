package failover

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
)

// cuttableLink forwards TCP connections from its own address to target
// until cut: then it closes them and refuses new ones until healed, as a
// network partition between two partners would.
type cuttableLink struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cutOff bool
	conns  []net.Conn
}

func newCuttableLink(t *testing.T, target string) *cuttableLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cuttableLink{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); c.cut() })
	go c.serve()
	return c
}

func (c *cuttableLink) addr() string { return c.ln.Addr().String() }

func (c *cuttableLink) serve() {
	for {
		in, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		if c.cutOff {
			c.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			c.mu.Unlock()
			in.Close()
			continue
		}
		c.conns = append(c.conns, in, out)
		c.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

func (c *cuttableLink) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cutOff = true
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func (c *cuttableLink) heal() {
	c.mu.Lock()
	c.cutOff = false
	c.mu.Unlock()
}

// TestPartitionedPartnersExchangeWhatTheyMissed: while cut off, both
// partners go COMMUNICATIONS-INTERRUPTED and keep changing bindings; when
// the link heals and both are NORMAL again, each must have sent the other
// every binding it changed meanwhile (draft-12 §9: the transition to
// NORMAL brings the partner up to date), including changes of one address
// made twice (only the last counts).
func TestPartitionedPartnersExchangeWhatTheyMissed(t *testing.T) {
	addr := freePort(t)
	link := newCuttableLink(t, addr)
	own := newOwnership()
	pool := testPool(64)
	pc, sc := testConfig(fsm.Primary, link.addr()), testConfig(fsm.Secondary, addr)
	sc.Partner = "127.0.0.1:1" // only its host matters to the listener
	a := start(t, pc, newFakeServer("primary", own, pool))
	b := start(t, sc, newFakeServer("secondary", own, pool))
	both := func(state string) func() bool {
		return func() bool { return stateIs(a, state)() && stateIs(b, state)() }
	}
	waitFor(t, 10*time.Second, "both NORMAL", both("NORMAL"))

	link.cut()
	waitFor(t, 2*pc.ReceiveTimer+time.Second, "both COMMUNICATIONS-INTERRUPTED", both("COMMUNICATIONS-INTERRUPTED"))
	now := time.Now()
	fromA, fromB := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.101")
	want := map[netip.Addr]lease.Lease{}
	change := func(r *running, l lease.Lease) {
		r.srv.ApplyBinding(l) // the server's own commit
		r.p.Updated(l)
		want[l.IP] = l
	}
	for i := range 20 {
		change(a, activeLease(fromA, now, byte(i)))
		change(b, activeLease(fromB, now, byte(100+i)))
		fromA, fromB = fromA.Next(), fromB.Next()
	}
	// One address of each changes twice: the partner must end with the last.
	gone := activeLease(netip.MustParseAddr("198.51.100.1"), now, 0)
	gone.State, gone.Expiry, gone.Updated = lease.StateReleased, now.Add(time.Second), now.Add(time.Second)
	change(a, gone)
	gone.IP = netip.MustParseAddr("198.51.100.101")
	gone.HWAddr, gone.ClientID = activeLease(gone.IP, now, 100).HWAddr, activeLease(gone.IP, now, 100).ClientID
	change(b, gone)

	link.heal()
	waitFor(t, 10*time.Second, "both NORMAL after the heal", both("NORMAL"))
	waitFor(t, 10*time.Second, "every change of the partition on both sides", func() bool {
		for ip, l := range want {
			for _, r := range []*running{a, b} {
				got, ok := r.srv.binding(ip)
				if !ok || got.State != l.State || got.HWAddr.String() != l.HWAddr.String() || got.Updated.Unix() != l.Updated.Unix() {
					return false
				}
			}
		}
		return true
	})
}
