package netns

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"golang.org/x/sys/unix"
)

// Do runs fn on an OS thread switched into the namespace. Sockets that fn
// opens stay in the namespace after Do returns, so a test can open them
// here and use them from any goroutine. fn must not start goroutines that
// expect to run inside the namespace.
func (ns *NS) Do(fn func() error) error { return DoIn(ns.Name, fn) }

// DoIn is Do for a namespace known only by its name (one that `ip netns
// add` created).
func DoIn(name string, fn func() error) error {
	target, err := os.Open(filepath.Join("/run/netns", name))
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", name, err)
	}
	defer target.Close()

	runtime.LockOSThread()
	// The thread is only unlocked once it is back in its own namespace; if
	// switching back fails it stays locked and Go discards it when this
	// goroutine ends.
	origin, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("open own namespace: %w", err)
	}
	defer origin.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter namespace %s: %w", name, err)
	}
	fnErr := fn()
	if err := unix.Setns(int(origin.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("leave namespace %s: %w", name, err)
	}
	runtime.UnlockOSThread()
	return fnErr
}
