package server

import (
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

func TestTypeIndexLabels(t *testing.T) {
	tests := []struct {
		typ     dhcpv4.MessageType
		present bool
		want    string
	}{
		{dhcpv4.MessageTypeNone, false, "bootp"},
		{dhcpv4.MessageTypeDiscover, true, "DISCOVER"},
		{dhcpv4.MessageTypeOffer, true, "OFFER"},
		{dhcpv4.MessageTypeRequest, true, "REQUEST"},
		{dhcpv4.MessageTypeAck, true, "ACK"},
		{dhcpv4.MessageTypeNak, true, "NAK"},
		{dhcpv4.MessageTypeInform, true, "INFORM"},
		{dhcpv4.MessageTypeNone, true, "other"}, // a type option holding 0
		{dhcpv4.MessageType(9), true, "other"},
		{dhcpv4.MessageType(255), true, "other"},
	}
	for _, tt := range tests {
		if got := typeNames[typeIndex(tt.typ, tt.present)]; got != tt.want {
			t.Errorf("typeIndex(%d, %v) labels %q, want %q", tt.typ, tt.present, got, tt.want)
		}
	}
}
