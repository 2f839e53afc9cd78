package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// DHCP message types (option 53).
const (
	Discover uint8 = 1
	Offer    uint8 = 2
	Request  uint8 = 3
	Decline  uint8 = 4
	Ack      uint8 = 5
	Nak      uint8 = 6
	Release  uint8 = 7
	Inform   uint8 = 8
)

// BOOTP ops and ports.
const (
	OpRequest  uint8  = 1
	OpReply    uint8  = 2
	ServerPort uint16 = 67
	ClientPort uint16 = 68
	// FlagBroadcast is the BOOTP broadcast flag.
	FlagBroadcast uint16 = 0x8000
)

// Sizes of the fixed parts of a frame.
const (
	ethLen   = 14
	ipv4Len  = 20
	udpLen   = 8
	bootpLen = 236
	magicLen = 4
	// HeaderLen is everything before the DHCP options.
	HeaderLen = ethLen + ipv4Len + udpLen + bootpLen + magicLen
	// MaxLen is the largest frame Build writes; buffers of this size
	// always suffice.
	MaxLen = 1024
	// minBootp pads short messages to the 300-byte BOOTP minimum, which
	// some servers and relays expect.
	minBootp = 300
)

var magic = [4]byte{99, 130, 83, 99}

// Parse errors. Callers count them as drops.
var (
	ErrNotDHCP   = errors.New("not an IPv4 UDP frame to or from a DHCP port")
	ErrTruncated = errors.New("truncated frame")
	ErrBadMagic  = errors.New("bad DHCP magic cookie")
	ErrOption    = errors.New("malformed DHCP option")
	ErrTooLong   = errors.New("message does not fit in MaxLen")
)

// Message is one DHCP frame, from the Ethernet header to the options.
// A zero [4]byte or nil slice means "not present" for options.
type Message struct {
	SrcMAC, DstMAC   [6]byte
	SrcIP, DstIP     [4]byte
	SrcPort, DstPort uint16

	Op                     uint8
	Hops                   uint8
	XID                    uint32
	Secs, Flags            uint16
	Ciaddr, Yiaddr, Siaddr [4]byte
	Giaddr                 [4]byte
	CHAddr                 [6]byte

	Type        uint8   // option 53; 0 for BOOTP
	ServerID    [4]byte // option 54
	RequestedIP [4]byte // option 50
	LeaseTime   uint32  // option 51, seconds
	SubnetMask  [4]byte // option 1
	ClientID    []byte  // option 61 data (type byte first)
	CircuitID   []byte  // option 82 sub-option 1
	RemoteID    []byte  // option 82 sub-option 2
}

// Build writes m as a complete Ethernet frame into buf (at least MaxLen
// bytes) and returns its length.
func Build(buf []byte, m *Message) (int, error) {
	if len(buf) < MaxLen {
		return 0, fmt.Errorf("build frame: buffer of %d bytes, need %d", len(buf), MaxLen)
	}
	if len(m.ClientID) > 255 || len(m.CircuitID) > 120 || len(m.RemoteID) > 120 {
		return 0, fmt.Errorf("build frame: %w", ErrTooLong)
	}
	copy(buf[0:6], m.DstMAC[:])
	copy(buf[6:12], m.SrcMAC[:])
	binary.BigEndian.PutUint16(buf[12:14], 0x0800)

	b := buf[ethLen+ipv4Len+udpLen:]
	clear(b[:bootpLen])
	b[0], b[1], b[2], b[3] = m.Op, 1, 6, m.Hops
	binary.BigEndian.PutUint32(b[4:8], m.XID)
	binary.BigEndian.PutUint16(b[8:10], m.Secs)
	binary.BigEndian.PutUint16(b[10:12], m.Flags)
	copy(b[12:16], m.Ciaddr[:])
	copy(b[16:20], m.Yiaddr[:])
	copy(b[20:24], m.Siaddr[:])
	copy(b[24:28], m.Giaddr[:])
	copy(b[28:34], m.CHAddr[:])
	copy(b[bootpLen:], magic[:])
	o := bootpLen + magicLen
	if m.Type != 0 {
		b[o], b[o+1], b[o+2] = 53, 1, m.Type
		o += 3
	}
	o = putAddr(b, o, 54, m.ServerID)
	o = putAddr(b, o, 50, m.RequestedIP)
	o = putAddr(b, o, 1, m.SubnetMask)
	if m.LeaseTime != 0 {
		b[o], b[o+1] = 51, 4
		binary.BigEndian.PutUint32(b[o+2:o+6], m.LeaseTime)
		o += 6
	}
	if m.ClientID != nil {
		b[o], b[o+1] = 61, byte(len(m.ClientID))
		o += 2 + copy(b[o+2:], m.ClientID)
	}
	if m.CircuitID != nil || m.RemoteID != nil {
		start := o
		o += 2
		if m.CircuitID != nil {
			b[o], b[o+1] = 1, byte(len(m.CircuitID))
			o += 2 + copy(b[o+2:], m.CircuitID)
		}
		if m.RemoteID != nil {
			b[o], b[o+1] = 2, byte(len(m.RemoteID))
			o += 2 + copy(b[o+2:], m.RemoteID)
		}
		b[start], b[start+1] = 82, byte(o-start-2)
	}
	b[o] = 255
	o++
	for o < minBootp {
		b[o] = 0
		o++
	}
	udpTotal := udpLen + o
	ipTotal := ipv4Len + udpTotal

	ip := buf[ethLen : ethLen+ipv4Len]
	ip[0], ip[1] = 0x45, 0
	binary.BigEndian.PutUint16(ip[2:4], uint16(ipTotal))
	binary.BigEndian.PutUint32(ip[4:8], 0) // id 0, no fragmentation flags
	ip[8], ip[9] = 64, 17
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], m.SrcIP[:])
	copy(ip[16:20], m.DstIP[:])
	binary.BigEndian.PutUint16(ip[10:12], ^fold(sum(ip, 0)))

	udp := buf[ethLen+ipv4Len : ethLen+ipv4Len+udpLen]
	binary.BigEndian.PutUint16(udp[0:2], m.SrcPort)
	binary.BigEndian.PutUint16(udp[2:4], m.DstPort)
	binary.BigEndian.PutUint16(udp[4:6], uint16(udpTotal))
	udp[6], udp[7] = 0, 0
	binary.BigEndian.PutUint16(udp[6:8], udpChecksum(buf[ethLen:ethLen+ipTotal]))
	return ethLen + ipTotal, nil
}

func putAddr(b []byte, o int, code byte, a [4]byte) int {
	if a == [4]byte{} {
		return o
	}
	b[o], b[o+1] = code, 4
	copy(b[o+2:o+6], a[:])
	return o + 6
}

// sum adds b as big-endian 16-bit words to s.
func sum(b []byte, s uint32) uint32 {
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)&1 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	return s
}

func fold(s uint32) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// udpChecksum computes the UDP checksum of an IPv4 packet whose UDP
// checksum field is zero.
func udpChecksum(ip []byte) uint16 {
	udp := ip[ipv4Len:]
	s := sum(ip[12:20], 0) + 17 + uint32(len(udp))
	c := ^fold(sum(udp, s))
	if c == 0 {
		return 0xffff
	}
	return c
}

// Parse reads a DHCP frame into m. Byte slices in m alias frame.
func Parse(frame []byte, m *Message) error {
	if len(frame) < ethLen+ipv4Len+udpLen {
		return ErrTruncated
	}
	if binary.BigEndian.Uint16(frame[12:14]) != 0x0800 {
		return ErrNotDHCP
	}
	ip := frame[ethLen:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < ipv4Len || ip[9] != 17 {
		return ErrNotDHCP
	}
	if binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return ErrNotDHCP // fragments are not ours
	}
	total := int(binary.BigEndian.Uint16(ip[2:4]))
	if total > len(ip) || total < ihl+udpLen {
		return ErrTruncated
	}
	udp := ip[ihl:total]
	sport, dport := binary.BigEndian.Uint16(udp[0:2]), binary.BigEndian.Uint16(udp[2:4])
	if (dport != ServerPort && dport != ClientPort) || (sport != ServerPort && sport != ClientPort) {
		return ErrNotDHCP
	}
	b := udp[udpLen:]
	if ul := int(binary.BigEndian.Uint16(udp[4:6])); ul >= udpLen && ul-udpLen < len(b) {
		b = b[:ul-udpLen]
	}
	if len(b) < bootpLen+magicLen {
		return ErrTruncated
	}
	if [4]byte(b[bootpLen:bootpLen+4]) != magic {
		return ErrBadMagic
	}
	*m = Message{
		SrcMAC: [6]byte(frame[6:12]), DstMAC: [6]byte(frame[0:6]),
		SrcIP: [4]byte(ip[12:16]), DstIP: [4]byte(ip[16:20]),
		SrcPort: sport, DstPort: dport,
		Op: b[0], Hops: b[3],
		XID:  binary.BigEndian.Uint32(b[4:8]),
		Secs: binary.BigEndian.Uint16(b[8:10]), Flags: binary.BigEndian.Uint16(b[10:12]),
		Ciaddr: [4]byte(b[12:16]), Yiaddr: [4]byte(b[16:20]), Siaddr: [4]byte(b[20:24]), Giaddr: [4]byte(b[24:28]),
		CHAddr: [6]byte(b[28:34]),
	}
	return parseOptions(b[bootpLen+magicLen:], m)
}

func parseOptions(o []byte, m *Message) error {
	for i := 0; i < len(o); {
		code := o[i]
		if code == 255 {
			return nil
		}
		if code == 0 {
			i++
			continue
		}
		if i+1 >= len(o) || i+2+int(o[i+1]) > len(o) {
			return ErrOption
		}
		v := o[i+2 : i+2+int(o[i+1])]
		i += 2 + len(v)
		switch code {
		case 53, 54, 50, 1, 51:
			if (code == 53 && len(v) != 1) || (code != 53 && len(v) != 4) {
				return ErrOption
			}
		}
		switch code {
		case 53:
			m.Type = v[0]
		case 54:
			m.ServerID = [4]byte(v)
		case 50:
			m.RequestedIP = [4]byte(v)
		case 1:
			m.SubnetMask = [4]byte(v)
		case 51:
			m.LeaseTime = binary.BigEndian.Uint32(v)
		case 61:
			m.ClientID = v
		case 82:
			if err := parseRelayInfo(v, m); err != nil {
				return err
			}
		}
	}
	return nil // no end option: tolerated, as many servers pad without one
}

func parseRelayInfo(v []byte, m *Message) error {
	for i := 0; i < len(v); {
		if i+1 >= len(v) || i+2+int(v[i+1]) > len(v) {
			return ErrOption
		}
		sub := v[i+2 : i+2+int(v[i+1])]
		switch v[i] {
		case 1:
			m.CircuitID = sub
		case 2:
			m.RemoteID = sub
		}
		i += 2 + len(sub)
	}
	return nil
}
