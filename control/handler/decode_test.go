package handler

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"reflect"
	"testing"

	"github.com/insomniacslk/dhcp/dhcpv4"
)

// libraryDecode is the reference Decode must agree with: the DHCP
// library's own parser, with plain BOOTP given an empty option list.
func libraryDecode(b []byte) (*dhcpv4.DHCPv4, error) {
	if len(b) < bootpHeaderLen {
		return nil, ErrTooShort
	}
	if len(b) < bootpHeaderLen+4 || [4]byte(b[bootpHeaderLen:bootpHeaderLen+4]) != magicCookie {
		fixed := make([]byte, bootpHeaderLen+5)
		copy(fixed, b[:bootpHeaderLen])
		copy(fixed[bootpHeaderLen:], magicCookie[:])
		fixed[bootpHeaderLen+4] = 255
		b = fixed
	}
	m, err := dhcpv4.FromBytes(b)
	if err != nil {
		return nil, err
	}
	if m.Options.Has(dhcpv4.OptionDHCPMessageType) && len(m.Options.Get(dhcpv4.OptionDHCPMessageType)) != 1 {
		return nil, errors.New("message type option is not one byte")
	}
	return m, nil
}

// decodeCorpus is a set of datagrams with the shapes that matter to the
// option parser, used as the fuzz seeds and as a table.
func decodeCorpus() map[string][]byte {
	discover := msg(dhcpv4.MessageTypeDiscover, hw(1), withOpt(dhcpv4.OptionClientIdentifier, []byte{1, 2, 0xaa, 0, 0, 0, 1}),
		withOpt(dhcpv4.OptionHostName, []byte("host")), withGiaddr("198.51.100.1")).ToBytes()
	header := discover[:bootpHeaderLen+4]
	with := func(opts ...byte) []byte { return append(append([]byte(nil), header...), opts...) }
	named := append([]byte(nil), discover...)
	copy(named[44:], "boot-server")
	copy(named[108:], "pxelinux.0")
	longHW := append([]byte(nil), discover...)
	longHW[2] = 200
	return map[string][]byte{
		"discover":                     discover,
		"sname and file":               named,
		"hlen over 16":                 longHW,
		"plain BOOTP, no cookie":       discover[:bootpHeaderLen],
		"plain BOOTP, vendor junk":     append(append([]byte(nil), discover[:bootpHeaderLen]...), 1, 2, 3, 4, 5),
		"short":                        discover[:100],
		"no end option":                with(53, 1, 1),
		"pads then end":                with(0, 0, 53, 1, 1, 0, 255),
		"empty option":                 with(53, 1, 1, 12, 0, 255),
		"repeated option concatenated": with(53, 1, 1, 12, 2, 'a', 'b', 12, 1, 'c', 255),
		"repeated after empty":         with(12, 0, 12, 1, 'x', 255),
		"empty after value":            with(12, 1, 'x', 12, 0, 255),
		"length past the end":          with(53, 1, 1, 12, 9, 'a'),
		"code without length":          with(53, 1, 1, 12),
		"message type two bytes":       with(53, 2, 1, 1, 255),
		"message type empty":           with(53, 0, 255),
		"bytes after end":              with(53, 1, 3, 255, 99, 99),
	}
}

func TestDecodeMatchesLibrary(t *testing.T) {
	pool := new(RequestPool)
	for name, b := range decodeCorpus() {
		t.Run(name, func(t *testing.T) {
			checkDecodeMatches(t, pool, b)
		})
	}
}

// FuzzDecodeMatchesLibrary holds Decode and a pooled decoder, reused
// across inputs, equal to the library's parser on arbitrary input.
func FuzzDecodeMatchesLibrary(f *testing.F) {
	for _, b := range decodeCorpus() {
		f.Add(b)
	}
	pool := new(RequestPool)
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeMatches(t, pool, b)
	})
}

func checkDecodeMatches(t *testing.T, pool *RequestPool, b []byte) {
	t.Helper()
	want, wantErr := libraryDecode(b)
	got, err := Decode(b)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("Decode error %v, library error %v", err, wantErr)
	}
	// Decode into a recycled message twice: once after another input, so
	// that nothing of the previous one may survive.
	// Its option map is built, so a stale one would show.
	prev := mustPoolDecode(t, pool, decodeCorpus()["repeated option concatenated"])
	prev.Message()
	pool.Put(prev)
	d, perr := pool.Decode(b)
	if (perr != nil) != (wantErr != nil) {
		t.Fatalf("pooled Decode error %v, library error %v", perr, wantErr)
	}
	if wantErr != nil {
		return
	}
	for _, m := range []*dhcpv4.DHCPv4{got, d.Message()} {
		if !reflect.DeepEqual(m, want) {
			t.Fatalf("decoded\n%s\nlibrary\n%s", m.Summary(), want.Summary())
		}
		if !bytes.Equal(m.ToBytes(), want.ToBytes()) {
			t.Fatal("decoded message encodes differently from the library's")
		}
	}
	typ, hasType := d.MessageType()
	if hasType != want.Options.Has(dhcpv4.OptionDHCPMessageType) || typ != want.MessageType() {
		t.Errorf("MessageType = %v, %v; library %v", typ, hasType, want.MessageType())
	}
	if d.ClientIP() != addrOf(want.ClientIPAddr) || d.GatewayIP() != addrOf(want.GatewayIPAddr) {
		t.Errorf("ciaddr %s giaddr %s; library %s %s", d.ClientIP(), d.GatewayIP(), want.ClientIPAddr, want.GatewayIPAddr)
	}
	if !bytes.Equal(d.ClientHWAddr(), want.ClientHWAddr) || d.Broadcast() != want.IsBroadcast() {
		t.Errorf("chaddr %s broadcast %v; library %s %v", d.ClientHWAddr(), d.Broadcast(), want.ClientHWAddr, want.IsBroadcast())
	}
	// HandleDecoded reads the options the decoder found; Handle scans the
	// map Message builds: the two must see the same.
	if scanned := scanOptions(d.Message()); !reflect.DeepEqual(d.opts, scanned) {
		t.Fatalf("options found while decoding %+v, in the map %+v", d.opts, scanned)
	}
	pool.Put(d)
}

func mustPoolDecode(t *testing.T, pool *RequestPool, b []byte) *Decoded {
	t.Helper()
	d, err := pool.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// addrOf is an address field of a library message as a netip.Addr.
func addrOf(ip net.IP) netip.Addr { return netip.AddrFrom4([4]byte(ip.To4())) }
