package loadgen

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepTick blocks the thread for d. The Go runtime rounds a sleep under
// a millisecond up to one when nothing else runs (its poller waits in
// whole milliseconds): time.Sleep(100µs) took 1.1 ms here, nanosleep
// 153 µs (BenchmarkSleepTick).
func sleepTick(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil) // EINTR: a shorter sleep does no harm
}
