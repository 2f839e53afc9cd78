package handler

import (
	"bytes"
	"errors"
	"fmt"
	mathbits "math/bits"
	"net"
	"net/netip"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// broadcastFlag is the B bit of the BOOTP flags (RFC 2131 §2).
const broadcastFlag = 0x8000

// Reply is a BOOTREPLY the handler built: the header in fixed arrays and
// the options in a set of codes with one value each, so that building,
// encoding and recycling a reply needs neither a map nor a sort.
// AppendReply encodes it; Message converts it to the DHCP library's form
// for tests, logs and other cold paths.
//
// The header fields a handler reply never sets (hops, secs, sname, file)
// are always zero. Option values may be shared with the request and the
// scope's configuration: a Reply is valid until it is given back to its
// ReplyPool, and its request must not be recycled before then.
type Reply struct {
	hdr     replyHeader
	msgType dhcpv4.MessageType // option 53's value; MessageTypeNone for a BOOTREPLY without one
	opts    replyOptions
	times   [12]byte // options 51, 58 and 59 when they are not the scope's (Scope.leaseTimes)
}

// replyHeader is the BOOTP header of a reply, all of it assigned at once
// when a reply is built so that nothing survives from a recycled one.
type replyHeader struct {
	htype  iana.HWType
	hlen   uint8 // length of the request's chaddr, as the wire carries it
	flags  uint16
	xid    dhcpv4.TransactionID
	ciaddr [net.IPv4len]byte
	yiaddr [net.IPv4len]byte
	siaddr [net.IPv4len]byte
	giaddr [net.IPv4len]byte
	chaddr [16]byte
}

// replyOptions is a reply's options: the codes present as a bit set, and
// each code's value at its index in values, one value per code present.
// Encoding walks the bit set, which is code order.
type replyOptions struct {
	present codeSet
	at      [256]uint8 // index in values by code, meaningful for codes present
	values  [][]byte   // as many as codes present, in no particular order
}

// set gives option code the value v (nil: present and empty).
func (o *replyOptions) set(code uint8, v []byte) {
	if o.present.has(code) {
		o.values[o.at[code]] = v
		return
	}
	o.present.add(code)
	o.at[code] = uint8(len(o.values)) // below 256: one value per code present
	o.values = append(o.values, v)
}

// get returns option code's value and whether it is present.
func (o *replyOptions) get(code uint8) ([]byte, bool) {
	if !o.present.has(code) {
		return nil, false
	}
	return o.values[o.at[code]], true
}

// remove takes option code out, moving the last value into its slot.
func (o *replyOptions) remove(code uint8) {
	if !o.present.has(code) {
		return
	}
	o.present.remove(code)
	i, last := o.at[code], uint8(len(o.values)-1)
	if i != last {
		o.present.each(func(c uint8) {
			if o.at[c] == last {
				o.at[c] = i
			}
		})
		o.values[i] = o.values[last]
	}
	o.values[last] = nil
	o.values = o.values[:last]
}

// reset empties the set, dropping the references to the values.
func (o *replyOptions) reset() {
	o.present = codeSet{}
	clear(o.values)
	o.values = o.values[:0]
}

// len is the number of options present.
func (o *replyOptions) len() int { return len(o.values) }

// setType sets the message type, as a field and as option 53 with value v.
func (r *Reply) setType(typ dhcpv4.MessageType, v []byte) {
	r.msgType = typ
	r.opts.set(optMessageType, v)
}

// MessageType is the reply's DHCP message type, MessageTypeNone for a
// BOOTREPLY to an RFC 951 client.
func (r *Reply) MessageType() dhcpv4.MessageType { return r.msgType }

// Broadcast reports whether the broadcast flag is set.
func (r *Reply) Broadcast() bool { return r.hdr.flags&broadcastFlag != 0 }

// Flags is the BOOTP flags field.
func (r *Reply) Flags() uint16 { return r.hdr.flags }

// TransactionID is the request's xid, echoed.
func (r *Reply) TransactionID() dhcpv4.TransactionID { return r.hdr.xid }

// HWType is the hardware type of the client's address (htype).
func (r *Reply) HWType() iana.HWType { return r.hdr.htype }

// ClientHWAddr is the client's hardware address (chaddr, hlen bytes of
// it). It refers to the reply's own storage.
func (r *Reply) ClientHWAddr() net.HardwareAddr {
	return r.hdr.chaddr[:min(int(r.hdr.hlen), len(r.hdr.chaddr))]
}

// ClientIP is ciaddr (set only in the ACK to an INFORM).
func (r *Reply) ClientIP() netip.Addr { return netip.AddrFrom4(r.hdr.ciaddr) }

// YourIP is yiaddr, the address offered or bound.
func (r *Reply) YourIP() netip.Addr { return netip.AddrFrom4(r.hdr.yiaddr) }

// ServerIP is siaddr (set only in a BOOTREPLY).
func (r *Reply) ServerIP() netip.Addr { return netip.AddrFrom4(r.hdr.siaddr) }

// GatewayIP is giaddr, the relay the request came through.
func (r *Reply) GatewayIP() netip.Addr { return netip.AddrFrom4(r.hdr.giaddr) }

// Option returns option code's value and whether the reply carries it.
// The value must not be changed.
func (r *Reply) Option(code uint8) ([]byte, bool) { return r.opts.get(code) }

// Message returns the reply as a new library message, with copies of the
// option values: for tests, logs and cold paths. Its wire form
// ((*dhcpv4.DHCPv4).ToBytes) is what AppendReply produces.
func (r *Reply) Message() *dhcpv4.DHCPv4 {
	h := &r.hdr
	m := &dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        h.htype,
		TransactionID: h.xid,
		Flags:         h.flags,
		ClientIPAddr:  net.IP(bytes.Clone(h.ciaddr[:])),
		YourIPAddr:    net.IP(bytes.Clone(h.yiaddr[:])),
		ServerIPAddr:  net.IP(bytes.Clone(h.siaddr[:])),
		GatewayIPAddr: net.IP(bytes.Clone(h.giaddr[:])),
		ClientHWAddr:  bytes.Clone(r.ClientHWAddr()),
		Options:       make(dhcpv4.Options, r.opts.len()),
	}
	r.opts.present.each(func(code uint8) {
		v, _ := r.opts.get(code)
		m.Options[code] = bytes.Clone(v)
	})
	return m
}

// ToBytes is the library's encoding of Message, for tests and cold paths;
// the send path uses AppendReply, which gives the same bytes.
func (r *Reply) ToBytes() []byte { return r.Message().ToBytes() }

// ErrNotAReply is returned by NewReply for a message a Reply cannot hold.
var ErrNotAReply = errors.New("not a reply the handler could build")

// NewReply converts a library message into a Reply, for tests and cold
// paths that build replies outside the handler. A Reply holds what the
// handler's replies carry: a BOOTREPLY with no hops, secs, sname or file,
// a chaddr of at most 16 bytes, and a one-byte message type if any.
func NewReply(m *dhcpv4.DHCPv4) (*Reply, error) {
	switch {
	case m.OpCode != dhcpv4.OpcodeBootReply:
		return nil, fmt.Errorf("convert %s: %w", m.OpCode, ErrNotAReply)
	case m.HopCount != 0 || m.NumSeconds != 0:
		return nil, fmt.Errorf("convert a reply with hops or secs set: %w", ErrNotAReply)
	case m.ServerHostName != "" || m.BootFileName != "":
		return nil, fmt.Errorf("convert a reply with sname or file set: %w", ErrNotAReply)
	case len(m.ClientHWAddr) > 16:
		return nil, fmt.Errorf("convert a reply with a %d-byte chaddr: %w", len(m.ClientHWAddr), ErrNotAReply)
	}
	r := &Reply{hdr: replyHeader{
		htype:  m.HWType,
		hlen:   uint8(len(m.ClientHWAddr)),
		flags:  m.Flags,
		xid:    m.TransactionID,
		ciaddr: as4(m.ClientIPAddr),
		yiaddr: as4(m.YourIPAddr),
		siaddr: as4(m.ServerIPAddr),
		giaddr: as4(m.GatewayIPAddr),
	}}
	copy(r.hdr.chaddr[:], m.ClientHWAddr)
	for code, v := range m.Options {
		if code == optMessageType {
			if len(v) != 1 {
				return nil, fmt.Errorf("convert a reply with a %d-byte message type: %w", len(v), ErrNotAReply)
			}
			r.msgType = dhcpv4.MessageType(v[0])
		}
		r.opts.set(code, bytes.Clone(v))
	}
	return r, nil
}

// as4 returns an address field as the wire carries it: a four-byte
// address as it is, the last four bytes of a sixteen-byte one, zero for
// anything else.
func as4(ip net.IP) [net.IPv4len]byte {
	switch len(ip) {
	case net.IPv4len:
		return [net.IPv4len]byte(ip)
	case net.IPv6len:
		return [net.IPv4len]byte(ip[12:])
	}
	return [net.IPv4len]byte{}
}

// codeSet is a set of option codes.
type codeSet [4]uint64

func (c *codeSet) add(code uint8)      { c[code>>6] |= 1 << (code & 63) }
func (c *codeSet) remove(code uint8)   { c[code>>6] &^= 1 << (code & 63) }
func (c *codeSet) has(code uint8) bool { return c[code>>6]&(1<<(code&63)) != 0 }

// each calls f for each code in the set, in increasing order.
func (c *codeSet) each(f func(code uint8)) {
	for w, bits := range c {
		for bits != 0 {
			f(uint8(w<<6 + mathbits.TrailingZeros64(bits)))
			bits &= bits - 1
		}
	}
}
