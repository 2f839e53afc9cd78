package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Binding is the typed view of the binding options of a BNDUPD (and the
// address of a BNDACK). Zero times mean the option is absent; Has* fields
// say whether an option that can legitimately be zero was present.
type Binding struct {
	IP               netip.Addr
	Status           BindingStatus
	ClientID         []byte // client-identifier data; nil: absent
	HWType           uint8  // first byte of client-hardware-address
	HWAddr           []byte // the rest of client-hardware-address; nil with HWType 0: absent
	HasChaddr        bool
	LeaseExpiry      uint32
	HasLeaseExpiry   bool
	PotentialExpiry  uint32
	HasPotential     bool
	StartTimeOfState uint32
	HasSTOS          bool
	CLTT             uint32
	HasCLTT          bool
	RejectReason     RejectReason // BNDACK only; 0: accepted
	Message          string       // BNDACK only: the message option's text
	IPFlags          uint16
	HasIPFlags       bool
	// Hostname is the client's host name, carried in the DDNS option
	// (draft-12 §12.9: 2 bytes of flags, then the name) with DDNSFlags.
	// "": absent. ISC 4.4 sends it only with DDNS configured.
	Hostname  string
	DDNSFlags uint16
}

// ParseBinding reads the binding options of m. It requires the
// assigned-IP-address option, and binding-status on a BNDUPD.
func ParseBinding(m *Message) (Binding, error) {
	var b Binding
	ip, ok := m.Addr(OptAssignedIPAddress)
	if !ok {
		return b, fmt.Errorf("%s xid %d: no %s", m.Type, m.XID, OptAssignedIPAddress)
	}
	b.IP = ip
	if s, ok := m.Uint8(OptBindingStatus); ok {
		b.Status = BindingStatus(s)
	} else if m.Type == MsgBndUpd {
		return b, fmt.Errorf("BNDUPD xid %d for %s: no %s", m.XID, ip, OptBindingStatus)
	}
	if d, ok := m.Get(OptClientIdentifier); ok {
		b.ClientID = append([]byte{}, d...)
	}
	if d, ok := m.Get(OptChaddr); ok {
		b.HasChaddr, b.HWType, b.HWAddr = true, d[0], append([]byte{}, d[1:]...)
	}
	b.LeaseExpiry, b.HasLeaseExpiry = m.Uint32(OptLeaseExpiry)
	b.PotentialExpiry, b.HasPotential = m.Uint32(OptPotentialExpiry)
	b.StartTimeOfState, b.HasSTOS = m.Uint32(OptStartTimeOfState)
	b.CLTT, b.HasCLTT = m.Uint32(OptCLTT)
	if r, ok := m.Uint8(OptRejectReason); ok {
		b.RejectReason = RejectReason(r)
	}
	if d, ok := m.Get(OptMessage); ok {
		b.Message = string(d)
	}
	if d, ok := m.Get(OptIPFlags); ok {
		b.IPFlags, b.HasIPFlags = binary.BigEndian.Uint16(d), true
	}
	if d, ok := m.Get(OptDDNS); ok { // at least 2 bytes: Parse checks
		b.DDNSFlags, b.Hostname = binary.BigEndian.Uint16(d), string(d[2:])
	}
	return b, nil
}

// BindingOptions appends b's options to m in the order ISC dhcpd 4.4's
// dhcp_failover_send_bind_update writes them: assigned-IP-address,
// binding-status, client-identifier, client-hardware-address,
// lease-expiration-time, potential-expiration-time, start-time-of-state,
// client-last-transaction-time, IP-flags; then DDNS (the host name) when
// there is one.
func BindingOptions(m *Message, b Binding) *Message {
	m.AddAddr(OptAssignedIPAddress, b.IP)
	if m.Type != MsgBndAck || b.Status != 0 {
		m.AddUint8(OptBindingStatus, uint8(b.Status))
	}
	if b.ClientID != nil {
		m.Add(OptClientIdentifier, b.ClientID)
	}
	if b.HasChaddr {
		m.AddJoined(OptChaddr, []byte{b.HWType}, b.HWAddr)
	}
	if b.HasLeaseExpiry {
		m.AddUint32(OptLeaseExpiry, b.LeaseExpiry)
	}
	if b.HasPotential {
		m.AddUint32(OptPotentialExpiry, b.PotentialExpiry)
	}
	if b.HasSTOS {
		m.AddUint32(OptStartTimeOfState, b.StartTimeOfState)
	}
	if b.HasCLTT {
		m.AddUint32(OptCLTT, b.CLTT)
	}
	if b.HasIPFlags {
		m.AddUint16(OptIPFlags, b.IPFlags)
	}
	if b.Hostname != "" {
		var flags [2]byte
		binary.BigEndian.PutUint16(flags[:], b.DDNSFlags)
		m.AddJoined(OptDDNS, flags[:], []byte(b.Hostname))
	}
	if b.RejectReason != 0 {
		m.AddUint8(OptRejectReason, uint8(b.RejectReason))
	}
	if b.Message != "" {
		m.AddJoined(OptMessage, []byte(b.Message))
	}
	return m
}

// HBA is the hash-bucket-assignment bitmap as ISC dhcpd uses it: bit i
// (byte i/8, bit i%8 counted from the least significant) set means bucket i
// belongs to the primary. (draft-12 §12.11 says a set bit is the
// secondary's; ISC sends the primary's own map and the secondary inverts
// it. We follow ISC.)
type HBA [HBASize]byte

// HBAFromBuckets packs a bucket ownership array.
func HBAFromBuckets(owned [256]bool) HBA {
	var h HBA
	for i, o := range owned {
		if o {
			h[i/8] |= 1 << (i % 8)
		}
	}
	return h
}

// Buckets unpacks the bitmap.
func (h HBA) Buckets() [256]bool {
	var owned [256]bool
	for i := range owned {
		owned[i] = h[i/8]&(1<<(i%8)) != 0
	}
	return owned
}
