package handler

import (
	"net/netip"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
)

// Answer says which clients of the failover scopes the server may answer
// in its current failover state (draft-ietf-dhc-failover-12 §9).
type Answer uint8

// The answer policies; the zero value answers everyone.
const (
	AnswerAll       Answer = iota // NORMAL, COMMUNICATIONS-INTERRUPTED, PARTNER-DOWN
	AnswerRenewOnly               // only RENEWING and REBINDING requests (RECOVER-DONE)
	AnswerNone                    // silent (STARTUP, RECOVER, PAUSED, ...)
)

// Policy is what failover allows on the scopes marked Failover. Scopes
// outside the failover relationship are not affected.
type Policy struct {
	Answer Answer
	// LeaseTime, when set, limits the lease time of a binding that is
	// being made or extended (the MCLT rule); current is the address's
	// lease before the change.
	LeaseTime func(desired time.Duration, current lease.Lease) time.Duration
}

// SetPolicy replaces the failover policy; it applies to the next message.
func (h *Handler) SetPolicy(p Policy) { h.policy.Store(&p) }

// Policy returns the failover policy in force.
func (h *Handler) Policy() Policy {
	if p := h.policy.Load(); p != nil {
		return *p
	}
	return Policy{}
}

// answers reports whether s may answer a message; renewing is true for a
// REQUEST in RENEWING or REBINDING.
func (h *Handler) answers(s *Scope, renewing bool) bool {
	if !s.Failover {
		return true
	}
	switch h.Policy().Answer {
	case AnswerNone:
		return false
	case AnswerRenewOnly:
		return renewing
	}
	return true
}

// limitLeaseTime applies the failover lease-time rule to a binding of ip
// in s.
func (h *Handler) limitLeaseTime(s *Scope, ip netip.Addr, desired time.Duration) time.Duration {
	if !s.Failover {
		return desired
	}
	p := h.Policy()
	if p.LeaseTime == nil {
		return desired
	}
	current, ok := s.Alloc.Lookup(ip)
	if !ok {
		current = lease.Lease{IP: ip}
	}
	return p.LeaseTime(desired, current)
}
