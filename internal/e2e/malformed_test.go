package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// bootp returns a BOOTREQUEST header (236 bytes) from chaddr, the magic
// cookie, and then opts as given, unchecked.
func bootp(chaddr byte, opts ...byte) []byte {
	b := make([]byte, 240, 240+len(opts))
	b[0], b[1], b[2] = 1, 1, 6 // BOOTREQUEST, Ethernet, hlen 6
	binary.BigEndian.PutUint32(b[4:], 0xdead0000|uint32(chaddr))
	copy(b[28:], []byte{0x02, 0xbd, 0, 0, 0, chaddr})
	copy(b[236:], []byte{99, 130, 83, 99})
	return append(b, opts...)
}

// malformedPayloads are UDP payloads no server may choke on.
func malformedPayloads() map[string][]byte {
	oversized61 := append([]byte{53, 1, 1, 61, 255, 1}, make([]byte, 254)...) // option 61 at the maximum length
	longName := append([]byte{53, 1, 1, 12, 255}, make([]byte, 255)...)
	return map[string][]byte{
		"empty":                   {},
		"one byte":                {1},
		"truncated header":        bootp(1)[:100],
		"header without cookie":   bootp(2)[:236],
		"bad cookie":              append(bootp(3)[:236], 1, 2, 3, 4, 53, 1, 1, 255),
		"no options":              bootp(4),
		"option past the end":     bootp(5, 53, 1, 1, 50, 200, 192, 0),
		"zero-length type":        bootp(6, 53, 0, 255),
		"type out of range":       bootp(7, 53, 1, 99, 255),
		"length byte missing":     bootp(8, 53),
		"oversized client id":     bootp(9, oversized61...),
		"oversized hostname":      bootp(10, longName...),
		"overload into garbage":   bootp(11, 53, 1, 1, 52, 1, 3, 255),
		"request without address": bootp(12, 53, 1, 3, 255),
		"agent info garbage":      bootp(13, 53, 1, 1, 82, 4, 9, 9, 9, 9, 255),
		"reply opcode":            append([]byte{2}, bootp(14, 53, 1, 2, 255)[1:]...),
		"hlen 200":                append(append(bootp(15)[:2], 200), bootp(15, 53, 1, 1, 255)[3:]...),
		"garbage 1400":            garbage(1400),
	}
}

func garbage(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// rawFrames are Ethernet frames to UDP port 67 that lie about their own
// lengths, from src.
func rawFrames(src net.HardwareAddr) map[string][]byte {
	frame := func(ipLen, ihl int, udpLen int, payload []byte, cut int) []byte {
		f := make([]byte, 14+20+8+len(payload))
		copy(f, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(f[6:], src)
		f[12], f[13] = 0x08, 0x00
		ip := f[14:]
		ip[0] = 0x40 | byte(ihl)
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
		ip[8], ip[9] = 64, 17
		copy(ip[12:], []byte{0, 0, 0, 0})
		copy(ip[16:], []byte{255, 255, 255, 255})
		binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip[:20]))
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp[0:], 68)
		binary.BigEndian.PutUint16(udp[2:], 67)
		binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
		copy(udp[8:], payload)
		return f[:len(f)-cut]
	}
	p := bootp(20, 53, 1, 1, 255)
	full := 20 + 8 + len(p)
	return map[string][]byte{
		"udp length too long":   frame(full, 5, 8+len(p)+500, p, 0),
		"udp length too short":  frame(full, 5, 4, p, 0),
		"ip length too long":    frame(full+1000, 5, 8+len(p), p, 0),
		"bad ihl":               frame(full, 3, 8+len(p), p, 0),
		"ihl past the end":      frame(full, 15, 8+len(p), p, len(p)+8),
		"frame cut in udp":      frame(full, 5, 8+len(p), p, len(p)+4),
		"frame cut in ip":       frame(full, 5, 8+len(p), p, len(p)+18),
		"header only, no bootp": frame(28, 5, 8, nil, 0),
	}
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

func TestMalformedBurstLeavesServerServing(t *testing.T) {
	setup(t, "udhcpc")
	lab := newLab(t, "192.0.2.1/24")
	d := startDaemon(t, lab, lanSpec(time.Hour))
	attacker, err := lab.AddHost("bad")
	mustDo(t, err, attacker.AddAddr(HostIface, "192.0.2.66/24"))
	mac, err := attacker.MAC(HostIface)
	mustDo(t, err)

	var udp *net.UDPConn
	var raw int
	mustDo(t, attacker.Do(func() error {
		var err error
		if udp, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(192, 0, 2, 66), Port: 68}); err != nil {
			return fmt.Errorf("udp socket: %w", err)
		}
		rc, err := udp.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_BROADCAST, 1)
		}); err != nil {
			return err
		}
		if serr != nil {
			return serr
		}
		raw, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, 0)
		return err
	}))
	defer udp.Close()
	defer unix.Close(raw)
	ifi, err := attacker.Output("cat", "/sys/class/net/"+HostIface+"/ifindex")
	mustDo(t, err)
	var ifindex int
	if _, err := fmt.Sscan(ifi, &ifindex); err != nil {
		t.Fatal(err)
	}
	link := &unix.SockaddrLinklayer{Ifindex: ifindex, Halen: 6, Addr: [8]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}

	targets := []*net.UDPAddr{{IP: net.IPv4bcast, Port: 67}, {IP: net.IPv4(192, 0, 2, 1), Port: 67}}
	sent := 0
	for round := 0; round < 20; round++ {
		for name, p := range malformedPayloads() {
			for _, to := range targets {
				if _, err := udp.WriteToUDP(p, to); err != nil {
					t.Fatalf("send %q to %s: %v", name, to, err)
				}
				sent++
			}
		}
		for name, f := range rawFrames(mac) {
			if err := unix.Sendto(raw, f, 0, link); err != nil {
				t.Fatalf("send raw %q: %v", name, err)
			}
			sent++
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("sent %d malformed datagrams and frames", sent)
	time.Sleep(500 * time.Millisecond)
	if !d.Running() {
		t.Fatalf("xdhcpd died from the malformed burst")
	}

	host, err := lab.AddHost("good")
	mustDo(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := newClient(t, "udhcpc", host, "").Acquire(ctx)
	if err != nil {
		t.Fatalf("after the burst: %v", err)
	}
	checkClientLease(t, got, time.Hour)
	if _, ok := LeaseByIP(leases(t, d), got.IP); !ok {
		t.Errorf("no server lease for %s", got.IP)
	}
	for _, l := range leases(t, d) {
		if netip.MustParseAddr(l.IP) != got.IP && l.State == "active" {
			t.Errorf("a malformed packet produced an active lease: %+v", l)
		}
	}
	if !d.Running() {
		t.Fatalf("xdhcpd is not running after the test")
	}
	dp, err := d.Dataplane(ctx)
	mustDo(t, err)
	t.Logf("XDP counters after the burst: %v", dp.XDP)
	if dp.XDP["dropped-malformed"] == 0 {
		t.Errorf("the XDP program counted no malformed frames: %v", dp.XDP)
	}
}
