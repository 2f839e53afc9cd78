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
	if len(l.Hostname) <= maxHostname {
		b.Hostname = l.Hostname
	}
	return b
}

// maxHostname bounds a carried host name (a DNS name's 253 bytes, with
// room for a trailing dot).
const maxHostname = 255

// cleanHostname keeps a partner's host name only if it is printable ASCII
// of at most maxHostname bytes: it ends up in logs and xdhcpctl output.
func cleanHostname(s string) string {
	if len(s) > maxHostname {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}

// leaseFromBinding is the lease a partner's BNDUPD describes, with the
// host name from the DDNS option. Relay agent information is not carried
// and stays empty.
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
		Hostname: cleanHostname(b.Hostname),
	}
	if b.HasChaddr {
		l.HWType, l.HWAddr = b.HWType, net.HardwareAddr(b.HWAddr)
	}
	return l, nil
}
