package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/alloc"
	"github.com/xdhcp/xdhcp/control/handler"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

// PacketFilter is the Go twin of the XDP program, consulted for packets
// that arrive on an interface without XDP attached.
type PacketFilter interface {
	// Allow decides on a received UDP payload; reason names a drop.
	Allow(payload []byte, now time.Time) (ok bool, reason string)
}

// Options configures a Server. Config, Store and Log are required.
type Options struct {
	Config     *config.Config
	ConfigPath string // re-read by Reload; "" disables reload
	Store      *lease.Store
	Log        *zap.Logger
	Registry   prometheus.Registerer // nil: metrics are kept but not exported
	Filter     PacketFilter          // nil: no filtering without XDP
	// Dataplane names how each interface is filtered ("xdp-native",
	// "xdp-generic"); interfaces not named use Filter.
	Dataplane map[string]string
	// DataplaneStatus answers `xdhcpctl dataplane`; nil: not available.
	DataplaneStatus func() (any, error)
	// Buckets programs the load-balancing buckets for failover; nil: none.
	Buckets BucketSetter
	// Sockets is the XDP program's table of AF_XDP sockets; with it, and
	// dataplane.afxdp not off, requests on an interface with XDP come to
	// AF_XDP sockets instead of through the kernel's UDP stack. nil: the
	// UDP socket only.
	Sockets SocketRegistrar
	// OnReload, when set, is called after Reload has put a new
	// configuration in force (outside the server's locks), for the parts
	// the server does not own, such as the dataplane's flood guards. Its
	// error is Reload's.
	OnReload func(*config.Config) error
	Version  string
}

// Server is a running xdhcpd control plane.
type Server struct {
	log     *zap.Logger
	opts    Options
	store   *lease.Store
	metrics *metrics
	started time.Time

	// mu is held for reading while a packet is handled and for writing
	// while Reload swaps the handler, so no binding is lost in the swap.
	mu       sync.RWMutex
	h        *handler.Handler
	replies  handler.ReplyPool   // every handler's replies, recycled once sent
	requests handler.RequestPool // decoded requests, recycled once answered
	cfg      *config.Config
	loadedAt time.Time

	// fo is failover's state; lock s.fo.mu before s.mu when taking both.
	fo failoverState

	ifaces     []*iface
	stopping   atomic.Bool
	wg         sync.WaitGroup
	exhaustLog rateLimitedLog
}

type iface struct {
	name  string
	index int
	addr  netip.Addr // source of direct replies
	// subnets are the interface's own IPv4 subnets at start: a renewing
	// client in one of them is on the link and answered at its hardware
	// address, without an ARP entry per client in the kernel.
	subnets []netip.Prefix
	mode    string // how packets are filtered before the control plane
	conn    *net.UDPConn
	sender  *linkSender
	xsk     *xskPort // nil: requests come through conn alone
}

// New opens the serving interfaces, rebuilds every scope's allocator from
// the store and returns a server ready to Run.
func New(opts Options) (*Server, error) {
	if opts.Config == nil || opts.Store == nil || opts.Log == nil {
		return nil, errors.New("server: Config, Store and Log are required")
	}
	s := &Server{
		log:     opts.Log,
		opts:    opts,
		store:   opts.Store,
		started: time.Now(),
	}
	s.exhaustLog.every = 10 * time.Second
	links, err := s.openInterfaces(opts.Config.Server.Interfaces)
	if err != nil {
		s.closeInterfaces()
		return nil, err
	}
	h, n, err := s.buildHandler(opts.Config, links, nil)
	if err != nil {
		s.closeInterfaces()
		return nil, err
	}
	s.h, s.cfg, s.loadedAt = h, opts.Config, time.Now()
	s.metrics = newMetrics(s)
	if opts.Registry != nil {
		for _, c := range []prometheus.Collector{s.metrics, newXSKCollector(s)} {
			if err := opts.Registry.Register(c); err != nil {
				s.closeInterfaces()
				return nil, fmt.Errorf("register metrics: %w", err)
			}
		}
	}
	s.log.Info("leases restored", zap.Int("leases", n), zap.Int("scopes", len(h.Scopes())),
		zap.Stringer("server-id", h.ServerID()))
	return s, nil
}

// openInterfaces opens a UDP socket and a packet socket on each interface
// and returns the links with their addresses.
func (s *Server) openInterfaces(names []string) ([]handler.Link, error) {
	var links []handler.Link
	for _, name := range names {
		ni, err := net.InterfaceByName(name)
		if err != nil {
			return nil, fmt.Errorf("server.interfaces: %s: %w", name, err)
		}
		link, err := linkOf(name, ni.Index)
		if err != nil {
			return nil, err
		}
		ifc := &iface{name: name, index: ni.Index, mode: "go-filter"}
		if m, ok := s.opts.Dataplane[name]; ok {
			ifc.mode = m
		}
		if len(link.Addrs) > 0 {
			ifc.addr = link.Addrs[0].Addr()
		}
		for _, p := range link.Addrs {
			ifc.subnets = append(ifc.subnets, p.Masked())
		}
		s.ifaces = append(s.ifaces, ifc)
		if ifc.conn, err = listenUDP(name); err != nil {
			return nil, err
		}
		if ifc.sender, err = newLinkSender(ni.Index); err != nil {
			return nil, fmt.Errorf("interface %s: %w", name, err)
		}
		// The program delivers to AF_XDP what is sent to broadcast or to
		// one of these: the interface's addresses and the server id.
		addrs := []netip.Addr{s.opts.Config.Server.Address}
		for _, p := range link.Addrs {
			addrs = append(addrs, p.Addr())
		}
		if err := s.openXSK(ifc, addrs); err != nil {
			return nil, err
		}
		links = append(links, link)
	}
	return links, nil
}

func prefixOf(ipn *net.IPNet) (netip.Prefix, bool) {
	ip4 := ipn.IP.To4()
	if ip4 == nil {
		return netip.Prefix{}, false
	}
	ones, _ := ipn.Mask.Size()
	return netip.PrefixFrom(netip.AddrFrom4([4]byte(ip4)), ones), true
}

// buildHandler makes allocators for cfg's scopes, restores them from the
// store and from live (leases newer than the store, during reload), and
// returns the handler with the number of leases restored.
func (s *Server) buildHandler(cfg *config.Config, links []handler.Link, live []lease.Lease) (*handler.Handler, int, error) {
	serverID := cfg.Server.Address
	if !serverID.IsValid() {
		for _, l := range links {
			if len(l.Addrs) > 0 {
				serverID = l.Addrs[0].Addr()
				break
			}
		}
	}
	if !serverID.IsValid() {
		return nil, 0, fmt.Errorf("server.address: not set and interface %s has no IPv4 address; set server.address or give the interface one", cfg.Server.Interfaces[0])
	}
	scopes := make([]*handler.Scope, 0, len(cfg.Scopes))
	for i, sc := range cfg.Scopes {
		a, err := alloc.NewScope(sc, cfg.Server.OfferHold.D(), cfg.Server.DeclineHold.D(), cfg.Server.CacheThresholdPercent)
		if err != nil {
			return nil, 0, fmt.Errorf("scopes[%d] %s: %w", i, sc.Subnet, err)
		}
		scopes = append(scopes, &handler.Scope{Config: sc, Alloc: a})
	}
	h, err := handler.New(s.log, serverID, scopes, links, &s.replies)
	if err != nil {
		return nil, 0, err
	}
	// The store holds every committed lease; live ones (from the allocators
	// being replaced) may be newer, so they win. What the store holds is
	// kept beside them: where it is the record in force, the lease cache
	// may answer with it at once (MarkDurable compares the two).
	type record struct{ l, stored lease.Lease }
	byIP := make(map[netip.Addr]record)
	err = s.store.ForEach(func(l lease.Lease) error {
		byIP[l.IP] = record{l, l}
		return nil
	})
	var corrupt *lease.CorruptRecordsError
	switch {
	case errors.As(err, &corrupt):
		// An unreadable record may be some client's lease: keep its address
		// out of use for a decline hold rather than risk giving it twice.
		now := time.Now()
		for _, r := range corrupt.Records {
			s.log.Error("unreadable lease record; address held out of use", zap.Stringer("ip", r.IP), zap.Error(r.Err))
			if r.IP.IsValid() {
				byIP[r.IP] = record{l: lease.Lease{IP: r.IP, State: lease.StateAbandoned, Start: now, Updated: now,
					Expiry: now.Add(cfg.Server.DeclineHold.D())}}
			}
		}
	case err != nil:
		return nil, 0, fmt.Errorf("restore leases: %w", err)
	}
	for _, l := range live {
		r := byIP[l.IP]
		r.l = l
		byIP[l.IP] = r
	}
	n := 0
	for _, r := range byIP {
		sc := h.ScopeOf(r.l.IP)
		if sc == nil {
			continue // its scope left the configuration; the record stays in the store
		}
		if err := sc.Alloc.Restore(r.l); err != nil {
			s.log.Warn("stored lease not restored", zap.Stringer("ip", r.l.IP), zap.Error(err))
			continue
		}
		sc.Alloc.MarkDurable(r.stored)
		n++
	}
	return h, n, nil
}

// Run serves until ctx ends, then stops reading, lets pending commits and
// their replies finish, and returns.
func (s *Server) Run(ctx context.Context) error {
	workers := s.opts.Config.Server.Workers
	if workers < 1 {
		workers = 1
	}
	for _, ifc := range s.ifaces {
		for range workers {
			s.wg.Add(1)
			go s.readLoop(ctx, ifc, newInbox(ifc.conn), nil)
		}
		if ifc.xsk == nil {
			continue
		}
		// Workers wait for their leases to be durable with a batch each;
		// enough of them (xskWorkers an interface, at least two a queue)
		// keep the rings drained through a commit's fsync. More cost CPU
		// in smaller batches and commits for no more throughput.
		perQueue := max(2, max(workers, xskWorkers)/len(ifc.xsk.queues))
		for _, q := range ifc.xsk.queues {
			for range perQueue {
				s.wg.Add(1)
				go s.readLoop(ctx, ifc, newXSKInbox(q, &s.stopping), q)
			}
		}
	}
	s.wg.Add(1)
	go s.housekeeping(ctx)
	s.log.Info("serving", zap.Strings("interfaces", s.opts.Config.Server.Interfaces), zap.Int("workers-per-interface", workers))
	<-ctx.Done()
	s.stopping.Store(true)
	for _, ifc := range s.ifaces {
		_ = ifc.conn.Close()
	}
	s.wg.Wait()
	return nil
}

// Close releases the sockets; the caller closes the store afterwards so
// pending commits land.
func (s *Server) Close() error {
	s.waitFailover(10 * time.Second) // failover.go: the engine tells the partner it stops
	s.closeInterfaces()
	return nil
}

func (s *Server) closeInterfaces() {
	for _, ifc := range s.ifaces {
		if ifc.conn != nil {
			_ = ifc.conn.Close()
		}
		if ifc.sender != nil {
			_ = ifc.sender.close()
		}
		if ifc.xsk != nil {
			s.opts.Sockets.UnregisterSockets(ifc.index)
			ifc.xsk.close()
			ifc.xsk = nil
		}
	}
}

// readLoop is one worker: it reads a batch of datagrams from in, handles
// each, sends the replies that need no lease at once, commits the batch's
// leases in one durable store commit (grouped with other workers' by the
// store), and only then sends the replies that carry them. Replies to
// clients on the link go out through xq when it is not nil.
func (s *Server) readLoop(ctx context.Context, ifc *iface, in receiver, xq *xskQueue) {
	defer s.wg.Done()
	out := newOutbox(ifc, xq, func(r *handler.Reply) {
		s.metrics.sent(r)
		s.replies.Put(r)
	}, func(err error) {
		s.metrics.drop("send-error")
		s.log.Debug("send failed", zap.Error(err))
	})
	var (
		leases  []lease.Lease
		held    []pendingReply     // replies waiting for their leases to be durable
		decoded []*handler.Decoded // the batch's requests, recycled once its replies are sent
	)
	recycle := func() {
		for i, d := range decoded {
			s.requests.Put(d)
			decoded[i] = nil
		}
		decoded = decoded[:0]
	}
	for {
		n, err := in.read()
		if err != nil {
			if s.stopping.Load() || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("receive failed", zap.String("interface", ifc.name), zap.Error(err))
			time.Sleep(10 * time.Millisecond)
			continue
		}
		now := time.Now()
		for i := range n {
			from := in.from(i)
			d, res, ok := s.handlePacket(ifc, in.payload(i), from, now)
			if d != nil {
				decoded = append(decoded, d)
			}
			if !ok {
				continue
			}
			if res.Lease != nil {
				leases = append(leases, *res.Lease)
				held = append(held, pendingReply{req: d, res: res, via: in.linkSource(i, from)})
			} else if res.Reply != nil {
				out.add(d, res.Reply, in.linkSource(i, from))
			}
		}
		out.flush()
		if len(leases) == 0 {
			recycle()
			continue
		}
		// Leases already handled are committed even while shutting down.
		if err := s.store.Commit(context.WithoutCancel(ctx), leases...); err != nil {
			s.metrics.dropN("store-error", len(leases))
			s.log.Error("leases not stored; replies withheld", zap.Int("leases", len(leases)), zap.Error(err))
		} else {
			s.handler().Committed(leases)
			for _, p := range held {
				s.logLease(p.res)
				if p.res.Reply != nil {
					out.add(p.req, p.res.Reply, p.via)
				}
			}
			out.flush()
			s.partnerUpdated(leases)
		}
		clear(held)
		leases, held = leases[:0], held[:0]
		recycle()
	}
}

// pendingReply is a reply held until its lease is durable.
type pendingReply struct {
	req *handler.Decoded
	res handler.Result
	via linkPeer
}

// handlePacket runs one datagram through the filter, the decoder and the
// handler; ok is false when there is nothing more to do. The decoded
// request, when there is one, must go back to s.requests once the replies
// built from it are sent.
func (s *Server) handlePacket(ifc *iface, payload []byte, from netip.AddrPort, now time.Time) (*handler.Decoded, handler.Result, bool) {
	if ifc.mode == "go-filter" && s.opts.Filter != nil {
		if ok, reason := s.opts.Filter.Allow(payload, now); !ok {
			s.metrics.drop(reason)
			return nil, handler.Result{}, false
		}
	}
	d, err := s.requests.Decode(payload)
	if err != nil {
		s.metrics.drop("malformed")
		if ce := s.log.Check(zap.DebugLevel, "malformed packet"); ce != nil {
			ce.Write(zap.String("interface", ifc.name), zap.Stringer("from", from), zap.Error(err))
		}
		return nil, handler.Result{}, false
	}
	s.metrics.received(d)

	s.mu.RLock()
	res := s.h.HandleDecoded(d, ifc.index, now) // res.Lease lives in d, recycled after the batch's replies
	s.mu.RUnlock()

	s.metrics.outcome(res.Outcome)
	if res.Outcome == handler.DropPoolExhausted {
		s.exhaustLog.log(s.log, now, "pool exhausted", zap.Stringer("scope", scopeName(res.Scope)))
	}
	return d, res, res.Lease != nil || res.Reply != nil
}

// logLease writes one debug line per lease event.
func (s *Server) logLease(res handler.Result) {
	if ce := s.log.Check(zap.DebugLevel, "lease"); ce != nil {
		l := res.Lease
		ce.Write(zap.String("event", res.Outcome.String()), zap.Stringer("ip", l.IP),
			zap.Stringer("hw", l.HWAddr), zap.String("state", l.State.String()), zap.Time("expiry", l.Expiry))
	}
}

type prefixStringer netip.Prefix

func (p prefixStringer) String() string { return netip.Prefix(p).String() }

func scopeName(sc *handler.Scope) fmt.Stringer {
	if sc == nil {
		return prefixStringer{}
	}
	return prefixStringer(sc.Config.Subnet)
}

var broadcastHW = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

func (ifc *iface) srcAddr() netip.Addr {
	if ifc.addr.IsValid() {
		return ifc.addr
	}
	return netip.IPv4Unspecified()
}

// onLink reports whether a is in one of the interface's own subnets.
func (ifc *iface) onLink(a netip.Addr) bool {
	for _, p := range ifc.subnets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// summaryEvery is how often housekeeping logs what the server did, at info.
const summaryEvery = time.Minute

// housekeeping reclaims expired leases, ended decline holds and stale
// offers once a second, and commits what changed; once a minute it logs a
// summary of the outcomes (lease events themselves are logged at debug).
func (s *Server) housekeeping(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var (
		tally       [256]uint64
		lastSummary = time.Now()
		gone        []netip.Addr
	)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(lastSummary) >= summaryEvery {
				if fields := s.metrics.summary(&tally); fields != nil {
					s.log.Info("activity in the last minute", fields...)
				}
				lastSummary = now
			}
			changed := s.reclaimAfterMCLT(now)
			s.mu.RLock()
			for _, sc := range s.h.Scopes() {
				for _, l := range sc.Alloc.Expire(now) {
					// Outside failover, an address whose decline hold ended
					// is plain free again and its record goes; under
					// failover the FREE/BACKUP record says whose it is.
					if l.State == lease.StateFree && !sc.Failover {
						gone = append(gone, l.IP)
						continue
					}
					changed = append(changed, l)
				}
			}
			s.mu.RUnlock()
			for _, ip := range gone {
				if err := s.store.Delete(ctx, ip); err != nil && ctx.Err() == nil {
					s.log.Error("removing ended decline hold", zap.Stringer("ip", ip), zap.Error(err))
				}
			}
			gone = gone[:0]
			if len(changed) == 0 {
				continue
			}
			if err := s.store.Commit(ctx, changed...); err != nil && ctx.Err() == nil {
				s.log.Error("storing reclaimed leases", zap.Int("leases", len(changed)), zap.Error(err))
				continue
			}
			s.partnerUpdated(changed)
			s.log.Debug("leases reclaimed", zap.Int("leases", len(changed)))
		}
	}
}

// rateLimitedLog logs one line per interval and counts what it suppressed.
type rateLimitedLog struct {
	mu         sync.Mutex
	every      time.Duration
	last       time.Time
	suppressed int
}

func (r *rateLimitedLog) log(l *zap.Logger, now time.Time, msg string, fields ...zap.Field) {
	r.mu.Lock()
	if now.Sub(r.last) < r.every {
		r.suppressed++
		r.mu.Unlock()
		return
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	r.mu.Unlock()
	l.Warn(msg, append(fields, zap.Int("suppressed-since-last", n))...)
}
