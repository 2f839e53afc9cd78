package dataplane

import (
	"testing"
	"time"
)

// TestRetryLaneWindow walks the retry lane's memory on a clock of its own:
// a refused client is known for RETRY_WINDOW_S seconds and no longer; a
// client the lane had no token for stays known from that refusal on.
func TestRetryLaneWindow(t *testing.T) {
	sec := func(s int) uint64 { return uint64(1000+s) * uint64(time.Second) }
	a, b, c := []byte{2, 0, 0, 0, 0xa, 1}, []byte{2, 0, 0, 0, 0xb, 1}, []byte{2, 0, 0, 0, 0xc, 1}
	lane := newRetryLane(gcra{on: true, interval: uint64(time.Second)}) // 1 a second, burst 1
	steps := []struct {
		name   string
		chaddr []byte
		at     uint64
		passes bool
	}{
		{"a refused", a, sec(0), false},
		{"a again at the window's end", a, sec(retryWindowSec), true},
		{"a's entry is spent", a, sec(retryWindowSec), false},
		{"b refused", b, sec(100), false},
		{"b again past the window", b, sec(100 + retryWindowSec + 1), false},
		{"b again, known from that refusal", b, sec(100 + retryWindowSec + 2), true},
		{"c refused", c, sec(200), false},
		{"a refused", a, sec(200), false},
		{"c again, the lane's token", c, sec(201), true},
		{"a again, no token left this second", a, sec(201), false},
		{"a again, a token", a, sec(202), true},
		{"no hardware address", nil, sec(300), false},
		{"no hardware address again", nil, sec(301), true},
	}
	for i, st := range steps {
		if got := lane.allow(st.chaddr, st.at); got != st.passes {
			t.Fatalf("step %d (%s): passes %v, want %v", i+1, st.name, got, st.passes)
		}
	}
}
