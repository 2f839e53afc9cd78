package failover

import (
	"fmt"
	"time"

	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
	"go.uber.org/zap"
)

// Message types of the live split change. Draft-12 §6.1 lets a server
// ignore types 128-255 it does not know, so ISC dhcpd skips them.
const (
	msgSplitPrepare wire.MsgType = 200 // proposer: here is the new primary bucket map (hash-bucket-assignment)
	msgSplitAck     wire.MsgType = 201 // responder: I dropped what I give up (reject-reason when refused)
	msgSplitCommit  wire.MsgType = 202 // proposer: I switched; take what you gain
)

// splitOp is a split change this server proposed.
type splitOp struct {
	xid      uint32
	next     [256]bool
	deadline time.Time
	reply    chan error
}

func (s *splitOp) finish(err error) {
	s.reply <- err
}

// SetSplit changes the load-balance split to percent on both partners
// without a restart. The change is a three-step exchange in which no
// bucket ever has two owners: the responder first drops the buckets it
// gives up and acknowledges; the proposer then switches to its new set
// (dropping what it gives, adding what the responder gave) and commits;
// the responder finally adds what it gains. A bucket in transit has no
// owner for about one round trip; clients retransmit, and the dataplane's
// secs bypass answers them anyway.
func (p *Peer) SetSplit(percent int) error {
	if p.cfg.Mode != fsm.LoadBalance {
		return ErrSplitMode
	}
	if percent < 0 || percent > 100 {
		return fmt.Errorf("split %d%%: want 0 to 100", percent)
	}
	reply := make(chan error, 1)
	err := p.run(func() {
		switch {
		case p.split != nil || p.splitPending != nil:
			reply <- ErrSplitBusy
			return
		case p.cur == nil || p.machine.State() != wire.StateNormal:
			reply <- ErrNotConnected
			return
		}
		if ps, ok := p.machine.Partner(); !ok || ps != wire.StateNormal {
			reply <- ErrNotConnected
			return
		}
		next := loadbalance.SplitBuckets(percent)
		if next == p.primaryBuckets {
			reply <- nil
			return
		}
		op := &splitOp{next: next, deadline: p.now().Add(p.cfg.SplitTimeout), reply: reply}
		m := &wire.Message{Type: msgSplitPrepare}
		hba := wire.HBAFromBuckets(next)
		m.Add(wire.OptHashBucketAssignment, hba[:])
		op.xid = p.cur.nextXID()
		m.XID = op.xid
		p.split = op
		if !p.send(m) && p.split == op {
			p.split = nil
			reply <- ErrNotConnected
		}
	})
	if err != nil {
		return err
	}
	if err := <-reply; err != nil {
		return fmt.Errorf("failover split %d%%: %w", percent, err)
	}
	p.log.Info("failover split changed", zap.Int("percent", percent))
	return nil
}

// ownedUnder returns this server's NORMAL buckets under primary map pb.
func (p *Peer) ownedUnder(pb [256]bool) [256]bool {
	if p.cfg.Role == fsm.Primary {
		return pb
	}
	return loadbalance.Complement(pb)
}

func (p *Peer) onSplit(m *wire.Message, now time.Time) {
	switch m.Type {
	case msgSplitPrepare:
		ack := &wire.Message{Type: msgSplitAck, XID: m.XID}
		d, ok := m.Get(wire.OptHashBucketAssignment)
		ps, known := p.machine.Partner()
		switch {
		case !ok:
			ack.AddUint8(wire.OptRejectReason, uint8(wire.RejectMisc))
			ack.Add(wire.OptMessage, []byte("no hash-bucket-assignment"))
		case p.split != nil || p.splitPending != nil:
			ack.AddUint8(wire.OptRejectReason, uint8(wire.RejectMisc))
			ack.Add(wire.OptMessage, []byte("split change already in progress"))
		case p.machine.State() != wire.StateNormal || !known || ps != wire.StateNormal:
			ack.AddUint8(wire.OptRejectReason, uint8(wire.RejectMisc))
			ack.Add(wire.OptMessage, []byte("not in NORMAL state"))
		default:
			next := wire.HBA(d).Buckets()
			keep := p.ownedUnder(p.primaryBuckets)
			nextOwn := p.ownedUnder(next)
			for i := range keep {
				keep[i] = keep[i] && nextOwn[i]
			}
			p.bucketMask, p.splitPending = &keep, &next
			// Free addresses: shrink our share now if it shrinks, grow it
			// only at COMMIT. If the exchange is cut short the floor
			// stays (durably) until the next connection settles the map.
			oldShare, newShare := shareOf(p.primaryBuckets), shareOf(next)
			if p.cfg.Role == fsm.Primary {
				p.setShareFloor(min(oldShare, newShare))
			} else {
				p.setShareFloor(max(oldShare, newShare))
			}
			p.applyPolicy(now) // drop what we give up before saying so
		}
		p.send(ack)
	case msgSplitAck:
		op := p.split
		if op == nil || m.XID != op.xid {
			return
		}
		p.split = nil
		if r, ok := m.Uint8(wire.OptRejectReason); ok && r != 0 {
			msg, _ := m.Get(wire.OptMessage)
			op.finish(fmt.Errorf("%w: %s", ErrSplitRejected, msg))
			return
		}
		p.setPrimaryBuckets(op.next)
		p.applyPolicy(now)
		p.send(&wire.Message{Type: msgSplitCommit, XID: op.xid})
		op.finish(nil)
	case msgSplitCommit:
		if p.splitPending == nil {
			return
		}
		p.setPrimaryBuckets(*p.splitPending)
		p.bucketMask, p.splitPending = nil, nil
		p.setShareFloor(-1)
		p.applyPolicy(now)
	}
}

func (p *Peer) setPrimaryBuckets(b [256]bool) {
	p.primaryBuckets = b
	hba := wire.HBAFromBuckets(b)
	if err := p.deps.PutMeta(splitKey, hba[:]); err != nil {
		p.log.Error("failover: could not persist the split", zap.Error(err))
	}
}

// shareOf is the primary's percentage of free addresses under bucket map
// pb in load-balance mode.
func shareOf(pb [256]bool) int { return (loadbalance.Count(pb)*100 + 128) / 256 }

// setShareFloor sets (or, with -1, clears) the durable share override.
func (p *Peer) setShareFloor(v int) {
	if p.shareFloor == v {
		return
	}
	p.shareFloor = v
	b := []byte{}
	if v >= 0 {
		b = []byte{byte(v)}
	}
	if err := p.deps.PutMeta(shareFloorKey, b); err != nil {
		p.log.Error("failover: could not persist the split change in progress", zap.Error(err))
	}
}
