package calllog

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// partitionedFake is a fakeStore with daily partitions.
type partitionedFake struct {
	*fakeStore
	ensure func(ctx context.Context, now time.Time) error
}

func (p partitionedFake) EnsureCallPartitions(ctx context.Context, now time.Time) error {
	return p.ensure(ctx, now)
}

type pruneCall struct {
	cutoff tether.Time
	limit  int
}

// newTestRetention returns a retention of 30 days whose clock stands still
// at now, which pauses 1ms between batches and passes.
func newTestRetention(store tether.CallStore, now time.Time) *Retention {
	r := NewRetention(store, 30*24*time.Hour, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.now = func() time.Time { return now }
	r.batchSize = 100
	r.pause = time.Millisecond
	r.interval, r.jitter = time.Hour, 0
	return r
}

func TestRetentionPrunesUntilNothingIsLeft(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	left := []int64{100, 100, 42}
	prunes := make(chan pruneCall, 10)
	ensured := make(chan time.Time, 10)
	store := partitionedFake{
		fakeStore: &fakeStore{pruneCalls: func(_ context.Context, cutoff tether.Time, limit int) (int64, error) {
			prunes <- pruneCall{cutoff, limit}
			n := left[0]
			left = left[1:]
			return n, nil
		}},
		ensure: func(_ context.Context, at time.Time) error { ensured <- at; return nil },
	}
	r := newTestRetention(store, now)
	r.Start()
	defer r.Stop()
	if at := receive(t, ensured); !at.Equal(now) {
		t.Errorf("partitions ensured for %v, want %v", at, now)
	}
	wantCutoff := tether.NewTime(now.Add(-30 * 24 * time.Hour))
	for i := range 3 {
		p := receive(t, prunes)
		if !p.cutoff.Equal(wantCutoff.Time) || p.limit != 100 {
			t.Errorf("prune %d: cutoff %v limit %d, want %v and 100", i, p.cutoff, p.limit, wantCutoff)
		}
	}
	r.Stop()
	if len(prunes) != 0 {
		t.Errorf("pruned again after a short batch (%d more calls)", len(prunes))
	}
}

func TestRetentionRunsAgainAfterItsInterval(t *testing.T) {
	passes := make(chan pruneCall, 100)
	store := &fakeStore{pruneCalls: func(_ context.Context, cutoff tether.Time, limit int) (int64, error) {
		select {
		case passes <- pruneCall{cutoff, limit}:
		default:
		}
		return 0, nil
	}}
	r := newTestRetention(store, time.Now())
	r.interval = time.Millisecond
	r.Start()
	defer r.Stop()
	receive(t, passes)
	receive(t, passes)
}

func TestRetentionStopsCleanly(t *testing.T) {
	var mu sync.Mutex
	calls, cancelled := 0, false
	started := make(chan struct{}, 1)
	store := &fakeStore{pruneCalls: func(ctx context.Context, _ tether.Time, _ int) (int64, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		started <- struct{}{}
		<-ctx.Done() // a long delete, cut short by Stop
		mu.Lock()
		cancelled = true
		mu.Unlock()
		return 0, ctx.Err()
	}}
	r := newTestRetention(store, time.Now())
	r.Start()
	receive(t, started)
	r.Stop()
	mu.Lock()
	defer mu.Unlock()
	if !cancelled || calls != 1 {
		t.Errorf("after Stop: cancelled=%v, %d prunes; want the one prune cancelled", cancelled, calls)
	}
}

func TestRetentionCanStopBeforeStart(t *testing.T) {
	r := newTestRetention(&fakeStore{}, time.Now())
	r.Stop() // nothing to stop; must not block
}

func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		var zero T
		return zero
	}
}
