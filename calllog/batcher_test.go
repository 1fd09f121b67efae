package calllog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// fakeStore is a tether.CallStore whose methods are function fields.
type fakeStore struct {
	recordCalls func(ctx context.Context, calls []*tether.Call, apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error
	pruneCalls  func(ctx context.Context, cutoff tether.Time, limit int) (int64, error)
}

func (f *fakeStore) RecordCalls(ctx context.Context, calls []*tether.Call, apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
	return f.recordCalls(ctx, calls, apply)
}

func (f *fakeStore) Calls(context.Context, tether.CallFilter) ([]*tether.Call, bool, error) {
	return nil, false, errors.New("not implemented")
}

func (f *fakeStore) PruneCalls(ctx context.Context, cutoff tether.Time, limit int) (int64, error) {
	return f.pruneCalls(ctx, cutoff, limit)
}

// batchRecorder is a store that sends every batch it is asked to record to
// batches, and records it unless fail says otherwise.
type batchRecorder struct {
	batches chan []*tether.Call
	fail    func(attempt int) error // nil: every attempt succeeds
	mu      sync.Mutex
	tries   int
}

func newBatchRecorder() *batchRecorder {
	return &batchRecorder{batches: make(chan []*tether.Call, 100)}
}

func (r *batchRecorder) store() *fakeStore {
	return &fakeStore{recordCalls: func(_ context.Context, calls []*tether.Call, _ func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		r.mu.Lock()
		r.tries++
		attempt := r.tries
		r.mu.Unlock()
		r.batches <- slices.Clone(calls)
		if r.fail != nil {
			return r.fail(attempt)
		}
		return nil
	}}
}

// next waits for the next batch the store was asked to record.
func (r *batchRecorder) next(t *testing.T) []*tether.Call {
	t.Helper()
	select {
	case batch := <-r.batches:
		return batch
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a batch")
		return nil
	}
}

func noApply(*tether.Connection, []*tether.Call) ([]tether.Event, error) { return nil, nil }

func newCalls(n int) []*tether.Call {
	calls := make([]*tether.Call, n)
	for i := range calls {
		calls[i] = &tether.Call{ID: tether.NewID(tether.PrefixCall), Source: tether.SourceProxy, Path: fmt.Sprintf("/orders/%d", i)}
	}
	return calls
}

func ids(calls []*tether.Call) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.ID
	}
	return out
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func closeBatcher(t *testing.T, b *Batcher) {
	t.Helper()
	if err := b.Close(testContext(t)); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// With a MaxDelay of an hour, only a full batch (or Flush) can be written.
func TestFullBatchIsWrittenAtOnce(t *testing.T) {
	rec := newBatchRecorder()
	b := newBatcher(rec.store(), noApply, Options{MaxBatch: 5, MaxDelay: time.Hour}, time.Hour)
	defer closeBatcher(t, b)
	calls := newCalls(12)
	if err := b.AddMany(testContext(t), calls); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got, want := ids(rec.next(t)), ids(calls[i*5:i*5+5]); !slices.Equal(got, want) {
			t.Fatalf("batch %d = %v, want %v", i, got, want)
		}
	}
	if err := b.Flush(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if got, want := ids(rec.next(t)), ids(calls[10:]); !slices.Equal(got, want) {
		t.Fatalf("flushed batch = %v, want %v", got, want)
	}
}

// A batch that does not fill up is written once its first call has waited
// MaxDelay.
func TestPartialBatchIsWrittenAfterMaxDelay(t *testing.T) {
	rec := newBatchRecorder()
	b := New(rec.store(), noApply, Options{MaxBatch: 1000, MaxDelay: 10 * time.Millisecond})
	defer closeBatcher(t, b)
	calls := newCalls(3)
	for _, c := range calls {
		if err := b.Add(testContext(t), c); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(rec.next(t)); !slices.Equal(got, ids(calls)) {
		t.Fatalf("batch = %v, want %v", got, ids(calls))
	}
}

// Calls added one by one wake the writer when they fill a batch, though its
// timer (an hour here) is running.
func TestBatchFilledCallByCallIsWrittenAtOnce(t *testing.T) {
	rec := newBatchRecorder()
	b := newBatcher(rec.store(), noApply, Options{MaxBatch: 3, MaxDelay: time.Hour}, time.Hour)
	defer closeBatcher(t, b)
	calls := newCalls(3)
	for _, c := range calls {
		if err := b.Add(testContext(t), c); err != nil {
			t.Fatal(err)
		}
		// Give the writer time to take in each call and go back to its
		// timer, so that only the batch being full can wake it.
		time.Sleep(20 * time.Millisecond)
	}
	if got := ids(rec.next(t)); !slices.Equal(got, ids(calls)) {
		t.Fatalf("batch = %v, want %v", got, ids(calls))
	}
}

// A call added while the writer is busy with a batch is written after its
// own MaxDelay, with no further call to wake the writer.
func TestCallAddedDuringAWriteIsWrittenAfterMaxDelay(t *testing.T) {
	release := make(chan struct{})
	rec := newBatchRecorder()
	store := rec.store()
	record := store.recordCalls
	var first sync.Once
	store.recordCalls = func(ctx context.Context, calls []*tether.Call, apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		err := record(ctx, calls, apply)
		first.Do(func() { <-release })
		return err
	}
	b := New(store, noApply, Options{MaxBatch: 1000, MaxDelay: 10 * time.Millisecond})
	defer closeBatcher(t, b)
	calls := newCalls(2)
	if err := b.Add(testContext(t), calls[0]); err != nil {
		t.Fatal(err)
	}
	rec.next(t) // the writer is now held inside the first batch
	if err := b.Add(testContext(t), calls[1]); err != nil {
		t.Fatal(err)
	}
	close(release)
	if got := ids(rec.next(t)); !slices.Equal(got, ids(calls[1:])) {
		t.Fatalf("second batch = %v, want %v", got, ids(calls[1:]))
	}
}

func TestMaxDelayIsCapped(t *testing.T) {
	b := New(newBatchRecorder().store(), noApply, Options{MaxDelay: time.Minute})
	defer closeBatcher(t, b)
	if b.writers[0].opts.MaxDelay != MaxDelayLimit {
		t.Errorf("MaxDelay = %v, want it capped at %v", b.writers[0].opts.MaxDelay, MaxDelayLimit)
	}
}

func TestAddGivesCallsIDs(t *testing.T) {
	rec := newBatchRecorder()
	b := New(rec.store(), noApply, Options{})
	defer closeBatcher(t, b)
	call := &tether.Call{Source: tether.SourceReport}
	if err := b.Add(testContext(t), call); err != nil {
		t.Fatal(err)
	}
	if !tether.HasPrefix(call.ID, tether.PrefixCall) {
		t.Errorf("call id = %q, want a call_ id", call.ID)
	}
}

func TestApplyIsPassedToTheStore(t *testing.T) {
	applied := make(chan int, 1)
	apply := func(*tether.Connection, []*tether.Call) ([]tether.Event, error) { applied <- 1; return nil, nil }
	store := &fakeStore{recordCalls: func(_ context.Context, _ []*tether.Call, apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		_, err := apply(&tether.Connection{}, nil)
		return err
	}}
	b := New(store, apply, Options{})
	defer closeBatcher(t, b)
	if err := b.AddMany(testContext(t), newCalls(1)); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(testContext(t)); err != nil {
		t.Fatal(err)
	}
	if len(applied) != 1 {
		t.Error("the store was not given the apply function")
	}
}

// blockedStore is a store whose RecordCalls waits until release is closed.
func blockedStore(started chan<- []*tether.Call, release <-chan struct{}) *fakeStore {
	return &fakeStore{recordCalls: func(ctx context.Context, calls []*tether.Call, _ func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		started <- calls
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}}
}

// fillQueue returns a batcher with a queue of 4 whose store blocks: one
// batch of 2 is being written and 2 calls wait, so the queue is full.
func fillQueue(t *testing.T, release <-chan struct{}) *Batcher {
	t.Helper()
	started := make(chan []*tether.Call, 10)
	b := newBatcher(blockedStore(started, release), noApply, Options{MaxBatch: 2, MaxDelay: time.Hour, QueueSize: 4}, time.Hour)
	if err := b.AddMany(testContext(t), newCalls(2)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the first batch was not written")
	}
	if err := b.AddMany(testContext(t), newCalls(2)); err != nil {
		t.Fatal(err)
	}
	return b
}

// addInBackground adds a call and returns where its outcome arrives.
func addInBackground(ctx context.Context, b *Batcher) <-chan error {
	result := make(chan error, 1)
	go func() { result <- b.Add(ctx, &tether.Call{}) }()
	return result
}

func expectBlocked(t *testing.T, result <-chan error) {
	t.Helper()
	select {
	case err := <-result:
		t.Fatalf("Add returned (%v) while the queue was full", err)
	case <-time.After(50 * time.Millisecond): // a blocked Add cannot be observed otherwise
	}
}

func expectResult(t *testing.T, result <-chan error, want error) {
	t.Helper()
	select {
	case err := <-result:
		if !errors.Is(err, want) {
			t.Fatalf("Add returned %v, want %v", err, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Add still blocked")
	}
}

func TestAddBlocksWhileTheQueueIsFull(t *testing.T) {
	release := make(chan struct{})
	b := fillQueue(t, release)
	defer closeBatcher(t, b)

	ctx, cancel := context.WithCancel(context.Background())
	blocked := addInBackground(ctx, b)
	expectBlocked(t, blocked)
	cancel()
	expectResult(t, blocked, context.Canceled)

	waiting := addInBackground(context.Background(), b)
	expectBlocked(t, waiting)
	close(release) // the batch commits: its space is free again
	expectResult(t, waiting, nil)
}

func TestCloseReleasesBlockedAdds(t *testing.T) {
	release := make(chan struct{})
	b := fillQueue(t, release)
	blocked := addInBackground(context.Background(), b)
	expectBlocked(t, blocked)
	closed := make(chan error, 1)
	go func() { closed <- b.Close(testContext(t)) }()
	expectResult(t, blocked, ErrClosed)
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestCloseWritesEverything(t *testing.T) {
	var mu sync.Mutex
	var written []string
	var sizes []int
	store := &fakeStore{recordCalls: func(_ context.Context, calls []*tether.Call, _ func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		mu.Lock()
		defer mu.Unlock()
		written = append(written, ids(calls)...)
		sizes = append(sizes, len(calls))
		return nil
	}}
	b := newBatcher(store, noApply, Options{MaxBatch: 1000, MaxDelay: time.Hour}, time.Hour)
	calls := newCalls(2500)
	var wg sync.WaitGroup
	for part := range slices.Chunk(calls, 100) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.AddMany(testContext(t), part); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := b.Close(testContext(t)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(written)
	want := ids(calls)
	slices.Sort(want)
	if !slices.Equal(written, want) {
		t.Errorf("%d calls written, want all %d once", len(written), len(calls))
	}
	if !slices.Equal(sizes, []int{1000, 1000, 500}) {
		t.Errorf("batch sizes %v, want [1000 1000 500]", sizes)
	}
	if err := b.Add(testContext(t), &tether.Call{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Add after Close: %v, want ErrClosed", err)
	}
	if err := b.Flush(testContext(t)); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v, want ErrClosed", err)
	}
}

func TestCloseGivesUpWhenItsContextEnds(t *testing.T) {
	started := make(chan []*tether.Call, 10)
	b := New(blockedStore(started, nil), noApply, Options{})
	if err := b.AddMany(testContext(t), newCalls(3)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	closed := make(chan error, 1)
	go func() { closed <- b.Close(ctx) }()
	<-started // the batch is being written, and never finishes by itself
	cancel()
	if err := <-closed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
	for _, w := range b.writers {
		select {
		case <-w.stopped:
		default:
			t.Fatal("a writer still runs after Close returned")
		}
	}
}

func TestFailedBatchIsRetried(t *testing.T) {
	rec := newBatchRecorder()
	rec.fail = func(attempt int) error {
		if attempt <= 2 {
			return errors.New("database unavailable")
		}
		return nil
	}
	b := New(rec.store(), noApply, Options{RetryDelay: time.Millisecond})
	defer closeBatcher(t, b)
	calls := newCalls(3)
	if err := b.AddMany(testContext(t), calls); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(testContext(t)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	for attempt := range 3 {
		if got := ids(rec.next(t)); !slices.Equal(got, ids(calls)) {
			t.Fatalf("attempt %d wrote %v, want %v", attempt, got, ids(calls))
		}
	}
}

func TestBatchIsLostOnlyAfterRetries(t *testing.T) {
	rec := newBatchRecorder()
	rec.fail = func(int) error { return errors.New("disk full") }
	b := New(rec.store(), noApply, Options{RetryDelay: time.Millisecond})
	if err := b.AddMany(testContext(t), newCalls(3)); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(testContext(t)); err == nil {
		t.Fatal("Flush reported success for a lost batch")
	}
	if len(rec.batches) != 1+retries {
		t.Errorf("%d attempts, want %d", len(rec.batches), 1+retries)
	}
	if err := b.Close(testContext(t)); err == nil {
		t.Error("Close did not report the lost calls")
	}
}

// Many goroutines adding at once lose nothing (run with -race).
func TestConcurrentAddsAreAllWritten(t *testing.T) {
	var mu sync.Mutex
	written := map[string]int{}
	store := &fakeStore{recordCalls: func(_ context.Context, calls []*tether.Call, _ func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) error {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range calls {
			written[c.ID]++
		}
		return nil
	}}
	b := New(store, noApply, Options{MaxBatch: 7, QueueSize: 20, MaxDelay: time.Millisecond})
	defer closeBatcher(t, b)
	const adders, each = 8, 50
	var wg sync.WaitGroup
	for range adders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				if err := b.Add(testContext(t), &tether.Call{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := b.Flush(testContext(t)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(written) != adders*each {
		t.Errorf("%d calls written, want %d", len(written), adders*each)
	}
	for id, n := range written {
		if n != 1 {
			t.Errorf("call %s written %d times", id, n)
		}
	}
}
