package lease

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// formatV1 is the first byte of every record written by this version.
//
// Layout of a version 1 record (all integers varint-encoded as in
// encoding/binary unless a width is given):
//
//	version   1 byte  (formatV1)
//	IP        4 bytes (IPv4, network order)
//	State     1 byte
//	HWType    1 byte
//	ClientID  uvarint(len+1) then bytes; 0 means nil
//	HWAddr    uvarint(len+1) then bytes; 0 means nil
//	CircuitID uvarint(len+1) then bytes; 0 means nil
//	RemoteID  uvarint(len+1) then bytes; 0 means nil
//	Hostname  uvarint(len) then bytes
//	Start     varint(Unix seconds), uvarint(nanoseconds)
//	Expiry    varint(Unix seconds), uvarint(nanoseconds)
//	Updated   varint(Unix seconds), uvarint(nanoseconds)
//
// Times are stored as absolute instants and decode in UTC; the zero
// time.Time round-trips to the zero time.Time.
const formatV1 = 1

// maxFieldLen bounds each variable-length field. DHCP options are at most
// 255 bytes, but RFC 3396 lets a client split one option over several, so
// the bound is generous; it only exists to reject nonsense early.
const maxFieldLen = 4096

// ErrBadRecord is wrapped by every error UnmarshalBinary returns.
var ErrBadRecord = errors.New("bad lease record")

// MarshalBinary encodes the lease in the current record format. It fails
// for a lease the store could not key (IP not IPv4) or could not decode
// again (unknown state, oversized field).
func (l Lease) MarshalBinary() ([]byte, error) {
	if !l.IP.Is4() {
		return nil, fmt.Errorf("marshal lease: IP %v is not an IPv4 address", l.IP)
	}
	if !l.State.known() {
		return nil, fmt.Errorf("marshal lease %v: unknown state %d", l.IP, l.State)
	}
	fields := []struct {
		name string
		b    []byte
	}{
		{"ClientID", l.ClientID},
		{"HWAddr", l.HWAddr},
		{"CircuitID", l.CircuitID},
		{"RemoteID", l.RemoteID},
		{"Hostname", []byte(l.Hostname)},
	}
	size := 7 + 3*(binary.MaxVarintLen64+binary.MaxVarintLen32)
	for _, f := range fields {
		if len(f.b) > maxFieldLen {
			return nil, fmt.Errorf("marshal lease %v: %s is %d bytes, limit %d", l.IP, f.name, len(f.b), maxFieldLen)
		}
		size += binary.MaxVarintLen16 + len(f.b)
	}

	ip := l.IP.As4()
	b := make([]byte, 0, size)
	b = append(b, formatV1)
	b = append(b, ip[:]...)
	b = append(b, byte(l.State), l.HWType)
	for _, f := range fields[:4] {
		b = appendNullableBytes(b, f.b)
	}
	b = binary.AppendUvarint(b, uint64(len(l.Hostname)))
	b = append(b, l.Hostname...)
	for _, t := range []time.Time{l.Start, l.Expiry, l.Updated} {
		b = binary.AppendVarint(b, t.Unix())
		b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
	}
	return b, nil
}

func appendNullableBytes(b, field []byte) []byte {
	if field == nil {
		return binary.AppendUvarint(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(field))+1)
	return append(b, field...)
}

// UnmarshalBinary decodes a record written by MarshalBinary. Any malformed
// input (truncated, trailing bytes, unknown version or state, oversized
// field) yields an error wrapping ErrBadRecord; l is only changed on
// success. The decoded lease does not alias data.
func (l *Lease) UnmarshalBinary(data []byte) error {
	d := decoder{buf: data}
	out, err := d.lease()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadRecord, err)
	}
	*l = out
	return nil
}

// decoder walks a record; each method fails rather than read past the end.
type decoder struct {
	buf []byte
	off int
}

func (d *decoder) lease() (Lease, error) {
	var l Lease
	head, err := d.take(7)
	if err != nil {
		return l, err
	}
	if head[0] != formatV1 {
		return l, fmt.Errorf("unsupported format version %d", head[0])
	}
	l.IP = netip.AddrFrom4([4]byte(head[1:5]))
	l.State = State(head[5])
	if !l.State.known() {
		return l, fmt.Errorf("unknown state %d", head[5])
	}
	l.HWType = head[6]
	for _, dst := range []*[]byte{&l.ClientID, (*[]byte)(&l.HWAddr), &l.CircuitID, &l.RemoteID} {
		if *dst, err = d.nullableBytes(); err != nil {
			return l, err
		}
	}
	n, err := d.length(maxFieldLen)
	if err != nil {
		return l, err
	}
	host, err := d.take(n)
	if err != nil {
		return l, err
	}
	l.Hostname = string(host)
	for _, dst := range []*time.Time{&l.Start, &l.Expiry, &l.Updated} {
		if *dst, err = d.time(); err != nil {
			return l, err
		}
	}
	if d.off != len(d.buf) {
		return l, fmt.Errorf("%d trailing bytes", len(d.buf)-d.off)
	}
	return l, nil
}

func (d *decoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.buf)-d.off {
		return nil, fmt.Errorf("truncated at byte %d (need %d more)", d.off, n)
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b, nil
}

func (d *decoder) uvarint() (uint64, error) {
	v, n := binary.Uvarint(d.buf[d.off:])
	if n <= 0 {
		return 0, fmt.Errorf("bad varint at byte %d", d.off)
	}
	d.off += n
	return v, nil
}

// length reads a length prefix no larger than limit.
func (d *decoder) length(limit uint64) (int, error) {
	v, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if v > limit {
		return 0, fmt.Errorf("field length %d exceeds %d", v, limit)
	}
	return int(v), nil
}

func (d *decoder) nullableBytes() ([]byte, error) {
	n, err := d.length(maxFieldLen + 1) // length+1, 0 for nil
	if err != nil || n == 0 {
		return nil, err
	}
	b, err := d.take(n - 1)
	if err != nil {
		return nil, err
	}
	return append(make([]byte, 0, len(b)), b...), nil
}

func (d *decoder) time() (time.Time, error) {
	sec, n := binary.Varint(d.buf[d.off:])
	if n <= 0 {
		return time.Time{}, fmt.Errorf("bad time at byte %d", d.off)
	}
	d.off += n
	nsec, err := d.uvarint()
	if err != nil {
		return time.Time{}, err
	}
	if nsec >= uint64(time.Second) {
		return time.Time{}, fmt.Errorf("nanoseconds %d out of range", nsec)
	}
	return time.Unix(sec, int64(nsec)).UTC(), nil
}

func (s State) known() bool {
	return s >= StateFree && s <= StateBackup
}
