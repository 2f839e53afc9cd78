// Package procstat reads a process's CPU time from /proc/PID/stat, so the
// benchmark can report each server's CPU seconds beside its rate.
package procstat
