//go:build linux

package afxdp

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Counter indexes Counters' result.
type Counter int

// The counters, in redirect.c's order.
const (
	Redirected Counter = iota // wanted and redirected to the socket
	NoSocket                  // wanted, but no socket on the receiving queue: passed
	Passed                    // not wanted: passed to the stack
	StackARP                  // ARP request for the interface's own address: passed
	numCounters
)

// CounterNames labels Counters' result.
var CounterNames = [numCounters]string{"redirected", "no_socket", "passed", "stack_arp"}

const (
	maxPorts    = 4 // MAX_PORTS in redirect.c
	maxOwnAddrs = 4 // MAX_OWN_ADDRS in redirect.c
)

// programConfig is what the loader writes into redirect.c's constants.
type programConfig struct {
	ports    []uint16
	arp      bool
	ownAddrs [][4]byte
}

// program is the loaded redirect program and, once attached, its link.
type program struct {
	objs redirectObjects
	link link.Link
	mode string
}

// loadProgram sets the program's constants and loads it, without
// attaching it.
func loadProgram(cfg programConfig) (*program, error) {
	if len(cfg.ports) > maxPorts {
		return nil, fmt.Errorf("load xdp redirect: %d ports given, at most %d", len(cfg.ports), maxPorts)
	}
	spec, err := loadRedirect()
	if err != nil {
		return nil, fmt.Errorf("load xdp redirect spec: %w", err)
	}
	var ports [maxPorts]uint16
	copy(ports[:], cfg.ports)
	var own [maxOwnAddrs][4]byte
	copy(own[:], cfg.ownAddrs) // the first maxOwnAddrs; more are rare on a benchmark port
	var arp uint8
	if cfg.arp {
		arp = 1
	}
	sets := []struct {
		name string
		v    any
	}{
		{"ports", ports},
		{"want_arp", arp},
		{"own_addrs", own},
	}
	for _, s := range sets {
		v, ok := spec.Variables[s.name]
		if !ok {
			return nil, fmt.Errorf("load xdp redirect: variable %s missing from the object", s.name)
		}
		if err := v.Set(s.v); err != nil {
			return nil, fmt.Errorf("load xdp redirect: set %s: %w", s.name, err)
		}
	}
	p := &program{}
	if err := spec.LoadAndAssign(&p.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load xdp redirect: %+v", ve)
		}
		return nil, fmt.Errorf("load xdp redirect: %w", err)
	}
	return p, nil
}

// register puts the socket fd into the XSKMAP slot of queue.
func (p *program) register(queue, fd int) error {
	if err := p.objs.Xsks.Put(uint32(queue), uint32(fd)); err != nil {
		return fmt.Errorf("register AF_XDP socket for queue %d: %w", queue, err)
	}
	return nil
}

// attach attaches the program natively if the driver allows, else in
// generic mode, through a bpf_link.
func (p *program) attach(ifindex int) error {
	l, err := link.AttachXDP(link.XDPOptions{Program: p.objs.XdpRedirectXsk, Interface: ifindex, Flags: link.XDPDriverMode})
	mode := "native"
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.EBUSY) {
		return fmt.Errorf("attach xdp redirect to ifindex %d: the interface already has an XDP program; detach it first (ip link set dev IFACE xdp off), or use a packet-socket engine: %w", ifindex, err)
	}
	if err != nil {
		l, err = link.AttachXDP(link.XDPOptions{Program: p.objs.XdpRedirectXsk, Interface: ifindex, Flags: link.XDPGenericMode})
		mode = "generic"
	}
	if err != nil {
		return fmt.Errorf("attach xdp redirect to ifindex %d: %w", ifindex, err)
	}
	p.link, p.mode = l, mode
	return nil
}

// counters returns the counters summed over CPUs.
func (p *program) counters() ([numCounters]uint64, error) {
	var out [numCounters]uint64
	for i := range out {
		var per []uint64
		if err := p.objs.Counters.Lookup(uint32(i), &per); err != nil {
			return out, fmt.Errorf("read xdp redirect counter %s: %w", CounterNames[i], err)
		}
		for _, v := range per {
			out[i] += v
		}
	}
	return out, nil
}

// run runs the program once on frame with BPF_PROG_TEST_RUN (for tests).
func (p *program) run(frame []byte) (uint32, error) {
	ret, err := p.objs.XdpRedirectXsk.Run(&ebpf.RunOptions{Data: frame})
	if err != nil {
		return 0, fmt.Errorf("xdp redirect test run: %w", err)
	}
	return ret, nil
}

// close detaches and unloads the program.
func (p *program) close() error {
	var errs []error
	if p.link != nil {
		errs = append(errs, p.link.Close())
		p.link = nil
	}
	errs = append(errs, p.objs.Close())
	return errors.Join(errs...)
}

// ownIPv4 lists the interface's IPv4 addresses, for the program to leave
// ARP requests for them to the stack.
func ownIPv4(ifi *net.Interface) ([][4]byte, error) {
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, fmt.Errorf("addresses of %s: %w", ifi.Name, err)
	}
	var out [][4]byte
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if v4 := ipn.IP.To4(); v4 != nil {
			out = append(out, [4]byte(v4))
		}
	}
	return out, nil
}
