package dataplane

import (
	"encoding/binary"

	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// These mirror the constants of bpf/xdhcp.c.
const (
	etherTypeIPv4   = 0x0800
	etherType8021Q  = 0x8100
	etherType8021AD = 0x88a8
	maxVLANTags     = 2
	ipProtoUDP      = 17
	dhcpServerPort  = 67

	bootpFixedLen   = 236 // op .. file, without the magic cookie
	bootpOptionsOff = 240
	bootpSecsOff    = 8
	bootpCiaddrOff  = 12
	bootpGiaddrOff  = 24
	bootpChaddrOff  = 28
	bootRequest     = 1
	maxHlen         = 16
	dhcpMagic       = 0x63825363
	maxOptionSteps  = 128

	optPad         = 0
	optRequestedIP = 50
	optOverload    = 52
	optMessageType = 53
	optServerID    = 54
	optClientID    = 61
	optRelayAgent  = 82
	optEnd         = 255

	dhcpDiscover = 1
	dhcpRequest  = 3

	vlanVIDMask = 0x0fff
)

// request is what classification needs from a BOOTREQUEST.
type request struct {
	verdict  Verdict // set when parsing already decided
	decided  bool
	balanced bool
	discover bool   // a balanced DISCOVER or BOOTP request: charged to the discover budget
	reason   Reason // why it passes when not balanced (before the rate limit)
	key      []byte // RFC 3074 key, when balanced
	secs     uint16
	chaddr   [maxHlen]byte // chaddr[0..hlen), zero padded: the rate-limit key
	hlen     uint8
	giaddr   [4]byte
	relay    []byte // option 82's data (first instance); empty when absent
}

// linkSource is what a frame's link layer says about its sender.
type linkSource struct {
	mac  [6]byte
	vlan [maxVLANTags]uint16 // VLAN IDs, outer first; 0 when absent
}

// frameBOOTP walks Ethernet (with up to two VLAN tags), IPv4 and UDP as the
// XDP program does. It returns the UDP payload when the frame is a whole,
// unfragmented UDP datagram to port 67, else the verdict already reached.
// It fills l2 from the Ethernet header and VLAN tags.
func frameBOOTP(frame []byte, l2 *linkSource) ([]byte, Verdict, bool) {
	notDHCP := Verdict{Pass, ReasonNotDHCP}
	malformed := Verdict{Drop, ReasonMalformed}
	if len(frame) < 14 {
		return nil, notDHCP, false
	}
	copy(l2.mac[:], frame[6:12])
	proto := binary.BigEndian.Uint16(frame[12:])
	cur := 14
	for i := range maxVLANTags {
		if proto != etherType8021Q && proto != etherType8021AD {
			break
		}
		if cur+4 > len(frame) {
			return nil, notDHCP, false
		}
		l2.vlan[i] = binary.BigEndian.Uint16(frame[cur:]) & vlanVIDMask
		proto = binary.BigEndian.Uint16(frame[cur+2:])
		cur += 4
	}
	if proto != etherTypeIPv4 || cur+20 > len(frame) {
		return nil, notDHCP, false
	}
	ip := frame[cur:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[0]>>4 != 4 || ihl < 20 || cur+ihl > len(frame) || ip[9] != ipProtoUDP {
		return nil, notDHCP, false
	}
	if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
		return nil, Verdict{Pass, ReasonFragment}, false
	}
	udp := cur + ihl
	if udp+8 > len(frame) || binary.BigEndian.Uint16(frame[udp+2:]) != dhcpServerPort {
		return nil, notDHCP, false
	}
	ulen := int(binary.BigEndian.Uint16(frame[udp+4:]))
	totLen := int(binary.BigEndian.Uint16(ip[2:]))
	if ulen < 8 || totLen < ihl || ulen > totLen-ihl || udp+ulen > len(frame) {
		return nil, malformed, false
	}
	return frame[udp+8 : udp+ulen], Verdict{}, true
}

// parseBOOTP reads a UDP payload to port 67 as the XDP program does.
func parseBOOTP(b []byte) request {
	var r request
	decide := func(a Action, why Reason) request {
		r.verdict, r.decided = Verdict{a, why}, true
		return r
	}
	if len(b) < bootpFixedLen {
		return decide(Drop, ReasonMalformed)
	}
	if b[0] != bootRequest {
		return decide(Pass, ReasonNotRequest)
	}
	hlen := int(b[2])
	if hlen > maxHlen {
		return decide(Drop, ReasonMalformed)
	}
	chaddr := b[bootpChaddrOff : bootpChaddrOff+hlen]
	copy(r.chaddr[:], chaddr)
	r.hlen = uint8(hlen)
	copy(r.giaddr[:], b[bootpGiaddrOff:])
	r.secs = binary.BigEndian.Uint16(b[bootpSecsOff:])

	var o options
	if len(b) >= bootpOptionsOff && binary.BigEndian.Uint32(b[bootpFixedLen:]) == dhcpMagic {
		switch o.walk(b, bootpOptionsOff) {
		case walkMalformed:
			return decide(Drop, ReasonMalformed)
		case walkLimit:
			r.reason = ReasonOptionLimit
			r.relay = o.relay
			return r
		}
	}
	r.relay = o.relay

	r.reason = ReasonUnbalanced
	switch {
	case !o.hasType && o.hasOverload:
		r.reason = ReasonOverload
	case !o.hasType, o.msgType == dhcpDiscover:
		r.balanced = true
	case o.msgType == dhcpRequest:
		// RENEWING and REBINDING requests carry ciaddr and no server id.
		ciaddr := binary.BigEndian.Uint32(b[bootpCiaddrOff:])
		r.balanced = ciaddr == 0 || o.hasServerID
	}
	if r.balanced {
		r.key = loadbalance.ClientKey(o.clientID, chaddr)
		r.discover = !o.hasType || o.msgType == dhcpDiscover
	}
	return r
}

type walkResult int

const (
	walkOK walkResult = iota
	walkMalformed
	walkLimit
)

// options is what the option walk records.
type options struct {
	msgType     uint8
	hasType     bool
	clientID    []byte
	hasClientID bool
	relay       []byte // option 82's data
	hasRelay    bool
	hasServerID bool
	hasOverload bool
}

// walk reads the options in b[off:], at most maxOptionSteps of them (pads
// included). The first instance of an option wins; options 53, 50 and 54
// must have their fixed lengths wherever they appear. A missing END option
// is accepted.
func (o *options) walk(b []byte, off int) walkResult {
	end := len(b)
	for range maxOptionSteps {
		if off >= end {
			return walkOK
		}
		code := b[off]
		if code == optPad {
			off++
			continue
		}
		if code == optEnd {
			return walkOK
		}
		if off+2 > end {
			return walkMalformed
		}
		n := int(b[off+1])
		data := off + 2
		if data+n > end {
			return walkMalformed
		}
		switch code {
		case optMessageType:
			if n != 1 {
				return walkMalformed
			}
			if !o.hasType {
				o.msgType, o.hasType = b[data], true
			}
		case optClientID:
			if !o.hasClientID {
				o.clientID, o.hasClientID = b[data:data+n], true
			}
		case optRelayAgent:
			if !o.hasRelay {
				o.relay, o.hasRelay = b[data:data+n], true
			}
		case optRequestedIP, optServerID:
			if n != 4 {
				return walkMalformed
			}
			if code == optServerID {
				o.hasServerID = true
			}
		case optOverload:
			o.hasOverload = true
		}
		off = data + n
	}
	if off >= end {
		return walkOK
	}
	return walkLimit
}
