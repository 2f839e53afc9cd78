package handler

import (
	"bytes"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// FuzzHandle feeds arbitrary datagrams through the decoder and the handler,
// as the server does: whatever arrives, nothing may panic, and any reply
// must encode (AppendReply and the library alike) and decode again, and
// HandleDecoded must answer as Handle does.
func FuzzHandle(f *testing.F) {
	f.Add(msg(dhcpv4.MessageTypeDiscover, hw(1)).ToBytes())
	f.Add(msg(dhcpv4.MessageTypeRequest, hw(1), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.100")).ToBytes())
	f.Add(msg(dhcpv4.MessageTypeRequest, hw(1), withCiaddr("192.0.2.100")).ToBytes())
	f.Add(msg(dhcpv4.MessageTypeRelease, hw(1), withCiaddr("192.0.2.100")).ToBytes())
	f.Add(msg(dhcpv4.MessageTypeDecline, hw(1), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.100")).ToBytes())
	f.Add(msg(dhcpv4.MessageTypeInform, hw(1), withCiaddr("192.0.2.5")).ToBytes())
	f.Add(msg(dhcpv4.MessageTypeDiscover, hw(1), withGiaddr("198.51.100.1"),
		withOpt(dhcpv4.OptionRelayAgentInformation, []byte{1, 1, 'x'})).ToBytes())
	f.Add(msg(0, hw(2)).ToBytes())
	var requests RequestPool
	f.Fuzz(func(t *testing.T, b []byte) {
		h, hd := newTestHandler(t), newTestHandler(t)
		m, err := Decode(b)
		if err != nil {
			return
		}
		d, err := requests.Decode(b)
		if err != nil {
			t.Fatalf("Decode accepts %x, the pooled decoder does not: %v", b, err)
		}
		defer requests.Put(d)
		for _, link := range []int{testLink, testLink + 1} {
			res := h.Handle(Request{Msg: m, Link: link, Now: t0})
			// HandleDecoded, on the options found while decoding, must
			// answer as Handle does on the option map.
			dres := hd.HandleDecoded(d, link, t0)
			if res.Outcome != dres.Outcome || (res.Reply == nil) != (dres.Reply == nil) {
				t.Fatalf("%x: Handle %s, HandleDecoded %s", b, res.Outcome, dres.Outcome)
			}
			if res.Reply != nil && !bytes.Equal(AppendReply(nil, dres.Reply), AppendReply(nil, res.Reply)) {
				t.Fatalf("%x: HandleDecoded's reply differs from Handle's", b)
			}
			if res.Reply != nil {
				wire := res.Reply.ToBytes()
				if _, err := Decode(wire); err != nil {
					t.Fatalf("reply to %x does not decode: %v", b, err)
				}
				if enc := AppendReply(nil, res.Reply); !bytes.Equal(enc, wire) {
					t.Fatalf("reply to %x: AppendReply differs from ToBytes\n got %x\nwant %x", b, enc, wire)
				}
				if got, want := res.Reply.MessageType(), res.Reply.Message().MessageType(); got != want {
					t.Fatalf("reply to %x: MessageType %v, want %v", b, got, want)
				}
			}
		}
	})
}
