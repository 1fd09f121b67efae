package bench

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"
)

// RateOptions shape an open-loop run: requests are sent on a fixed schedule,
// whatever the answers, so a slow answer delays nothing but itself (a closed
// loop would send fewer requests instead, hiding the slowness).
type RateOptions struct {
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
// result per endpoint in the order given. Latency is from sending a request
// to having read its whole answer; Elapsed is the scheduled time, so
// Throughput is the rate actually offered. Failed requests are counted, not
// fatal; RunAtRate fails only when ctx ends.
func RunAtRate(ctx context.Context, client *http.Client, endpoints []Endpoint, opts RateOptions) ([]Result, error) {
	if opts.Rounds < 1 {
		opts.Rounds = 1
	}
	results := make([]Result, len(endpoints))
	for i, ep := range endpoints {
		results[i].Endpoint = ep
		if opts.Warmup > 0 {
			loadAtRate(ctx, client, ep, 0, opts.Rate, opts.Warmup)
		}
	}
	turn := opts.Duration / time.Duration(opts.Rounds)
	// Requests are numbered on from the warm-up, so none is repeated.
	for range opts.Rounds {
		for i := range results {
			r := &results[i]
			first := int(opts.Rate*opts.Warmup.Seconds()) + 1 + r.Requests()
			r.add(loadAtRate(ctx, client, r.Endpoint, first, opts.Rate, turn))
		}
	}
	for i := range results {
		slices.Sort(results[i].Latencies)
	}
	return results, ctx.Err()
}

// loadAtRate sends requests first, first+1, ... of ep at rate per second for
// d, each from its own goroutine, and waits for the last answer. When the
// dispatcher wakes up late (timers are coarse, the CPU busy), it sends every
// request that is due at once, so the schedule holds on average.
func loadAtRate(ctx context.Context, client *http.Client, ep Endpoint, first int, rate float64, d time.Duration) batch {
	interval := time.Duration(float64(time.Second) / rate)
	if interval <= 0 {
		interval = 1
	}
	n := int(d / interval)
	var (
		mu    sync.Mutex
		total batch
		wg    sync.WaitGroup
	)
	start := time.Now()
	for sent := 0; sent < n && ctx.Err() == nil; {
		due := min(n, int(time.Since(start)/interval)+1)
		for ; sent < due; sent++ {
			i := first + sent
			wg.Go(func() {
				o := send(ctx, client, ep, i)
				mu.Lock()
				total.record(o)
				mu.Unlock()
			})
		}
		if wait := time.Until(start.Add(time.Duration(sent) * interval)); wait > 0 {
			sleep(ctx, wait)
		}
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
