package fsm

import (
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/wire"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// Answer says which client messages the server may answer.
type Answer uint8

// The answer policies.
const (
	AnswerNone      Answer = iota // silent (STARTUP, RECOVER, RECOVER-WAIT, POTENTIAL-CONFLICT, PAUSED, SHUTDOWN)
	AnswerRenewOnly               // only RENEWING/REBINDING requests (RECOVER-DONE, §9.7.1)
	AnswerAll                     // every client its buckets let it see
)

// Allocate says which free addresses the server may give to new clients.
type Allocate uint8

// The allocation policies.
const (
	AllocateNone Allocate = iota // no new bindings
	AllocateOwn                  // only this server's share (primary: FREE, secondary: BACKUP)
	AllocateAll                  // its own and the partner's share (PARTNER-DOWN after MCLT)
)

// ServingPolicy is what the DHCP side may do in the current state.
type ServingPolicy struct {
	Answer       Answer
	Allocate     Allocate
	LoadBalanced bool              // the RFC 3074 buckets filter clients (NORMAL in load-balance mode)
	Buckets      [loadBalance]bool // buckets this server answers
	// Own is the free-address state that is this server's share:
	// lease.StateFree on the primary, lease.StateBackup on the secondary.
	// With AllocateOwn only those may be handed out; with AllocateAll both.
	Own lease.State
	// PrimaryShare is the percentage of free addresses that are the
	// primary's (FREE); the rest are the secondary's (BACKUP). The engine
	// fills it in: the split in load-balance mode, the reserve in
	// hot-standby. The allocator divides its pools by it.
	PrimaryShare int
}

const loadBalance = loadbalance.Buckets

// Policy returns the serving policy at now. primaryBuckets are the buckets
// the primary owns in NORMAL (load-balance mode; the secondary owns the
// rest), e.g. loadbalance.SplitBuckets(50).
func (m *Machine) Policy(now time.Time, primaryBuckets [loadBalance]bool) ServingPolicy {
	p := ServingPolicy{Own: lease.StateFree}
	if m.cfg.Role == Secondary {
		p.Own = lease.StateBackup
	}
	all := loadbalance.AllBuckets()
	switch m.state {
	case wire.StateNormal:
		p.Answer, p.Allocate = AnswerAll, AllocateOwn
		if m.cfg.Mode == HotStandby {
			if m.cfg.Active {
				p.Buckets = all
			}
			return p
		}
		p.LoadBalanced = true
		p.Buckets = primaryBuckets
		if m.cfg.Role == Secondary {
			p.Buckets = loadbalance.Complement(p.Buckets)
		}
	case wire.StateCommunicationsInterrupted, wire.StateResolutionInterrupted, wire.StateConflictDone:
		p.Answer, p.Allocate, p.Buckets = AnswerAll, AllocateOwn, all
	case wire.StatePartnerDown:
		p.Answer, p.Allocate, p.Buckets = AnswerAll, AllocateOwn, all
		if !now.Before(m.since.Add(m.cfg.MCLT)) {
			p.Allocate = AllocateAll
		}
	case wire.StateRecoverDone:
		p.Answer, p.Buckets = AnswerRenewOnly, all
	}
	return p
}
