package config

import (
	"encoding/hex"
	"errors"
	"net"
	"strings"
)

// parseMAC reads a hardware address in the usual spellings:
// 02:00:00:00:00:01, 02-00-00-00-00-01, 0200.0000.0001 or 020000000001.
// Only lengths that fit chaddr (16 bytes) are accepted.
func parseMAC(s string) (net.HardwareAddr, error) {
	s = strings.TrimSpace(s)
	var mac net.HardwareAddr
	var err error
	if len(s) == 12 && isHex(s) {
		mac, err = hex.DecodeString(s)
	} else {
		mac, err = net.ParseMAC(s)
	}
	if err != nil || len(mac) > 16 {
		return nil, errors.New("not a hardware address; write it as 02:00:00:00:00:01 (02-00-00-00-00-01 and 0200.0000.0001 also work)")
	}
	return mac, nil
}

// parseHex reads bytes written as colon-separated pairs ("01:02:0a"), as
// one run of hex digits ("01020a"), either optionally after "hex:".
func parseHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "hex:")
	if s == "" {
		return nil, errors.New("no bytes; write hex digits such as 01:02:0a or 01020a")
	}
	if strings.Contains(s, ":") {
		parts := strings.Split(s, ":")
		out := make([]byte, len(parts))
		for i, p := range parts {
			if len(p) != 2 || !isHex(p) {
				return nil, errors.New("not hex bytes; write two hex digits per byte, separated by colons: 01:02:0a")
			}
			b, _ := hex.DecodeString(p)
			out[i] = b[0]
		}
		return out, nil
	}
	if len(s)%2 != 0 || !isHex(s) {
		return nil, errors.New("not hex bytes; write an even number of hex digits (01020a) or colon-separated pairs (01:02:0a)")
	}
	return hex.DecodeString(s)
}

// isHex reports whether s holds only hex digits.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// checkHostname returns "" if s is a valid host name (RFC 1123 letters,
// digits and hyphens in dot-separated labels), else the problem and fix.
func checkHostname(s string) string {
	if err := checkDomain(s, false); err != nil {
		return "not a host name: " + err.Error()
	}
	return ""
}

// checkDomain checks a DNS name of letters, digits, hyphens (and
// underscores when allowUnderscore) in labels of 1-63 bytes, at most 253
// bytes in all; one trailing dot is allowed.
func checkDomain(s string, allowUnderscore bool) error {
	name := strings.TrimSuffix(s, ".")
	if name == "" {
		return errors.New("empty name; write e.g. example.net")
	}
	if len(name) > 253 {
		return errors.New("longer than 253 bytes; shorten it")
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 {
			return errors.New("each dot-separated part must be 1 to 63 characters")
		}
		if label[0] == '-' || label[len(label)-1] == '-' {
			return errors.New("a part may not start or end with a hyphen")
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			ok := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || (allowUnderscore && c == '_')
			if !ok {
				return errors.New("use only letters, digits and hyphens between the dots")
			}
		}
	}
	return nil
}
