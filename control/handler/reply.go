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
func (h *Handler) reply(req *Request, typ dhcpv4.MessageType, s *Scope, yiaddr netip.Addr, lt time.Duration, reservedName string) *dhcpv4.DHCPv4 {
	r := h.header(req)
	opts := r.Options
	opts[optMessageType] = h.typeValue(typ)
	if yiaddr.IsValid() {
		r.YourIPAddr = req.yourIP(yiaddr)
		times := s.leaseTimes(uint32(lt / time.Second))
		opts[optLeaseTime] = times[0]
		opts[optRenewTime] = times[1]
		opts[optRebindTime] = times[2]
	} else {
		r.ClientIPAddr = req.Msg.ClientIPAddr
	}
	h.addConfigured(r, req, s, reservedName)
	return r
}

// bootReply builds the BOOTREPLY to an RFC 951 request: no message type and
// no lease time, the configured options in the vendor area.
func (h *Handler) bootReply(req *Request, s *Scope, yiaddr netip.Addr, reservedName string) *dhcpv4.DHCPv4 {
	r := h.header(req)
	r.YourIPAddr = req.yourIP(yiaddr)
	r.ServerIPAddr = ip(h.serverID)
	delete(r.Options, optServerID)
	h.addConfigured(r, req, s, reservedName)
	return r
}

// nak builds a DHCPNAK. Through a relay it asks for broadcast, since the
// client has no usable address (RFC 2131 §4.3.2).
func (h *Handler) nak(req *Request) *dhcpv4.DHCPv4 {
	r := h.header(req)
	r.Options[optMessageType] = h.typeValue(dhcpv4.MessageTypeNak)
	if gi := req.Msg.GatewayIPAddr; !gi.IsUnspecified() && gi != nil {
		r.SetBroadcast()
	}
	return r
}

// header fills the fields every reply copies from its request, plus the
// server identifier and the echoed client identifier (RFC 6842) and relay
// agent information (RFC 3046).
func (h *Handler) header(req *Request) *dhcpv4.DHCPv4 {
	m := req.Msg
	r := h.replies.get()
	*r = dhcpv4.DHCPv4{
		OpCode:        dhcpv4.OpcodeBootReply,
		HWType:        m.HWType,
		TransactionID: m.TransactionID,
		Flags:         m.Flags,
		ClientIPAddr:  net.IPv4zero,
		YourIPAddr:    net.IPv4zero,
		ServerIPAddr:  net.IPv4zero,
		GatewayIPAddr: m.GatewayIPAddr,
		ClientHWAddr:  m.ClientHWAddr,
		Options:       r.Options,
	}
	if r.HWType == 0 {
		r.HWType = iana.HWTypeEthernet
	}
	if r.GatewayIPAddr == nil {
		r.GatewayIPAddr = net.IPv4zero
	}
	r.Options[optServerID] = h.serverIDValue
	if cid := req.opts.clientID; cid != nil {
		r.Options[optClientID] = cid
	}
	if ri := req.opts.agentInfo; ri != nil {
		r.Options[optAgentInfo] = ri
	}
	return r
}

// addConfigured adds the subnet mask, the reservation's host name and the
// scope's options. With a parameter request list only the requested options
// go out (RFC 2132 §9.8); without one, all configured options do.
func (h *Handler) addConfigured(r *dhcpv4.DHCPv4, req *Request, s *Scope, reservedName string) {
	r.Options[optSubnetMask] = s.mask()
	prl := req.opts.prl
	var asked codeSet
	for _, c := range prl {
		asked.add(c)
	}
	for _, o := range s.configured() {
		if prl != nil && !asked.has(o.code) {
			continue
		}
		r.Options[o.code] = o.value
	}
	if reservedName != "" {
		r.Options[optHostName] = []byte(reservedName)
	}
}

// codeSet is a set of option codes.
type codeSet [4]uint64

func (c *codeSet) add(code uint8)      { c[code>>6] |= 1 << (code & 63) }
func (c *codeSet) has(code uint8) bool { return c[code>>6]&(1<<(code&63)) != 0 }

// typeValue returns option 53's value for typ; the handler's values are
// shared by its replies and never written.
func (h *Handler) typeValue(typ dhcpv4.MessageType) []byte {
	if int(typ) < len(h.typeValues) {
		return h.typeValues[typ]
	}
	return []byte{byte(typ)}
}

// reservedHostname is the host name of c's reservation in s, "" for none.
func reservedHostname(s *Scope, c alloc.Client) string {
	if res, ok := s.Alloc.Reservation(c); ok {
		return res.Hostname
	}
	return ""
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
