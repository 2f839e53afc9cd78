package failover

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"go.uber.org/zap"
)

// queued is one binding waiting to go to the partner.
type queued struct {
	l       lease.Lease
	seq     uint64        // enqueue order; newer updates of an address supersede older ones
	desired time.Duration // the lease time the server wanted, for the potential expiry
	// queuedAt is when the server first queued this (still unsent) change
	// through Updated; zero for resends, transfers and UPDREQALL answers,
	// which the replication lag does not measure.
	queuedAt time.Time
	attempts int // times the partner refused it with a retryable reason
}

// updateQueue holds bindings not yet sent, coalescing repeated updates of
// one address. It is shared between Updated (server goroutines) and the
// engine.
type updateQueue struct {
	mu    sync.Mutex
	items map[netip.Addr]queued
	order seqOrder // addresses in seq order; an entry whose seq is not items[ip].seq is stale
	seq   uint64
	// resendable holds the addresses of refused updates waiting to be
	// resent; a newer update of an address removes it (supersedes).
	resendable map[netip.Addr]bool
}

func (q *updateQueue) init() {
	q.items = map[netip.Addr]queued{}
	q.resendable = map[netip.Addr]bool{}
}

func (q *updateQueue) push(l lease.Lease, desired time.Duration) uint64 {
	return q.pushAt(l, desired, time.Time{})
}

// pushAt queues l as a change the server committed at (for the lag
// histogram). A change coalesced with an unsent older one keeps the older
// one's time: its BNDACK is what replicates both.
func (q *updateQueue) pushAt(l lease.Lease, desired time.Duration, at time.Time) uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if prev, ok := q.items[l.IP]; ok && !prev.queuedAt.IsZero() && (at.IsZero() || prev.queuedAt.Before(at)) {
		at = prev.queuedAt
	}
	delete(q.resendable, l.IP)
	q.seq++
	it := queued{l: l, seq: q.seq, desired: desired, queuedAt: at}
	q.items[l.IP] = it
	q.order.push(seqRef{ip: l.IP, seq: q.seq})
	return q.seq
}

// retry puts back an update that was in flight on a lost connection,
// unless a newer update of the address is already queued.
func (q *updateQueue) retry(it queued) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if cur, ok := q.items[it.l.IP]; ok && cur.seq > it.seq {
		return
	}
	q.seq++
	it.seq = q.seq
	q.items[it.l.IP] = it
	q.order.push(seqRef{ip: it.l.IP, seq: it.seq})
}

// holdForResend notes that the refused update of ip may be resent later.
func (q *updateQueue) holdForResend(ip netip.Addr) {
	q.mu.Lock()
	q.resendable[ip] = true
	q.mu.Unlock()
}

// resend queues a refused update again unless a newer update of the
// address was queued since it was held; it reports whether it did.
func (q *updateQueue) resend(it queued) bool {
	q.mu.Lock()
	ok := q.resendable[it.l.IP]
	delete(q.resendable, it.l.IP)
	q.mu.Unlock()
	if ok {
		q.retry(it)
	}
	return ok
}

// pop takes the oldest live update.
func (q *updateQueue) pop() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropStale()
	r, ok := q.order.pop()
	if !ok {
		return queued{}, false
	}
	it := q.items[r.ip]
	delete(q.items, r.ip)
	return it, true
}

// minSeq is the lowest sequence still queued (0: none).
func (q *updateQueue) minSeq() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.dropStale()
	if r, ok := q.order.first(); ok {
		return r.seq
	}
	return 0
}

// dropStale removes superseded entries from the front of the order, so
// that its first entry, if any, is live. A stale entry never becomes
// live again: sequences only grow.
func (q *updateQueue) dropStale() {
	for {
		r, ok := q.order.first()
		if !ok {
			return
		}
		if cur, live := q.items[r.ip]; live && cur.seq == r.seq {
			return
		}
		q.order.pop()
	}
}

// seqRef names one queued update in the order: its address and sequence.
type seqRef struct {
	ip  netip.Addr
	seq uint64
}

// seqOrder is a FIFO of seqRefs that reuses its array: popping advances
// head, and a push moves the live part to the front once the popped part
// is at least half of it, so a queue that stays long under a steady
// stream neither reallocates nor copies per entry. (Keeping whole
// updates in a slice resliced from the front made every growth copy all
// of them: a tenth of a partner's CPU at 40,000 leases/s.)
type seqOrder struct {
	refs []seqRef
	head int
}

func (o *seqOrder) push(r seqRef) {
	if o.head > 0 && o.head >= len(o.refs)-o.head {
		n := copy(o.refs, o.refs[o.head:])
		clear(o.refs[n:])
		o.refs = o.refs[:n]
		o.head = 0
	}
	o.refs = append(o.refs, r)
}

func (o *seqOrder) first() (seqRef, bool) {
	if o.head == len(o.refs) {
		return seqRef{}, false
	}
	return o.refs[o.head], true
}

func (o *seqOrder) pop() (seqRef, bool) {
	r, ok := o.first()
	if !ok {
		return r, false
	}
	o.head++
	if o.head == len(o.refs) {
		o.refs, o.head = o.refs[:0], 0
	}
	return r, true
}

func (q *updateQueue) lastSeq() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seq
}

func (q *updateQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// mcltState is what LeaseTime needs: the potential expiry the partner has
// acknowledged (or sent) per address and the desired lease time of the
// grant in progress. Both maps are keyed by the IPv4 address as a number
// and hold Unix nanoseconds and durations: every binding passes through
// them twice, and integer keys and pointer-free values make that a fast
// map access the garbage collector need not scan.
type mcltState struct {
	mu      sync.Mutex
	mclt    time.Duration
	acked   map[uint32]int64 // Unix ns; absent: none
	desired map[uint32]time.Duration
	state   wire.ServerState
}

func (s *mcltState) init(mclt time.Duration) {
	s.mclt = mclt
	s.acked = map[uint32]int64{}
	s.desired = map[uint32]time.Duration{}
}

// addrKey is ip's key in mcltState's maps; ok is false for an address that
// is not IPv4, which no binding has.
func addrKey(ip netip.Addr) (k uint32, ok bool) {
	if !ip.Is4() {
		return 0, false
	}
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:]), true
}

func (s *mcltState) setState(st wire.ServerState) {
	s.mu.Lock()
	s.state = st
	s.mu.Unlock()
}

func (s *mcltState) ack(ip netip.Addr, pot time.Time) {
	k, ok := addrKey(ip)
	if !ok || pot.IsZero() {
		return
	}
	ns := pot.UnixNano()
	s.mu.Lock()
	if ns > s.acked[k] {
		s.acked[k] = ns
	}
	s.mu.Unlock()
}

// LeaseTime applies the MCLT rule (draft-12 §5.2.1): the lease given to a
// client never runs past MCLT beyond the latest of the potential
// expiration time the partner acknowledged for the address (or sent us)
// and the client's current lease expiration (l.Expiry, for a renewal).
// A new client therefore gets at most MCLT; once the partner has acked a
// potential expiry of now+desired, the next renewal can get desired. The
// server calls it before committing the lease and passes the lease it is
// about to extend (or a zero Lease with just IP set for a new binding).
func (p *Peer) LeaseTime(desired time.Duration, l lease.Lease) time.Duration {
	now := p.now()
	base := now
	s := &p.mclt
	s.mu.Lock()
	if k, ok := addrKey(l.IP); ok {
		s.desired[k] = desired
		if a, ok := s.acked[k]; ok && a > now.UnixNano() {
			base = time.Unix(0, a)
		}
	}
	mclt := s.mclt
	s.mu.Unlock()
	if l.State == lease.StateActive && l.Expiry.After(base) {
		base = l.Expiry
	}
	allowed := base.Add(mclt).Sub(now)
	return max(min(desired, allowed), 0)
}

// Updated queues a BNDUPD for a lease the server has durably changed. It
// never blocks on the network.
func (p *Peer) Updated(l lease.Lease) {
	var desired time.Duration
	var ok bool
	if k, v4 := addrKey(l.IP); v4 {
		p.mclt.mu.Lock()
		desired, ok = p.mclt.desired[k]
		delete(p.mclt.desired, k)
		p.mclt.mu.Unlock()
	}
	if !ok && l.State == lease.StateActive {
		desired = l.Expiry.Sub(l.Start)
	}
	p.queue.pushAt(l, desired, p.now())
	wake(p.notify)
}

// wake signals a capacity-1 channel the engine selects on, without
// blocking: a signal already pending covers this one.
func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// canSendUpdates says whether BNDUPDs may flow now: once both sides know
// each other's state; in RECOVER only to answer the partner's UPDREQ or
// UPDREQALL (two recovering servers must be able to answer each other).
func (p *Peer) canSendUpdates() bool {
	if p.cur == nil || p.machine.Startup() || p.stopping {
		return false
	}
	if _, known := p.machine.Partner(); !known {
		return false
	}
	return p.machine.State() != wire.StateRecover || p.upddoneMarker != 0
}

// maxKeptBatch bounds the write buffer pump keeps between calls: a full
// window of large updates is let go rather than held for good.
const maxKeptBatch = 256 << 10

// pump sends queued updates while fewer than MaxUnackedBndUpd (or the
// partner's smaller max-unacked-bndupd) are in flight. The messages of one round are written in one batch (one
// syscall), each BNDUPD carrying one binding as ISC expects.
func (p *Peer) pump(now time.Time) {
	if !p.canSendUpdates() {
		return
	}
	batch := p.updBatch[:0]
	sent := 0
	window := p.maxUnacked()
	for len(p.inflight)+sent < window {
		it, ok := p.queue.pop()
		if !ok {
			break
		}
		pot := it.l.Expiry
		if it.l.State == lease.StateActive && it.desired > 0 {
			if d := now.Add(it.desired); d.After(pot) {
				pot = d
			}
		}
		p.updMsg.Reset(wire.MsgBndUpd, p.cur.nextXID())
		m := wire.BindingOptions(&p.updMsg, bindingFromLease(it.l, pot))
		m.Time = unixTime(now)
		b, err := p.cur.sess.Seal(m)
		if err != nil {
			p.log.Error("failover: cannot encode BNDUPD", zap.Stringer("ip", it.l.IP), zap.Error(err))
			continue
		}
		batch = append(batch, b...)
		sent++
		p.inflight[m.XID] = inflight{item: it, pot: pot}
	}
	if sent > 0 {
		_ = p.cur.conn.SetWriteDeadline(now.Add(p.cfg.ReceiveTimer))
		if _, err := p.cur.conn.Write(batch); err != nil {
			p.dropLink("send BNDUPD batch: " + err.Error())
			return
		}
		p.lastSend = now
		p.count(func(c *Counters) { c.UpdatesSent += uint64(sent) })
	}
	if cap(batch) <= maxKeptBatch {
		p.updBatch = batch // the kernel copied it: keep the storage
	}
	p.maybeUpdDone(now)
}

// maybeUpdDone sends the UPDDONE owed for an UPDREQ/UPDREQALL once every
// update queued up to the request has been acknowledged, and records the
// acked-through mark when nothing is outstanding.
func (p *Peer) maybeUpdDone(now time.Time) {
	// Most calls owe nothing: no UPDDONE pending, and updates in flight
	// (or the mark written less than a second ago). Skip the scans then:
	// this runs after every send, over a window of up to thousands.
	if p.upddoneMarker == 0 && (len(p.inflight) > 0 || now.Sub(p.lastAckedMark) < time.Second) {
		return
	}
	oldest := p.queue.minSeq()
	for _, f := range p.inflight {
		if oldest == 0 || f.item.seq < oldest {
			oldest = f.item.seq
		}
	}
	if p.upddoneMarker != 0 && (oldest == 0 || oldest > p.upddoneMarker) {
		p.upddoneMarker = 0
		p.send(&wire.Message{Type: wire.MsgUpdDone, XID: p.upddoneXID})
	}
	if oldest == 0 && now.Sub(p.lastAckedMark) >= time.Second {
		p.lastAckedMark = now
		_ = p.deps.PutMeta(ackedThroughKey, binary.BigEndian.AppendUint64(nil, uint64(now.UnixNano())))
	}
}

// requeueUnacked queues, after a restart, every binding changed since the
// last moment all updates were acknowledged (less a margin for updates
// committed but not yet queued then): the in-memory queue died with the
// process.
func (p *Peer) requeueUnacked() {
	b, ok, err := p.deps.GetMeta(ackedThroughKey)
	if err != nil || !ok || len(b) != 8 {
		return // never synchronised: the partner's UPDREQALL or ours covers it
	}
	since := time.Unix(0, int64(binary.BigEndian.Uint64(b))).Add(-10 * time.Second)
	n := 0
	p.deps.ForEachBinding(func(l lease.Lease) bool {
		if !l.Updated.Before(since) {
			p.queue.push(l, 0)
			n++
		}
		return true
	})
	if n > 0 {
		p.log.Info("failover: requeued bindings changed since the last full acknowledgement", zap.Int("bindings", n))
	}
}

// onBndUpd applies and answers one BNDUPD on its own (Deps without
// BatchApplier).
func (p *Peer) onBndUpd(m *wire.Message) {
	u := p.parseUpdate(m)
	if u.err == nil {
		u.applied = true
		u.err = p.deps.ApplyBinding(u.l)
	}
	p.send(p.ackFor(u))
}

// maxUpdateBatch bounds a run: the BNDUPDs and BNDACKs that arrived
// together and are handled with one durable commit and one write.
const maxUpdateBatch = 256

// update is one partner BNDUPD on its way to its BNDACK.
type update struct {
	m       *wire.Message
	b       wire.Binding
	l       lease.Lease
	err     error
	applied bool // err (if any) came from applying l, not from parsing m
}

// parseUpdate counts and decodes a BNDUPD.
func (p *Peer) parseUpdate(m *wire.Message) update {
	p.count(func(c *Counters) { c.UpdatesReceived++ })
	u := update{m: m}
	u.b, u.err = wire.ParseBinding(m)
	if u.err == nil {
		u.l, u.err = leaseFromBinding(u.b)
	}
	return u
}

// onRun handles a run of BNDUPDs and BNDACKs that arrived together, in
// their order: each BNDUPD is staged (put in force in memory) and each
// BNDACK settled where it stands, then the staged bindings are committed
// together, their BNDACKs go out in one write once the commit is durable,
// and the window is refilled once. With an AsyncBatchApplier the engine
// does not wait for the commit: onCommitted answers the run when it has
// finished. Without a BatchApplier each BNDUPD is applied and answered
// alone.
func (p *Peer) onRun(ms []*wire.Message, now time.Time) {
	ba, batching := p.deps.(BatchApplier)
	var (
		us     []update
		recs   []lease.Lease
		staged []int // index in us of each rec
	)
	if batching {
		// Sized for the run once: a run is mostly binding updates.
		us, recs, staged = make([]update, 0, len(ms)), make([]lease.Lease, 0, len(ms)), make([]int, 0, len(ms))
	}
	for _, m := range ms {
		if m.Type == wire.MsgBndAck {
			p.settle(m, now)
			continue
		}
		if !batching {
			p.onBndUpd(m)
			continue
		}
		u := p.parseUpdate(m)
		if u.err == nil {
			u.applied = true
			var rec lease.Lease
			if rec, u.err = ba.StageBinding(u.l); u.err == nil {
				recs = append(recs, rec)
				staged = append(staged, len(us))
			}
		}
		us = append(us, u)
	}
	if len(recs) > 0 {
		if async, ok := ba.(AsyncBatchApplier); ok {
			l := p.cur
			async.CommitBindingsAsync(recs, func(err error) {
				p.committed.add(committedRun{link: l, us: us, staged: staged, err: err})
			})
			p.pump(now)
			return
		}
		if err := ba.CommitBindings(recs); err != nil {
			for _, i := range staged {
				us[i].err = err
			}
		}
	}
	p.answer(us)
	p.pump(now)
}

// answer sends the BNDACKs of a run's updates in one write.
func (p *Peer) answer(us []update) {
	if len(us) == 0 {
		return
	}
	acks := make([]*wire.Message, len(us))
	for i, u := range us {
		acks[i] = p.ackFor(u)
	}
	p.sendAll(acks)
}

// committedRun is a run of partner updates whose commit was queued
// without blocking (AsyncBatchApplier), once the commit has finished.
type committedRun struct {
	link   *link // the connection the run came on
	us     []update
	staged []int // index in us of each committed record
	err    error
}

// committedRuns hands finished commits from the committer's goroutine,
// which must not block, to the engine's.
type committedRuns struct {
	mu    sync.Mutex
	runs  []committedRun
	ready chan struct{} // capacity 1: runs is not empty
}

func (c *committedRuns) add(r committedRun) {
	c.mu.Lock()
	c.runs = append(c.runs, r)
	c.mu.Unlock()
	wake(c.ready)
}

func (c *committedRuns) take() []committedRun {
	c.mu.Lock()
	defer c.mu.Unlock()
	runs := c.runs
	c.runs = nil
	return runs
}

// onCommitted answers the runs whose commit finished: BNDACKs for the
// updates now durable, refusals for those the commit failed. A run that
// came on a connection since dropped is not answered: the partner sends
// its unacknowledged updates again on the next one.
func (p *Peer) onCommitted() {
	for _, r := range p.committed.take() {
		if r.err != nil {
			for _, i := range r.staged {
				r.us[i].err = r.err
			}
		}
		if r.link != p.cur {
			continue
		}
		p.answer(r.us)
	}
	now := p.now()
	p.pump(now)
	p.afterEvent(now, fsm.Actions{})
}

// ackFor builds a BNDUPD's BNDACK: an acknowledgement, or a refusal with
// its reject reason.
func (p *Peer) ackFor(u update) *wire.Message {
	m, b, err := u.m, u.b, u.err
	ack := &wire.Message{Type: wire.MsgBndAck, XID: m.XID}
	reason := wire.RejectMissingBindInfo
	if u.applied {
		reason = wire.RejectMisc
		var rej *RejectError
		if errors.As(err, &rej) && rej.Reason != 0 {
			reason = wire.RejectReason(rej.Reason)
		}
		if err != nil {
			p.count(func(c *Counters) { c.ApplyFailures++ })
		}
	}
	if err != nil {
		p.log.Warn("failover: rejecting partner's binding update", zap.Stringer("ip", b.IP), zap.Uint8("reason", uint8(reason)), zap.Error(err))
		if b.IP.IsValid() {
			ack.AddAddr(wire.OptAssignedIPAddress, b.IP)
		}
		ack.AddUint8(wire.OptRejectReason, uint8(reason))
		ack.Add(wire.OptMessage, []byte(err.Error()))
		return ack
	}
	if b.HasPotential {
		p.mclt.ack(b.IP, fromUnix(b.PotentialExpiry))
	}
	ack.AddAddr(wire.OptAssignedIPAddress, b.IP)
	return ack
}

// settle ends the update a BNDACK answers: acknowledged, or refused.
func (p *Peer) settle(m *wire.Message, now time.Time) {
	f, ok := p.inflight[m.XID]
	if !ok {
		p.log.Debug("failover: BNDACK for no update in flight", zap.Uint32("xid", m.XID))
		return
	}
	delete(p.inflight, m.XID)
	if r, ok := m.Uint8(wire.OptRejectReason); ok && r != 0 {
		p.onRejected(f.item, wire.RejectReason(r), m, now)
	} else {
		p.count(func(c *Counters) { c.UpdatesAcked++ })
		if !f.item.queuedAt.IsZero() {
			p.lag.observe(now.Sub(f.item.queuedAt))
		}
		p.mclt.ack(f.item.l.IP, f.pot)
		if h, ok := p.deps.(AckHandler); ok && endsBinding(f.item.l.State) {
			h.BindingAcked(f.item.l)
		}
	}
}

// Resending refused updates: a refusal for a reason that may pass (the
// partner could not store the binding: reject reason 6, or 254) is retried
// up to MaxResends times, ResendDelay apart and doubling; other reasons
// (outdated or conflicting information, an address the partner does not
// serve) would be refused again and are not.
func retryable(r wire.RejectReason) bool {
	return r == wire.RejectMisc || r == wire.RejectUnknown
}

// resendItem is a refused update due to be queued again.
type resendItem struct {
	at   time.Time
	item queued
}

// onRejected counts a refusal by reason and schedules a resend when the
// reason is retryable and the bound allows.
func (p *Peer) onRejected(it queued, reason wire.RejectReason, m *wire.Message, now time.Time) {
	msg, _ := m.Get(wire.OptMessage)
	p.statusMu.Lock()
	p.status.Counters.UpdatesRejected++
	p.rejects[reason]++
	p.statusMu.Unlock()
	retry := retryable(reason) && it.attempts < p.cfg.MaxResends
	p.log.Warn("failover: partner rejected our binding update", zap.Stringer("ip", it.l.IP),
		zap.Uint8("reason", uint8(reason)), zap.Stringer("reason_name", reason), zap.ByteString("message", msg),
		zap.Int("attempt", it.attempts+1), zap.Bool("will_resend", retry))
	if !retry {
		return
	}
	delay := p.cfg.ResendDelay << it.attempts
	it.attempts++
	p.queue.holdForResend(it.l.IP)
	p.resends = append(p.resends, resendItem{at: now.Add(delay), item: it})
}

// resendDue queues the refused updates whose delay has passed.
func (p *Peer) resendDue(now time.Time) {
	kept := p.resends[:0]
	n := 0
	for _, r := range p.resends {
		switch {
		case now.Before(r.at):
			kept = append(kept, r)
		case p.queue.resend(r.item):
			n++
		}
	}
	p.resends = kept
	if n > 0 {
		p.count(func(c *Counters) { c.UpdatesResent += uint64(n) })
	}
}

// nextResend is when the earliest resend is due (zero: none).
func (p *Peer) nextResend() time.Time {
	var t time.Time
	for _, r := range p.resends {
		if t.IsZero() || r.at.Before(t) {
			t = r.at
		}
	}
	return t
}

// endsBinding says whether an update in state st ends a binding, so that
// the partner's acknowledgement lets the address become free (draft-12
// §5.4). Only those acknowledgements reach AckHandler: the ack of an
// ACTIVE update says nothing about an end of the binding that this server
// may have recorded since it was sent.
func endsBinding(st lease.State) bool {
	return st == lease.StateExpired || st == lease.StateReleased
}

// onUpdReq answers UPDREQ (the updates the partner has not acked: our
// queue) or UPDREQALL (every binding), then UPDDONE once all are acked.
func (p *Peer) onUpdReq(m *wire.Message, all bool) {
	if all {
		n := 0
		p.deps.ForEachBinding(func(l lease.Lease) bool {
			p.queue.push(l, 0)
			n++
			return true
		})
		p.log.Info("failover: partner asked for every binding", zap.Int("bindings", n))
	}
	p.upddoneMarker, p.upddoneXID = p.queue.lastSeq(), m.XID
	if p.upddoneMarker == 0 { // nothing was ever queued: done at once
		p.send(&wire.Message{Type: wire.MsgUpdDone, XID: m.XID})
	}
}
