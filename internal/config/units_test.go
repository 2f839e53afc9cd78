package config

import (
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestRange(t *testing.T) {
	a := netip.MustParseAddr
	r := Range{Start: a("192.0.2.10"), End: a("192.0.2.20")}
	tests := []struct {
		addr string
		want bool
	}{
		{"192.0.2.9", false}, {"192.0.2.10", true}, {"192.0.2.15", true}, {"192.0.2.20", true}, {"192.0.2.21", false}, {"::ffff:192.0.2.15", false},
	}
	for _, tt := range tests {
		if got := r.Contains(a(tt.addr)); got != tt.want {
			t.Errorf("Contains(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	sizes := []struct {
		r    Range
		want uint32
	}{
		{r, 11},
		{Range{a("192.0.2.1"), a("192.0.2.1")}, 1},
		{Range{a("0.0.0.0"), a("255.255.255.255")}, math.MaxUint32},
		{Range{a("0.0.0.0"), a("255.255.255.254")}, math.MaxUint32},
		{Range{a("192.0.2.2"), a("192.0.2.1")}, 0},
		{Range{}, 0},
	}
	for _, tt := range sizes {
		if got := tt.r.Size(); got != tt.want {
			t.Errorf("%v.Size() = %d, want %d", tt.r, got, tt.want)
		}
	}
	if got := r.String(); got != "192.0.2.10-192.0.2.20" {
		t.Errorf("String = %q", got)
	}
	if got := (Range{a("192.0.2.1"), a("192.0.2.1")}).String(); got != "192.0.2.1" {
		t.Errorf("single-address String = %q", got)
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"192.0.2.1-192.0.2.9", "192.0.2.1-192.0.2.9", ""},
		{"192.0.2.1 - 192.0.2.9", "192.0.2.1-192.0.2.9", ""},
		{"192.0.2.7", "192.0.2.7", ""},
		{"192.0.2.9-192.0.2.1", "", "start is after end"},
		{"192.0.2.0/24", "", "not as a prefix"},
		{"x-192.0.2.1", "", "start: not an IPv4 address"},
		{"192.0.2.1-2001:db8::1", "", "end: not an IPv4 address"},
		{"", "", "start: not an IPv4 address"},
	}
	for _, tt := range tests {
		r, err := parseRange(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseRange(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || r.String() != tt.want {
			t.Errorf("parseRange(%q) = %v, %v; want %s", tt.in, r, err, tt.want)
		}
	}
}

func TestOverlappingAndWithin(t *testing.T) {
	rr := func(s string) Range {
		r, err := parseRange(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	spans := []span{
		{rr("10.0.0.50-10.0.0.60"), 0},
		{rr("10.0.0.1-10.0.0.100"), 1},
		{rr("10.0.0.101-10.0.0.200"), 2},
		{rr("10.0.0.200"), 3},
	}
	got := overlapping(spans)
	if len(got) != 2 || got[0] != [2]int{1, 0} || got[1] != [2]int{2, 3} {
		t.Errorf("overlapping = %v, want [[1 0] [2 3]]", got)
	}
	covering := []Range{rr("10.0.0.1-10.0.0.10"), rr("10.0.0.11-10.0.0.20"), rr("10.0.0.30-10.0.0.40")}
	for in, want := range map[string]bool{
		"10.0.0.5-10.0.0.15": true, "10.0.0.1-10.0.0.20": true, "10.0.0.15-10.0.0.30": false,
		"10.0.0.35": true, "10.0.0.25": false, "10.0.0.0-10.0.0.5": false,
	} {
		if got := within(rr(in), covering); got != want {
			t.Errorf("within(%s) = %v, want %v", in, got, want)
		}
	}
	if !within(rr("255.255.255.250-255.255.255.255"), []Range{rr("255.255.255.0-255.255.255.255")}) {
		t.Error("within fails at the top of the address space")
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"8h", 8 * time.Hour, ""},
		{"90s", 90 * time.Second, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"7d", 7 * 24 * time.Hour, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"3600", time.Hour, ""},
		{"0", 0, ""},
		{"", 0, "empty duration"},
		{"-5m", 0, "negative"},
		{"d", 0, "not a duration"},
		{"7days", 0, "not a duration"},
		{"1.5d", 0, "not a duration"},
		{"99999999999999999999", 0, "too many seconds"},
		{"9999999d", 0, "too many days"},
		{"106751d23h59m", 0, "too long"},
	}
	for _, tt := range tests {
		got, err := parseDuration(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseDuration(%q) err = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got.D() != tt.want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for d, want := range map[Duration]string{Duration(48 * time.Hour): "2d", Duration(90 * time.Second): "1m30s", 0: "0s"} {
		if got := d.String(); got != want {
			t.Errorf("Duration(%d).String() = %q, want %q", d, got, want)
		}
	}
}

func TestParseMACAndHex(t *testing.T) {
	for _, in := range []string{"02:00:00:00:00:0a", "02-00-00-00-00-0A", "0200.0000.000a", "02000000000a", " 02:00:00:00:00:0a "} {
		mac, err := parseMAC(in)
		if err != nil || mac.String() != "02:00:00:00:00:0a" {
			t.Errorf("parseMAC(%q) = %v, %v", in, mac, err)
		}
	}
	for _, in := range []string{"", "02:00:00:00:00", "0200000000", "zz:00:00:00:00:00", "00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00"} {
		if mac, err := parseMAC(in); err == nil {
			t.Errorf("parseMAC(%q) = %v, want an error", in, mac)
		}
	}
	for in, want := range map[string]string{"01:02:0a": "\x01\x02\x0a", "01020A": "\x01\x02\x0a", "hex:ff": "\xff"} {
		if got, err := parseHex(in); err != nil || string(got) != want {
			t.Errorf("parseHex(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "hex:", "1", "1:23", "01::02", "0g"} {
		if got, err := parseHex(in); err == nil {
			t.Errorf("parseHex(%q) = %x, want an error", in, got)
		}
	}
}

func TestEditDistanceAndClosest(t *testing.T) {
	if d := editDistance("leese-time", "lease-time"); d != 1 {
		t.Errorf("editDistance = %d, want 1", d)
	}
	if got := closest("intrefaces", []string{"interfaces", "address"}); got != "interfaces" {
		t.Errorf("closest = %q", got)
	}
	if got := closest("zzz", []string{"interfaces", "address"}); got != "" {
		t.Errorf("closest(zzz) = %q, want none", got)
	}
}
