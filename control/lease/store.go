package lease

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"
	"go.uber.org/zap"
)

// Key prefixes. Lease keys are leasePrefix followed by the four address
// bytes, so badger's byte order is IP order; meta keys live apart so that
// walking leases never meets them.
const (
	leasePrefix byte = 'L'
	metaPrefix  byte = 'M'
)

// Defaults for zero Options fields.
const (
	DefaultMaxBatch        = 512
	DefaultGCInterval      = 10 * time.Minute
	DefaultMinFreeBytes    = 128 << 20
	DefaultCloseTimeout    = 30 * time.Second
	defaultValueLogFileSz  = 64 << 20
	defaultMemTableSize    = 16 << 20
	maxMetaKeyLen          = 256
	valueLogGCDiscardRatio = 0.5
)

// Sentinel errors.
var (
	// ErrClosed is returned for requests made after Close began.
	ErrClosed = errors.New("lease store closed")
	// ErrCorrupt is wrapped by errors about records that cannot be decoded.
	ErrCorrupt = errors.New("corrupt lease record")
	// ErrLowDiskSpace is wrapped by commit errors refused because the
	// store's file system has less free space than Options.MinFreeBytes.
	ErrLowDiskSpace = errors.New("free disk space below the lease store's reserve")
	// ErrCloseTimeout is wrapped by Close's error when badger did not
	// finish closing within Options.CloseTimeout.
	ErrCloseTimeout = errors.New("badger did not finish closing in time")
)

// Options configures Open. The zero value of each optional field means its
// default.
type Options struct {
	Dir      string // directory of the store; "" with InMemory
	InMemory bool   // keep everything in memory (tests); nothing is durable
	MaxBatch int    // most leases per commit; default DefaultMaxBatch
	// CommitDelay is how long the committer may hold the oldest waiting
	// request to gather more into the same synced commit (group-commit
	// delay). A commit starts once its oldest request has waited this
	// long or MaxBatch writes are waiting, whichever is first. 0 commits
	// at once; negative is an error. Each synced commit costs about the
	// same CPU whatever its size, so a short delay trades a little reply
	// latency for far fewer syncs under moderate load.
	CommitDelay time.Duration
	Log         *zap.Logger
	// OnCommit, if set, is called by the committer after each successful
	// durable commit with the number of records written and how long the
	// write and sync took. It must be cheap (it runs on the commit path).
	OnCommit func(leases int, took time.Duration)

	// CloseTimeout bounds how long Close waits for badger to close (its
	// final memtable flush retries for ever when the directory cannot
	// be written); default DefaultCloseTimeout, negative waits for ever.
	CloseTimeout time.Duration

	// GCInterval is how often badger's value-log GC runs; default
	// DefaultGCInterval, negative disables it.
	GCInterval time.Duration
	// MinFreeBytes is the free space the store's file system must keep
	// before a commit is attempted; default DefaultMinFreeBytes, negative
	// disables the check. See the package documentation ("Full disk").
	MinFreeBytes int64
}

// Store keeps leases durably in badger. All methods are safe for
// concurrent use.
type Store struct {
	db   *badger.DB
	log  *zap.Logger
	opts Options
	c    *committer

	stopGC chan struct{}
	gcDone sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// Open opens (or creates) the store and starts its group committer and
// value-log GC.
func Open(opts Options) (*Store, error) {
	if opts.Log == nil {
		opts.Log = zap.NewNop()
	}
	if opts.MaxBatch == 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.MaxBatch < 0 {
		return nil, fmt.Errorf("open lease store: Options.MaxBatch is %d; set it to a positive number or 0 for %d", opts.MaxBatch, DefaultMaxBatch)
	}
	if opts.CommitDelay < 0 {
		return nil, fmt.Errorf("open lease store: Options.CommitDelay is %v; set it to 0 (commit at once) or a positive duration", opts.CommitDelay)
	}
	if opts.CloseTimeout == 0 {
		opts.CloseTimeout = DefaultCloseTimeout
	}
	if opts.GCInterval == 0 {
		opts.GCInterval = DefaultGCInterval
	}
	if opts.MinFreeBytes == 0 {
		opts.MinFreeBytes = DefaultMinFreeBytes
	}

	var bopts badger.Options
	switch {
	case opts.InMemory && opts.Dir != "":
		return nil, fmt.Errorf("open lease store: Options.Dir is %q with InMemory; leave Dir empty for an in-memory store", opts.Dir)
	case opts.InMemory:
		bopts = badger.DefaultOptions("").WithInMemory(true)
	case opts.Dir == "":
		return nil, errors.New("open lease store: Options.Dir is empty; set it to the lease directory (or set InMemory for tests)")
	default:
		if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
			return nil, fmt.Errorf("open lease store %s: %w", opts.Dir, err)
		}
		// Opening replays and flushes the write-ahead log: on a full
		// disk that would be a SIGBUS, so refuse with an error instead.
		if err := checkFreeSpace(opts.Dir, opts.MinFreeBytes); err != nil {
			return nil, fmt.Errorf("open lease store %s: %w", opts.Dir, err)
		}
		bopts = badger.DefaultOptions(opts.Dir).
			WithSyncWrites(true).
			WithValueLogFileSize(defaultValueLogFileSz).
			WithMemTableSize(defaultMemTableSize)
	}
	bopts = bopts.
		WithNumVersionsToKeep(1).
		WithDetectConflicts(false). // one writer: the committer
		// Lease records are a few dozen bytes of packed binary:
		// compressing tables saves little disk and cost the memtable
		// flush its snappy pass (7% of the CPU in a profile of
		// BenchmarkCommitAsync); without compression badger needs no
		// block cache (256 MiB by default).
		WithCompression(options.None).
		WithBlockCacheSize(0).
		WithLogger(badgerLogger{opts.Log.Named("badger").Sugar()}).
		WithLoggingLevel(badger.WARNING)

	db, err := badger.Open(bopts)
	if err != nil {
		return nil, fmt.Errorf("open lease store %s: %w", opts.Dir, err)
	}
	s := &Store{db: db, log: opts.Log, opts: opts, stopGC: make(chan struct{})}
	s.c = newCommitter(s)
	if !opts.InMemory && opts.GCInterval > 0 {
		s.gcDone.Add(1)
		go s.runGC()
	}
	return s, nil
}

// Close stops accepting requests, completes every request already queued
// (committing it durably), stops GC and closes badger. Calling it again
// returns the first result.
//
// On a file system below its free-space reserve Close does not close
// badger, whose final memtable flush would die of SIGBUS there: it returns
// an error wrapping ErrLowDiskSpace and leaves the files as a crash would.
// Every committed lease is in the synced write-ahead log and is replayed
// by the next Open (in a new process: the directory lock stays held).
//
// Should badger not finish closing within Options.CloseTimeout (its last
// memtable flush retries for ever when the directory cannot be written,
// say it was removed or the disk fails), Close returns an error wrapping
// ErrCloseTimeout and leaves badger to it, so that a stopping server
// still exits; the committed leases are in the synced log, as above.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.c.close()
		close(s.stopGC)
		s.gcDone.Wait()
		if err := s.checkFreeSpace(); errors.Is(err, ErrLowDiskSpace) {
			s.closeErr = fmt.Errorf("close lease store %s: badger left open, committed leases replay from its log on the next start: %w", s.opts.Dir, err)
			s.log.Error("lease store not closed cleanly", zap.Error(s.closeErr))
			return
		}
		closed := make(chan error, 1)
		go func() { closed <- s.db.Close() }()
		var timeout <-chan time.Time
		if s.opts.CloseTimeout > 0 {
			t := time.NewTimer(s.opts.CloseTimeout)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case err := <-closed:
			if err != nil {
				s.closeErr = fmt.Errorf("close lease store %s: %w", s.opts.Dir, err)
			}
		case <-timeout:
			s.closeErr = fmt.Errorf("close lease store %s: %w after %v (see badger's errors above); committed leases replay from its log on the next start", s.opts.Dir, ErrCloseTimeout, s.opts.CloseTimeout)
			s.log.Error("lease store not closed cleanly", zap.Error(s.closeErr))
		}
	})
	return s.closeErr
}

// Commit writes the leases and returns once they are durable: synced to
// disk in one badger transaction, grouped with whatever other requests were
// waiting. If ctx ends first, Commit returns its error and the leases may
// or may not have been written; the caller must not treat them as durable.
func (s *Store) Commit(ctx context.Context, leases ...Lease) error {
	if len(leases) == 0 {
		return nil
	}
	writes, err := leaseWrites(leases)
	if err != nil {
		return err
	}
	return s.c.wait(ctx, writes)
}

// leaseWrites encodes leases as the committer's writes.
func leaseWrites(leases []Lease) ([]write, error) {
	writes := make([]write, len(leases))
	for i, l := range leases {
		w, err := leaseWrite(l)
		if err != nil {
			return nil, err
		}
		writes[i] = w
	}
	return writes, nil
}

// CommitAsync queues one lease and calls done with nil once it is durable,
// or with the error that kept it from being so. done runs on the committer
// goroutine (or, for a lease that cannot be encoded or a closed store, on
// the caller's) and must be cheap: hand the result on, do not block.
func (s *Store) CommitAsync(l Lease, done func(error)) {
	w, err := leaseWrite(l)
	if err != nil {
		done(err)
		return
	}
	s.c.enqueue(&request{writes: []write{w}, done: done})
}

// CommitAllAsync queues leases for one durable commit and calls done
// once with its outcome, as CommitAsync does for one lease: all of them
// are durable when done gets nil. done runs on the committer goroutine
// (or the caller's, for a lease that cannot be encoded or a closed
// store) and must not block.
func (s *Store) CommitAllAsync(leases []Lease, done func(error)) {
	if len(leases) == 0 {
		done(nil)
		return
	}
	writes, err := leaseWrites(leases)
	if err != nil {
		done(err)
		return
	}
	s.c.enqueue(&request{writes: writes, done: done})
}

// Delete removes the lease of ip, durably, through the same committer as
// Commit so that it is ordered with commits. Deleting an absent lease is
// not an error.
func (s *Store) Delete(ctx context.Context, ip netip.Addr) error {
	if !ip.Is4() {
		return fmt.Errorf("delete lease: %v is not an IPv4 address", ip)
	}
	return s.c.wait(ctx, []write{{key: leaseKey(ip)}})
}

// Get returns the lease of ip. A record that cannot be decoded gives an
// error wrapping ErrCorrupt.
func (s *Store) Get(ip netip.Addr) (Lease, bool, error) {
	if !ip.Is4() {
		return Lease{}, false, fmt.Errorf("get lease: %v is not an IPv4 address", ip)
	}
	var l Lease
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(leaseKey(ip))
		if err != nil {
			return err
		}
		return item.Value(func(val []byte) error {
			l, err = decodeRecord(item.Key(), val)
			return err
		})
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return Lease{}, false, nil
	case err != nil:
		return Lease{}, false, fmt.Errorf("get lease %v: %w", ip, err)
	}
	return l, true, nil
}

// CorruptRecord names one lease record ForEach could not decode.
type CorruptRecord struct {
	Key []byte     // the raw badger key
	IP  netip.Addr // the address in the key; invalid if the key is malformed
	Err error
}

// CorruptRecordsError is returned by ForEach after it has visited every
// readable lease, listing the records it could not decode. It wraps
// ErrCorrupt.
type CorruptRecordsError struct {
	Records []CorruptRecord
}

func (e *CorruptRecordsError) Error() string {
	first := e.Records[0]
	return fmt.Sprintf("%d corrupt lease records (first: key %x: %v)", len(e.Records), first.Key, first.Err)
}

func (e *CorruptRecordsError) Unwrap() error { return ErrCorrupt }

// ForEach calls fn for every lease in IP order. It stops at the first
// error from fn and returns it. Records that cannot be decoded do not stop
// the walk: fn sees every readable lease, and ForEach then returns a
// *CorruptRecordsError naming the unreadable ones, so a caller rebuilding
// allocator state can keep those addresses out of use instead of handing
// them out again.
func (s *Store) ForEach(fn func(Lease) error) error {
	var corrupt []CorruptRecord
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: []byte{leasePrefix}})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var l Lease
			err := item.Value(func(val []byte) error {
				var derr error
				l, derr = decodeRecord(item.Key(), val)
				return derr
			})
			if errors.Is(err, ErrCorrupt) {
				key := item.KeyCopy(nil)
				ip, _ := ipFromKey(key)
				corrupt = append(corrupt, CorruptRecord{Key: key, IP: ip, Err: err})
				continue
			}
			if err != nil {
				return fmt.Errorf("read lease key %x: %w", item.Key(), err)
			}
			if err := fn(l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(corrupt) > 0 {
		return &CorruptRecordsError{Records: corrupt}
	}
	return nil
}

// PutMeta durably stores a small named setting (synced before it returns).
func (s *Store) PutMeta(key string, val []byte) error {
	k, err := metaKey(key)
	if err != nil {
		return err
	}
	if err := s.checkFreeSpace(); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	v := append([]byte(nil), val...)
	if err := s.db.Update(func(txn *badger.Txn) error { return txn.Set(k, v) }); err != nil {
		return fmt.Errorf("put meta %q: %w", key, err)
	}
	return nil
}

// GetMeta returns a setting stored with PutMeta.
func (s *Store) GetMeta(key string) ([]byte, bool, error) {
	k, err := metaKey(key)
	if err != nil {
		return nil, false, err
	}
	var val []byte
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("get meta %q: %w", key, err)
	}
	return val, true, nil
}

func (s *Store) runGC() {
	defer s.gcDone.Done()
	t := time.NewTicker(s.opts.GCInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stopGC:
			return
		case <-t.C:
			s.collectValueLog()
		}
	}
}

// collectValueLog rewrites value-log files until badger finds nothing
// worth rewriting or Close begins.
func (s *Store) collectValueLog() {
	for {
		select {
		case <-s.stopGC:
			return
		default:
		}
		err := s.db.RunValueLogGC(valueLogGCDiscardRatio)
		if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
			return
		}
		if err != nil {
			s.log.Warn("lease store value-log GC failed", zap.Error(err))
			return
		}
	}
}

func leaseKey(ip netip.Addr) []byte {
	a := ip.As4()
	return []byte{leasePrefix, a[0], a[1], a[2], a[3]}
}

func ipFromKey(key []byte) (netip.Addr, bool) {
	if len(key) != 5 || key[0] != leasePrefix {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4([4]byte(key[1:])), true
}

func metaKey(key string) ([]byte, error) {
	if key == "" || len(key) > maxMetaKeyLen {
		return nil, fmt.Errorf("meta key %q: must be 1 to %d bytes", key, maxMetaKeyLen)
	}
	return append([]byte{metaPrefix}, key...), nil
}

func leaseWrite(l Lease) (write, error) {
	val, err := l.MarshalBinary()
	if err != nil {
		return write{}, err
	}
	return write{key: leaseKey(l.IP), val: val}, nil
}

// decodeRecord decodes a stored value and checks it against its key.
func decodeRecord(key, val []byte) (Lease, error) {
	ip, ok := ipFromKey(key)
	if !ok {
		return Lease{}, fmt.Errorf("%w: malformed key %x", ErrCorrupt, key)
	}
	var l Lease
	if err := l.UnmarshalBinary(val); err != nil {
		return Lease{}, fmt.Errorf("%w at %v: %w", ErrCorrupt, ip, err)
	}
	if l.IP != ip {
		return Lease{}, fmt.Errorf("%w at %v: record holds address %v", ErrCorrupt, ip, l.IP)
	}
	return l, nil
}
