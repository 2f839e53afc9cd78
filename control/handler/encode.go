package handler

import (
	"encoding/binary"

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

	// One pass over the map, then the entries in code order with relay
	// agent information last: a reply carries a dozen options or so, so
	// an insertion sort on the stack beats a lookup per code.
	var stack [32]optionEntry
	entries := stack[:0]
	for code, v := range m.Options {
		if code == 0 || code == 255 {
			continue // pad and end are not options (ToBytes leaves them out too)
		}
		entries = append(entries, optionEntry{code: code, value: v})
	}
	for i := 1; i < len(entries); i++ {
		for j := i; j > 0 && entries[j].before(entries[j-1]); j-- {
			entries[j], entries[j-1] = entries[j-1], entries[j]
		}
	}
	for _, e := range entries {
		b = appendOption(b, e.code, e.value)
	}
	b = append(b, 255)
	for len(b) < minReplyLen {
		b = append(b, 0)
	}
	return b
}

// optionEntry is one option of a reply being encoded.
type optionEntry struct {
	code  uint8
	value []byte
}

// before orders options by code, with relay agent information (82) after
// all others (RFC 3046 §2.1).
func (e optionEntry) before(o optionEntry) bool {
	const agentInfo = 82
	if (e.code == agentInfo) != (o.code == agentInfo) {
		return o.code == agentInfo
	}
	return e.code < o.code
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
