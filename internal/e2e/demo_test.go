package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/internal/dhcpclients"
)

var (
	demoOnce sync.Once
	demoBin  string
	demoErr  error
)

// buildDemo builds cmd/xdhcp-demo next to the other binaries, once.
func buildDemo(t *testing.T) string {
	t.Helper()
	demoOnce.Do(func() {
		demoBin, demoErr = filepath.Join(binDir, "xdhcp-demo"), GoBuild(context.Background(), binDir, "./cmd/xdhcp-demo")
	})
	if demoErr != nil {
		t.Fatal(demoErr)
	}
	return demoBin
}

func TestDemoShowsEveryLease(t *testing.T) {
	setup(t, "dhclient", "udhcpc", "dhcpcd", "dhcrelay")
	demo := buildDemo(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, demo, "-xdhcpd", bin.Xdhcpd, "-xdhcpctl", bin.Xdhcpctl, "-pause", "0")
	out, err := cmd.CombinedOutput()
	if left := demoLeftovers(cmd.Process.Pid); len(left) > 0 {
		t.Errorf("demo left namespaces behind: %v", left)
	}
	if err != nil {
		t.Fatalf("xdhcp-demo: %v\n%s", err, out)
	}
	for _, want := range []string{
		"dhclient got 192.0.2.1", "udhcpc got 192.0.2.10/24", "dhcpcd got 192.0.2.1", "dhclient got 198.51.100.1",
		"from server A (primary)", "from server B (secondary)", "shared secret", "srv0: xdp-", "down0",
		"this server:  NORMAL", "split is now 70% on both partners", "server A now owns 179 buckets", "server B now owns 77 buckets",
		"server A is COMMUNICATIONS-INTERRUPTED", "server A is PARTNER-DOWN", "udhcpc got 192.0.2.", "both servers NORMAL with each other",
		"server A: 5 active leases, server B: 5, for 5 clients", "deleting the namespaces",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", out)
	}
}

// demoLeftovers lists the namespaces a demo process with pid left behind.
func demoLeftovers(pid int) []string {
	names, _ := exec.Command("ip", "netns", "list").Output()
	var left []string
	for _, line := range strings.Split(string(names), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], "xdemo-") && strings.Contains(f[0], fmt.Sprintf("-%d-", pid)) {
			left = append(left, f[0])
		}
	}
	return left
}

func TestDemoCleansUpOnInterrupt(t *testing.T) {
	setup(t, "dhclient", "udhcpc", "dhcpcd", "dhcrelay")
	demo := buildDemo(t)
	cmd := exec.Command(demo, "-xdhcpd", bin.Xdhcpd, "-xdhcpctl", bin.Xdhcpctl, "-pause", "1s")
	out := &dhcpclients.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "dhclient got") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("demo did not exit within 30s of SIGINT\n%s", out.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("after SIGINT: %v, want exit status 130 and a word about it\n%s", err, out.String())
	}
	if left := demoLeftovers(cmd.Process.Pid); len(left) > 0 {
		t.Errorf("demo left namespaces behind: %v", left)
	}
}
