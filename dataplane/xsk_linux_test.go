package dataplane

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/cilium/ebpf"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/xsk"
)

const xdpRedirect = 4 // the XDP return code beside xdpDrop and xdpPass

// xdpMd is struct xdp_md, the context BPF_PROG_TEST_RUN takes.
type xdpMd struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// openSocketIn opens an AF_XDP socket on queue 0 of ifname in the server
// namespace and returns it with the interface's index.
func openSocketIn(t *testing.T, nsName, ifname string) (*xsk.Socket, int) {
	t.Helper()
	var s *xsk.Socket
	var ifindex int
	inNetns(t, nsName, func() {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			t.Fatal(err)
		}
		if s, err = xsk.Open(ifi, xsk.Config{RingSize: 256}); err != nil {
			t.Fatal(err)
		}
		ifindex = ifi.Index
	})
	t.Cleanup(func() { _ = s.Close() })
	return s, ifindex
}

// TestDeliverToSocket runs frames through the program as if they came in
// on queue 0 of an interface with a registered AF_XDP socket, and checks
// which are redirected to it and which still go to the stack.
func TestDeliverToSocket(t *testing.T) {
	server, _ := vethPair(t)
	d := mustDataplane(t, config.Dataplane{})
	mustAttach(t, server, d, "xd0", AttachNative)
	sock, ifindex := openSocketIn(t, server.Name, "xd0")
	own := netip.MustParseAddr("10.9.0.1")
	if err := d.RegisterSockets(ifindex, []netip.Addr{own}, []int{sock.FD()}); err != nil {
		t.Fatal(err)
	}
	discover := newMsg(func(m *msg) { m.options = msgType(1) }).bytes()
	tests := []struct {
		name    string
		frame   []byte
		ifindex int
		want    uint32
	}{
		{"broadcast DISCOVER", frame{payload: discover}.bytes(), ifindex, xdpRedirect},
		{"unicast to the server", frame{payload: discover, dstIP: own.AsSlice()}.bytes(), ifindex, xdpRedirect},
		{"unicast to another host", frame{payload: discover, dstIP: []byte{10, 9, 0, 7}}.bytes(), ifindex, xdpPass},
		{"VLAN tagged", frame{vlanTPIDs: []uint16{0x8100}, payload: discover}.bytes(), ifindex, xdpPass},
		{"priority tagged (VLAN 0)", frame{vlanTPIDs: []uint16{0x8100}, vlanIDs: []uint16{0}, payload: discover}.bytes(), ifindex, xdpPass},
		{"not DHCP", frame{dport: 53, payload: discover}.bytes(), ifindex, xdpPass},
		{"longest frame a socket takes", frame{payload: discover, trailer: 1792 - len(frame{payload: discover}.bytes())}.bytes(), ifindex, xdpRedirect},
		{"longer than a socket takes", frame{payload: discover, trailer: 1793 - len(frame{payload: discover}.bytes())}.bytes(), ifindex, xdpPass},
		{"malformed DHCP still dropped", frame{payload: discover[:100]}.bytes(), ifindex, xdpDrop},
		{"interface without sockets", frame{payload: discover}.bytes(), 1, xdpPass},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := runXDPIn(t, d, server.Name, tc.frame, tc.ifindex); got != tc.want {
				t.Errorf("returned %d, want %d", got, tc.want)
			}
		})
	}
	d.UnregisterSockets(ifindex)
	if got := runXDPIn(t, d, server.Name, frame{payload: discover}.bytes(), ifindex); got != xdpPass {
		t.Errorf("after UnregisterSockets: returned %d, want XDP_PASS", got)
	}
}

// runXDPIn runs the program once on frame, arriving on queue 0 of
// ifindex in the namespace, and returns its XDP action.
func runXDPIn(t *testing.T, d *Dataplane, nsName string, fr []byte, ifindex int) uint32 {
	t.Helper()
	var ret uint32
	inNetns(t, nsName, func() {
		var err error
		ret, err = d.objs.XdhcpXdp.Run(&ebpf.RunOptions{Data: fr, Context: xdpMd{DataEnd: uint32(len(fr)), IngressIfindex: uint32(ifindex)}})
		if err != nil {
			t.Fatalf("test run: %v", err)
		}
	})
	return ret
}

// TestRegisterSocketsErrors covers the table filling up, replacing an
// interface's sockets, and a descriptor that is no AF_XDP socket.
func TestRegisterSocketsErrors(t *testing.T) {
	server, _ := vethPair(t)
	d := mustDataplane(t, config.Dataplane{})
	sock, ifindex := openSocketIn(t, server.Name, "xd0")
	fds := make([]int, XSKSlots)
	for i := range fds {
		fds[i] = sock.FD()
	}
	if err := d.RegisterSockets(ifindex, nil, fds); err != nil {
		t.Fatalf("a full table's worth: %v", err)
	}
	if err := d.RegisterSockets(ifindex+1, nil, fds[:1]); err == nil {
		t.Error("registered past a full table")
	}
	// Registering the interface again frees its old slots first.
	if err := d.RegisterSockets(ifindex, nil, fds); err != nil {
		t.Errorf("registering the same interface again: %v", err)
	}
	d.UnregisterSockets(ifindex)
	if err := d.RegisterSockets(ifindex, nil, []int{0}); err == nil { // stdin
		t.Error("registered a descriptor that is no AF_XDP socket")
	}
	if err := d.RegisterSockets(ifindex, nil, nil); err == nil {
		t.Error("registered no sockets")
	}
}

// TestVethDeliversToSocket sends a real DISCOVER across a veth into the
// attached program and reads it from the AF_XDP socket it was delivered
// to; a frame for the stack still reaches the stack.
func TestVethDeliversToSocket(t *testing.T) {
	server, client := vethPair(t)
	d := mustDataplane(t, config.Dataplane{})
	mustAttach(t, server, d, "xd0", AttachNative)
	sock, ifindex := openSocketIn(t, server.Name, "xd0")
	if err := d.RegisterSockets(ifindex, nil, []int{sock.FD()}); err != nil {
		t.Fatal(err)
	}
	cl := openPacketSocket(t, client, "cl0")
	watch := openPacketSocket(t, server, "xd0") // sees what reaches the stack
	const xid = 0x5150
	discover := newMsg(func(m *msg) { m.xid = xid; m.options = msgType(1) }).bytes()
	cl.send(t, frame{payload: discover}.bytes())

	var got [][]byte
	deadline := time.Now().Add(2 * time.Second)
	for len(got) == 0 && time.Now().Before(deadline) {
		if _, err := sock.Receive(100*time.Millisecond, func(f []byte) { got = append(got, append([]byte(nil), f...)) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 {
		t.Fatalf("AF_XDP socket received %d frames, want the DISCOVER", len(got))
	}
	if p, _, ok := frameBOOTP(got[0], new(linkSource)); !ok || binary.BigEndian.Uint32(p[4:]) != xid {
		t.Errorf("received frame is not the DISCOVER sent: % x", got[0])
	}
	if n := len(watch.drain(xid)); n != 0 {
		t.Errorf("the stack saw the delivered DISCOVER %d times, want 0", n)
	}
	d.UnregisterSockets(ifindex)
	cl.send(t, frame{payload: discover}.bytes())
	if n := len(watch.drain(xid)); n != 1 {
		t.Errorf("after UnregisterSockets the stack saw the DISCOVER %d times, want 1", n)
	}
}
