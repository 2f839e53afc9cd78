//go:build linux

package xsk

import (
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Config sets the queue a socket binds and the size of its rings. The
// zero value means queue 0, batches of 64 and rings of 2048 entries.
type Config struct {
	Queue int // rx/tx queue to bind
	Batch int // most frames one Send or Receive call moves per ring round
	// RingSize is the number of entries of each of the four rings, a
	// power of two of at least 64; the UMEM holds twice as many 2 KiB
	// frames, half for receiving and half for sending.
	RingSize int
}

// Mode says how the socket ended up bound.
type Mode struct {
	ZeroCopy   bool // bound with XDP_ZEROCOPY; false: copy mode
	NeedWakeup bool // bound with XDP_USE_NEED_WAKEUP
}

func (m Mode) String() string {
	s := "copy mode"
	if m.ZeroCopy {
		s = "zero-copy"
	}
	if m.NeedWakeup {
		s += ", need_wakeup"
	}
	return s
}

// Socket is an AF_XDP socket bound to one queue of an interface.
type Socket struct {
	fd         int
	ifindex    int
	queue      int
	batch      int
	mode       Mode
	umem       []byte
	fill, comp *ring
	rx, tx     *ring
	txFree     []uint64 // UMEM addresses of transmit frames not in flight
	closed     bool
}

const (
	frameSize = 2048
	// MaxFrame is the longest frame a UMEM frame holds: the kernel keeps
	// XDP_PACKET_HEADROOM in front of received data.
	MaxFrame = frameSize - unix.XDP_PACKET_HEADROOM
	// kickRounds bounds the system calls one Send spends pushing the TX
	// ring; in copy mode the kernel sends a bounded batch per call.
	kickRounds = 64
)

// Open opens an AF_XDP socket and binds it to queue cfg.Queue of ifi,
// zero-copy if the driver allows, else in copy mode; with need_wakeup
// where the kernel has it. The socket receives nothing until an XDP
// program on ifi redirects frames to FD through an XSKMAP.
func Open(ifi *net.Interface, cfg Config) (*Socket, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 64
	}
	if cfg.RingSize == 0 {
		cfg.RingSize = 2048
	}
	if cfg.RingSize < 64 || cfg.RingSize&(cfg.RingSize-1) != 0 {
		return nil, fmt.Errorf("open AF_XDP socket on %s: ring size %d: use a power of two of at least 64", ifi.Name, cfg.RingSize)
	}
	if cfg.Queue < 0 {
		return nil, fmt.Errorf("open AF_XDP socket on %s: queue %d: use 0 or more", ifi.Name, cfg.Queue)
	}
	bindAttempts := [...]uint16{
		unix.XDP_ZEROCOPY | unix.XDP_USE_NEED_WAKEUP,
		unix.XDP_COPY | unix.XDP_USE_NEED_WAKEUP,
		unix.XDP_COPY,
	}
	var errs []error
	for wait := time.Duration(0); ; wait += busyRetry {
		errs = errs[:0]
		for _, flags := range bindAttempts {
			s, err := newSocket(ifi, cfg, flags)
			if err == nil {
				return s, nil
			}
			errs = append(errs, err)
		}
		// EBUSY: the queue may still be held by a socket closed a moment
		// ago (by a process that just exited): the kernel lets go of it
		// when it frees the socket's buffer pool, from a workqueue.
		if !errors.Is(errs[len(errs)-1], unix.EBUSY) || wait >= busyWait {
			break
		}
		time.Sleep(busyRetry)
	}
	return nil, fmt.Errorf("open AF_XDP socket on %s queue %d: %w", ifi.Name, cfg.Queue, errors.Join(errs...))
}

// How long Open retries a queue another socket still holds.
const (
	busyWait  = 2 * time.Second
	busyRetry = 50 * time.Millisecond
)

// newSocket sets up the UMEM, the rings and the socket and binds it with
// flags. On error everything it made is released.
func newSocket(ifi *net.Interface, cfg Config, flags uint16) (*Socket, error) {
	bindName := "copy"
	if flags&unix.XDP_ZEROCOPY != 0 {
		bindName = "zero-copy"
	}
	fd, err := unix.Socket(unix.AF_XDP, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	s := &Socket{fd: fd, ifindex: ifi.Index, queue: cfg.Queue, batch: cfg.Batch, mode: Mode{
		ZeroCopy: flags&unix.XDP_ZEROCOPY != 0, NeedWakeup: flags&unix.XDP_USE_NEED_WAKEUP != 0,
	}}
	if err := s.setup(ifi, cfg, flags); err != nil {
		_ = s.release()
		return nil, fmt.Errorf("%s bind attempt: %w", bindName, err)
	}
	return s, nil
}

func (s *Socket) setup(ifi *net.Interface, cfg Config, flags uint16) error {
	size := uint32(cfg.RingSize)
	frames := 2 * size
	umem, err := unix.Mmap(-1, 0, int(frames)*frameSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return fmt.Errorf("map UMEM: %w", err)
	}
	s.umem = umem
	reg := unix.XDPUmemReg{Addr: uint64(uintptr(unsafe.Pointer(&umem[0]))), Len: uint64(len(umem)), Size: frameSize}
	if err := sockopt(s.fd, unix.XDP_UMEM_REG, unsafe.Pointer(&reg), unsafe.Sizeof(reg)); err != nil {
		return fmt.Errorf("register UMEM: %w", err)
	}
	for _, opt := range []int{unix.XDP_UMEM_FILL_RING, unix.XDP_UMEM_COMPLETION_RING, unix.XDP_RX_RING, unix.XDP_TX_RING} {
		if err := unix.SetsockoptInt(s.fd, unix.SOL_XDP, opt, int(size)); err != nil {
			return fmt.Errorf("size ring (option %d): %w", opt, err)
		}
	}
	var off unix.XDPMmapOffsets
	if err := getsockopt(s.fd, unix.XDP_MMAP_OFFSETS, unsafe.Pointer(&off), unsafe.Sizeof(off)); err != nil {
		return fmt.Errorf("ring offsets: %w", err)
	}
	if s.fill, err = mapRing(s.fd, off.Fr, unix.XDP_UMEM_PGOFF_FILL_RING, size, false); err != nil {
		return fmt.Errorf("fill ring: %w", err)
	}
	if s.comp, err = mapRing(s.fd, off.Cr, unix.XDP_UMEM_PGOFF_COMPLETION_RING, size, false); err != nil {
		return fmt.Errorf("completion ring: %w", err)
	}
	if s.rx, err = mapRing(s.fd, off.Rx, unix.XDP_PGOFF_RX_RING, size, true); err != nil {
		return fmt.Errorf("rx ring: %w", err)
	}
	if s.tx, err = mapRing(s.fd, off.Tx, unix.XDP_PGOFF_TX_RING, size, true); err != nil {
		return fmt.Errorf("tx ring: %w", err)
	}
	// The first half of the UMEM receives, the second half transmits.
	for i := uint32(0); i < size; i++ {
		s.fill.addrs[i] = uint64(i) * frameSize
	}
	s.fill.produce(size)
	s.txFree = make([]uint64, 0, size)
	for i := size; i < frames; i++ {
		s.txFree = append(s.txFree, uint64(i)*frameSize)
	}
	sa := &unix.SockaddrXDP{Flags: flags, Ifindex: uint32(ifi.Index), QueueID: uint32(cfg.Queue)}
	if err := unix.Bind(s.fd, sa); err != nil {
		return fmt.Errorf("bind to queue %d: %w", cfg.Queue, err)
	}
	// Let one kick send a whole batch in copy mode (kernels since 6.17;
	// older ones send 32 per call, and Send kicks again).
	_ = unix.SetsockoptInt(s.fd, unix.SOL_XDP, unix.XDP_MAX_TX_SKB_BUDGET, max(cfg.Batch, 32))
	return nil
}

// FD is the socket's descriptor, for an XSKMAP.
func (s *Socket) FD() int { return s.fd }

// Queue is the queue the socket is bound to.
func (s *Socket) Queue() int { return s.queue }

// Mode reports how the socket is bound.
func (s *Socket) Mode() Mode { return s.mode }

// BatchSize is the most frames one Send or Receive call moves per ring
// round (and per system call).
func (s *Socket) BatchSize() int { return s.batch }

// Send copies frames into the UMEM, queues them on the TX ring and kicks
// the kernel, and returns how many it queued. Running out of free
// transmit frames or ring slots is not an error: the unsent remainder is
// reported by the count. A frame longer than MaxFrame is an error.
func (s *Socket) Send(frames [][]byte) (int, error) {
	sent := 0
	for sent < len(frames) {
		s.reclaim()
		n := min(len(frames)-sent, s.batch, len(s.txFree), int(s.tx.free()))
		if n == 0 {
			s.kick()
			s.reclaim()
			if n = min(len(frames)-sent, s.batch, len(s.txFree), int(s.tx.free())); n == 0 {
				return sent, nil
			}
		}
		prod := *s.tx.producer
		for i := 0; i < n; i++ {
			f := frames[sent+i]
			if len(f) > MaxFrame || len(f) == 0 {
				s.tx.produce(uint32(i))
				s.kick()
				return sent + i, fmt.Errorf("send on AF_XDP socket: frame of %d bytes: want 1 to %d", len(f), MaxFrame)
			}
			addr := s.txFree[len(s.txFree)-1]
			s.txFree = s.txFree[:len(s.txFree)-1]
			copy(s.umem[addr:addr+frameSize], f)
			s.tx.descs[(prod+uint32(i))&s.tx.mask] = unix.XDPDesc{Addr: addr, Len: uint32(len(f))}
		}
		s.tx.produce(uint32(n))
		s.kick()
		sent += n
	}
	return sent, nil
}

// kick asks the kernel to transmit what the TX ring holds, if it needs
// asking, until the ring is drained or the kernel pushes back.
func (s *Socket) kick() {
	for round := 0; round < kickRounds && s.tx.ready() > 0; round++ {
		if s.mode.NeedWakeup && !s.tx.needWakeup() {
			return
		}
		_, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		if errno != 0 && errno != unix.EAGAIN && errno != unix.EINTR {
			return // EBUSY, ENOBUFS, ENETDOWN: the kernel is full; frames stay queued
		}
	}
}

// reclaim moves transmitted frames from the completion ring back to the
// free list.
func (s *Socket) reclaim() {
	n := s.comp.ready()
	cons := *s.comp.consumer
	for i := uint32(0); i < n; i++ {
		s.txFree = append(s.txFree, s.comp.addrs[(cons+i)&s.comp.mask])
	}
	s.comp.consume(n)
}

// Receive hands each received frame to fn (which must not keep it) and
// returns how many it handled. It waits up to timeout for the first frame;
// a zero timeout does not wait.
func (s *Socket) Receive(timeout time.Duration, fn func([]byte)) (int, error) {
	n := s.receiveOnce(fn)
	if n > 0 || timeout <= 0 {
		return n, nil
	}
	if err := s.Wait(timeout); err != nil {
		return 0, err
	}
	return s.receiveOnce(fn), nil
}

// Wait blocks until the RX ring has frames or timeout passes. It touches
// no ring, so one goroutine may wait while another receives.
func (s *Socket) Wait(timeout time.Duration) error {
	ts := unix.NsecToTimespec(int64(timeout))
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	if _, err := unix.Ppoll(pfd, &ts, nil); err != nil && !errors.Is(err, unix.EINTR) {
		return fmt.Errorf("poll AF_XDP socket: %w", err)
	}
	return nil
}

// receiveOnce takes up to a batch of frames off the RX ring and gives
// their UMEM frames back to the fill ring.
func (s *Socket) receiveOnce(fn func([]byte)) int {
	avail := min(s.rx.ready(), uint32(s.batch))
	if avail == 0 {
		if s.mode.NeedWakeup && s.fill.needWakeup() {
			_, _, _ = unix.Syscall6(unix.SYS_RECVFROM, uintptr(s.fd), 0, 0, unix.MSG_DONTWAIT, 0, 0)
		}
		return 0
	}
	cons, prod := *s.rx.consumer, *s.fill.producer
	handled := 0
	for i := uint32(0); i < avail; i++ {
		d := s.rx.descs[(cons+i)&s.rx.mask]
		if end := d.Addr + uint64(d.Len); end <= uint64(len(s.umem)) {
			fn(s.umem[d.Addr:end])
			handled++
		}
		// The fill ring has room for every receive frame, so this slot
		// is free.
		s.fill.addrs[(prod+i)&s.fill.mask] = d.Addr &^ (frameSize - 1)
	}
	s.fill.produce(avail)
	s.rx.consume(avail)
	return handled
}

// Stats returns the socket's kernel counters: frames dropped because the
// RX ring or the fill ring was full, and invalid descriptors.
func (s *Socket) Stats() (unix.XDPStatistics, error) {
	var st unix.XDPStatistics
	if err := getsockopt(s.fd, unix.XDP_STATISTICS, unsafe.Pointer(&st), unsafe.Sizeof(st)); err != nil {
		return st, fmt.Errorf("AF_XDP statistics: %w", err)
	}
	return st, nil
}

// Close releases the socket, its rings and the UMEM. Remove the socket
// from any XSKMAP first.
func (s *Socket) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.release(); err != nil {
		return fmt.Errorf("close AF_XDP socket: %w", err)
	}
	return nil
}

// release unmaps the rings, closes the socket and unmaps the UMEM.
func (s *Socket) release() error {
	var errs []error
	for _, r := range []*ring{s.fill, s.comp, s.rx, s.tx} {
		errs = append(errs, r.unmap())
	}
	errs = append(errs, unix.Close(s.fd))
	if s.umem != nil {
		errs = append(errs, unix.Munmap(s.umem))
		s.umem = nil
	}
	return errors.Join(errs...)
}
