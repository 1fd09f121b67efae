// Package bench measures Tether over HTTP: it generates realistic
// connections, loads endpoints with a fixed number of requests from a fixed
// number of keep-alive clients, and reports latency percentiles side by side
// with a bare net/http baseline served in the same run. `tether bench` wires
// it to a real installation; the smoke test runs it on a handful of
// connections. Nothing here asserts speed: it measures and reports.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Endpoint is one kind of request a benchmark sends.
type Endpoint struct {
	Name string
	// URL returns the URL of the i-th request, so that requests can vary
	// (a different connection each time) yet be the same from run to run.
	URL    func(i int) string
	Header http.Header
	// Goal is the p99 latency the endpoint must meet; zero for a baseline.
	Goal time.Duration
}

// Options shape a load run.
type Options struct {
	// Requests is how many measured requests each endpoint gets.
	Requests int
	// Warmup requests go to each endpoint first and are not measured: they
	// open the keep-alive connections and fill caches and pools.
	Warmup int
	// Concurrency is how many requests are in flight at once.
	Concurrency int
	// Rounds splits the requests of each endpoint into turns taken one
	// endpoint after the other, so that a burst of other work on the machine
	// slows every endpoint alike instead of one of them.
	Rounds int
	// MaxDuration bounds the measured time of each endpoint, so a slower
	// server than expected ends the run early (with fewer requests, which the
	// report shows) rather than running for hours.
	MaxDuration time.Duration
}

func (o Options) withDefaults() Options {
	if o.Concurrency < 1 {
		o.Concurrency = 1
	}
	if o.Rounds < 1 {
		o.Rounds = 1
	}
	if o.Requests < o.Rounds {
		o.Rounds = max(1, o.Requests)
	}
	if o.MaxDuration <= 0 {
		o.MaxDuration = time.Hour
	}
	return o
}

// NewClient returns the HTTP client every endpoint of a run is loaded with:
// keep-alive connections for each concurrent request, no proxy, no
// compression (the server does not compress either).
func NewClient(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			MaxIdleConns:        4 * concurrency,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// Run warms up every endpoint, then loads them in turns and returns one
// result per endpoint, in the order given. A failed request (transport error
// or an answer other than 200) is counted, not fatal; Run fails only when ctx
// ends.
func Run(ctx context.Context, client *http.Client, endpoints []Endpoint, opts Options) ([]Result, error) {
	opts = opts.withDefaults()
	results := make([]Result, len(endpoints))
	for i, ep := range endpoints {
		results[i].Endpoint = ep
		load(ctx, client, ep, 0, opts.Warmup, opts.Concurrency, opts.MaxDuration)
	}
	for round := range opts.Rounds {
		for i := range results {
			r := &results[i]
			budget := opts.MaxDuration - r.Elapsed
			if budget <= 0 {
				continue
			}
			first := opts.Warmup + r.Requests() // never repeat a warm-up request
			r.add(load(ctx, client, r.Endpoint, first, share(opts.Requests, opts.Rounds, round), opts.Concurrency, budget))
		}
	}
	for i := range results {
		slices.Sort(results[i].Latencies)
	}
	return results, ctx.Err()
}

// share is round's part of n requests split into rounds parts.
func share(n, rounds, round int) int {
	return n/rounds + btoi(round < n%rounds)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// batch is what one turn of one endpoint measured.
type batch struct {
	latencies    []time.Duration
	failures     int
	firstFailure error
	elapsed      time.Duration
	bodyBytes    int64 // of all successful answers
}

// load sends requests first to first+n-1 of ep from concurrency workers and
// stops early when the budget is spent or ctx ends.
func load(ctx context.Context, client *http.Client, ep Endpoint, first, n, concurrency int, budget time.Duration) batch {
	var (
		next  atomic.Int64
		mu    sync.Mutex
		total batch
		wg    sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(budget)
	for range min(concurrency, n) {
		wg.Go(func() {
			var own batch // merged once at the end, so workers never contend
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil || time.Now().After(deadline) {
					break
				}
				own.record(send(ctx, client, ep, first+i, time.Time{}))
			}
			mu.Lock()
			total.merge(own)
			mu.Unlock()
		})
	}
	wg.Wait()
	total.elapsed = time.Since(start)
	return total
}

// outcome is one request's measurement.
type outcome struct {
	latency time.Duration
	bytes   int64
	err     error
}

func (b *batch) record(o outcome) {
	if o.err != nil {
		if !errors.Is(o.err, context.Canceled) {
			b.failures++
			if b.firstFailure == nil {
				b.firstFailure = o.err
			}
		}
		return
	}
	b.latencies = append(b.latencies, o.latency)
	b.bodyBytes += o.bytes
}

func (b *batch) merge(o batch) {
	b.latencies = append(b.latencies, o.latencies...)
	b.failures += o.failures
	if b.firstFailure == nil {
		b.firstFailure = o.firstFailure
	}
	b.bodyBytes += o.bodyBytes
}

// send makes the i-th request of ep and times it until the whole answer is
// read, as a client would experience it: from due (the open loop's schedule)
// or, when due is zero, from now.
func send(ctx context.Context, client *http.Client, ep Endpoint, i int, due time.Time) outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ep.URL(i), nil)
	if err != nil {
		return outcome{err: err}
	}
	for name, values := range ep.Header {
		req.Header[name] = values
	}
	start := due
	if start.IsZero() {
		start = time.Now()
	}
	res, err := client.Do(req)
	if err != nil {
		return outcome{err: err}
	}
	n, err := io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	latency := time.Since(start)
	if err != nil {
		return outcome{err: fmt.Errorf("read answer of %s: %w", req.URL.Path, err)}
	}
	if res.StatusCode != http.StatusOK {
		return outcome{err: fmt.Errorf("GET %s: status %d", req.URL.RequestURI(), res.StatusCode)}
	}
	return outcome{latency: latency, bytes: n}
}
