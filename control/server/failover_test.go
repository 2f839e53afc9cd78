package server

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/xdhcp/xdhcp/control/alloc"
	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/failover/fsm"
)

// TestPartnerBindingsFeedTheLeaseCache: a binding the partner sent is
// reused for its client's REQUEST (the lease cache) once, and only once,
// its commit here has returned without error, by either commit path the
// failover engine takes.
func TestPartnerBindingsFeedTheLeaseCache(t *testing.T) {
	cases := []struct {
		name   string
		commit func(t *testing.T, s *Server, rec lease.Lease)
		reused bool
	}{
		{"committed at once", func(t *testing.T, s *Server, rec lease.Lease) {
			if err := s.CommitBindings([]lease.Lease{rec}); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"committed in the background", func(t *testing.T, s *Server, rec lease.Lease) {
			if err := commitAsync(s, rec); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"staged, not yet committed", func(*testing.T, *Server, lease.Lease) {}, false},
		{"commit failed", func(t *testing.T, s *Server, rec lease.Lease) {
			s.store.Close() // every commit from here on fails
			if err := commitAsync(s, rec); err == nil {
				t.Fatal("a commit to a closed store succeeded")
			}
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store, err := lease.Open(lease.Options{InMemory: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			cfg := replicaConfig(t, "192.0.2.100-192.0.2.199", "192.0.2.53")
			s := replicaServer(t, store, cfg, zap.NewNop())
			s.enableFailover(nil, true, time.Hour, cfg.Failover.Scopes)
			s.SetServing(fsm.ServingPolicy{Answer: fsm.AnswerAll, Allocate: fsm.AllocateAll, Own: lease.StateBackup, PrimaryShare: 50})

			now := time.Now()
			term := time.Duration(cfg.Scopes[0].LeaseTime)
			mac := net.HardwareAddr{2, 0, 0, 0, 0, 7}
			partners := lease.Lease{IP: netip.MustParseAddr("192.0.2.150"), State: lease.StateActive, HWType: 1, HWAddr: mac,
				Start: now.Add(-time.Minute), Updated: now.Add(-time.Minute), Expiry: now.Add(term - time.Minute)}
			rec, err := s.StageBinding(partners)
			if err != nil {
				t.Fatal(err)
			}
			tc.commit(t, s, rec)

			sc := s.handler().ScopeOf(partners.IP)
			got, reused, err := sc.Alloc.RequestCached(alloc.Client{HWType: 1, HWAddr: mac}, partners.IP, term, now)
			if err != nil {
				t.Fatal(err)
			}
			if reused != tc.reused {
				t.Fatalf("the client's REQUEST answered from the cache: %v, want %v", reused, tc.reused)
			}
			if reused && !got.Expiry.Equal(partners.Expiry) {
				t.Fatalf("reused lease expires %v, want the partner's %v", got.Expiry, partners.Expiry)
			}
		})
	}
}

// commitAsync runs CommitBindingsAsync and waits for its outcome.
func commitAsync(s *Server, rec lease.Lease) error {
	done := make(chan error, 1)
	s.CommitBindingsAsync([]lease.Lease{rec}, func(err error) { done <- err })
	return <-done
}
