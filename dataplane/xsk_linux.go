package dataplane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// XSKSlots is how many AF_XDP sockets, over all interfaces, the program
// can deliver requests to (XSK_SLOTS in bpf/xdhcp.c).
const XSKSlots = 64

// xskMaxAddrs is XSK_MAX_ADDRS in bpf/xdhcp.c: how many of an interface's
// addresses the program recognises as the server's.
const xskMaxAddrs = 4

// xskIface is an interface's share of the socket table.
type xskIface struct {
	first, queues uint32
}

// RegisterSockets has the program deliver the requests it passes on the
// interface ifindex to the control plane's AF_XDP sockets, fds[q] for
// receive queue q, instead of to the kernel's stack. Only untagged frames
// sent to broadcast or to one of addrs (at most 4 are used) are delivered
// so; the rest still pass to the stack. Registering an interface again
// replaces its sockets.
func (d *Dataplane) RegisterSockets(ifindex int, addrs []netip.Addr, fds []int) error {
	if len(fds) == 0 {
		return fmt.Errorf("register AF_XDP sockets on ifindex %d: no sockets given", ifindex)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("register AF_XDP sockets: dataplane closed")
	}
	d.unregisterLocked(ifindex)
	first, ok := d.freeSlots(len(fds))
	if !ok {
		return fmt.Errorf("register AF_XDP sockets on ifindex %d: %d sockets wanted, but the program's table of %d is full", ifindex, len(fds), XSKSlots)
	}
	for q, fd := range fds {
		if err := d.objs.XsksMap.Put(first+uint32(q), uint32(fd)); err != nil {
			d.clearSlots(first, uint32(q))
			return fmt.Errorf("register AF_XDP socket for ifindex %d queue %d: %w", ifindex, q, err)
		}
	}
	v := xdhcpXdhcpXskIface{First: first, Queues: uint32(len(fds))}
	n := 0
	for _, a := range addrs {
		if a.Is4() && n < xskMaxAddrs {
			a4 := a.As4()
			v.Addrs[n] = binary.NativeEndian.Uint32(a4[:]) // the bytes as on the wire
			n++
		}
	}
	if err := d.objs.XskIfacesMap.Put(uint32(ifindex), v); err != nil {
		d.clearSlots(first, uint32(len(fds)))
		return fmt.Errorf("register AF_XDP sockets on ifindex %d: %w", ifindex, err)
	}
	if d.xsk == nil {
		d.xsk = make(map[int]xskIface)
	}
	d.xsk[ifindex] = xskIface{first: first, queues: uint32(len(fds))}
	return nil
}

// UnregisterSockets sends the interface's requests to the stack again.
// Call it before closing the sockets.
func (d *Dataplane) UnregisterSockets(ifindex int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.unregisterLocked(ifindex)
	}
}

func (d *Dataplane) unregisterLocked(ifindex int) {
	xi, ok := d.xsk[ifindex]
	if !ok {
		return
	}
	// The interface entry goes first, so no frame looks up a slot being
	// cleared; a frame that already did finds it empty and passes.
	_ = d.objs.XskIfacesMap.Delete(uint32(ifindex))
	d.clearSlots(xi.first, xi.queues)
	delete(d.xsk, ifindex)
}

func (d *Dataplane) clearSlots(first, n uint32) {
	for i := range n {
		_ = d.objs.XsksMap.Delete(first + i)
	}
}

// freeSlots finds n consecutive slots no interface uses.
func (d *Dataplane) freeSlots(n int) (uint32, bool) {
	var used [XSKSlots]bool
	for _, xi := range d.xsk {
		for i := xi.first; i < xi.first+xi.queues; i++ {
			used[i] = true
		}
	}
	for first := 0; first+n <= XSKSlots; first++ {
		free := true
		for i := first; i < first+n; i++ {
			free = free && !used[i]
		}
		if free {
			return uint32(first), true
		}
	}
	return 0, false
}
