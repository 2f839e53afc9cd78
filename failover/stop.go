package failover

import (
	"time"

	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap"
)

// stopCleanly tells the partner that this server stops (draft-12 §9:
// SHUTDOWN, or PAUSED with StopPaused), so that a stop does not
// look like a crash: the state is entered and stored, STATE is sent, and
// the engine waits up to StopWait for the partner to answer with its own
// new state (PARTNER-DOWN after SHUTDOWN, COMMUNICATIONS-INTERRUPTED after
// PAUSED) and for the updates in flight to be acknowledged. It then sends
// DISCONNECT and closes the connection. It runs on the engine goroutine
// when Run's context ends.
func (p *Peer) stopCleanly() {
	now := p.now()
	ev, target := fsm.EvShutdown, wire.StateShutdown
	if p.cfg.StopPaused {
		ev, target = fsm.EvPause, wire.StatePaused
	}
	p.stopping = true // no new BNDUPDs from here on
	act, _ := p.machine.Handle(fsm.Event{Kind: ev, Now: now})
	p.afterEvent(now, act) // stores the state, sends STATE, stops serving
	if p.cur == nil {
		p.log.Info("failover stopped", zap.Stringer("state", target), zap.String("partner", "not connected"))
		return
	}
	timer := time.NewTimer(p.cfg.StopWait)
	defer timer.Stop()
wait:
	for p.cur != nil && !p.partnerSettled() {
		select {
		case msg, ok := <-p.cur.in:
			if !ok {
				p.dropLink("reader stopped")
				break wait
			}
			p.receive(msg)
		case <-timer.C:
			break wait
		}
	}
	partner, _ := p.machine.Partner()
	if l := p.cur; l != nil {
		m := &wire.Message{Type: wire.MsgDisconnect}
		m.Add(wire.OptMessage, []byte("server stopping ("+target.String()+")"))
		p.send(m)
		p.cur = nil
		p.releaseLink(l)
		go func() {
			for range l.in {
			}
		}()
	}
	_ = fsm.Save(p.deps, p.machine.Persisted(p.now()))
	p.log.Info("failover stopped", zap.Stringer("state", target), zap.Stringer("partner_state", partner),
		zap.Int("updates_unacked", len(p.inflight)), zap.Int("updates_pending", p.queue.len()))
}

// partnerSettled says whether the partner has answered our SHUTDOWN or
// PAUSED with its new state and acknowledged every update in flight.
func (p *Peer) partnerSettled() bool {
	ps, ok := p.machine.Partner()
	if !ok || len(p.inflight) > 0 {
		return false
	}
	if p.cfg.StopPaused {
		return ps == wire.StateCommunicationsInterrupted || ps == wire.StatePartnerDown
	}
	return ps == wire.StatePartnerDown
}
