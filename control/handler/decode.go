package handler

import (
	"errors"
	"fmt"
	"io"
	"net"
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

// Decoded is one decoded request. Msg and everything it points to belong
// to the Decoded: the addresses, chaddr and option values are copies in
// its own buffers, never slices of the datagram it came from, so the
// receive buffer can be reused at once.
type Decoded struct {
	Msg dhcpv4.DHCPv4

	addrs  [4][net.IPv4len]byte // ciaddr, yiaddr, siaddr, giaddr
	chaddr [16]byte
	values []byte     // option values, back to back
	opts   reqOptions // the options the handler reads, found while decoding

	// Storage for what Handler.HandleDecoded returns, so that answering
	// does not allocate: the reply's yiaddr and the lease to persist.
	yiaddr [net.IPv4len]byte
	lease  lease.Lease
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
// its message any more; the replies built from it echo some of its option
// values.
func (p *RequestPool) Decode(b []byte) (*Decoded, error) {
	d, ok := p.pool.Get().(*Decoded)
	if !ok {
		d = &Decoded{Msg: dhcpv4.DHCPv4{Options: make(dhcpv4.Options, 16)}}
	}
	if err := d.decode(b); err != nil {
		p.Put(d)
		return nil, err
	}
	return d, nil
}

// Put recycles d. Nothing may use d.Msg afterwards.
func (p *RequestPool) Put(d *Decoded) {
	if d != nil {
		p.pool.Put(d)
	}
}

// Decode parses a received UDP payload. A DHCP message must carry the magic
// cookie and well-formed options; a BOOTP request whose vendor area holds no
// cookie (RFC 951 clients) decodes with no options. The fields and options
// come out as dhcpv4.FromBytes gives them (a fuzz test holds the two
// equal), without the allocations.
func Decode(b []byte) (*dhcpv4.DHCPv4, error) {
	d := &Decoded{Msg: dhcpv4.DHCPv4{Options: make(dhcpv4.Options)}}
	if err := d.decode(b); err != nil {
		return nil, err
	}
	return &d.Msg, nil
}

// decode fills d from b, reusing d's buffers and option map.
func (d *Decoded) decode(b []byte) error {
	if len(b) < bootpHeaderLen {
		return fmt.Errorf("decode %d bytes: %w", len(b), ErrTooShort)
	}
	plainBOOTP := len(b) < bootpHeaderLen+4 || [4]byte(b[bootpHeaderLen:bootpHeaderLen+4]) != magicCookie

	opts := d.Msg.Options
	clear(opts)
	d.opts = reqOptions{}
	m := &d.Msg
	*m = dhcpv4.DHCPv4{
		OpCode:     dhcpv4.OpcodeType(b[0]),
		HWType:     iana.HWType(b[1]),
		HopCount:   b[3],
		NumSeconds: uint16(b[8])<<8 | uint16(b[9]),
		Flags:      uint16(b[10])<<8 | uint16(b[11]),
		Options:    opts,
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
	if err := d.decodeOptions(b[bootpHeaderLen+4:]); err != nil {
		return fmt.Errorf("decode %d bytes: %w", len(b), err)
	}
	if v, ok := opts[uint8(dhcpv4.OptionDHCPMessageType)]; ok && len(v) != 1 {
		return errors.New("decode: message type option is not one byte")
	}
	return nil
}

// decodeOptions parses the options area: pads skipped, an option that
// appears more than once concatenated (RFC 3396), an end option required.
// An empty option is present with a nil value, as in dhcpv4.Options. An
// empty area (the cookie ends the datagram) is no options, not an error.
func (d *Decoded) decodeOptions(area []byte) error {
	if len(area) == 0 {
		return nil
	}
	opts := d.Msg.Options
	d.values = append(d.values[:0], area...) // never grows again below: values are sub-slices
	vals := d.values
	var seen codeSet
	for i := 0; i < len(vals); {
		code := vals[i]
		i++
		switch code {
		case 0:
			continue
		case 255:
			return nil
		}
		if i >= len(vals) {
			return fmt.Errorf("option %d: %w", code, io.ErrUnexpectedEOF)
		}
		n := int(vals[i])
		i++
		if i+n > len(vals) {
			return fmt.Errorf("option %d: length %d runs past the end: %w", code, n, io.ErrUnexpectedEOF)
		}
		v := vals[i : i+n : i+n]
		i += n
		if seen.has(code) {
			old := opts[code]
			v = append(old[:len(old):len(old)], v...) // a fresh slice: the arena is not appended to
		} else if n == 0 {
			v = nil
		}
		seen.add(code)
		opts[code] = v
		d.opts.set(code, v)
	}
	return io.ErrUnexpectedEOF // no end option
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
