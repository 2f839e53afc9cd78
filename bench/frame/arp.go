package frame

import "encoding/binary"

// ARPLen is the length of an ARP frame over Ethernet (without padding).
const ARPLen = 42

// ARP is an Ethernet/IPv4 ARP message.
type ARP struct {
	Op        uint16 // 1 request, 2 reply
	SenderMAC [6]byte
	SenderIP  [4]byte
	TargetMAC [6]byte
	TargetIP  [4]byte
}

// ARP operations.
const (
	ARPRequest uint16 = 1
	ARPReply   uint16 = 2
)

// ParseARP reads an Ethernet ARP frame for IPv4.
func ParseARP(frame []byte, a *ARP) bool {
	if len(frame) < ARPLen || binary.BigEndian.Uint16(frame[12:14]) != 0x0806 {
		return false
	}
	p := frame[ethLen:]
	if binary.BigEndian.Uint16(p[0:2]) != 1 || binary.BigEndian.Uint16(p[2:4]) != 0x0800 || p[4] != 6 || p[5] != 4 {
		return false
	}
	a.Op = binary.BigEndian.Uint16(p[6:8])
	a.SenderMAC, a.SenderIP = [6]byte(p[8:14]), [4]byte(p[14:18])
	a.TargetMAC, a.TargetIP = [6]byte(p[18:24]), [4]byte(p[24:28])
	return true
}

// BuildARP writes a as a frame into buf (at least ARPLen bytes) and returns
// its length. Requests go to broadcast, replies to the target MAC.
func BuildARP(buf []byte, a *ARP) int {
	dst := a.TargetMAC
	if a.Op == ARPRequest {
		dst = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	}
	copy(buf[0:6], dst[:])
	copy(buf[6:12], a.SenderMAC[:])
	binary.BigEndian.PutUint16(buf[12:14], 0x0806)
	p := buf[ethLen:]
	binary.BigEndian.PutUint16(p[0:2], 1)
	binary.BigEndian.PutUint16(p[2:4], 0x0800)
	p[4], p[5] = 6, 4
	binary.BigEndian.PutUint16(p[6:8], a.Op)
	copy(p[8:14], a.SenderMAC[:])
	copy(p[14:18], a.SenderIP[:])
	copy(p[18:24], a.TargetMAC[:])
	copy(p[24:28], a.TargetIP[:])
	return ARPLen
}
