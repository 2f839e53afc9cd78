package dataplane

import (
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// FuzzDifferential gives each input to the XDP program and to the Go filter
// and demands one verdict. It needs root; run it with:
// go test -fuzz FuzzDifferential ./dataplane/
func FuzzDifferential(f *testing.F) {
	for _, fr := range baseFrames() {
		f.Add(fr)
	}
	cfg := config.Dataplane{SecsBypass: 4}
	d := mustDataplane(f, cfg)
	g := NewFilter(cfg)
	var owned [loadbalance.Buckets]bool
	for b := range owned {
		owned[b] = b%3 == 0
	}
	for _, p := range []policy{d, g} {
		if err := p.SetBuckets(owned); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, fr []byte) {
		// BPF_PROG_TEST_RUN wants at least an Ethernet header and at most
		// a page less head- and tailroom.
		if len(fr) < 14 || len(fr) > 3000 {
			return
		}
		x, y := runXDP(t, d, fr), g.Frame(fr, time.Now())
		if x != y {
			t.Fatalf("xdp says %s, go says %s for %x", x, y, fr)
		}
	})
}
