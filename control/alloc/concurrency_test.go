package alloc

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/xdhcp/xdhcp/control/lease"
	"github.com/xdhcp/xdhcp/internal/config"
)

// TestConcurrentClientsNeverShareAnAddress runs many goroutines doing
// DISCOVER/REQUEST against one scope with fewer addresses than clients.
// Run it with -race.
func TestConcurrentClientsNeverShareAnAddress(t *testing.T) {
	const workers, perWorker = 8, 200                                                                                                   // 1600 clients
	s := mustScope(t, config.Scope{Subnet: netip.MustParsePrefix("10.0.0.0/16"), Pools: []config.Range{rng("10.0.0.1", "10.0.3.254")}}) // 1022 addresses
	type binding struct {
		ip     netip.Addr
		client ClientKey
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		bound     []binding
		exhausted uint64
	)
	for w := range workers {
		wg.Go(func() {
			var mine []binding
			var full uint64
			for k := range perWorker {
				c := hw(w*perWorker + k)
				a, err := s.Offer(c, ip("10.0.0.100"), t0) // all ask for the same address
				if errors.Is(err, ErrNoAddrAvail) {
					full++
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				l, err := s.Request(c, a, testLeaseTime, t0)
				if err != nil {
					t.Errorf("Request of its own offer %v: %v", a, err)
					return
				}
				mine = append(mine, binding{l.IP, c.Key})
			}
			mu.Lock()
			bound = append(bound, mine...)
			exhausted += full
			mu.Unlock()
		})
	}
	wg.Wait()
	owner := make(map[netip.Addr]ClientKey)
	for _, b := range bound {
		if prev, dup := owner[b.ip]; dup {
			t.Fatalf("%v bound to %q and %q", b.ip, prev, b.client)
		}
		owner[b.ip] = b.client
	}
	st := s.Stats()
	if len(bound) != 1022 || st.Active != 1022 || st.Free != 0 {
		t.Errorf("%d bound, stats %+v; want the whole pool of 1022 active", len(bound), st)
	}
	if st.Exhausted != exhausted || exhausted != workers*perWorker-1022 {
		t.Errorf("Exhausted %d, clients refused %d, want %d", st.Exhausted, exhausted, workers*perWorker-1022)
	}
	checkInvariants(t, s)
}

// TestConcurrentChurn mixes the client operations from many goroutines,
// each with its own clients, beside an expiry loop; afterwards every client's
// last binding that it did not give up is still its own.
func TestConcurrentChurn(t *testing.T) {
	const workers, clients, rounds = 6, 40, 300
	s := mustScope(t, config.Scope{Subnet: netip.MustParsePrefix("10.0.0.0/24"), Pools: []config.Range{rng("10.0.0.1", "10.0.0.200")}})
	var wg sync.WaitGroup
	var stop sync.WaitGroup
	stop.Add(1)
	done := make(chan struct{})
	go func() { // the expiry loop of the server
		defer stop.Done()
		for {
			select {
			case <-done:
				return
			default:
				s.Expire(t0)
				s.Stats()
			}
		}
	}()
	held := make([]map[ClientKey]netip.Addr, workers)
	for w := range workers {
		held[w] = make(map[ClientKey]netip.Addr)
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for range rounds {
				c := hw(1000 + w*clients + r.IntN(clients))
				now := t0 // one clock: no offer lapses between Offer and Request
				switch r.IntN(5) {
				case 0, 1, 2:
					a, err := s.Offer(c, netip.Addr{}, now)
					if err != nil {
						continue
					}
					if l, err := s.Request(c, a, testLeaseTime, now); err == nil {
						if prev, ok := held[w][c.Key]; ok && prev != l.IP {
							t.Errorf("client %q moved from %v to %v without giving it up", c.Key, prev, l.IP)
						}
						held[w][c.Key] = l.IP
					} else {
						t.Errorf("Request of own offer %v: %v", a, err)
					}
				case 3:
					if a, ok := held[w][c.Key]; ok {
						if _, ok := s.Release(c, a, now); !ok {
							t.Errorf("Release of %v by %q failed", a, c.Key)
						}
						delete(held[w], c.Key)
					}
				case 4:
					if a, ok := held[w][c.Key]; ok {
						if _, ok := s.Decline(c, a, now); !ok {
							t.Errorf("Decline of %v by %q failed", a, c.Key)
						}
						delete(held[w], c.Key)
					}
				}
			}
		})
	}
	wg.Wait()
	close(done)
	stop.Wait()
	seen := make(map[netip.Addr]ClientKey)
	for w := range held {
		for k, a := range held[w] {
			if prev, dup := seen[a]; dup {
				t.Errorf("%v held by %q and %q", a, prev, k)
			}
			seen[a] = k
			l, ok := s.Lookup(a)
			if !ok || l.State != lease.StateActive || KeyOf(l.ClientID, l.HWType, l.HWAddr) != k {
				t.Errorf("%v: lease %+v, %v; want Active for %q", a, l, ok, k)
			}
		}
	}
	checkInvariants(t, s)
}

// TestRandomOperationsKeepInvariants drives one scope through a long random
// sequence of every operation on a small pool and checks the internal
// structures and the no-sharing rule after each step.
func TestRandomOperationsKeepInvariants(t *testing.T) {
	cfg := scopeCfg(rng("10.0.0.10", "10.0.0.25"), rng("10.0.0.40", "10.0.0.43"))
	cfg.Exclude = []config.Range{rng("10.0.0.12", "10.0.0.13")}
	cfg.Reservations = []config.Reservation{
		{HWAddress: hw(3).HWAddr, IP: ip("10.0.0.20")},
		{HWAddress: hw(4).HWAddr, IP: ip("10.0.0.50")},
	}
	s := mustScope(t, cfg)
	r := rand.New(rand.NewPCG(42, 42))
	now := t0
	addr := func() netip.Addr { return u32Addr(addrU32(ip("10.0.0.8")) + uint32(r.IntN(48))) }
	for step := range 20000 {
		c := hw(r.IntN(30))
		now = now.Add(time.Duration(r.IntN(120)) * time.Second)
		var op string
		switch r.IntN(9) {
		case 0, 1, 2:
			op = "offer"
			a, err := s.Offer(c, addr(), now)
			if err == nil {
				if l, ok := s.Lookup(a); ok && l.State == lease.StateActive && KeyOf(l.ClientID, l.HWType, l.HWAddr) != c.Key {
					t.Fatalf("step %d: offered %v to %q while it is leased to another", step, a, c.Key)
				}
				if r.IntN(4) > 0 {
					op = "offer+request"
					if _, err := s.Request(c, a, time.Duration(1+r.IntN(60))*time.Minute, now); err != nil {
						t.Fatalf("step %d: Request of own offer %v: %v", step, a, err)
					}
				}
			} else if !errors.Is(err, ErrNoAddrAvail) {
				t.Fatalf("step %d: Offer: %v", step, err)
			}
		case 3:
			op = "request"
			a := addr()
			before, had := s.Lookup(a)
			l, err := s.Request(c, a, time.Hour, now)
			if err == nil && had && before.State == lease.StateActive && before.Expiry.After(now) &&
				KeyOf(before.ClientID, before.HWType, before.HWAddr) != c.Key {
				t.Fatalf("step %d: %v taken from its holder by %q: %+v", step, a, c.Key, l)
			}
		case 4:
			op = "release"
			if l, ok := s.LookupClient(c.Key); ok {
				s.Release(c, l.IP, now)
			}
		case 5:
			op = "decline"
			if l, ok := s.LookupClient(c.Key); ok {
				s.Decline(c, l.IP, now)
			}
		case 6:
			op = "expire"
			for _, l := range s.Expire(now) {
				if l.State != lease.StateExpired && l.State != lease.StateFree {
					t.Fatalf("step %d: Expire returned a %v lease", step, l.State)
				}
			}
		case 7:
			op = "delete"
			s.Delete(addr())
		case 8:
			op = "restore"
			l := lease.Lease{IP: addr(), State: lease.State(1 + r.IntN(5)), HWType: 1, HWAddr: c.HWAddr, Expiry: now.Add(time.Duration(r.IntN(7200)-3600) * time.Second)}
			if err := s.Restore(l); err != nil {
				t.Fatal(err)
			}
		}
		s.mu.Lock()
		err := s.invariantError()
		s.mu.Unlock()
		if err != nil {
			t.Fatalf("step %d (%s by %q): %v", step, op, c.Key, err)
		}
	}
}
