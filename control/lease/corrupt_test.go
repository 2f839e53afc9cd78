package lease

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// TestCorruptRecords plants undecodable records next to good ones, the way
// a bug, a newer format or a damaged disk could, and checks that each is
// reported by key while the good leases are still served.
func TestCorruptRecords(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		good := []Lease{sampleLease(addr("10.0.0.1")), sampleLease(addr("10.0.0.3")), sampleLease(addr("10.0.0.5"))}
		if err := s.Commit(context.Background(), good...); err != nil {
			t.Fatal(err)
		}
		wrongIP, err := sampleLease(addr("10.0.0.99")).MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		future, _ := sampleLease(addr("10.0.0.6")).MarshalBinary()
		future[0] = 9
		planted := []struct {
			key, val []byte
			ip       netip.Addr // what Get is asked for; invalid: only ForEach sees it
		}{
			{leaseKey(addr("10.0.0.2")), []byte("garbage"), addr("10.0.0.2")},
			{leaseKey(addr("10.0.0.4")), wrongIP, addr("10.0.0.4")},
			{leaseKey(addr("10.0.0.6")), future, addr("10.0.0.6")},
			{[]byte{leasePrefix, 10, 0}, []byte{formatV1}, netip.Addr{}},
		}
		err = s.db.Update(func(txn *badger.Txn) error {
			for _, p := range planted {
				if err := txn.Set(p.key, p.val); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		for _, l := range good {
			wantLease(t, s, l)
		}
		for _, p := range planted {
			if !p.ip.IsValid() {
				continue
			}
			_, ok, err := s.Get(p.ip)
			if !errors.Is(err, ErrCorrupt) || ok {
				t.Errorf("Get(%v) = ok %v, err %v; want ErrCorrupt", p.ip, ok, err)
			} else {
				t.Logf("Get(%v): %v", p.ip, err)
			}
		}

		var seen []Lease
		err = s.ForEach(func(l Lease) error { seen = append(seen, l); return nil })
		if !reflect.DeepEqual(seen, good) {
			t.Errorf("ForEach visited %d leases, want the %d good ones", len(seen), len(good))
		}
		var cerr *CorruptRecordsError
		if !errors.As(err, &cerr) || !errors.Is(err, ErrCorrupt) {
			t.Fatalf("ForEach error = %v, want a *CorruptRecordsError wrapping ErrCorrupt", err)
		}
		t.Log(err)
		var gotKeys [][]byte
		for _, r := range cerr.Records {
			gotKeys = append(gotKeys, r.Key)
			if r.Err == nil {
				t.Errorf("record %x has no error", r.Key)
			}
		}
		wantKeys := [][]byte{planted[3].key, planted[0].key, planted[1].key, planted[2].key} // key order
		if !reflect.DeepEqual(gotKeys, wantKeys) {
			t.Errorf("corrupt keys %x, want %x", gotKeys, wantKeys)
		}
		if cerr.Records[1].IP != addr("10.0.0.2") || cerr.Records[0].IP.IsValid() {
			t.Errorf("corrupt record IPs %v, %v; want invalid, 10.0.0.2", cerr.Records[0].IP, cerr.Records[1].IP)
		}

		// Overwriting a corrupt record with a good lease repairs it.
		if err := s.Commit(context.Background(), sampleLease(addr("10.0.0.2"))); err != nil {
			t.Fatal(err)
		}
		wantLease(t, s, sampleLease(addr("10.0.0.2")))
	})
}
