package dataplane

import (
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// policy is what both twins let the control plane set.
type policy interface {
	SetBuckets(owned [loadbalance.Buckets]bool) error
	SetSplit(percent int, primary bool) error
	SetLoadBalancing(on bool) error
	SetSecsBypass(secs int) error
	Reconfigure(cfg config.Dataplane) error
	Buckets() [loadbalance.Buckets]bool
	Stats() (Stats, error)
}

var (
	_ policy = (*Filter)(nil)
	_ policy = (*Dataplane)(nil)
)

// twin runs frames through one implementation.
type twin struct {
	name string
	policy
	run func(tb testing.TB, frame []byte) Verdict
}

// filterTwin wraps a Filter.
func filterTwin(cfg config.Dataplane) twin {
	f := NewFilter(cfg)
	return twin{name: "go", policy: f, run: func(_ testing.TB, frame []byte) Verdict {
		return f.Frame(frame, time.Now())
	}}
}

// xdpTwin wraps a loaded program; it skips tb without root.
func xdpTwin(tb testing.TB, cfg config.Dataplane) twin {
	d := mustDataplane(tb, cfg)
	return twin{name: "xdp", policy: d, run: func(tb testing.TB, frame []byte) Verdict {
		return runXDP(tb, d, frame)
	}}
}

// forBothTwins runs fn against the Go filter and, as root, the XDP program.
func forBothTwins(t *testing.T, cfg config.Dataplane, fn func(t *testing.T, tw twin)) {
	t.Run("go", func(t *testing.T) { fn(t, filterTwin(cfg)) })
	t.Run("xdp", func(t *testing.T) { fn(t, xdpTwin(t, cfg)) })
}
