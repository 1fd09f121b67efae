package bench

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"runtime/metrics"
	"time"
)

// The Go heap, read without stopping the world: in use (live objects and
// those not yet swept, runtime.MemStats.HeapAlloc), which swings with the
// garbage collector's pacing up to about twice the live heap, and live as of
// the last collection, which shows what the program holds.
const (
	heapMetric     = "/memory/classes/heap/objects:bytes"
	liveHeapMetric = "/gc/heap/live:bytes"
)

// memoryPeaks are the highest readings of a memorySampler.
type memoryPeaks struct {
	Heap, LiveHeap, RSS uint64
}

// memorySampler reads this process's Go heap and resident set size every
// interval and keeps the peaks.
type memorySampler struct {
	done    chan struct{}
	stopped chan struct{}
	peaks   memoryPeaks
}

func startMemorySampler(every time.Duration) *memorySampler {
	s := &memorySampler{done: make(chan struct{}), stopped: make(chan struct{})}
	go func() {
		defer close(s.stopped)
		sample := []metrics.Sample{{Name: heapMetric}, {Name: liveHeapMetric}}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				s.peaks.Heap = max(s.peaks.Heap, sample[0].Value.Uint64())
			}
			if sample[1].Value.Kind() == metrics.KindUint64 {
				s.peaks.LiveHeap = max(s.peaks.LiveHeap, sample[1].Value.Uint64())
			}
			if m, err := ProcessMemory(os.Getpid()); err == nil {
				s.peaks.RSS = max(s.peaks.RSS, m.RSS)
			}
			select {
			case <-tick.C:
			case <-s.done:
				return
			}
		}
	}()
	return s
}

// stop ends the sampling and returns the peaks.
func (s *memorySampler) stop() memoryPeaks {
	close(s.done)
	<-s.stopped
	return s.peaks
}

// CallCounter counts the call log's entries of a source with one query on
// db, a store's pool ((*sqlstore.Store).DB()): the store has no count of its
// own, and listing a million calls page by page would take longer than the
// benchmark.
func CallCounter(db *sql.DB) func(ctx context.Context, source string) (int64, error) {
	return func(ctx context.Context, source string) (int64, error) {
		var n int64
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM call_logs WHERE source = $1", source).Scan(&n); err != nil {
			return 0, fmt.Errorf("count %s calls: %w", source, err)
		}
		return n, nil
	}
}
