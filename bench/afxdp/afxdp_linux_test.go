//go:build linux

package afxdp

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/vishvananda/netlink"

	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/loadgen"
	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/responder"
	"github.com/xdhcp/xdhcp/bench/stats"
	"github.com/xdhcp/xdhcp/bench/xdpecho"
)

var _ loadgen.PacketIO = (*Conn)(nil)

const xdpPass = 2

func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for BPF programs, network namespaces and AF_XDP sockets; run as root")
	}
}

func TestCounterNamesMatchC(t *testing.T) {
	if int(redirectXskCounterXSK_COUNTER_LEN) != len(CounterNames) {
		t.Errorf("C has %d counters, Go names %d", redirectXskCounterXSK_COUNTER_LEN, len(CounterNames))
	}
}

func mustLoadProgram(t *testing.T, cfg programConfig) *program {
	t.Helper()
	skipUnlessRoot(t)
	p, err := loadProgram(cfg)
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel lacks a feature: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.close() })
	return p
}

func mustFrame(t *testing.T, m frame.Message) []byte {
	t.Helper()
	buf := make([]byte, frame.MaxLen)
	n, err := frame.Build(buf, &m)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func arpFrame(op uint16, target [4]byte) []byte {
	buf := make([]byte, 64)
	n := frame.BuildARP(buf, &frame.ARP{Op: op, SenderMAC: [6]byte{2, 0, 0, 0, 0, 1}, SenderIP: [4]byte{10, 99, 0, 1}, TargetIP: target})
	return buf[:n]
}

// TestProgramClassifies runs the program on frames with no socket
// registered, so each wanted frame lands in NoSocket and the rest in
// Passed or StackARP, always with XDP_PASS.
func TestProgramClassifies(t *testing.T) {
	own := [4]byte{10, 99, 0, 2}
	reply := frame.Message{SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{255, 255, 255, 255, 255, 255}, SrcIP: [4]byte{10, 99, 0, 1},
		DstIP: [4]byte{255, 255, 255, 255}, SrcPort: 67, DstPort: 68, Op: frame.OpReply, XID: 7, Type: frame.Offer}
	with := func(mut func(m *frame.Message)) frame.Message { m := reply; mut(&m); return m }
	tests := []struct {
		name  string
		arp   bool
		frame func(t *testing.T) []byte
		want  Counter
	}{
		{"reply to port 68", true, func(t *testing.T) []byte { return mustFrame(t, reply) }, NoSocket},
		{"relay reply to port 67", true, func(t *testing.T) []byte {
			return mustFrame(t, with(func(m *frame.Message) { m.DstPort = 67 }))
		}, NoSocket},
		{"other UDP port", true, func(t *testing.T) []byte {
			return mustFrame(t, with(func(m *frame.Message) { m.DstPort = 5353 }))
		}, Passed},
		{"later fragment", true, func(t *testing.T) []byte {
			b := mustFrame(t, reply)
			b[21] = 1 // fragment offset 8 bytes
			return b
		}, Passed},
		{"first fragment (as the socket filter: its UDP header is there)", true, func(t *testing.T) []byte {
			b := mustFrame(t, reply)
			b[20] |= 0x20 // more fragments
			return b
		}, NoSocket},
		{"not UDP", true, func(t *testing.T) []byte {
			b := mustFrame(t, reply)
			b[23] = 6
			return b
		}, Passed},
		{"IPv6 ethertype", true, func(t *testing.T) []byte {
			b := mustFrame(t, reply)
			b[12], b[13] = 0x86, 0xdd
			return b
		}, Passed},
		{"truncated IPv4", true, func(t *testing.T) []byte { return mustFrame(t, reply)[:30] }, Passed},
		{"Ethernet header only", true, func(t *testing.T) []byte { return mustFrame(t, reply)[:14] }, Passed},
		{"ARP reply", true, func(t *testing.T) []byte { return arpFrame(frame.ARPReply, own) }, NoSocket},
		{"ARP request for a client", true, func(t *testing.T) []byte { return arpFrame(frame.ARPRequest, [4]byte{10, 64, 0, 9}) }, NoSocket},
		{"ARP request for the interface", true, func(t *testing.T) []byte { return arpFrame(frame.ARPRequest, own) }, StackARP},
		{"ARP not asked for", false, func(t *testing.T) []byte { return arpFrame(frame.ARPReply, own) }, Passed},
	}
	progs := map[bool]*program{}
	for _, arp := range []bool{false, true} {
		progs[arp] = mustLoadProgram(t, programConfig{ports: []uint16{67, 68}, arp: arp, ownAddrs: [][4]byte{own}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := progs[tt.arp]
			before, err := p.counters()
			if err != nil {
				t.Fatal(err)
			}
			ret, err := p.run(tt.frame(t))
			if err != nil {
				t.Fatal(err)
			}
			after, err := p.counters()
			if err != nil {
				t.Fatal(err)
			}
			if ret != xdpPass {
				t.Errorf("verdict %d, want XDP_PASS", ret)
			}
			for i := range after {
				want := uint64(0)
				if Counter(i) == tt.want {
					want = 1
				}
				if d := after[i] - before[i]; d != want {
					t.Errorf("counter %s moved by %d, want %d", CounterNames[i], d, want)
				}
			}
		})
	}
}

func TestLoadRejectsTooManyPorts(t *testing.T) {
	skipUnlessRoot(t)
	if _, err := loadProgram(programConfig{ports: []uint16{1, 2, 3, 4, 5}}); err == nil {
		t.Error("loadProgram took 5 ports")
	}
}

func mustTopology(t *testing.T, prefix string) *netns.Topology {
	t.Helper()
	skipUnlessRoot(t)
	topo, err := netns.New(context.Background(), &netns.Config{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	return topo
}

func mustOpen(t *testing.T, ns, iface string, cfg *Config) *Conn {
	t.Helper()
	var c *Conn
	if err := netns.Do(ns, func() (err error) { c, err = Open(iface, cfg); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustRaw(t *testing.T, ns, iface string, cfg *rawio.Config) *rawio.Conn {
	t.Helper()
	var c *rawio.Conn
	if err := netns.Do(ns, func() (err error) { c, err = rawio.Open(iface, cfg); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestSendReceive exchanges frames with a packet socket on the peer: what
// the socket sends arrives, the wanted frames come back through it, and
// the others reach the generator namespace's stack.
func TestSendReceive(t *testing.T) {
	topo := mustTopology(t, "xbxsk")
	peer := mustRaw(t, topo.SrvNS, topo.SrvIface, &rawio.Config{Ports: []uint16{67}, ARP: true})
	gen := mustOpen(t, topo.GenNS, topo.GenIface, &Config{ARP: true, Batch: 32})
	t.Logf("mode: %s", gen.Mode())
	// A UDP socket in the generator's namespace catches what passes.
	var stack net.PacketConn
	if err := netns.Do(topo.GenNS, func() (err error) { stack, err = net.ListenPacket("udp4", ":5353"); return err }); err != nil {
		t.Fatal(err)
	}
	defer stack.Close()

	const n = 300 // more than a batch, fewer than the TX frames
	bcast := [6]byte{255, 255, 255, 255, 255, 255}
	var out [][]byte
	for i := 0; i < n; i++ {
		out = append(out, mustFrame(t, frame.Message{SrcMAC: gen.HardwareAddr(), DstMAC: bcast, DstIP: [4]byte{255, 255, 255, 255},
			SrcPort: 68, DstPort: 67, Op: frame.OpRequest, XID: uint32(i), Type: frame.Discover}))
	}
	if sent, err := gen.Send(out); err != nil || sent != n {
		t.Fatalf("Send = %d, %v; want %d", sent, err, n)
	}
	got := map[uint32]bool{}
	for deadline := time.Now().Add(3 * time.Second); len(got) < n && time.Now().Before(deadline); {
		if _, err := peer.Receive(50*time.Millisecond, func(b []byte) {
			var m frame.Message
			if frame.Parse(b, &m) == nil && m.Type == frame.Discover {
				got[m.XID] = true
			}
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != n {
		t.Errorf("peer received %d distinct DISCOVERs, want %d", len(got), n)
	}

	// Back: n replies to port 68, an ARP reply, and 5 datagrams to the
	// stack's port 5353.
	genIP := topo.GenAddr.As4()
	var back [][]byte
	for i := 0; i < n; i++ {
		back = append(back, mustFrame(t, frame.Message{SrcMAC: peer.HardwareAddr(), DstMAC: bcast, SrcIP: topo.SrvAddr.As4(), DstIP: [4]byte{255, 255, 255, 255},
			SrcPort: 67, DstPort: 68, Op: frame.OpReply, XID: uint32(i), Type: frame.Offer}))
	}
	arp := make([]byte, 64)
	back = append(back, arp[:frame.BuildARP(arp, &frame.ARP{Op: frame.ARPReply, SenderMAC: peer.HardwareAddr(), SenderIP: topo.SrvAddr.As4(),
		TargetMAC: gen.HardwareAddr(), TargetIP: genIP})])
	for i := 0; i < 5; i++ {
		back = append(back, mustFrame(t, frame.Message{SrcMAC: peer.HardwareAddr(), DstMAC: gen.HardwareAddr(), SrcIP: topo.SrvAddr.As4(), DstIP: genIP,
			SrcPort: 67, DstPort: 5353, Op: frame.OpReply, XID: uint32(i), Type: frame.Offer}))
	}
	if sent, err := peer.Send(back); err != nil || sent != len(back) {
		t.Fatalf("peer Send = %d, %v; want %d", sent, err, len(back))
	}
	replies, arps := map[uint32]bool{}, 0
	for deadline := time.Now().Add(3 * time.Second); (len(replies) < n || arps == 0) && time.Now().Before(deadline); {
		if _, err := gen.Receive(50*time.Millisecond, func(b []byte) {
			var a frame.ARP
			if frame.ParseARP(b, &a) {
				arps++
				return
			}
			var m frame.Message
			if err := frame.Parse(b, &m); err != nil {
				t.Errorf("parse received frame: %v", err)
				return
			}
			if m.DstPort != 68 {
				t.Errorf("socket got a frame to port %d", m.DstPort)
			}
			replies[m.XID] = true
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(replies) != n || arps != 1 {
		t.Errorf("socket received %d distinct replies and %d ARP frames, want %d and 1", len(replies), arps, n)
	}
	_ = stack.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 2048)
	for i := 0; i < 5; i++ {
		if _, _, err := stack.ReadFrom(buf); err != nil {
			t.Fatalf("stack socket got %d of 5 datagrams: %v", i, err)
		}
	}
	s, err := gen.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if s.Program[Redirected] != n+1 || s.Program[NoSocket] != 0 || s.Socket.Rx_dropped != 0 {
		t.Errorf("stats %+v: want %d redirected, none without a socket, none dropped", s, n+1)
	}
}

// TestStackAnswersARPForOwnAddress: with ARP redirected, a request for
// the interface's own address still reaches the kernel, which answers.
func TestStackAnswersARPForOwnAddress(t *testing.T) {
	topo := mustTopology(t, "xbxska")
	peer := mustRaw(t, topo.SrvNS, topo.SrvIface, &rawio.Config{Ports: []uint16{67}, ARP: true})
	gen := mustOpen(t, topo.GenNS, topo.GenIface, &Config{ARP: true})
	buf := make([]byte, 64)
	req := buf[:frame.BuildARP(buf, &frame.ARP{Op: frame.ARPRequest, SenderMAC: peer.HardwareAddr(), SenderIP: topo.SrvAddr.As4(), TargetIP: topo.GenAddr.As4()})]
	if _, err := peer.Send([][]byte{req}); err != nil {
		t.Fatal(err)
	}
	answered := false
	for deadline := time.Now().Add(3 * time.Second); !answered && time.Now().Before(deadline); {
		if _, err := peer.Receive(50*time.Millisecond, func(b []byte) {
			var a frame.ARP
			answered = answered || (frame.ParseARP(b, &a) && a.Op == frame.ARPReply && a.SenderIP == topo.GenAddr.As4() && a.SenderMAC == gen.HardwareAddr())
		}); err != nil {
			t.Fatal(err)
		}
	}
	if !answered {
		t.Error("the generator's stack did not answer ARP for its own address")
	}
	if s, err := gen.Stats(); err != nil || s.Program[StackARP] != 1 {
		t.Errorf("stack_arp counter: %+v, %v; want 1", s.Program, err)
	}
}

// xdpAttached reports whether iface in ns has an XDP program.
func xdpAttached(t *testing.T, ns, iface string) bool {
	t.Helper()
	var l netlink.Link
	if err := netns.Do(ns, func() (err error) { l, err = netlink.LinkByName(iface); return err }); err != nil {
		t.Fatal(err)
	}
	x := l.Attrs().Xdp
	return x != nil && x.Attached
}

func TestCloseDetaches(t *testing.T) {
	topo := mustTopology(t, "xbxskc")
	xdpOn := func() bool { return xdpAttached(t, topo.GenNS, topo.GenIface) }
	var c *Conn
	if err := netns.Do(topo.GenNS, func() (err error) { c, err = Open(topo.GenIface, nil); return err }); err != nil {
		t.Fatal(err)
	}
	if !xdpOn() {
		t.Error("no XDP program on the interface while open")
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if xdpOn() {
		t.Error("XDP program still attached after Close")
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestOpenRefusesABusyInterface: with another XDP program on the
// interface (as the suite's xdp_pass), Open fails and says why.
func TestOpenRefusesABusyInterface(t *testing.T) {
	topo := mustTopology(t, "xbxskb")
	err := netns.Do(topo.GenNS, func() error {
		ifi, err := net.InterfaceByName(topo.GenIface)
		if err != nil {
			return err
		}
		pass, err := xdpecho.AttachPass(ifi.Index)
		if err != nil {
			return err
		}
		t.Cleanup(func() { _ = pass.Close() })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = netns.Do(topo.GenNS, func() error { _, err := Open(topo.GenIface, nil); return err })
	if err == nil || !strings.Contains(err.Error(), "already has an XDP program") {
		t.Errorf("Open: %v; want an error naming the attached program", err)
	}
}

func TestOpenErrors(t *testing.T) {
	skipUnlessRoot(t)
	tests := []struct {
		name  string
		iface string
		cfg   *Config
	}{
		{"missing interface", "no-such-if0", nil},
		{"ring size not a power of two", "lo", &Config{RingSize: 1000}},
		{"negative queue", "lo", &Config{Queue: -1}},
		{"too many ports", "lo", &Config{Ports: []uint16{1, 2, 3, 4, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := Open(tt.iface, tt.cfg); err == nil {
				_ = c.Close()
				t.Error("Open succeeded")
			}
		})
	}
}

// TestGeneratorDORA runs the load generator over the socket against the
// raw-socket and the XDP echo responders.
func TestGeneratorDORA(t *testing.T) {
	for _, useXDP := range []bool{false, true} {
		name := "raw responder"
		if useXDP {
			name = "xdp responder"
		}
		t.Run(name, func(t *testing.T) {
			topo := mustTopology(t, "xbxskg")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			rcfg := responder.Config{ServerIP: topo.SrvAddr}
			if useXDP {
				rcfg = mustAttachEcho(t, topo)
			} else {
				srv := mustRaw(t, topo.SrvNS, topo.SrvIface, &rawio.Config{Ports: []uint16{67}})
				rcfg.ServerMAC = srv.HardwareAddr()
				done := make(chan struct{})
				go func() {
					defer close(done)
					if _, err := responder.Serve(ctx, srv, rcfg); err != nil {
						t.Error(err)
					}
				}()
				t.Cleanup(func() { cancel(); <-done })
			}
			gen := mustOpen(t, topo.GenNS, topo.GenIface, &Config{ARP: true})
			relay := []netip.Addr{topo.SrvAddr}
			scenarios := []struct {
				name string
				cfg  loadgen.Config
				kind stats.Kind
			}{
				{"dora", loadgen.Config{Clients: 5000}, stats.DORA},
				{"renew", loadgen.Config{Scenario: loadgen.ScenarioRenew, Clients: 500}, stats.Renew},
				{"relayed", loadgen.Config{Clients: 500, Relay: topo.GenAddr, Servers: relay}, stats.DORA},
			}
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					cfg := sc.cfg
					cfg.Duration, cfg.Timeout, cfg.Retries = 400*time.Millisecond, 500*time.Millisecond, 2
					res, err := loadgen.Run(ctx, gen, cfg)
					if err != nil {
						t.Fatal(err)
					}
					k := res.Stats.Kinds[sc.kind]
					if k.Completed == 0 || res.DropRatio(sc.kind) > 0 || res.Stats.RxMalformed != 0 || res.Stats.DupAddresses != 0 {
						t.Errorf("%s %+v, malformed %d, duplicates %d", sc.kind, k, res.Stats.RxMalformed, res.Stats.DupAddresses)
					}
					t.Logf("%s: %d %s completed (%.0f/s)", gen.Mode(), k.Completed, sc.kind, res.CompletedRate(sc.kind))
				})
			}
		})
	}
}

// helperEnv, when set to "namespace interface", turns the test binary
// into TestKillLeavesNoProgram's child: it opens a socket there, says
// "open" and waits to be killed.
const helperEnv = "XDHCP_AFXDP_HELPER"

func TestMain(m *testing.M) {
	if arg := os.Getenv(helperEnv); arg != "" {
		ns, iface, _ := strings.Cut(arg, " ")
		if err := netns.Do(ns, func() error { _, err := Open(iface, nil); return err }); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("open")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillLeavesNoProgram opens a socket in a child process, kills it with
// SIGKILL and checks the interface is left without XDP.
func TestKillLeavesNoProgram(t *testing.T) {
	topo := mustTopology(t, "xbxskk")
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"="+topo.GenNS+" "+topo.GenIface)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "open\n" {
		t.Fatalf("child said %q, %v; want open", line, err)
	}
	if !xdpAttached(t, topo.GenNS, topo.GenIface) {
		t.Fatal("no XDP program while the child holds the socket")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for deadline := time.Now().Add(2 * time.Second); xdpAttached(t, topo.GenNS, topo.GenIface); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("XDP program still attached 2 s after the owner was killed")
		}
	}
}
