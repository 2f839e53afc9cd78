package config

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sort"
	"strings"
)

// Contains reports whether a lies in the range (both ends included).
func (r Range) Contains(a netip.Addr) bool {
	if !a.Is4() || !r.Start.Is4() || !r.End.Is4() {
		return false
	}
	return r.Start.Compare(a) <= 0 && a.Compare(r.End) <= 0
}

// Size returns how many addresses the range holds: End-Start+1, or 0 for a
// zero or reversed range. The whole IPv4 space saturates at math.MaxUint32
// (Parse never accepts such a range).
func (r Range) Size() uint32 {
	if !r.Start.Is4() || !r.End.Is4() || r.End.Less(r.Start) {
		return 0
	}
	n := addrUint(r.End) - addrUint(r.Start)
	if n == math.MaxUint32 {
		return n
	}
	return n + 1
}

// String writes the range as the file does: "a-b", or "a" for one address.
func (r Range) String() string {
	if r.Start == r.End {
		return r.Start.String()
	}
	return r.Start.String() + "-" + r.End.String()
}

// overlaps reports whether r and o share an address.
func (r Range) overlaps(o Range) bool {
	return r.Start.Compare(o.End) <= 0 && o.Start.Compare(r.End) <= 0
}

// addrUint returns an IPv4 address as a number.
func addrUint(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// uintAddr returns the IPv4 address numbered n.
func uintAddr(n uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], n)
	return netip.AddrFrom4(b)
}

// parseIPv4 reads a dotted-quad IPv4 address.
func parseIPv4(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || !a.Is4() {
		return netip.Addr{}, errors.New("not an IPv4 address; write it as four numbers like 192.0.2.1")
	}
	return a, nil
}

// parseRange reads "a-b" or a single address "a".
func parseRange(s string) (Range, error) {
	first, last, isRange := strings.Cut(s, "-")
	if strings.Contains(s, "/") {
		return Range{}, errors.New("ranges are written first-last, like 192.0.2.100-192.0.2.199, not as a prefix")
	}
	start, err := parseIPv4(first)
	if err != nil {
		return Range{}, fmt.Errorf("start: %w", err)
	}
	end := start
	if isRange {
		if end, err = parseIPv4(last); err != nil {
			return Range{}, fmt.Errorf("end: %w", err)
		}
	}
	if end.Less(start) {
		return Range{}, errors.New("start is after end; write the lower address first")
	}
	return Range{Start: start, End: end}, nil
}

// prefixRange returns the addresses of an IPv4 prefix as a Range.
func prefixRange(p netip.Prefix) Range {
	start := addrUint(p.Addr())
	size := uint32(math.MaxUint32)
	if p.Bits() > 0 {
		size = uint32(1)<<(32-p.Bits()) - 1
	}
	return Range{Start: p.Addr(), End: uintAddr(start + size)}
}

// edges returns the network and broadcast addresses of p, which no client
// may be given; prefixes of /31 and /32 have none (RFC 3021).
func edges(p netip.Prefix) []netip.Addr {
	if p.Bits() >= 31 {
		return nil
	}
	r := prefixRange(p)
	return []netip.Addr{r.Start, r.End}
}

// span is a Range with the index of what it came from, for overlap checks.
type span struct {
	Range
	owner int
}

// overlapping returns pairs (i, j) of spans that share addresses, where j
// comes later in start order and i is the earlier span reaching furthest.
// It runs in O(n log n), so thousands of scopes check quickly.
func overlapping(spans []span) [][2]int {
	sorted := make([]span, len(spans))
	copy(sorted, spans)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Start.Less(sorted[j].Start) })
	var out [][2]int
	reach := -1 // index in sorted of the span reaching furthest so far
	for i, s := range sorted {
		if reach >= 0 && s.Start.Compare(sorted[reach].End) <= 0 {
			out = append(out, [2]int{sorted[reach].owner, s.owner})
		}
		if reach < 0 || sorted[reach].End.Less(s.End) {
			reach = i
		}
	}
	return out
}

// within reports whether every address of r lies in some span of the
// sorted, non-overlapping set covering (adjacent spans count as one).
func within(r Range, covering []Range) bool {
	next := r.Start
	for _, c := range covering {
		if c.Contains(next) {
			if !c.End.Less(r.End) {
				return true
			}
			if c.End == uintAddr(math.MaxUint32) {
				return false
			}
			next = c.End.Next()
		}
	}
	return false
}
