package handler

import (
	"net/netip"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// reqOptions holds the request options the handler reads, found in one
// pass over the message's option map instead of one map lookup per use.
// The values alias the request's; absent options are nil, like
// dhcpv4.Options.Get gives them.
type reqOptions struct {
	hasType   bool // option 53 present, even empty
	msgType   []byte
	requested []byte // 50
	serverID  []byte // 54
	leaseTime []byte // 51
	clientID  []byte // 61
	agentInfo []byte // 82
	prl       []byte // 55
	hostname  []byte // 12
}

// The option codes the handler reads or writes (RFC 2132, RFC 3046).
const (
	optSubnetMask  uint8 = 1
	optHostName    uint8 = 12
	optRequestedIP uint8 = 50
	optLeaseTime   uint8 = 51
	optMessageType uint8 = 53
	optServerID    uint8 = 54
	optParamList   uint8 = 55
	optRenewTime   uint8 = 58
	optRebindTime  uint8 = 59
	optClientID    uint8 = 61
	optAgentInfo   uint8 = 82
)

func scanOptions(m *dhcpv4.DHCPv4) reqOptions {
	var o reqOptions
	for code, v := range m.Options {
		o.set(code, v)
	}
	return o
}

// set records option code's value if the handler reads it.
func (o *reqOptions) set(code uint8, v []byte) {
	if slot := o.slot(code); slot != nil {
		*slot = v
	}
}

// slot returns where option code's value goes, nil for an option the
// handler does not read. Option 53's slot marks it present.
func (o *reqOptions) slot(code uint8) *[]byte {
	switch code {
	case optMessageType:
		o.hasType = true
		return &o.msgType
	case optRequestedIP:
		return &o.requested
	case optServerID:
		return &o.serverID
	case optLeaseTime:
		return &o.leaseTime
	case optClientID:
		return &o.clientID
	case optAgentInfo:
		return &o.agentInfo
	case optParamList:
		return &o.prl
	case optHostName:
		return &o.hostname
	}
	return nil
}

// messageType is option 53 as dhcpv4.(*DHCPv4).MessageType reads it: one
// byte, else MessageTypeNone.
func (o *reqOptions) messageType() dhcpv4.MessageType {
	if len(o.msgType) != 1 {
		return dhcpv4.MessageTypeNone
	}
	return dhcpv4.MessageType(o.msgType[0])
}

// optAddr reads an address option as dhcpv4.GetIP does (exactly four
// bytes), reporting false for a missing, malformed or zero address.
func optAddr(v []byte) (netip.Addr, bool) {
	if len(v) != 4 {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom4([4]byte(v))
	return a, !a.IsUnspecified()
}

// askedLeaseTime is option 51 as dhcpv4.(*DHCPv4).IPAddressLeaseTime(0)
// reads it: four bytes of seconds, else 0.
func (o *reqOptions) askedLeaseTime() time.Duration {
	v := o.leaseTime
	if len(v) != 4 {
		return 0
	}
	return time.Duration(uint32(v[0])<<24|uint32(v[1])<<16|uint32(v[2])<<8|uint32(v[3])) * time.Second
}

// hostName is option 12 as dhcpv4.(*DHCPv4).HostName reads it: trailing
// NULs dropped.
func (o *reqOptions) hostName() string {
	v := o.hostname
	for len(v) > 0 && v[len(v)-1] == 0 {
		v = v[:len(v)-1]
	}
	return string(v)
}

// agentSubOptions returns sub-options 1 (circuit id) and 2 (remote id) of
// relay agent information as dhcpv4.(*DHCPv4).RelayAgentInfo parses them:
// pads skipped, the end option stops, repeated sub-options concatenated,
// empty ones nil, and nothing at all when a length runs past the end. The
// values alias v unless a sub-option repeats.
func agentSubOptions(v []byte) (circuit, remote []byte) {
	var subs [3][]byte
	for i := 0; i < len(v); {
		code := v[i]
		i++
		if code == 0 {
			continue
		}
		if code == 255 {
			break
		}
		if i >= len(v) {
			break // a code without a length: present and empty
		}
		n := int(v[i])
		i++
		if i+n > len(v) {
			return nil, nil
		}
		if code < uint8(len(subs)) && n > 0 {
			val := v[i : i+n : i+n]
			if old := subs[code]; old != nil {
				val = append(old[:len(old):len(old)], val...)
			}
			subs[code] = val
		}
		i += n
	}
	return subs[1], subs[2]
}
