package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestDataplaneModes serves one client with the XDP program attached
// (auto picks native on veth) and with XDP off, where the Go filter
// stands in, and checks xdhcpctl reports the mode in use.
func TestDataplaneModes(t *testing.T) {
	tests := []struct {
		mode, wantPrefix string
	}{
		{"auto", "xdp-"},
		{"generic", "xdp-generic"},
		{"off", "go-filter"},
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
		})
	}
}
