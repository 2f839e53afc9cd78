package lease

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

// FuzzUnmarshal checks that no input makes UnmarshalBinary panic, that
// every failure wraps ErrBadRecord, and that whatever decodes encodes
// again to a record that decodes to the same lease.
func FuzzUnmarshal(f *testing.F) {
	for _, l := range []Lease{
		sampleLease(netip.MustParseAddr("192.0.2.1")),
		{IP: netip.MustParseAddr("10.0.0.1"), State: StateFree},
	} {
		b, err := l.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{formatV1, 10, 0, 0, 1, 2, 1, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		var l Lease
		if err := l.UnmarshalBinary(data); err != nil {
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v does not wrap ErrBadRecord", err)
			}
			return
		}
		again, err := l.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded lease %+v does not encode: %v", l, err)
		}
		var l2 Lease
		if err := l2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if !reflect.DeepEqual(l, l2) {
			t.Fatalf("decode(encode(decode(x))) differs:\n%+v\n%+v", l, l2)
		}
	})
}
