//go:build linux

package rawio

import (
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config selects what a Conn admits and how it receives. A nil *Config
// means defaults.
type Config struct {
	Ports  []uint16 // UDP destination ports admitted; default 67 and 68
	ARP    bool     // also admit ARP frames
	Batch  int      // frames per sendmmsg/recvmmsg; default 64
	RxRing bool     // receive through a TPACKET_V3 ring instead of recvmmsg
	// RingBlocks is the number of 1 MiB ring blocks; default 16.
	RingBlocks int
	// SocketBuffer sets SO_RCVBUF/SO_SNDBUF (forced) in bytes; default 8 MiB.
	SocketBuffer int
}

// Stats are the kernel's receive counters for the socket since the last call.
type Stats struct {
	Packets, Drops uint32
}

// Conn is a batched AF_PACKET socket bound to one interface.
type Conn struct {
	fd      int
	ifindex int
	mac     [6]byte
	batch   int

	txHdrs []mmsghdr
	txIov  []unix.Iovec
	rxHdrs []mmsghdr
	rxIov  []unix.Iovec
	rxBufs [][]byte

	ring      []byte
	blockSize int
	blocks    int
	block     int // next block to read
}

// mmsghdr mirrors struct mmsghdr.
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

const frameCap = 2048

// Open opens a packet socket on iface.
func Open(iface string, cfg *Config) (*Conn, error) {
	c := Config{}
	if cfg != nil {
		c = *cfg
	}
	if len(c.Ports) == 0 {
		c.Ports = []uint16{67, 68}
	}
	if c.Batch <= 0 {
		c.Batch = 64
	}
	if c.RingBlocks <= 0 {
		c.RingBlocks = 16
	}
	if c.SocketBuffer <= 0 {
		c.SocketBuffer = 8 << 20
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("open packet socket on %s: %w", iface, err)
	}
	// Protocol 0: the socket receives nothing until bind, which comes
	// after the filter is attached, so no unfiltered frame is queued.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open packet socket on %s: %w", iface, err)
	}
	conn := &Conn{fd: fd, ifindex: ifi.Index, batch: c.Batch}
	copy(conn.mac[:], ifi.HardwareAddr)
	if err := conn.setup(iface, c); err != nil {
		unix.Close(fd)
		return nil, err
	}
	return conn, nil
}

func (c *Conn) setup(iface string, cfg Config) error {
	wrap := func(what string, err error) error { return fmt.Errorf("packet socket on %s: %s: %w", iface, what, err) }
	prog := filter(cfg.Ports, cfg.ARP)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.SetsockoptSockFprog(c.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		return wrap("attach filter", err)
	}
	_ = unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1)
	if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
		return wrap("qdisc bypass", err)
	}
	_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, cfg.SocketBuffer)
	_ = unix.SetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, cfg.SocketBuffer)
	if cfg.RxRing {
		if err := unix.SetsockoptInt(c.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
			return wrap("TPACKET_V3", err)
		}
		c.blockSize, c.blocks = 1<<20, cfg.RingBlocks
		req := unix.TpacketReq3{
			Block_size: uint32(c.blockSize), Block_nr: uint32(c.blocks),
			Frame_size: frameCap, Frame_nr: uint32(c.blockSize / frameCap * c.blocks),
			Retire_blk_tov: 1, // ms: hand partly filled blocks to user space quickly
		}
		if err := unix.SetsockoptTpacketReq3(c.fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
			return wrap("rx ring", err)
		}
		ring, err := unix.Mmap(c.fd, 0, c.blockSize*c.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED)
		if err != nil {
			ring, err = unix.Mmap(c.fd, 0, c.blockSize*c.blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		}
		if err != nil {
			return wrap("mmap rx ring", err)
		}
		c.ring = ring
	}
	sll := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: c.ifindex}
	if err := unix.Bind(c.fd, sll); err != nil {
		return wrap("bind", err)
	}
	c.txHdrs = make([]mmsghdr, c.batch)
	c.txIov = make([]unix.Iovec, c.batch)
	if !cfg.RxRing {
		c.rxHdrs = make([]mmsghdr, c.batch)
		c.rxIov = make([]unix.Iovec, c.batch)
		c.rxBufs = make([][]byte, c.batch)
		for i := range c.rxBufs {
			c.rxBufs[i] = make([]byte, frameCap)
			c.rxIov[i].Base = &c.rxBufs[i][0]
			c.rxIov[i].SetLen(frameCap)
			c.rxHdrs[i].hdr.Iov = &c.rxIov[i]
			c.rxHdrs[i].hdr.Iovlen = 1
		}
	}
	return nil
}

// HardwareAddr is the interface's MAC address.
func (c *Conn) HardwareAddr() [6]byte { return c.mac }

// BatchSize is the most frames one Send or Receive call moves.
func (c *Conn) BatchSize() int { return c.batch }

// Send transmits frames (at most BatchSize per system call) and returns how
// many the kernel accepted. A full socket buffer is not an error: the
// unsent remainder is reported by the count.
func (c *Conn) Send(frames [][]byte) (int, error) {
	sent := 0
	for sent < len(frames) {
		n := min(len(frames)-sent, c.batch)
		for i := 0; i < n; i++ {
			f := frames[sent+i]
			c.txIov[i].Base = &f[0]
			c.txIov[i].SetLen(len(f))
			c.txHdrs[i].hdr = unix.Msghdr{Iov: &c.txIov[i], Iovlen: 1}
		}
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&c.txHdrs[0])), uintptr(n), unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 {
			if errno == unix.EAGAIN || errno == unix.ENOBUFS || errno == unix.EINTR {
				return sent, nil
			}
			return sent, fmt.Errorf("sendmmsg: %w", errno)
		}
		sent += int(r)
		if int(r) < n {
			return sent, nil
		}
	}
	return sent, nil
}

// Receive hands each received frame to fn (which must not keep it) and
// returns how many it handled. It waits up to timeout for the first frame;
// a zero timeout does not wait.
func (c *Conn) Receive(timeout time.Duration, fn func([]byte)) (int, error) {
	n, err := c.receiveOnce(fn)
	if n > 0 || err != nil || timeout <= 0 {
		return n, err
	}
	ts := unix.NsecToTimespec(int64(timeout))
	pfd := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
	if _, err := unix.Ppoll(pfd, &ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
		return 0, fmt.Errorf("poll packet socket: %w", err)
	}
	return c.receiveOnce(fn)
}

func (c *Conn) receiveOnce(fn func([]byte)) (int, error) {
	if c.ring != nil {
		return c.receiveRing(fn), nil
	}
	for i := range c.rxHdrs {
		c.rxHdrs[i].len = 0
	}
	r, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&c.rxHdrs[0])), uintptr(len(c.rxHdrs)), unix.MSG_DONTWAIT, 0, 0)
	if errno != 0 {
		if errno == unix.EAGAIN || errno == unix.EINTR {
			return 0, nil
		}
		return 0, fmt.Errorf("recvmmsg: %w", errno)
	}
	for i := 0; i < int(r); i++ {
		fn(c.rxBufs[i][:min(int(c.rxHdrs[i].len), frameCap)])
	}
	return int(r), nil
}

// receiveRing walks ready blocks of the TPACKET_V3 ring, up to a batch's
// worth of blocks, and returns them to the kernel.
func (c *Conn) receiveRing(fn func([]byte)) int {
	n := 0
	for b := 0; b < c.blocks; b++ {
		blk := c.ring[c.block*c.blockSize : (c.block+1)*c.blockSize]
		desc := (*unix.TpacketBlockDesc)(unsafe.Pointer(&blk[0]))
		hdr := (*unix.TpacketHdrV1)(unsafe.Pointer(&desc.Hdr[0]))
		if atomic.LoadUint32(&hdr.Block_status)&unix.TP_STATUS_USER == 0 {
			break
		}
		off := int(hdr.Offset_to_first_pkt)
		for p := uint32(0); p < hdr.Num_pkts; p++ {
			if off <= 0 || off+int(unsafe.Sizeof(unix.Tpacket3Hdr{})) > len(blk) {
				break
			}
			ph := (*unix.Tpacket3Hdr)(unsafe.Pointer(&blk[off]))
			start, end := off+int(ph.Mac), off+int(ph.Mac)+int(ph.Snaplen)
			if end <= len(blk) {
				fn(blk[start:end])
				n++
			}
			if ph.Next_offset == 0 {
				break
			}
			off += int(ph.Next_offset)
		}
		atomic.StoreUint32(&hdr.Block_status, unix.TP_STATUS_KERNEL)
		c.block = (c.block + 1) % c.blocks
	}
	return n
}

// Stats returns and resets the kernel's counters for the socket.
func (c *Conn) Stats() (Stats, error) {
	if c.ring != nil {
		s, err := unix.GetsockoptTpacketStatsV3(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
		if err != nil {
			return Stats{}, fmt.Errorf("packet statistics: %w", err)
		}
		return Stats{Packets: s.Packets, Drops: s.Drops}, nil
	}
	s, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return Stats{}, fmt.Errorf("packet statistics: %w", err)
	}
	return Stats{Packets: s.Packets, Drops: s.Drops}, nil
}

// Close releases the socket and ring.
func (c *Conn) Close() error {
	if c.ring != nil {
		_ = unix.Munmap(c.ring)
		c.ring = nil
	}
	if err := unix.Close(c.fd); err != nil {
		return fmt.Errorf("close packet socket: %w", err)
	}
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
