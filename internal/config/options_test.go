package config

import (
	"bytes"
	"strings"
	"testing"
)

// scopeOption parses a one-scope file whose scope sets key: value, and
// returns the encoded option code.
func scopeOption(t *testing.T, key, value string, code uint8) []byte {
	t.Helper()
	cfg := mustParse(t, minimal+"    options:\n      "+key+": "+value+"\n")
	data, ok := cfg.Scopes[0].Options[code]
	if !ok {
		t.Fatalf("%s: option %d missing from %v", key, code, cfg.Scopes[0].Options)
	}
	return data
}

func TestOptionEncoding(t *testing.T) {
	tests := []struct {
		key, value string
		code       uint8
		want       []byte
	}{
		{"time-offset", "-3600", 2, []byte{0xff, 0xff, 0xf1, 0xf0}},
		{"routers", "[192.0.2.1, 192.0.2.2]", 3, []byte{192, 0, 2, 1, 192, 0, 2, 2}},
		{"routers", "192.0.2.1", 3, []byte{192, 0, 2, 1}},
		{"domain-name-servers", "[192.0.2.53]", 6, []byte{192, 0, 2, 53}},
		{"domain-name", "example.net.", 15, []byte("example.net")},
		{"ip-forwarding", "false", 19, []byte{0}},
		{"ip-forwarding", "true", 19, []byte{1}},
		{"default-ip-ttl", "64", 23, []byte{64}},
		{"interface-mtu", "1500", 26, []byte{0x05, 0xdc}},
		{"broadcast-address", "192.0.2.255", 28, []byte{192, 0, 2, 255}},
		{"arp-cache-timeout", "4294967295", 35, []byte{0xff, 0xff, 0xff, 0xff}},
		{"ntp-servers", "[192.0.2.123]", 42, []byte{192, 0, 2, 123}},
		{"vendor-encapsulated-options", "\"01:04:0a:0b:0c:0d\"", 43, []byte{1, 4, 10, 11, 12, 13}},
		{"vendor-encapsulated-options", "hex:01020304", 43, []byte{1, 2, 3, 4}},
		{"netbios-node-type", "8", 46, []byte{8}},
		{"tftp-server-name", "tftp.example.net", 66, []byte("tftp.example.net")},
		{"bootfile-name", "pxelinux.0", 67, []byte("pxelinux.0")},
		{"captive-portal", "https://portal.example.net/", 114, []byte("https://portal.example.net/")},
		{"tftp-server-address", "[192.0.2.69]", 150, []byte{192, 0, 2, 69}},
		// Numbered options without a known type.
		{`"252"`, `"http://wpad.example.net/wpad.dat"`, 252, []byte("http://wpad.example.net/wpad.dat")},
		{`"224"`, "7", 224, []byte{0, 0, 0, 7}},
		{`"224"`, "0x01020304", 224, []byte{1, 2, 3, 4}},
		{`"224"`, "[192.0.2.1, 198.51.100.2]", 224, []byte{192, 0, 2, 1, 198, 51, 100, 2}},
		{`"224"`, "hex:0a0b0c", 224, []byte{10, 11, 12}},
		{`"224"`, `"hex:0a:0b"`, 224, []byte{10, 11}},
		{`"224"`, `"text:192.0.2.1"`, 224, []byte("192.0.2.1")},
		{`"224"`, `"3600"`, 224, []byte("3600")},
		{`"224"`, `""`, 224, []byte{}},
		{"option-224", "x", 224, []byte("x")},
		{"224", "x", 224, []byte("x")}, // an unquoted code is read the same
		// A known code given by number keeps its type.
		{`"3"`, "[192.0.2.1]", 3, []byte{192, 0, 2, 1}},
		{`"26"`, "576", 26, []byte{0x02, 0x40}},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			if got := scopeOption(t, tt.key, tt.value, tt.code); !bytes.Equal(got, tt.want) {
				t.Errorf("encoded % x, want % x", got, tt.want)
			}
		})
	}
}

func TestOptionLengthLimit(t *testing.T) {
	if got := scopeOption(t, `"224"`, strings.Repeat("x", 255), 224); len(got) != 255 {
		t.Errorf("a 255-byte option encoded to %d bytes", len(got))
	}
	// 64 routers are 256 bytes: one too many.
	ips := make([]string, 64)
	for i := range ips {
		ips[i] = "192.0.2.1"
	}
	_, err := Parse([]byte(minimal + "    options:\n      routers: [" + strings.Join(ips, ", ") + "]\n"))
	if err == nil || !strings.Contains(err.Error(), "encodes to 256 bytes") {
		t.Errorf("64 routers: err = %v, want the 256-byte limit named", err)
	}
}

// TestDomainSearchEncoding checks option 119 against hand-worked vectors.
func TestDomainSearchEncoding(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []byte
	}{
		{
			// RFC 3397 §2's example: "apple.com" of the second name points at
			// offset 4, where the first name's "apple" label begins.
			name:  "rfc3397 example",
			names: []string{"eng.apple.com", "marketing.apple.com"},
			want: append(append([]byte("\x03eng\x05apple\x03com\x00"),
				"\x09marketing"...), 0xc0, 0x04),
		},
		{
			// offsets: "example.net" 0, "net" 8, end 12; "lab" 13, then
			// a pointer to 0.
			name:  "suffix is a whole earlier name",
			names: []string{"example.net", "lab.example.net"},
			want:  []byte("\x07example\x03net\x00\x03lab\xc0\x00"),
		},
		{
			// "a.b.c" 0, "b.c" 2, "c" 4, end 6; "x" 7 then pointer to 2;
			// "b.c" is only a pointer to 2.
			name:  "whole name as a pointer",
			names: []string{"a.b.c", "x.b.c", "b.c"},
			want:  []byte{1, 'a', 1, 'b', 1, 'c', 0, 1, 'x', 0xc0, 2, 0xc0, 2},
		},
		{
			name:  "no shared suffix",
			names: []string{"example.net", "example.org"},
			want:  []byte("\x07example\x03net\x00\x07example\x03org\x00"),
		},
		{
			name:  "case and trailing dot are normalised",
			names: []string{"Example.NET.", "lab.example.net"},
			want:  []byte("\x07example\x03net\x00\x03lab\xc0\x00"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := encodeDomainList(tt.names)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("encoded\n% x\nwant\n% x", got, tt.want)
			}
		})
	}
	if _, err := encodeDomainList([]string{"bad..name"}); err == nil {
		t.Error("an empty label was accepted")
	}
	// Through Parse: a one-name list may also be written as a scalar.
	if got := scopeOption(t, "domain-search", "example.net", 119); !bytes.Equal(got, []byte("\x07example\x03net\x00")) {
		t.Errorf("scalar domain-search = % x", got)
	}
}

// TestClasslessRoutesEncoding checks option 121 against RFC 3442 §2's
// encoding table, worked by hand.
func TestClasslessRoutesEncoding(t *testing.T) {
	tests := []struct {
		route string
		want  []byte
	}{
		{"0.0.0.0/0 via 10.0.0.1", []byte{0, 10, 0, 0, 1}},
		{"10.0.0.0/8 via 10.0.0.1", []byte{8, 10, 10, 0, 0, 1}},
		{"10.17.0.0/16 via 10.0.0.1", []byte{16, 10, 17, 10, 0, 0, 1}},
		{"10.27.129.0/24 via 10.0.0.1", []byte{24, 10, 27, 129, 10, 0, 0, 1}},
		{"10.229.0.128/25 via 10.0.0.1", []byte{25, 10, 229, 0, 128, 10, 0, 0, 1}},
		{"10.198.122.47/32 via 10.0.0.1", []byte{32, 10, 198, 122, 47, 10, 0, 0, 1}},
		{"192.0.2.0/23 via 0.0.0.0", []byte{23, 192, 0, 2, 0, 0, 0, 0}},
	}
	var all []byte
	var lines []string
	for _, tt := range tests {
		r, err := parseRoute(tt.route)
		if err != nil {
			t.Fatalf("parseRoute(%q): %v", tt.route, err)
		}
		if got := r.encode(); !bytes.Equal(got, tt.want) {
			t.Errorf("%s encoded % x, want % x", tt.route, got, tt.want)
		}
		all = append(all, tt.want...)
		lines = append(lines, `"`+tt.route+`"`)
	}
	// Through Parse, the routes are concatenated in order.
	if got := scopeOption(t, "classless-static-routes", "["+strings.Join(lines, ", ")+"]", 121); !bytes.Equal(got, all) {
		t.Errorf("option 121 = % x, want % x", got, all)
	}
	if !hasDefaultRoute(all) || hasDefaultRoute(all[5:]) {
		t.Error("hasDefaultRoute does not find exactly the 0.0.0.0/0 route")
	}
}

func TestOwnedOptionsRejected(t *testing.T) {
	for _, code := range []string{"1", "12", "50", "51", "52", "53", "54", "55", "56", "57", "58", "59", "61", "82"} {
		_, err := Parse([]byte(minimal + "    options:\n      \"" + code + "\": hex:00\n"))
		if err == nil || !strings.Contains(err.Error(), "cannot be set: ") {
			t.Errorf("option %s: err = %v, want it refused with a reason", code, err)
		}
	}
	for _, code := range []string{"0", "255", "256"} {
		_, err := Parse([]byte(minimal + "    options:\n      \"" + code + "\": hex:00\n"))
		if err == nil || !strings.Contains(err.Error(), "option codes run from 1 to 254") {
			t.Errorf("option %s: err = %v, want the code range named", code, err)
		}
	}
}

func TestOptionName(t *testing.T) {
	tests := []struct {
		code uint8
		want string
	}{
		{3, "routers"}, {6, "domain-name-servers"}, {119, "domain-search"}, {121, "classless-static-routes"},
		{1, "subnet-mask"}, {252, "option-252"}, {224, "option-224"},
	}
	for _, tt := range tests {
		if got := OptionName(tt.code); got != tt.want {
			t.Errorf("OptionName(%d) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

// TestOptionTable checks that codes and names are unique, that each owned
// option says why, and that every option the file can name round-trips
// through OptionName and optionKey.
func TestOptionTable(t *testing.T) {
	codes, names := map[uint8]bool{}, map[string]bool{}
	for _, def := range optionTable {
		if codes[def.code] || names[def.name] {
			t.Errorf("option %d %q appears twice", def.code, def.name)
		}
		codes[def.code], names[def.name] = true, true
		if (def.kind == kindOwned) != (def.reason != "") {
			t.Errorf("option %q: owned options need a reason and only they have one", def.name)
		}
		if def.kind == kindOwned {
			continue
		}
		got, msg := optionKey(def.name)
		if msg != "" || got.code != def.code || OptionName(def.code) != def.name {
			t.Errorf("option %q does not round-trip: %v %q", def.name, got, msg)
		}
	}
	for alias := range map[string]bool{"dns": true, "gateway": true, "mtu": true, "search": true} {
		if _, ok := optionByName(optionAlias(alias)); !ok {
			t.Errorf("alias %q points at no option", alias)
		}
	}
}
