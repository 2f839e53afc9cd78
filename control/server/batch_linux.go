package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"unsafe"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/control/handler"
	"github.com/xdhcp/xdhcp/internal/xsk"
)

// batchSize is how many datagrams one worker reads (recvmmsg, or off an
// AF_XDP ring) and sends (sendmmsg) per system call at most. A worker
// waits for its batch's commit before it reads again, so an interface has
// at most workers × batchSize requests in flight, and that, over the
// commit's round trip, capped its throughput on a 2-core host with CPU
// to spare: offered 140,000 DORA/s, 8 AF_XDP workers of 64 completed
// 114,000-119,000, of 128 139,000-140,000; offered 240,000 renewals/s,
// 191,000-208,000 against 222,000-228,000 (docs/BENCHMARKS.md, "More
// requests in flight").
const batchSize = 128

// inbox receives up to batchSize datagrams with one recvmmsg.
type inbox struct {
	pc   *ipv4.PacketConn
	msgs []ipv4.Message
}

func newInbox(conn *net.UDPConn) *inbox {
	in := &inbox{pc: ipv4.NewPacketConn(conn), msgs: make([]ipv4.Message, batchSize)}
	for i := range in.msgs {
		in.msgs[i].Buffers = [][]byte{make([]byte, 2048)}
	}
	return in
}

// receiver is where a worker reads requests: the UDP socket (inbox) or an
// AF_XDP queue (xskInbox).
type receiver interface {
	// read blocks until at least one datagram is there and returns how
	// many were read; payload(i) and from(i) give each.
	read() (int, error)
	payload(i int) []byte
	from(i int) netip.AddrPort
	// linkSource is datagram i's sender on the link, when the receiver
	// saw the frame: its IP source (from) and Ethernet source.
	linkSource(i int, from netip.AddrPort) linkPeer
}

// linkPeer is a sender on the link: an IPv4 address and the hardware
// address its frame came from. The zero value is unknown.
type linkPeer struct {
	ip netip.Addr
	hw [6]byte
}

// linkSource is unknown for the UDP socket: the kernel keeps the frame.
func (in *inbox) linkSource(int, netip.AddrPort) linkPeer { return linkPeer{} }

// read blocks until at least one datagram is there and returns how many
// were read; payload(i) and from(i) give each.
func (in *inbox) read() (int, error) { return in.pc.ReadBatch(in.msgs, 0) }

func (in *inbox) payload(i int) []byte { return in.msgs[i].Buffers[0][:in.msgs[i].N] }

func (in *inbox) from(i int) netip.AddrPort {
	if ua, ok := in.msgs[i].Addr.(*net.UDPAddr); ok {
		return ua.AddrPort()
	}
	return netip.AddrPort{}
}

// outbox collects a worker's replies and sends them with one sendmmsg per
// socket: UDP for relays and clients off the link; for clients on the
// link, the packet socket, or the worker's AF_XDP queue when it has one.
type outbox struct {
	ifc *iface
	udp *ipv4.PacketConn
	xsk *xskQueue // nil: link replies go through the packet socket

	udpMsgs []ipv4.Message
	udpBufs [][]byte // the payloads udpMsgs point at
	udpN    int
	scratch []byte // a reply's DHCP payload before it is framed

	// Frames for the packet socket, with the kernel structures that
	// describe them kept between batches so a flush allocates nothing.
	frames [][]byte
	addrs  []unix.RawSockaddrLinklayer
	iovs   []unix.Iovec
	hdrs   []mmsghdr
	linkN  int

	sent    []*handler.Reply // replies in this batch, for the metrics
	onSent  func(*handler.Reply)
	onError func(error)
}

// mmsghdr is struct mmsghdr from <sys/socket.h>.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

func newOutbox(ifc *iface, xq *xskQueue, onSent func(*handler.Reply), onError func(error)) *outbox {
	o := &outbox{
		ifc:     ifc,
		udp:     ipv4.NewPacketConn(ifc.conn),
		xsk:     xq,
		udpMsgs: make([]ipv4.Message, batchSize),
		udpBufs: make([][]byte, batchSize),
		scratch: make([]byte, 0, 1500),
		frames:  make([][]byte, batchSize),
		addrs:   make([]unix.RawSockaddrLinklayer, batchSize),
		iovs:    make([]unix.Iovec, batchSize),
		hdrs:    make([]mmsghdr, batchSize),
		onSent:  onSent,
		onError: onError,
	}
	for i := range o.udpMsgs {
		o.udpMsgs[i].Buffers = make([][]byte, 1)
		o.udpBufs[i] = make([]byte, 0, 1500)
	}
	for i := range o.frames {
		o.frames[i] = make([]byte, 0, 2048)
	}
	return o
}

// add queues reply to req's client, addressed as RFC 2131 §4.1 says, and
// flushes first when the batch is full. via is the request's sender on
// the link, when known.
func (o *outbox) add(req *handler.Decoded, reply *handler.Reply, via linkPeer) {
	if o.udpN == batchSize || o.linkN == batchSize {
		o.flush()
	}
	nak := reply.MessageType() == dhcpv4.MessageTypeNak
	gi, ci := req.GatewayIP(), req.ClientIP()
	switch {
	case !gi.IsUnspecified():
		if o.xsk != nil && via.ip == gi && o.ifc.onLink(gi) {
			// A relay on the link that sent the request from giaddr
			// itself: its frame's source is giaddr's hardware address,
			// so the reply goes back out the AF_XDP queue.
			o.addFrame(gi, serverPort, via.hw[:], reply)
		} else {
			o.addUDP(gi, serverPort, reply)
		}
	case !ci.IsUnspecified() && !nak:
		if o.ifc.onLink(ci) && len(req.ClientHWAddr()) == 6 {
			// On the link: straight to the client's hardware address, as
			// for a client without an address, so renewals from many
			// clients need no ARP entries in the kernel's shared table.
			o.addLink(ci, req.ClientHWAddr(), reply)
		} else {
			o.addUDP(ci, clientPort, reply)
		}
	case req.Broadcast() || nak || reply.YourIP().IsUnspecified():
		o.addLink(netip.AddrFrom4([4]byte{255, 255, 255, 255}), broadcastHW, reply)
	default:
		o.addLink(reply.YourIP(), req.ClientHWAddr(), reply)
	}
	o.sent = append(o.sent, reply)
}

func (o *outbox) addUDP(dst netip.Addr, port uint16, reply *handler.Reply) {
	o.udpBufs[o.udpN] = encodeReply(o.udpBufs[o.udpN], reply)
	m := &o.udpMsgs[o.udpN]
	m.Buffers[0] = o.udpBufs[o.udpN]
	m.Addr = net.UDPAddrFromAddrPort(netip.AddrPortFrom(dst, port))
	o.udpN++
}

func (o *outbox) addLink(dst netip.Addr, hw net.HardwareAddr, reply *handler.Reply) {
	if o.xsk != nil {
		o.addFrame(dst, clientPort, hw, reply)
		return
	}
	i := o.linkN
	o.scratch = encodeReply(o.scratch, reply)
	o.frames[i] = appendIPv4UDP(o.frames[i][:0], o.ifc.srcAddr(), dst, serverPort, clientPort, o.scratch)
	sa := &o.addrs[i]
	*sa = unix.RawSockaddrLinklayer{
		Family:   unix.AF_PACKET,
		Protocol: htons(unix.ETH_P_IP),
		Ifindex:  int32(o.ifc.index),
		Halen:    uint8(min(len(hw), len(sa.Addr))),
	}
	copy(sa.Addr[:], hw)
	o.iovs[i].Base = &o.frames[i][0]
	o.iovs[i].SetLen(len(o.frames[i]))
	h := &o.hdrs[i].hdr
	*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(sa)), Namelen: unix.SizeofSockaddrLinklayer, Iov: &o.iovs[i]}
	h.SetIovlen(1)
	o.linkN++
}

// ethIPUDPLen is the Ethernet, IPv4 and UDP headers of a reply frame.
const ethIPUDPLen = 14 + 20 + 8

// addFrame queues reply as a whole Ethernet frame for the AF_XDP queue:
// to hw (broadcast unless it is an Ethernet address), from the interface,
// to dst:port from the server port.
func (o *outbox) addFrame(dst netip.Addr, port uint16, hw []byte, reply *handler.Reply) {
	i := o.linkN
	o.scratch = encodeReply(o.scratch, reply)
	if ethIPUDPLen+len(o.scratch) > xsk.MaxFrame {
		// Too long for a UMEM chunk (a client asked for a large maximum
		// message size): the UDP socket sends it, to a relay as usual, to
		// a client broadcast, since it may have no address yet.
		if port != serverPort {
			dst = netip.AddrFrom4([4]byte{255, 255, 255, 255})
		}
		o.addUDP(dst, port, reply)
		return
	}
	f := o.frames[i][:0]
	if len(hw) == 6 {
		f = append(f, hw...)
	} else {
		f = append(f, broadcastHW...)
	}
	f = append(f, o.ifc.xsk.mac[:]...)
	f = binary.BigEndian.AppendUint16(f, unix.ETH_P_IP)
	o.frames[i] = appendIPv4UDP(f, o.ifc.srcAddr(), dst, serverPort, port, o.scratch)
	o.linkN++
}

// flush sends everything queued.
func (o *outbox) flush() {
	if o.udpN > 0 {
		for sent := 0; sent < o.udpN; {
			n, err := o.udp.WriteBatch(o.udpMsgs[sent:o.udpN], 0)
			if err != nil {
				o.onError(fmt.Errorf("send %d datagrams on %s: %w", o.udpN-sent, o.ifc.name, err))
				n = max(n, 1) // skip the datagram that failed
			}
			sent += n
		}
		for i := range o.udpN {
			o.udpMsgs[i].Buffers[0], o.udpMsgs[i].Addr = nil, nil
		}
		o.udpN = 0
	}
	if o.linkN > 0 && o.xsk != nil {
		o.sendXSK()
	}
	if o.linkN > 0 {
		for sent := 0; sent < o.linkN; {
			n, err := sendmmsg(o.ifc.sender.fd, o.hdrs[sent:o.linkN])
			if err != nil {
				o.onError(fmt.Errorf("send %d frames on %s: %w", o.linkN-sent, o.ifc.name, err))
				n = max(n, 1)
			}
			sent += n
		}
		o.linkN = 0
	}
	for _, r := range o.sent {
		o.onSent(r)
	}
	o.sent = o.sent[:0]
}

// xskSendTries bounds the rounds one flush spends on a full TX ring.
const xskSendTries = 4

// sendXSK puts the queued frames on the AF_XDP queue's TX ring.
func (o *outbox) sendXSK() {
	q := o.xsk
	sent := 0
	q.txMu.Lock()
	for try := 0; sent < o.linkN && try < xskSendTries; try++ {
		n, err := q.sock.Send(o.frames[sent:o.linkN])
		sent += n
		if err != nil {
			o.onError(fmt.Errorf("send frame on %s: %w", o.ifc.name, err))
			sent++ // skip the frame that failed
		}
	}
	q.txMu.Unlock()
	q.sent.Add(uint64(min(sent, o.linkN)))
	for range o.linkN - min(sent, o.linkN) {
		o.onError(fmt.Errorf("send on %s: AF_XDP transmit ring full", o.ifc.name))
	}
	o.linkN = 0
}

// sendmmsg sends the messages in hdrs, returning how many went out.
func sendmmsg(fd int, hdrs []mmsghdr) (int, error) {
	for {
		n, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(fd),
			uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0, 0)
		switch {
		case errno == 0:
			return int(n), nil
		case errors.Is(errno, unix.EINTR):
			continue
		default:
			return 0, errno
		}
	}
}
