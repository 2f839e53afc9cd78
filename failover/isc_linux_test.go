//go:build linux

package failover

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/internal/dhcpclients"
	"github.com/xdhcp/xdhcp/internal/netns"
	"go.uber.org/zap/zaptest"
)

// iscPeer is ISC dhcpd 4.4 running in a namespace of its own, joined by
// a veth to a second namespace where our engine runs.
type iscPeer struct {
	isc, ours *netns.NS
	log       string
	leases    string
}

// startISC starts dhcpd as role ("primary" or "secondary") at iscAddr with
// the partner at ourAddr, in a fresh pair of namespaces.
func startISC(t *testing.T, role, iscAddr, ourAddr string) *iscPeer {
	t.Helper()
	netns.RequireRoot(t)
	if err := dhcpclients.CheckTools("dhcpd"); err != nil {
		t.Skipf("needs ISC dhcpd: %v", err)
	}
	e := &iscPeer{isc: netns.New(t, "foi"), ours: netns.New(t, "foo")}
	netns.VethPair(t, e.isc, "fo0", e.ours, "fo0")
	for _, s := range []struct {
		ns   *netns.NS
		addr string
	}{{e.isc, iscAddr}, {e.ours, ourAddr}} {
		if err := s.ns.AddAddr("fo0", s.addr+"/24"); err != nil {
			t.Fatal(err)
		}
		if err := s.ns.LinkUp("fo0"); err != nil {
			t.Fatal(err)
		}
	}
	extra := ""
	if role == "primary" {
		extra = "mclt 60; split 128;"
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "dhcpd.conf")
	leases := filepath.Join(dir, "dhcpd.leases")
	e.log = filepath.Join(dir, "dhcpd.log")
	e.leases = leases
	os.WriteFile(conf, []byte(fmt.Sprintf(`authoritative;
failover peer "isc-pair" {
  %s; address %s; port 647; peer address %s; peer port 647;
  max-response-delay 10; max-unacked-updates 10; load balance max seconds 3;
  %s
}
subnet 192.0.2.0 netmask 255.255.255.0 {
  pool { failover peer "isc-pair"; range 192.0.2.100 192.0.2.115; }
}
`, role, iscAddr, ourAddr, extra)), 0o644)
	os.WriteFile(leases, nil, 0o644)
	logf, err := os.Create(e.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd := e.isc.Command(context.Background(), "dhcpd", "-f", "-d", "-4", "-cf", conf, "-lf", leases, "-pf", filepath.Join(dir, "pid"), "fo0")
	cmd.Stdout, cmd.Stderr = logf, logf
	proc, err := e.isc.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proc.Stop(5 * time.Second) })
	return e
}

func (e *iscPeer) logText() string { b, _ := os.ReadFile(e.log); return string(b) }

// runOurs runs our engine until the test ends.
func runOurs(t *testing.T, p *Peer) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}

// waitPaired waits for both sides to be NORMAL and for extra to hold.
func (e *iscPeer) waitPaired(t *testing.T, p *Peer, srv *fakeServer, extra func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := p.Status()
		if st.State == "NORMAL" && st.PartnerState == "NORMAL" && strings.Contains(e.logText(), "Both servers normal") && extra() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no NORMAL pair with ISC: our status %+v, BACKUP %d, FREE %d\nISC log:\n%s", st, srv.count(lease.StateBackup), srv.count(lease.StateFree), e.logText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func iscTestConfig(role fsm.Role, listen, partner string) Config {
	return Config{
		Name: "isc-pair", Role: role, Listen: listen, Partner: partner,
		Mode: fsm.LoadBalance, SplitPercent: 50, MCLT: 60 * time.Second, MaxUnackedBndUpd: 10,
		ReceiveTimer: 10 * time.Second, StartupWait: 2 * time.Second, BalanceInterval: time.Second,
	}
}

// TestPairWithISCPrimary runs ISC dhcpd 4.4 as the primary and our engine
// as the secondary: both must reach NORMAL, and ISC's pool balancing must
// hand us BACKUP addresses through BNDUPDs we acknowledge.
func TestPairWithISCPrimary(t *testing.T) {
	e := startISC(t, "primary", "192.0.2.1", "192.0.2.2")
	var ln net.Listener
	if err := e.ours.Do(func() (err error) {
		ln, err = net.Listen("tcp", "192.0.2.2:647")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	srv := newFakeServer("ours", newOwnership(), nil)
	p, err := New(iscTestConfig(fsm.Secondary, "192.0.2.2:647", "192.0.2.1:647"), srv, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p.listener = ln
	runOurs(t, p)
	e.waitPaired(t, p, srv, func() bool { return srv.count(lease.StateBackup) > 0 })
	st := p.Status()
	if st.Counters.Malformed != 0 || st.Counters.UpdatesReceived == 0 || st.SplitPercent != 50 {
		t.Fatalf("status %+v (ISC's split 128 is 50%%)", st)
	}
	t.Logf("paired with an ISC primary: received %d BACKUP and %d FREE bindings", srv.count(lease.StateBackup), srv.count(lease.StateFree))
}

// TestPairWithISCSecondary runs our engine as the primary and ISC dhcpd 4.4
// as the secondary: both must reach NORMAL, and ISC must accept the BNDUPDs
// in which our pool balancing gives it half the free addresses.
func TestPairWithISCSecondary(t *testing.T) {
	e := startISC(t, "secondary", "192.0.2.2", "192.0.2.1")
	srv := newFakeServer("ours", newOwnership(), iscPool())
	p, err := New(iscTestConfig(fsm.Primary, "192.0.2.1:647", "192.0.2.2:647"), srv, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	p.dial = func(ctx context.Context, addr string) (conn net.Conn, err error) {
		err = e.ours.Do(func() error {
			d := net.Dialer{Timeout: 5 * time.Second}
			conn, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return conn, err
	}
	runOurs(t, p)
	e.waitPaired(t, p, srv, func() bool { return p.Status().Counters.UpdatesAcked >= 8 })
	st := p.Status()
	if st.Counters.UpdatesRejected != 0 || st.Counters.Malformed != 0 || srv.count(lease.StateBackup) != 8 {
		t.Fatalf("status %+v, BACKUP %d\nISC log:\n%s", st, srv.count(lease.StateBackup), e.logText())
	}
	// ISC records what it accepted in its lease file: 8 addresses are now
	// the secondary's (BACKUP).
	waitFor(t, 10*time.Second, "ISC's lease file to hold our BACKUP transfers", func() bool {
		return backupLeases(e.leases) >= 8
	})
	t.Logf("paired with an ISC secondary: %d BNDUPDs acked, %d BACKUP leases in its file", st.Counters.UpdatesAcked, backupLeases(e.leases))
}

func iscPool() []netip.Addr {
	var out []netip.Addr
	for ip := netip.MustParseAddr("192.0.2.100"); ip.Compare(netip.MustParseAddr("192.0.2.115")) <= 0; ip = ip.Next() {
		out = append(out, ip)
	}
	return out
}

// backupLeases counts the distinct addresses whose last record in an ISC
// lease file is in binding state backup.
func backupLeases(path string) int {
	b, _ := os.ReadFile(path)
	last := map[string]string{}
	var ip string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "lease "); ok {
			ip, _, _ = strings.Cut(rest, " ")
		}
		if rest, ok := strings.CutPrefix(line, "binding state "); ok && ip != "" {
			last[ip] = strings.TrimSuffix(rest, ";")
		}
	}
	n := 0
	for _, st := range last {
		if st == "backup" {
			n++
		}
	}
	return n
}
