package procstat

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// ClockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat.
// Linux fixes it at 100 on every architecture Go supports.
const ClockTicks = 100

// CPU is a process's accumulated user and system time, in seconds. It
// includes all of the process's threads (and reaped children's time is not
// counted).
type CPU struct {
	User, System float64
}

// Total returns User + System.
func (c CPU) Total() float64 { return c.User + c.System }

// Sub returns c - o.
func (c CPU) Sub(o CPU) CPU { return CPU{User: c.User - o.User, System: c.System - o.System} }

// Read returns the CPU time of process pid.
func Read(pid int) (CPU, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return CPU{}, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	c, err := Parse(b)
	if err != nil {
		return CPU{}, fmt.Errorf("read cpu time of pid %d: %w", pid, err)
	}
	return c, nil
}

// Parse extracts utime and stime from the contents of /proc/PID/stat. The
// command name (field 2) may contain spaces and parentheses, so fields are
// counted from the last ')'.
func Parse(stat []byte) (CPU, error) {
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return CPU{}, fmt.Errorf("parse stat: no ')' after the command name")
	}
	fields := bytes.Fields(stat[end+1:])
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return CPU{}, fmt.Errorf("parse stat: %d fields after the command name, want more than %d", len(fields), stime)
	}
	u, err := strconv.ParseUint(string(fields[utime]), 10, 64)
	if err != nil {
		return CPU{}, fmt.Errorf("parse stat utime %q: %w", fields[utime], err)
	}
	s, err := strconv.ParseUint(string(fields[stime]), 10, 64)
	if err != nil {
		return CPU{}, fmt.Errorf("parse stat stime %q: %w", fields[stime], err)
	}
	return CPU{User: float64(u) / ClockTicks, System: float64(s) / ClockTicks}, nil
}
