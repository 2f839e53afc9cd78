package handler

import (
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"

	"github.com/xdhcp/xdhcp/control/lease"
)

func TestFailoverPolicy(t *testing.T) {
	capped := func(desired time.Duration, _ lease.Lease) time.Duration { return min(desired, 5*time.Minute) }
	tests := []struct {
		name     string
		failover bool
		policy   Policy
		msg      func(h *Handler) *dhcpv4.DHCPv4
		outcome  Outcome
		leaseSec uint32 // expected option 51, when answered
	}{
		{name: "silent state drops a discover", failover: true, policy: Policy{Answer: AnswerNone},
			msg: func(*Handler) *dhcpv4.DHCPv4 { return msg(dhcpv4.MessageTypeDiscover, hw(1)) }, outcome: DropFailoverState},
		{name: "a scope outside failover ignores the policy", failover: false, policy: Policy{Answer: AnswerNone},
			msg: func(*Handler) *dhcpv4.DHCPv4 { return msg(dhcpv4.MessageTypeDiscover, hw(1)) }, outcome: Offered, leaseSec: 3600},
		{name: "renew-only drops a discover", failover: true, policy: Policy{Answer: AnswerRenewOnly},
			msg: func(*Handler) *dhcpv4.DHCPv4 { return msg(dhcpv4.MessageTypeDiscover, hw(1)) }, outcome: DropFailoverState},
		{name: "renew-only answers a renewal", failover: true, policy: Policy{Answer: AnswerRenewOnly},
			msg: func(h *Handler) *dhcpv4.DHCPv4 {
				ip := dora(t, h, hw(2))
				return msg(dhcpv4.MessageTypeRequest, hw(2), withCiaddr(ip.String()))
			}, outcome: Acked, leaseSec: 3600},
		{name: "the lease-time rule caps offers and acks", failover: true, policy: Policy{LeaseTime: capped},
			msg: func(*Handler) *dhcpv4.DHCPv4 {
				return msg(dhcpv4.MessageTypeRequest, hw(3), withAddr(dhcpv4.OptionRequestedIPAddress, "192.0.2.101"))
			}, outcome: Acked, leaseSec: 300},
		{name: "a refused renewal on a failover scope is not NAKed", failover: true,
			msg: func(h *Handler) *dhcpv4.DHCPv4 {
				dora(t, h, hw(4))
				return msg(dhcpv4.MessageTypeRequest, hw(5), withCiaddr("192.0.2.100"))
			}, outcome: DropUnknownBinding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newTestHandler(t)
			m := tt.msg(h) // may bind leases before the policy applies
			for _, s := range h.Scopes() {
				s.Failover = tt.failover
			}
			h.SetPolicy(tt.policy)
			res := h.Handle(Request{Msg: m, Link: testLink, Now: t0})
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s", res.Outcome, tt.outcome)
			}
			if tt.leaseSec != 0 {
				got := res.Reply.Message().IPAddressLeaseTime(0)
				if got != time.Duration(tt.leaseSec)*time.Second {
					t.Errorf("lease time %s, want %ds", got, tt.leaseSec)
				}
			}
		})
	}
}
