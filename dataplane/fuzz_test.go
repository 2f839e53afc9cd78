package dataplane

import (
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
)

// FuzzFilter checks that the Go filter never panics, always gives a known
// verdict, and that Payload on a frame's UDP payload agrees with Frame.
// Run it with: go test -fuzz FuzzFilter ./dataplane/
func FuzzFilter(f *testing.F) {
	for _, fr := range baseFrames() {
		f.Add(fr)
	}
	f.Fuzz(func(t *testing.T, fr []byte) {
		now := time.Now()
		// Every guard on: a fresh filter's first frame passes them all,
		// so Frame and Payload still agree, and the key paths are run.
		cfg := config.Dataplane{SecsBypass: 4,
			RateLimit:      config.RateLimit{PerClientPPS: 1},
			SourceLimit:    config.SourceLimit{PPS: 1, Relayed: true},
			DiscoverBudget: config.DiscoverBudget{PPS: 1}}
		whole := NewFilter(cfg)
		if err := whole.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		v := whole.Frame(fr, now)
		if v.Action >= actionLen || v.Reason >= reasonLen {
			t.Fatalf("unknown verdict %v", v)
		}
		if v.Action == Drop && v.Reason != ReasonMalformed && v.Reason != ReasonPartner && v.Reason != ReasonRateLimit {
			t.Fatalf("dropped for %s", v.Reason)
		}
		payload, early, ok := frameBOOTP(fr, new(linkSource))
		if !ok {
			if early != v {
				t.Fatalf("headers gave %s, Frame %s", early, v)
			}
			return
		}
		part := NewFilter(cfg)
		if err := part.SetSplit(50, true); err != nil {
			t.Fatal(err)
		}
		if pv := part.Payload(payload, now); pv != v {
			t.Fatalf("Payload says %s, Frame says %s", pv, v)
		}
	})
}
