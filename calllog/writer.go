package calllog

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	tether "github.com/tetherhq/tether"
)

// writer is one lane of a Batcher: it queues calls and writes them in
// batches, a batch committed when it reaches MaxBatch calls or its first call
// has waited MaxDelay, with one store.RecordCalls (one transaction) per batch.
// One goroutine writes, so its batches commit in the order their calls were
// added.
type writer struct {
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
	// drained is set by close once no Add is in flight any more: only then
	// may the writer stop at an empty queue (an Add that entered before
	// close may still be about to queue its calls).
	drained bool
	// progress is closed and replaced whenever done advances.
	progress chan struct{}

	wake chan struct{} // "look at pending again", to the writer
	// due is the writer's own timer for the pending batch's deadline,
	// reset at each wait: a new timer per wake (one per call under load)
	// was 3 % of the proxy path's allocations.
	due       *time.Timer
	adders    sync.WaitGroup
	accepting context.Context // cancelled by Close: Adds waiting for space give up
	stopAdds  context.CancelFunc
	abort     context.CancelFunc // cancels the writer's store calls
	stopped   chan struct{}      // closed when the writer has returned
}

// newWriter starts a writer with opts, already completed by withDefaults.
func newWriter(store tether.CallStore, apply ApplyFunc, opts Options) *writer {
	w := &writer{
		store:    store,
		apply:    apply,
		opts:     opts,
		space:    semaphore.NewWeighted(int64(opts.QueueSize)),
		progress: make(chan struct{}),
		wake:     make(chan struct{}, 1),
		due:      stoppedTimer(),
		stopped:  make(chan struct{}),
	}
	w.accepting, w.stopAdds = context.WithCancel(context.Background())
	writeCtx, abort := context.WithCancel(context.Background())
	w.abort = abort
	go w.run(writeCtx)
	return w
}

// enter registers an Add in flight, unless the writer is closed.
func (w *writer) enter() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return false
	}
	w.adders.Add(1)
	return true
}

// reserve takes queue space for n calls, waiting while there is none.
func (w *writer) reserve(ctx context.Context, n int) error {
	if w.space.TryAcquire(int64(n)) {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(w.accepting, func() { cancel(ErrClosed) })
	defer stop()
	if err := w.space.Acquire(ctx, int64(n)); err != nil {
		return context.Cause(ctx)
	}
	return nil
}

// enqueue queues calls whose space was reserved.
func (w *writer) enqueue(calls []*tether.Call) {
	w.mu.Lock()
	if len(w.pending) == 0 {
		w.firstAt = time.Now()
	}
	w.pending = append(w.pending, calls...)
	w.added += uint64(len(calls))
	w.mu.Unlock()
	w.signal()
}

// signal wakes the writer, without blocking if it is awake already.
func (w *writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// flushPoint is where a flush stands: the calls added before it, and the
// calls lost before it.
type flushPoint struct{ target, lostBefore uint64 }

// startFlush asks the writer to write every call added so far without
// waiting for its batch to fill, and returns what waitFlush waits for.
func (w *writer) startFlush() (flushPoint, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return flushPoint{}, ErrClosed
	}
	p := flushPoint{target: w.added, lostBefore: w.lost}
	w.flushTo = max(w.flushTo, p.target)
	w.mu.Unlock()
	w.signal()
	return p, nil
}

// waitFlush waits until the calls of p were written (or given up: then it
// says how many were lost), or ctx ends.
func (w *writer) waitFlush(ctx context.Context, p flushPoint) error {
	target, lostBefore := p.target, p.lostBefore
	for {
		w.mu.Lock()
		reached, lost, progress := w.done >= target, w.lost-lostBefore, w.progress
		w.mu.Unlock()
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

// close stops accepting calls (adds waiting for space return ErrClosed),
// writes everything queued, and returns when the writer has stopped. If ctx
// ends first, the write in progress is cancelled, what is still queued is
// lost (and logged), and close returns ctx's error.
func (w *writer) close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.stopAdds()
	w.adders.Wait() // no call can be queued after this
	w.mu.Lock()
	w.drained = true
	w.mu.Unlock()
	w.signal()
	select {
	case <-w.stopped:
	case <-ctx.Done():
		w.abort()
		<-w.stopped
		return ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lost > 0 {
		return fmt.Errorf("close call log: %d calls could not be recorded", w.lost)
	}
	return nil
}

// run is the writer: it takes batches and writes them until the batcher is
// closed and drained, or aborted.
func (w *writer) run(ctx context.Context) {
	defer close(w.stopped)
	for {
		batch, ok := w.nextBatch(ctx)
		if !ok {
			return
		}
		w.write(ctx, batch)
	}
}

// nextBatch waits for the next batch to be due and takes it; false when the
// batcher is closed with nothing pending, or aborted.
func (w *writer) nextBatch(ctx context.Context) ([]*tether.Call, bool) {
	for {
		w.mu.Lock()
		wait, due := w.batchDue()
		if due {
			batch := w.take()
			w.mu.Unlock()
			return batch, true
		}
		idle := len(w.pending) == 0 && w.drained
		w.mu.Unlock()
		if idle || ctx.Err() != nil {
			w.giveUpPending(ctx)
			return nil, false
		}
		w.waitForCalls(ctx, wait)
	}
}

// waitForCalls sleeps until calls arrive, Flush or Close asks, ctx ends or,
// when wait is positive, wait has passed.
func (w *writer) waitForCalls(ctx context.Context, wait time.Duration) {
	var timeout <-chan time.Time
	if wait > 0 {
		w.due.Reset(wait)
		defer w.due.Stop()
		timeout = w.due.C
	}
	select {
	case <-w.wake:
	case <-timeout:
	case <-ctx.Done():
	}
}

// stoppedTimer returns a timer that has not been started. Since Go 1.23 a
// stopped or reset timer's channel holds no stale tick, so it can be reused.
func stoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

// batchDue reports whether a batch should be written now and, if not and
// calls are pending, how long until it should. w.mu is held.
func (w *writer) batchDue() (time.Duration, bool) {
	n := len(w.pending)
	if n == 0 {
		return 0, false
	}
	if n >= w.opts.MaxBatch || w.closed || w.flushTo > w.taken {
		return 0, true
	}
	wait := w.opts.MaxDelay - time.Since(w.firstAt)
	return wait, wait <= 0
}

// take removes the next batch from pending. w.mu is held.
func (w *writer) take() []*tether.Call {
	n := min(len(w.pending), w.opts.MaxBatch)
	batch := make([]*tether.Call, n)
	copy(batch, w.pending)
	w.pending = append(w.pending[:0], w.pending[n:]...)
	// The calls left were queued after the first one taken, so waiting on
	// from its time keeps every call within MaxDelay.
	w.taken += uint64(n)
	return batch
}

// write records a batch, retrying with backoff; a batch that still fails is
// given up and logged.
func (w *writer) write(ctx context.Context, batch []*tether.Call) {
	err := w.record(ctx, batch)
	for attempt := 0; err != nil && attempt < retries && ctx.Err() == nil; attempt++ {
		w.opts.Log.Warn("call log batch failed; retrying", "calls", len(batch), "attempt", attempt+1, "error", err)
		if !sleep(ctx, w.opts.RetryDelay<<attempt) {
			break
		}
		err = w.record(ctx, batch)
	}
	if err != nil {
		w.opts.Log.Error("call log batch lost", "calls", len(batch), "error", err)
	}
	w.finish(len(batch), err != nil)
}

func (w *writer) record(ctx context.Context, batch []*tether.Call) error {
	ctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	return w.store.RecordCalls(ctx, batch, w.apply)
}

// finish accounts for n calls written or lost, frees their queue space and
// wakes whoever waits for progress.
func (w *writer) finish(n int, lost bool) {
	w.mu.Lock()
	w.done += uint64(n)
	if lost {
		w.lost += uint64(n)
	}
	close(w.progress)
	w.progress = make(chan struct{})
	w.mu.Unlock()
	w.space.Release(int64(n))
}

// giveUpPending drops the calls still queued when the writer is aborted.
func (w *writer) giveUpPending(ctx context.Context) {
	w.mu.Lock()
	n := len(w.pending)
	w.pending = nil
	w.taken += uint64(n)
	w.mu.Unlock()
	if n > 0 {
		w.opts.Log.Error("call log closed before its queue was written: calls lost", "calls", n, "error", ctx.Err())
		w.finish(n, true)
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

// stats returns the writer's counters.
func (w *writer) stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{Queued: w.added - w.done, Written: w.done - w.lost, Lost: w.lost}
}
