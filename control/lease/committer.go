package lease

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"go.uber.org/zap"
)

// write is one key to set (val != nil) or delete (val == nil).
type write struct {
	key, val []byte
}

// request is what one caller waits on: its writes are committed together
// in one batch, and done is called once with the batch's outcome.
type request struct {
	writes []write
	done   func(error)
}

// errorLogEvery bounds how often a persisting commit failure is logged.
const errorLogEvery = 10 * time.Second

// committer is the single goroutine that writes to badger. Callers append
// requests to pending; the committer takes everything waiting (up to
// MaxBatch writes), commits it in one synced transaction and completes
// each request. Grouping is what keeps one fsync per batch instead of one
// per lease.
type committer struct {
	s    *Store
	wake chan struct{} // capacity 1: "pending is not empty or closed"
	full chan struct{} // capacity 1: "pending holds MaxBatch writes", ends a CommitDelay wait
	done chan struct{} // closed when the goroutine exits

	mu            sync.Mutex
	pending       []*request
	pendingWrites int       // writes in pending
	oldest        time.Time // when pending last became non-empty
	closed        bool

	// Owned by the committer goroutine.
	timer    *time.Timer // the CommitDelay wait, reused
	batch    []*request
	failing  bool
	failures int
	lastLog  time.Time
}

func newCommitter(s *Store) *committer {
	c := &committer{s: s, wake: make(chan struct{}, 1), full: make(chan struct{}, 1), done: make(chan struct{})}
	go c.run()
	return c
}

// enqueue hands r to the committer, or completes it with ErrClosed.
func (c *committer) enqueue(r *request) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		r.done(ErrClosed)
		return
	}
	if len(c.pending) == 0 && c.s.opts.CommitDelay > 0 {
		c.oldest = time.Now()
	}
	c.pending = append(c.pending, r)
	c.pendingWrites += len(r.writes)
	full := c.pendingWrites >= c.s.opts.MaxBatch
	c.mu.Unlock()
	signal(c.wake)
	if full {
		signal(c.full)
	}
}

// signal wakes the receiver of a capacity-1 channel without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// wait enqueues writes and blocks until they are committed or ctx ends.
func (c *committer) wait(ctx context.Context, writes []write) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	result := make(chan error, 1)
	c.enqueue(&request{writes: writes, done: func(err error) { result <- err }})
	select {
	case err := <-result:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops intake and waits until everything queued is committed.
func (c *committer) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	signal(c.wake)
	signal(c.full)
	<-c.done
}

func (c *committer) run() {
	defer close(c.done)
	for range c.wake {
		for {
			if c.s.opts.CommitDelay > 0 {
				c.gather()
			}
			n, closed := c.take()
			if n == 0 {
				if closed {
					return
				}
				break
			}
			c.commit(n)
		}
	}
}

// gather waits until the oldest pending request has waited CommitDelay,
// MaxBatch writes are pending, or the store is closing, so that one
// synced commit carries what arrived meanwhile.
func (c *committer) gather() {
	select { // a stale "full" from a batch already taken must not cut this wait short
	case <-c.full:
	default:
	}
	c.mu.Lock()
	wait := time.Until(c.oldest.Add(c.s.opts.CommitDelay))
	skip := c.closed || len(c.pending) == 0 || c.pendingWrites >= c.s.opts.MaxBatch || wait <= 0
	c.mu.Unlock()
	if skip {
		return
	}
	if c.timer == nil {
		c.timer = time.NewTimer(wait)
	} else {
		c.timer.Reset(wait)
	}
	select {
	case <-c.timer.C:
	case <-c.full:
		c.timer.Stop()
	}
}

// take moves up to MaxBatch writes' worth of requests (always at least
// one request) from pending into c.batch and returns how many writes that
// is.
func (c *committer) take() (writes int, closed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batch = c.batch[:0]
	i := 0
	for ; i < len(c.pending); i++ {
		n := len(c.pending[i].writes)
		if i > 0 && writes+n > c.s.opts.MaxBatch {
			break
		}
		writes += n
	}
	c.batch = append(c.batch, c.pending[:i]...)
	rest := copy(c.pending, c.pending[i:])
	clear(c.pending[rest:])
	c.pending = c.pending[:rest]
	c.pendingWrites -= writes
	if rest > 0 {
		// What stays behind has waited at least as long as the batch just
		// taken: commit it next without a further delay.
		c.oldest = time.Time{}
	}
	return writes, c.closed
}

// commit writes c.batch durably and completes its requests.
func (c *committer) commit(writes int) {
	start := time.Now()
	err := c.s.checkFreeSpace()
	if err == nil {
		err = c.writeBatch()
	}
	took := time.Since(start)
	if err != nil {
		err = fmt.Errorf("commit %d lease records: %w", writes, err)
		c.noteFailure(err)
	} else {
		c.noteSuccess()
		if c.s.opts.OnCommit != nil {
			c.s.opts.OnCommit(writes, took)
		}
	}
	for i, r := range c.batch {
		r.done(err)
		c.batch[i] = nil
	}
}

// writeBatch puts every write of c.batch into one transaction and commits
// it; with SyncWrites that commit is one sync. Should the transaction grow
// past what badger takes in one go, it is committed and a new one started,
// so a batch may become several synced transactions; the requests are
// completed only after the last.
func (c *committer) writeBatch() error {
	txn := c.s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, r := range c.batch {
		for _, w := range r.writes {
			err := apply(txn, w)
			if errors.Is(err, badger.ErrTxnTooBig) {
				if err := txn.Commit(); err != nil {
					return err
				}
				txn = c.s.db.NewTransaction(true)
				err = apply(txn, w)
			}
			if err != nil {
				return err
			}
		}
	}
	return txn.Commit()
}

func apply(txn *badger.Txn, w write) error {
	if w.val == nil {
		return txn.Delete(w.key)
	}
	return txn.Set(w.key, w.val)
}

// noteFailure logs a commit error at the start of a failing spell and then
// at most every errorLogEvery, so a full disk under load does not flood
// the log.
func (c *committer) noteFailure(err error) {
	c.failures++
	now := time.Now()
	if c.failing && now.Sub(c.lastLog) < errorLogEvery {
		return
	}
	c.s.log.Error("lease store commit failed; the requests in the batch got the error",
		zap.Error(err), zap.Int("failed_batches", c.failures))
	c.failing = true
	c.lastLog = now
}

func (c *committer) noteSuccess() {
	if !c.failing {
		return
	}
	c.s.log.Info("lease store commits succeed again", zap.Int("failed_batches", c.failures))
	c.failing = false
	c.failures = 0
}
