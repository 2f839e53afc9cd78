package fsm

import (
	"errors"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/failover/wire"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const mclt = time.Hour

func at(d time.Duration) time.Time { return t0.Add(d) }

func baseCfg(role Role) Config {
	return Config{Role: role, MCLT: mclt, SwitchoverInterval: 10 * time.Minute, StartupWait: 5 * time.Second}
}

// step is one event at an offset from t0; want* are checked after it.
type step struct {
	ev         Event
	at         time.Duration
	want       State
	wantReq    bool // SendUpdReq
	wantReqAll bool // SendUpdReqAll
	wantErr    error
	wantAlarm  bool
}

func up(d time.Duration, want State) step { return step{ev: Event{Kind: EvCommsUp}, at: d, want: want} }
func down(d time.Duration, want State) step {
	return step{ev: Event{Kind: EvCommsDown}, at: d, want: want}
}
func partner(d time.Duration, ps State, want State) step {
	return step{ev: Event{Kind: EvPartnerState, PartnerState: ps, PartnerSince: at(d)}, at: d, want: want}
}
func tick(d time.Duration, want State) step { return step{ev: Event{Kind: EvTick}, at: d, want: want} }

func rec(s State, since, lastOp time.Duration) *Persisted {
	return &Persisted{State: s, Since: at(since), LastOperational: at(lastOp)}
}

func TestTransitions(t *testing.T) {
	const (
		startup = wire.StateStartup
		normal  = wire.StateNormal
		ci      = wire.StateCommunicationsInterrupted
		pd      = wire.StatePartnerDown
		pc      = wire.StatePotentialConflict
		recover = wire.StateRecover
		rw      = wire.StateRecoverWait
		rd      = wire.StateRecoverDone
		ri      = wire.StateResolutionInterrupted
		cd      = wire.StateConflictDone
	)
	tests := []struct {
		name  string
		role  Role
		rec   *Persisted
		steps []step
	}{
		{"first start: recover, updreqall, no wait, normal", Primary, nil, []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: recover, PartnerSince: at(0)}, want: recover, wantReqAll: true},
			{ev: Event{Kind: EvUpdDone}, at: time.Second, want: rd},
			partner(2*time.Second, rd, normal),
		}},
		{"first start, partner already normal: recover-done straight to normal", Secondary, nil, []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: normal}, want: recover, wantReqAll: true},
			{ev: Event{Kind: EvUpdDone}, at: time.Second, want: normal},
		}},
		{"restart from normal resumes through comms-interrupted", Primary, rec(normal, -time.Hour, -time.Minute), []step{
			up(0, startup),
			partner(time.Second, ci, normal),
		}},
		{"startup timeout takes the previous state", Primary, rec(normal, -time.Hour, -time.Minute), []step{
			tick(4*time.Second, startup),
			tick(5*time.Second, ci),
		}},
		{"startup flag of the partner blocks transitions", Primary, rec(pd, -time.Hour, -time.Second), []step{
			tick(5*time.Second, pd),
			up(6*time.Second, pd),
			{ev: Event{Kind: EvPartnerState, PartnerState: normal, PartnerStartup: true}, at: 7 * time.Second, want: pd},
		}},
		{"normal loses comms then switchover to partner-down", Primary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			down(time.Minute, ci),
			tick(time.Minute+9*time.Minute, ci),
			tick(time.Minute+10*time.Minute, pd),
		}},
		{"no switchover interval: comms-interrupted waits for the command", Primary, rec(ci, -time.Hour, 0), []step{
			tick(5*time.Second, ci),
			tick(48*time.Hour, ci),
			{ev: Event{Kind: EvPartnerDown}, at: 49 * time.Hour, want: pd},
		}},
		{"partner-down refused while the partner is reachable in normal", Primary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			{ev: Event{Kind: EvPartnerDown}, at: time.Second, want: normal, wantErr: ErrNotAllowed},
		}},
		{"survivor in partner-down meets a recovering partner and returns to normal", Primary, rec(pd, -time.Hour, -time.Second), []step{
			up(0, startup),
			partner(0, recover, pd),
			partner(time.Second, rw, pd),
			partner(2*time.Second, rd, normal),
		}},
		{"returning server sees partner-down later than its last operation: recover", Secondary, rec(normal, -2*time.Hour, -45*time.Minute), []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: pd, PartnerSince: at(-30 * time.Minute)}, want: recover, wantReqAll: true},
			{ev: Event{Kind: EvPartnerState, PartnerState: pd, PartnerSince: at(-30 * time.Minute)}, want: recover, wantReqAll: false},
			{ev: Event{Kind: EvUpdDone}, at: time.Second, want: rw},
			tick(10*time.Minute, rw),
			tick(15*time.Minute-time.Second, rw),
			tick(15*time.Minute, rd),
			partner(15*time.Minute+time.Second, normal, normal),
		}},
		{"returning server that ran after the partner went down: potential-conflict", Primary, rec(normal, -2*time.Hour, -time.Minute), []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: pd, PartnerSince: at(-time.Hour)}, want: pc, wantReq: true, wantAlarm: true},
			{ev: Event{Kind: EvUpdDone}, at: time.Second, want: cd},
			partner(2*time.Second, normal, normal),
		}},
		{"secondary in potential-conflict asks after primary's conflict-done", Secondary, rec(pd, -time.Hour, -time.Second), []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: pd}, want: pc, wantAlarm: true},
			{ev: Event{Kind: EvPartnerState, PartnerState: cd}, at: time.Second, want: pc, wantReq: true},
			{ev: Event{Kind: EvUpdDone}, at: 2 * time.Second, want: normal},
		}},
		{"potential-conflict loses comms: resolution-interrupted, back to potential-conflict", Primary, rec(pd, -time.Hour, -time.Second), []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: normal}, want: pc, wantReq: true, wantAlarm: true},
			{ev: Event{Kind: EvCommsDown}, at: time.Second, want: ri, wantAlarm: true},
			{ev: Event{Kind: EvPartnerDown}, at: 2 * time.Second, want: pd},
		}},
		{"resolution-interrupted regains comms", Primary, rec(pc, -time.Hour, -time.Second), []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: pc}, want: pc, wantReq: true, wantAlarm: true},
		}},
		{"normal sees partner shutdown: partner-down", Primary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			partner(time.Second, wire.StateShutdown, pd),
		}},
		{"normal sees partner paused: comms-interrupted", Secondary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			partner(time.Second, wire.StatePaused, ci),
		}},
		{"normal sees partner jump to partner-down: via comms-interrupted to potential-conflict", Primary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			{ev: Event{Kind: EvPartnerState, PartnerState: pd}, at: time.Second, want: pc, wantReq: true, wantAlarm: true},
		}},
		{"comms-interrupted with recovering partner stays", Primary, rec(ci, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, recover, ci),
			partner(time.Second, rd, normal),
		}},
		{"recover-wait timer runs without comms", Secondary, rec(recover, -time.Hour, -10*time.Minute), []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: pd, PartnerSince: at(-20 * time.Minute)}, want: recover, wantReqAll: true},
			{ev: Event{Kind: EvUpdDone}, at: time.Second, want: rw},
			down(2*time.Second, rw),
			tick(50*time.Minute, rd),
			down(51*time.Minute, rd),
		}},
		{"fresh server alone: recover, operator may declare partner-down", Primary, nil, []step{
			tick(5*time.Second, recover),
			{ev: Event{Kind: EvPartnerDown}, at: 6 * time.Second, want: pd},
		}},
		{"recovering server with the partner connected: partner-down refused", Secondary, nil, []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: pd}, want: recover, wantReqAll: true},
			{ev: Event{Kind: EvPartnerDown}, at: time.Second, want: recover, wantErr: ErrNotAllowed},
		}},
		{"shutdown", Primary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			{ev: Event{Kind: EvShutdown}, at: time.Second, want: wire.StateShutdown},
		}},
		{"pause for a restart", Secondary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			{ev: Event{Kind: EvPause}, at: time.Second, want: wire.StatePaused},
		}},
		{"back from a clean shutdown the partner acknowledged in the same second: recover, no conflict", Primary,
			&Persisted{State: wire.StateShutdown, Since: at(0).Add(400 * time.Millisecond), LastOperational: at(2 * time.Second)}, []step{
				up(time.Minute, startup),
				{ev: Event{Kind: EvPartnerState, PartnerState: pd, PartnerSince: at(0)}, at: time.Minute, want: recover, wantReqAll: true},
			}},
		{"back from a crash with the partner down since the same second: potential conflict", Primary,
			rec(normal, -time.Hour, 400*time.Millisecond), []step{
				up(time.Minute, startup),
				{ev: Event{Kind: EvPartnerState, PartnerState: pd, PartnerSince: at(0)}, at: time.Minute, want: pc, wantReq: true, wantAlarm: true},
			}},
		{"partner pausing: communications-interrupted, not partner-down", Primary, rec(normal, -time.Hour, 0), []step{
			up(0, startup),
			partner(0, normal, normal),
			partner(time.Second, wire.StatePaused, ci),
		}},
		{"unknown partner state is an error", Primary, nil, []step{
			up(0, startup),
			{ev: Event{Kind: EvPartnerState, PartnerState: 99}, want: startup, wantErr: errAny},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(baseCfg(tt.role), tt.rec, t0)
			if tt.name == "no switchover interval: comms-interrupted waits for the command" {
				m.cfg.SwitchoverInterval = 0
			}
			for i, s := range tt.steps {
				s.ev.Now = at(s.at)
				act, err := m.Handle(s.ev)
				switch {
				case s.wantErr == errAny && err == nil, s.wantErr != errAny && !errors.Is(err, s.wantErr):
					t.Fatalf("step %d %s: err %v, want %v", i, s.ev.Kind, err, s.wantErr)
				}
				if m.State() != s.want {
					t.Fatalf("step %d %s (partner %s): state %s, want %s", i, s.ev.Kind, s.ev.PartnerState, m.State(), s.want)
				}
				if act.SendUpdReq != s.wantReq || act.SendUpdReqAll != s.wantReqAll {
					t.Fatalf("step %d %s: updreq %v updreqall %v, want %v %v", i, s.ev.Kind, act.SendUpdReq, act.SendUpdReqAll, s.wantReq, s.wantReqAll)
				}
				if (act.Alarm != "") != s.wantAlarm {
					t.Fatalf("step %d %s: alarm %q, want alarm %v", i, s.ev.Kind, act.Alarm, s.wantAlarm)
				}
			}
		})
	}
}

var errAny = errors.New("any error")

func TestPolicy(t *testing.T) {
	lb := func(role Role) *Machine { return New(baseCfg(role), nil, t0) }
	force := func(m *Machine, s State, since time.Time) *Machine {
		m.startup, m.state, m.since = false, s, since
		return m
	}
	count := func(b [256]bool) (n int) {
		for _, o := range b {
			if o {
				n++
			}
		}
		return n
	}
	tests := []struct {
		name     string
		m        *Machine
		now      time.Time
		answer   Answer
		alloc    Allocate
		lbOn     bool
		nBuckets int
	}{
		{"startup silent", lb(Primary), t0, AnswerNone, AllocateNone, false, 0},
		{"normal primary 70%", force(lb(Primary), wire.StateNormal, t0), t0, AnswerAll, AllocateOwn, true, 179},
		{"normal secondary 70%", force(lb(Secondary), wire.StateNormal, t0), t0, AnswerAll, AllocateOwn, true, 77},
		{"comms-interrupted answers all from own share", force(lb(Secondary), wire.StateCommunicationsInterrupted, t0), t0, AnswerAll, AllocateOwn, false, 256},
		{"partner-down before MCLT", force(lb(Primary), wire.StatePartnerDown, t0), at(mclt - time.Second), AnswerAll, AllocateOwn, false, 256},
		{"partner-down after MCLT", force(lb(Primary), wire.StatePartnerDown, t0), at(mclt), AnswerAll, AllocateAll, false, 256},
		{"recover-done renews only", force(lb(Primary), wire.StateRecoverDone, t0), t0, AnswerRenewOnly, AllocateNone, false, 256},
		{"potential-conflict silent", force(lb(Primary), wire.StatePotentialConflict, t0), t0, AnswerNone, AllocateNone, false, 0},
		{"hot-standby active in normal", force(New(Config{Role: Primary, Mode: HotStandby, Active: true, MCLT: mclt}, nil, t0), wire.StateNormal, t0), t0, AnswerAll, AllocateOwn, false, 256},
		{"hot-standby standby in normal", force(New(Config{Role: Secondary, Mode: HotStandby, MCLT: mclt}, nil, t0), wire.StateNormal, t0), t0, AnswerAll, AllocateOwn, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.m.Policy(tt.now, loadbalance.SplitBuckets(70))
			if p.Answer != tt.answer || p.Allocate != tt.alloc || p.LoadBalanced != tt.lbOn || count(p.Buckets) != tt.nBuckets {
				t.Fatalf("policy %+v (buckets %d), want answer %d alloc %d lb %v buckets %d", p.Answer, count(p.Buckets), tt.answer, tt.alloc, tt.lbOn, tt.nBuckets)
			}
		})
	}
}

func TestPersistedRoundTrip(t *testing.T) {
	p := Persisted{State: wire.StatePartnerDown, Since: at(time.Hour), LastOperational: at(2 * time.Hour)}
	got, err := UnmarshalPersisted(p.Marshal())
	if err != nil || got.State != p.State || !got.Since.Equal(p.Since) || !got.LastOperational.Equal(p.LastOperational) {
		t.Fatalf("round trip %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {1}, append([]byte{2}, make([]byte, 17)...), append([]byte{1, byte(wire.StateStartup)}, make([]byte, 16)...)} {
		if _, err := UnmarshalPersisted(bad); err == nil {
			t.Errorf("UnmarshalPersisted(%x) accepted", bad)
		}
	}
}

func TestStartupWireState(t *testing.T) {
	m := New(baseCfg(Primary), rec(wire.StatePartnerDown, 0, 0), t0)
	s, flag := m.WireState()
	if s != wire.StatePartnerDown || !flag {
		t.Fatalf("WireState in STARTUP = %s, %v", s, flag)
	}
	if got := m.Persisted(t0).State; got != wire.StatePartnerDown {
		t.Fatalf("persisted during STARTUP = %s", got)
	}
}
