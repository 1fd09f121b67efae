package bench

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RateOptions shape an open-loop run: requests are due on a fixed schedule,
// whatever the answers, and each one's latency counts from when it was due,
// so a slow answer cannot hide the requests that waited behind it (a closed
// loop would send fewer requests instead, hiding the slowness).
type RateOptions struct {
	// Workers send the requests, each on a keep-alive connection of its own
	// (default 64): a request due while every worker is busy waits for one,
	// and that wait counts in its latency, as in wrk2. A fixed set keeps a
	// stall of the server from opening connections without bound, which on
	// a shared 2-core machine made the load generator itself the bottleneck.
	Workers int
	// Rate is the requests per second each endpoint gets.
	Rate float64
	// Duration is the measured time of each endpoint, split into Rounds.
	Duration time.Duration
	// Warmup is an unmeasured time at Rate for each endpoint first.
	Warmup time.Duration
	// Rounds splits Duration into turns the endpoints take one after the
	// other, so that a burst of other work slows them alike.
	Rounds int
}

// RunAtRate loads every endpoint at opts.Rate, in turns, and returns one
// result per endpoint in the order given. Latency is from the time a request
// was due to having read its whole answer; Elapsed is the scheduled time, so
// Throughput is the rate actually offered. Failed requests are counted, not
// fatal; RunAtRate fails only when ctx ends. client should keep
// opts.Workers idle connections per host (NewClient(opts.Workers)).
func RunAtRate(ctx context.Context, client *http.Client, endpoints []Endpoint, opts RateOptions) ([]Result, error) {
	if opts.Rounds < 1 {
		opts.Rounds = 1
	}
	if opts.Workers < 1 {
		opts.Workers = DefaultRateWorkers
	}
	results := make([]Result, len(endpoints))
	for i, ep := range endpoints {
		results[i].Endpoint = ep
		if opts.Warmup > 0 {
			loadAtRate(ctx, client, ep, 0, opts.Rate, opts.Warmup, opts.Workers)
		}
	}
	turn := opts.Duration / time.Duration(opts.Rounds)
	// Requests are numbered on from the warm-up, so none is repeated.
	for range opts.Rounds {
		for i := range results {
			r := &results[i]
			first := int(opts.Rate*opts.Warmup.Seconds()) + 1 + r.Requests()
			r.add(loadAtRate(ctx, client, r.Endpoint, first, opts.Rate, turn, opts.Workers))
		}
	}
	for i := range results {
		slices.Sort(results[i].Latencies)
	}
	return results, ctx.Err()
}

// DefaultRateWorkers is RateOptions.Workers when unset.
const DefaultRateWorkers = 64

// loadAtRate sends requests first, first+1, ... of ep for d, request k due at
// k/rate seconds from the start, from workers goroutines that each take the
// next request, wait until it is due and send it; it returns when the last
// answer is in.
func loadAtRate(ctx context.Context, client *http.Client, ep Endpoint, first int, rate float64, d time.Duration, workers int) batch {
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = 1
	}
	n := int64(d / interval)
	var (
		mu    sync.Mutex
		total batch
		wg    sync.WaitGroup
		next  atomic.Int64
	)
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for k := next.Add(1) - 1; k < n && ctx.Err() == nil; k = next.Add(1) - 1 {
				due := start.Add(time.Duration(k) * interval)
				if wait := time.Until(due); wait > 0 {
					sleep(ctx, wait)
				}
				o := send(ctx, client, ep, first+int(k), due)
				mu.Lock()
				total.record(o)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	total.elapsed = time.Duration(n) * interval
	return total
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
