package dhcpclients

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Lease is what a client was given, as its hook script saw it.
type Lease struct {
	Event     string // upper case: BOUND, RENEW, REBIND or REBOOT
	Interface string
	IP        netip.Addr
	PrefixLen int
	Routers   []netip.Addr
	DNS       []netip.Addr
	LeaseTime time.Duration
	ServerID  netip.Addr
	Env       map[string]string // the script's whole environment
}

// Prefix returns the leased address with its prefix length.
func (l Lease) Prefix() netip.Prefix { return netip.PrefixFrom(l.IP, l.PrefixLen) }

func (l Lease) String() string {
	return fmt.Sprintf("%s %s on %s: routers %v, dns %v, lease %s, server %s",
		l.Event, l.Prefix(), l.Interface, l.Routers, l.DNS, l.LeaseTime, l.ServerID)
}

// envNames says which script variables carry a lease's fields.
type envNames struct {
	event, ip, mask, routers, dns, leaseTime, serverID string
	maskIsLength                                       bool // the mask variable holds a prefix length, not a dotted mask
}

// iscNames are the variables of dhclient and dhcpcd, which share them.
var iscNames = envNames{
	event: "reason", ip: "new_ip_address", mask: "new_subnet_mask", routers: "new_routers",
	dns: "new_domain_name_servers", leaseTime: "new_dhcp_lease_time", serverID: "new_dhcp_server_identifier",
}

// udhcpcNames are busybox udhcpc's variables; its event is the script's
// first argument.
var udhcpcNames = envNames{
	event: "SCRIPT_ARG", ip: "ip", mask: "mask", routers: "router", dns: "dns",
	leaseTime: "lease", serverID: "serverid", maskIsLength: true,
}

// bindingEvents are the events that report a usable lease.
var bindingEvents = map[string]bool{"BOUND": true, "RENEW": true, "REBIND": true, "REBOOT": true}

// parseLease reads a lease from a binding event's environment.
func parseLease(env map[string]string, names envNames) (Lease, error) {
	l := Lease{Event: strings.ToUpper(env[names.event]), Interface: env["interface"], Env: env}
	var err error
	if l.IP, err = netip.ParseAddr(env[names.ip]); err != nil {
		return l, fmt.Errorf("%s event: address %s=%q: %w", l.Event, names.ip, env[names.ip], err)
	}
	if l.PrefixLen, err = parseMask(env[names.mask], names.maskIsLength); err != nil {
		return l, fmt.Errorf("%s event: mask %s=%q: %w", l.Event, names.mask, env[names.mask], err)
	}
	if l.Routers, err = parseAddrList(env[names.routers]); err != nil {
		return l, fmt.Errorf("%s event: routers: %w", l.Event, err)
	}
	if l.DNS, err = parseAddrList(env[names.dns]); err != nil {
		return l, fmt.Errorf("%s event: name servers: %w", l.Event, err)
	}
	if v := env[names.leaseTime]; v != "" {
		secs, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return l, fmt.Errorf("%s event: lease time %q: %w", l.Event, v, err)
		}
		l.LeaseTime = time.Duration(secs) * time.Second
	}
	if v := env[names.serverID]; v != "" {
		if l.ServerID, err = netip.ParseAddr(v); err != nil {
			return l, fmt.Errorf("%s event: server identifier %q: %w", l.Event, v, err)
		}
	}
	return l, nil
}

func parseMask(s string, isLength bool) (int, error) {
	if isLength {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 32 {
			return 0, fmt.Errorf("not a prefix length")
		}
		return n, nil
	}
	mask, err := netip.ParseAddr(s)
	if err != nil || !mask.Is4() {
		return 0, fmt.Errorf("not an IPv4 mask")
	}
	b := mask.As4()
	bits := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n := 0
	for bits&0x80000000 != 0 {
		n++
		bits <<= 1
	}
	if bits != 0 {
		return 0, fmt.Errorf("mask bits are not contiguous")
	}
	return n, nil
}

func parseAddrList(s string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	for _, f := range strings.Fields(s) {
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}

// eventDir is the directory where a hook script records one file per event.
// Files are named "<unix nanoseconds>-<pid>.env", so their names sort in
// the order the events happened.
type eventDir struct {
	dir  string
	mu   sync.Mutex
	seen int // events already handed out by next
}

// next waits for the first event not handed out yet for which accept is
// true; events it skips are consumed.
func (e *eventDir) next(ctx context.Context, accept func(map[string]string) bool) (map[string]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		names, err := e.list()
		if err != nil {
			return nil, err
		}
		for ; e.seen < len(names); e.seen++ {
			env, err := readEnv(filepath.Join(e.dir, names[e.seen]))
			if err != nil {
				return nil, err
			}
			if accept(env) {
				e.seen++
				return env, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for a client event in %s: %w", e.dir, ctx.Err())
		case <-tick.C:
		}
	}
}

// skipRecorded marks every event recorded so far as handed out, so that
// the next call of next waits for a later one: a renewal the client made
// on its own before Renew was asked must not pass for Renew's answer.
func (e *eventDir) skipRecorded() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	names, err := e.list()
	if err != nil {
		return err
	}
	e.seen = max(e.seen, len(names))
	return nil
}

func (e *eventDir) list() ([]string, error) {
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	var names []string
	for _, ent := range entries {
		if strings.HasSuffix(ent.Name(), ".env") && !strings.HasPrefix(ent.Name(), ".") {
			names = append(names, ent.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

// readEnv parses a NUL-separated environment as written by "env -0".
func readEnv(path string) (map[string]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	env := make(map[string]string)
	for _, kv := range bytes.Split(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(kv), "="); ok {
			env[k] = v
		}
	}
	return env, nil
}

// events returns every event recorded so far, oldest first, as each
// environment's event name (for messages).
func (e *eventDir) summary(eventVar string) string {
	names, err := e.list()
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, n := range names {
		env, err := readEnv(filepath.Join(e.dir, n))
		if err != nil {
			continue
		}
		out = append(out, env[eventVar])
	}
	return strings.Join(out, ",")
}
