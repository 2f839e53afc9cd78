package dhcpclients

import (
	"testing"
	"time"
)

func TestParseMask(t *testing.T) {
	tests := []struct {
		in       string
		isLength bool
		want     int
		wantErr  bool
	}{
		{"255.255.255.0", false, 24, false},
		{"255.255.0.0", false, 16, false},
		{"255.255.255.255", false, 32, false},
		{"0.0.0.0", false, 0, false},
		{"255.0.255.0", false, 0, true},
		{"garbage", false, 0, true},
		{"24", true, 24, false},
		{"33", true, 0, true},
	}
	for _, tt := range tests {
		got, err := parseMask(tt.in, tt.isLength)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseMask(%q, %v) = %d, %v; want %d, error %v", tt.in, tt.isLength, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseLease(t *testing.T) {
	env := map[string]string{"SCRIPT_ARG": "bound", "interface": "eth0", "ip": "192.0.2.100", "mask": "24",
		"router": "192.0.2.1", "dns": "192.0.2.53 192.0.2.54", "lease": "3600", "serverid": "192.0.2.1"}
	l, err := parseLease(env, udhcpcNames)
	if err != nil {
		t.Fatal(err)
	}
	if l.Event != "BOUND" || l.Prefix().String() != "192.0.2.100/24" || len(l.DNS) != 2 || l.LeaseTime != time.Hour {
		t.Fatalf("parsed %s", l)
	}
	env["ip"] = "not-an-ip"
	if _, err := parseLease(env, udhcpcNames); err == nil {
		t.Fatal("bad address accepted")
	}
}

func TestParsePerf(t *testing.T) {
	out := `***Rate statistics***
Rate: 48.6 4-way exchanges/second, expected rate: 50
***Statistics for: DISCOVER-OFFER***
sent packets: 40
received packets: 39
drops: 1
drops ratio: 2.5 %
orphans: 0
rejected leases: 0
non unique addresses: 1
***Statistics for: REQUEST-ACK***
sent packets: 39
received packets: 38
drops: 1
orphans: 2
rejected leases: 0
non unique addresses: 0
`
	got, err := parsePerf(out)
	if err != nil {
		t.Fatal(err)
	}
	want := PerfResult{DiscoverOffer: PerfExchange{Sent: 40, Received: 39, Drops: 1, NonUnique: 1},
		RequestAck: PerfExchange{Sent: 39, Received: 38, Drops: 1, Orphans: 2}}
	if got.DiscoverOffer != want.DiscoverOffer || got.RequestAck != want.RequestAck {
		t.Fatalf("parsePerf = %+v %+v", got.DiscoverOffer, got.RequestAck)
	}
	if _, err := parsePerf("perfdhcp: bad option"); err == nil {
		t.Fatal("output without statistics accepted")
	}
}
