package dataplane

import (
	"errors"
	"fmt"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/internal/config"
	"github.com/xdhcp/xdhcp/internal/loadbalance"
)

// Dataplane is the loaded XDP program with its maps, and the interfaces it
// is attached to. It is safe for concurrent use.
type Dataplane struct {
	log  *zap.Logger
	mode config.DataplaneMode
	set  settings
	objs xdhcpObjects

	innerSpec *ebpf.MapSpec

	mu       sync.Mutex
	policy   bucketPolicy
	inner    *ebpf.Map // the bucket map now in the outer map's entry
	owned    [loadbalance.Buckets]bool
	attached map[string]attachment
	xsk      map[int]xskIface // by ifindex: the AF_XDP sockets requests go to
	closed   bool
}

type attachment struct {
	link link.Link
	mode AttachMode
}

// New checks cfg, loads the XDP program and its maps into the kernel, and
// sets every bucket as ours. It attaches nothing: see Attach. With
// dataplane.mode off it returns ErrModeOff. Without the privileges to load
// BPF (CAP_BPF, CAP_NET_ADMIN) it returns an error that wraps the kernel's
// (errors.Is(err, os.ErrPermission)); the caller then falls back to a Filter.
func New(cfg config.Dataplane, log *zap.Logger) (*Dataplane, error) {
	s, err := settingsFrom(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.Mode == config.DataplaneOff {
		return nil, ErrModeOff
	}
	if log == nil {
		log = zap.NewNop()
	}
	mode := cfg.Mode
	if mode == "" {
		mode = config.DataplaneAuto
	}
	spec, err := loadXdhcp()
	if err != nil {
		return nil, fmt.Errorf("read xdp program: %w", err)
	}
	spec.Maps["ratelimit_map"].MaxEntries = s.tableSize
	spec.Maps["source_map"].MaxEntries = s.sourceTableSize
	innerSpec := spec.Maps["buckets_map"].InnerMap
	if innerSpec == nil {
		return nil, errors.New("read xdp program: buckets_map has no inner map")
	}

	d := &Dataplane{
		log:       log,
		mode:      mode,
		set:       s,
		innerSpec: innerSpec.Copy(),
		policy:    newBucketPolicy(),
		attached:  make(map[string]attachment),
	}
	if err := spec.LoadAndAssign(&d.objs, nil); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load xdp program: %+v", ve)
		}
		return nil, fmt.Errorf("load xdp program: %w", err)
	}
	if err := d.writeConfig(s); err != nil {
		d.objs.Close()
		return nil, err
	}
	if err := d.publish(); err != nil {
		d.objs.Close()
		return nil, err
	}
	return d, nil
}

// writeConfig rewrites the program's settings, the one entry of
// config_map, in one update, and keeps s as d's settings; d.mu is held or
// d is new.
func (d *Dataplane) writeConfig(s settings) error {
	cfg := xdhcpXdhcpConfig{
		RlIntervalNs:     s.perClient.interval,
		RlTauNs:          s.perClient.tau,
		RlEnabled:        flag(s.perClient.on),
		SrcIntervalNs:    s.source.interval,
		SrcTauNs:         s.source.tau,
		SrcEnabled:       flag(s.source.on),
		SrcRelayed:       flag(s.sourceRelayed),
		BudgetIntervalNs: s.budget.interval,
		BudgetTauNs:      s.budget.tau,
		BudgetEnabled:    flag(s.budget.on),
		RetryIntervalNs:  s.retry.interval,
		RetryTauNs:       s.retry.tau,
		RetryEnabled:     flag(s.retry.on),
		SecsBypass:       s.secsBypass,
	}
	if err := d.objs.ConfigMap.Put(uint32(0), &cfg); err != nil {
		return fmt.Errorf("write xdp config map: %w", err)
	}
	d.set = s
	return nil
}

// Reconfigure puts cfg's flood guards (rate-limit, source-limit,
// discover-budget) and secs-bypass in force in the loaded program, on
// every interface it is attached to, without detaching: one rewrite of its
// settings map, which frames after it see whole. The guards' tables keep
// their entries. Their sizes cannot change while the program is loaded, so
// a new table-size, like a new mode, takes effect at the next start (see
// RestartNeeded). An invalid cfg changes nothing.
func (d *Dataplane) Reconfigure(cfg config.Dataplane) error {
	s, err := settingsFrom(cfg)
	if err != nil {
		return fmt.Errorf("reconfigure xdp program: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return errors.New("reconfigure xdp program: dataplane is closed")
	}
	return d.writeConfig(d.set.keepTables(s))
}

// publish builds a new bucket map holding the effective assignment and
// swaps it into the outer map in one update, so that the program sees the
// old assignment or the new one, never a mix. d.mu is held or d is new.
func (d *Dataplane) publish() error {
	owned := d.policy.effective()
	inner, err := ebpf.NewMap(d.innerSpec)
	if err != nil {
		return fmt.Errorf("create bucket map: %w", err)
	}
	bm := bitmap(owned)
	if err := inner.Put(uint32(0), bm); err != nil {
		inner.Close()
		return fmt.Errorf("fill bucket map: %w", err)
	}
	if err := d.objs.BucketsMap.Put(uint32(0), inner); err != nil {
		inner.Close()
		return fmt.Errorf("swap bucket map: %w", err)
	}
	// The kernel keeps the old map alive while a running program uses it.
	if d.inner != nil {
		d.inner.Close()
	}
	d.inner, d.owned = inner, owned
	return nil
}

// SetBuckets makes owned the buckets served and turns load balancing on.
// The program switches from the old assignment to the new one atomically.
func (d *Dataplane) SetBuckets(owned [loadbalance.Buckets]bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.policy
	d.policy.split, d.policy.balancing = owned, true
	if err := d.publish(); err != nil {
		d.policy = old
		return err
	}
	return nil
}

// SetSplit serves the primary's (or the secondary's) share at percent
// (0..100) and turns load balancing on.
func (d *Dataplane) SetSplit(percent int, primary bool) error {
	owned, err := splitFor(percent, primary)
	if err != nil {
		return err
	}
	return d.SetBuckets(owned)
}

// SetLoadBalancing turns load balancing on (the last split set, every
// bucket if none was) or off (every bucket: a single server, or failover
// out of NORMAL state).
func (d *Dataplane) SetLoadBalancing(on bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old := d.policy
	d.policy.balancing = on
	if err := d.publish(); err != nil {
		d.policy = old
		return err
	}
	return nil
}

// LoadBalancing reports whether load balancing is on.
func (d *Dataplane) LoadBalancing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.policy.balancing
}

// Buckets returns the buckets the program serves now.
func (d *Dataplane) Buckets() [loadbalance.Buckets]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.owned
}

// SetSecsBypass changes the secs bypass; 0 turns it off.
func (d *Dataplane) SetSecsBypass(secs int) error {
	v, err := checkSecsBypass(secs)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.set
	s.secsBypass = v
	return d.writeConfig(s)
}

// Stats sums the per-CPU counters.
func (d *Dataplane) Stats() (Stats, error) {
	s := newStats()
	var perCPU []xdhcpXdhcpCounter
	for i := range s.Counters {
		if err := d.objs.CountersMap.Lookup(uint32(i), &perCPU); err != nil {
			return Stats{}, fmt.Errorf("read xdp counter %s: %w", s.Counters[i].Verdict, err)
		}
		for _, c := range perCPU {
			s.Counters[i].Packets += c.Packets
			s.Counters[i].Bytes += c.Bytes
		}
	}
	return s, nil
}

// Attach attaches the program to ifname as the configured mode says: auto
// tries native XDP and falls back to generic (and logs it), native and
// generic try only that. An XDP program already on the interface from an
// earlier run is replaced; one held by another live process's bpf_link is
// not, and Attach fails. The attachment is a bpf_link: the kernel removes
// it when this process exits, however it exits.
func (d *Dataplane) Attach(ifname string) (AttachMode, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return 0, errors.New("attach xdp: dataplane is closed")
	}
	if _, ok := d.attached[ifname]; ok {
		return 0, fmt.Errorf("attach xdp to %s: already attached", ifname)
	}
	iface, err := netlink.LinkByName(ifname)
	if err != nil {
		return 0, fmt.Errorf("attach xdp to %s: %w", ifname, err)
	}
	if err := d.removeStale(iface); err != nil {
		return 0, err
	}

	tries := []AttachMode{AttachNative, AttachGeneric}
	switch d.mode {
	case config.DataplaneNative:
		tries = tries[:1]
	case config.DataplaneGeneric:
		tries = tries[1:]
	}
	var errs []error
	for _, mode := range tries {
		l, err := link.AttachXDP(link.XDPOptions{
			Program:   d.objs.XdhcpXdp,
			Interface: iface.Attrs().Index,
			Flags:     mode.flags(),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", mode, err))
			if len(tries) > 1 && mode == AttachNative {
				d.log.Warn("native XDP failed, falling back to generic XDP",
					zap.String("interface", ifname), zap.Error(err))
			}
			continue
		}
		d.attached[ifname] = attachment{link: l, mode: mode}
		d.log.Info("xdp program attached", zap.String("interface", ifname), zap.Stringer("mode", mode))
		return mode, nil
	}
	return 0, fmt.Errorf("attach xdp to %s: %w", ifname, errors.Join(errs...))
}

// removeStale detaches an XDP program left on the interface by netlink (an
// older run, another loader). A program held by a live bpf_link cannot be
// removed this way and is reported.
func (d *Dataplane) removeStale(l netlink.Link) error {
	name := l.Attrs().Name
	xdp := l.Attrs().Xdp
	if xdp == nil || !xdp.Attached {
		return nil
	}
	d.log.Warn("replacing an XDP program already on the interface",
		zap.String("interface", name), zap.Uint32("prog_id", xdp.ProgId))
	var errs []error
	for _, flags := range []int{nl.XDP_FLAGS_DRV_MODE, nl.XDP_FLAGS_SKB_MODE} {
		if err := netlink.LinkSetXdpFdWithFlags(l, -1, flags); err != nil {
			errs = append(errs, err)
		}
	}
	now, err := netlink.LinkByIndex(l.Attrs().Index)
	if err != nil {
		return fmt.Errorf("attach xdp to %s: %w", name, err)
	}
	if x := now.Attrs().Xdp; x != nil && x.Attached {
		return fmt.Errorf("attach xdp to %s: program %d is attached and cannot be removed (held by another process's bpf_link? is another xdhcpd running?): %w",
			name, x.ProgId, errors.Join(errs...))
	}
	return nil
}

// Attached returns the interfaces the program is attached to, with modes.
func (d *Dataplane) Attached() map[string]AttachMode {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := make(map[string]AttachMode, len(d.attached))
	for name, a := range d.attached {
		m[name] = a.mode
	}
	return m
}

// Detach removes the program from ifname.
func (d *Dataplane) Detach(ifname string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	a, ok := d.attached[ifname]
	if !ok {
		return fmt.Errorf("detach xdp from %s: not attached", ifname)
	}
	delete(d.attached, ifname)
	if err := a.link.Close(); err != nil {
		return fmt.Errorf("detach xdp from %s: %w", ifname, err)
	}
	return nil
}

// Close detaches the program from every interface and frees its maps.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for name, a := range d.attached {
		if err := a.link.Close(); err != nil {
			errs = append(errs, fmt.Errorf("detach xdp from %s: %w", name, err))
		}
	}
	d.attached = nil
	if d.inner != nil {
		d.inner.Close()
	}
	if err := d.objs.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close xdp objects: %w", err))
	}
	return errors.Join(errs...)
}

// flag is a C boolean.
func flag(on bool) uint32 {
	if on {
		return 1
	}
	return 0
}
