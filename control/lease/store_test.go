package lease

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// runStoreTest runs fn against a fresh in-memory store and against a fresh
// store in a real directory, closing each afterwards.
func runStoreTest(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Helper()
	for _, inMemory := range []bool{true, false} {
		name := "dir"
		if inMemory {
			name = "memory"
		}
		t.Run(name, func(t *testing.T) {
			opts := Options{InMemory: inMemory, Log: zaptest.NewLogger(t)}
			if !inMemory {
				opts.Dir = t.TempDir()
			}
			fn(t, mustOpen(t, opts))
		})
	}
}

// mustOpen opens a store and closes it when the test ends.
func mustOpen(tb testing.TB, opts Options) *Store {
	tb.Helper()
	s, err := Open(opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// wantLease fails the test unless the store holds exactly want at want.IP.
func wantLease(t *testing.T, s *Store, want Lease) {
	t.Helper()
	got, ok, err := s.Get(want.IP)
	if err != nil || !ok {
		t.Fatalf("Get(%v) = ok %v, err %v; want the lease", want.IP, ok, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Get(%v):\n got %+v\nwant %+v", want.IP, got, want)
	}
}

func collect(t *testing.T, s *Store) []Lease {
	t.Helper()
	var all []Lease
	if err := s.ForEach(func(l Lease) error { all = append(all, l); return nil }); err != nil {
		t.Fatalf("ForEach: %v", err)
	}
	return all
}

func TestCommitGetDelete(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		a, b := sampleLease(addr("10.0.0.1")), sampleLease(addr("10.0.0.2"))
		if err := s.Commit(ctx, a, b); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		wantLease(t, s, a)
		wantLease(t, s, b)

		a.State, a.Hostname = StateReleased, "renamed"
		if err := s.Commit(ctx, a); err != nil {
			t.Fatalf("Commit update: %v", err)
		}
		wantLease(t, s, a)

		if err := s.Delete(ctx, a.IP); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if _, ok, err := s.Get(a.IP); ok || err != nil {
			t.Fatalf("Get after Delete = ok %v, err %v; want absent", ok, err)
		}
		if err := s.Delete(ctx, addr("10.9.9.9")); err != nil {
			t.Fatalf("Delete of an absent lease: %v", err)
		}
		wantLease(t, s, b)
	})
}

func TestForEachWalksInIPOrder(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		ips := []string{"10.0.1.0", "10.0.0.255", "9.255.255.255", "10.0.0.2", "192.168.0.1", "10.0.0.10", "0.0.0.1", "255.255.255.255"}
		var want []netip.Addr
		for _, ip := range ips {
			want = append(want, addr(ip))
		}
		rand.Shuffle(len(ips), func(i, j int) { ips[i], ips[j] = ips[j], ips[i] })
		for _, ip := range ips {
			if err := s.Commit(context.Background(), sampleLease(addr(ip))); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutMeta("failover/state", []byte("normal")); err != nil {
			t.Fatal(err)
		}
		var got []netip.Addr
		for _, l := range collect(t, s) {
			if !reflect.DeepEqual(l, sampleLease(l.IP)) {
				t.Errorf("ForEach gave %+v, want %+v", l, sampleLease(l.IP))
			}
			got = append(got, l.IP)
		}
		slices.SortFunc(want, netip.Addr.Compare)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ForEach order %v, want %v", got, want)
		}
	})
}

func TestForEachStopsOnCallbackError(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		for i := 1; i <= 5; i++ {
			if err := s.Commit(context.Background(), sampleLease(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))); err != nil {
				t.Fatal(err)
			}
		}
		stop := errors.New("stop here")
		calls := 0
		err := s.ForEach(func(Lease) error {
			calls++
			if calls == 3 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || calls != 3 {
			t.Fatalf("ForEach = %v after %d calls; want the callback's error after 3", err, calls)
		}
	})
}

func TestMeta(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		if _, ok, err := s.GetMeta("absent"); ok || err != nil {
			t.Fatalf("GetMeta(absent) = ok %v, err %v", ok, err)
		}
		val := []byte("partner-down since 2026-11-27")
		if err := s.PutMeta("failover/state", val); err != nil {
			t.Fatal(err)
		}
		val[0] = 'X' // the store must have copied it
		got, ok, err := s.GetMeta("failover/state")
		if err != nil || !ok || string(got) != "partner-down since 2026-11-27" {
			t.Fatalf("GetMeta = %q, %v, %v", got, ok, err)
		}
		if len(collect(t, s)) != 0 {
			t.Fatal("meta keys showed up in ForEach")
		}
		for _, bad := range []string{"", string(make([]byte, maxMetaKeyLen+1))} {
			if err := s.PutMeta(bad, nil); err == nil {
				t.Errorf("PutMeta(%d-byte key) succeeded", len(bad))
			}
		}
	})
}

func TestRejectsBadInput(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		v6 := addr("2001:db8::1")
		tests := []struct {
			name string
			err  error
		}{
			{"Commit IPv6", s.Commit(ctx, Lease{IP: v6, State: StateActive})},
			{"Commit unknown state", s.Commit(ctx, Lease{IP: addr("10.0.0.1")})},
			{"Delete IPv6", s.Delete(ctx, v6)},
			{"Get IPv6", func() error { _, _, err := s.Get(v6); return err }()},
			{"CommitAsync IPv6", func() error {
				ch := make(chan error, 1)
				s.CommitAsync(Lease{IP: v6, State: StateActive}, func(err error) { ch <- err })
				return <-ch
			}()},
		}
		for _, tt := range tests {
			if tt.err == nil {
				t.Errorf("%s: no error", tt.name)
			}
		}
		if len(collect(t, s)) != 0 {
			t.Fatal("a rejected lease was stored")
		}
	})
}

func TestCommitCanceledContext(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Commit(ctx, sampleLease(addr("10.0.0.1"))); !errors.Is(err, context.Canceled) {
			t.Fatalf("Commit with canceled context = %v, want context.Canceled", err)
		}
	})
}

func TestCommitAsyncAndConcurrentCommits(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		const n = 300
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range n {
			wg.Add(2)
			go func() {
				defer wg.Done()
				errs <- s.Commit(context.Background(), sampleLease(netip.AddrFrom4([4]byte{10, 1, byte(i >> 8), byte(i)})))
			}()
			s.CommitAsync(sampleLease(netip.AddrFrom4([4]byte{10, 2, byte(i >> 8), byte(i)})), func(err error) {
				errs <- err
				wg.Done()
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := len(collect(t, s)); got != 2*n {
			t.Fatalf("ForEach saw %d leases, want %d", got, 2*n)
		}
	})
}

func TestCommitAllAsync(t *testing.T) {
	runStoreTest(t, func(t *testing.T, s *Store) {
		run := []Lease{sampleLease(addr("10.3.0.1")), sampleLease(addr("10.3.0.2")), sampleLease(addr("10.3.0.3"))}
		done := make(chan error, 1)
		s.CommitAllAsync(run, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatalf("CommitAllAsync: %v", err)
		}
		for _, l := range run {
			if _, ok, err := s.Get(l.IP); !ok || err != nil {
				t.Errorf("Get(%v) after the commit = %v, %v", l.IP, ok, err)
			}
		}
		bad := []Lease{sampleLease(addr("10.3.0.4")), {IP: netip.MustParseAddr("2001:db8::1")}}
		s.CommitAllAsync(bad, func(err error) { done <- err })
		if err := <-done; err == nil {
			t.Error("CommitAllAsync with an IPv6 lease: no error")
		}
		if _, ok, _ := s.Get(addr("10.3.0.4")); ok {
			t.Error("a run with a bad lease was partly stored")
		}
		s.CommitAllAsync(nil, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Errorf("CommitAllAsync(nil) = %v", err)
		}
	})
}

// holdCommitter blocks the committer inside OnCommit after its first batch
// until release is closed, so a test can queue requests deterministically.
type holdCommitter struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	batches []int
}

func newHoldCommitter() *holdCommitter {
	return &holdCommitter{entered: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdCommitter) onCommit(n int, _ time.Duration) {
	h.mu.Lock()
	h.batches = append(h.batches, n)
	h.mu.Unlock()
	h.once.Do(func() {
		close(h.entered)
		<-h.release
	})
}

func (h *holdCommitter) sizes() []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]int(nil), h.batches...)
}

func (s *Store) pendingRequests() int {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return len(s.c.pending)
}

func TestGroupCommitBatches(t *testing.T) {
	tests := []struct {
		name        string
		maxBatch    int
		requests    []int // leases per queued request
		wantBatches []int // after the first, single-lease batch
	}{
		{"all waiting requests in one commit", 512, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []int{10}},
		{"split at MaxBatch", 4, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, []int{4, 4, 2}},
		{"requests are never split", 4, []int{3, 3, 1, 6, 1}, []int{3, 4, 6, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHoldCommitter()
			s := mustOpen(t, Options{InMemory: true, MaxBatch: tt.maxBatch, Log: zaptest.NewLogger(t), OnCommit: h.onCommit})
			first := make(chan error, 1)
			s.CommitAsync(sampleLease(addr("10.0.0.1")), func(err error) { first <- err })
			<-h.entered

			var wg sync.WaitGroup
			next := 2
			for i, n := range tt.requests {
				leases := make([]Lease, n)
				for j := range leases {
					leases[j] = sampleLease(netip.AddrFrom4([4]byte{10, 0, byte(next >> 8), byte(next)}))
					next++
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := s.Commit(context.Background(), leases...); err != nil {
						t.Errorf("Commit: %v", err)
					}
				}()
				// Queue in order so the batch split is predictable.
				for s.pendingRequests() != i+1 {
					time.Sleep(time.Millisecond)
				}
			}
			close(h.release)
			wg.Wait()
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if got, want := h.sizes(), append([]int{1}, tt.wantBatches...); !reflect.DeepEqual(got, want) {
				t.Fatalf("batch sizes %v, want %v", got, want)
			}
			if got := len(collect(t, s)); got != next-1 {
				t.Fatalf("stored %d leases, want %d", got, next-1)
			}
		})
	}
}

// TestCommitDelayGathers checks the group-commit delay: requests that
// arrive while the oldest waits go into one commit, a full batch does not
// wait out the delay, and Close does not wait for it either.
func TestCommitDelayGathers(t *testing.T) {
	leases := func(n int) []Lease {
		ls := make([]Lease, n)
		for i := range ls {
			ls[i] = sampleLease(netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}))
		}
		return ls
	}
	tests := []struct {
		name        string
		delay       time.Duration
		maxBatch    int
		run         func(t *testing.T, s *Store)
		wantBatches []int
	}{
		{"requests within the delay share a commit", time.Hour, 512, func(t *testing.T, s *Store) {
			// An hour's delay, yet Close must commit both at once.
			done := make(chan error, 2)
			for _, l := range leases(2) {
				s.CommitAsync(l, func(err error) { done <- err })
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			for range 2 {
				if err := <-done; err != nil {
					t.Fatal(err)
				}
			}
		}, []int{2}},
		{"a full batch commits before the delay", time.Hour, 4, func(t *testing.T, s *Store) {
			// One request of MaxBatch leases: full, so an hour's delay
			// must not hold it.
			if err := s.Commit(context.Background(), leases(4)...); err != nil {
				t.Fatal(err)
			}
		}, []int{4}},
		{"no delay: the first request commits alone", 0, 512, func(t *testing.T, s *Store) {
			if err := s.Commit(context.Background(), leases(1)...); err != nil {
				t.Fatal(err)
			}
		}, []int{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var batches []int
			s := mustOpen(t, Options{InMemory: true, MaxBatch: tt.maxBatch, CommitDelay: tt.delay, Log: zaptest.NewLogger(t),
				OnCommit: func(n int, _ time.Duration) { mu.Lock(); batches = append(batches, n); mu.Unlock() }})
			tt.run(t, s)
			mu.Lock()
			got := append([]int(nil), batches...)
			mu.Unlock()
			if !reflect.DeepEqual(got, tt.wantBatches) {
				t.Fatalf("batch sizes %v, want %v", got, tt.wantBatches)
			}
		})
	}
}

func TestCloseFlushesQueuedCommits(t *testing.T) {
	dir := t.TempDir()
	h := newHoldCommitter()
	s, err := Open(Options{Dir: dir, Log: zaptest.NewLogger(t), OnCommit: h.onCommit})
	if err != nil {
		t.Fatal(err)
	}
	const n = 100
	results := make(chan error, n+1)
	for i := range n + 1 {
		s.CommitAsync(sampleLease(netip.AddrFrom4([4]byte{10, 3, 0, byte(i)})), func(err error) { results <- err })
		if i == 0 {
			<-h.entered
		}
	}
	closed := make(chan error)
	go func() { closed <- s.Close() }()
	close(h.release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range n + 1 {
		if err := <-results; err != nil {
			t.Fatalf("queued commit completed with %v", err)
		}
	}
	if err := s.Commit(context.Background(), sampleLease(addr("10.3.1.1"))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Commit after Close = %v, want ErrClosed", err)
	}
	s.CommitAsync(sampleLease(addr("10.3.1.1")), func(err error) { results <- err })
	if err := <-results; !errors.Is(err, ErrClosed) {
		t.Fatalf("CommitAsync after Close = %v, want ErrClosed", err)
	}

	s2 := mustOpen(t, Options{Dir: dir, Log: zaptest.NewLogger(t)})
	if got := len(collect(t, s2)); got != n+1 {
		t.Fatalf("reopened store holds %d leases, want %d", got, n+1)
	}
}

func TestReopenKeepsLeasesAndMeta(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Log: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var want []Lease
	for i := range 50 {
		want = append(want, sampleLease(netip.AddrFrom4([4]byte{172, 16, 0, byte(i)})))
	}
	if err := s.Commit(context.Background(), want...); err != nil {
		t.Fatal(err)
	}
	if err := s.PutMeta("k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, Options{Dir: dir, Log: zaptest.NewLogger(t)})
	if got := collect(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen ForEach gave %d leases, want %d identical ones", len(got), len(want))
	}
	if v, ok, err := s.GetMeta("k"); err != nil || !ok || string(v) != "v" {
		t.Fatalf("GetMeta after reopen = %q, %v, %v", v, ok, err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"no dir", Options{}},
		{"dir with in-memory", Options{Dir: "/tmp/x", InMemory: true}},
		{"negative MaxBatch", Options{InMemory: true, MaxBatch: -1}},
		{"negative CommitDelay", Options{InMemory: true, CommitDelay: -time.Millisecond}},
		{"dir is a file", Options{Dir: "/dev/null/leases"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Open(tt.opts); err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			} else {
				t.Log(err)
			}
		})
	}
}

// TestOpenRefusesBelowReserve checks the free-space reserve without
// filling a disk (TestFullDisk does that, as root): no real file system
// has 4 EiB free.
func TestOpenRefusesBelowReserve(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Log: zaptest.NewLogger(t), MinFreeBytes: 1 << 62})
	if !errors.Is(err, ErrLowDiskSpace) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open = %v, want ErrLowDiskSpace", err)
	}
	t.Log(err)
	s = mustOpen(t, Options{Dir: dir, Log: zaptest.NewLogger(t), MinFreeBytes: -1})
	if err := s.Commit(context.Background(), sampleLease(addr("10.0.0.1"))); err != nil {
		t.Fatalf("Commit with the reserve disabled: %v", err)
	}
}

// TestHugeCommitSplitsTransaction commits more leases in one call than
// badger takes in one transaction, so the committer must split it.
func TestHugeCommitSplitsTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("commits 150k leases; skipped with -short")
	}
	s := mustOpen(t, Options{InMemory: true, Log: zaptest.NewLogger(t)})
	leases := make([]Lease, 150_000)
	for i := range leases {
		leases[i] = Lease{IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), State: StateActive}
	}
	if err := s.Commit(context.Background(), leases...); err != nil {
		t.Fatalf("Commit of %d leases: %v", len(leases), err)
	}
	n := 0
	if err := s.ForEach(func(Lease) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(leases) {
		t.Fatalf("stored %d leases, want %d", n, len(leases))
	}
}

// TestCloseReturnsWhenBadgerCannotFlush removes the store's directory
// under it: badger's final memtable flush then fails and retries for
// ever, and Close must give up after CloseTimeout instead of hanging the
// stopping server.
func TestCloseReturnsWhenBadgerCannotFlush(t *testing.T) {
	dir := t.TempDir()
	// A no-op logger: badger keeps logging its retries after the test.
	s, err := Open(Options{Dir: dir, Log: zap.NewNop(), CloseTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(context.Background(), sampleLease(addr("10.0.0.1"))); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrCloseTimeout) {
			t.Fatalf("Close = %v, want an error wrapping ErrCloseTimeout", err)
		}
		t.Log(err)
	case <-time.After(20 * time.Second):
		t.Fatal("Close still waiting 20 s after a 300 ms CloseTimeout")
	}
}
