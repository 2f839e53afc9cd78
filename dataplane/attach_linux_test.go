package dataplane

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/netns"
)

// vethPair makes two namespaces joined by a veth pair: the server side
// "xd0" and the client side "cl0".
func vethPair(t *testing.T) (server, client *netns.NS) {
	t.Helper()
	requireBPF(t)
	server, client = netns.New(t, "xdp-srv"), netns.New(t, "xdp-cli")
	netns.VethPair(t, server, "xd0", client, "cl0")
	return server, client
}

func attachIn(t *testing.T, ns *netns.NS, d *Dataplane, ifname string) (AttachMode, error) {
	t.Helper()
	var mode AttachMode
	var err error
	inNetns(t, ns.Name, func() { mode, err = d.Attach(ifname) })
	return mode, err
}

func mustAttach(t *testing.T, ns *netns.NS, d *Dataplane, ifname string, want AttachMode) {
	t.Helper()
	mode, err := attachIn(t, ns, d, ifname)
	if err != nil {
		t.Fatal(err)
	}
	if mode != want {
		t.Fatalf("attached in %s mode, want %s", mode, want)
	}
	if xdpProgID(t, ns, ifname) == 0 {
		t.Fatalf("no XDP program on %s after Attach", ifname)
	}
}

// TestVethAttach attaches the program to a veth, sends real frames from the
// peer and checks what reached the server side and what was counted.
func TestVethAttach(t *testing.T) {
	server, client := vethPair(t)
	d := mustDataplane(t, config.Dataplane{SecsBypass: 3})
	mustAttach(t, server, d, "xd0", AttachNative)
	if err := d.SetSplit(50, true); err != nil {
		t.Fatal(err)
	}
	rx, tx := openPacketSocket(t, server, "xd0"), openPacketSocket(t, client, "cl0")
	const xid = 0x58440001
	withXID := func(m *msg) { m.xid = xid }
	send := func(n int, fr []byte) {
		for range n {
			tx.send(t, fr)
		}
	}
	send(10, dhcpFrame(newMsg(withMAC(ourMAC), withXID)))
	send(10, dhcpFrame(newMsg(withMAC(partnerMAC), withXID)))
	send(4, dhcpFrame(newMsg(withMAC(partnerMAC), withXID, withSecs(9))))
	send(5, dhcpFrame(newMsg(withMAC(partnerMAC), withXID, withType(dhcpRequest), withCiaddr())))
	send(3, frame{vlanTPIDs: []uint16{etherType8021Q}, payload: newMsg(withMAC(partnerMAC), withXID).bytes()}.bytes())
	send(3, frame{payload: newMsg(withXID).bytes()[:100]}.bytes())
	send(2, frame{dport: 53, payload: []byte("not dhcp")}.bytes())

	got := rx.drain(xid)
	if len(got) != 10+4+5 {
		t.Errorf("server side saw %d DHCP frames, want the 19 passed (10 ours, 4 secs bypass, 5 renewals)", len(got))
	}
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[Verdict]uint64{
		passOurs:       10,
		dropPartner:    10 + 3,
		passBypass:     4,
		passUnbalanced: 5,
		dropMalformed:  3,
	} {
		if n := s.Packets(v); n != want {
			t.Errorf("%s = %d, want %d", v, n, want)
		}
	}
	if n := s.Packets(passNotDHCP); n < 2 {
		t.Errorf("%s = %d, want at least 2", passNotDHCP, n)
	}
	assertAttachedMetric(t, d, "xd0", "native")

	if err := d.Detach("xd0"); err != nil {
		t.Fatal(err)
	}
	if id := xdpProgID(t, server, "xd0"); id != 0 {
		t.Fatalf("program %d still on xd0 after Detach", id)
	}
	send(3, dhcpFrame(newMsg(withMAC(partnerMAC), withXID)))
	if got := rx.drain(xid); len(got) != 3 {
		t.Errorf("after Detach the server side saw %d of 3 partner frames", len(got))
	}
}

func assertAttachedMetric(t *testing.T, d *Dataplane, ifname, mode string) {
	t.Helper()
	mfs := gather(t, d)
	for _, mf := range mfs {
		if mf.GetName() != "xdhcp_dataplane_attached" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["interface"] == ifname && labels["mode"] == mode {
				return
			}
		}
	}
	t.Errorf("no xdhcp_dataplane_attached{interface=%q,mode=%q}", ifname, mode)
}

// TestVethRealClient runs BusyBox udhcpc on the client side: its DISCOVERs
// are dropped while we own no bucket and pass once balancing is off.
func TestVethRealClient(t *testing.T) {
	if _, err := exec.LookPath("udhcpc"); err != nil {
		t.Skip("udhcpc not installed (apt-get install udhcpc)")
	}
	server, client := vethPair(t)
	d := mustDataplane(t, config.Dataplane{})
	mustAttach(t, server, d, "xd0", AttachNative)
	udhcpc := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		// No server answers: udhcpc sends 2 DISCOVERs a second apart and
		// exits. Its script is /bin/true, so it touches nothing.
		cmd := client.Command(ctx, "udhcpc", "-i", "cl0", "-f", "-n", "-q", "-t", "2", "-T", "1", "-A", "1", "-s", "/bin/true")
		out, _ := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("udhcpc did not exit: %s", out)
		}
	}
	if err := d.SetBuckets([256]bool{}); err != nil { // balancing on, nothing ours
		t.Fatal(err)
	}
	udhcpc()
	s, err := d.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Packets(dropPartner); n < 2 {
		t.Errorf("owning no bucket: %s = %d, want udhcpc's DISCOVERs (at least 2)", dropPartner, n)
	}
	if n := s.Packets(passOurs); n != 0 {
		t.Errorf("owning no bucket: %s = %d, want 0", passOurs, n)
	}
	if err := d.SetLoadBalancing(false); err != nil {
		t.Fatal(err)
	}
	udhcpc()
	if s, err = d.Stats(); err != nil {
		t.Fatal(err)
	}
	if n := s.Packets(passOurs); n < 2 {
		t.Errorf("balancing off: %s = %d, want udhcpc's DISCOVERs (at least 2)", passOurs, n)
	}
}

// TestAttachModes covers generic mode, native failing on a device without
// native XDP (loopback), and auto falling back to generic there (and
// saying so).
func TestAttachModes(t *testing.T) {
	server, _ := vethPair(t)
	// The namespace's loopback device has no native XDP.
	const noNative = "lo"

	generic := mustDataplane(t, config.Dataplane{Mode: config.DataplaneGeneric})
	mustAttach(t, server, generic, "xd0", AttachGeneric)
	assertAttachedMetric(t, generic, "xd0", "generic")
	if _, err := attachIn(t, server, generic, "xd0"); err == nil {
		t.Error("a second Attach to the same interface succeeded")
	}
	if err := generic.Close(); err != nil {
		t.Fatal(err)
	}
	if id := xdpProgID(t, server, "xd0"); id != 0 {
		t.Fatalf("program %d left on xd0 after Close", id)
	}

	native := mustDataplane(t, config.Dataplane{Mode: config.DataplaneNative})
	if _, err := attachIn(t, server, native, noNative); err == nil {
		t.Error("native attach to loopback succeeded; the kernel should refuse it")
	}

	core, logs := observer.New(zap.WarnLevel)
	auto, err := New(config.Dataplane{Mode: config.DataplaneAuto}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	mustAttach(t, server, auto, noNative, AttachGeneric)
	if logs.FilterMessageSnippet("falling back to generic").Len() != 1 {
		t.Errorf("auto mode fell back without saying so; logs: %v", logs.All())
	}
	if _, err := attachIn(t, server, auto, "nosuch0"); err == nil {
		t.Error("attach to a missing interface succeeded")
	}
}

// TestAttachReplacesStale leaves a program attached through netlink, as an
// older run or another loader would, and checks that Attach replaces it.
func TestAttachReplacesStale(t *testing.T) {
	server, _ := vethPair(t)
	old := mustDataplane(t, config.Dataplane{})
	inNetns(t, server.Name, func() {
		l, err := netlink.LinkByName("xd0")
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetXdpFdWithFlags(l, old.objs.XdhcpXdp.FD(), nl.XDP_FLAGS_DRV_MODE); err != nil {
			t.Fatal(err)
		}
	})
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	stale := xdpProgID(t, server, "xd0")
	if stale == 0 {
		t.Fatal("the netlink-attached program did not outlive its loader")
	}
	core, logs := observer.New(zap.WarnLevel)
	d, err := New(config.Dataplane{}, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	mustAttach(t, server, d, "xd0", AttachNative)
	if id := xdpProgID(t, server, "xd0"); id == stale {
		t.Fatal("the stale program is still attached")
	}
	if logs.FilterMessageSnippet("replacing").Len() != 1 {
		t.Errorf("the stale program was replaced without a warning; logs: %v", logs.All())
	}

	// A program held by a live bpf_link is not stale: refuse it.
	other := mustDataplane(t, config.Dataplane{})
	if _, err := attachIn(t, server, other, "xd0"); err == nil || !strings.Contains(err.Error(), "cannot be removed") {
		t.Errorf("attach over a live link: %v, want a refusal", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if id := xdpProgID(t, server, "xd0"); id != 0 {
		t.Fatalf("program %d left after Close", id)
	}
}

const helperNetnsEnv = "XDHCP_TEST_ATTACH_NETNS"

// TestHelperProcessAttach is not a test: TestCrashLeavesNoProgram runs the
// test binary with it to attach the program and then be killed.
func TestHelperProcessAttach(t *testing.T) {
	name := os.Getenv(helperNetnsEnv)
	if name == "" {
		t.Skip("helper process for TestCrashLeavesNoProgram")
	}
	d, err := New(config.Dataplane{}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	inNetns(t, name, func() {
		if _, err := d.Attach("xd0"); err != nil {
			t.Fatal(err)
		}
	})
	os.Stdout.WriteString("attached\n")
	time.Sleep(time.Minute)
}

// TestCrashLeavesNoProgram kills a process that attached the program: the
// kernel must remove it with the process, and a restart must attach.
func TestCrashLeavesNoProgram(t *testing.T) {
	server, _ := vethPair(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessAttach$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperNetnsEnv+"="+server.Name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "attached" {
				ready <- nil
				return
			}
		}
		ready <- errors.New("helper exited before attaching")
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("helper did not attach in 30s")
	}
	if xdpProgID(t, server, "xd0") == 0 {
		t.Fatal("helper reported attached but xd0 has no program")
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for xdpProgID(t, server, "xd0") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("program still on xd0 5s after its process was killed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	d := mustDataplane(t, config.Dataplane{})
	mustAttach(t, server, d, "xd0", AttachNative)
}
