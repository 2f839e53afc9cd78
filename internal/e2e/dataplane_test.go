package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDataplaneModes serves one client with the XDP program attached
// (auto picks native on veth) and with XDP off, where the Go filter
// stands in, and checks xdhcpctl reports the mode in use and the receive
// path: AF_XDP behind XDP (its counters moved by the client's exchange),
// the UDP socket without.
func TestDataplaneModes(t *testing.T) {
	tests := []struct {
		mode, wantPrefix, receive string
	}{
		{"auto", "xdp-", "afxdp"},
		{"generic", "xdp-generic", "afxdp"},
		{"off", "go-filter", "udp"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			setup(t, "udhcpc")
			lab := newLab(t, "192.0.2.1/24")
			spec := lanSpec(time.Hour)
			spec.Dataplane = tt.mode
			d := startDaemon(t, lab, spec)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			st, err := d.Status(ctx)
			mustDo(t, err)
			if len(st.Interfaces) != 1 || st.Interfaces[0].Name != ServerIface || !strings.HasPrefix(st.Interfaces[0].Dataplane, tt.wantPrefix) {
				t.Errorf("dataplane %s: status interfaces %+v, want %s with %s*", tt.mode, st.Interfaces, ServerIface, tt.wantPrefix)
			}
			host, err := lab.AddHost("dp")
			mustDo(t, err)
			got, err := newClient(t, "udhcpc", host, "").Acquire(ctx)
			if err != nil {
				t.Fatal(err)
			}
			checkClientLease(t, got, time.Hour)
			st, err = d.Status(ctx)
			mustDo(t, err)
			ifc := st.Interfaces[0]
			if ifc.Receive != tt.receive {
				t.Errorf("receive path %q, want %q", ifc.Receive, tt.receive)
			}
			// udhcpc's DISCOVER and REQUEST in, OFFER and ACK out.
			if a := ifc.AFXDP; tt.receive == "afxdp" && (a == nil || a.Received < 2 || a.Sent < 2) {
				t.Errorf("AF_XDP counters %+v, want the client's 2 requests in and 2 replies out", a)
			}
		})
	}
}
