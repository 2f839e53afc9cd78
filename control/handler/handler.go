package handler

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/alloc"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

// Outcome says what Handle did with a message; the server counts outcomes.
type Outcome uint8

// Outcomes. The Drop* outcomes send nothing.
const (
	Offered Outcome = iota
	Acked
	Naked
	Released
	Declined
	Informed
	BootpReplied
	DropNoScope        // no scope serves the client's network
	DropNotForUs       // a REQUEST or DECLINE naming another server
	DropPoolExhausted  // no free address in any candidate scope
	DropMalformed      // missing or contradictory fields
	DropProtocol       // DHCP to a bootp-only scope, or BOOTP to a dhcp-only one
	DropUnknownType    // a message type a server does not answer (OFFER, ACK, ...)
	DropUnknownBinding // RELEASE or DECLINE for an address not bound to the client
	DropFailoverState  // the failover state does not let this server answer (RECOVER, PAUSED, ...)
	outcomeLen
)

var outcomeNames = [outcomeLen]string{
	Offered:            "offer",
	Acked:              "ack",
	Naked:              "nak",
	Released:           "release",
	Declined:           "decline",
	Informed:           "inform",
	BootpReplied:       "bootp-reply",
	DropNoScope:        "no-scope",
	DropNotForUs:       "not-for-us",
	DropPoolExhausted:  "pool-exhausted",
	DropMalformed:      "malformed",
	DropProtocol:       "protocol-not-allowed",
	DropUnknownType:    "unknown-type",
	DropUnknownBinding: "unknown-binding",
	DropFailoverState:  "failover-state",
}

// String names the outcome for logs and metrics.
func (o Outcome) String() string {
	if o < outcomeLen {
		return outcomeNames[o]
	}
	return "unknown"
}

// Outcomes lists every outcome, for metrics that want all labels up front.
func Outcomes() []Outcome {
	all := make([]Outcome, outcomeLen)
	for i := range all {
		all[i] = Outcome(i)
	}
	return all
}

// Dropped reports whether the outcome sends no reply.
func (o Outcome) Dropped() bool { return o >= DropNoScope }

// Scope is one served subnet: its configuration and its allocator.
type Scope struct {
	Config   config.Scope
	Alloc    *alloc.Scope
	Failover bool // served together with the failover partner: the failover Policy applies

	// Option values computed once by New from Config, shared by every
	// reply and never written.
	prepared    bool
	subnetMask  []byte        // option 1
	options     []scopeOption // Config.Options in code order
	leaseSecs   uint32        // Config.LeaseTime in seconds
	leaseValues [3][]byte     // options 51, 58 and 59 for leaseSecs
}

// scopeOption is one configured option with its value.
type scopeOption struct {
	code  uint8
	value []byte
}

// prepare computes the scope's constant option values.
func (s *Scope) prepare() {
	s.subnetMask = net.CIDRMask(s.Config.Subnet.Bits(), 32)
	s.options = sortedOptions(s.Config.Options)
	s.leaseSecs = uint32(s.Config.LeaseTime.D() / time.Second)
	s.leaseValues = leaseTimeValues(s.leaseSecs)
	s.prepared = true
}

// mask returns the scope's subnet mask as option 1 carries it.
func (s *Scope) mask() []byte {
	if s.prepared {
		return s.subnetMask
	}
	return net.CIDRMask(s.Config.Subnet.Bits(), 32)
}

// configured returns the scope's configured options.
func (s *Scope) configured() []scopeOption {
	if s.prepared {
		return s.options
	}
	return sortedOptions(s.Config.Options)
}

func sortedOptions(opts config.Options) []scopeOption {
	list := make([]scopeOption, 0, len(opts))
	for code, v := range opts {
		list = append(list, scopeOption{code: code, value: v})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].code < list[j].code })
	return list
}

// leaseTimes returns the values of options 51, 58 and 59 for a lease of
// secs seconds: the scope's own for its lease time, else new ones written
// into buf (a reply's own storage, so that a shortened lease allocates
// nothing).
func (s *Scope) leaseTimes(secs uint32, buf *[12]byte) [3][]byte {
	if s.prepared && secs == s.leaseSecs {
		return s.leaseValues
	}
	putLeaseTimes(buf, secs)
	return [3][]byte{buf[0:4:4], buf[4:8:8], buf[8:12:12]}
}

// leaseTimeValues encodes the lease time, T1 and T2 in one allocation.
func leaseTimeValues(secs uint32) [3][]byte {
	b := new([12]byte)
	putLeaseTimes(b, secs)
	return [3][]byte{b[0:4:4], b[4:8:8], b[8:12:12]}
}

// putLeaseTimes writes the lease time, T1 (half of it) and T2 (7/8 of it).
func putLeaseTimes(b *[12]byte, secs uint32) {
	binary.BigEndian.PutUint32(b[0:], secs)
	binary.BigEndian.PutUint32(b[4:], secs/2)
	binary.BigEndian.PutUint32(b[8:], uint32(uint64(secs)*7/8))
}

// Link is a serving interface as the handler needs to know it.
type Link struct {
	Index int
	Name  string
	Addrs []netip.Prefix // the interface's IPv4 addresses with their prefix lengths
}

// Request is one received message with where it came from.
type Request struct {
	Msg  *dhcpv4.DHCPv4
	Link int // interface index it arrived on
	Now  time.Time

	opts    reqOptions // Msg's options the handler reads
	decoded *Decoded   // Msg's Decoded when handled by HandleDecoded: storage for the Result
}

// Result is what to do about a request: persist Lease (when non-nil) and
// only then send Reply (when non-nil).
type Result struct {
	Outcome Outcome
	Reply   *Reply
	Lease   *lease.Lease
	Scope   *Scope // the scope that answered, nil when none did
}

// Handler answers DHCP messages for a fixed set of scopes. It is safe for
// concurrent use: each allocator locks itself.
type Handler struct {
	log      *zap.Logger
	serverID netip.Addr
	table    scopeTable
	links    map[int][]*Scope
	policy   atomic.Pointer[Policy]
	replies  *ReplyPool

	serverIDValue []byte    // option 54
	typeValues    [9][]byte // option 53 by message type
}

// New builds a handler serving scopes on links, identifying itself as
// serverID. The order of scopes is kept for links that carry several.
// Replies come from replies (nil: a pool of the handler's own); a caller
// that is done with a Result's Reply may give it back with replies.Put.
func New(log *zap.Logger, serverID netip.Addr, scopes []*Scope, links []Link, replies *ReplyPool) (*Handler, error) {
	if !serverID.Is4() {
		return nil, errors.New("handler: server identifier must be an IPv4 address")
	}
	h := &Handler{
		log:      log,
		serverID: serverID,
		table:    newScopeTable(scopes),
		links:    make(map[int][]*Scope, len(links)),
		replies:  replies,
	}
	if h.replies == nil {
		h.replies = new(ReplyPool)
	}
	h.serverIDValue = serverID.AsSlice()
	for typ := range h.typeValues {
		h.typeValues[typ] = []byte{byte(typ)}
	}
	for _, s := range scopes {
		s.prepare()
	}
	for _, l := range links {
		for _, p := range l.Addrs {
			if s := h.table.find(p.Addr()); s != nil && s.Config.Subnet.Contains(p.Addr()) {
				h.links[l.Index] = appendUnique(h.links[l.Index], s)
			}
		}
	}
	return h, nil
}

func appendUnique(list []*Scope, s *Scope) []*Scope {
	for _, have := range list {
		if have == s {
			return list
		}
	}
	return append(list, s)
}

// Scopes returns the scopes in address order.
func (h *Handler) Scopes() []*Scope { return h.table.scopes }

// ScopeOf returns the scope whose subnet holds a, or nil.
func (h *Handler) ScopeOf(a netip.Addr) *Scope { return h.table.find(a) }

// ServerID is the address the handler puts in option 54.
func (h *Handler) ServerID() netip.Addr { return h.serverID }

// Handle decides the answer to one message.
func (h *Handler) Handle(req Request) Result {
	req.opts = scanOptions(req.Msg)
	req.decoded = nil
	return h.handle(&req)
}

// HandleDecoded decides the answer to a message that RequestPool.Decode
// decoded, as Handle does, using what the decoder already found: the
// options it reads need no option map, and the Result's lease lives in d
// instead of a new allocation. It is valid until d is given back to the
// pool or handled again.
func (h *Handler) HandleDecoded(d *Decoded, link int, now time.Time) Result {
	req := Request{Msg: &d.msg, Link: link, Now: now, opts: d.opts, decoded: d}
	return h.handle(&req)
}

func (h *Handler) handle(req *Request) Result {
	m := req.Msg
	if m.OpCode != dhcpv4.OpcodeBootRequest || len(m.ClientHWAddr) == 0 {
		return Result{Outcome: DropMalformed}
	}
	if !req.opts.hasType {
		return h.bootp(req)
	}
	switch req.opts.messageType() {
	case dhcpv4.MessageTypeDiscover:
		return h.discover(req)
	case dhcpv4.MessageTypeRequest:
		return h.request(req)
	case dhcpv4.MessageTypeRelease:
		return h.release(req)
	case dhcpv4.MessageTypeDecline:
		return h.decline(req)
	case dhcpv4.MessageTypeInform:
		return h.inform(req)
	}
	return Result{Outcome: DropUnknownType}
}

// candidates returns the scopes that may serve a client on its network:
// the scope holding giaddr when relayed, else the link's scopes.
func (h *Handler) candidates(req *Request) []*Scope {
	if gi, ok := addr4(req.Msg.GatewayIPAddr); ok {
		if s := h.table.find(gi); s != nil {
			return []*Scope{s}
		}
		return nil
	}
	return h.links[req.Link]
}

func (h *Handler) discover(req *Request) Result {
	cands := h.candidates(req)
	if len(cands) == 0 {
		return Result{Outcome: DropNoScope}
	}
	c := clientOf(req)
	requested, _ := optAddr(req.opts.requested)
	served, silenced := false, false
	for _, s := range cands {
		if !s.allows(false) {
			continue
		}
		if !h.answers(s, false) {
			silenced = true
			continue
		}
		served = true
		ip, err := s.Alloc.Offer(c, requested, req.Now)
		if errors.Is(err, alloc.ErrNoAddrAvail) {
			continue
		}
		if err != nil {
			h.log.Debug("offer refused", zap.Stringer("scope", s.Config.Subnet), zap.Error(err))
			continue
		}
		reply := h.reply(req, dhcpv4.MessageTypeOffer, s, ip, h.limitLeaseTime(s, ip, s.leaseTime(req)), reservedHostname(s, c))
		return Result{Outcome: Offered, Reply: reply, Scope: s}
	}
	if !served && silenced {
		return Result{Outcome: DropFailoverState}
	}
	if !served {
		return Result{Outcome: DropProtocol}
	}
	return Result{Outcome: DropPoolExhausted, Scope: cands[0]}
}

func (h *Handler) request(req *Request) Result {
	m := req.Msg
	c := clientOf(req)
	requested, hasRequested := optAddr(req.opts.requested)
	ciaddr, hasCiaddr := addr4(m.ClientIPAddr)
	if sid, ok := optAddr(req.opts.serverID); ok {
		// SELECTING: the client answers one server's OFFER.
		if sid != h.serverID {
			return Result{Outcome: DropNotForUs}
		}
		if !hasRequested {
			return Result{Outcome: DropMalformed}
		}
		return h.bind(req, c, h.scopeAmong(h.candidates(req), requested), requested, false)
	}
	if hasRequested && !hasCiaddr {
		// INIT-REBOOT: the client checks an address it remembers.
		cands := h.candidates(req)
		if len(cands) == 0 {
			return Result{Outcome: DropNoScope}
		}
		return h.bind(req, c, h.scopeAmong(cands, requested), requested, false)
	}
	if hasCiaddr {
		// RENEWING (unicast) or REBINDING (broadcast).
		s := h.table.find(ciaddr)
		if s == nil {
			return Result{Outcome: DropNoScope}
		}
		return h.bind(req, c, s, ciaddr, true)
	}
	return Result{Outcome: DropMalformed}
}

// keep returns l where the Result may point to it: in the request's
// Decoded when there is one, else in a new allocation.
func (req *Request) keep(l lease.Lease) *lease.Lease {
	if d := req.decoded; d != nil {
		d.lease = l
		return &d.lease
	}
	p := new(lease.Lease) // only here: l itself stays on the stack
	*p = l
	return p
}

// scopeAmong returns the candidate scope holding a, or nil.
func (h *Handler) scopeAmong(cands []*Scope, a netip.Addr) *Scope {
	for _, s := range cands {
		if s.Config.Subnet.Contains(a) {
			return s
		}
	}
	return nil
}

// bind answers a REQUEST for ip from scope s (nil: the address is not on
// the client's network) with an ACK carrying the lease to persist, or a NAK.
// renewing is true for RENEWING and REBINDING requests.
func (h *Handler) bind(req *Request, c alloc.Client, s *Scope, ip netip.Addr, renewing bool) Result {
	m := req.Msg
	if s == nil {
		return Result{Outcome: Naked, Reply: h.nak(req)}
	}
	if !s.allows(false) {
		return Result{Outcome: DropProtocol, Scope: s}
	}
	if !h.answers(s, renewing) {
		return Result{Outcome: DropFailoverState, Scope: s}
	}
	reserved := reservedHostname(s, c)
	c.Hostname = hostnameFor(reserved, req)
	l, reused, err := s.Alloc.RequestCached(c, ip, h.limitLeaseTime(s, ip, s.leaseTime(req)), req.Now)
	if err != nil {
		if ce := h.log.Check(zap.DebugLevel, "request refused"); ce != nil {
			ce.Write(zap.Stringer("ip", ip), zap.Stringer("hw", net.HardwareAddr(m.ClientHWAddr)), zap.Error(err))
		}
		if renewing && s.Failover {
			// The binding may be the partner's, not yet replicated here
			// (updates are lazy): a NAK would cost the client a valid lease.
			return Result{Outcome: DropUnknownBinding, Scope: s}
		}
		return Result{Outcome: Naked, Reply: h.nak(req), Scope: s}
	}
	reply := h.reply(req, dhcpv4.MessageTypeAck, s, ip, l.Expiry.Sub(req.Now), reserved)
	if reused {
		// The lease as stored, with its remaining time: nothing to write,
		// so the reply may go at once.
		return Result{Outcome: Acked, Reply: reply, Scope: s}
	}
	return Result{Outcome: Acked, Reply: reply, Lease: req.keep(l), Scope: s}
}

// Committed tells the allocators that leases, from Results, are now
// durable, so that a REQUEST soon after may be answered with one of them
// unwritten (alloc.Scope.RequestCached).
func (h *Handler) Committed(leases []lease.Lease) {
	for start := 0; start < len(leases); {
		s := h.table.find(leases[start].IP)
		end := start + 1
		for end < len(leases) && s != nil && s.Config.Subnet.Contains(leases[end].IP) {
			end++
		}
		if s != nil {
			s.Alloc.MarkDurable(leases[start:end]...)
		}
		start = end
	}
}

func (h *Handler) release(req *Request) Result {
	ip, ok := addr4(req.Msg.ClientIPAddr)
	return h.unbind(req, ip, ok, Released, (*alloc.Scope).Release)
}

func (h *Handler) decline(req *Request) Result {
	ip, ok := optAddr(req.opts.requested)
	res := h.unbind(req, ip, ok, Declined, (*alloc.Scope).Decline)
	if res.Outcome == Declined {
		h.log.Info("address declined by client", zap.Stringer("ip", res.Lease.IP),
			zap.Stringer("hw", res.Lease.HWAddr), zap.Time("held-until", res.Lease.Expiry))
	}
	return res
}

// unbind runs a RELEASE (address in ciaddr) or DECLINE (address in option
// 50), ip: no reply, and only for a binding the client holds from us.
// ok is false when the message carries no usable address.
func (h *Handler) unbind(req *Request, ip netip.Addr, ok bool, outcome Outcome,
	change func(*alloc.Scope, alloc.Client, netip.Addr, time.Time) (lease.Lease, bool)) Result {
	if !ok {
		return Result{Outcome: DropMalformed}
	}
	if sid, ok := optAddr(req.opts.serverID); ok && sid != h.serverID {
		return Result{Outcome: DropNotForUs}
	}
	s := h.table.find(ip)
	if s == nil {
		return Result{Outcome: DropNoScope}
	}
	l, ok := change(s.Alloc, clientOf(req), ip, req.Now)
	if !ok {
		return Result{Outcome: DropUnknownBinding, Scope: s}
	}
	return Result{Outcome: outcome, Lease: req.keep(l), Scope: s}
}

func (h *Handler) inform(req *Request) Result {
	m := req.Msg
	ciaddr, ok := addr4(m.ClientIPAddr)
	if !ok {
		return Result{Outcome: DropMalformed}
	}
	s := h.table.find(ciaddr)
	if s == nil {
		return Result{Outcome: DropNoScope}
	}
	reply := h.reply(req, dhcpv4.MessageTypeAck, s, netip.Addr{}, 0, reservedHostname(s, clientOf(req)))
	return Result{Outcome: Informed, Reply: reply, Scope: s}
}

// bootp answers an RFC 951 BOOTREQUEST: one step from request to binding.
func (h *Handler) bootp(req *Request) Result {
	m := req.Msg
	cands := h.candidates(req)
	if ci, ok := addr4(m.ClientIPAddr); ok {
		// A BOOTP client that knows its address only wants the rest.
		if s := h.table.find(ci); s != nil {
			cands = []*Scope{s}
		}
	}
	if len(cands) == 0 {
		return Result{Outcome: DropNoScope}
	}
	c := clientOf(req)
	served := false
	for _, s := range cands {
		if !s.allows(true) {
			continue
		}
		served = true
		ip, err := s.Alloc.Offer(c, netip.Addr{}, req.Now)
		if err != nil {
			continue
		}
		reserved := reservedHostname(s, c)
		c.Hostname = hostnameFor(reserved, req)
		l, err := s.Alloc.Request(c, ip, s.Config.LeaseTime.D(), req.Now)
		if err != nil {
			continue
		}
		return Result{Outcome: BootpReplied, Reply: h.bootReply(req, s, ip, reserved), Lease: req.keep(l), Scope: s}
	}
	if !served {
		return Result{Outcome: DropProtocol}
	}
	return Result{Outcome: DropPoolExhausted, Scope: cands[0]}
}

// allows reports whether the scope answers BOOTP (bootp true) or DHCP.
func (s *Scope) allows(bootp bool) bool {
	switch s.Config.Protocol {
	case config.ProtocolBoth:
		return true
	case config.ProtocolBOOTP:
		return bootp
	default:
		return !bootp
	}
}

// leaseTime is the scope's lease time, shortened when the client asks for
// less (option 51), never lengthened.
func (s *Scope) leaseTime(req *Request) time.Duration {
	lt := s.Config.LeaseTime.D()
	if asked := req.opts.askedLeaseTime(); asked >= time.Minute && asked < lt {
		return asked
	}
	return lt
}

// clientOf extracts the client's identity: option 61 when present, else
// chaddr, with the relay's circuit id for circuit-id reservations. Key is
// left to the allocator, which derives it from these without allocating.
func clientOf(req *Request) alloc.Client {
	m := req.Msg
	cid := req.opts.clientID
	c := alloc.Client{
		ClientID: cid,
		HWType:   uint8(m.HWType),
		HWAddr:   m.ClientHWAddr,
	}
	if req.opts.agentInfo != nil {
		c.CircuitID, c.RemoteID = agentSubOptions(req.opts.agentInfo)
	}
	return c
}

// hostnameFor prefers the reservation's host name over the client's option 12.
func hostnameFor(reserved string, req *Request) string {
	if reserved != "" {
		return reserved
	}
	name := req.opts.hostName()
	if len(name) > 255 {
		name = name[:255]
	}
	return name
}

// addr4 converts a net.IP to a netip.Addr, reporting false for nil, zero or
// non-IPv4 addresses.
func addr4(ip net.IP) (netip.Addr, bool) {
	ip4 := ip.To4()
	if ip4 == nil {
		return netip.Addr{}, false
	}
	a := netip.AddrFrom4([4]byte(ip4))
	return a, !a.IsUnspecified()
}
