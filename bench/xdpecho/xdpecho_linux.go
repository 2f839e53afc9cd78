//go:build linux

package xdpecho

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/xdhcp/xdhcp/bench/responder"
)

// Config sets the responder's identity and address plan (with package
// responder's defaults) and the flood MACs' second byte.
type Config struct {
	responder.Config
	FloodSeed byte
}

// Counter indexes Counters' result.
type Counter int

// The counters, in echo.c's order.
const (
	Offers Counter = iota
	Acks
	Passed
	Flooded
	numCounters
)

// CounterNames labels Counters' result.
var CounterNames = [numCounters]string{"offers", "acks", "passed", "flooded"}

// Objects are the loaded programs and maps.
type Objects struct {
	objs echoObjects
	link link.Link
}

// Load validates cfg and loads the programs without attaching them.
func Load(cfg Config) (*Objects, error) {
	cfg.Defaults()
	if !cfg.ServerIP.Is4() || !cfg.Pool.Addr().Is4() {
		return nil, fmt.Errorf("load xdp echo: ServerIP and Pool must be IPv4")
	}
	spec, err := loadEcho()
	if err != nil {
		return nil, fmt.Errorf("load xdp echo spec: %w", err)
	}
	base := cfg.Pool.Masked().Addr().As4()
	sets := []struct {
		name string
		v    any
	}{
		{"server_ip", cfg.ServerIP.As4()},
		{"server_mac", cfg.ServerMAC},
		{"pool_base", binary.BigEndian.Uint32(base[:])},
		{"pool_mask", ^uint32(0) >> cfg.Pool.Bits()},
		{"lease_secs", cfg.LeaseTime},
		{"flood_seed", cfg.FloodSeed},
	}
	for _, s := range sets {
		v, ok := spec.Variables[s.name]
		if !ok {
			return nil, fmt.Errorf("load xdp echo: variable %s missing from the object", s.name)
		}
		if err := v.Set(s.v); err != nil {
			return nil, fmt.Errorf("load xdp echo: set %s: %w", s.name, err)
		}
	}
	o := &Objects{}
	if err := spec.LoadAndAssign(&o.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load xdp echo: %+v", ve)
		}
		return nil, fmt.Errorf("load xdp echo: %w", err)
	}
	return o, nil
}

// Attach attaches xdp_echo to the interface, natively if the driver
// allows, else in generic mode. It returns the mode used.
func (o *Objects) Attach(ifindex int) (string, error) {
	l, err := link.AttachXDP(link.XDPOptions{Program: o.objs.XdpEcho, Interface: ifindex, Flags: link.XDPDriverMode})
	mode := "native"
	if err != nil {
		l, err = link.AttachXDP(link.XDPOptions{Program: o.objs.XdpEcho, Interface: ifindex, Flags: link.XDPGenericMode})
		mode = "generic"
	}
	if err != nil {
		return "", fmt.Errorf("attach xdp echo to ifindex %d: %w", ifindex, err)
	}
	o.link = l
	return mode, nil
}

// AttachPass attaches xdp_pass, a program that passes every frame, to the
// interface in native mode. A veth end needs it (in this kernel, GRO is
// not enough) to receive frames its peer sends with XDP_TX. Close the
// result to detach.
func AttachPass(ifindex int) (io.Closer, error) {
	return attachOne(ifindex, func(o *Objects) *ebpf.Program { return o.objs.XdpPass })
}

// AttachDrop attaches xdp_drop, a sink that drops every frame, in native
// mode. Close the result to detach.
func AttachDrop(ifindex int) (io.Closer, error) {
	return attachOne(ifindex, func(o *Objects) *ebpf.Program { return o.objs.XdpDrop })
}

func attachOne(ifindex int, prog func(*Objects) *ebpf.Program) (io.Closer, error) {
	o, err := Load(Config{})
	if err != nil {
		return nil, err
	}
	p := prog(o)
	l, err := link.AttachXDP(link.XDPOptions{Program: p, Interface: ifindex, Flags: link.XDPDriverMode})
	if err != nil {
		_ = o.Close()
		return nil, fmt.Errorf("attach xdp %s to ifindex %d: %w", p, ifindex, err)
	}
	o.link = l
	return o, nil
}

// Counters returns the counters summed over CPUs.
func (o *Objects) Counters() ([numCounters]uint64, error) {
	var out [numCounters]uint64
	for i := range out {
		var per []uint64
		if err := o.objs.Counters.Lookup(uint32(i), &per); err != nil {
			return out, fmt.Errorf("read xdp echo counter %s: %w", CounterNames[i], err)
		}
		for _, v := range per {
			out[i] += v
		}
	}
	return out, nil
}

// xdpMd mirrors struct xdp_md, the context of an XDP test run.
type xdpMd struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// Flood transmits repeat copies of the DISCOVER template out of ifindex,
// each with a fresh MAC and xid, using BPF_PROG_TEST_RUN live frames.
func (o *Objects) Flood(template []byte, ifindex int, repeat, batch uint32) error {
	_, err := o.objs.XdpFlood.Run(&ebpf.RunOptions{
		Data: template, Repeat: repeat, BatchSize: batch,
		Flags:   unix.BPF_F_TEST_XDP_LIVE_FRAMES,
		Context: &xdpMd{DataEnd: uint32(len(template)), IngressIfindex: uint32(ifindex)},
	})
	if err != nil {
		return fmt.Errorf("xdp flood run: %w", err)
	}
	return nil
}

// RunEcho runs xdp_echo once on frame (for tests) and returns the verdict
// and the rewritten frame.
func (o *Objects) RunEcho(frame []byte) (uint32, []byte, error) {
	out := make([]byte, len(frame)+256)
	ret, err := o.objs.XdpEcho.Run(&ebpf.RunOptions{Data: frame, DataOut: out})
	if err != nil {
		return 0, nil, fmt.Errorf("xdp echo test run: %w", err)
	}
	return ret, out[:len(frame)], nil
}

// Close detaches and unloads everything.
func (o *Objects) Close() error {
	var errs []error
	if o.link != nil {
		errs = append(errs, o.link.Close())
	}
	errs = append(errs, o.objs.Close())
	return errors.Join(errs...)
}
