//go:build linux

package xsk

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring is one of the four single-producer, single-consumer rings shared
// with the kernel: the UMEM's fill and completion rings (entries are UMEM
// addresses) and the socket's RX and TX rings (entries are descriptors).
// The side that produces advances producer; the other advances consumer.
type ring struct {
	mem      []byte
	producer *uint32
	consumer *uint32
	flags    *uint32
	addrs    []uint64       // fill and completion rings
	descs    []unix.XDPDesc // RX and TX rings
	mask     uint32
}

// mapRing maps a ring of size entries at the socket's page offset pgoff.
func mapRing(fd int, off unix.XDPRingOffset, pgoff int64, size uint32, descRing bool) (*ring, error) {
	entry := uint64(8)
	if descRing {
		entry = uint64(unsafe.Sizeof(unix.XDPDesc{}))
	}
	mem, err := unix.Mmap(fd, pgoff, int(off.Desc+uint64(size)*entry), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap ring at page offset %#x: %w", pgoff, err)
	}
	r := &ring{
		mem:      mem,
		producer: (*uint32)(unsafe.Pointer(&mem[off.Producer])),
		consumer: (*uint32)(unsafe.Pointer(&mem[off.Consumer])),
		flags:    (*uint32)(unsafe.Pointer(&mem[off.Flags])),
		mask:     size - 1,
	}
	base := unsafe.Pointer(&mem[off.Desc])
	if descRing {
		r.descs = unsafe.Slice((*unix.XDPDesc)(base), size)
	} else {
		r.addrs = unsafe.Slice((*uint64)(base), size)
	}
	return r, nil
}

// free is how many entries a producer may still add.
func (r *ring) free() uint32 {
	return uint32(len(r.addrs)+len(r.descs)) - (*r.producer - atomic.LoadUint32(r.consumer))
}

// ready is how many entries a consumer may take.
func (r *ring) ready() uint32 {
	return atomic.LoadUint32(r.producer) - *r.consumer
}

// produce publishes n entries written after the producer index.
func (r *ring) produce(n uint32) { atomic.StoreUint32(r.producer, *r.producer+n) }

// consume releases n entries read from the consumer index.
func (r *ring) consume(n uint32) { atomic.StoreUint32(r.consumer, *r.consumer+n) }

// needWakeup reports whether the kernel asked to be kicked to process
// this ring (XDP_USE_NEED_WAKEUP).
func (r *ring) needWakeup() bool {
	return atomic.LoadUint32(r.flags)&unix.XDP_RING_NEED_WAKEUP != 0
}

func (r *ring) unmap() error {
	if r == nil || r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem = nil
	return err
}

// sockopt sets a SOL_XDP option whose value is a struct.
func sockopt(fd, opt int, val unsafe.Pointer, size uintptr) error {
	_, _, errno := unix.Syscall6(unix.SYS_SETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(val), size, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// getsockopt reads a SOL_XDP option into a struct.
func getsockopt(fd, opt int, val unsafe.Pointer, size uintptr) error {
	l := uint32(size)
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_XDP, uintptr(opt), uintptr(val), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
