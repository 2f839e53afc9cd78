package dataplane

import (
	"net"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/internal/config"
)

// TestFilterOnLibraryMessages runs one client's whole conversation, built
// by the DHCP library the control plane uses, through the filter: the
// balanced messages of a partner's client are dropped, the rest pass.
func TestFilterOnLibraryMessages(t *testing.T) {
	hw := net.HardwareAddr(partnerMAC)
	serverIP, clientIP := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 50)
	must := func(m *dhcpv4.DHCPv4, err error) *dhcpv4.DHCPv4 {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	discover := must(dhcpv4.NewDiscovery(hw))
	offer := must(dhcpv4.NewReplyFromRequest(discover,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeOffer),
		dhcpv4.WithYourIP(clientIP),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP))))
	request := must(dhcpv4.NewRequestFromOffer(offer))
	ack := must(dhcpv4.NewReplyFromRequest(request,
		dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
		dhcpv4.WithYourIP(clientIP),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP))))
	renew := must(dhcpv4.NewRenewFromAck(ack))
	release := must(dhcpv4.NewReleaseFromACK(ack))
	inform := must(dhcpv4.NewInform(hw, clientIP))
	decline := must(dhcpv4.New(dhcpv4.WithHwAddr(hw),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeDecline),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(clientIP)),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(serverIP))))
	withID := must(dhcpv4.NewDiscovery(net.HardwareAddr(ourMAC),
		dhcpv4.WithOption(dhcpv4.OptClientIdentifier(partnerCID))))

	f := NewFilter(config.Dataplane{})
	if err := f.SetSplit(50, true); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		m    *dhcpv4.DHCPv4
		want Verdict
	}{
		{"discover", discover, dropPartner},
		{"request selecting", request, dropPartner},
		{"renew", renew, passUnbalanced},
		{"release", release, passUnbalanced},
		{"inform", inform, passUnbalanced},
		{"decline", decline, passUnbalanced},
		{"offer sent to port 67", offer, Verdict{Pass, ReasonNotRequest}},
		{"client identifier decides", withID, dropPartner},
	} {
		if got := f.Payload(tt.m.ToBytes(), time.Now()); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}
