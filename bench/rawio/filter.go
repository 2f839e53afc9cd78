package rawio

import "golang.org/x/sys/unix"

// filter returns a classic BPF program admitting unfragmented IPv4 UDP
// frames whose destination port is in ports, and ARP frames when arp is set.
func filter(ports []uint16, arp bool) []unix.SockFilter {
	const (
		ldh  = unix.BPF_LD | unix.BPF_H | unix.BPF_ABS
		ldb  = unix.BPF_LD | unix.BPF_B | unix.BPF_ABS
		ldxb = unix.BPF_LDX | unix.BPF_B | unix.BPF_MSH
		ldhx = unix.BPF_LD | unix.BPF_H | unix.BPF_IND
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	// Layout: head, per-port tests, then accept and drop.
	var p []unix.SockFilter
	ins := func(code uint16, jt, jf uint8, k uint32) {
		p = append(p, unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k})
	}
	// Jump offsets are filled in after the length is known.
	ins(ldh, 0, 0, 12) // 0: ethertype
	arpAt := len(p)
	ins(jeq, 0, 0, 0x0806) // 1: ARP?
	ipAt := len(p)
	ins(jeq, 0, 0, 0x0800) // 2: IPv4?
	ins(ldb, 0, 0, 23)     // 3: protocol
	udpAt := len(p)
	ins(jeq, 0, 0, 17) // 4: UDP?
	ins(ldh, 0, 0, 20) // 5: flags+fragment offset
	fragAt := len(p)
	ins(jset, 0, 0, 0x1fff) // 6: fragment?
	ins(ldxb, 0, 0, 14)     // 7: X = IP header length
	ins(ldhx, 0, 0, 16)     // 8: UDP destination port
	portAt := len(p)
	for _, port := range ports {
		ins(jeq, 0, 0, uint32(port))
	}
	drop := len(p) + 1
	accept := len(p)
	ins(ret, 0, 0, 0x40000) // accept
	ins(ret, 0, 0, 0)       // drop
	rel := func(from, to int) uint8 { return uint8(to - from - 1) }
	if arp {
		p[arpAt].Jt = rel(arpAt, accept)
	} else {
		p[arpAt].Jt = rel(arpAt, drop)
	}
	p[arpAt].Jf = 0
	p[ipAt].Jt, p[ipAt].Jf = 0, rel(ipAt, drop)
	p[udpAt].Jt, p[udpAt].Jf = 0, rel(udpAt, drop)
	p[fragAt].Jt, p[fragAt].Jf = rel(fragAt, drop), 0
	for i := range ports {
		at := portAt + i
		p[at].Jt = rel(at, accept)
		if i == len(ports)-1 {
			p[at].Jf = rel(at, drop)
		}
	}
	return p
}
