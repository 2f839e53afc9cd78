package handler

import (
	"errors"
	"fmt"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// bootpHeaderLen is the fixed BOOTP header before the vendor area (RFC 951).
const bootpHeaderLen = 236

var magicCookie = [4]byte{99, 130, 83, 99}

// ErrTooShort is returned for a datagram shorter than a BOOTP header.
var ErrTooShort = errors.New("shorter than a BOOTP header")

// Decode parses a received UDP payload. A DHCP message must carry the magic
// cookie and well-formed options; a BOOTP request whose vendor area holds no
// cookie (RFC 951 clients) decodes with no options.
func Decode(b []byte) (*dhcpv4.DHCPv4, error) {
	if len(b) < bootpHeaderLen {
		return nil, fmt.Errorf("decode %d bytes: %w", len(b), ErrTooShort)
	}
	if len(b) < bootpHeaderLen+4 || [4]byte(b[bootpHeaderLen:bootpHeaderLen+4]) != magicCookie {
		// Plain BOOTP: give the parser a cookie and an empty option list.
		fixed := make([]byte, bootpHeaderLen+5)
		copy(fixed, b[:bootpHeaderLen])
		copy(fixed[bootpHeaderLen:], magicCookie[:])
		fixed[bootpHeaderLen+4] = 255
		b = fixed
	}
	m, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, fmt.Errorf("decode %d bytes: %w", len(b), err)
	}
	if m.Options.Has(dhcpv4.OptionDHCPMessageType) && len(m.Options.Get(dhcpv4.OptionDHCPMessageType)) != 1 {
		return nil, errors.New("decode: message type option is not one byte")
	}
	return m, nil
}
