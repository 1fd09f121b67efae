// Package calllog writes the call log: a Batcher that groups the calls of
// every source (proxy, reports, probes, syncs, credential tests) into one
// transaction per batch, and a Retention service that deletes calls older
// than TETHER_CALL_LOG_RETENTION. See docs/call-log.md.
package calllog

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

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
	// Writers is how many batches are written at once, each by a writer of
	// its own (default 1). Calls are spread over the writers by connection,
	// so a connection's calls are always written by the same writer, in the
	// order they were added, and two writers never lock the same connection.
	// More than one pays only where the database takes writes in parallel
	// (PostgreSQL); SQLite has a single writer connection.
	Writers int
	// QueueSize bounds the calls queued or being written, over all writers
	// (default DefaultQueueSize);
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
// calls on both stores, and 10,000 added a quarter (docs/performance.md), for
// about 30 MB more memory at full load. A quiet log still commits every
// MaxDelay, so small batches stay small.
const (
	DefaultMaxBatch  = 10000
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
	if o.Writers <= 0 {
		o.Writers = 1
	}
	o.QueueSize = max(o.QueueSize, o.MaxBatch*o.Writers)
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

// Batcher queues calls and writes them in batches, through Options.Writers
// writers that each own a share of the connections: a batch is committed
// when it reaches MaxBatch calls or its first call has waited MaxDelay, with
// one store.RecordCalls (one transaction) per batch. A connection's calls
// are committed in the order they were added.
type Batcher struct {
	writers []*writer
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
	share := opts
	share.QueueSize = opts.QueueSize / opts.Writers // at least MaxBatch: see withDefaults
	b := &Batcher{writers: make([]*writer, opts.Writers)}
	for i := range b.writers {
		b.writers[i] = newWriter(store, apply, share)
	}
	return b
}

// Add queues one call, giving it an id if it has none. It blocks while the
// queue is full, and returns ctx's error if ctx ends first.
func (b *Batcher) Add(ctx context.Context, call *tether.Call) error {
	return b.AddMany(ctx, []*tether.Call{call})
}

// AddMany queues calls, all or none (more than a writer's share of
// Options.QueueSize go to it in parts), giving each an id if it has none. It blocks while the queue is
// full, and returns ctx's error if ctx ends first.
func (b *Batcher) AddMany(ctx context.Context, calls []*tether.Call) error {
	for i, w := range b.writers {
		if !w.enter() {
			b.leave(i)
			return ErrClosed
		}
	}
	defer b.leave(len(b.writers))
	// Ids are given in the order of calls, before they are spread over the
	// writers: the call log lists calls by id.
	for _, c := range calls {
		if c.ID == "" {
			c.ID = tether.NewID(tether.PrefixCall)
		}
	}
	shares := b.spread(calls)
	for {
		part, empty := b.nextPart(shares)
		if empty {
			return nil
		}
		if err := b.reserve(ctx, part); err != nil {
			return err
		}
		for i, calls := range part {
			if len(calls) > 0 {
				b.writers[i].enqueue(calls)
			}
		}
	}
}

// leave ends the Add in flight on the first n writers.
func (b *Batcher) leave(n int) {
	for _, w := range b.writers[:n] {
		w.adders.Done()
	}
}

// spread gives each call to the writer of its connection (calls without
// one to the first), keeping their order.
func (b *Batcher) spread(calls []*tether.Call) [][]*tether.Call {
	shares := make([][]*tether.Call, len(b.writers))
	if len(b.writers) == 1 {
		shares[0] = calls
		return shares
	}
	for _, c := range calls {
		i := 0
		if c.ConnectionID != nil {
			i = b.writerOf(*c.ConnectionID)
		}
		shares[i] = append(shares[i], c)
	}
	return shares
}

// writerOf returns the index of the writer of a connection's calls.
func (b *Batcher) writerOf(connectionID string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(connectionID))
	return int(h.Sum32() % uint32(len(b.writers)))
}

// nextPart takes from each writer's share as many calls as its queue can
// hold, and reports whether there were none left.
func (b *Batcher) nextPart(shares [][]*tether.Call) ([][]*tether.Call, bool) {
	part := make([][]*tether.Call, len(shares))
	empty := true
	for i, share := range shares {
		n := min(len(share), b.writers[i].opts.QueueSize)
		part[i], shares[i] = share[:n], share[n:]
		empty = empty && n == 0
	}
	return part, empty
}

// reserve takes queue space for a part in every writer, in writer order (so
// two AddMany never wait on each other in a cycle), or none.
func (b *Batcher) reserve(ctx context.Context, part [][]*tether.Call) error {
	for i, calls := range part {
		if len(calls) == 0 {
			continue
		}
		if err := b.writers[i].reserve(ctx, len(calls)); err != nil {
			for j, taken := range part[:i] {
				b.writers[j].space.Release(int64(len(taken)))
			}
			return err
		}
	}
	return nil
}

// Flush waits until every call added before it was written (or given up:
// then it says how many were lost), or ctx ends.
func (b *Batcher) Flush(ctx context.Context) error {
	points := make([]flushPoint, len(b.writers))
	for i, w := range b.writers { // every writer starts at once
		p, err := w.startFlush()
		if err != nil {
			return err
		}
		points[i] = p
	}
	var errs []error
	for i, w := range b.writers {
		if err := w.waitFlush(ctx, points[i]); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// Close stops accepting calls (Adds waiting for space return ErrClosed),
// writes everything queued, and returns when every writer has stopped. If
// ctx ends first, the writes in progress are cancelled, what is still queued
// is lost (and logged), and Close returns ctx's error. Nothing runs after
// Close returns.
func (b *Batcher) Close(ctx context.Context) error {
	errs := make([]error, len(b.writers))
	var wg sync.WaitGroup
	for i, w := range b.writers {
		wg.Go(func() { errs[i] = w.close(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Stats are the batcher's counters since it started, for metrics.
type Stats struct {
	Queued  uint64 // waiting to be written now
	Written uint64 // committed
	Lost    uint64 // given up after retries, or at a forced close
}

// Stats returns the current counters.
func (b *Batcher) Stats() Stats {
	var s Stats
	for _, w := range b.writers {
		ws := w.stats()
		s.Queued, s.Written, s.Lost = s.Queued+ws.Queued, s.Written+ws.Written, s.Lost+ws.Lost
	}
	return s
}
