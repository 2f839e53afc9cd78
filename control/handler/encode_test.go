package handler

import (
	"bytes"
	"errors"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// libraryReply is an OFFER as the DHCP library holds it.
func libraryReply() *dhcpv4.DHCPv4 {
	return &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootReply, HWType: iana.HWTypeEthernet,
		TransactionID: dhcpv4.TransactionID{9, 8, 7, 6}, Flags: 0x8000,
		ClientIPAddr: net.IPv4zero, YourIPAddr: net.IPv4(192, 0, 2, 100), ServerIPAddr: net.IPv4zero.To4(),
		GatewayIPAddr: net.IPv4(198, 51, 100, 1).To4(), ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		Options: dhcpv4.Options{53: {2}, 54: {192, 0, 2, 1}, 51: {0, 0, 14, 16}, 1: {255, 255, 255, 0}, 3: {192, 0, 2, 1}},
	}
}

// TestAppendReplyMatchesLibrary converts library messages to Replies and
// holds AppendReply's bytes equal to the library's encoder's, and the
// conversion back (Message) equal to the original.
func TestAppendReplyMatchesLibrary(t *testing.T) {
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
		{name: "pad and end codes are left out", modify: func(m *dhcpv4.DHCPv4) {
			m.Options[0] = []byte{1}
			m.Options[255] = []byte{2}
		}},
		{name: "many options, the last code and the first", modify: func(m *dhcpv4.DHCPv4) {
			for code := 100; code < 140; code++ {
				m.Options[uint8(code)] = []byte{byte(code)}
			}
			m.Options[254] = []byte{'z'}
			m.Options[82] = []byte{1, 1, 'p'}
		}},
		{name: "BOOTREPLY: no message type, siaddr set", modify: func(m *dhcpv4.DHCPv4) {
			delete(m.Options, 53)
			m.ServerIPAddr = net.IPv4(192, 0, 2, 1).To4()
		}},
		{name: "no hardware address", modify: func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = nil }},
		{name: "sixteen-byte hardware address", modify: func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = bytes.Repeat([]byte{0xab}, 16) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := libraryReply()
			tt.modify(m)
			r, err := NewReply(m)
			if err != nil {
				t.Fatal(err)
			}
			want := m.ToBytes()
			if got := AppendReply(nil, r); !bytes.Equal(got, want) {
				t.Fatalf("AppendReply differs from ToBytes\n got %x\nwant %x", got, want)
			}
			if got := r.ToBytes(); !bytes.Equal(got, want) {
				t.Fatalf("Message().ToBytes() differs from the original's\n got %x\nwant %x", got, want)
			}
			if got, want := r.MessageType(), m.MessageType(); got != want {
				t.Errorf("MessageType = %v, want %v", got, want)
			}
		})
	}
}

// TestReplyAccessors checks each accessor against the library message the
// Reply was converted from.
func TestReplyAccessors(t *testing.T) {
	m := libraryReply()
	m.ClientIPAddr = net.IPv4(192, 0, 2, 77)
	m.ServerIPAddr = net.IPv4(192, 0, 2, 1)
	r, err := NewReply(m)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"MessageType", r.MessageType(), dhcpv4.MessageTypeOffer},
		{"Broadcast", r.Broadcast(), true},
		{"Flags", r.Flags(), uint16(0x8000)},
		{"TransactionID", r.TransactionID(), m.TransactionID},
		{"HWType", r.HWType(), iana.HWTypeEthernet},
		{"ClientHWAddr", r.ClientHWAddr().String(), m.ClientHWAddr.String()},
		{"ClientIP", r.ClientIP().String(), "192.0.2.77"},
		{"YourIP", r.YourIP().String(), "192.0.2.100"},
		{"ServerIP", r.ServerIP().String(), "192.0.2.1"},
		{"GatewayIP", r.GatewayIP().String(), "198.51.100.1"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if v, ok := r.Option(3); !ok || !bytes.Equal(v, []byte{192, 0, 2, 1}) {
		t.Errorf("Option(3) = %v, %v; want the router", v, ok)
	}
	if v, ok := r.Option(4); ok || v != nil {
		t.Errorf("Option(4) = %v, %v; want absent", v, ok)
	}
}

func TestNewReplyRefuses(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*dhcpv4.DHCPv4)
	}{
		{"a request", func(m *dhcpv4.DHCPv4) { m.OpCode = dhcpv4.OpcodeBootRequest }},
		{"hops", func(m *dhcpv4.DHCPv4) { m.HopCount = 1 }},
		{"secs", func(m *dhcpv4.DHCPv4) { m.NumSeconds = 3 }},
		{"server name", func(m *dhcpv4.DHCPv4) { m.ServerHostName = "tftp.example.net" }},
		{"boot file", func(m *dhcpv4.DHCPv4) { m.BootFileName = "pxelinux.0" }},
		{"long chaddr", func(m *dhcpv4.DHCPv4) { m.ClientHWAddr = make(net.HardwareAddr, 17) }},
		{"two-byte message type", func(m *dhcpv4.DHCPv4) { m.Options[53] = []byte{2, 2} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := libraryReply()
			tt.modify(m)
			if _, err := NewReply(m); !errors.Is(err, ErrNotAReply) {
				t.Fatalf("NewReply error %v, want ErrNotAReply", err)
			}
		})
	}
}

// TestReplyOptionsSetAndRemove covers the option set's bookkeeping: a
// value replaced in place, removals from the middle and the end of the
// values, an option set again after its removal, and a reset.
func TestReplyOptionsSetAndRemove(t *testing.T) {
	var o replyOptions
	want := map[uint8][]byte{}
	set := func(code uint8, v []byte) { o.set(code, v); want[code] = v }
	remove := func(code uint8) { o.remove(code); delete(want, code) }
	check := func(step string) {
		t.Helper()
		if o.len() != len(want) {
			t.Fatalf("%s: %d options, want %d", step, o.len(), len(want))
		}
		for code := range 256 {
			v, ok := o.get(uint8(code))
			w, wok := want[uint8(code)]
			if ok != wok || !bytes.Equal(v, w) || (v == nil) != (w == nil) {
				t.Fatalf("%s: option %d = %v, %v; want %v, %v", step, code, v, ok, w, wok)
			}
		}
	}
	set(6, []byte{1})
	set(3, []byte{2})
	set(54, []byte{3})
	set(6, []byte{4})
	check("set and replace")
	remove(6) // the first value: the last moves into its slot
	check("remove the first")
	remove(54) // now the last value
	check("remove the last")
	remove(9) // absent: nothing happens
	check("remove an absent code")
	set(54, nil)
	set(6, []byte{5})
	check("set again after removal")
	for round := range 600 { // removals and sets never outgrow the index
		remove(uint8(round % 256))
		set(uint8((round+7)%256), []byte{byte(round)})
	}
	check("many rounds")
	o.reset()
	clear(want)
	check("reset")
}

func TestAppendReplyAllocatesNothing(t *testing.T) {
	r, err := NewReply(libraryReply())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 1500)
	if allocs := testing.AllocsPerRun(100, func() { buf = AppendReply(buf, r) }); allocs != 0 {
		t.Errorf("AppendReply: %v allocations, want 0", allocs)
	}
}

func BenchmarkAppendReply(b *testing.B) {
	m := &dhcpv4.DHCPv4{
		OpCode: dhcpv4.OpcodeBootReply, HWType: iana.HWTypeEthernet, ClientIPAddr: net.IPv4zero,
		YourIPAddr: net.IPv4(192, 0, 2, 100), ServerIPAddr: net.IPv4zero, GatewayIPAddr: net.IPv4zero,
		ClientHWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1},
		Options:      dhcpv4.Options{53: {2}, 54: {192, 0, 2, 1}, 51: {0, 0, 14, 16}, 58: {0, 0, 7, 8}, 59: {0, 0, 12, 78}, 1: {255, 255, 255, 0}, 3: {192, 0, 2, 1}, 6: {192, 0, 2, 53}},
	}
	r, err := NewReply(m)
	if err != nil {
		b.Fatal(err)
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
			buf = AppendReply(buf, r)
		}
	})
}
