// Package calllog writes the call log: a Batcher that groups the calls of
// every source (proxy, reports, probes, syncs, credential tests) into one
// transaction per batch, and a Retention service that deletes calls older
// than TETHER_CALL_LOG_RETENTION. See docs/call-log.md.
package calllog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	tether "github.com/tetherhq/tether"
)

// ApplyFunc updates a connection from its calls of one batch and returns the
// events the change causes (the health engine). It runs inside the batch's
// transaction, under the connection's lock.
type ApplyFunc func(c *tether.Connection, calls []*tether.Call) ([]tether.Event, error)

// Options tune a Batcher; zero values take the defaults.
type Options struct {
	// MaxBatch is the most calls one transaction writes (default
	// DefaultMaxBatch).
	MaxBatch int
	// MaxDelay is the longest a call waits for its batch to fill (default
	// 50ms, at most 100ms): it bounds how stale the log and health are.
	MaxDelay time.Duration
	// QueueSize bounds the calls queued or being written (default
	// DefaultQueueSize);
	// when it is reached, Add blocks until a batch is committed.
	QueueSize int
	// RetryDelay is the pause before the first retry of a failed batch; it
	// doubles with each further retry (default 100ms).
	RetryDelay time.Duration
	// Log receives failed batches (default: discarded).
	Log *slog.Logger
}

// A batch's cost is mostly per connection it touches, not per call: each
// connection's row is written back once, and its calls land in one place of
// the connection_id index (one page per connection). Under load, when calls
// queue faster than they commit, larger batches spread that cost over more
// calls: going from 1,000 to 5,000 doubled the committed rate of reported
// calls on both stores (docs/performance.md). A quiet log still commits every
// MaxDelay, so small batches stay small.
const (
	DefaultMaxBatch  = 5000
	DefaultQueueSize = 4 * DefaultMaxBatch
)

// MaxDelayLimit is the largest MaxDelay a Batcher accepts.
const MaxDelayLimit = 100 * time.Millisecond

const (
	// retries is how often a failed batch is written again before its
	// calls are given up: a deadlock victim, a failover, a full disk freed.
	retries = 3
	// flushTimeout bounds one attempt to write a batch, so that a database
	// that hangs fails the attempt instead of the batcher.
	flushTimeout = 30 * time.Second
)

// withDefaults fills in zero options and caps MaxDelay at delayLimit.
func (o Options) withDefaults(delayLimit time.Duration) Options {
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 50 * time.Millisecond
	}
	o.MaxDelay = min(o.MaxDelay, delayLimit)
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	o.QueueSize = max(o.QueueSize, o.MaxBatch)
	if o.RetryDelay <= 0 {
		o.RetryDelay = 100 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// ErrClosed is returned by Add, AddMany and Flush after Close.
var ErrClosed = errors.New("call log is closed")

// Batcher queues calls and writes them in batches: a batch is committed when
// it reaches MaxBatch calls or its first call has waited MaxDelay, with one
// store.RecordCalls (one transaction, one fsync) per batch. One goroutine
// writes, so batches commit in the order their calls were added.
type Batcher struct {
	store tether.CallStore
	apply ApplyFunc
	opts  Options

	// space holds a unit per call queued or being written: Add takes units
	// before queuing, the writer returns them once the batch is done.
	space *semaphore.Weighted

	mu      sync.Mutex
	pending []*tether.Call // queued, oldest first
	firstAt time.Time      // when pending's oldest call was queued
	added   uint64         // calls ever queued
	taken   uint64         // calls ever taken into a batch
	done    uint64         // calls ever written or given up
	lost    uint64         // calls given up after retries
	flushTo uint64         // Flush wants the calls up to this count written
	closed  bool
	// progress is closed and replaced whenever done advances.
	progress chan struct{}

	wake      chan struct{} // "look at pending again", to the writer
	adders    sync.WaitGroup
	accepting context.Context // cancelled by Close: Adds waiting for space give up
	stopAdds  context.CancelFunc
	abort     context.CancelFunc // cancels the writer's store calls
	stopped   chan struct{}      // closed when the writer has returned
}

// New starts a Batcher that records calls in store, applying apply to each
// connection of a batch. A MaxDelay above MaxDelayLimit is capped. Close it
// to write what is queued.
func New(store tether.CallStore, apply ApplyFunc, opts Options) *Batcher {
	return newBatcher(store, apply, opts, MaxDelayLimit)
}

// newBatcher is New with another cap on MaxDelay: tests use long delays to
// tell which trigger wrote a batch.
func newBatcher(store tether.CallStore, apply ApplyFunc, opts Options, delayLimit time.Duration) *Batcher {
	opts = opts.withDefaults(delayLimit)
	b := &Batcher{
		store:    store,
		apply:    apply,
		opts:     opts,
		space:    semaphore.NewWeighted(int64(opts.QueueSize)),
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		stopped:  make(chan struct{}),
	}
	b.accepting, b.stopAdds = context.WithCancel(context.Background())
	writeCtx, abort := context.WithCancel(context.Background())
	b.abort = abort
	go b.run(writeCtx)
	return b
}

// Add queues one call, giving it an id if it has none. It blocks while the
// queue is full, and returns ctx's error if ctx ends first.
func (b *Batcher) Add(ctx context.Context, call *tether.Call) error {
	return b.AddMany(ctx, []*tether.Call{call})
}

// AddMany queues calls, all or none (more than Options.QueueSize are queued
// in parts), giving each an id if it has none. It blocks while the queue is
// full, and returns ctx's error if ctx ends first.
func (b *Batcher) AddMany(ctx context.Context, calls []*tether.Call) error {
	if !b.enter() {
		return ErrClosed
	}
	defer b.adders.Done()
	for len(calls) > 0 {
		part := calls[:min(len(calls), b.opts.QueueSize)]
		if err := b.reserve(ctx, len(part)); err != nil {
			return err
		}
		b.enqueue(part)
		calls = calls[len(part):]
	}
	return nil
}

// enter registers an Add in flight, unless the batcher is closed.
func (b *Batcher) enter() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.adders.Add(1)
	return true
}

// reserve takes queue space for n calls, waiting while there is none.
func (b *Batcher) reserve(ctx context.Context, n int) error {
	if b.space.TryAcquire(int64(n)) {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(b.accepting, func() { cancel(ErrClosed) })
	defer stop()
	if err := b.space.Acquire(ctx, int64(n)); err != nil {
		return context.Cause(ctx)
	}
	return nil
}

func (b *Batcher) enqueue(calls []*tether.Call) {
	b.mu.Lock()
	if len(b.pending) == 0 {
		b.firstAt = time.Now()
	}
	for _, c := range calls {
		if c.ID == "" {
			c.ID = tether.NewID(tether.PrefixCall)
		}
		b.pending = append(b.pending, c)
	}
	b.added += uint64(len(calls))
	b.mu.Unlock()
	b.signal()
}

// signal wakes the writer, without blocking if it is awake already.
func (b *Batcher) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// Flush waits until every call added before it was written (or given up:
// then it says how many were lost), or ctx ends.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	target, lostBefore := b.added, b.lost
	b.flushTo = max(b.flushTo, target)
	b.mu.Unlock()
	b.signal()
	for {
		b.mu.Lock()
		reached, lost, progress := b.done >= target, b.lost-lostBefore, b.progress
		b.mu.Unlock()
		if reached && lost > 0 {
			return fmt.Errorf("flush call log: %d calls could not be recorded", lost)
		}
		if reached {
			return nil
		}
		select {
		case <-progress:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops accepting calls (Adds waiting for space return ErrClosed),
// writes everything queued, and returns when the writer has stopped. If ctx
// ends first, the write in progress is cancelled, what is still queued is
// lost (and logged), and Close returns ctx's error. Nothing runs after Close
// returns.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	b.stopAdds()
	b.adders.Wait() // no call can be queued after this
	b.signal()
	select {
	case <-b.stopped:
	case <-ctx.Done():
		b.abort()
		<-b.stopped
		return ctx.Err()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.lost > 0 {
		return fmt.Errorf("close call log: %d calls could not be recorded", b.lost)
	}
	return nil
}

// run is the writer: it takes batches and writes them until the batcher is
// closed and drained, or aborted.
func (b *Batcher) run(ctx context.Context) {
	defer close(b.stopped)
	for {
		batch, ok := b.nextBatch(ctx)
		if !ok {
			return
		}
		b.write(ctx, batch)
	}
}

// nextBatch waits for the next batch to be due and takes it; false when the
// batcher is closed with nothing pending, or aborted.
func (b *Batcher) nextBatch(ctx context.Context) ([]*tether.Call, bool) {
	for {
		b.mu.Lock()
		wait, due := b.batchDue()
		if due {
			batch := b.take()
			b.mu.Unlock()
			return batch, true
		}
		idle := len(b.pending) == 0 && b.closed
		b.mu.Unlock()
		if idle || ctx.Err() != nil {
			b.giveUpPending(ctx)
			return nil, false
		}
		b.waitForCalls(ctx, wait)
	}
}

// waitForCalls sleeps until calls arrive, Flush or Close asks, ctx ends or,
// when wait is positive, wait has passed.
func (b *Batcher) waitForCalls(ctx context.Context, wait time.Duration) {
	var timeout <-chan time.Time
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-b.wake:
	case <-timeout:
	case <-ctx.Done():
	}
}

// batchDue reports whether a batch should be written now and, if not and
// calls are pending, how long until it should. b.mu is held.
func (b *Batcher) batchDue() (time.Duration, bool) {
	n := len(b.pending)
	if n == 0 {
		return 0, false
	}
	if n >= b.opts.MaxBatch || b.closed || b.flushTo > b.taken {
		return 0, true
	}
	wait := b.opts.MaxDelay - time.Since(b.firstAt)
	return wait, wait <= 0
}

// take removes the next batch from pending. b.mu is held.
func (b *Batcher) take() []*tether.Call {
	n := min(len(b.pending), b.opts.MaxBatch)
	batch := make([]*tether.Call, n)
	copy(batch, b.pending)
	b.pending = append(b.pending[:0], b.pending[n:]...)
	// The calls left were queued after the first one taken, so waiting on
	// from its time keeps every call within MaxDelay.
	b.taken += uint64(n)
	return batch
}

// write records a batch, retrying with backoff; a batch that still fails is
// given up and logged.
func (b *Batcher) write(ctx context.Context, batch []*tether.Call) {
	err := b.record(ctx, batch)
	for attempt := 0; err != nil && attempt < retries && ctx.Err() == nil; attempt++ {
		b.opts.Log.Warn("call log batch failed; retrying", "calls", len(batch), "attempt", attempt+1, "error", err)
		if !sleep(ctx, b.opts.RetryDelay<<attempt) {
			break
		}
		err = b.record(ctx, batch)
	}
	if err != nil {
		b.opts.Log.Error("call log batch lost", "calls", len(batch), "error", err)
	}
	b.finish(len(batch), err != nil)
}

func (b *Batcher) record(ctx context.Context, batch []*tether.Call) error {
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	return b.store.RecordCalls(ctx, batch, b.apply)
}

// finish accounts for n calls written or lost, frees their queue space and
// wakes whoever waits for progress.
func (b *Batcher) finish(n int, lost bool) {
	b.mu.Lock()
	b.done += uint64(n)
	if lost {
		b.lost += uint64(n)
	}
	close(b.progress)
	b.progress = make(chan struct{})
	b.mu.Unlock()
	b.space.Release(int64(n))
}

// giveUpPending drops the calls still queued when the writer is aborted.
func (b *Batcher) giveUpPending(ctx context.Context) {
	b.mu.Lock()
	n := len(b.pending)
	b.pending = nil
	b.taken += uint64(n)
	b.mu.Unlock()
	if n > 0 {
		b.opts.Log.Error("call log closed before its queue was written: calls lost", "calls", n, "error", ctx.Err())
		b.finish(n, true)
	}
}

// sleep waits d or until ctx ends, and reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Stats are the batcher's counters since it started, for metrics.
type Stats struct {
	Queued  uint64 // waiting to be written now
	Written uint64 // committed
	Lost    uint64 // given up after retries, or at a forced close
}

// Stats returns the current counters.
func (b *Batcher) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Queued: b.added - b.done, Written: b.done - b.lost, Lost: b.lost}
}
