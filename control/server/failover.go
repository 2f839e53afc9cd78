package server

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/alloc"
	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/control/handler"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover"
	"github.com/xdhcp/xdhcp/failover/fsm"
)

// Partner is the failover engine as the DHCP path uses it.
type Partner interface {
	// LeaseTime limits a binding's lease time by the MCLT rule.
	LeaseTime(desired time.Duration, current lease.Lease) time.Duration
	// Updated queues a durably changed binding for the partner.
	Updated(l lease.Lease)
}

// BucketSetter programs which RFC 3074 buckets this server answers, in the
// XDP program and the Go filter alike.
type BucketSetter interface {
	SetOwnedBuckets(owned [256]bool, loadBalancing bool) error
}

// The server is the failover engine's view of the DHCP side.
var (
	_ failover.Deps       = (*Server)(nil)
	_ failover.FreePools  = (*Server)(nil)
	_ failover.AckHandler = (*Server)(nil)
)

// failoverState is what the server remembers of failover between handler
// rebuilds (reload): the engine, the role and the last serving policy.
type failoverState struct {
	mu      sync.Mutex
	partner FailoverPeer
	role    alloc.Role
	mclt    time.Duration
	scopes  map[netip.Prefix]bool // subnets under failover
	policy  fsm.ServingPolicy
	share   int // the primary's share (percent) the allocators were divided by; -1: not yet
	applied bool
	rep     replicaState // scope settings replication (replicate.go); its own lock
}

func (s *Server) enableFailover(p FailoverPeer, secondary bool, mclt time.Duration, subnets []netip.Prefix) {
	f := &s.fo
	f.mu.Lock()
	defer f.mu.Unlock()
	f.partner, f.mclt, f.share = p, mclt, -1
	f.role = alloc.RolePrimary
	if secondary {
		f.role = alloc.RoleSecondary
	}
	f.scopes = map[netip.Prefix]bool{}
	for _, sn := range subnets {
		f.scopes[sn] = true
	}
	if len(subnets) == 0 {
		for _, sc := range s.cfg.Scopes {
			f.scopes[sc.Subnet] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markFailoverScopes(s.h)
	// Until the engine says otherwise (STARTUP), answer nobody on the
	// failover scopes and hand out nothing.
	s.applyPolicy(s.h, fsm.ServingPolicy{}, time.Now())
}

// EnableFailover marks the scopes in subnets (all scopes when empty) as
// served with the partner, in role primary or secondary, and puts in force
// the failover scopes replicated from the partner before a restart, if
// they still override the file's. Call it before Run and before the
// engine starts; p receives every durable change.
func (s *Server) EnableFailover(p FailoverPeer, secondary bool, mclt time.Duration, subnets []netip.Prefix) {
	s.enableFailover(p, secondary, mclt, subnets)
	s.startReplica()
}

// markFailoverScopes flags h's failover scopes; s.fo.mu is held.
func (s *Server) markFailoverScopes(h *handler.Handler) {
	for _, sc := range h.Scopes() {
		sc.Failover = s.fo.scopes[sc.Config.Subnet]
	}
}

func (s *Server) failoverScopes(h *handler.Handler) []*handler.Scope {
	var out []*handler.Scope
	for _, sc := range h.Scopes() {
		if sc.Failover {
			out = append(out, sc)
		}
	}
	return out
}

// partnerUpdated tells the partner about durable changes in failover scopes.
func (s *Server) partnerUpdated(leases []lease.Lease) {
	p := s.fo.partner
	if p == nil {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, l := range leases {
		if sc := s.h.ScopeOf(l.IP); sc != nil && sc.Failover {
			p.Updated(l)
		}
	}
}

// PutMeta stores failover state durably (failover.StateStore).
func (s *Server) PutMeta(key string, val []byte) error { return s.store.PutMeta(key, val) }

// GetMeta reads failover state (failover.StateStore).
func (s *Server) GetMeta(key string) ([]byte, bool, error) { return s.store.GetMeta(key) }

// ApplyBinding takes a binding from the partner (or a pool transfer the
// engine decided): the allocator judges it, the binding in force is made
// durable, and a refusal goes back with its draft reject reason.
func (s *Server) ApplyBinding(l lease.Lease) error {
	rec, err := s.StageBinding(l)
	if err != nil {
		return err
	}
	return s.CommitBindings([]lease.Lease{rec})
}

// StageBinding judges a partner's binding in its scope's allocator and
// puts the outcome in force in memory; the returned record must be made
// durable (CommitBindings) before the partner is told (failover's
// BatchApplier).
func (s *Server) StageBinding(l lease.Lease) (lease.Lease, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	sc := s.h.ScopeOf(l.IP)
	if sc == nil || !sc.Failover {
		return lease.Lease{}, &failover.RejectError{Reason: uint8(alloc.RejectIllegalAddress), Err: fmt.Errorf("%s is in no failover scope here", l.IP)}
	}
	rec, err := sc.Alloc.Apply(l, time.Now())
	var rej *alloc.RejectError
	switch {
	case errors.As(err, &rej):
		return lease.Lease{}, &failover.RejectError{Reason: uint8(rej.Reason), Err: rej}
	case err != nil:
		return lease.Lease{}, fmt.Errorf("apply partner binding %s: %w", l.IP, err)
	}
	return rec, nil
}

// CommitBindings makes staged partner bindings durable in one commit.
func (s *Server) CommitBindings(recs []lease.Lease) error {
	h := s.handler()
	if err := s.store.Commit(context.Background(), recs...); err != nil {
		return fmt.Errorf("store %d partner bindings: %w", len(recs), err)
	}
	h.Committed(recs)
	return nil
}

// CommitBindingsAsync queues staged partner bindings for one durable
// commit and reports its outcome to done from the lease store's
// committer, so the failover engine goes on with the stream meanwhile
// (failover.AsyncBatchApplier).
func (s *Server) CommitBindingsAsync(recs []lease.Lease, done func(error)) {
	// The handler is taken now: the committer's callback must not take
	// s.mu, which a reload holds while it commits. Should a reload
	// replace the handler meanwhile, the marks land on the old
	// allocators, and the new ones reuse these leases only if they read
	// them from the store (else from their next write on).
	h := s.handler()
	s.store.CommitAllAsync(recs, func(err error) {
		if err != nil {
			err = fmt.Errorf("store %d partner bindings: %w", len(recs), err)
		} else {
			h.Committed(recs)
		}
		done(err)
	})
}

// handler returns the handler in force.
func (s *Server) handler() *handler.Handler {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.h
}

// ForEachBinding walks every stored binding of the failover scopes.
func (s *Server) ForEachBinding(fn func(lease.Lease) bool) {
	stop := errors.New("stop")
	err := s.store.ForEach(func(l lease.Lease) error {
		s.mu.RLock()
		sc := s.h.ScopeOf(l.IP)
		s.mu.RUnlock()
		if sc == nil || !sc.Failover {
			return nil
		}
		if !fn(l) {
			return stop
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		s.log.Error("reading bindings for the partner", zap.Error(err))
	}
}

// SetOwnedBuckets programs the dataplane's bucket map.
func (s *Server) SetOwnedBuckets(owned [256]bool, loadBalancing bool) error {
	if s.opts.Buckets == nil {
		return nil
	}
	return s.opts.Buckets.SetOwnedBuckets(owned, loadBalancing)
}

// SetServing applies the failover state's serving policy: what the handler
// answers, which free addresses the allocators may use, and how the free
// addresses are divided between the partners.
func (s *Server) SetServing(p fsm.ServingPolicy) {
	s.fo.mu.Lock()
	defer s.fo.mu.Unlock()
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.applyPolicy(s.h, p, time.Now())
}

// applyPolicy puts p in force on h. Lock order: s.fo.mu, then s.mu (either
// mode); both are held.
func (s *Server) applyPolicy(h *handler.Handler, p fsm.ServingPolicy, now time.Time) {
	f := &s.fo
	f.policy, f.applied = p, true
	answer := handler.AnswerAll
	switch p.Answer {
	case fsm.AnswerNone:
		answer = handler.AnswerNone
	case fsm.AnswerRenewOnly:
		answer = handler.AnswerRenewOnly
	}
	pol := handler.Policy{Answer: answer}
	if f.partner != nil {
		pol.LeaseTime = f.partner.LeaseTime
	}
	h.SetPolicy(pol)
	allocation := alloc.AllocOwn
	switch p.Allocate {
	case fsm.AllocateNone:
		allocation = alloc.AllocNone
	case fsm.AllocateAll:
		allocation = alloc.AllocAll
	}
	var moved []lease.Lease
	for _, sc := range s.failoverScopes(h) {
		sc.Alloc.SetAllocation(allocation)
		if p.PrimaryShare != f.share && p.PrimaryShare > 0 {
			recs, err := sc.Alloc.SetShare(f.role, p.PrimaryShare*10, now)
			if err != nil {
				s.log.Error("dividing free addresses with the partner", zap.Stringer("scope", sc.Config.Subnet), zap.Error(err))
				continue
			}
			moved = append(moved, recs...)
		}
	}
	if p.PrimaryShare > 0 {
		f.share = p.PrimaryShare
	}
	if len(moved) > 0 {
		if err := s.store.Commit(context.Background(), moved...); err != nil {
			s.log.Error("storing the new division of free addresses", zap.Int("addresses", len(moved)), zap.Error(err))
		}
	}
}

// reapplyFailover puts the failover marks and policy on a handler built
// by reload; s.fo.mu and s.mu (for writing) are held.
func (s *Server) reapplyFailover(h *handler.Handler) {
	f := &s.fo
	if f.scopes == nil {
		return
	}
	s.markFailoverScopes(h)
	p := f.policy
	if p.PrimaryShare == 0 {
		p.PrimaryShare = f.share
	}
	f.share = -1 // new allocators: divide them again
	s.applyPolicy(h, p, time.Now())
}

// ForEachFree lists the free addresses of the failover scopes with their
// owner: lease.StateFree for the primary's, lease.StateBackup for the
// secondary's (failover.FreePools).
func (s *Server) ForEachFree(fn func(ip netip.Addr, owner lease.State) bool) {
	s.mu.RLock()
	scopes := s.failoverScopes(s.h)
	s.mu.RUnlock()
	for _, sc := range scopes {
		goOn := true
		sc.Alloc.ForEachFree(func(ip netip.Addr, owner lease.State) bool {
			goOn = fn(ip, owner)
			return goOn
		})
		if !goOn {
			return
		}
	}
}

// GiveFree hands up to n of this server's free addresses to the partner,
// durably, and returns their records for the engine to send.
func (s *Server) GiveFree(n int) ([]lease.Lease, error) {
	now := time.Now()
	s.mu.RLock()
	var given []lease.Lease
	for _, sc := range s.failoverScopes(s.h) {
		if len(given) >= n {
			break
		}
		recs, err := sc.Alloc.Transfer(n-len(given), alloc.OwnerSelf, now)
		if err != nil {
			s.mu.RUnlock()
			return nil, fmt.Errorf("give free addresses of %s: %w", sc.Config.Subnet, err)
		}
		given = append(given, recs...)
	}
	s.mu.RUnlock()
	if err := s.store.Commit(context.Background(), given...); err != nil {
		return nil, fmt.Errorf("store given addresses: %w", err)
	}
	return given, nil
}

// BindingAcked hears that the partner accepted one of our updates: an
// expired or released address may now be handed out again.
func (s *Server) BindingAcked(l lease.Lease) {
	s.mu.RLock()
	sc := s.h.ScopeOf(l.IP)
	var (
		free lease.Lease
		ok   bool
	)
	if sc != nil && sc.Failover {
		free, ok = sc.Alloc.Acked(l.IP, time.Now())
	}
	s.mu.RUnlock()
	if !ok {
		return
	}
	if err := s.store.Commit(context.Background(), free); err != nil {
		s.log.Error("storing a freed address", zap.Stringer("ip", l.IP), zap.Error(err))
	}
}

// reclaimAfterMCLT frees, in PARTNER-DOWN once MCLT has passed, the
// addresses still waiting for the dead partner's acknowledgement. It takes
// the locks itself, in order.
func (s *Server) reclaimAfterMCLT(now time.Time) []lease.Lease {
	f := &s.fo
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.scopes == nil || f.policy.Allocate != fsm.AllocateAll {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []lease.Lease
	for _, sc := range s.failoverScopes(s.h) {
		out = append(out, sc.Alloc.ReclaimAwaiting(now.Add(-f.mclt), now)...)
	}
	return out
}

// FailoverPeer is the failover engine: the DHCP path's Partner, and what
// xdhcpctl's failover commands reach. *failover.Peer is one.
type FailoverPeer interface {
	Partner
	Status() failover.Status
	PartnerDown() error
	SetSplit(percent int) error
	Replicate(force bool) (failover.ReplicateResult, error)
}

var _ FailoverPeer = (*failover.Peer)(nil)

// waitFailover waits, when the engine ran, for it to finish its stop
// sequence (it tells the partner and stores its state) so that the store
// is still open for it; at most stopWait.
func (s *Server) waitFailover(stopWait time.Duration) {
	p, ok := s.fo.partner.(interface{ Stopped() <-chan struct{} })
	if !ok || !s.engineStarted() {
		return
	}
	select {
	case <-p.Stopped():
	case <-time.After(stopWait):
		s.log.Warn("the failover engine did not finish stopping in time", zap.Duration("waited", stopWait))
	}
}

// failoverControl runs the failover commands of xdhcpctl.
func (s *Server) failoverControl(req api.Request) (any, error) {
	fc := s.fo.partner
	if fc == nil {
		return nil, errors.New("failover is not configured on this server (no failover section)")
	}
	switch req.Command {
	case api.CmdFailoverReplicate:
		return s.replicateControl(fc, req.Force)
	case api.CmdFailoverPartnerDown:
		if err := fc.PartnerDown(); err != nil {
			return nil, fmt.Errorf("partner-down: %w", err)
		}
	case api.CmdFailoverSplit:
		if req.Percent < 0 || req.Percent > 100 {
			return nil, fmt.Errorf("split: %d is not a percentage from 0 to 100", req.Percent)
		}
		if err := fc.SetSplit(req.Percent); err != nil {
			return nil, fmt.Errorf("split %d: %w", req.Percent, err)
		}
		// The engine publishes its status snapshot on its own loop: give
		// it a moment so the answer shows the new split.
		for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if fc.Status().SplitPercent == req.Percent {
				break
			}
		}
	}
	st := failoverStatus(fc.Status())
	st.Settings, st.SettingsReplicated = s.settingsVersion()
	return st, nil
}

func failoverStatus(st failover.Status) api.FailoverStatus {
	c := st.Counters
	out := api.FailoverStatus{
		Name: st.Name, Role: st.Role, Mode: st.Mode, State: st.State, StateSince: st.StateSince,
		PartnerState: st.PartnerState, PartnerSince: st.PartnerSince, Connected: st.Connected,
		SplitPercent: st.SplitPercent, MCLTSeconds: st.MCLT.Seconds(), Authenticated: st.Authenticated,
		UnackedUpdates: st.UnackedUpdates, PendingUpdates: st.PendingUpdates, LastContact: st.LastContact,
		ClockSkewSeconds: st.ClockSkew.Seconds(), ClockSkewWarning: st.ClockSkewWarning, OwnedBuckets: st.OwnedBuckets,
		Answering:  []string{"none", "renewals", "all"}[min(int(st.Serving.Answer), 2)],
		Allocating: []string{"none", "own share", "all"}[min(int(st.Serving.Allocate), 2)],
		Counters: map[string]uint64{
			"connections": c.Connections, "auth-failures": c.AuthFailures, "malformed": c.Malformed,
			"timeouts": c.Timeouts, "updates-sent": c.UpdatesSent, "updates-acked": c.UpdatesAcked,
			"updates-rejected": c.UpdatesRejected, "updates-resent": c.UpdatesResent, "updates-received": c.UpdatesReceived,
			"apply-failures": c.ApplyFailures, "addresses-moved": c.AddressesMoved,
			"settings-pushed": c.SettingsPushed, "settings-applied": c.SettingsApplied, "settings-refused": c.SettingsRefused,
		},
		RejectedBy: st.RejectedBy,
		ReplicationLag: api.LagSummary{Count: st.ReplicationLag.Count, MeanSeconds: st.ReplicationLag.Mean().Seconds(),
			P50Seconds: st.ReplicationLag.Quantile(0.5).Seconds(), P99Seconds: st.ReplicationLag.Quantile(0.99).Seconds()},
	}
	return out
}
