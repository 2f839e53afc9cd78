package frame

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"reflect"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func discover() Message {
	return Message{
		SrcMAC: [6]byte{2, 0, 0, 0, 0, 1}, DstMAC: [6]byte{255, 255, 255, 255, 255, 255},
		DstIP: [4]byte{255, 255, 255, 255}, SrcPort: ClientPort, DstPort: ServerPort,
		Op: OpRequest, XID: 0xdeadbeef, Flags: FlagBroadcast, CHAddr: [6]byte{2, 0, 0, 0, 0, 1}, Type: Discover,
	}
}

func TestBuildParseRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *Message)
	}{
		{"discover", func(m *Message) {}},
		{"request with server id and requested ip", func(m *Message) {
			m.Type, m.ServerID, m.RequestedIP = Request, [4]byte{10, 99, 0, 1}, [4]byte{10, 99, 1, 7}
		}},
		{"client id", func(m *Message) { m.ClientID = []byte{1, 2, 0, 0, 0, 0, 1} }},
		{"relayed with option 82", func(m *Message) {
			m.Giaddr, m.Hops, m.SrcPort = [4]byte{10, 99, 0, 2}, 1, ServerPort
			m.CircuitID, m.RemoteID = []byte("port-7"), []byte{9, 9}
		}},
		{"ack with lease", func(m *Message) {
			m.Op, m.Type, m.Yiaddr, m.LeaseTime, m.SubnetMask = OpReply, Ack, [4]byte{10, 99, 1, 7}, 3600, [4]byte{255, 255, 0, 0}
			m.SrcPort, m.DstPort = ServerPort, ClientPort
		}},
		{"renew unicast", func(m *Message) {
			m.Type, m.Ciaddr, m.Flags = Request, [4]byte{10, 99, 1, 7}, 0
			m.SrcIP, m.DstIP = [4]byte{10, 99, 1, 7}, [4]byte{10, 99, 0, 1}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := discover()
			tt.mutate(&in)
			buf := make([]byte, MaxLen)
			n, err := Build(buf, &in)
			if err != nil {
				t.Fatal(err)
			}
			var out Message
			if err := Parse(buf[:n], &out); err != nil {
				t.Fatal(err)
			}
			if !equal(in, out) {
				t.Errorf("round trip:\n in %+v\nout %+v", in, out)
			}
			ip := buf[ethLen : ethLen+ipv4Len]
			if fold(sum(ip, 0)) != 0xffff {
				t.Errorf("bad IPv4 header checksum")
			}
			total := int(binary.BigEndian.Uint16(ip[2:4]))
			pkt := buf[ethLen : ethLen+total]
			if s := fold(sum(pkt[ipv4Len:], sum(pkt[12:20], 0)+17+uint32(total-ipv4Len))); s != 0xffff {
				t.Errorf("bad UDP checksum (folded sum %#x)", s)
			}
			// The independent parser must agree on the DHCP part.
			d, err := dhcpv4.FromBytes(pkt[ipv4Len+udpLen:])
			if err != nil {
				t.Fatalf("dhcpv4 cannot parse our frame: %v", err)
			}
			if d.TransactionID != [4]byte{0xde, 0xad, 0xbe, 0xef} || !bytes.Equal(d.ClientHWAddr, net.HardwareAddr(in.CHAddr[:])) ||
				uint8(d.MessageType()) != in.Type || !d.YourIPAddr.Equal(net.IP(in.Yiaddr[:])) {
				t.Errorf("dhcpv4 sees %s", d.Summary())
			}
			if in.ServerID != [4]byte{} && !d.ServerIdentifier().Equal(net.IP(in.ServerID[:])) {
				t.Errorf("dhcpv4 server id %v", d.ServerIdentifier())
			}
			if in.CircuitID != nil {
				ri := d.RelayAgentInfo()
				if ri == nil || !bytes.Equal(ri.Get(dhcpv4.AgentCircuitIDSubOption), in.CircuitID) {
					t.Errorf("dhcpv4 relay info %v", ri)
				}
			}
		})
	}
}

func equal(a, b Message) bool {
	if !bytes.Equal(a.ClientID, b.ClientID) || !bytes.Equal(a.CircuitID, b.CircuitID) || !bytes.Equal(a.RemoteID, b.RemoteID) {
		return false
	}
	a.ClientID, b.ClientID, a.CircuitID, b.CircuitID, a.RemoteID, b.RemoteID = nil, nil, nil, nil, nil, nil
	return reflect.DeepEqual(a, b)
}

func TestParseFromDHCPv4Library(t *testing.T) {
	ack, err := dhcpv4.New(dhcpv4.WithMessageType(dhcpv4.MessageTypeAck), dhcpv4.WithReply(&dhcpv4.DHCPv4{}),
		dhcpv4.WithYourIP(net.IPv4(10, 99, 3, 4)), dhcpv4.WithServerIP(net.IPv4(10, 99, 0, 1)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(net.IPv4(10, 99, 0, 1))),
		dhcpv4.WithOption(dhcpv4.OptIPAddressLeaseTime(3600e9)))
	if err != nil {
		t.Fatal(err)
	}
	ack.TransactionID = [4]byte{0, 0, 0, 42}
	payload := ack.ToBytes()
	frm := make([]byte, ethLen+ipv4Len+udpLen+len(payload))
	binary.BigEndian.PutUint16(frm[12:14], 0x0800)
	frm[ethLen], frm[ethLen+9] = 0x45, 17
	binary.BigEndian.PutUint16(frm[ethLen+2:], uint16(ipv4Len+udpLen+len(payload)))
	binary.BigEndian.PutUint16(frm[ethLen+ipv4Len:], 67)
	binary.BigEndian.PutUint16(frm[ethLen+ipv4Len+2:], 68)
	binary.BigEndian.PutUint16(frm[ethLen+ipv4Len+4:], uint16(udpLen+len(payload)))
	copy(frm[ethLen+ipv4Len+udpLen:], payload)
	var m Message
	if err := Parse(frm, &m); err != nil {
		t.Fatal(err)
	}
	if m.Type != Ack || m.XID != 42 || m.Yiaddr != [4]byte{10, 99, 3, 4} || m.ServerID != [4]byte{10, 99, 0, 1} || m.LeaseTime != 3600 {
		t.Errorf("parsed %+v", m)
	}
}

func TestParseErrors(t *testing.T) {
	good := discover()
	buf := make([]byte, MaxLen)
	n, _ := Build(buf, &good)
	frm := buf[:n]
	tests := []struct {
		name   string
		mutate func(b []byte) []byte
		want   error
	}{
		{"short", func(b []byte) []byte { return b[:20] }, ErrTruncated},
		{"arp ethertype", func(b []byte) []byte { b[13] = 6; return b }, ErrNotDHCP},
		{"tcp", func(b []byte) []byte { b[ethLen+9] = 6; return b }, ErrNotDHCP},
		{"other port", func(b []byte) []byte { b[ethLen+ipv4Len+3] = 53; return b }, ErrNotDHCP},
		{"fragment", func(b []byte) []byte { b[ethLen+6] = 0x20; return b }, ErrNotDHCP},
		{"ip length beyond frame", func(b []byte) []byte { return b[:ethLen+ipv4Len+udpLen+100] }, ErrTruncated},
		{"bad magic", func(b []byte) []byte { b[HeaderLen-1] = 0; return b }, ErrBadMagic},
		{"option overruns", func(b []byte) []byte { b[HeaderLen], b[HeaderLen+1] = 61, 250; return b }, ErrOption},
		{"bad message type length", func(b []byte) []byte { b[HeaderLen+1] = 2; return b }, ErrOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mutate(append([]byte(nil), frm...))
			var m Message
			if err := Parse(b, &m); !errors.Is(err, tt.want) {
				t.Errorf("Parse = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestARPRoundTrip(t *testing.T) {
	in := ARP{Op: ARPReply, SenderMAC: [6]byte{2, 0, 0, 0, 0, 9}, SenderIP: [4]byte{10, 99, 1, 9}, TargetMAC: [6]byte{1, 2, 3, 4, 5, 6}, TargetIP: [4]byte{10, 99, 0, 1}}
	buf := make([]byte, 64)
	n := BuildARP(buf, &in)
	var out ARP
	if !ParseARP(buf[:n], &out) || out != in {
		t.Errorf("got %+v, want %+v", out, in)
	}
	if [6]byte(buf[0:6]) != in.TargetMAC {
		t.Errorf("reply not addressed to target MAC")
	}
	if ParseARP(buf[:20], &out) {
		t.Error("short ARP parsed")
	}
}

func BenchmarkBuild(b *testing.B) {
	m := discover()
	buf := make([]byte, MaxLen)
	for b.Loop() {
		_, _ = Build(buf, &m)
	}
}

func BenchmarkParse(b *testing.B) {
	m := discover()
	buf := make([]byte, MaxLen)
	n, _ := Build(buf, &m)
	var out Message
	for b.Loop() {
		_ = Parse(buf[:n], &out)
	}
}
