package responder

import (
	"net/netip"
	"testing"

	"github.com/xdhcp/xdhcp/bench/frame"
)

func TestReply(t *testing.T) {
	cfg := Config{ServerMAC: [6]byte{2, 0, 0, 0, 0, 0xaa}}
	cfg.Defaults()
	mac := [6]byte{2, 0, 0, 0, 1, 2}
	base := frame.Message{Op: frame.OpRequest, XID: 7, CHAddr: mac, SrcMAC: mac, Flags: frame.FlagBroadcast}
	tests := []struct {
		name        string
		mutate      func(m *frame.Message)
		wantType    uint8 // 0: no reply
		wantDstIP   [4]byte
		wantDstMAC  [6]byte
		wantYiaddr  [4]byte
		wantDstPort uint16
	}{
		{"discover gets broadcast offer", func(m *frame.Message) { m.Type = frame.Discover }, frame.Offer,
			[4]byte{255, 255, 255, 255}, broadcastMAC, [4]byte{10, 64, 1, 2}, 68},
		{"request gets ack for requested ip", func(m *frame.Message) {
			m.Type, m.RequestedIP, m.ServerID = frame.Request, [4]byte{10, 64, 1, 2}, [4]byte{10, 99, 0, 1}
		}, frame.Ack, [4]byte{255, 255, 255, 255}, broadcastMAC, [4]byte{10, 64, 1, 2}, 68},
		{"request for another server is ignored", func(m *frame.Message) {
			m.Type, m.ServerID = frame.Request, [4]byte{10, 99, 0, 9}
		}, 0, [4]byte{}, [6]byte{}, [4]byte{}, 0},
		{"renew is answered by unicast", func(m *frame.Message) {
			m.Type, m.Ciaddr = frame.Request, [4]byte{10, 64, 1, 2}
		}, frame.Ack, [4]byte{10, 64, 1, 2}, mac, [4]byte{10, 64, 1, 2}, 68},
		{"relayed discover goes back to giaddr", func(m *frame.Message) {
			m.Type, m.Giaddr, m.SrcMAC = frame.Discover, [4]byte{10, 99, 0, 2}, [6]byte{2, 9, 9, 9, 9, 9}
		}, frame.Offer, [4]byte{10, 99, 0, 2}, [6]byte{2, 9, 9, 9, 9, 9}, [4]byte{10, 64, 1, 2}, 67},
		{"release is ignored", func(m *frame.Message) { m.Type = frame.Release }, 0, [4]byte{}, [6]byte{}, [4]byte{}, 0},
		{"a reply is ignored", func(m *frame.Message) { m.Op, m.Type = frame.OpReply, frame.Offer }, 0, [4]byte{}, [6]byte{}, [4]byte{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := base
			tt.mutate(&req)
			out := make([]byte, frame.MaxLen)
			n := Reply(&cfg, &req, out)
			if tt.wantType == 0 {
				if n != 0 {
					t.Fatalf("got a %d-byte reply, want none", n)
				}
				return
			}
			var rep frame.Message
			if err := frame.Parse(out[:n], &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Type != tt.wantType || rep.DstIP != tt.wantDstIP || rep.DstMAC != tt.wantDstMAC || rep.Yiaddr != tt.wantYiaddr ||
				rep.DstPort != tt.wantDstPort || rep.XID != 7 || rep.ServerID != [4]byte{10, 99, 0, 1} || rep.SrcMAC != cfg.ServerMAC {
				t.Errorf("reply %+v", rep)
			}
		})
	}
}

func TestAddrForIsDistinctPerClient(t *testing.T) {
	pool := netip.MustParsePrefix("10.64.0.0/10")
	seen := map[[4]byte]bool{}
	for i := uint32(0); i < 70000; i++ {
		a := addrFor(pool, [6]byte{2, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)})
		if seen[a] || !pool.Contains(netip.AddrFrom4(a)) {
			t.Fatalf("client %d got %v (seen %v)", i, a, seen[a])
		}
		seen[a] = true
	}
}
