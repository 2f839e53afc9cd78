package server

import (
	"bytes"
	"net"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/control/handler"
)

// BenchmarkOutboxAdd measures what the send path does per reply before
// the system call: address it, encode it and frame it for the AF_XDP
// queue. The reply is an ACK with the options an ISP scope hands out, to
// a client renewing on the link.
func BenchmarkOutboxAdd(b *testing.B) {
	ifc := newOutboxIface(b, "10.0.0.1/16")
	chaddr := net.HardwareAddr{2, 0xdd, 0, 0, 0x12, 0x34}
	req, err := dhcpv4.New(dhcpv4.WithHwAddr(chaddr), dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest))
	if err != nil {
		b.Fatal(err)
	}
	req.ClientIPAddr = net.IPv4(10, 0, 18, 52).To4()
	ack, err := dhcpv4.NewReplyFromRequest(req, dhcpv4.WithMessageType(dhcpv4.MessageTypeAck),
		dhcpv4.WithYourIP(req.ClientIPAddr))
	if err != nil {
		b.Fatal(err)
	}
	search := bytes.Repeat([]byte{7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0}, 2)
	for code, v := range map[uint8][]byte{
		1: {255, 255, 0, 0}, 3: {10, 0, 0, 1}, 6: {10, 0, 0, 53, 10, 0, 1, 53}, 15: []byte("access.example.net"),
		42: {10, 0, 0, 123}, 51: {0, 0, 0x70, 0x80}, 54: {10, 0, 0, 1}, 58: {0, 0, 0x38, 0x40}, 59: {0, 0, 0x62, 0x70},
		119: search,
	} {
		ack.Options[code] = v
	}
	var requests handler.RequestPool
	d := mustDecode(b, &requests, req)
	reply := mustReply(b, ack)
	o := newOutbox(ifc, &xskQueue{}, func(*handler.Reply) {}, func(error) {})
	b.ReportAllocs()
	for b.Loop() {
		o.add(d, reply, linkPeer{})
		if o.linkN != 1 {
			b.Fatalf("%d frames queued, want 1", o.linkN)
		}
		o.linkN, o.sent = 0, o.sent[:0] // as flush leaves them, without the send
	}
}
