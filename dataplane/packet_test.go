package dataplane

import (
	"encoding/binary"
)

// msg describes a BOOTP/DHCP message for tests. The zero value with
// defaults from newMsg is a DHCPDISCOVER from 02:00:00:00:00:01.
type msg struct {
	op, htype, hlen uint8
	secs            uint16
	ciaddr          [4]byte
	giaddr          [4]byte
	chaddr          []byte // written into the 16-byte chaddr field
	cookie          bool
	options         []byte // raw options after the cookie
	fixedLen        int    // cut the message to this length when > 0
	xid             uint32 // 0x12000000 when 0
}

// opt encodes one option.
func opt(code uint8, data ...byte) []byte {
	return append([]byte{code, uint8(len(data))}, data...)
}

// msgType is option 53.
func msgType(t uint8) []byte { return opt(optMessageType, t) }

var endOpt = []byte{optEnd}

func mac(last byte) []byte { return []byte{0x02, 0, 0, 0, 0, last} }

func newMsg(mods ...func(*msg)) msg {
	m := msg{op: 1, htype: 1, hlen: 6, chaddr: mac(1), cookie: true}
	m.options = concat(msgType(dhcpDiscover), endOpt)
	for _, mod := range mods {
		mod(&m)
	}
	return m
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func (m msg) bytes() []byte {
	b := make([]byte, bootpFixedLen, bootpFixedLen+4+len(m.options))
	b[0], b[1], b[2] = m.op, m.htype, m.hlen
	b[4] = 0x12 // xid
	if m.xid != 0 {
		binary.BigEndian.PutUint32(b[4:], m.xid)
	}
	binary.BigEndian.PutUint16(b[8:], m.secs)
	copy(b[12:16], m.ciaddr[:])
	copy(b[24:28], m.giaddr[:])
	copy(b[28:44], m.chaddr)
	if m.cookie {
		b = binary.BigEndian.AppendUint32(b, dhcpMagic)
		b = append(b, m.options...)
	}
	if m.fixedLen > 0 && m.fixedLen < len(b) {
		b = b[:m.fixedLen]
	}
	return b
}

// frame describes the headers around a payload.
type frame struct {
	vlanTPIDs []uint16 // outer first
	vlanIDs   []uint16 // the tags' VLAN IDs; default 100, 101
	srcMAC    []byte   // Ethernet source; default 02:00:00:00:00:01
	etherType uint16   // after the tags; default IPv4
	ipVersion uint8    // default 4
	ipOptions []byte   // padded to 4 bytes by the caller
	ipProto   uint8    // default UDP
	fragField uint16   // flags and fragment offset
	dport     uint16   // default 67
	dstIP     []byte   // IPv4 destination; default 255.255.255.255
	udpLenAdj int      // added to the UDP length field
	totLenAdj int      // added to the IP total length field
	trailer   int      // bytes of Ethernet padding after the datagram
	cut       int      // cut the frame to this many bytes when > 0
	payload   []byte
}

func (f frame) bytes() []byte {
	if f.etherType == 0 {
		f.etherType = etherTypeIPv4
	}
	if f.ipVersion == 0 {
		f.ipVersion = 4
	}
	if f.ipProto == 0 {
		f.ipProto = ipProtoUDP
	}
	if f.dport == 0 {
		f.dport = dhcpServerPort
	}
	b := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1}
	if f.srcMAC != nil {
		copy(b[6:12], f.srcMAC)
	}
	for i, tpid := range f.vlanTPIDs {
		tci := uint16(100 + i)
		if i < len(f.vlanIDs) {
			tci = f.vlanIDs[i]
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, tci) // the TCI of the tag
	}
	b = binary.BigEndian.AppendUint16(b, f.etherType)
	ihl := 20 + len(f.ipOptions)
	ulen := 8 + len(f.payload)
	ip := make([]byte, 20, ihl)
	ip[0] = f.ipVersion<<4 | uint8(ihl/4)
	binary.BigEndian.PutUint16(ip[2:], uint16(ihl+ulen+f.totLenAdj))
	binary.BigEndian.PutUint16(ip[6:], f.fragField)
	ip[8], ip[9] = 64, f.ipProto
	copy(ip[16:20], []byte{255, 255, 255, 255})
	if f.dstIP != nil {
		copy(ip[16:20], f.dstIP)
	}
	ip = append(ip, f.ipOptions...)
	var sum uint32
	for i := 0; i+1 < len(ip); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, 68)
	b = binary.BigEndian.AppendUint16(b, f.dport)
	b = binary.BigEndian.AppendUint16(b, uint16(ulen+f.udpLenAdj))
	b = binary.BigEndian.AppendUint16(b, 0) // no UDP checksum
	b = append(b, f.payload...)
	b = append(b, make([]byte, f.trailer)...)
	if f.cut > 0 && f.cut < len(b) {
		b = b[:f.cut]
	}
	return b
}

// dhcpFrame wraps a message in default headers.
func dhcpFrame(m msg) []byte { return frame{payload: m.bytes()}.bytes() }
