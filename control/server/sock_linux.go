package server

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

const (
	serverPort = 67
	clientPort = 68
)

// listenUDP opens a UDP socket on port 67 bound to one device, so each
// packet's interface is known and several serving interfaces can share the
// port.
func listenUDP(ifname string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); serr != nil {
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1); serr != nil {
				return
			}
			if serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20); serr != nil {
				return
			}
			serr = unix.BindToDevice(int(fd), ifname)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf("0.0.0.0:%d", serverPort))
	if err != nil {
		return nil, fmt.Errorf("listen udp :%d on %s: %w", serverPort, ifname, err)
	}
	return pc.(*net.UDPConn), nil
}

// linkSender sends IPv4/UDP datagrams to a hardware address on one link,
// for clients that have no address yet.
type linkSender struct {
	fd      int
	ifindex int
}

func newLinkSender(ifindex int) (*linkSender, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_IP)))
	if err != nil {
		return nil, fmt.Errorf("open packet socket: %w", err)
	}
	// Nothing is read from this socket: bind it to no protocol so the
	// kernel queues no received frames on it.
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind packet socket to ifindex %d: %w", ifindex, err)
	}
	return &linkSender{fd: fd, ifindex: ifindex}, nil
}

func (s *linkSender) close() error { return unix.Close(s.fd) }

// appendIPv4UDP appends to buf an IPv4 header (no options, DF clear, TTL
// 64) and a UDP header with checksum, then the payload.
func appendIPv4UDP(buf []byte, src, dst netip.Addr, sport, dport uint16, payload []byte) []byte {
	const ipLen, udpLen = 20, 8
	total := ipLen + udpLen + len(payload)
	start := len(buf)
	buf = slices.Grow(buf, total)[:start+total]
	p := buf[start:]
	s4, d4 := src.As4(), dst.As4()
	p[0] = 0x45
	p[1] = 0x10 // low delay, as other DHCP servers mark replies
	binary.BigEndian.PutUint16(p[2:], uint16(total))
	binary.BigEndian.PutUint16(p[4:], 0)
	binary.BigEndian.PutUint16(p[6:], 0)
	p[8] = 64
	p[9] = unix.IPPROTO_UDP
	p[10], p[11] = 0, 0
	copy(p[12:16], s4[:])
	copy(p[16:20], d4[:])
	binary.BigEndian.PutUint16(p[10:], ^checksum(0, p[:ipLen]))

	u := p[ipLen:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(udpLen+len(payload)))
	u[6], u[7] = 0, 0
	copy(u[udpLen:], payload)
	// Pseudo-header: addresses, protocol, UDP length.
	sum := uint32(checksum(0, p[12:20])) + unix.IPPROTO_UDP + uint32(udpLen+len(payload))
	c := ^checksum(sum, u)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(u[6:], c)
	return buf
}

// checksum folds the one's-complement sum of b into sum (RFC 1071). It
// adds 32-bit words into a 64-bit accumulator and folds at the end, which
// gives the same sum as adding 16-bit words (2^16 is 1 modulo 0xffff),
// in a quarter of the steps.
func checksum(sum uint32, b []byte) uint16 {
	acc := uint64(sum)
	for len(b) >= 32 {
		acc += uint64(binary.BigEndian.Uint32(b)) + uint64(binary.BigEndian.Uint32(b[4:])) +
			uint64(binary.BigEndian.Uint32(b[8:])) + uint64(binary.BigEndian.Uint32(b[12:])) +
			uint64(binary.BigEndian.Uint32(b[16:])) + uint64(binary.BigEndian.Uint32(b[20:])) +
			uint64(binary.BigEndian.Uint32(b[24:])) + uint64(binary.BigEndian.Uint32(b[28:]))
		b = b[32:]
	}
	for len(b) >= 4 {
		acc += uint64(binary.BigEndian.Uint32(b))
		b = b[4:]
	}
	if len(b) >= 2 {
		acc += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		acc += uint64(b[0]) << 8
	}
	for acc>>16 != 0 {
		acc = acc&0xffff + acc>>16
	}
	return uint16(acc)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
