//go:build linux

package afxdp

import (
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config selects the queue, what the socket receives and how big its
// rings are. A nil *Config means defaults.
type Config struct {
	Queue int      // rx/tx queue to bind; default 0
	Ports []uint16 // UDP destination ports redirected to the socket; default 67 and 68; at most 4
	ARP   bool     // also redirect ARP (but not requests for the interface's own addresses)
	Batch int      // most frames one Send or Receive call moves; default 64
	// RingSize is the number of entries of each of the four rings, a
	// power of two; the UMEM holds twice as many 2 KiB frames. Default 2048.
	RingSize int
}

// Mode says how the socket and the program ended up attached.
type Mode struct {
	XDP        string // "native" or "generic"
	ZeroCopy   bool   // bound with XDP_ZEROCOPY; false: copy mode
	NeedWakeup bool   // bound with XDP_USE_NEED_WAKEUP
}

func (m Mode) String() string {
	s := "xdp " + m.XDP + ", copy mode"
	if m.ZeroCopy {
		s = "xdp " + m.XDP + ", zero-copy"
	}
	if m.NeedWakeup {
		s += ", need_wakeup"
	}
	return s
}

// Stats are the socket's kernel counters and the program's counters,
// both since Open.
type Stats struct {
	Socket  unix.XDPStatistics
	Program [numCounters]uint64 // indexed by Counter
}

// Conn is an AF_XDP socket on one queue of an interface, with the XDP
// program that feeds it.
type Conn struct {
	fd         int
	ifindex    int
	mac        [6]byte
	batch      int
	mode       Mode
	prog       *program
	umem       []byte
	fill, comp *ring
	rx, tx     *ring
	txFree     []uint64 // UMEM addresses of transmit frames not in flight
	closed     bool
}

const (
	frameSize = 2048
	// maxFrame is the longest frame a UMEM frame holds: the kernel keeps
	// XDP_PACKET_HEADROOM in front of received data.
	maxFrame = frameSize - unix.XDP_PACKET_HEADROOM
	// kickRounds bounds the system calls one Send spends pushing the TX
	// ring; in copy mode the kernel sends a bounded batch per call.
	kickRounds = 64
)

// Open opens an AF_XDP socket on queue cfg.Queue of iface and attaches the
// program that redirects the wanted frames to it.
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
	if c.RingSize == 0 {
		c.RingSize = 2048
	}
	if c.RingSize < 64 || c.RingSize&(c.RingSize-1) != 0 {
		return nil, fmt.Errorf("open AF_XDP socket on %s: RingSize %d: use a power of two of at least 64", iface, c.RingSize)
	}
	if c.Queue < 0 {
		return nil, fmt.Errorf("open AF_XDP socket on %s: Queue %d: use 0 or more", iface, c.Queue)
	}
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("open AF_XDP socket on %s: %w", iface, err)
	}
	own, err := ownIPv4(ifi)
	if err != nil {
		return nil, fmt.Errorf("open AF_XDP socket on %s: %w", iface, err)
	}
	prog, err := loadProgram(programConfig{ports: c.Ports, arp: c.ARP, ownAddrs: own})
	if err != nil {
		return nil, fmt.Errorf("open AF_XDP socket on %s: %w", iface, err)
	}
	// Zero-copy first, then copy mode, with and without need_wakeup.
	bindAttempts := [...]uint16{
		unix.XDP_ZEROCOPY | unix.XDP_USE_NEED_WAKEUP,
		unix.XDP_COPY | unix.XDP_USE_NEED_WAKEUP,
		unix.XDP_COPY,
	}
	var conn *Conn
	var errs []error
	for _, flags := range bindAttempts {
		conn, err = newConn(ifi, c, flags)
		if err == nil {
			break
		}
		errs = append(errs, err)
	}
	if conn == nil {
		_ = prog.close()
		return nil, fmt.Errorf("open AF_XDP socket on %s: %w", iface, errors.Join(errs...))
	}
	conn.prog = prog
	if err := prog.register(c.Queue, conn.fd); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open AF_XDP socket on %s: %w", iface, err)
	}
	if err := prog.attach(ifi.Index); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open AF_XDP socket on %s: %w", iface, err)
	}
	conn.mode.XDP = prog.mode
	return conn, nil
}

// newConn sets up the UMEM, the rings and the socket and binds it with
// flags. On error everything it made is released.
func newConn(ifi *net.Interface, cfg Config, flags uint16) (*Conn, error) {
	bindName := "copy"
	if flags&unix.XDP_ZEROCOPY != 0 {
		bindName = "zero-copy"
	}
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	c := &Conn{fd: fd, ifindex: ifi.Index, batch: cfg.Batch, mode: Mode{
		ZeroCopy: flags&unix.XDP_ZEROCOPY != 0, NeedWakeup: flags&unix.XDP_USE_NEED_WAKEUP != 0,
	}}
	copy(c.mac[:], ifi.HardwareAddr)
	if err := c.setup(ifi, cfg, flags); err != nil {
		_ = c.release()
		return nil, fmt.Errorf("%s bind attempt: %w", bindName, err)
	}
	return c, nil
}

func (c *Conn) setup(ifi *net.Interface, cfg Config, flags uint16) error {
	size := uint32(cfg.RingSize)
	frames := 2 * size
	umem, err := unix.Mmap(-1, 0, int(frames)*frameSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("map UMEM: %w", err)
	}
	c.umem = umem
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&umem[0]))), Len: uint64(len(umem)), Size: frameSize}
	if err := sockopt(c.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("register UMEM: %w", err)
	}
	for _, opt := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(c.fd, unix.SOL_XDP, opt, int(size)); err != nil {
			return fmt.Errorf("size ring (option %d): %w", opt, err)
		}
	}
	var off unix.XDPMmapOffsets
	if err := getsockopt(c.fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return fmt.Errorf("ring offsets: %w", err)
	}
	if c.fill, err = mapRing(c.fd, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, size, false); err != nil {
		return fmt.Errorf("fill ring: %w", err)
	}
	if c.comp, err = mapRing(c.fd, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, size, false); err != nil {
		return fmt.Errorf("completion ring: %w", err)
	}
	if c.rx, err = mapRing(c.fd, off.Rx, unix.XDP_PGOFF_RX_RING, size, true); err != nil {
		return fmt.Errorf("rx ring: %w", err)
	}
	if c.tx, err = mapRing(c.fd, off.Tx, unix.XDP_PGOFF_TX_RING, size, true); err != nil {
		return fmt.Errorf("tx ring: %w", err)
	}
	// The first half of the UMEM receives, the second half transmits.
	for i := uint32(0); i < size; i++ {
		c.fill.addrs[i] = uint64(i) * frameSize
	}
	c.fill.produce(size)
	c.txFree = make([]uint64, 0, size)
	for i := size; i < frames; i++ {
		c.txFree = append(c.txFree, uint64(i)*frameSize)
	}
	sa := &unix.SockaddrXDP{Flags: flags, Ifindex: uint32(ifi.Index), QueueID: uint32(cfg.Queue)}
	if err := unix.Bind(c.fd, sa); err != nil {
		return fmt.Errorf("bind to queue %d: %w", cfg.Queue, err)
	}
	// Let one kick send a whole batch in copy mode (kernels since 6.17;
	// older ones send 32 per call, and Send kicks again).
	_ = unix.SetsockoptInt(c.fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, max(cfg.Batch, 32))
	return nil
}

// Mode reports how the socket and program are attached.
func (c *Conn) Mode() Mode { return c.mode }

// HardwareAddr is the interface's MAC address.
func (c *Conn) HardwareAddr() [6]byte { return c.mac }

// BatchSize is the most frames one Send or Receive call moves per ring
// round (and per system call).
func (c *Conn) BatchSize() int { return c.batch }

// Send copies frames into the UMEM, queues them on the TX ring and kicks
// the kernel, and returns how many it queued. Running out of free
// transmit frames or ring slots is not an error: the unsent remainder is
// reported by the count. A frame longer than a UMEM frame is an error.
func (c *Conn) Send(frames [][]byte) (int, error) {
	sent := 0
	for sent < len(frames) {
		c.reclaim()
		n := min(len(frames)-sent, c.batch, len(c.txFree), int(c.tx.free()))
		if n == 0 {
			c.kick()
			c.reclaim()
			if n = min(len(frames)-sent, c.batch, len(c.txFree), int(c.tx.free())); n == 0 {
				return sent, nil
			}
		}
		prod := *c.tx.producer
		for i := 0; i < n; i++ {
			f := frames[sent+i]
			if len(f) > maxFrame || len(f) == 0 {
				c.tx.produce(uint32(i))
				c.kick()
				return sent + i, fmt.Errorf("send on AF_XDP socket: frame of %d bytes: want 1 to %d", len(f), maxFrame)
			}
			addr := c.txFree[len(c.txFree)-1]
			c.txFree = c.txFree[:len(c.txFree)-1]
			copy(c.umem[addr:addr+frameSize], f)
			c.tx.descs[(prod+uint32(i))&c.tx.mask] = unix.XDPDesc{Addr: addr, Len: uint32(len(f))}
		}
		c.tx.produce(uint32(n))
		c.kick()
		sent += n
	}
	return sent, nil
}

// kick asks the kernel to transmit what the TX ring holds, if it needs
// asking, until the ring is drained or the kernel pushes back.
func (c *Conn) kick() {
	for round := 0; round < kickRounds && c.tx.ready() > 0; round++ {
		if c.mode.NeedWakeup && !c.tx.needWakeup() {
			return
		}
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(c.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 && errno != unix.EAGAIN && errno != unix.EINTR {
			return // EBUSY, ENOBUFS, ENETDOWN: the kernel is full; frames stay queued
		}
	}
}

// reclaim moves transmitted frames from the completion ring back to the
// free list.
func (c *Conn) reclaim() {
	n := c.comp.ready()
	cons := *c.comp.consumer
	for i := uint32(0); i < n; i++ {
		c.txFree = append(c.txFree, c.comp.addrs[(cons+i)&c.comp.mask])
	}
	c.comp.consume(n)
}

// Receive hands each received frame to fn (which must not keep it) and
// returns how many it handled. It waits up to timeout for the first frame;
// a zero timeout does not wait.
func (c *Conn) Receive(timeout time.Duration, fn func([]byte)) (int, error) {
	n := c.receiveOnce(fn)
	if n > 0 || timeout <= 0 {
		return n, nil
	}
	ts := unix.NsecToTimespec(int64(timeout))
	pfd := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
	if _, err := unix.Ppoll(pfd, &ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
		return 0, fmt.Errorf("poll AF_XDP socket: %w", err)
	}
	return c.receiveOnce(fn), nil
}

// receiveOnce takes up to a batch of frames off the RX ring and gives
// their UMEM frames back to the fill ring.
func (c *Conn) receiveOnce(fn func([]byte)) int {
	avail := min(c.rx.ready(), uint32(c.batch))
	if avail == 0 {
		if c.mode.NeedWakeup && c.fill.needWakeup() {
			_, _, _ = unix.Syscall6(unix.SYS_RECVFROM, uintptr(c.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		}
		return 0
	}
	cons, prod := *c.rx.consumer, *c.fill.producer
	handled := 0
	for i := uint32(0); i < avail; i++ {
		d := c.rx.descs[(cons+i)&c.rx.mask]
		if end := d.Addr + uint64(d.Len); end <= uint64(len(c.umem)) {
			fn(c.umem[d.Addr:end])
			handled++
		}
		// The fill ring has room for every receive frame, so this slot
		// is free.
		c.fill.addrs[(prod+i)&c.fill.mask] = d.Addr &^ (frameSize - 1)
	}
	c.fill.produce(avail)
	c.rx.consume(avail)
	return handled
}

// Stats returns the socket's and the program's counters.
func (c *Conn) Stats() (Stats, error) {
	var s Stats
	if err := getsockopt(c.fd, unix.XDP_STATISTICS, unsafe.Pointer(&s.Socket), unsafe.Sizeof(s.Socket)); err != nil {
		return s, fmt.Errorf("AF_XDP statistics: %w", err)
	}
	var err error
	if s.Program, err = c.prog.counters(); err != nil {
		return s, err
	}
	return s, nil
}

// Close detaches the program, then releases the socket, its rings and the
// UMEM.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	if c.prog != nil {
		errs = append(errs, c.prog.close())
	}
	errs = append(errs, c.release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close AF_XDP socket: %w", err)
	}
	return nil
}

// release unmaps the rings, closes the socket and unmaps the UMEM.
func (c *Conn) release() error {
	var errs []error
	for _, r := range []*ring{c.fill, c.comp, c.rx, c.tx} {
		errs = append(errs, r.unmap())
	}
	errs = append(errs, unix.Close(c.fd))
	if c.umem != nil {
		errs = append(errs, unix.Munmap(c.umem))
		c.umem = nil
	}
	return errors.Join(errs...)
}
