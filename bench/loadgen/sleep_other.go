//go:build !linux

package loadgen

import "time"

// sleepTick blocks for d (see sleep_linux.go).
func sleepTick(d time.Duration) { time.Sleep(d) }
