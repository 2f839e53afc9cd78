package handler

import (
	mathbits "math/bits"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// minReplyLen is the smallest BOOTP message relays and old clients accept
// (RFC 951: 300 bytes); shorter replies are padded.
const minReplyLen = 300

// snameFileLen is the sname and file fields, which replies leave empty.
const snameFileLen = 64 + 128

// AppendReply appends the wire form of r to buf[:0]: the bytes
// (*dhcpv4.DHCPv4).ToBytes gives for r.Message() (options in code order,
// relay agent information last, long values split into several options
// as RFC 3396 says, padded to 300 bytes), without building a message.
func AppendReply(buf []byte, r *Reply) []byte {
	h := &r.hdr
	b := buf[:0]
	b = append(b, byte(dhcpv4.OpcodeBootReply), byte(h.htype), h.hlen, 0)
	b = append(b, h.xid[:]...)
	b = append(b, 0, 0, byte(h.flags>>8), byte(h.flags)) // secs, flags
	b = append(b, h.ciaddr[:]...)
	b = append(b, h.yiaddr[:]...)
	b = append(b, h.siaddr[:]...)
	b = append(b, h.giaddr[:]...)
	b = append(b, h.chaddr[:]...)
	b = append(b, make([]byte, snameFileLen)...)
	b = append(b, magicCookie[:]...)

	// The codes present are a bit set walked in order: code order with no
	// sort, relay agent information held back to go last.
	o := &r.opts
	agent := o.present.has(optAgentInfo)
	for w, bits := range o.present {
		for bits != 0 {
			code := uint8(w<<6 + mathbits.TrailingZeros64(bits))
			bits &= bits - 1
			if code == 0 || code == 255 || code == optAgentInfo {
				continue // pad and end are not options (ToBytes leaves them out too)
			}
			b = appendOption(b, code, o.values[o.at[code]])
		}
	}
	if agent {
		b = appendOption(b, optAgentInfo, o.values[o.at[optAgentInfo]])
	}
	b = append(b, 255)
	if len(b) < minReplyLen {
		b = append(b, make([]byte, minReplyLen-len(b))...)
	}
	return b
}

func appendOption(b []byte, code uint8, v []byte) []byte {
	if len(v) == 0 {
		return append(b, code, 0)
	}
	for len(v) > 0 {
		n := min(len(v), 255)
		b = append(b, code, byte(n))
		b = append(b, v[:n]...)
		v = v[n:]
	}
	return b
}
