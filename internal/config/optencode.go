package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// encodeDomainList encodes the domain-search option (119): each name as
// RFC 1035 labels ending in a zero byte, with a repeated suffix replaced by
// a two-byte pointer to its first appearance (RFC 1035 §4.1.4). As RFC 3397
// §2 says, pointer offsets count from the start of the option data. Names
// are compared in lower case.
func encodeDomainList(names []string) ([]byte, error) {
	var out []byte
	offsets := map[string]int{} // name suffix -> where it was first written
	listed := map[string]bool{}
	for _, raw := range names {
		name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(raw), "."))
		if err := checkDomain(name, true); err != nil {
			return nil, fmt.Errorf("%q is not a domain name: %w", raw, err)
		}
		if listed[name] {
			return nil, fmt.Errorf("%q is listed twice; remove one", raw)
		}
		listed[name] = true
		labels := strings.Split(name, ".")
		pointed := false
		for i := range labels {
			suffix := strings.Join(labels[i:], ".")
			if off, seen := offsets[suffix]; seen {
				out = append(out, 0xC0|byte(off>>8), byte(off))
				pointed = true
				break
			}
			if len(out) < 0x3FFF {
				offsets[suffix] = len(out)
			}
			out = append(out, byte(len(labels[i])))
			out = append(out, labels[i]...)
		}
		if !pointed {
			out = append(out, 0)
		}
	}
	return out, nil
}

// route is one classless static route (option 121).
type route struct {
	dest   netip.Prefix
	router netip.Addr
}

// parseRoute reads "10.0.0.0/8 via 192.0.2.1"; router 0.0.0.0 means the
// destination is on the link.
func parseRoute(s string) (route, error) {
	f := strings.Fields(s)
	if len(f) != 3 || f[1] != "via" {
		return route{}, errors.New("write a route as \"prefix via router\", like \"10.0.0.0/8 via 192.0.2.1\"")
	}
	dest, err := netip.ParsePrefix(f[0])
	if err != nil || !dest.Addr().Is4() {
		return route{}, errors.New("destination is not an IPv4 prefix; write it like 10.0.0.0/8 (0.0.0.0/0 for the default route)")
	}
	if dest.Masked() != dest {
		return route{}, fmt.Errorf("destination has host bits set; write %s", dest.Masked())
	}
	router, err := parseIPv4(f[2])
	if err != nil {
		return route{}, fmt.Errorf("router: %w", err)
	}
	return route{dest: dest, router: router}, nil
}

// encode writes the route as RFC 3442 §2 does: the prefix length, the
// significant octets of the destination, then the router.
func (r route) encode() []byte {
	bits := r.dest.Bits()
	a := r.dest.Addr().As4()
	b := r.router.As4()
	out := append([]byte{byte(bits)}, a[:(bits+7)/8]...)
	return append(out, b[:]...)
}

// hasDefaultRoute reports whether encoded option 121 data holds a route
// for 0.0.0.0/0.
func hasDefaultRoute(data []byte) bool {
	for len(data) > 0 {
		bits := int(data[0])
		n := 1 + (bits+7)/8 + 4
		if bits > 32 || n > len(data) {
			return false
		}
		if bits == 0 {
			return true
		}
		data = data[n:]
	}
	return false
}
