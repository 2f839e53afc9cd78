package failover

import (
	"fmt"
	"net"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/wire"
)

// unixTime is a failover time field: seconds since 1970, 0 for unset.
func unixTime(t time.Time) uint32 {
	if t.IsZero() || t.Unix() <= 0 {
		return 0
	}
	return uint32(t.Unix())
}

func fromUnix(s uint32) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(int64(s), 0)
}

// bindingFromLease is the BNDUPD view of a lease with potential expiry pot.
func bindingFromLease(l lease.Lease, pot time.Time) wire.Binding {
	b := wire.Binding{
		IP:               l.IP,
		Status:           wire.BindingStatus(l.State),
		ClientID:         l.ClientID,
		LeaseExpiry:      unixTime(l.Expiry),
		HasLeaseExpiry:   true,
		PotentialExpiry:  unixTime(pot),
		HasPotential:     true,
		StartTimeOfState: unixTime(l.Start),
		HasSTOS:          true,
	}
	if len(l.HWAddr) > 0 {
		b.HasChaddr, b.HWType, b.HWAddr = true, l.HWType, l.HWAddr
	}
	if !l.Updated.IsZero() {
		b.CLTT, b.HasCLTT = unixTime(l.Updated), true
	}
	return b
}

// leaseFromBinding is the lease a partner's BNDUPD describes. Fields the
// protocol does not carry (hostname, relay agent information) are empty.
func leaseFromBinding(b wire.Binding) (lease.Lease, error) {
	if !b.IP.Is4() {
		return lease.Lease{}, fmt.Errorf("binding for %v: not an IPv4 address", b.IP)
	}
	if b.Status < wire.BindingFree || b.Status > wire.BindingBackup {
		return lease.Lease{}, fmt.Errorf("binding for %s: unknown binding status %d", b.IP, b.Status)
	}
	l := lease.Lease{
		IP:       b.IP,
		State:    lease.State(b.Status),
		ClientID: b.ClientID,
		Start:    fromUnix(b.StartTimeOfState),
		Expiry:   fromUnix(b.LeaseExpiry),
		Updated:  fromUnix(b.CLTT),
	}
	if b.HasChaddr {
		l.HWType, l.HWAddr = b.HWType, net.HardwareAddr(b.HWAddr)
	}
	return l, nil
}
