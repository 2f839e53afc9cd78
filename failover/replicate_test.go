package failover

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap/zaptest"
)

// settingsServer is a fakeServer that also replicates scope settings.
type settingsServer struct {
	*fakeServer
	smu      sync.Mutex
	settings Settings
	refuse   error // ApplySettings fails with it
	applied  int
}

func (s *settingsServer) LocalSettings() (Settings, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.settings, nil
}

func (s *settingsServer) ApplySettings(in Settings) error {
	s.smu.Lock()
	defer s.smu.Unlock()
	if s.refuse != nil {
		return s.refuse
	}
	s.settings = Settings{Version: in.Version, Data: append([]byte(nil), in.Data...)}
	s.applied++
	return nil
}

func (s *settingsServer) current() Settings {
	s.smu.Lock()
	defer s.smu.Unlock()
	return s.settings
}

func settingsAt(gen uint64, changed time.Time, data string) Settings {
	return Settings{Version: SettingsVersion{Generation: gen, Changed: changed, Hash: sha256.Sum256([]byte(data))}, Data: []byte(data)}
}

// replicatingPair starts two engines whose servers hold settings.
func replicatingPair(t *testing.T, primary, secondary Settings) (*running, *running, *settingsServer, *settingsServer) {
	t.Helper()
	addr := freePort(t)
	own := newOwnership()
	pool := testPool(16)
	ps := &settingsServer{fakeServer: newFakeServer("primary", own, pool), settings: primary}
	ss := &settingsServer{fakeServer: newFakeServer("secondary", own, pool), settings: secondary}
	a := startWith(t, testConfig(fsm.Primary, addr), ps, ps.fakeServer)
	b := startWith(t, testConfig(fsm.Secondary, addr), ss, ss.fakeServer)
	waitFor(t, 10*time.Second, "both NORMAL", func() bool { return stateIs(a, "NORMAL")() && stateIs(b, "NORMAL")() })
	return a, b, ps, ss
}

func TestReplicateOutcomes(t *testing.T) {
	t0 := time.Now().Add(-time.Hour)
	tests := []struct {
		name          string
		primary, sec  Settings
		force         bool
		refuse        error
		wantOutcome   string
		wantErr       error
		wantSecondary string // the secondary's data afterwards
		wantRefused   uint64 // counted on the secondary
	}{
		{name: "newer copy is applied", primary: settingsAt(2, t0.Add(time.Minute), "new"), sec: settingsAt(1, t0, "old"),
			wantOutcome: OutcomeApplied, wantSecondary: "new"},
		{name: "identical copy changes nothing", primary: settingsAt(2, t0.Add(time.Minute), "same"), sec: settingsAt(1, t0, "same"),
			wantOutcome: OutcomeIdentical, wantSecondary: "same"},
		{name: "older copy is refused", primary: settingsAt(5, t0, "old"), sec: settingsAt(1, t0.Add(time.Minute), "newer"),
			wantOutcome: OutcomeRefused, wantErr: ErrReplicateRefused, wantSecondary: "newer", wantRefused: 1},
		{name: "older copy is applied with force", primary: settingsAt(5, t0, "old"), sec: settingsAt(1, t0.Add(time.Minute), "newer"),
			force: true, wantOutcome: OutcomeApplied, wantSecondary: "old"},
		{name: "settings the server cannot apply are refused", primary: settingsAt(2, t0.Add(time.Minute), "bad"), sec: settingsAt(1, t0, "old"),
			refuse: errors.New("scope 192.0.2.0/24: pool outside subnet"), wantOutcome: OutcomeRefused, wantErr: ErrReplicateRefused,
			wantSecondary: "old", wantRefused: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b, _, ss := replicatingPair(t, tt.primary, tt.sec)
			ss.refuse = tt.refuse
			res, err := a.p.Replicate(tt.force)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("Replicate: %v, want %v", err, tt.wantErr)
			}
			if res.Outcome != tt.wantOutcome {
				t.Fatalf("outcome %q, want %q (%+v)", res.Outcome, tt.wantOutcome, res)
			}
			if got := string(ss.current().Data); got != tt.wantSecondary {
				t.Fatalf("secondary holds %q, want %q", got, tt.wantSecondary)
			}
			if tt.wantOutcome == OutcomeApplied {
				if !ss.current().Version.Equal(tt.primary.Version) || !res.Partner.Equal(tt.primary.Version) {
					t.Fatalf("secondary's version %v (reported %v), want the pushed %v", ss.current().Version, res.Partner, tt.primary.Version)
				}
				if a.p.Status().Counters.SettingsPushed != 1 || b.p.Status().Counters.SettingsApplied != 1 {
					t.Fatalf("counters %+v / %+v", a.p.Status().Counters, b.p.Status().Counters)
				}
			}
			if got := b.p.Status().Counters.SettingsRefused; got != tt.wantRefused {
				t.Fatalf("secondary counted %d refusals, want %d", got, tt.wantRefused)
			}
			if tt.refuse != nil && !strings.Contains(res.Message, "pool outside subnet") {
				t.Fatalf("refusal message %q does not say why", res.Message)
			}
		})
	}
}

// TestReplicateLargeSettingsInChunks: settings far above one message's
// 2048 bytes travel in chunks and arrive whole.
func TestReplicateLargeSettingsInChunks(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 20000) // 320 kB
	a, _, _, ss := replicatingPair(t, settingsAt(2, time.Now(), big), settingsAt(1, time.Now().Add(-time.Hour), "old"))
	res, err := a.p.Replicate(false)
	if err != nil || res.Outcome != OutcomeApplied {
		t.Fatalf("Replicate: %+v %v", res, err)
	}
	if string(ss.current().Data) != big {
		t.Fatal("the secondary's copy differs from the pushed one")
	}
}

func TestReplicateAutoOnConnect(t *testing.T) {
	addr := freePort(t)
	own := newOwnership()
	t0 := time.Now()
	ps := &settingsServer{fakeServer: newFakeServer("primary", own, testPool(8)), settings: settingsAt(3, t0, "primary's")}
	ss := &settingsServer{fakeServer: newFakeServer("secondary", own, testPool(8)), settings: settingsAt(1, t0.Add(-time.Hour), "secondary's")}
	pc := testConfig(fsm.Primary, addr)
	pc.ReplicateAuto = true
	startWith(t, pc, ps, ps.fakeServer)
	startWith(t, testConfig(fsm.Secondary, addr), ss, ss.fakeServer)
	waitFor(t, 10*time.Second, "the secondary applies the primary's settings", func() bool { return string(ss.current().Data) == "primary's" })
}

func TestReplicateNeedsAnXdhcpPartner(t *testing.T) {
	p, err := New(testConfig(fsm.Primary, "127.0.0.1:1"), &settingsServer{fakeServer: newFakeServer("primary", newOwnership(), nil)}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	s := settingsAt(1, time.Now(), "x")
	if err := p.startPush(s, false, nil); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("without a connection: %v", err)
	}
	p.cur = &link{partnerVendor: "isc-dhcp-4.4.3"}
	if err := p.startPush(s, false, nil); !errors.Is(err, ErrReplicateUnsupported) {
		t.Fatalf("to an ISC partner: %v", err)
	}
	if _, err := New(testConfig(fsm.Primary, "127.0.0.1:1"), newFakeServer("p", newOwnership(), nil), nil); err != nil {
		t.Fatal(err)
	}
}

// TestHostileTransfersAreRefused feeds the receiver malformed transfers:
// each is refused, counted and never reaches ApplySettings.
func TestHostileTransfersAreRefused(t *testing.T) {
	good := encodeEnvelope(settingsAt(9, time.Now(), "fine"), false)
	badHash := append([]byte(nil), good...)
	badHash[20] ^= 0xff
	chunk := func(xid, idx, count uint32, data []byte) *wire.Message {
		d := binary.BigEndian.AppendUint32(nil, idx)
		d = binary.BigEndian.AppendUint32(d, count)
		m := &wire.Message{Type: msgReplicate, XID: xid}
		m.Add(wire.OptVendorOptions, append(d, data...))
		return m
	}
	tests := []struct {
		name    string
		msgs    []*wire.Message
		refused uint64
	}{
		{"no vendor option", []*wire.Message{{Type: msgReplicate, XID: 1}}, 1},
		{"short chunk header", []*wire.Message{(&wire.Message{Type: msgReplicate, XID: 1}).Add(wire.OptVendorOptions, []byte{0, 0, 0})}, 1},
		{"starts in the middle", []*wire.Message{chunk(1, 3, 5, []byte("x"))}, 1},
		{"zero chunks", []*wire.Message{chunk(1, 0, 0, []byte("x"))}, 1},
		{"more chunks than the limit", []*wire.Message{chunk(1, 0, maxReplicateCount+1, []byte("x"))}, 1},
		{"chunk out of order", []*wire.Message{chunk(1, 0, 3, good[:10]), chunk(1, 2, 3, good[10:])}, 1},
		{"count changes", []*wire.Message{chunk(1, 0, 2, good[:10]), chunk(1, 1, 3, good[10:])}, 1},
		{"shorter than the envelope", []*wire.Message{chunk(1, 0, 1, good[:20])}, 1},
		{"hash does not match", []*wire.Message{chunk(1, 0, 1, badHash)}, 1},
		{"server refuses the content", []*wire.Message{chunk(1, 0, 1, encodeEnvelope(settingsAt(9, time.Now(), "reject me"), false))}, 1},
		{"valid transfer", []*wire.Message{chunk(1, 0, 2, good[:30]), chunk(1, 1, 2, good[30:])}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &settingsServer{fakeServer: newFakeServer("secondary", newOwnership(), nil), settings: settingsAt(1, time.Now().Add(-time.Hour), "old")}
			p, err := New(testConfig(fsm.Secondary, "127.0.0.1:1"), srv, zaptest.NewLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "server refuses the content" {
				srv.refuse = fmt.Errorf("invalid scopes")
			}
			for _, m := range tt.msgs {
				p.onReplicate(m)
			}
			if got := p.Status().Counters.SettingsRefused; got != tt.refused {
				t.Fatalf("refused %d, want %d", got, tt.refused)
			}
			wantApplied := 0
			if tt.refused == 0 {
				wantApplied = 1
			}
			if srv.applied != wantApplied {
				t.Fatalf("ApplySettings ran %d times, want %d", srv.applied, wantApplied)
			}
		})
	}
}

// FuzzReplicateChunks: no sequence of chunk bytes makes the receiver panic
// or apply settings whose hash does not match.
func FuzzReplicateChunks(f *testing.F) {
	f.Add(encodeEnvelope(settingsAt(1, time.Unix(5, 0), "x"), false), uint32(1))
	f.Add([]byte{}, uint32(0))
	f.Fuzz(func(t *testing.T, payload []byte, count uint32) {
		srv := &settingsServer{fakeServer: newFakeServer("secondary", newOwnership(), nil)}
		p, err := New(testConfig(fsm.Secondary, "127.0.0.1:1"), srv, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := uint32(0); i < 4 && len(payload) > 0; i++ {
			d := binary.BigEndian.AppendUint32(nil, i)
			d = binary.BigEndian.AppendUint32(d, count)
			m := &wire.Message{Type: msgReplicate, XID: 7}
			m.Add(wire.OptVendorOptions, append(d, payload...))
			p.onReplicate(m)
		}
		if srv.applied > 0 && sha256.Sum256(srv.settings.Data) != srv.settings.Version.Hash {
			t.Fatal("applied settings whose hash does not match")
		}
	})
}
