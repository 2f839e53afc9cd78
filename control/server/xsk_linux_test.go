package server

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
)

// TestParseUDPFrame checks the header checks the AF_XDP path does in the
// kernel stack's place.
func TestParseUDPFrame(t *testing.T) {
	payload := bytes.Repeat([]byte{0xab}, 300)
	src := netip.MustParseAddr("192.0.2.50")
	good := func() []byte {
		f := append(bytes.Repeat([]byte{0xff}, 6), 2, 0, 0, 0, 0, 1, 0x08, 0x00)
		return appendIPv4UDP(f, src, netip.MustParseAddr("255.255.255.255"), 68, 67, payload)
	}
	// reIP recomputes the IPv4 header checksum after an edit.
	reIP := func(f []byte) []byte {
		ip := f[14:34]
		ip[10], ip[11] = 0, 0
		binary.BigEndian.PutUint16(ip[10:], ^checksum(0, ip))
		return f
	}
	tests := []struct {
		name string
		edit func([]byte) []byte
		ok   bool
	}{
		{"good", func(f []byte) []byte { return f }, true},
		{"Ethernet padding after the datagram", func(f []byte) []byte { return append(f, 0, 0, 0, 0) }, true},
		{"bad UDP checksum is not checked", func(f []byte) []byte { f[40] ^= 0xff; return f }, true},
		{"short", func(f []byte) []byte { return f[:40] }, false},
		{"not IPv4", func(f []byte) []byte { f[12], f[13] = 0x86, 0xdd; return f }, false},
		{"VLAN tagged", func(f []byte) []byte { f[12], f[13] = 0x81, 0x00; return f }, false},
		{"bad IP checksum", func(f []byte) []byte { f[24] ^= 0x01; return f }, false},
		{"IP version 6 in the header", func(f []byte) []byte { f[14] = 0x65; return reIP(f) }, false},
		{"IHL below 5", func(f []byte) []byte { f[14] = 0x44; return reIP(f) }, false},
		{"total length past the frame", func(f []byte) []byte { binary.BigEndian.PutUint16(f[16:], 2000); return reIP(f) }, false},
		{"fragment", func(f []byte) []byte { f[20] = 0x20; return reIP(f) }, false},
		{"not UDP", func(f []byte) []byte { f[23] = 6; return reIP(f) }, false},
		{"UDP length past the datagram", func(f []byte) []byte { binary.BigEndian.PutUint16(f[38:], 400); return f }, false},
		{"UDP length below its header", func(f []byte) []byte { binary.BigEndian.PutUint16(f[38:], 7); return f }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, from, ok := parseUDPFrame(tc.edit(good()))
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if ok && (!bytes.Equal(p, payload) || from != netip.AddrPortFrom(src, 68)) {
				t.Errorf("payload of %d bytes from %s, want %d bytes from %s:68", len(p), from, len(payload), src)
			}
		})
	}
}
