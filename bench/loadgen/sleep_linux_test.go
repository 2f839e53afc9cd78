package loadgen

import (
	"testing"
	"time"
)

// BenchmarkSleepTick measures how long a 100 µs sleep takes: the Go
// runtime's time.Sleep against sleepTick's nanosleep (sleep_linux.go).
//
//	go test -run '^$' -bench SleepTick ./bench/loadgen/
func BenchmarkSleepTick(b *testing.B) {
	for _, bc := range []struct {
		name  string
		sleep func(time.Duration)
	}{{"time.Sleep", time.Sleep}, {"nanosleep", sleepTick}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				bc.sleep(defaultTick)
			}
		})
	}
}
