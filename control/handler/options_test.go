package handler

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// FuzzOptionsMatchLibrary holds the handler's option readers equal to the
// DHCP library's getters they replace, for any option value.
func FuzzOptionsMatchLibrary(f *testing.F) {
	for _, v := range [][]byte{
		nil, {}, {5}, {192, 0, 2, 1}, {0, 0, 0, 0}, {0, 0, 0x0e, 0x10, 9}, []byte("laptop\x00\x00"),
		{1, 3, 'a', 'b', 'c', 2, 2, 'x', 'y'}, {0, 1, 1, 'a', 255, 2, 1, 'z'}, {1, 2, 'a', 'b', 1, 1, 'c'},
		{1, 0, 2, 0}, {1, 5, 'a'}, {2}, {9, 1, 'q', 1, 1, 'p'},
	} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		lib := &dhcpv4.DHCPv4{Options: dhcpv4.Options{}}
		for _, code := range []uint8{optMessageType, optRequestedIP, optLeaseTime, optHostName, optAgentInfo} {
			lib.Options[code] = v
		}
		o := scanOptions(lib)
		if !o.hasType {
			t.Fatal("option 53 present but not seen")
		}
		if got, want := o.messageType(), lib.MessageType(); got != want {
			t.Errorf("message type of %x: %v, want %v", v, got, want)
		}
		got, gotOK := optAddr(o.requested)
		want, wantOK := addr4(lib.RequestedIPAddress())
		if got != want || gotOK != wantOK {
			t.Errorf("address of %x: %v %v, want %v %v", v, got, gotOK, want, wantOK)
		}
		if got, want := o.askedLeaseTime(), lib.IPAddressLeaseTime(0); got != want {
			t.Errorf("lease time of %x: %v, want %v", v, got, want)
		}
		if got, want := o.hostName(), lib.HostName(); got != want {
			t.Errorf("host name of %x: %q, want %q", v, got, want)
		}
		circuit, remote := agentSubOptions(o.agentInfo)
		var wantCircuit, wantRemote []byte
		if ri := lib.RelayAgentInfo(); ri != nil {
			wantCircuit, wantRemote = ri.Get(dhcpv4.GenericOptionCode(1)), ri.Get(dhcpv4.GenericOptionCode(2))
		}
		if !sameOption(circuit, wantCircuit) || !sameOption(remote, wantRemote) {
			t.Errorf("agent sub-options of %x: %x %x, want %x %x", v, circuit, remote, wantCircuit, wantRemote)
		}
	})
}

// sameOption compares option values as the handler uses them: nil means
// absent, so nil and empty differ.
func sameOption(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestOptAddr(t *testing.T) {
	tests := []struct {
		v      []byte
		want   netip.Addr
		wantOK bool
	}{
		{nil, netip.Addr{}, false},
		{[]byte{192, 0, 2, 1}, netip.MustParseAddr("192.0.2.1"), true},
		{[]byte{0, 0, 0, 0}, netip.IPv4Unspecified(), false},
		{[]byte{192, 0, 2}, netip.Addr{}, false},
		{[]byte{192, 0, 2, 1, 0}, netip.Addr{}, false},
	}
	for _, tt := range tests {
		if got, ok := optAddr(tt.v); got != tt.want || ok != tt.wantOK {
			t.Errorf("optAddr(%x) = %v, %v; want %v, %v", tt.v, got, ok, tt.want, tt.wantOK)
		}
	}
}
