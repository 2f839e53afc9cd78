package lease

import (
	"net"
	"net/netip"
	"time"
)

// State is the binding state of one address. The values follow the binding
// states of the DHCP failover protocol (draft-ietf-dhc-failover-12 §5.9) so
// that failover can carry them unchanged.
type State uint8

// Binding states. Free addresses are normally not stored at all; a stored
// Free record only appears when failover needs to record ownership.
const (
	StateFree      State = 1
	StateActive    State = 2
	StateExpired   State = 3
	StateReleased  State = 4
	StateAbandoned State = 5 // declined by a client (DHCPDECLINE) or found in use
	StateReset     State = 6
	StateBackup    State = 7
)

// String returns the lower-case name of the state.
func (s State) String() string {
	switch s {
	case StateFree:
		return "free"
	case StateActive:
		return "active"
	case StateExpired:
		return "expired"
	case StateReleased:
		return "released"
	case StateAbandoned:
		return "abandoned"
	case StateReset:
		return "reset"
	case StateBackup:
		return "backup"
	}
	return "unknown"
}

// Lease is the durable record of one IPv4 address's binding.
type Lease struct {
	IP        netip.Addr
	State     State
	ClientID  []byte           // option 61 data including the type byte; nil when the client sent none
	HWType    uint8            // htype from the BOOTP header
	HWAddr    net.HardwareAddr // chaddr[:hlen]
	Hostname  string           // option 12 or the reservation's hostname
	Start     time.Time        // when the current binding began
	Expiry    time.Time        // end of the lease (Active), or until when the state holds (Abandoned)
	Updated   time.Time        // client last transaction time (cltt)
	CircuitID []byte           // option 82 sub-option 1 of the request that bound it
	RemoteID  []byte           // option 82 sub-option 2
}
