package dataplane

import (
	"bytes"
	"encoding/binary"

	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// With split 50 as primary, buckets 0..127 are ours.
var (
	ourMAC     = keyWhere(1, func(b uint8) bool { return b < 128 })
	partnerMAC = keyWhere(1, func(b uint8) bool { return b >= 128 })
)

func withMAC(m []byte) func(*msg) {
	return func(x *msg) { x.chaddr = m; x.hlen = uint8(len(m)) }
}
func withType(t uint8, more ...[]byte) func(*msg) {
	return func(x *msg) { x.options = concat(append([][]byte{msgType(t)}, append(more, endOpt)...)...) }
}
func withOptions(o ...[]byte) func(*msg) { return func(x *msg) { x.options = concat(o...) } }
func withSecs(s uint16) func(*msg)       { return func(x *msg) { x.secs = s } }
func withCiaddr() func(*msg)             { return func(x *msg) { x.ciaddr = [4]byte{10, 0, 0, 5} } }

var (
	serverID    = opt(optServerID, 10, 0, 0, 1)
	requestedIP = opt(optRequestedIP, 10, 0, 0, 5)
	partnerCID  = append([]byte{1}, keyWhere(7, func(b uint8) bool { return b >= 128 })...)
)

// cidWhere returns option 61 data of n bytes whose bucket satisfies want.
func cidWhere(n int, want func(uint8) bool) []byte {
	for i := 0; ; i++ {
		d := bytes.Repeat([]byte{0x5a}, n)
		d[0], d[n-1] = byte(i), byte(i>>8)
		if want(loadbalance.Hash(d)) {
			return d
		}
	}
}

func partnerFrame(mods ...func(*msg)) []byte {
	return dhcpFrame(newMsg(append([]func(*msg){withMAC(partnerMAC)}, mods...)...))
}
func oursFrame(mods ...func(*msg)) []byte {
	return dhcpFrame(newMsg(append([]func(*msg){withMAC(ourMAC)}, mods...)...))
}

type verdictCase struct {
	name  string
	frame []byte
	want  Verdict
}

var (
	passOurs       = Verdict{Pass, ReasonOurs}
	dropPartner    = Verdict{Drop, ReasonPartner}
	passUnbalanced = Verdict{Pass, ReasonUnbalanced}
	passNotDHCP    = Verdict{Pass, ReasonNotDHCP}
	dropMalformed  = Verdict{Drop, ReasonMalformed}
	passBypass     = Verdict{Pass, ReasonSecsBypass}
)

// balancedCases run with split 50 as primary and secs-bypass 3.
func balancedCases() []verdictCase {
	ours, partner := newMsg(withMAC(ourMAC)), newMsg(withMAC(partnerMAC))
	bootpPartner := partner
	bootpPartner.cookie = false
	bootpOurs := ours
	bootpOurs.cookie = false
	hugeCID := func(pred func(uint8) bool) []byte { return opt(optClientID, cidWhere(255, pred)...) }
	isOurs := func(b uint8) bool { return b < 128 }
	isPartner := func(b uint8) bool { return b >= 128 }
	pads := func(n int) []byte { return make([]byte, n) }
	return []verdictCase{
		// Message types.
		{"discover ours", oursFrame(), passOurs},
		{"discover partner", partnerFrame(), dropPartner},
		{"request selecting partner", partnerFrame(withType(dhcpRequest, serverID, requestedIP)), dropPartner},
		{"request selecting ours", oursFrame(withType(dhcpRequest, serverID, requestedIP)), passOurs},
		{"request init-reboot partner", partnerFrame(withType(dhcpRequest, requestedIP)), dropPartner},
		{"request renewing partner", partnerFrame(withType(dhcpRequest), withCiaddr()), passUnbalanced},
		{"request ciaddr with server id partner", partnerFrame(withType(dhcpRequest, serverID), withCiaddr()), dropPartner},
		{"decline partner", partnerFrame(withType(4, serverID, requestedIP)), passUnbalanced},
		{"release partner", partnerFrame(withType(7, serverID), withCiaddr()), passUnbalanced},
		{"inform partner", partnerFrame(withType(8), withCiaddr()), passUnbalanced},
		{"offer partner", partnerFrame(withType(2)), passUnbalanced},
		{"ack partner", partnerFrame(withType(5)), passUnbalanced},
		{"nak partner", partnerFrame(withType(6)), passUnbalanced},
		{"leasequery partner", partnerFrame(withType(10)), passUnbalanced},
		{"message type 0 partner", partnerFrame(withType(0)), passUnbalanced},
		{"message type 255 partner", partnerFrame(withType(255)), passUnbalanced},
		{"first message type wins", partnerFrame(withOptions(msgType(7), msgType(1), endOpt)), passUnbalanced},
		{"bootp partner", frame{payload: bootpPartner.bytes()}.bytes(), dropPartner},
		{"bootp ours", frame{payload: bootpOurs.bytes()}.bytes(), passOurs},
		{"bootp bad cookie partner", frame{payload: append(bootpPartner.bytes(), 1, 2, 3, 4, 53, 1, 3)}.bytes(), dropPartner},
		{"cookie and no option 53 partner", partnerFrame(withOptions(requestedIP, endOpt)), dropPartner},
		{"overload without type", partnerFrame(withOptions(opt(optOverload, 3), endOpt)), Verdict{Pass, ReasonOverload}},
		{"overload with type", partnerFrame(withOptions(opt(optOverload, 3), msgType(1), endOpt)), dropPartner},
		{"not a request (op 2)", partnerFrame(func(m *msg) { m.op = 2 }), Verdict{Pass, ReasonNotRequest}},

		// Secs bypass (3 seconds).
		{"partner secs 2", partnerFrame(withSecs(2)), dropPartner},
		{"partner secs 3", partnerFrame(withSecs(3)), passBypass},
		{"partner secs 600", partnerFrame(withSecs(600)), passBypass},
		{"ours secs 600", oursFrame(withSecs(600)), passOurs},

		// Option 61.
		{"client id decides over chaddr", oursFrame(withType(1, opt(optClientID, partnerCID...))), dropPartner},
		{"client id of ours over partner chaddr", partnerFrame(withType(1, opt(optClientID, cidWhere(7, isOurs)...))), passOurs},
		{"empty client id falls back to chaddr", partnerFrame(withType(1, opt(optClientID))), dropPartner},
		{"empty client id, ours chaddr", oursFrame(withType(1, opt(optClientID))), passOurs},
		{"first client id wins", oursFrame(withType(1, opt(optClientID, partnerCID...), opt(optClientID, cidWhere(7, isOurs)...))), dropPartner},
		{"255-byte client id partner", oursFrame(withType(1, hugeCID(isPartner))), dropPartner},
		{"255-byte client id ours", partnerFrame(withType(1, hugeCID(isOurs))), passOurs},
		{"client id overflows packet", oursFrame(withOptions(msgType(1), []byte{optClientID, 200, 1, 2, 3})), dropMalformed},

		// Option walk.
		{"no end option", partnerFrame(withOptions(msgType(1))), dropPartner},
		{"no options at all", partnerFrame(withOptions()), dropPartner},
		{"options after end ignored", partnerFrame(withOptions(msgType(1), endOpt, []byte{optClientID, 250})), dropPartner},
		{"option header cut", partnerFrame(withOptions(msgType(1), []byte{12})), dropMalformed},
		{"option data cut", partnerFrame(withOptions(msgType(1), []byte{12, 10, 'a'})), dropMalformed},
		{"message type length 2", partnerFrame(withOptions(opt(optMessageType, 1, 1), endOpt)), dropMalformed},
		{"requested ip length 3", oursFrame(withType(1, opt(optRequestedIP, 1, 2, 3))), dropMalformed},
		{"server id length 5", oursFrame(withType(3, opt(optServerID, 1, 2, 3, 4, 5))), dropMalformed},
		{"100 pads then type", partnerFrame(withOptions(pads(100), msgType(7), endOpt)), passUnbalanced},
		{"200 pads", partnerFrame(withOptions(pads(200), msgType(1), endOpt)), Verdict{Pass, ReasonOptionLimit}},
		{"127 options then end", partnerFrame(withOptions(msgType(1), bytes.Repeat(opt(12, 'x'), 126), endOpt)), dropPartner},
		{"128 options filling the payload", partnerFrame(withOptions(msgType(1), bytes.Repeat(opt(12, 'x'), 127))), dropPartner},
		{"129 options", partnerFrame(withOptions(msgType(1), bytes.Repeat(opt(12, 'x'), 128))), Verdict{Pass, ReasonOptionLimit}},

		// BOOTP header.
		{"hlen 16", partnerFrame(func(m *msg) { m.hlen = 16 }), verdictOfKey(append(partnerMAC, make([]byte, 10)...))},
		{"hlen 17", oursFrame(func(m *msg) { m.hlen = 17 }), dropMalformed},
		{"hlen 0", oursFrame(func(m *msg) { m.hlen = 0 }), passOurs}, // Hash of nothing is bucket 0
		{"payload 236 bytes", frame{payload: ours.bytes()[:236]}.bytes(), passOurs},
		{"payload 235 bytes", frame{payload: ours.bytes()[:235]}.bytes(), dropMalformed},
		{"payload 239 bytes", frame{payload: partner.bytes()[:239]}.bytes(), dropPartner},
		{"zero-length udp payload", frame{}.bytes(), dropMalformed},

		// Lengths and truncation.
		{"udp length past frame", frame{payload: ours.bytes(), udpLenAdj: 1, totLenAdj: 1}.bytes(), dropMalformed},
		{"udp length past ip", frame{payload: ours.bytes(), totLenAdj: -1}.bytes(), dropMalformed},
		{"udp length below 8", frame{payload: ours.bytes(), udpLenAdj: -len(ours.bytes()) - 1}.bytes(), dropMalformed},
		{"udp length short of payload", frame{payload: partner.bytes(), udpLenAdj: -4}.bytes(), dropPartner},
		{"ethernet padding", frame{payload: partner.bytes(), trailer: 20}.bytes(), dropPartner},
		{"ip total length shorter than header", frame{payload: ours.bytes(), totLenAdj: 10 - 28 - len(ours.bytes())}.bytes(), dropMalformed},
		{"frame cut in bootp", frame{payload: ours.bytes(), cut: 100}.bytes(), dropMalformed},
		{"frame cut in udp header", frame{payload: ours.bytes(), cut: 14 + 20 + 5}.bytes(), passNotDHCP},
		{"frame cut in ip header", frame{payload: ours.bytes(), cut: 14 + 10}.bytes(), passNotDHCP},
		{"frame cut in ip options", frame{payload: ours.bytes(), ipOptions: make([]byte, 8), cut: 14 + 24}.bytes(), passNotDHCP},
		{"ethernet header only", frame{cut: 14}.bytes(), passNotDHCP},

		// Encapsulation.
		{"802.1Q ours", frame{vlanTPIDs: []uint16{etherType8021Q}, payload: ours.bytes()}.bytes(), passOurs},
		{"802.1Q partner", frame{vlanTPIDs: []uint16{etherType8021Q}, payload: partner.bytes()}.bytes(), dropPartner},
		{"QinQ partner", frame{vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, payload: partner.bytes()}.bytes(), dropPartner},
		{"QinQ ours", frame{vlanTPIDs: []uint16{etherType8021AD, etherType8021Q}, payload: ours.bytes()}.bytes(), passOurs},
		{"double 802.1Q partner", frame{vlanTPIDs: []uint16{etherType8021Q, etherType8021Q}, payload: partner.bytes()}.bytes(), dropPartner},
		{"three tags", frame{vlanTPIDs: []uint16{etherType8021AD, etherType8021Q, etherType8021Q}, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"vlan tag cut", frame{vlanTPIDs: []uint16{etherType8021Q}, cut: 16}.bytes(), passNotDHCP},
		{"ip options partner", frame{ipOptions: []byte{7, 7, 4, 0, 0, 0, 0, 1}, payload: partner.bytes()}.bytes(), dropPartner},
		{"40 bytes of ip options ours", frame{ipOptions: bytes.Repeat([]byte{1}, 40), payload: ours.bytes()}.bytes(), passOurs},
		{"vlan and ip options partner", frame{vlanTPIDs: []uint16{etherType8021Q}, ipOptions: make([]byte, 4), payload: partner.bytes()}.bytes(), dropPartner},

		// Not ours to judge.
		{"more fragments", frame{fragField: 0x2000, payload: partner.bytes()}.bytes(), Verdict{Pass, ReasonFragment}},
		{"fragment offset", frame{fragField: 0x0010, payload: partner.bytes()}.bytes(), Verdict{Pass, ReasonFragment}},
		{"dont fragment", frame{fragField: 0x4000, payload: partner.bytes()}.bytes(), dropPartner},
		{"ipv6 ethertype", frame{etherType: 0x86dd, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"arp", frame{etherType: 0x0806, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"ip version 6 in ipv4 ethertype", frame{ipVersion: 6, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"tcp", frame{ipProto: 6, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"udp to 68", frame{dport: 68, payload: partner.bytes()}.bytes(), passNotDHCP},
		{"udp to 53", frame{dport: 53, payload: []byte("dns")}.bytes(), passNotDHCP},
	}
}

// verdictOfKey is the verdict split 50 as primary gives a DISCOVER keyed by key.
func verdictOfKey(key []byte) Verdict {
	if loadbalance.Hash(key) < 128 {
		return passOurs
	}
	return dropPartner
}

// keyIn returns a MAC address whose RFC 3074 bucket is b.
func keyIn(b uint8) []byte {
	for i := 0; ; i++ {
		m := []byte{0x02, 0x00, 0x5e, byte(i >> 16), byte(i >> 8), byte(i)}
		if loadbalance.Hash(m) == b {
			return m
		}
	}
}

// keyWhere returns a MAC address whose bucket satisfies want, searching
// from seed.
func keyWhere(seed int, want func(uint8) bool) []byte {
	for i := seed; ; i++ {
		m := make([]byte, 6)
		m[0] = 0x02
		binary.BigEndian.PutUint32(m[2:], uint32(i))
		if want(loadbalance.Hash(m)) {
			return m
		}
	}
}
