package fsm

import (
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap/zaptest"
)

// TestStateSurvivesReopen stores the state in a real Badger lease store,
// closes it, reopens it and resumes from the record.
func TestStateSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	open := func() *lease.Store {
		s, err := lease.Open(lease.Options{Dir: dir, Log: zaptest.NewLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	if p, err := Load(s); err != nil || p != nil {
		t.Fatalf("fresh store: %v, %v", p, err)
	}
	want := Persisted{State: wire.StatePartnerDown, Since: t0, LastOperational: t0.Add(time.Minute)}
	if err := Save(s, want); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open()
	defer s.Close()
	got, err := Load(s)
	if err != nil || got == nil || got.State != want.State || !got.Since.Equal(want.Since) {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	m := New(baseCfg(Primary), got, t0.Add(time.Hour))
	if s, startup := m.WireState(); s != wire.StatePartnerDown || !startup {
		t.Fatalf("resumed machine announces %s startup=%v", s, startup)
	}
}
