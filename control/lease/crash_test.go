package lease

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"go.uber.org/zap"
)

// Environment of the crash child (see TestCrashChild).
const (
	crashDirEnv   = "XDHCP_LEASE_CRASH_DIR"
	crashRoundEnv = "XDHCP_LEASE_CRASH_ROUND"
	ackedPrefix   = "acked "
)

// TestCrashKeepsAckedLeases runs this test binary as a child that commits
// leases from many goroutines as fast as it can and prints each address
// only after Commit returned nil, then kills it with SIGKILL at a random
// point and checks that every printed lease is in the reopened store,
// intact. Several rounds share one directory, so recovery after a kill is
// itself killed into.
func TestCrashKeepsAckedLeases(t *testing.T) {
	dir := t.TempDir()
	total := 0
	for round := 1; round <= 3; round++ {
		acked := runCrashChild(t, dir, round, 2000+rand.IntN(4000))
		total += len(acked)

		s, err := Open(Options{Dir: dir, Log: zap.NewNop()})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		missing := 0
		for _, ip := range acked {
			got, ok, err := s.Get(ip)
			switch {
			case err != nil:
				t.Errorf("round %d: Get(%v): %v", round, ip, err)
			case !ok:
				missing++
				if missing <= 5 {
					t.Errorf("round %d: acknowledged lease %v lost", round, ip)
				}
			default:
				if want := sampleLease(ip); !leasesEqual(got, want) {
					t.Errorf("round %d: lease %v changed:\n got %+v\nwant %+v", round, ip, got, want)
				}
			}
		}
		if missing > 0 {
			t.Errorf("round %d: %d of %d acknowledged leases lost", round, missing, len(acked))
		}
		if err := s.ForEach(func(Lease) error { return nil }); err != nil {
			t.Errorf("round %d: ForEach after crash: %v", round, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d acknowledged leases checked over 3 SIGKILLs", total)
}

// runCrashChild starts the child, reads at least killAfter acknowledged
// addresses, kills it and returns every address it acknowledged (lines
// still in the pipe after the kill included).
func runCrashChild(t *testing.T, dir string, round, killAfter int) []netip.Addr {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []netip.Addr
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), ackedPrefix)
		if !ok {
			continue
		}
		ip, err := netip.ParseAddr(line)
		if err != nil {
			t.Fatalf("child printed %q: %v", sc.Text(), err)
		}
		acked = append(acked, ip)
		if !killed && len(acked) >= killAfter {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("round %d: child ended after %d acks before being killed: %v\n%s", round, len(acked), err, stderr.String())
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended with %v, not SIGKILL\n%s", round, err, stderr.String())
	}
	return acked
}

// TestCrashChild is the child of TestCrashKeepsAckedLeases; run on its own
// it skips.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashKeepsAckedLeases; runs only when " + crashDirEnv + " is set")
	}
	round, err := strconv.Atoi(os.Getenv(crashRoundEnv))
	if err != nil || round < 1 || round > 255 {
		t.Fatalf("%s=%q: want 1..255", crashRoundEnv, os.Getenv(crashRoundEnv))
	}
	s, err := Open(Options{Dir: dir, Log: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	var (
		next   atomic.Uint32
		stdout sync.Mutex
		wg     sync.WaitGroup
	)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > 0xffff {
					return
				}
				ip := netip.AddrFrom4([4]byte{10, byte(round), byte(i >> 8), byte(i)})
				if err := s.Commit(context.Background(), sampleLease(ip)); err != nil {
					fmt.Fprintf(os.Stderr, "commit %v: %v\n", ip, err)
					os.Exit(3)
				}
				stdout.Lock()
				fmt.Fprintf(os.Stdout, "%s%v\n", ackedPrefix, ip)
				stdout.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Fatal("committed every address of the round without being killed")
}

// leasesEqual compares leases by instant rather than time representation.
func leasesEqual(a, b Lease) bool {
	ab, errA := a.MarshalBinary()
	bb, errB := b.MarshalBinary()
	return errA == nil && errB == nil && bytes.Equal(ab, bb)
}
