package dataplane

import (
	"errors"
	"os"
	"testing"

	"github.com/cilium/ebpf"
	"go.uber.org/zap/zaptest"

	"github.com/xdhcp/xdhcp/internal/config"
)

// requireBPF skips tb when the test cannot load BPF programs: not root, or
// a kernel without the features the program needs.
func requireBPF(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		tb.Skip("needs root to load XDP programs (BPF_PROG_TEST_RUN): run as root; CI does")
	}
}

// mustDataplane loads the program for cfg and closes it at cleanup. It
// skips when the kernel lacks a feature the program needs.
func mustDataplane(tb testing.TB, cfg config.Dataplane) *Dataplane {
	tb.Helper()
	requireBPF(tb)
	d, err := New(cfg, zaptest.NewLogger(tb))
	if errors.Is(err, ebpf.ErrNotSupported) {
		tb.Skipf("kernel lacks a BPF feature the XDP program needs: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("close dataplane: %v", err)
		}
	})
	return d
}

// runXDP runs frame through the program with BPF_PROG_TEST_RUN and returns
// its verdict, read back from the counter that moved.
func runXDP(tb testing.TB, d *Dataplane, frame []byte) Verdict {
	tb.Helper()
	before, err := d.Stats()
	if err != nil {
		tb.Fatal(err)
	}
	ret, err := d.objs.XdhcpXdp.Run(&ebpf.RunOptions{Data: frame})
	if errors.Is(err, ebpf.ErrNotSupported) {
		tb.Skipf("kernel lacks BPF_PROG_TEST_RUN for XDP: %v", err)
	}
	if err != nil {
		tb.Fatalf("run xdp program on %d-byte frame: %v", len(frame), err)
	}
	after, err := d.Stats()
	if err != nil {
		tb.Fatal(err)
	}
	var moved []Verdict
	for i, c := range after.Counters {
		if c.Packets != before.Counters[i].Packets {
			if c.Packets != before.Counters[i].Packets+1 {
				tb.Fatalf("counter %s moved by %d for one frame", c.Verdict, c.Packets-before.Counters[i].Packets)
			}
			if c.Bytes != before.Counters[i].Bytes+uint64(len(frame)) {
				tb.Fatalf("counter %s bytes moved by %d for a %d-byte frame", c.Verdict, c.Bytes-before.Counters[i].Bytes, len(frame))
			}
			moved = append(moved, c.Verdict)
		}
	}
	if len(moved) != 1 {
		tb.Fatalf("%d counters moved for one frame: %v", len(moved), moved)
	}
	v := moved[0]
	want := uint32(xdpPass)
	if v.Action == Drop {
		want = xdpDrop
	}
	if ret != want {
		tb.Fatalf("program returned %d but counted %s", ret, v)
	}
	return v
}

// XDP return codes.
const (
	xdpDrop = 1
	xdpPass = 2
)
