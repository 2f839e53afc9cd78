package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/control/api"
	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/xsk"
)

// SocketRegistrar is the XDP program's table of AF_XDP sockets
// (dataplane.Dataplane): the requests it passes on a registered interface
// come to the server's sockets instead of through the kernel's UDP stack.
type SocketRegistrar interface {
	RegisterSockets(ifindex int, addrs []netip.Addr, fds []int) error
	UnregisterSockets(ifindex int)
}

const (
	// xskRingEntries is the entries of the AF_XDP rings of an interface,
	// shared among its queues (each gets at least xskMinRing and at most
	// xskMaxRing, a power of two); the UMEM of a queue holds twice as many
	// 2 KiB frames, so an interface's sockets take 64 MiB. A receive ring
	// is the server's backlog: a burst that arrives while the workers are
	// descheduled or waiting for a commit waits there, and what does not
	// fit the kernel drops (fill-ring-empty). One queue's 16,384 hold
	// 80 ms at 200,000 requests/s; with 4,096, a 2-core host that was not
	// saturated lost 1.5-2.9% of 200,000 renewals/s to bursts, with
	// 16,384 0-1.2% (docs/BENCHMARKS.md, "A deeper receive ring").
	xskRingEntries = 16384
	xskMinRing     = 1024
	xskMaxRing     = 16384
	// xskWorkers is the fewest workers an interface with AF_XDP gets.
	xskWorkers = 8
	// xskMaxQueues bounds the queues of one interface given sockets.
	xskMaxQueues = 16
	// xskPoll is how long a worker waits for frames before it looks
	// whether the server is stopping.
	xskPoll = 100 * time.Millisecond
)

// xskQueue is the server's AF_XDP socket on one receive queue. Workers
// share it: one at a time takes frames off its RX ring, one at a time
// puts replies on its TX ring.
type xskQueue struct {
	sock *xsk.Socket
	rxMu sync.Mutex
	txMu sync.Mutex
	// pollMu lets one idle worker at a time wait in poll: the others
	// wait for it in Go, so a frame wakes one thread, not every worker.
	pollMu sync.Mutex

	received, sent, malformed atomic.Uint64
}

// xskPort is an interface's AF_XDP sockets, one per receive queue.
type xskPort struct {
	queues []*xskQueue
	mac    [6]byte
}

// openXSK gives ifc AF_XDP sockets on its receive queues and registers
// them with the XDP program, as dataplane.afxdp says: with off, or
// without XDP on the interface, it does nothing; with auto a failure is
// logged and the interface keeps its UDP socket alone; with on it is an
// error.
func (s *Server) openXSK(ifc *iface, addrs []netip.Addr) error {
	mode := s.opts.Config.Dataplane.AFXDP
	if mode == "" {
		mode = config.AFXDPAuto
	}
	if mode == config.AFXDPOff {
		return nil
	}
	if s.opts.Sockets == nil || ifc.mode == "go-filter" {
		if mode == config.AFXDPOn {
			return fmt.Errorf("dataplane.afxdp on: interface %s has no XDP program (%s); attach XDP (dataplane.mode auto, native or generic) or set dataplane.afxdp: auto", ifc.name, ifc.mode)
		}
		return nil
	}
	port, err := s.openXSKPort(ifc, addrs)
	if err != nil {
		if mode == config.AFXDPOn {
			return fmt.Errorf("dataplane.afxdp on: %w (set dataplane.afxdp: auto to fall back to the UDP socket)", err)
		}
		s.log.Warn("AF_XDP sockets not opened; requests come through the UDP socket", zap.String("interface", ifc.name), zap.Error(err))
		return nil
	}
	ifc.xsk = port
	s.log.Info("AF_XDP receive path", zap.String("interface", ifc.name), zap.Int("queues", len(port.queues)),
		zap.Stringer("mode", port.queues[0].sock.Mode()))
	return nil
}

func (s *Server) openXSKPort(ifc *iface, addrs []netip.Addr) (*xskPort, error) {
	ni, err := net.InterfaceByIndex(ifc.index)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifc.name, err)
	}
	nl, err := netlink.LinkByIndex(ifc.index)
	if err != nil {
		return nil, fmt.Errorf("interface %s: %w", ifc.name, err)
	}
	queues := min(max(nl.Attrs().NumRxQueues, 1), xskMaxQueues)
	ring := xskMaxRing
	for ring > xskMinRing && ring*queues > xskRingEntries {
		ring /= 2
	}
	port := &xskPort{}
	copy(port.mac[:], ni.HardwareAddr)
	var fds []int
	for q := range queues {
		sock, err := xsk.Open(ni, xsk.Config{Queue: q, Batch: batchSize, RingSize: ring})
		if err != nil {
			if q > 0 && errors.Is(err, unix.EINVAL) {
				break // past the queues the driver has active
			}
			port.close()
			return nil, err
		}
		port.queues = append(port.queues, &xskQueue{sock: sock})
		fds = append(fds, sock.FD())
	}
	if err := s.opts.Sockets.RegisterSockets(ifc.index, addrs, fds); err != nil {
		port.close()
		return nil, err
	}
	return port, nil
}

// xskTotals are an interface's AF_XDP queues' counters summed.
type xskTotals struct {
	received, sent, malformed uint64
}

func (p *xskPort) totals() xskTotals {
	var t xskTotals
	for _, q := range p.queues {
		t.received += q.received.Load()
		t.sent += q.sent.Load()
		t.malformed += q.malformed.Load()
	}
	return t
}

func (p *xskPort) close() {
	for _, q := range p.queues {
		_ = q.sock.Close()
	}
}

// status is the interface's line in `xdhcpctl status`.
func (ifc *iface) status() api.InterfaceStatus {
	st := api.InterfaceStatus{Name: ifc.name, Dataplane: ifc.mode, Receive: "udp"}
	if ifc.xsk == nil {
		return st
	}
	t := ifc.xsk.totals()
	st.Receive = "afxdp"
	st.AFXDP = &api.AFXDPStatus{Queues: len(ifc.xsk.queues), Mode: ifc.xsk.queues[0].sock.Mode().String(),
		Received: t.received, Sent: t.sent}
	return st
}

// xskInbox is a worker's view of a shared AF_XDP queue: it takes up to a
// batch of frames at a time and copies each one's UDP payload out, so the
// frames go straight back to the kernel.
type xskInbox struct {
	q        *xskQueue
	stopping *atomic.Bool
	bufs     [][]byte
	froms    []netip.AddrPort
	hws      [][6]byte // each frame's Ethernet source
	n        int
	take     func([]byte) // bound once: no closure per batch
}

func newXSKInbox(q *xskQueue, stopping *atomic.Bool) *xskInbox {
	in := &xskInbox{q: q, stopping: stopping, bufs: make([][]byte, batchSize), froms: make([]netip.AddrPort, batchSize),
		hws: make([][6]byte, batchSize)}
	for i := range in.bufs {
		in.bufs[i] = make([]byte, 0, xsk.MaxFrame)
	}
	in.take = in.takeFrame
	return in
}

// read blocks until at least one request is there and returns how many;
// after the server starts stopping it returns net.ErrClosed.
func (in *xskInbox) read() (int, error) {
	for {
		in.n = 0
		in.q.rxMu.Lock()
		_, err := in.q.sock.Receive(0, in.take)
		in.q.rxMu.Unlock()
		if err != nil {
			return 0, err
		}
		if in.n > 0 {
			in.q.received.Add(uint64(in.n))
			return in.n, nil
		}
		if in.stopping.Load() {
			return 0, net.ErrClosed
		}
		in.q.pollMu.Lock()
		if !in.stopping.Load() { // workers queued here leave at once on a stop
			err = in.q.sock.Wait(xskPoll)
		}
		in.q.pollMu.Unlock()
		if err != nil {
			return 0, err
		}
	}
}

func (in *xskInbox) takeFrame(frame []byte) {
	payload, from, ok := parseUDPFrame(frame)
	if !ok {
		in.q.malformed.Add(1)
		return
	}
	in.bufs[in.n] = append(in.bufs[in.n][:0], payload...)
	in.froms[in.n] = from
	in.hws[in.n] = [6]byte(frame[6:12])
	in.n++
}

func (in *xskInbox) payload(i int) []byte { return in.bufs[i] }

func (in *xskInbox) from(i int) netip.AddrPort { return in.froms[i] }

func (in *xskInbox) linkSource(i int, from netip.AddrPort) linkPeer {
	return linkPeer{ip: from.Addr(), hw: in.hws[i]}
}

// parseUDPFrame checks an untagged Ethernet/IPv4/UDP frame's headers as
// the kernel's stack would before a UDP socket sees the datagram (the IPv4
// header checksum and lengths; not fragmented) and returns the UDP payload
// and its source. The UDP checksum is not checked: a datagram sent by a
// local socket across a veth or a virtual NIC carries only its partial,
// offloaded sum, which the stack accepts unverified too.
func parseUDPFrame(f []byte) ([]byte, netip.AddrPort, bool) {
	const eth, ipMin, udp = 14, 20, 8
	if len(f) < eth+ipMin+udp || binary.BigEndian.Uint16(f[12:]) != unix.ETH_P_IP {
		return nil, netip.AddrPort{}, false
	}
	ip := f[eth:]
	ihl := int(ip[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	switch {
	case ip[0]>>4 != 4, ihl < ipMin, total < ihl+udp, total > len(ip),
		ip[9] != unix.IPPROTO_UDP,
		binary.BigEndian.Uint16(ip[6:])&0x3fff != 0, // a fragment
		checksum(0, ip[:ihl]) != 0xffff:
		return nil, netip.AddrPort{}, false
	}
	u := ip[ihl:total]
	ulen := int(binary.BigEndian.Uint16(u[4:]))
	if ulen < udp || ulen > len(u) {
		return nil, netip.AddrPort{}, false
	}
	src := netip.AddrFrom4([4]byte(ip[12:16]))
	return u[udp:ulen], netip.AddrPortFrom(src, binary.BigEndian.Uint16(u[0:])), true
}

// xskCollector exports the AF_XDP queues' counters.
type xskCollector struct {
	s       *Server
	frames  *prometheus.Desc
	dropped *prometheus.Desc
	sockets *prometheus.Desc
}

func newXSKCollector(s *Server) *xskCollector {
	return &xskCollector{
		s: s,
		frames: prometheus.NewDesc("xdhcp_afxdp_frames_total",
			"Frames through the control plane's AF_XDP sockets: received requests, sent replies, and received frames refused for bad headers.",
			[]string{"interface", "direction"}, nil),
		dropped: prometheus.NewDesc("xdhcp_afxdp_kernel_dropped_total",
			"Frames the kernel dropped on the way to an AF_XDP socket (XDP_STATISTICS): rx (socket busy), rx-ring-full, fill-ring-empty, invalid.",
			[]string{"interface", "reason"}, nil),
		sockets: prometheus.NewDesc("xdhcp_afxdp_sockets",
			"AF_XDP sockets (one per receive queue) the XDP program delivers requests to.", []string{"interface"}, nil),
	}
}

func (c *xskCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.frames
	ch <- c.dropped
	ch <- c.sockets
}

func (c *xskCollector) Collect(ch chan<- prometheus.Metric) {
	for _, ifc := range c.s.ifaces {
		if ifc.xsk == nil {
			continue
		}
		t := ifc.xsk.totals()
		var st unix.XDPStatistics
		for _, q := range ifc.xsk.queues {
			if qs, err := q.sock.Stats(); err == nil {
				st.Rx_dropped += qs.Rx_dropped
				st.Rx_ring_full += qs.Rx_ring_full
				st.Rx_fill_ring_empty_descs += qs.Rx_fill_ring_empty_descs
				st.Rx_invalid_descs += qs.Rx_invalid_descs
				st.Tx_invalid_descs += qs.Tx_invalid_descs
			}
		}
		ch <- prometheus.MustNewConstMetric(c.sockets, prometheus.GaugeValue, float64(len(ifc.xsk.queues)), ifc.name)
		for _, v := range []struct {
			dir string
			n   uint64
		}{{"received", t.received}, {"sent", t.sent}, {"malformed", t.malformed}} {
			ch <- prometheus.MustNewConstMetric(c.frames, prometheus.CounterValue, float64(v.n), ifc.name, v.dir)
		}
		for _, v := range []struct {
			reason string
			n      uint64
		}{{"rx", st.Rx_dropped}, {"rx-ring-full", st.Rx_ring_full},
			{"fill-ring-empty", st.Rx_fill_ring_empty_descs}, {"invalid", st.Rx_invalid_descs + st.Tx_invalid_descs}} {
			ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(v.n), ifc.name, v.reason)
		}
	}
}
