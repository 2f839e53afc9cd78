package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ErrNotRoot is returned by CheckRoot when the process is not root.
var ErrNotRoot = errors.New("needs root (network namespaces): run as root; CI does")

// nameCounter makes namespace names unique within one process; together with
// the pid it makes them unique on the host.
var nameCounter atomic.Uint64

// CheckRoot returns ErrNotRoot unless the process runs as root.
func CheckRoot() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	return nil
}

// RequireRoot skips the test unless it runs as root.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	if err := CheckRoot(); err != nil {
		tb.Skip(err.Error())
	}
}

// NS is one network namespace created by this package.
type NS struct {
	Name string // the ip-netns name, unique on the host

	mu     sync.Mutex
	procs  []*Proc
	onStop []func()
	closed bool
}

// Create makes a new namespace whose name starts with prefix, gives it a
// private empty resolv.conf and brings its loopback up. The caller must
// Close it.
func Create(prefix string) (*NS, error) {
	name := fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), nameCounter.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip netns add %s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	ns := &NS{Name: name}
	// ip netns exec bind-mounts every file of /etc/netns/NAME over /etc, so
	// a client that writes /etc/resolv.conf only changes this empty file.
	etc := ns.etcDir()
	if err := os.MkdirAll(etc, 0o755); err != nil {
		_ = ns.Close()
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(etc, "resolv.conf"), nil, 0o644); err != nil {
		_ = ns.Close()
		return nil, fmt.Errorf("namespace %s: %w", name, err)
	}
	if err := ns.Run("ip", "link", "set", "lo", "up"); err != nil {
		_ = ns.Close()
		return nil, err
	}
	return ns, nil
}

// New is Create for tests: it fails the test on error and closes the
// namespace in the test's cleanup.
func New(tb testing.TB, prefix string) *NS {
	tb.Helper()
	RequireRoot(tb)
	ns, err := Create(prefix)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := ns.Close(); err != nil {
			tb.Errorf("close namespace: %v", err)
		}
	})
	return ns
}

func (ns *NS) etcDir() string { return filepath.Join("/etc/netns", ns.Name) }

// Close runs the OnClose functions, kills every process started with Start
// (by PID) and deletes the
// namespace with its interfaces. It is safe to call more than once.
func (ns *NS) Close() error {
	ns.mu.Lock()
	if ns.closed {
		ns.mu.Unlock()
		return nil
	}
	ns.closed = true
	procs, onStop := ns.procs, ns.onStop
	ns.procs, ns.onStop = nil, nil
	ns.mu.Unlock()

	for i := len(onStop) - 1; i >= 0; i-- {
		onStop[i]()
	}
	for _, p := range procs {
		_ = p.Stop(2 * time.Second)
	}
	var errs []error
	if out, err := exec.Command("ip", "netns", "del", ns.Name).CombinedOutput(); err != nil {
		errs = append(errs, fmt.Errorf("ip netns del %s: %w: %s", ns.Name, err, strings.TrimSpace(string(out))))
	}
	if err := os.RemoveAll(ns.etcDir()); err != nil {
		errs = append(errs, fmt.Errorf("remove %s: %w", ns.etcDir(), err))
	}
	return errors.Join(errs...)
}

// OnClose registers fn to run at the start of Close, before the started
// processes are stopped; the last registered runs first. Drivers use it to
// end processes that Start does not know, such as a daemon's children.
func (ns *NS) OnClose(fn func()) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	ns.onStop = append(ns.onStop, fn)
}

// Command returns a command that runs name inside the namespace. ip netns
// exec replaces itself with the program, so the command's PID is the
// program's. The program gets its own process group, so that a Ctrl-C at
// the terminal reaches only the caller, which then stops it in order; and
// it is killed if the caller dies first.
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	full := append([]string{"netns", "exec", ns.Name, name}, args...)
	cmd := exec.CommandContext(ctx, "ip", full...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// Output runs name inside the namespace and returns its standard output.
// The error carries the standard error.
func (ns *NS) Output(name string, args ...string) (string, error) {
	cmd := ns.Command(context.Background(), name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s %s: %w: %s", ns.Name, name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Run runs name inside the namespace, discarding its output unless it fails.
func (ns *NS) Run(name string, args ...string) error {
	_, err := ns.Output(name, args...)
	return err
}

// Start starts cmd (normally from Command) and remembers it, so that Close
// stops it by PID if it still runs.
func (ns *NS) Start(cmd *exec.Cmd) (*Proc, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.closed {
		return nil, fmt.Errorf("namespace %s is closed", ns.Name)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s in %s: %w", strings.Join(cmd.Args, " "), ns.Name, err)
	}
	p := &Proc{Cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	ns.procs = append(ns.procs, p)
	return p, nil
}

// Proc is a process started in a namespace. Its Wait is owned by the
// package: use Done, Wait or Stop rather than Cmd.Wait.
type Proc struct {
	Cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Pid returns the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Wait waits for the process to exit and returns its exit error.
func (p *Proc) Wait() error {
	<-p.done
	return p.err
}

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process by its PID unless it has exited.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return fmt.Errorf("signal pid %d: process already exited", p.Pid())
	}
	return p.Cmd.Process.Signal(sig)
}

// Kill sends SIGKILL by PID and waits for the process to exit.
func (p *Proc) Kill() error {
	if !p.Exited() {
		_ = p.Cmd.Process.Kill()
	}
	return p.Wait()
}

// Stop sends SIGTERM, waits up to grace for the process to exit, then kills
// it with SIGKILL. It returns the exit error.
func (p *Proc) Stop(grace time.Duration) error {
	if p.Exited() {
		return p.err
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(grace):
	}
	_ = p.Cmd.Process.Kill()
	return p.Wait()
}
