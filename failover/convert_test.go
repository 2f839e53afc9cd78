package failover

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/failover/wire"
)

// TestHostnameTravelsInDDNSOption: a binding's host name goes out in the
// DDNS option and comes back; names that are not printable ASCII or too
// long are dropped on receipt, the binding kept.
func TestHostnameTravelsInDDNSOption(t *testing.T) {
	tests := []struct{ name, sent, want string }{
		{"plain", "laptop-7", "laptop-7"},
		{"fqdn", "cam.example.net", "cam.example.net"},
		{"none", "", ""},
		{"control characters", "evil\x1b[2Jname", ""},
		{"too long", strings.Repeat("a", 300), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := activeLease(netip.MustParseAddr("192.0.2.44"), time.Unix(1_700_000_000, 0), 4)
			l.Hostname = tt.sent
			b := bindingFromLease(l, l.Expiry)
			if len(tt.sent) > maxHostname {
				b.Hostname = tt.sent // a hostile partner sends it anyway
			}
			raw, err := wire.BindingOptions(&wire.Message{Type: wire.MsgBndUpd, XID: 1}, b).Marshal()
			if err != nil {
				t.Fatal(err)
			}
			m, err := wire.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if _, has := m.Get(wire.OptDDNS); has != (tt.sent != "") {
				t.Fatalf("DDNS option present %v for host name %q", has, tt.sent)
			}
			pb, err := wire.ParseBinding(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := leaseFromBinding(pb)
			if err != nil {
				t.Fatal(err)
			}
			if got.Hostname != tt.want || got.IP != l.IP || got.HWAddr.String() != l.HWAddr.String() {
				t.Fatalf("got %q for %s, want %q", got.Hostname, got.IP, tt.want)
			}
		})
	}
}
