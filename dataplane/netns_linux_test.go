package dataplane

import (
	"encoding/binary"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	vnetns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/internal/netns"
)

// inNetns runs fn on a thread moved into the named network namespace.
// Sockets made there stay in that namespace after fn returns.
func inNetns(tb testing.TB, name string, fn func()) {
	tb.Helper()
	runtime.LockOSThread()
	orig, err := vnetns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("get current netns: %v", err)
	}
	defer orig.Close()
	target, err := vnetns.GetFromName(name)
	if err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("open netns %s: %v", name, err)
	}
	defer target.Close()
	if err := vnetns.Set(target); err != nil {
		runtime.UnlockOSThread()
		tb.Fatalf("enter netns %s: %v", name, err)
	}
	defer func() {
		if err := vnetns.Set(orig); err != nil {
			// Leave the thread locked: Go ends it with the goroutine.
			tb.Fatalf("return from netns %s: %v", name, err)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

// packetSocket is an AF_PACKET socket on one interface.
type packetSocket struct{ fd int }

// openPacketSocket opens a packet socket on ifname inside ns.
func openPacketSocket(tb testing.TB, ns *netns.NS, ifname string) *packetSocket {
	tb.Helper()
	var ps *packetSocket
	inNetns(tb, ns.Name, func() {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			tb.Fatal(err)
		}
		proto := int(htons(unix.ETH_P_ALL))
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, proto)
		if err != nil {
			tb.Fatalf("packet socket: %v", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
			unix.Close(fd)
			tb.Fatalf("bind packet socket to %s: %v", ifname, err)
		}
		tv := unix.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
			unix.Close(fd)
			tb.Fatal(err)
		}
		ps = &packetSocket{fd: fd}
	})
	tb.Cleanup(func() { unix.Close(ps.fd) })
	return ps
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (p *packetSocket) send(tb testing.TB, frame []byte) {
	tb.Helper()
	if _, err := unix.Write(p.fd, frame); err != nil {
		tb.Fatalf("send %d-byte frame: %v", len(frame), err)
	}
}

// drain reads frames until none came for 200ms and returns those whose
// BOOTP xid is xid (frames are IPv4/UDP/BOOTP without VLAN tags).
func (p *packetSocket) drain(xid uint32) [][]byte {
	var got [][]byte
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(p.fd, buf, 0)
		if err != nil {
			return got
		}
		fr := buf[:n]
		if payload, _, ok := frameBOOTP(fr, new(linkSource)); ok && len(payload) >= 8 && binary.BigEndian.Uint32(payload[4:]) == xid {
			got = append(got, append([]byte(nil), fr...))
		}
	}
}

// xdpProgID returns the id of the XDP program on ifname in ns, 0 if none.
func xdpProgID(tb testing.TB, ns *netns.NS, ifname string) uint32 {
	tb.Helper()
	var id uint32
	inNetns(tb, ns.Name, func() {
		l, err := netlink.LinkByName(ifname)
		if err != nil {
			tb.Fatal(err)
		}
		if x := l.Attrs().Xdp; x != nil && x.Attached {
			id = x.ProgId
		}
	})
	return id
}
