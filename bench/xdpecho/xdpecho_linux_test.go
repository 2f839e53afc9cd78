//go:build linux

package xdpecho

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/responder"
)

func mustLoad(t *testing.T, cfg Config) *Objects {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF programs; run as root")
	}
	o, err := Load(cfg)
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("kernel lacks a feature: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close() })
	return o
}

func TestCounterNamesMatchC(t *testing.T) {
	if int(echoEchoCounterECHO_COUNTER_LEN) != len(CounterNames) {
		t.Errorf("C has %d counters, Go names %d", echoEchoCounterECHO_COUNTER_LEN, len(CounterNames))
	}
}

// TestEchoAgreesWithGoResponder holds the XDP responder to the Go one.
func TestEchoAgreesWithGoResponder(t *testing.T) {
	mac := [6]byte{2, 0xaa, 0, 0, 0, 1}
	rcfg := responder.Config{ServerIP: netip.MustParseAddr("10.99.0.1"), ServerMAC: mac, Pool: netip.MustParsePrefix("10.64.0.0/10"), LeaseTime: 600}
	o := mustLoad(t, Config{Config: rcfg})
	client := [6]byte{2, 0, 0, 1, 2, 3}
	base := frame.Message{SrcMAC: client, DstMAC: [6]byte{255, 255, 255, 255, 255, 255}, DstIP: [4]byte{255, 255, 255, 255},
		SrcPort: 68, DstPort: 67, Op: frame.OpRequest, XID: 99, Flags: frame.FlagBroadcast, CHAddr: client}
	tests := []struct {
		name     string
		mutate   func(m *frame.Message)
		wantPass bool
	}{
		{"discover", func(m *frame.Message) { m.Type = frame.Discover }, false},
		{"request", func(m *frame.Message) {
			m.Type, m.ServerID, m.RequestedIP = frame.Request, [4]byte{10, 99, 0, 1}, [4]byte{10, 64, 1, 2}
		}, false},
		{"renew", func(m *frame.Message) {
			m.Type, m.Ciaddr, m.SrcIP, m.DstIP = frame.Request, [4]byte{10, 64, 1, 2}, [4]byte{10, 64, 1, 2}, [4]byte{10, 99, 0, 1}
		}, false},
		{"relayed discover", func(m *frame.Message) {
			m.Type, m.Giaddr, m.SrcPort, m.SrcMAC = frame.Discover, [4]byte{10, 99, 0, 2}, 67, [6]byte{2, 7, 7, 7, 7, 7}
			m.CircuitID = []byte{0, 0, 0, 1}
		}, false},
		{"release passes", func(m *frame.Message) { m.Type = frame.Release }, true},
		{"not to port 67 passes", func(m *frame.Message) { m.Type, m.DstPort = frame.Discover, 68 }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base
			tt.mutate(&m)
			in := make([]byte, frame.MaxLen)
			n, err := frame.Build(in, &m)
			if err != nil {
				t.Fatal(err)
			}
			ret, out, err := o.RunEcho(in[:n])
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantPass {
				if ret != 2 { // XDP_PASS
					t.Errorf("verdict %d, want XDP_PASS", ret)
				}
				return
			}
			if ret != 3 { // XDP_TX
				t.Fatalf("verdict %d, want XDP_TX", ret)
			}
			var got, want frame.Message
			if err := frame.Parse(out, &got); err != nil {
				t.Fatalf("parse XDP reply: %v", err)
			}
			wbuf := make([]byte, frame.MaxLen)
			wn := responder.Reply(&rcfg, &m, wbuf)
			if err := frame.Parse(wbuf[:wn], &want); err != nil {
				t.Fatal(err)
			}
			if got.Type != want.Type || got.Yiaddr != want.Yiaddr || got.XID != want.XID || got.DstMAC != want.DstMAC ||
				got.DstIP != want.DstIP || got.DstPort != want.DstPort || got.SrcMAC != want.SrcMAC || got.SrcIP != want.SrcIP ||
				got.ServerID != want.ServerID || got.LeaseTime != want.LeaseTime || got.Op != frame.OpReply {
				t.Errorf("XDP reply differs from Go responder:\n got %+v\nwant %+v", got, want)
			}
		})
	}
	c, err := o.Counters()
	if err != nil {
		t.Fatal(err)
	}
	if c[Offers] != 2 || c[Acks] != 2 || c[Passed] != 2 {
		t.Errorf("counters %v", c)
	}
}

// TestFloodLiveFrames sends DISCOVERs with BPF_PROG_TEST_RUN live frames
// out of one end of a veth pair and counts them at the other.
func TestFloodLiveFrames(t *testing.T) {
	o := mustLoad(t, Config{FloodSeed: 7})
	topo, err := netns.New(context.Background(), &netns.Config{Prefix: "xbxdp"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	var srv *rawio.Conn
	if err := netns.Do(topo.SrvNS, func() (err error) {
		srv, err = rawio.Open(topo.SrvIface, &rawio.Config{Ports: []uint16{67}})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The receiving veth end needs NAPI (GRO) to accept XDP-transmitted frames.
	if out, err := netns.Command(context.Background(), topo.SrvNS, "ethtool", "-K", topo.SrvIface, "gro", "on").CombinedOutput(); err != nil {
		t.Skipf("cannot enable GRO with ethtool: %v: %s", err, out)
	}
	m := frame.Message{DstMAC: [6]byte{255, 255, 255, 255, 255, 255}, DstIP: [4]byte{255, 255, 255, 255}, SrcPort: 68, DstPort: 67,
		Op: frame.OpRequest, Flags: frame.FlagBroadcast, Type: frame.Discover}
	tmpl := make([]byte, frame.MaxLen)
	n, _ := frame.Build(tmpl, &m)
	const count = 1000
	err = netns.Do(topo.GenNS, func() error {
		ifi, err := net.InterfaceByName(topo.GenIface)
		if err != nil {
			return err
		}
		return o.Flood(tmpl[:n], ifi.Index, count, 64)
	})
	if errors.Is(err, ebpf.ErrNotSupported) {
		t.Skipf("live frames not supported: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	macs := map[[6]byte]bool{}
	deadline := time.Now().Add(2 * time.Second)
	for len(macs) < count && time.Now().Before(deadline) {
		_, err := srv.Receive(20*time.Millisecond, func(b []byte) {
			var got frame.Message
			if frame.Parse(b, &got) == nil && got.Type == frame.Discover && got.CHAddr[0] == 0x06 && got.CHAddr[1] == 7 && got.SrcMAC == got.CHAddr {
				macs[got.CHAddr] = true
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(macs) != count {
		t.Errorf("received %d distinct flood MACs, want %d", len(macs), count)
	}
	c, _ := o.Counters()
	if c[Flooded] != count {
		t.Errorf("flood counter %d, want %d", c[Flooded], count)
	}
}
