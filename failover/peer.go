package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xdhcp/xdhcp/failover/fsm"
	"github.com/xdhcp/xdhcp/failover/wire"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
	"go.uber.org/zap"
)

// Errors of the operator commands.
var (
	ErrNotRunning    = errors.New("failover engine is not running")
	ErrNotConnected  = errors.New("failover partner is not connected in NORMAL state")
	ErrSplitMode     = errors.New("split applies to load-balance mode only")
	ErrSplitBusy     = errors.New("a split change is already in progress")
	ErrSplitRejected = errors.New("partner refused the split change")
	ErrSplitTimeout  = errors.New("partner did not answer the split change in time")
)

// Peer is the failover engine of one server. New builds it, Run runs it;
// Updated, LeaseTime, Status, PartnerDown and SetSplit may be called from
// any goroutine.
type Peer struct {
	cfg  Config
	deps Deps
	log  *zap.Logger
	now  func() time.Time

	links  chan *link
	notify chan struct{} // an update was queued
	cmds   chan func()   // run on the engine goroutine
	wg     sync.WaitGroup

	doneMu sync.Mutex
	done   map[*link]chan struct{}

	queue     updateQueue   // shared with Updated
	mclt      mcltState     // shared with LeaseTime
	lag       lagHistogram  // replication lag, read by Status
	committed committedRuns // partner runs whose commit finished, from the committer

	// Everything below is owned by the Run goroutine.
	machine        *fsm.Machine
	primaryBuckets [256]bool // the primary's buckets in NORMAL (load-balance)
	cur            *link
	partnerSince   time.Time
	lastRecv       time.Time
	lastSend       time.Time
	skew           time.Duration
	skewWarned     bool
	inflight       map[uint32]inflight
	updMsg         wire.Message // the BNDUPD being built, reused (pump)
	updBatch       []byte       // storage of pump's write, reused up to maxKeptBatch
	upddoneMarker  uint64       // send UPDDONE once every update up to this sequence is acked
	upddoneXID     uint32
	awaitUpdDone   bool
	applied        *ServingPolicy
	appliedLB      bool
	bucketMask     *[256]bool // split change in progress (responder): buckets we may still own
	split          *splitOp
	splitPending   *[256]bool   // responder: the proposed primary buckets awaiting COMMIT
	stopping       bool         // Run's context ended: the stop sequence runs
	resends        []resendItem // refused updates to queue again (updates.go)
	push           *pushOp      // settings replication this server started
	incoming       *transferIn  // settings replication being received
	// shareFloor, when >= 0, overrides ServingPolicy.PrimaryShare while a
	// split change this server responded to is unsettled: the smaller of
	// the old and new share for this server (see split.go).
	shareFloor    int
	lastAckedMark time.Time
	lastBalance   time.Time
	lastPersistOp time.Time

	abruptStop atomic.Bool // tests: stop without telling the partner, as a crash does

	listener net.Listener                                             // tests: a listener opened elsewhere (e.g. in a network namespace)
	dial     func(ctx context.Context, addr string) (net.Conn, error) // tests: how the primary dials

	statusMu sync.Mutex
	status   Status
	rejects  map[wire.RejectReason]uint64 // our updates the partner refused, by reason
	running  bool
	stopped  chan struct{} // closed when Run returns
}

type inflight struct {
	item queued
	pot  time.Time
}

// Meta keys besides fsm.StateKey.
const (
	splitKey        = "failover/split"
	shareFloorKey   = "failover/share-floor"
	ackedThroughKey = "failover/acked-through"
)

// New checks cfg and returns an engine; Run starts it.
func New(cfg Config, deps Deps, log *zap.Logger) (*Peer, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("failover config: %w", err)
	}
	if deps == nil {
		return nil, errors.New("failover: nil Deps")
	}
	if log == nil {
		log = zap.NewNop()
	}
	p := &Peer{
		cfg:        cfg,
		deps:       deps,
		log:        log.With(zap.String("failover", cfg.Name), zap.String("role", cfg.Role.String())),
		now:        time.Now,
		links:      make(chan *link),
		notify:     make(chan struct{}, 1),
		cmds:       make(chan func()),
		done:       map[*link]chan struct{}{},
		inflight:   map[uint32]inflight{},
		shareFloor: -1,
		stopped:    make(chan struct{}),
		rejects:    map[wire.RejectReason]uint64{},
	}
	p.queue.init()
	p.committed.ready = make(chan struct{}, 1)
	p.mclt.init(cfg.MCLT)
	p.lag.init()
	p.primaryBuckets = loadbalance.SplitBuckets(cfg.SplitPercent)
	return p, nil
}

func (p *Peer) modeName() string {
	if p.cfg.Mode == fsm.HotStandby {
		return "hot-standby"
	}
	return "load-balance"
}

// Run runs the engine until ctx ends. It returns nil on cancellation and
// an error when it cannot start (listen, read the stored state).
func (p *Peer) Run(ctx context.Context) error {
	now := p.now()
	rec, err := fsm.Load(p.deps)
	if err != nil {
		return fmt.Errorf("failover %s: %w", p.cfg.Name, err)
	}
	if b, ok, err := p.deps.GetMeta(splitKey); err == nil && ok && len(b) == wire.HBASize {
		p.primaryBuckets = wire.HBA(b).Buckets()
	}
	if b, ok, err := p.deps.GetMeta(shareFloorKey); err == nil && ok && len(b) == 1 && b[0] <= 100 {
		p.shareFloor = int(b[0])
	}
	p.machine = fsm.New(fsm.Config{
		Role: p.cfg.Role, Mode: p.cfg.Mode, Active: p.cfg.Active, MCLT: p.cfg.MCLT,
		SwitchoverInterval: p.cfg.SwitchoverInterval, StartupWait: p.cfg.StartupWait,
	}, rec, now)
	if len(p.cfg.Secret) == 0 {
		p.log.Warn("FAILOVER LINK IS UNAUTHENTICATED: no shared-secret-file is configured; anyone who can reach the failover port can change bindings. Configure failover.shared-secret-file on both partners.")
	}
	resumed := "none (first start or lost storage)"
	if rec != nil {
		resumed = rec.State.String()
	}
	p.log.Info("failover starting", zap.String("mode", p.modeName()), zap.String("stored_state", resumed),
		zap.String("partner", p.cfg.Partner), zap.Duration("mclt", p.cfg.MCLT))
	p.requeueUnacked()

	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		if p.split != nil {
			p.split.finish(ErrNotRunning)
			p.split = nil
		}
		if p.push != nil {
			p.push.finish(ReplicateResult{Ours: p.push.ours}, ErrNotRunning)
			p.push = nil
		}
		if p.cur != nil {
			p.cur.close()
		}
		p.wg.Wait()
		p.setRunning(false)
		close(p.stopped)
	}()
	if p.cfg.Role == fsm.Secondary {
		ln := p.listener
		if ln == nil {
			var err error
			if ln, err = net.Listen("tcp", p.cfg.Listen); err != nil {
				return fmt.Errorf("failover listen %s: %w", p.cfg.Listen, err)
			}
		}
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.acceptLoop(ctx, ln) }()
		go func() { defer p.wg.Done(); <-ctx.Done(); ln.Close() }()
	} else {
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.dialLoop(ctx) }()
	}
	p.setRunning(true)
	p.afterEvent(now, fsm.Actions{Changed: true})

	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		timer.Reset(max(time.Until(p.nextWake()), time.Millisecond))
		var in <-chan inbound
		if p.cur != nil {
			in = p.cur.in
		}
		select {
		case <-ctx.Done():
			if !p.abruptStop.Load() {
				p.stopCleanly()
			}
			return nil
		case l := <-p.links:
			p.install(l)
		case msg, ok := <-in:
			if !ok {
				p.dropLink("reader stopped")
				break
			}
			if runnable(msg) {
				p.receiveRun(msg, in)
				break
			}
			p.receive(msg)
		case <-p.notify:
			p.pump(p.now())
		case <-p.committed.ready:
			p.onCommitted()
		case f := <-p.cmds:
			f()
		case <-timer.C:
			p.onTimer()
		}
	}
}

// Stopped returns a channel closed when Run has returned, after the stop
// sequence (STATE SHUTDOWN or PAUSED, DISCONNECT) and its last write to
// the state store. The server waits for it before closing the store.
func (p *Peer) Stopped() <-chan struct{} { return p.stopped }

func (p *Peer) setRunning(r bool) {
	p.statusMu.Lock()
	p.running = r
	p.statusMu.Unlock()
}

// linkDone returns a channel closed when l has been dropped.
func (p *Peer) linkDone(l *link) <-chan struct{} {
	p.doneMu.Lock()
	defer p.doneMu.Unlock()
	ch, ok := p.done[l]
	if !ok {
		ch = make(chan struct{})
		p.done[l] = ch
	}
	return ch
}

func (p *Peer) releaseLink(l *link) {
	l.close()
	p.doneMu.Lock()
	ch, ok := p.done[l]
	if !ok {
		ch = make(chan struct{})
	}
	delete(p.done, l)
	p.doneMu.Unlock()
	close(ch)
}

// install makes l the current link (replacing an older one) and starts
// the exchange of states.
func (p *Peer) install(l *link) {
	if p.cur != nil {
		p.log.Info("failover: new connection replaces the old one", zap.String("from", l.remote))
		p.dropLink("replaced")
	}
	now := p.now()
	p.cur, p.lastRecv, p.lastSend = l, now, now
	p.count(func(c *Counters) { c.Connections++ })
	if l.hba != nil && p.cfg.Mode == fsm.LoadBalance {
		p.primaryBuckets = l.hba.Buckets() // the primary's map rules (ISC behaviour)
		_ = p.deps.PutMeta(splitKey, l.hba[:])
		p.setShareFloor(-1) // the primary's map settles any unfinished split change
	}
	p.applyPolicy(now) // before our STATE: the partner may act on it at once
	p.wg.Add(1)
	go func() { defer p.wg.Done(); l.readLoop(p.cfg.ReceiveTimer) }()
	p.log.Info("failover partner connected", zap.String("partner", l.remote), zap.Bool("authenticated", len(p.cfg.Secret) > 0))
	act, _ := p.machine.Handle(fsm.Event{Kind: fsm.EvCommsUp, Now: now})
	p.sendState(now)
	p.afterEvent(now, act)
	p.autoReplicate()
}

// dropLink closes the current link and tells the state machine.
func (p *Peer) dropLink(why string) {
	if p.cur == nil {
		return
	}
	l := p.cur
	p.cur = nil
	p.releaseLink(l)
	// drain the reader so it can exit
	go func() {
		for range l.in {
		}
	}()
	for xid, f := range p.inflight {
		p.queue.retry(f.item)
		delete(p.inflight, xid)
	}
	p.upddoneMarker, p.awaitUpdDone = 0, false
	if p.split != nil {
		p.split.finish(fmt.Errorf("%w: connection lost (%s)", ErrNotConnected, why))
		p.split = nil
	}
	p.bucketMask, p.splitPending = nil, nil
	p.replicationLinkDown(why)
	p.log.Warn("failover partner connection lost", zap.String("reason", why))
	now := p.now()
	act, _ := p.machine.Handle(fsm.Event{Kind: fsm.EvCommsDown, Now: now})
	p.afterEvent(now, act)
}

// send writes m on the current link; a failure drops the link.
func (p *Peer) send(m *wire.Message) bool { return p.sendAll([]*wire.Message{m}) }

// sendAll writes ms on the current link in one write; a failure drops the
// link.
func (p *Peer) sendAll(ms []*wire.Message) bool {
	if p.cur == nil || len(ms) == 0 {
		return false
	}
	now := p.now()
	for _, m := range ms {
		if m.XID == 0 {
			m.XID = p.cur.nextXID()
		}
	}
	if err := p.cur.sendAll(ms, now, p.cfg.ReceiveTimer); err != nil {
		p.dropLink(err.Error())
		return false
	}
	p.lastSend = now
	return true
}

func (p *Peer) sendState(now time.Time) {
	s, startup := p.machine.WireState()
	m := &wire.Message{Type: wire.MsgState}
	m.AddUint8(wire.OptServerState, uint8(s))
	var flags uint8
	if startup {
		flags = wire.ServerFlagStartup
	}
	m.AddUint8(wire.OptServerFlags, flags)
	m.AddUint32(wire.OptStartTimeOfState, unixTime(p.machine.Since()))
	p.send(m)
}

// nextWake is the earliest timer the loop needs.
func (p *Peer) nextWake() time.Time {
	now := p.now()
	next := now.Add(p.cfg.BalanceInterval)
	earliest := func(t time.Time) {
		if !t.IsZero() && t.Before(next) {
			next = t
		}
	}
	earliest(p.machine.NextDeadline())
	if p.cur != nil {
		earliest(p.lastSend.Add(p.contactInterval()))
	}
	if p.split != nil {
		earliest(p.split.deadline)
	}
	if p.push != nil {
		earliest(p.push.deadline)
	}
	earliest(p.nextResend())
	return next
}

// contactInterval is how long we may stay silent: our own setting, or a
// third of the partner's receive timer when that is shorter.
func (p *Peer) contactInterval() time.Duration {
	ci := p.cfg.ContactInterval
	if p.cur != nil && p.cur.partnerReceiveTimer > 0 {
		ci = min(ci, p.cur.partnerReceiveTimer/3)
	}
	return max(ci, 10*time.Millisecond)
}

// maxUnacked is the update window: ours, or the partner's when smaller.
func (p *Peer) maxUnacked() int {
	n := p.cfg.MaxUnackedBndUpd
	if p.cur != nil && p.cur.partnerMaxUnacked > 0 {
		n = min(n, p.cur.partnerMaxUnacked)
	}
	return n
}

func (p *Peer) onTimer() {
	now := p.now()
	if p.cur != nil && !now.Before(p.lastSend.Add(p.contactInterval())) {
		p.send(&wire.Message{Type: wire.MsgContact})
	}
	if p.split != nil && !now.Before(p.split.deadline) {
		p.split.finish(ErrSplitTimeout)
		p.split = nil
	}
	p.replicateTimers(now)
	p.resendDue(now)
	act, _ := p.machine.Handle(fsm.Event{Kind: fsm.EvTick, Now: now})
	if now.Sub(p.lastBalance) >= p.cfg.BalanceInterval {
		p.lastBalance = now
		p.balance(now)
	}
	p.afterEvent(now, act)
}

// afterEvent carries out the state machine's actions, reapplies the
// serving policy, sends what may be sent and refreshes the status.
func (p *Peer) afterEvent(now time.Time, act fsm.Actions) {
	if act.Changed {
		s := p.machine.State()
		p.log.Info("failover state", zap.Stringer("state", s), zap.Time("since", p.machine.Since()))
		if err := fsm.Save(p.deps, p.machine.Persisted(now)); err != nil {
			p.log.Error("failover: could not persist state", zap.Error(err))
		}
		p.lastPersistOp = now
		p.sendState(now)
		if s == wire.StateNormal {
			p.lastBalance = time.Time{} // balance pools promptly on entering NORMAL
			if p.cfg.Role == fsm.Secondary {
				p.sendPoolReq()
			}
		}
	} else if now.Sub(p.lastPersistOp) >= p.cfg.BalanceInterval {
		_ = fsm.Save(p.deps, p.machine.Persisted(now)) // refresh the last-operational time
		p.lastPersistOp = now
	}
	if act.Alarm != "" {
		p.log.Error(act.Alarm)
	}
	if act.SendUpdReqAll {
		p.awaitUpdDone = p.send(&wire.Message{Type: wire.MsgUpdReqAll})
	}
	if act.SendUpdReq {
		p.awaitUpdDone = p.send(&wire.Message{Type: wire.MsgUpdReq})
	}
	p.applyPolicy(now)
	p.pump(now)
	p.snapshot(now)
}

// applyPolicy pushes the serving policy to the server when it changed.
func (p *Peer) applyPolicy(now time.Time) {
	pol := p.machine.Policy(now, p.primaryBuckets)
	pol.PrimaryShare = 100 - p.secondaryShare() // honours a split change's share floor
	if p.bucketMask != nil {
		for i := range pol.Buckets {
			pol.Buckets[i] = pol.Buckets[i] && p.bucketMask[i]
		}
	}
	p.mclt.setState(p.machine.State())
	if p.applied != nil && *p.applied == pol {
		return
	}
	if err := p.deps.SetOwnedBuckets(pol.Buckets, pol.LoadBalanced); err != nil {
		p.log.Error("failover: could not install bucket ownership", zap.Error(err))
		return
	}
	p.deps.SetServing(pol)
	p.applied = &pol
}

func (p *Peer) partnerHost(host string) bool {
	ph, _, err := net.SplitHostPort(p.cfg.Partner)
	if err != nil {
		return false
	}
	if ph == host {
		return true
	}
	a, err1 := netip.ParseAddr(ph)
	b, err2 := netip.ParseAddr(host)
	if err1 == nil && err2 == nil {
		return a.Unmap() == b.Unmap()
	}
	addrs, err := net.LookupHost(ph)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if a == host {
			return true
		}
	}
	return false
}

func (p *Peer) primaryBucketsForConnect(ctx context.Context) [256]bool {
	if p.cfg.Mode == fsm.HotStandby {
		if p.cfg.Active {
			return loadbalance.AllBuckets()
		}
		return [256]bool{}
	}
	done := make(chan [256]bool, 1)
	select {
	case p.cmds <- func() { done <- p.primaryBuckets }:
		return <-done
	case <-ctx.Done():
		return loadbalance.SplitBuckets(p.cfg.SplitPercent)
	}
}

// run executes f on the engine goroutine and waits for it.
func (p *Peer) run(f func()) error {
	p.statusMu.Lock()
	running := p.running
	p.statusMu.Unlock()
	if !running {
		return ErrNotRunning
	}
	done := make(chan struct{})
	select {
	case p.cmds <- func() { f(); close(done) }:
	case <-time.After(p.cfg.ReceiveTimer):
		return fmt.Errorf("%w: engine busy", ErrNotRunning)
	}
	<-done
	return nil
}

// PartnerDown is the operator's declaration that the partner is down
// (xdhcpctl failover partner-down).
func (p *Peer) PartnerDown() error {
	var err error
	if rerr := p.run(func() {
		now := p.now()
		var act fsm.Actions
		act, err = p.machine.Handle(fsm.Event{Kind: fsm.EvPartnerDown, Now: now})
		p.afterEvent(now, act)
	}); rerr != nil {
		return rerr
	}
	if err != nil {
		return fmt.Errorf("failover partner-down: %w", err)
	}
	p.log.Warn("failover: operator declared the partner down")
	return nil
}

// Status returns a snapshot of the engine.
func (p *Peer) Status() Status {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	s := p.status
	s.PendingUpdates = p.queue.len()
	s.ReplicationLag = p.lag.snapshot()
	s.RejectedBy = make(map[string]uint64, len(p.rejects))
	for r, n := range p.rejects {
		s.RejectedBy[r.String()] = n
	}
	return s
}

func (p *Peer) count(f func(*Counters)) {
	p.statusMu.Lock()
	f(&p.status.Counters)
	p.statusMu.Unlock()
}

func (p *Peer) snapshot(now time.Time) {
	p.statusMu.Lock()
	defer p.statusMu.Unlock()
	s := &p.status
	s.Name, s.Role, s.Mode, s.MCLT = p.cfg.Name, p.cfg.Role.String(), p.modeName(), p.cfg.MCLT
	s.State, s.StateSince = p.machine.State().String(), p.machine.Since()
	s.PartnerState = ""
	if ps, ok := p.machine.Partner(); ok {
		s.PartnerState = ps.String()
	}
	s.PartnerSince = p.partnerSince
	s.Connected = p.cur != nil
	s.Authenticated = len(p.cfg.Secret) > 0
	s.SplitPercent = (loadbalance.Count(p.primaryBuckets)*100 + 128) / 256
	s.UnackedUpdates = len(p.inflight)
	s.LastContact = p.lastRecv
	s.ClockSkew, s.ClockSkewWarning = p.skew, p.skewWarned
	if p.applied != nil {
		s.Serving = *p.applied
		s.OwnedBuckets = loadbalance.Count(p.applied.Buckets)
	}
}

// receive handles one message (or the reader's final error).
func (p *Peer) receive(in inbound) {
	if in.err != nil {
		switch {
		case in.auth:
			p.authFailure(p.cur.remote, in.err)
		case isTimeout(in.err):
			p.count(func(c *Counters) { c.Timeouts++ })
		case errors.Is(in.err, wire.ErrShort), errors.Is(in.err, wire.ErrTooLarge), errors.Is(in.err, wire.ErrBadLength), errors.Is(in.err, wire.ErrBadOption):
			p.count(func(c *Counters) { c.Malformed++ })
		}
		p.dropLink(in.err.Error())
		return
	}
	now := p.now()
	m := in.m
	p.lastRecv = now
	p.noteSkew(m, now)
	var act fsm.Actions
	var err error
	switch m.Type {
	case wire.MsgState:
		s, ok := m.Uint8(wire.OptServerState)
		if !ok {
			err = errors.New("STATE without server-state")
			break
		}
		flags, _ := m.Uint8(wire.OptServerFlags)
		stos, _ := m.Uint32(wire.OptStartTimeOfState)
		p.partnerSince = fromUnix(stos)
		if p.cfg.Role == fsm.Primary && p.shareFloor >= 0 {
			// The secondary has adopted our map from CONNECT before
			// sending STATE: the unfinished split change is settled.
			p.setShareFloor(-1)
		}
		act, err = p.machine.Handle(fsm.Event{Kind: fsm.EvPartnerState, Now: now, PartnerState: wire.ServerState(s),
			PartnerStartup: flags&wire.ServerFlagStartup != 0, PartnerSince: p.partnerSince})
	case wire.MsgContact, wire.MsgPoolResp:
		if n, ok := m.Uint32(wire.OptAddressesTransferred); ok && m.Type == wire.MsgPoolResp {
			p.log.Info("failover: partner answered POOLREQ", zap.Uint32("addresses", n))
		}
	case wire.MsgBndUpd, wire.MsgBndAck: // normally in runs (receiveRun)
		p.onRun([]*wire.Message{m}, now)
	case wire.MsgUpdReq:
		p.onUpdReq(m, false)
	case wire.MsgUpdReqAll:
		p.onUpdReq(m, true)
	case wire.MsgUpdDone:
		if p.awaitUpdDone {
			p.awaitUpdDone = false
			act, err = p.machine.Handle(fsm.Event{Kind: fsm.EvUpdDone, Now: now})
		}
	case wire.MsgPoolReq:
		p.onPoolReq(m, now)
	case wire.MsgDisconnect:
		msg, _ := m.Get(wire.OptMessage)
		p.dropLink(fmt.Sprintf("partner sent DISCONNECT: %s", msg))
		return
	case msgSplitPrepare, msgSplitAck, msgSplitCommit:
		p.onSplit(m, now)
	case msgReplicate:
		p.onReplicate(m)
	case msgReplicateAck:
		p.onReplicateAck(m)
	default:
		if m.Type < 128 {
			err = fmt.Errorf("unexpected %s on an established connection", m.Type)
		} // 128..255 unknown: ignored, as the draft allows
	}
	if err != nil {
		p.count(func(c *Counters) { c.Malformed++ })
		p.log.Warn("failover protocol error; dropping the connection", zap.Error(err))
		p.dropLink(err.Error())
		return
	}
	p.afterEvent(now, act)
}

// runnable reports whether in is a well-received BNDUPD or BNDACK, the
// messages handled in runs.
func runnable(in inbound) bool {
	return in.err == nil && in.m != nil && (in.m.Type == wire.MsgBndUpd || in.m.Type == wire.MsgBndAck)
}

// receiveRun handles first and every further BNDUPD or BNDACK already
// waiting on in, up to maxUpdateBatch, as one run (onRun): the BNDUPDs
// share a durable commit and their BNDACKs one write, the BNDACKs refill
// the window once. Both directions' streams interleave on the one
// connection, so a run takes both kinds. A different message that ends
// the run is handled after it, in order.
func (p *Peer) receiveRun(first inbound, in <-chan inbound) {
	run := make([]*wire.Message, 1, min(1+len(in), maxUpdateBatch))
	run[0] = first.m
	var next *inbound
	closed := false
gather:
	for len(run) < maxUpdateBatch {
		select {
		case msg, ok := <-in:
			if !ok {
				closed = true
				break gather
			}
			if !runnable(msg) {
				next = &msg
				break gather
			}
			run = append(run, msg.m)
		default:
			break gather
		}
	}
	now := p.now()
	p.lastRecv = now
	for _, m := range run {
		p.noteSkew(m, now)
	}
	p.onRun(run, now)
	p.afterEvent(now, fsm.Actions{})
	switch {
	case next != nil && p.cur != nil:
		p.receive(*next)
	case closed && p.cur != nil:
		p.dropLink("reader stopped")
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// noteSkew records the partner's clock offset; it only warns, never
// refuses (a skewed pair must keep working).
func (p *Peer) noteSkew(m *wire.Message, now time.Time) {
	if m.Time == 0 {
		return
	}
	p.skew = time.Unix(int64(m.Time), 0).Sub(now.Truncate(time.Second))
	over := p.skew > p.cfg.MaxClockSkew || -p.skew > p.cfg.MaxClockSkew
	if over && !p.skewWarned {
		p.log.Warn("failover partner's clock differs from ours", zap.Duration("skew", p.skew), zap.Duration("bound", p.cfg.MaxClockSkew))
	}
	p.skewWarned = over
}
