package handler

import (
	"encoding/binary"
	mathbits "math/bits"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// minReplyLen is the smallest BOOTP message relays and old clients accept
// (RFC 951: 300 bytes); shorter replies are padded.
const minReplyLen = 300

// AppendReply appends the wire form of a reply to buf[:0]. It produces the
// same bytes as dhcpv4.(*DHCPv4).ToBytes for the replies the handler
// builds (options in code order, relay agent information last, long values
// split into several options as RFC 3396 says), without its per-message
// sorting and buffer growth.
func AppendReply(buf []byte, m *dhcpv4.DHCPv4) []byte {
	b := buf[:0]
	b = append(b, byte(m.OpCode), byte(m.HWType), byte(len(m.ClientHWAddr)), m.HopCount)
	b = append(b, m.TransactionID[:]...)
	b = binary.BigEndian.AppendUint16(b, m.NumSeconds)
	b = binary.BigEndian.AppendUint16(b, m.Flags)
	for _, ip := range [][]byte{m.ClientIPAddr, m.YourIPAddr, m.ServerIPAddr, m.GatewayIPAddr} {
		var a [4]byte
		if ip4 := dhcpIP(ip); ip4 != nil {
			copy(a[:], ip4)
		}
		b = append(b, a[:]...)
	}
	var chaddr [16]byte
	copy(chaddr[:], m.ClientHWAddr)
	b = append(b, chaddr[:]...)
	var sname [64]byte
	copy(sname[:63], m.ServerHostName)
	b = append(b, sname[:]...)
	var file [128]byte
	copy(file[:127], m.BootFileName)
	b = append(b, file[:]...)
	b = append(b, magicCookie[:]...)

	// One pass over the map, then the options in code order with relay
	// agent information last: the codes present are a bit set walked in
	// order, so there is no lookup per code and no sort.
	const agentInfo = 82
	var stack [32][]byte
	values := stack[:0]
	var present codeSet
	var at [256]uint8 // index in values by code
	for code, v := range m.Options {
		if code == 0 || code == 255 {
			continue // pad and end are not options (ToBytes leaves them out too)
		}
		present.add(code)
		at[code] = uint8(len(values)) // at most 254 codes
		values = append(values, v)
	}
	agent := present.has(agentInfo)
	present[agentInfo>>6] &^= 1 << (agentInfo & 63)
	for w, bits := range present {
		for bits != 0 {
			code := uint8(w<<6 + mathbits.TrailingZeros64(bits))
			bits &= bits - 1
			b = appendOption(b, code, values[at[code]])
		}
	}
	if agent {
		b = appendOption(b, agentInfo, values[at[agentInfo]])
	}
	b = append(b, 255)
	for len(b) < minReplyLen {
		b = append(b, 0)
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

func dhcpIP(ip []byte) []byte {
	switch len(ip) {
	case 4:
		return ip
	case 16:
		return ip[12:]
	}
	return nil
}
