package failover

import (
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap"
)

// maxMovePerRound bounds one balancing round's transfers.
const maxMovePerRound = 1024

// secondaryShare is the secondary's target share of free addresses, in
// percent: the complement of the split in load-balance mode; in
// hot-standby the reserve when the secondary is the standby, the rest when
// it is the active server.
func (p *Peer) secondaryShare() int {
	if p.cfg.Mode == fsm.LoadBalance {
		if p.shareFloor >= 0 {
			return 100 - p.shareFloor
		}
		return 100 - shareOf(p.primaryBuckets)
	}
	secondaryIsStandby := (p.cfg.Role == fsm.Secondary) != p.cfg.Active
	if secondaryIsStandby {
		return p.cfg.ReservePercent
	}
	return 100 - p.cfg.ReservePercent
}

// balance moves free addresses so the secondary holds its share. Only the
// owner of a free address gives it away, and it stops using it first
// (FreePools.GiveFree): the primary turns FREE into BACKUP, the secondary
// BACKUP into FREE; the records then go to the partner as BNDUPDs. No
// address is ever allocatable on both sides.
func (p *Peer) balance(now time.Time) {
	pools, ok := p.deps.(FreePools)
	if !ok || p.machine.State() != wire.StateNormal || p.cur == nil {
		return
	}
	var free, backup int
	pools.ForEachFree(func(_ netip.Addr, owner lease.State) bool {
		if owner == lease.StateBackup {
			backup++
		} else {
			free++
		}
		return true
	})
	total := free + backup
	if total == 0 {
		return
	}
	target := total * p.secondaryShare() / 100
	tolerance := max(1, total/50)
	var n int
	switch {
	case p.cfg.Role == fsm.Primary && target-backup >= tolerance:
		n = min(target-backup, free, maxMovePerRound)
	case p.cfg.Role == fsm.Secondary && backup-target > tolerance:
		n = min(backup-target, maxMovePerRound)
	default:
		return
	}
	recs, err := pools.GiveFree(n)
	if err != nil {
		p.log.Warn("failover: could not give free addresses to the partner", zap.Int("wanted", n), zap.Error(err))
	}
	for _, l := range recs {
		p.queue.push(l, 0)
	}
	p.count(func(c *Counters) { c.AddressesMoved += uint64(len(recs)) })
	p.pump(now)
	p.log.Info("failover: balanced free addresses", zap.Int("free", free), zap.Int("backup", backup),
		zap.Int("target_backup", target), zap.Int("moved", len(recs)))
}

// sendPoolReq asks the primary to balance (secondary, on entering NORMAL).
func (p *Peer) sendPoolReq() {
	p.send(&wire.Message{Type: wire.MsgPoolReq})
}

// onPoolReq balances at once and answers with the number moved.
func (p *Peer) onPoolReq(m *wire.Message, now time.Time) {
	var before uint64
	p.statusMu.Lock()
	before = p.status.Counters.AddressesMoved
	p.statusMu.Unlock()
	if p.cfg.Role == fsm.Primary {
		p.lastBalance = now
		p.balance(now)
	}
	p.statusMu.Lock()
	moved := p.status.Counters.AddressesMoved - before
	p.statusMu.Unlock()
	resp := &wire.Message{Type: wire.MsgPoolResp, XID: m.XID}
	resp.AddUint32(wire.OptAddressesTransferred, uint32(moved))
	p.send(resp)
}
