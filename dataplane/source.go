package dataplane

import "encoding/binary"

// sourceKey is where a frame entered the network, the key of the source
// limit (struct xdhcp_source in bpf/xdhcp.c). A direct client's source is
// its Ethernet source address with the VLAN IDs; a relayed one's is the
// relay's giaddr with the hash of its option 82, the subscriber port.
type sourceKey struct {
	circuit uint64 // FNV-1a 64 of option 82's data; relayed only
	giaddr  uint32 // relayed only
	vlan    [maxVLANTags]uint16
	mac     [6]byte
}

// source returns r's source key. ok is false when r has none: relayed
// while relayed frames are not source limited (dataplane.source-limit.relayed
// off) or without option 82 (a relay aggregates many clients), or direct
// with the link layer unknown (l2 nil).
func (r *request) source(l2 *linkSource, relayed bool) (sourceKey, bool) {
	giaddr := binary.NativeEndian.Uint32(r.giaddr[:])
	if giaddr != 0 {
		if !relayed || len(r.relay) == 0 {
			return sourceKey{}, false
		}
		return sourceKey{giaddr: giaddr, circuit: fnv1a64(r.relay)}, true
	}
	if l2 == nil {
		return sourceKey{}, false
	}
	return sourceKey{mac: l2.mac, vlan: l2.vlan}, true
}

// FNV-1a, 64 bits, as circuit_hash in bpf/xdhcp.c.
const (
	fnv64Offset = 0xcbf29ce484222325
	fnv64Prime  = 0x100000001b3
)

func fnv1a64(b []byte) uint64 {
	h := uint64(fnv64Offset)
	for _, c := range b {
		h = (h ^ uint64(c)) * fnv64Prime
	}
	return h
}
