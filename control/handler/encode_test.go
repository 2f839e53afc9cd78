package handler

import (
	"bytes"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

func TestAppendReplyMatchesLibrary(t *testing.T) {
	base := func() *dhcpv4.DHCPv4 {
		return &dhcpv4.DHCPv4{
			OpCode: dhcpv4.OpcodeBootReply, HWType: iana.HWTypeEthernet, HopCount: 1,
			TransactionID: dhcpv4.TransactionID{9, 8, 7, 6}, NumSeconds: 3, Flags: 0x8000,
			ClientIPAddr: net.IPv4zero, YourIPAddr: net.IPv4(192, 0, 2, 100), ServerIPAddr: net.IPv4zero.To4(),
			GatewayIPAddr: net.IPv4(198, 51, 100, 1).To4(), ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1},
			Options: dhcpv4.Options{53: {2}, 54: {192, 0, 2, 1}, 51: {0, 0, 14, 16}, 1: {255, 255, 255, 0}, 3: {192, 0, 2, 1}},
		}
	}
	tests := []struct {
		name   string
		modify func(*dhcpv4.DHCPv4)
	}{
		{name: "offer", modify: func(*dhcpv4.DHCPv4) {}},
		{name: "relay agent information goes last", modify: func(m *dhcpv4.DHCPv4) {
			m.Options[82] = []byte{1, 2, 'a', 'b'}
			m.Options[119] = []byte{3, 'c', 'o', 'm', 0}
		}},
		{name: "long option is split", modify: func(m *dhcpv4.DHCPv4) { m.Options[252] = bytes.Repeat([]byte{'x'}, 600) }},
		{name: "empty option", modify: func(m *dhcpv4.DHCPv4) { m.Options[80] = nil }},
		{name: "server name and file", modify: func(m *dhcpv4.DHCPv4) {
			m.ServerHostName = "tftp.example.net"
			m.BootFileName = "pxelinux.0"
		}},
		{name: "more options than the encoder's stack holds", modify: func(m *dhcpv4.DHCPv4) {
			for code := 100; code < 140; code++ {
				m.Options[uint8(code)] = []byte{byte(code)}
			}
			m.Options[82] = []byte{1, 1, 'p'}
		}},
		{name: "no hardware address", modify: func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := base()
			tt.modify(m)
			want := m.ToBytes()
			got := AppendReply(nil, m)
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendReply differs from ToBytes\n got %x\nwant %x", got, want)
			}
		})
	}
}

func BenchmarkAppendReply(b *testing.B) {
	m := &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootReply, HWType: iana.HWTypeEthernet, ClientIPAddr: net.IPv4zero,
		YourIPAddr: net.IPv4(192, 0, 2, 100), ServerIPAddr: net.IPv4zero, GatewayIPAddr: net.IPv4zero,
		ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		Options:      dhcpv4.Options{53: {2}, 54: {192, 0, 2, 1}, 51: {0, 0, 14, 16}, 58: {0, 0, 7, 8}, 59: {0, 0, 12, 78}, 1: {255, 255, 255, 0}, 3: {192, 0, 2, 1}, 6: {192, 0, 2, 53}},
	}
	b.Run("library", func(b *testing.B) {
		for b.Loop() {
			_ = m.ToBytes()
		}
	})
	buf := make([]byte, 0, 1500)
	b.Run("AppendReply", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf = AppendReply(buf, m)
		}
	})
}
