package dhcpclients

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"time"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// Capture is a running tshark that prints chosen fields of the packets it
// sees.
type Capture struct {
	proc   *netns.Proc
	out    SyncBuffer
	errOut SyncBuffer
}

// StartCapture runs tshark on iface in ns with the capture filter filter
// (BPF syntax) and the display filter display, printing fields (tshark
// field names, "-e"). It returns once tshark is capturing.
func StartCapture(ctx context.Context, ns *netns.NS, iface, filter, display string, fields ...string) (*Capture, error) {
	args := []string{"-i", iface, "-n", "-l", "-f", filter, "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"}
	if display != "" {
		args = append(args, "-Y", display)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	c := &Capture{}
	cmd := ns.Command(context.Background(), "tshark", args...)
	cmd.Stdout, cmd.Stderr = &c.out, &c.errOut
	proc, err := ns.Start(cmd)
	if err != nil {
		return nil, err
	}
	c.proc = proc
	if err := c.waitCapturing(ctx, iface); err != nil {
		_ = proc.Kill()
		return nil, err
	}
	return c, nil
}

// captureSettle is how long waitCapturing waits after tshark's "Capturing
// on" line: the line can come a moment before packets are captured (a run
// of TestPerfdhcpAndCapture in CI missed the first of 29 ACKs, sent a
// few hundred milliseconds after it).
const captureSettle = 500 * time.Millisecond

// waitCapturing waits for tshark's "Capturing on" line, which it prints
// once its capture child has the interface open, and then captureSettle.
func (c *Capture) waitCapturing(ctx context.Context, iface string) error {
	if err := c.waitLine(ctx, iface); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return fmt.Errorf("tshark on %s: %w", iface, ctx.Err())
	case <-time.After(captureSettle):
		return nil
	}
}

func (c *Capture) waitLine(ctx context.Context, iface string) error {
	deadline := time.After(20 * time.Second)
	for !strings.Contains(c.errOut.String(), "Capturing on") {
		select {
		case <-ctx.Done():
			return fmt.Errorf("tshark on %s not ready: %w\n%s", iface, ctx.Err(), c.errOut.String())
		case <-deadline:
			return fmt.Errorf("tshark on %s not ready after 20s\n%s", iface, c.errOut.String())
		case <-c.proc.Done():
			return fmt.Errorf("tshark on %s exited: %v\n%s", iface, c.proc.Wait(), c.errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Stop waits until tshark has printed nothing new for a second (it prints
// with a delay), ends it with SIGINT and returns one row of fields per
// packet.
func (c *Capture) Stop() ([][]string, error) {
	last, quietSince := -1, time.Now()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n := len(c.out.String()); n != last {
			last, quietSince = n, time.Now()
		} else if time.Since(quietSince) >= time.Second {
			break
		}
	}
	_ = c.proc.Signal(syscall.SIGINT)
	select {
	case <-c.proc.Done():
	case <-time.After(10 * time.Second):
		_ = c.proc.Kill()
		return nil, fmt.Errorf("tshark did not stop on SIGINT\n%s", c.errOut.String())
	}
	var rows [][]string
	for _, line := range strings.Split(c.out.String(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			rows = append(rows, strings.Split(line, "|"))
		}
	}
	return rows, nil
}
