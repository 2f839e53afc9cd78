package server

import (
	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/control/handler"
)

// encodeReply appends the wire form of a reply to buf[:0]: the handler's
// encoder, which knows how its replies are built.
func encodeReply(buf []byte, m *dhcpv4.DHCPv4) []byte { return handler.AppendReply(buf, m) }
