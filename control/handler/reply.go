package handler

import (
	"encoding/binary"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/xdhcp/xdhcp/control/alloc"
)

// reply builds an OFFER or ACK (RFC 2131 table 3). A zero yiaddr with a
// zero lease time is the ACK to an INFORM: no address, no lease times.
// reservedName is the client's reservation's host name, "" for none.
func (h *Handler) reply(req *dhcpv4.DHCPv4, typ dhcpv4.MessageType, s *Scope, yiaddr netip.Addr, lt time.Duration, reservedName string) *dhcpv4.DHCPv4 {
	r := h.header(req)
	opts := r.Options
	opts[uint8(dhcpv4.OptionDHCPMessageType)] = []byte{byte(typ)}
	if yiaddr.IsValid() {
		r.YourIPAddr = ip(yiaddr)
		secs := uint32(lt / time.Second)
		opts[uint8(dhcpv4.OptionIPAddressLeaseTime)] = be32(secs)
		opts[uint8(dhcpv4.OptionRenewTimeValue)] = be32(secs / 2)
		opts[uint8(dhcpv4.OptionRebindingTimeValue)] = be32(uint32(uint64(secs) * 7 / 8))
	} else {
		r.ClientIPAddr = req.ClientIPAddr
	}
	h.addConfigured(r, req, s, reservedName)
	return r
}

// bootReply builds the BOOTREPLY to an RFC 951 request: no message type and
// no lease time, the configured options in the vendor area.
func (h *Handler) bootReply(req *dhcpv4.DHCPv4, s *Scope, yiaddr netip.Addr, reservedName string) *dhcpv4.DHCPv4 {
	r := h.header(req)
	r.YourIPAddr = ip(yiaddr)
	r.ServerIPAddr = ip(h.serverID)
	delete(r.Options, uint8(dhcpv4.OptionServerIdentifier))
	h.addConfigured(r, req, s, reservedName)
	return r
}

// nak builds a DHCPNAK. Through a relay it asks for broadcast, since the
// client has no usable address (RFC 2131 §4.3.2).
func (h *Handler) nak(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	r := h.header(req)
	r.Options[uint8(dhcpv4.OptionDHCPMessageType)] = []byte{byte(dhcpv4.MessageTypeNak)}
	if !req.GatewayIPAddr.IsUnspecified() && req.GatewayIPAddr != nil {
		r.SetBroadcast()
	}
	return r
}

// header fills the fields every reply copies from its request, plus the
// server identifier and the echoed client identifier (RFC 6842) and relay
// agent information (RFC 3046).
func (h *Handler) header(req *dhcpv4.DHCPv4) *dhcpv4.DHCPv4 {
	r := h.replies.get()
	*r = dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        req.HWType,
		TransactionID: req.TransactionID,
		Flags:         req.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: req.GatewayIPAddr,
		ClientHWAddr:  req.ClientHWAddr,
		Options:       r.Options,
	}
	if r.HWType == 0 {
		r.HWType = iana.HWTypeEthernet
	}
	if r.GatewayIPAddr == nil {
		r.GatewayIPAddr = net.IPv4zero
	}
	r.Options[uint8(dhcpv4.OptionServerIdentifier)] = h.serverID.AsSlice()
	if cid := req.Options.Get(dhcpv4.OptionClientIdentifier); cid != nil {
		r.Options[uint8(dhcpv4.OptionClientIdentifier)] = cid
	}
	if ri := req.Options.Get(dhcpv4.OptionRelayAgentInformation); ri != nil {
		r.Options[uint8(dhcpv4.OptionRelayAgentInformation)] = ri
	}
	return r
}

// addConfigured adds the subnet mask, the reservation's host name and the
// scope's options. With a parameter request list only the requested options
// go out (RFC 2132 §9.8); without one, all configured options do.
func (h *Handler) addConfigured(r, req *dhcpv4.DHCPv4, s *Scope, reservedName string) {
	r.Options[uint8(dhcpv4.OptionSubnetMask)] = s.mask()
	prl := req.Options.Get(dhcpv4.OptionParameterRequestList)
	for code, val := range s.Config.Options {
		if prl != nil && !requested(prl, code) {
			continue
		}
		r.Options[code] = val
	}
	if reservedName != "" {
		r.Options[uint8(dhcpv4.OptionHostName)] = []byte(reservedName)
	}
}

// reservedHostname is the host name of c's reservation in s, "" for none.
func reservedHostname(s *Scope, c alloc.Client) string {
	if res, ok := s.Alloc.Reservation(c); ok {
		return res.Hostname
	}
	return ""
}

func requested(prl []byte, code uint8) bool {
	for _, c := range prl {
		if c == code {
			return true
		}
	}
	return false
}

func be32(v uint32) []byte {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return b
}

func ip(a netip.Addr) net.IP {
	b := a.As4()
	return net.IP(b[:])
}

// scopeTable finds the scope holding an address by binary search over
// subnets sorted by first address; config validation guarantees subnets do
// not overlap.
type scopeTable struct {
	scopes []*Scope
}

func newScopeTable(scopes []*Scope) scopeTable {
	sorted := append([]*Scope(nil), scopes...)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].Config.Subnet.Addr().Less(sorted[j].Config.Subnet.Addr())
	})
	return scopeTable{scopes: sorted}
}

func (t scopeTable) find(a netip.Addr) *Scope {
	// The last subnet starting at or before a is the only one that can hold it.
	i := sort.Search(len(t.scopes), func(i int) bool {
		return a.Less(t.scopes[i].Config.Subnet.Addr())
	})
	if i == 0 {
		return nil
	}
	if s := t.scopes[i-1]; s.Config.Subnet.Contains(a) {
		return s
	}
	return nil
}

// ReplyPool recycles reply messages, each with its option map, so that
// answering a client does not allocate a new message and map every time.
// The zero value is ready to use and safe for concurrent use.
type ReplyPool struct {
	pool sync.Pool
}

// get returns an empty message with an empty option map.
func (p *ReplyPool) get() *dhcpv4.DHCPv4 {
	if r, ok := p.pool.Get().(*dhcpv4.DHCPv4); ok {
		return r
	}
	return &dhcpv4.DHCPv4{Options: make(dhcpv4.Options, 16)}
}

// Put gives back a reply the handler made, once nothing uses it any more
// (it has been encoded and counted). The option values themselves are not
// reused: some are shared with requests and scope configuration.
func (p *ReplyPool) Put(r *dhcpv4.DHCPv4) {
	if r == nil || r.Options == nil {
		return
	}
	opts := r.Options
	clear(opts)
	*r = dhcpv4.DHCPv4{Options: opts}
	p.pool.Put(r)
}
