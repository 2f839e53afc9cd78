//go:build linux

package afxdp

import (
	"context"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/bench/frame"
	"github.com/xdhcp/xdhcp/bench/loadgen"
	"github.com/xdhcp/xdhcp/bench/netns"
	"github.com/xdhcp/xdhcp/bench/rawio"
	"github.com/xdhcp/xdhcp/bench/responder"
	"github.com/xdhcp/xdhcp/bench/xdpecho"
)

// BenchmarkEchoRoundTrip sends batches of 64 DISCOVERs to the XDP echo
// responder and waits for the 64 OFFERs, through recvmmsg and through
// AF_XDP; ns/op is one batch, ns/exchange one DISCOVER and its OFFER. The
// TPACKET_V3 ring is left out: in this lock-step exchange each batch waits
// for the ring's 1 ms block retire timer, and now and then a batch's
// block is not handed over for more than a second.
//
//	go test -run '^$' -bench EchoRoundTrip ./bench/afxdp/
func BenchmarkEchoRoundTrip(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root for network namespaces, XDP and AF_XDP sockets; run as root")
	}
	engines := []struct {
		name string
		open func(b *testing.B, topo *netns.Topology) loadgen.PacketIO
	}{
		{"recvmmsg", func(b *testing.B, topo *netns.Topology) loadgen.PacketIO { return benchRaw(b, topo) }},
		{"afxdp", func(b *testing.B, topo *netns.Topology) loadgen.PacketIO {
			var c *Conn
			if err := netns.Do(topo.GenNS, func() (err error) { c, err = Open(topo.GenIface, nil); return err }); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.Close() })
			return c
		}},
	}
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			topo, err := netns.New(context.Background(), &netns.Config{Prefix: "xbxskbench"})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = topo.Close() })
			mustAttachEcho(b, topo)
			conn := e.open(b, topo)
			const batch = 64
			frames := make([][]byte, batch)
			for i := range frames {
				mac := [6]byte{2, 0xbe, 0, 0, 0, byte(i)}
				buf := make([]byte, frame.MaxLen)
				n, err := frame.Build(buf, &frame.Message{SrcMAC: mac, DstMAC: [6]byte{255, 255, 255, 255, 255, 255}, DstIP: [4]byte{255, 255, 255, 255},
					SrcPort: 68, DstPort: 67, Op: frame.OpRequest, XID: uint32(i), Flags: frame.FlagBroadcast, CHAddr: mac, Type: frame.Discover})
				if err != nil {
					b.Fatal(err)
				}
				frames[i] = buf[:n]
			}
			count := func([]byte) {}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for sent := 0; sent < batch; {
					n, err := conn.Send(frames[sent:])
					if err != nil {
						b.Fatal(err)
					}
					sent += n
				}
				for got := 0; got < batch; {
					n, err := conn.Receive(time.Second, count)
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						b.Fatalf("batch %d: %d of %d OFFERs, then nothing for 1 s", i, got, batch)
					}
					got += n
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/exchange")
		})
	}
}

// mustAttachEcho attaches the XDP echo responder to the server side and
// returns its identity.
func mustAttachEcho(tb testing.TB, topo *netns.Topology) responder.Config {
	tb.Helper()
	cfg := responder.Config{ServerIP: topo.SrvAddr}
	err := netns.Do(topo.SrvNS, func() error {
		ifi, err := net.InterfaceByName(topo.SrvIface)
		if err != nil {
			return err
		}
		copy(cfg.ServerMAC[:], ifi.HardwareAddr)
		o, err := xdpecho.Load(xdpecho.Config{Config: cfg})
		if err != nil {
			return err
		}
		tb.Cleanup(func() { _ = o.Close() })
		_, err = o.Attach(ifi.Index)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cfg
}

// benchRaw opens a packet socket on the generator side, with xdp_pass on
// the interface so the echo's XDP_TX frames arrive.
func benchRaw(b *testing.B, topo *netns.Topology) *rawio.Conn {
	b.Helper()
	var c *rawio.Conn
	err := netns.Do(topo.GenNS, func() error {
		ifi, err := net.InterfaceByName(topo.GenIface)
		if err != nil {
			return err
		}
		var pass io.Closer
		if pass, err = xdpecho.AttachPass(ifi.Index); err != nil {
			return err
		}
		b.Cleanup(func() { _ = pass.Close() })
		c, err = rawio.Open(topo.GenIface, &rawio.Config{Ports: []uint16{68}})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return c
}
