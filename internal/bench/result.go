package bench

import (
	"math"
	"time"
)

// Result is what a run measured for one endpoint.
type Result struct {
	Endpoint Endpoint
	// Latencies of the successful requests, sorted once the run is over.
	Latencies []time.Duration
	// Failures counts requests that got no 200 answer; FirstFailure says why
	// the first of them failed.
	Failures     int
	FirstFailure error
	// Elapsed is the wall time spent loading the endpoint, over all rounds.
	Elapsed time.Duration
	// BodyBytes is the size of all successful answers together.
	BodyBytes int64
}

func (r *Result) add(b batch) {
	r.Latencies = append(r.Latencies, b.latencies...)
	r.Failures += b.failures
	if r.FirstFailure == nil {
		r.FirstFailure = b.firstFailure
	}
	r.Elapsed += b.elapsed
	r.BodyBytes += b.bodyBytes
}

// Requests is how many measured requests were sent.
func (r Result) Requests() int { return len(r.Latencies) + r.Failures }

// Percentile returns the latency that p percent of the successful requests
// did not exceed (nearest rank), or zero when none succeeded.
func (r Result) Percentile(p float64) time.Duration {
	n := len(r.Latencies)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return r.Latencies[min(max(rank, 1), n)-1]
}

// MeanAnswer is the mean size of a successful answer, in bytes.
func (r Result) MeanAnswer() int64 {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.BodyBytes / int64(len(r.Latencies))
}

// Max is the slowest successful request.
func (r Result) Max() time.Duration { return r.Percentile(100) }

// Throughput is the requests per second the endpoint answered.
func (r Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests()) / r.Elapsed.Seconds()
}

// MetGoal reports whether the endpoint has a goal and every request
// succeeded within it at the 99th percentile.
func (r Result) MetGoal() bool {
	return r.Endpoint.Goal > 0 && r.Failures == 0 && len(r.Latencies) > 0 && r.Percentile(99) <= r.Endpoint.Goal
}
