//go:build linux

package rawio

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/netns"
)

func mustTopology(t *testing.T) *netns.Topology {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and packet sockets; run as root")
	}
	topo, err := netns.New(context.Background(), &netns.Config{Prefix: "xbraw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = topo.Close() })
	return topo
}

func mustOpen(t *testing.T, ns, iface string, cfg *Config) *Conn {
	t.Helper()
	var c *Conn
	err := netns.Do(ns, func() (err error) { c, err = Open(iface, cfg); return err })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestSendReceiveFiltered(t *testing.T) {
	topo := mustTopology(t)
	for _, ring := range []bool{false, true} {
		name := "recvmmsg"
		if ring {
			name = "tpacket_v3"
		}
		t.Run(name, func(t *testing.T) {
			srv := mustOpen(t, topo.SrvNS, topo.SrvIface, &Config{Ports: []uint16{67}, RxRing: ring})
			gen := mustOpen(t, topo.GenNS, topo.GenIface, &Config{Ports: []uint16{68}})
			var frames [][]byte
			const want = 100
			for i := 0; i < want+50; i++ {
				m := frame.Message{DstMAC: [6]byte{255, 255, 255, 255, 255, 255}, SrcMAC: gen.HardwareAddr(), DstIP: [4]byte{255, 255, 255, 255},
					SrcPort: 68, DstPort: 67, Op: frame.OpRequest, XID: uint32(i), Type: frame.Discover}
				if i >= want {
					m.DstPort = 68 // must be filtered out on the server side
				}
				buf := make([]byte, frame.MaxLen)
				n, err := frame.Build(buf, &m)
				if err != nil {
					t.Fatal(err)
				}
				frames = append(frames, buf[:n])
			}
			sent, err := gen.Send(frames)
			if err != nil || sent != len(frames) {
				t.Fatalf("Send = %d, %v; want %d", sent, err, len(frames))
			}
			got := map[uint32]bool{}
			deadline := time.Now().Add(3 * time.Second)
			for len(got) < want && time.Now().Before(deadline) {
				_, err := srv.Receive(50*time.Millisecond, func(b []byte) {
					if len(b) < 14 || b[12] != 0x08 || b[13] != 0x00 {
						t.Errorf("filter let through a non-IPv4 frame (ethertype %#x)", b[12:14])
						return
					}
					var m frame.Message
					if err := frame.Parse(b, &m); err != nil {
						t.Errorf("parse received frame: %v", err)
						return
					}
					if m.DstPort != 67 {
						t.Errorf("filter let through port %d", m.DstPort)
					}
					got[m.XID] = true
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if len(got) != want {
				t.Errorf("received %d distinct frames, want %d", len(got), want)
			}
			// Our own sends must not come back to the sender.
			if n, _ := gen.Receive(100*time.Millisecond, func([]byte) {}); n != 0 {
				t.Errorf("generator saw %d frames, want 0", n)
			}
		})
	}
}

func TestOpenUnknownInterface(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for packet sockets; run as root")
	}
	if _, err := Open("no-such-if0", nil); err == nil {
		t.Error("Open succeeded on a missing interface")
	}
}
