package fsm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/failover/wire"
)

// State is a failover server state, numbered as on the wire.
type State = wire.ServerState

// Role is the server's role in the pair.
type Role uint8

// The roles.
const (
	Primary Role = iota
	Secondary
)

// String returns "primary" or "secondary".
func (r Role) String() string {
	if r == Primary {
		return "primary"
	}
	return "secondary"
}

// Mode is the failover mode.
type Mode uint8

// The modes.
const (
	LoadBalance Mode = iota
	HotStandby
)

// Config holds the machine's fixed parameters.
type Config struct {
	Role               Role
	Mode               Mode
	Active             bool          // hot-standby: this server is the active one
	MCLT               time.Duration // maximum client lead time
	SwitchoverInterval time.Duration // COMMUNICATIONS-INTERRUPTED to PARTNER-DOWN; 0: only by command
	StartupWait        time.Duration // longest time in STARTUP without contact
}

// EventKind says what happened.
type EventKind uint8

// The events.
const (
	EvCommsUp      EventKind = iota + 1 // connection established and authenticated
	EvCommsDown                         // connection lost or timed out
	EvPartnerState                      // a STATE (or CONNECT/CONNECTACK state) from the partner
	EvUpdDone                           // UPDDONE received for our UPDREQ/UPDREQALL
	EvTick                              // a timer came due
	EvPartnerDown                       // operator's partner-down command
	EvShutdown                          // we are stopping for a long time
	EvPause                             // we are stopping briefly (a restart)
)

var eventNames = map[EventKind]string{
	EvCommsUp: "comms-up", EvCommsDown: "comms-down", EvPartnerState: "partner-state", EvUpdDone: "upddone",
	EvTick: "tick", EvPartnerDown: "partner-down-command", EvShutdown: "shutdown",
	EvPause: "pause",
}

func (k EventKind) String() string { return eventNames[k] }

// Event is one input. Now is when it happened.
type Event struct {
	Kind           EventKind
	Now            time.Time
	PartnerState   State     // EvPartnerState
	PartnerStartup bool      // EvPartnerState: the partner's STARTUP flag
	PartnerSince   time.Time // EvPartnerState: the partner's start-time-of-state
}

// Actions are what the engine must do after Handle.
type Actions struct {
	Changed       bool   // the state changed: persist, send STATE, reapply the serving policy
	SendUpdReq    bool   // ask the partner for the updates we lack
	SendUpdReqAll bool   // ask the partner for every binding
	Alarm         string // something an operator must hear about ("" none)
}

// Persisted is the durable part of the machine.
type Persisted struct {
	State           State     // the state to resume from (never STARTUP)
	Since           time.Time // when State began
	LastOperational time.Time // last time this server was known running in failover
}

const persistedVersion = 1

// Marshal encodes p: version, state, since, last operational (Unix ns).
func (p Persisted) Marshal() []byte {
	b := []byte{persistedVersion, byte(p.State)}
	b = binary.BigEndian.AppendUint64(b, uint64(p.Since.UnixNano()))
	return binary.BigEndian.AppendUint64(b, uint64(p.LastOperational.UnixNano()))
}

// UnmarshalPersisted decodes Marshal's output.
func UnmarshalPersisted(b []byte) (Persisted, error) {
	if len(b) != 18 || b[0] != persistedVersion {
		return Persisted{}, fmt.Errorf("failover state record: %d bytes, version %d: want 18 bytes, version %d", len(b), firstByte(b), persistedVersion)
	}
	p := Persisted{
		State:           State(b[1]),
		Since:           time.Unix(0, int64(binary.BigEndian.Uint64(b[2:]))),
		LastOperational: time.Unix(0, int64(binary.BigEndian.Uint64(b[10:]))),
	}
	if !p.State.Known() || p.State == wire.StateStartup {
		return Persisted{}, fmt.Errorf("failover state record: state %d is not a resumable state", b[1])
	}
	return p, nil
}

func firstByte(b []byte) int {
	if len(b) == 0 {
		return -1
	}
	return int(b[0])
}

// ErrNotAllowed is returned for an operator command the current state
// does not permit.
var ErrNotAllowed = errors.New("not allowed in the current failover state")

// Machine is one server's failover state.
type Machine struct {
	cfg   Config
	state State
	since time.Time

	startup        bool  // in STARTUP; state holds STARTUP, prev the state to resume
	prev           State // previous-state during STARTUP
	startupBegan   time.Time
	lastOp         time.Time // time of failure / last operational, for RECOVER-WAIT
	stoppedCleanly bool      // the stored state was SHUTDOWN or PAUSED: lastOp is exactly when we stopped serving
	comms          bool
	partner        State
	partnerKnown   bool
	partnerStartup bool
	requested      bool // UPDREQ/UPDREQALL sent on this connection
}

// New returns a machine in STARTUP. rec is the persisted record, nil when
// stable storage has none (first start or lost storage).
func New(cfg Config, rec *Persisted, now time.Time) *Machine {
	m := &Machine{cfg: cfg, state: wire.StateStartup, since: now, startup: true, startupBegan: now}
	if rec == nil {
		m.prev = wire.StateRecover // §9.3.2 step 1: time of failure unknown (zero)
	} else {
		m.prev, m.lastOp = commsFailed(rec.State), rec.LastOperational
		if rec.State == wire.StateShutdown || rec.State == wire.StatePaused {
			// We stopped serving when we entered that state, and told
			// the partner: that is the time of failure.
			m.prev, m.lastOp, m.stoppedCleanly = wire.StateCommunicationsInterrupted, rec.Since, true
		}
	}
	return m
}

// commsFailed is §9.3.2 step 2 and the communications-failed arcs of
// Figure 9.2-1.
func commsFailed(s State) State {
	switch s {
	case wire.StateNormal:
		return wire.StateCommunicationsInterrupted
	case wire.StatePotentialConflict:
		return wire.StateResolutionInterrupted
	}
	return s
}

// State returns the current state.
func (m *Machine) State() State { return m.state }

// Since returns when the current state began.
func (m *Machine) Since() time.Time { return m.since }

// Startup reports whether the machine is in STARTUP.
func (m *Machine) Startup() bool { return m.startup }

// WireState returns the state to put in a STATE message: during STARTUP
// the previous state, with the STARTUP flag (§9.3.1).
func (m *Machine) WireState() (State, bool) {
	if m.startup {
		return m.prev, true
	}
	return m.state, false
}

// Partner returns the partner's last known state and whether it is known.
func (m *Machine) Partner() (State, bool) { return m.partner, m.partnerKnown }

// Persisted returns the record to store. During STARTUP it is the
// previous state, so a restart in STARTUP resumes the same way.
func (m *Machine) Persisted(now time.Time) Persisted {
	s, since := m.state, m.since
	if m.startup {
		s = m.prev
	}
	return Persisted{State: s, Since: since, LastOperational: now}
}

func (m *Machine) enter(s State, now time.Time, act *Actions) {
	if s == m.state && !m.startup {
		return
	}
	m.startup = false
	m.state, m.since = s, now
	act.Changed = true
	m.requested = false
	switch s {
	case wire.StatePotentialConflict:
		act.Alarm = "failover: POTENTIAL-CONFLICT: both servers may have served the same addresses; resolving"
		if m.comms && m.cfg.Role == Primary {
			act.SendUpdReq, m.requested = true, true
		}
	case wire.StateResolutionInterrupted:
		act.Alarm = "failover: RESOLUTION-INTERRUPTED: conflict resolution lost contact with the partner"
	case wire.StateRecoverWait:
		if m.lastOp.IsZero() || !now.Before(m.lastOp.Add(m.cfg.MCLT)) {
			m.state = wire.StateRecoverDone // §9.6.2: nothing to wait for
		}
	}
}

// Handle applies one event and returns the actions to take.
func (m *Machine) Handle(ev Event) (Actions, error) {
	var act Actions
	now := ev.Now
	switch ev.Kind {
	case EvCommsUp:
		m.comms, m.requested = true, false
	case EvCommsDown:
		m.comms, m.partnerKnown, m.requested = false, false, false
		if !m.startup {
			m.enter(commsFailed(m.state), now, &act)
		}
	case EvPartnerState:
		if !ev.PartnerState.Known() {
			return act, fmt.Errorf("partner sent unknown server state %d", ev.PartnerState)
		}
		m.onPartnerState(ev, &act)
	case EvUpdDone:
		m.onUpdDone(now, &act)
	case EvTick:
		m.onTick(now, &act)
	case EvPartnerDown:
		switch {
		case m.startup:
			return act, fmt.Errorf("partner-down in STARTUP: %w (wait for startup to end)", ErrNotAllowed)
		case m.state == wire.StatePartnerDown:
		case m.state == wire.StateCommunicationsInterrupted, m.state == wire.StateResolutionInterrupted:
			m.enter(wire.StatePartnerDown, now, &act)
		case !m.comms && (m.state == wire.StateNormal || m.state == wire.StateRecover ||
			m.state == wire.StateRecoverWait || m.state == wire.StateRecoverDone):
			// A server that cannot reach its partner may be told it is
			// alone, even one still recovering (a newly commissioned
			// server, §9.3.2): the operator vouches the partner is down.
			m.enter(wire.StatePartnerDown, now, &act)
		default:
			return act, fmt.Errorf("partner-down in %s with the partner reachable: %w", m.state, ErrNotAllowed)
		}
	case EvShutdown:
		m.enter(wire.StateShutdown, now, &act)
	case EvPause:
		m.enter(wire.StatePaused, now, &act)
	default:
		return act, fmt.Errorf("unknown failover event %d", ev.Kind)
	}
	return act, nil
}

func (m *Machine) onPartnerState(ev Event, act *Actions) {
	now, ps := ev.Now, ev.PartnerState
	m.partner, m.partnerKnown, m.partnerStartup = ps, true, ev.PartnerStartup
	if !m.comms {
		return
	}
	if m.startup {
		// §9.3.2 step 5: resume the previous state, or RECOVER /
		// POTENTIAL-CONFLICT when the partner took over.
		next := m.prev
		recovering := next == wire.StateRecover || next == wire.StateRecoverWait || next == wire.StateRecoverDone
		if ps == wire.StatePartnerDown && !ev.PartnerStartup && !recovering {
			// After a clean stop the partner's PARTNER-DOWN followed
			// our STATE, but its time has whole seconds only: the same
			// second as our stop counts as after it.
			tookOver := ev.PartnerSince.After(m.lastOp) ||
				m.stoppedCleanly && !ev.PartnerSince.Before(m.lastOp.Truncate(time.Second))
			if tookOver {
				next = wire.StateRecover
			} else {
				next = wire.StatePotentialConflict
			}
		}
		m.enter(next, now, act)
	}
	if ev.PartnerStartup {
		return // §9.4.3: no transitions on a partner still in STARTUP
	}
	switch m.state {
	case wire.StateNormal:
		switch ps {
		case wire.StateNormal, wire.StateCommunicationsInterrupted, wire.StateRecoverDone, wire.StateConflictDone:
		case wire.StateShutdown:
			m.enter(wire.StatePartnerDown, now, act)
		default:
			// §9.8.4: an unexpected partner change goes through
			// COMMUNICATIONS-INTERRUPTED and is re-evaluated there.
			m.enter(wire.StateCommunicationsInterrupted, now, act)
			m.fromCommsInterrupted(ps, now, act)
		}
	case wire.StateCommunicationsInterrupted:
		m.fromCommsInterrupted(ps, now, act)
	case wire.StatePartnerDown:
		switch ps {
		case wire.StateNormal, wire.StateCommunicationsInterrupted, wire.StatePartnerDown,
			wire.StatePotentialConflict, wire.StateResolutionInterrupted, wire.StateConflictDone:
			m.enter(wire.StatePotentialConflict, now, act)
		case wire.StateRecoverDone:
			m.enter(wire.StateNormal, now, act)
		}
	case wire.StateRecover:
		switch ps {
		case wire.StatePotentialConflict, wire.StateResolutionInterrupted, wire.StateConflictDone:
			m.enter(wire.StatePotentialConflict, now, act)
		default:
			if !m.requested {
				act.SendUpdReqAll, m.requested = true, true
			}
		}
	case wire.StateRecoverDone:
		if ps == wire.StateNormal || ps == wire.StateRecoverDone {
			m.enter(wire.StateNormal, now, act)
		}
	case wire.StatePotentialConflict:
		if m.cfg.Role == Primary && !m.requested {
			act.SendUpdReq, m.requested = true, true
		}
		if m.cfg.Role == Secondary && ps == wire.StateConflictDone && !m.requested {
			act.SendUpdReq, m.requested = true, true // §9.10.3
		}
	case wire.StateResolutionInterrupted:
		m.enter(wire.StatePotentialConflict, now, act)
		if m.cfg.Role == Secondary && ps == wire.StateConflictDone {
			act.SendUpdReq, m.requested = true, true
		}
	case wire.StateConflictDone:
		if ps == wire.StateNormal {
			m.enter(wire.StateNormal, now, act)
		}
	case wire.StateShutdown:
		if ps == wire.StatePartnerDown {
			m.lastOp = time.Time{} // §9.14.2: come back through RECOVER
		}
	}
}

// fromCommsInterrupted is §9.9.3's table.
func (m *Machine) fromCommsInterrupted(ps State, now time.Time, act *Actions) {
	switch ps {
	case wire.StateNormal, wire.StateCommunicationsInterrupted, wire.StateRecoverDone:
		m.enter(wire.StateNormal, now, act)
	case wire.StatePartnerDown, wire.StatePotentialConflict, wire.StateConflictDone, wire.StateResolutionInterrupted:
		m.enter(wire.StatePotentialConflict, now, act)
	case wire.StateShutdown:
		m.enter(wire.StatePartnerDown, now, act)
	}
}

func (m *Machine) onUpdDone(now time.Time, act *Actions) {
	switch m.state {
	case wire.StateRecover:
		m.enter(wire.StateRecoverWait, now, act)
		if m.state == wire.StateRecoverDone && m.comms && m.partnerKnown &&
			(m.partner == wire.StateNormal || m.partner == wire.StateRecoverDone) {
			m.enter(wire.StateNormal, now, act)
		}
	case wire.StatePotentialConflict:
		if m.cfg.Role == Primary {
			m.enter(wire.StateConflictDone, now, act)
		} else {
			m.enter(wire.StateNormal, now, act)
		}
	}
}

func (m *Machine) onTick(now time.Time, act *Actions) {
	switch {
	case m.startup:
		if !now.Before(m.startupBegan.Add(m.cfg.StartupWait)) {
			m.enter(m.prev, now, act)
			if m.state == wire.StateRecoverWait {
				m.onTick(now, act)
			}
		}
	case m.state == wire.StateCommunicationsInterrupted:
		if m.cfg.SwitchoverInterval > 0 && !now.Before(m.since.Add(m.cfg.SwitchoverInterval)) {
			m.enter(wire.StatePartnerDown, now, act)
		}
	case m.state == wire.StateRecoverWait:
		if !now.Before(m.lastOp.Add(m.cfg.MCLT)) {
			m.enter(wire.StateRecoverDone, now, act)
		}
	}
}

// NextDeadline returns when the machine next needs an EvTick (zero: none).
// The serving policy's MCLT step in PARTNER-DOWN counts too.
func (m *Machine) NextDeadline() time.Time {
	switch {
	case m.startup:
		return m.startupBegan.Add(m.cfg.StartupWait)
	case m.state == wire.StateCommunicationsInterrupted && m.cfg.SwitchoverInterval > 0:
		return m.since.Add(m.cfg.SwitchoverInterval)
	case m.state == wire.StateRecoverWait:
		return m.lastOp.Add(m.cfg.MCLT)
	case m.state == wire.StatePartnerDown:
		return m.since.Add(m.cfg.MCLT)
	}
	return time.Time{}
}
