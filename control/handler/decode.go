package handler

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/xdhcp/xdhcp/control/lease"
)

// bootpHeaderLen is the fixed BOOTP header before the vendor area (RFC 951).
const bootpHeaderLen = 236

var magicCookie = [4]byte{99, 130, 83, 99}

// ErrTooShort is returned for a datagram shorter than a BOOTP header.
var ErrTooShort = errors.New("shorter than a BOOTP header")

// Decoded is one decoded request. Everything it holds is its own: the
// addresses, chaddr and option values are copies in its own buffers, never
// slices of the datagram it came from, so the receive buffer can be reused
// at once.
//
// Decoding fills the header and finds the options the handler reads; the
// library message with its option map, which the hot path does not need,
// is built only when Message asks for it.
type Decoded struct {
	msg    dhcpv4.DHCPv4 // the header; Options is filled by Message
	mapped bool          // msg.Options holds this message's options

	addrs  [4][net.IPv4len]byte // ciaddr, yiaddr, siaddr, giaddr
	chaddr [16]byte
	values []byte     // the options area, copied; option values are sub-slices of it
	opts   reqOptions // the options the handler reads, found while decoding

	// Storage for what Handler.HandleDecoded returns, so that answering
	// does not allocate: the lease to persist.
	lease lease.Lease
}

// RequestPool decodes requests into recycled Decoded values, so that the
// hot path does not allocate a message, its option map and a slice per
// field for every datagram. The zero value is ready to use and safe for
// concurrent use.
type RequestPool struct {
	pool sync.Pool
}

// Decode parses a received UDP payload (see the package function Decode
// for the rules). Give the result back with Put once nothing refers to
// it any more; the replies built from it echo some of its option values.
func (p *RequestPool) Decode(b []byte) (*Decoded, error) {
	d, ok := p.pool.Get().(*Decoded)
	if !ok {
		d = new(Decoded)
	}
	if err := d.decode(b); err != nil {
		p.Put(d)
		return nil, err
	}
	return d, nil
}

// Put recycles d. Nothing may use d, or what its methods returned,
// afterwards.
func (p *RequestPool) Put(d *Decoded) {
	if d != nil {
		p.pool.Put(d)
	}
}

// Decode parses a received UDP payload. A DHCP message must carry the magic
// cookie and well-formed options; a BOOTP request whose vendor area holds no
// cookie (RFC 951 clients) decodes with no options. The fields and options
// come out as dhcpv4.FromBytes gives them (a fuzz test holds the two
// equal).
func Decode(b []byte) (*dhcpv4.DHCPv4, error) {
	d := new(Decoded)
	if err := d.decode(b); err != nil {
		return nil, err
	}
	return d.Message(), nil
}

// Message returns the request as a library message, its option map filled
// on the first call: for Handle, tests and cold paths. It belongs to d
// and is valid until d is given back to its pool.
func (d *Decoded) Message() *dhcpv4.DHCPv4 {
	if !d.mapped {
		if d.msg.Options == nil {
			d.msg.Options = make(dhcpv4.Options, 16)
		}
		clear(d.msg.Options)
		_ = walkOptions(d.values, d.msg.Options, nil) // decode checked the area
		d.mapped = true
	}
	return &d.msg
}

// MessageType returns option 53's value, and false for a BOOTP request,
// which has none.
func (d *Decoded) MessageType() (dhcpv4.MessageType, bool) {
	return d.opts.messageType(), d.opts.hasType
}

// ClientIP is ciaddr.
func (d *Decoded) ClientIP() netip.Addr { return netip.AddrFrom4(d.addrs[0]) }

// GatewayIP is giaddr, the relay the request came through.
func (d *Decoded) GatewayIP() netip.Addr { return netip.AddrFrom4(d.addrs[3]) }

// ClientHWAddr is chaddr, as long as hlen says (16 bytes at most). It
// refers to d's own storage.
func (d *Decoded) ClientHWAddr() net.HardwareAddr { return d.msg.ClientHWAddr }

// Broadcast reports whether the client asked for broadcast replies.
func (d *Decoded) Broadcast() bool { return d.msg.Flags&broadcastFlag != 0 }

// decode fills d from b, reusing d's buffers; the option map is left for
// Message to fill.
func (d *Decoded) decode(b []byte) error {
	if len(b) < bootpHeaderLen {
		return fmt.Errorf("decode %d bytes: %w", len(b), ErrTooShort)
	}
	plainBOOTP := len(b) < bootpHeaderLen+4 || [4]byte(b[bootpHeaderLen:bootpHeaderLen+4]) != magicCookie

	d.opts = reqOptions{}
	d.values = d.values[:0]
	d.mapped = false
	m := &d.msg
	*m = dhcpv4.DHCPv4{
		OpCode:     dhcpv4.OpcodeType(b[0]),
		HWType:     iana.HWType(b[1]),
		HopCount:   b[3],
		NumSeconds: uint16(b[8])<<8 | uint16(b[9]),
		Flags:      uint16(b[10])<<8 | uint16(b[11]),
		Options:    m.Options, // kept for Message to refill
	}
	copy(m.TransactionID[:], b[4:8])
	for i := range d.addrs {
		copy(d.addrs[i][:], b[12+4*i:16+4*i])
	}
	m.ClientIPAddr = d.addrs[0][:]
	m.YourIPAddr = d.addrs[1][:]
	m.ServerIPAddr = d.addrs[2][:]
	m.GatewayIPAddr = d.addrs[3][:]
	hlen := min(int(b[2]), len(d.chaddr))
	copy(d.chaddr[:], b[28:44])
	m.ClientHWAddr = d.chaddr[:hlen:len(d.chaddr)]
	m.ServerHostName = cString(b[44:108])
	m.BootFileName = cString(b[108:236])
	if plainBOOTP {
		return nil
	}
	d.values = append(d.values, b[bootpHeaderLen+4:]...) // never grows again: values are sub-slices
	if err := walkOptions(d.values, nil, &d.opts); err != nil {
		return fmt.Errorf("decode %d bytes: %w", len(b), err)
	}
	if d.opts.hasType && len(d.opts.msgType) != 1 {
		return errors.New("decode: message type option is not one byte")
	}
	return nil
}

// walkOptions parses an options area: pads skipped, an option that
// appears more than once concatenated (RFC 3396), an end option required.
// An empty option is present with a nil value, as in dhcpv4.Options. An
// empty area (the cookie ends the datagram) is no options, not an error.
// Each option goes into opts when it is not nil, and into found when found
// is not nil and the handler reads it. Values alias area unless an option
// repeats.
func walkOptions(area []byte, opts dhcpv4.Options, found *reqOptions) error {
	if len(area) == 0 {
		return nil
	}
	var seen codeSet
	for i := 0; i < len(area); {
		code := area[i]
		i++
		switch code {
		case 0:
			continue
		case 255:
			return nil
		}
		if i >= len(area) {
			return fmt.Errorf("option %d: %w", code, io.ErrUnexpectedEOF)
		}
		n := int(area[i])
		i++
		if i+n > len(area) {
			return fmt.Errorf("option %d: length %d runs past the end: %w", code, n, io.ErrUnexpectedEOF)
		}
		v := area[i : i+n : i+n]
		i += n
		repeated := seen.has(code)
		seen.add(code)
		if opts != nil {
			opts[code] = joined(opts[code], v, repeated)
		}
		if found != nil {
			if slot := found.slot(code); slot != nil {
				*slot = joined(*slot, v, repeated)
			}
		}
	}
	return io.ErrUnexpectedEOF // no end option
}

// joined is an option's value after one more occurrence v: v itself the
// first time (nil when empty), appended to the value so far in a new
// slice when the option repeats.
func joined(sofar, v []byte, repeated bool) []byte {
	switch {
	case repeated:
		return append(sofar[:len(sofar):len(sofar)], v...)
	case len(v) == 0:
		return nil
	}
	return v
}

// cString returns the text of a NUL-padded field up to its first NUL.
func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
