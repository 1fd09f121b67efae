package calllog

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	tether "github.com/tetherhq/tether"
)

// partitionedStore is a store that keeps the call log in daily partitions
// (PostgreSQL), which must exist before their day comes.
type partitionedStore interface {
	EnsureCallPartitions(ctx context.Context, now time.Time) error
}

// Retention deletes calls older than the retention period
// (TETHER_CALL_LOG_RETENTION): at Start, then about hourly. A pass deletes in
// batches with a short pause between them, so that it never holds SQLite's
// single writer for long and the batcher's transactions slip in between; on
// PostgreSQL it first creates the coming days' partitions and drops the
// partitions wholly past retention.
type Retention struct {
	store     tether.CallStore
	retention time.Duration
	log       *slog.Logger

	// Fixed by NewRetention; tests shorten them.
	interval    time.Duration // between passes, give or take jitter
	jitter      time.Duration // the most a pass moves early or late, so instances spread out
	batchSize   int           // rows deleted per PruneCalls
	pause       time.Duration // between batches
	passTimeout time.Duration // bounds one pass; the next pass goes on where it stopped
	now         func() time.Time

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewRetention returns the retention service; Start runs it.
func NewRetention(store tether.CallStore, retention time.Duration, log *slog.Logger) *Retention {
	return &Retention{
		store:       store,
		retention:   retention,
		log:         log,
		interval:    time.Hour,
		jitter:      5 * time.Minute,
		batchSize:   5000,
		pause:       50 * time.Millisecond,
		passTimeout: 10 * time.Minute,
		now:         time.Now,
	}
}

// Start runs a pass now and then one about every hour, until Stop.
func (r *Retention) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for {
			r.pass(ctx)
			if !sleep(ctx, r.nextDelay()) {
				return
			}
		}
	}()
}

// Stop cancels the pass in progress (a batch being deleted is rolled back)
// and returns when nothing runs any more.
func (r *Retention) Stop() {
	r.mu.Lock()
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	r.wg.Wait()
}

// nextDelay is the interval, moved by up to jitter either way.
func (r *Retention) nextDelay() time.Duration {
	if r.jitter <= 0 {
		return r.interval
	}
	return r.interval - r.jitter + rand.N(2*r.jitter)
}

// pass prepares the coming partitions and prunes, logging the outcome.
func (r *Retention) pass(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, r.passTimeout)
	defer cancel()
	if p, ok := r.store.(partitionedStore); ok {
		if err := p.EnsureCallPartitions(ctx, r.now()); err != nil && ctx.Err() == nil {
			r.log.Warn("call log: cannot create partitions", "error", err)
		}
	}
	cutoff := tether.NewTime(r.now().Add(-r.retention))
	removed, err := r.prune(ctx, cutoff)
	switch {
	case err != nil && ctx.Err() == nil:
		r.log.Warn("call log retention failed", "removed", removed, "cutoff", cutoff, "error", err)
	case removed > 0:
		r.log.Info("call log retention", "removed", removed, "cutoff", cutoff)
	}
}

// prune deletes batch after batch until a batch comes back short: then
// nothing before cutoff is left.
func (r *Retention) prune(ctx context.Context, cutoff tether.Time) (int64, error) {
	var removed int64
	for {
		n, err := r.store.PruneCalls(ctx, cutoff, r.batchSize)
		removed += n
		if err != nil {
			return removed, err
		}
		if n < int64(r.batchSize) {
			return removed, nil
		}
		if !sleep(ctx, r.pause) {
			return removed, ctx.Err()
		}
	}
}
