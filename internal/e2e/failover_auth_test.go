package e2e

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// TestFailoverRejectsBadPartners connects to the secondary's failover port
// from a host that is not the partner, sends it garbage and a message that
// stalls after its header from the partner's host, then starts the
// primary with the wrong shared secret: each is refused and counted, and
// the servers keep answering clients throughout.
func TestFailoverRejectsBadPartners(t *testing.T) {
	setup(t, "udhcpc")
	p := newPair(t, pairOpts{percent: 50, mclt: 5 * time.Second})
	p.waitSettled(t, 30*time.Second)
	port := p.foA.Partner.String() // B's failover listener
	before := status(t, p.b)

	// A host that is not the partner is refused before a byte is read.
	if err := p.clients.AddAddr(HostIface, "192.0.2.50/24"); err != nil {
		t.Fatal(err)
	}
	closed, err := talkTo(p.clients, port, []byte("hello from a stranger\n"), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stranger: B closed the connection after %.1fs", closed.Seconds())

	// Garbage from the partner's own host, where B accepts connections.
	junk := make([]byte, 200)
	_, _ = rand.Read(junk)
	closed, err = talkTo(p.lab.Server, port, append([]byte("GET / HTTP/1.0\r\n\r\n"), junk...), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("garbage: B closed the connection after %.1fs", closed.Seconds())

	// A valid-looking header announcing 200 bytes, then silence.
	hdr := make([]byte, 12)
	binary.BigEndian.PutUint16(hdr, 200)
	hdr[2], hdr[3] = 1, 12 // CONNECT, payload at 12
	binary.BigEndian.PutUint32(hdr[4:], uint32(time.Now().Unix()))
	if closed, err = talkTo(p.lab.Server, port, hdr, 15*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("stalled message: B closed the connection after %.1fs (max-response-delay 2s)", closed.Seconds())
	after := status(t, p.b)
	bad := func(c map[string]uint64) uint64 { return c["malformed"] + c["timeouts"] + c["auth-failures"] }
	t.Logf("B counters before %v, after %v", before.Counters, after.Counters)
	if bad(after.Counters)-bad(before.Counters) < 2 {
		t.Errorf("B counted %d of the two bad connections as malformed, timeouts or auth failures", bad(after.Counters)-bad(before.Counters))
	}
	if !Settled(after) || after.Counters["connections"] != before.Counters["connections"] {
		t.Errorf("the real link was disturbed: state %s, partner %s, connections %d -> %d",
			after.State, after.PartnerState, before.Counters["connections"], after.Counters["connections"])
	}
	acquire(t, p.addClient(t, "udhcpc", macFor(0x21, true, secondaryBucket(50))), false, foAddrB.Addr())

	// The primary comes back with another secret.
	if err := p.a.Stop(); err != nil {
		t.Fatal(err)
	}
	wrong := p.foA
	wrong.SecretFile = filepath.Join(t.TempDir(), "other.secret")
	if err := WriteSecret(wrong.SecretFile); err != nil {
		t.Fatal(err)
	}
	p.configure(t, p.a, wrong)
	if err := p.a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := p.b.WaitFailover(ctx, "B refuses the wrong secret", func(st api.FailoverStatus) bool {
		return st.Counters["auth-failures"] > after.Counters["auth-failures"]
	}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second) // the primary keeps retrying; none may get through
	stA, stB := status(t, p.a), status(t, p.b)
	t.Logf("wrong secret: A %s (connected %v, counters %v); B %s (connected %v, counters %v)",
		stA.State, stA.Connected, stA.Counters, stB.State, stB.Connected, stB.Counters)
	if stA.Connected || stB.Connected || stA.State == "NORMAL" || stB.State == "NORMAL" {
		t.Errorf("a partner with the wrong secret was let in: A %s, B %s", stA.State, stB.State)
	}
	// Both still serve: a client of each server's buckets gets a lease.
	acquire(t, p.addClient(t, "udhcpc", macFor(0x22, true, primaryBucket(50))), false, netip.Addr{})
	acquire(t, p.addClient(t, "udhcpc", macFor(0x23, true, secondaryBucket(50))), false, netip.Addr{})

	// With the right secret again the pair is NORMAL: the secret was all.
	if err := p.a.Stop(); err != nil {
		t.Fatal(err)
	}
	p.configure(t, p.a, p.foA)
	if err := p.a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.waitSettled(t, 30*time.Second)
}

// talkTo connects to addr from ns, sends msg and waits up to limit for
// the other side to close the connection; it returns how long that took.
func talkTo(ns *netns.NS, addr string, msg []byte, limit time.Duration) (time.Duration, error) {
	conn, err := dialIn(ns, addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write(msg); err != nil {
		return 0, err
	}
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err = io.Copy(io.Discard, conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return 0, errors.New("the failover listener kept the connection open")
	}
	return time.Since(start), nil
}
