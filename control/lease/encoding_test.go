package lease

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// sampleLease returns a fully populated lease whose fields all derive
// from ip, so a test can rebuild the expected record from the address.
func sampleLease(ip netip.Addr) Lease {
	a := ip.As4()
	base := time.Date(2026, 11, 27, 1, 2, 3, 456789, time.UTC).Add(time.Duration(a[3]) * time.Second)
	return Lease{
		IP:        ip,
		State:     StateActive,
		ClientID:  []byte{1, 0x02, 0x42, a[0], a[1], a[2], a[3]},
		HWType:    1,
		HWAddr:    net.HardwareAddr{0x02, 0x42, a[0], a[1], a[2], a[3]},
		Hostname:  "host-" + ip.String(),
		Start:     base,
		Expiry:    base.Add(time.Hour),
		Updated:   base.Add(time.Minute),
		CircuitID: []byte("eth0/1/" + ip.String()),
		RemoteID:  []byte{0xde, 0xad, a[3]},
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	ip := netip.MustParseAddr("192.0.2.7")
	tests := []struct {
		name  string
		lease Lease
	}{
		{"full", sampleLease(ip)},
		{"minimal", Lease{IP: ip, State: StateFree}},
		{"empty but non-nil slices", Lease{IP: ip, State: StateReleased, ClientID: []byte{}, HWAddr: net.HardwareAddr{}, CircuitID: []byte{}, RemoteID: []byte{}}},
		{"abandoned with only expiry", Lease{IP: ip, State: StateAbandoned, Expiry: time.Unix(1900000000, 0).UTC()}},
		{"times before 1970", Lease{IP: ip, State: StateExpired, Start: time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC)}},
		{"unicode hostname", Lease{IP: ip, State: StateBackup, Hostname: "café-ünï"}},
		{"largest fields", Lease{IP: netip.MustParseAddr("255.255.255.255"), State: StateReset, HWType: 255,
			ClientID: bytes.Repeat([]byte{7}, maxFieldLen), Hostname: strings.Repeat("h", maxFieldLen)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.lease.MarshalBinary()
			if err != nil {
				t.Fatalf("MarshalBinary: %v", err)
			}
			if b[0] != formatV1 {
				t.Errorf("first byte = %d, want format version %d", b[0], formatV1)
			}
			var got Lease
			if err := got.UnmarshalBinary(b); err != nil {
				t.Fatalf("UnmarshalBinary: %v", err)
			}
			if !reflect.DeepEqual(got, tt.lease) {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tt.lease)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	tests := []struct {
		name    string
		lease   Lease
		wantErr string
	}{
		{"no address", Lease{State: StateActive}, "not an IPv4 address"},
		{"IPv6", Lease{IP: netip.MustParseAddr("2001:db8::1"), State: StateActive}, "not an IPv4 address"},
		{"IPv4-mapped IPv6", Lease{IP: netip.MustParseAddr("::ffff:192.0.2.1"), State: StateActive}, "not an IPv4 address"},
		{"state zero", Lease{IP: netip.MustParseAddr("192.0.2.1")}, "unknown state 0"},
		{"state past the last", Lease{IP: netip.MustParseAddr("192.0.2.1"), State: StateBackup + 1}, "unknown state 8"},
		{"hostname too long", Lease{IP: netip.MustParseAddr("192.0.2.1"), State: StateActive, Hostname: strings.Repeat("x", maxFieldLen+1)}, "Hostname is 4097 bytes"},
		{"circuit id too long", Lease{IP: netip.MustParseAddr("192.0.2.1"), State: StateActive, CircuitID: make([]byte, maxFieldLen+1)}, "CircuitID is 4097 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.lease.MarshalBinary()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("MarshalBinary error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	valid, err := sampleLease(netip.MustParseAddr("198.51.100.9")).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	with := func(i int, v byte) []byte {
		b := bytes.Clone(valid)
		b[i] = v
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty", nil, "truncated"},
		{"version zero", with(0, 0), "unsupported format version 0"},
		{"future version", with(0, 2), "unsupported format version 2"},
		{"unknown state", with(5, 9), "unknown state 9"},
		{"trailing byte", append(bytes.Clone(valid), 0), "1 trailing bytes"},
		{"field longer than limit", append([]byte{formatV1, 1, 2, 3, 4, 2, 1}, 0x82, 0x40), "field length 8194 exceeds 4097"},
		{"field longer than record", append([]byte{formatV1, 1, 2, 3, 4, 2, 1}, 50, 1, 2), "truncated"},
		{"varint overflow", append([]byte{formatV1, 1, 2, 3, 4, 2, 1}, bytes.Repeat([]byte{0xff}, 11)...), "bad varint"},
		{"nanoseconds out of range", append([]byte{formatV1, 1, 2, 3, 4, 2, 1, 0, 0, 0, 0, 0, 0}, 0x80, 0x94, 0xeb, 0xdc, 0x03), "nanoseconds 1000000000 out of range"},
	}
	// Every strict prefix of a valid record is truncated.
	for n := range len(valid) {
		tests = append(tests, struct {
			name    string
			data    []byte
			wantErr string
		}{fmt.Sprintf("prefix of %d bytes", n), valid[:n], ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := sampleLease(netip.MustParseAddr("203.0.113.1"))
			l := before
			err := l.UnmarshalBinary(tt.data)
			if err == nil {
				t.Fatalf("UnmarshalBinary(%x) succeeded, want error", tt.data)
			}
			if !errors.Is(err, ErrBadRecord) {
				t.Errorf("error %v does not wrap ErrBadRecord", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if !reflect.DeepEqual(l, before) {
				t.Errorf("failed UnmarshalBinary changed the lease to %+v", l)
			}
		})
	}
}

func TestUnmarshalDoesNotAlias(t *testing.T) {
	b, err := sampleLease(netip.MustParseAddr("192.0.2.1")).MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var l Lease
	if err := l.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	clear(b)
	if want := sampleLease(netip.MustParseAddr("192.0.2.1")); !reflect.DeepEqual(l, want) {
		t.Errorf("lease changed when its source bytes were cleared: %+v", l)
	}
}
