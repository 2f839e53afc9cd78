//go:build linux

package afxdp

import (
	"errors"
	"fmt"
	"net"

	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/xsk"
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
	XDP      string // "native" or "generic"
	xsk.Mode        // how the socket is bound
}

func (m Mode) String() string { return "xdp " + m.XDP + ", " + m.Mode.String() }

// Stats are the socket's kernel counters and the program's counters,
// both since Open.
type Stats struct {
	Socket  unix.XDPStatistics
	Program [numCounters]uint64 // indexed by Counter
}

// Conn is an AF_XDP socket on one queue of an interface, with the XDP
// program that feeds it.
type Conn struct {
	*xsk.Socket
	mac    [6]byte
	mode   Mode
	prog   *program
	closed bool
}

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
	sock, err := xsk.Open(ifi, xsk.Config{Queue: c.Queue, Batch: c.Batch, RingSize: c.RingSize})
	if err != nil {
		_ = prog.close()
		return nil, err
	}
	conn := &Conn{Socket: sock, prog: prog, mode: Mode{Mode: sock.Mode()}}
	copy(conn.mac[:], ifi.HardwareAddr)
	if err := prog.register(c.Queue, sock.FD()); err != nil {
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

// Mode reports how the socket and program are attached.
func (c *Conn) Mode() Mode { return c.mode }

// HardwareAddr is the interface's MAC address.
func (c *Conn) HardwareAddr() [6]byte { return c.mac }

// Stats returns the socket's and the program's counters.
func (c *Conn) Stats() (Stats, error) {
	var s Stats
	var err error
	if s.Socket, err = c.Socket.Stats(); err != nil {
		return s, err
	}
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
	errs := []error{c.prog.close(), c.Socket.Close()}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close AF_XDP socket: %w", err)
	}
	return nil
}
