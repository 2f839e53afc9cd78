package handler

import (
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
func (h *Handler) reply(req *Request, typ dhcpv4.MessageType, s *Scope, yiaddr netip.Addr, lt time.Duration, reservedName string) *Reply {
	r := h.header(req)
	r.setType(typ, h.typeValue(typ))
	if yiaddr.IsValid() {
		r.hdr.yiaddr = yiaddr.As4()
		times := s.leaseTimes(uint32(lt/time.Second), &r.times)
		r.opts.set(optLeaseTime, times[0])
		r.opts.set(optRenewTime, times[1])
		r.opts.set(optRebindTime, times[2])
	} else {
		r.hdr.ciaddr = as4(req.Msg.ClientIPAddr)
	}
	h.addConfigured(r, req, s, reservedName)
	return r
}

// bootReply builds the BOOTREPLY to an RFC 951 request: no message type and
// no lease time, the configured options in the vendor area.
func (h *Handler) bootReply(req *Request, s *Scope, yiaddr netip.Addr, reservedName string) *Reply {
	r := h.header(req)
	r.hdr.yiaddr = yiaddr.As4()
	r.hdr.siaddr = h.serverID.As4()
	r.opts.remove(optServerID)
	h.addConfigured(r, req, s, reservedName)
	return r
}

// nak builds a DHCPNAK. Through a relay it asks for broadcast, since the
// client has no usable address (RFC 2131 §4.3.2).
func (h *Handler) nak(req *Request) *Reply {
	r := h.header(req)
	r.setType(dhcpv4.MessageTypeNak, h.typeValue(dhcpv4.MessageTypeNak))
	if gi := req.Msg.GatewayIPAddr; !gi.IsUnspecified() && gi != nil {
		r.hdr.flags |= broadcastFlag
	}
	return r
}

// header fills the fields every reply copies from its request, plus the
// server identifier and the echoed client identifier (RFC 6842) and relay
// agent information (RFC 3046).
func (h *Handler) header(req *Request) *Reply {
	m := req.Msg
	r := h.replies.get()
	r.hdr = replyHeader{
		htype:  m.HWType,
		hlen:   uint8(len(m.ClientHWAddr)),
		flags:  m.Flags,
		xid:    m.TransactionID,
		giaddr: as4(m.GatewayIPAddr),
	}
	if r.hdr.htype == 0 {
		r.hdr.htype = iana.HWTypeEthernet
	}
	copy(r.hdr.chaddr[:], m.ClientHWAddr)
	r.msgType = dhcpv4.MessageTypeNone
	r.opts.set(optServerID, h.serverIDValue)
	if cid := req.opts.clientID; cid != nil {
		r.opts.set(optClientID, cid)
	}
	if ri := req.opts.agentInfo; ri != nil {
		r.opts.set(optAgentInfo, ri)
	}
	return r
}

// addConfigured adds the subnet mask, the reservation's host name and the
// scope's options. With a parameter request list only the requested options
// go out (RFC 2132 §9.8); without one, all configured options do.
func (h *Handler) addConfigured(r *Reply, req *Request, s *Scope, reservedName string) {
	r.opts.set(optSubnetMask, s.mask())
	prl := req.opts.prl
	var asked codeSet
	for _, c := range prl {
		asked.add(c)
	}
	for _, o := range s.configured() {
		if prl != nil && !asked.has(o.code) {
			continue
		}
		r.opts.set(o.code, o.value)
	}
	if reservedName != "" {
		r.opts.set(optHostName, []byte(reservedName))
	}
}

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

// ReplyPool recycles replies, so that answering a client does not
// allocate a new reply and its option storage every time. The zero value
// is ready to use and safe for concurrent use.
type ReplyPool struct {
	pool sync.Pool
}

// get returns a reply with no options; header sets the rest.
func (p *ReplyPool) get() *Reply {
	if r, ok := p.pool.Get().(*Reply); ok {
		return r
	}
	return &Reply{opts: replyOptions{values: make([][]byte, 0, 16)}}
}

// Put gives back a reply, once nothing uses it any more (it has been
// encoded and counted). The option values themselves are not reused: some
// are shared with requests and scope configuration.
func (p *ReplyPool) Put(r *Reply) {
	if r == nil {
		return
	}
	r.opts.reset()
	p.pool.Put(r)
}
