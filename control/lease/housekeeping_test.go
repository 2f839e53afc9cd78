package lease

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestValueLogGCRunsAndStops runs GC every few milliseconds under
// overwrites and deletes, then checks the data and that Close returns.
func TestValueLogGCRunsAndStops(t *testing.T) {
	dir := t.TempDir()
	core, logs := observer.New(zapcore.WarnLevel)
	s, err := Open(Options{Dir: dir, Log: zap.New(core), GCInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for round := range 5 {
		var batch []Lease
		for i := range 200 {
			l := sampleLease(netip.AddrFrom4([4]byte{10, 5, 0, byte(i)}))
			l.Hostname = "round-" + string(rune('0'+round))
			batch = append(batch, l)
		}
		if err := s.Commit(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, batch[round].IP); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, e := range logs.All() {
		t.Errorf("unexpected log: %s %v", e.Message, e.ContextMap())
	}
	s = mustOpen(t, Options{Dir: dir, Log: zap.NewNop()})
	got := collect(t, s)
	// Each round rewrites all 200 and deletes one; only the last
	// round's delete (10.5.0.4) stands.
	if len(got) != 199 {
		t.Fatalf("%d leases after GC and reopen, want 199", len(got))
	}
	if _, ok, err := s.Get(addr("10.5.0.4")); ok || err != nil {
		t.Fatalf("deleted lease 10.5.0.4: ok %v, err %v", ok, err)
	}
	for _, l := range got {
		if l.Hostname != "round-4" {
			t.Fatalf("lease %v has hostname %q, want the last round's", l.IP, l.Hostname)
		}
	}
}

func TestBadgerLoggerLevels(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	l := badgerLogger{zap.New(core).Sugar()}
	l.Errorf("disk %s\n", "gone")
	l.Warningf("slow %d", 3)
	l.Infof("compaction %d", 1)
	l.Debugf("detail")
	want := []struct {
		level zapcore.Level
		msg   string
	}{
		{zapcore.ErrorLevel, "disk gone"},
		{zapcore.WarnLevel, "slow 3"},
	}
	got := logs.All()
	if len(got) != len(want) {
		t.Fatalf("%d log entries, want %d: %v", len(got), len(want), got)
	}
	for i, w := range want {
		if got[i].Level != w.level || got[i].Message != w.msg {
			t.Errorf("entry %d = %v %q, want %v %q", i, got[i].Level, got[i].Message, w.level, w.msg)
		}
	}
}
