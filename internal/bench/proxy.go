package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	tether "github.com/tetherhq/tether"
)

// The proxy's goals (issue 3), each against a baseline measured in the same
// run.
const (
	// GoalProxyThroughputShare: Tether's proxy must answer at least this
	// share of the requests per second of a bare httputil.ReverseProxy to the
	// same upstream, both loaded in a closed loop until saturated.
	GoalProxyThroughputShare = 0.75
	// GoalProxyAddedP99: at half of the proxy's peak rate, Tether's p99 may
	// exceed the p99 of requests sent straight to the upstream by this much.
	GoalProxyAddedP99 = 2 * time.Millisecond
)

// Tether is a running Tether, as the proxy and reports benchmarks see it.
type Tether struct {
	// URL is its base URL, e.g. "http://127.0.0.1:8080".
	URL    string
	APIKey string
	// Flush waits until every call Tether has queued for the call log so far
	// is committed (calllog.Batcher.Flush).
	Flush func(context.Context) error
	// CountCalls counts the call log's entries of a source (CountCalls).
	CountCalls func(ctx context.Context, source string) (int64, error)
}

// ProxyOptions shape the proxy benchmark.
type ProxyOptions struct {
	// Connections are created through the API, against the upstream, and
	// the proxied requests take turns among them.
	Connections int
	// Path is what every request asks of the upstream (with its query).
	Path string
	// Concurrency, Requests, Warmup, Rounds and MaxDuration shape the
	// closed-loop peak measurement (see Options).
	Concurrency, Requests, Warmup, Rounds int
	MaxDuration                           time.Duration
	// BareURL is a bare reverse proxy to the upstream served elsewhere (a
	// process of its own); empty, RunProxy serves one itself.
	BareURL string
	// RelayURL is a TCP relay to the upstream served elsewhere (a process of
	// its own, ServeTCPRelay); empty, RunProxy serves one itself.
	RelayURL string
	// ServerPIDs are the processes of Tether, the bare reverse proxy and the
	// TCP relay when they run apart, in that order, for the CPU meter and
	// their memory.
	ServerPIDs []int
	// ProfiledElsewhere says that a CPU profile is being recorded by Tether's
	// own process over the whole run (instead of by Profile).
	ProfiledElsewhere bool
	// RateShare is the share of the proxy's peak at which the open loop
	// runs (0.5); RateDuration its measured time per endpoint, RateWarmup
	// its warm-up per endpoint.
	RateShare                float64
	RateDuration, RateWarmup time.Duration
	// Rate, when positive, is the open loop's rate in requests/s instead of
	// RateShare of the peak: builds compared at the same rate although their
	// peaks differ.
	Rate float64
	// ProfileRequests are sent through Tether's proxy alone, in a closed
	// loop at Concurrency, while Profile's profile runs. Without Profile
	// there is no such phase.
	ProfileRequests int
	Profile         func() (stop func(), err error)
	// DatabaseProcess names the database server's processes for the CPU
	// meter ("postgres"), or is empty.
	DatabaseProcess string
	Seed            uint64
	// Progress receives one line per phase (default: discarded).
	Progress io.Writer
}

// ProxyReport is what the proxy benchmark measured.
type ProxyReport struct {
	Options     ProxyOptions
	Connections int
	Created     time.Duration // creating them through the API
	BodySize    int
	// Peak holds the closed-loop results: straight to the upstream, through
	// the bare reverse proxy, through Tether, through the TCP relay.
	Peak    []Result
	PeakCPU CPUUse
	// Rate is the open loop's rate (RateShare of Tether's peak), and AtRate
	// its results, in the same order as Peak.
	Rate    float64
	AtRate  []Result
	RateCPU CPUUse
	// Memory holds the peak resident sets of the processes of ServerPIDs
	// after the open loop (processes of their own only).
	Memory     []Memory
	Profiled   *Result // the profile phase, when there was one
	Sent       int64   // requests sent through Tether's proxy, warm-ups included
	Logged     int64   // proxy calls in the call log at the end
	Upstream   int64   // requests the upstream answered, all sources
	CallLogErr error   // why the count failed, if it did
}

// The positions of the four endpoints in ProxyReport.Peak and AtRate.
const (
	proxyDirect = iota
	proxyBare
	proxyTether
	proxyRelay
)

// RunProxy measures Tether's proxy (GET /v1/proxy/{connection_id}/...)
// beside a bare httputil.ReverseProxy, a TCP relay (the floor of any proxy
// in a process of its own) and the upstream itself: first the peak
// requests/s of each in a closed loop, then the latencies of each in an open
// loop at RateShare of Tether's peak. Tether must already have the upstream's
// provider definition (UpstreamProvider) and be allowed to call private
// addresses.
func RunProxy(ctx context.Context, t Tether, up *Upstream, opts ProxyOptions) (*ProxyReport, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	rep := &ProxyReport{Options: opts, BodySize: up.BodySize()}
	client := NewClient(max(opts.Concurrency, 8))
	start := time.Now()
	ids, err := CreateConnections(ctx, client, t.URL, t.APIKey, UpstreamIntegration, opts.Connections, 4)
	if err != nil {
		return nil, err
	}
	rep.Connections, rep.Created = len(ids), time.Since(start)
	fmt.Fprintf(progress, "created %d connections through the API in %s\n", len(ids), rep.Created.Round(time.Millisecond))

	bareURL := opts.BareURL
	if bareURL == "" {
		bare, err := NewReverseProxy(up.URL)
		if err != nil {
			return nil, err
		}
		defer bare.Close()
		bareURL = bare.URL
	}
	relayURL := opts.RelayURL
	if relayURL == "" {
		var stopRelay func()
		if relayURL, stopRelay, err = NewTCPRelay(up.URL); err != nil {
			return nil, err
		}
		defer stopRelay()
	}
	endpoints, sent := proxyEndpoints(t, up, bareURL, relayURL, ids, opts)
	if err := t.Flush(ctx); err != nil { // the credential tests' calls
		return nil, err
	}

	fmt.Fprintf(progress, "closed loop at %d clients: %d requests per endpoint\n", opts.Concurrency, opts.Requests)
	meter, err := StartCPUMeter(opts.DatabaseProcess, opts.ServerPIDs...)
	if err != nil {
		return nil, err
	}
	rep.Peak, err = Run(ctx, client, endpoints, Options{
		Requests: opts.Requests, Warmup: opts.Warmup, Concurrency: opts.Concurrency, Rounds: opts.Rounds, MaxDuration: opts.MaxDuration,
	})
	if err != nil {
		return nil, err
	}
	if rep.PeakCPU, err = meter.Stop(); err != nil {
		return nil, err
	}
	if err := t.Flush(ctx); err != nil {
		return nil, err
	}

	rep.Rate = opts.RateShare * rep.Peak[proxyTether].Throughput()
	if opts.Rate > 0 {
		rep.Rate = opts.Rate
	}
	if rep.Rate <= 0 {
		return nil, fmt.Errorf("no request through Tether's proxy succeeded: %w", rep.Peak[proxyTether].FirstFailure)
	}
	fmt.Fprintf(progress, "open loop at %.0f requests/s: %s per endpoint\n", rep.Rate, opts.RateDuration)
	if meter, err = StartCPUMeter(opts.DatabaseProcess, opts.ServerPIDs...); err != nil {
		return nil, err
	}
	rep.AtRate, err = RunAtRate(ctx, NewClient(DefaultRateWorkers), endpoints, RateOptions{
		Rate: rep.Rate, Duration: opts.RateDuration, Warmup: opts.RateWarmup, Rounds: opts.Rounds,
	})
	if err != nil {
		return nil, err
	}
	if rep.RateCPU, err = meter.Stop(); err != nil {
		return nil, err
	}
	for _, pid := range opts.ServerPIDs {
		m, err := ProcessMemory(pid)
		if err != nil {
			return nil, err
		}
		rep.Memory = append(rep.Memory, m)
	}

	if opts.Profile != nil && opts.ProfileRequests > 0 {
		fmt.Fprintf(progress, "profiling %d requests through Tether's proxy alone\n", opts.ProfileRequests)
		stop, err := opts.Profile()
		if err != nil {
			return nil, err
		}
		profiled, err := Run(ctx, client, endpoints[proxyTether:], Options{Requests: opts.ProfileRequests, Concurrency: opts.Concurrency})
		stop()
		if err != nil {
			return nil, err
		}
		rep.Profiled = &profiled[0]
	}

	rep.Sent, rep.Upstream = sent.Load(), up.Requests()
	rep.Logged, rep.CallLogErr = countLogged(ctx, t, rep.Sent)
	return rep, nil
}

// countLogged counts the proxy calls in the call log once they are all
// there, or after callLogGrace. The client has an answer a moment before
// the proxy's handler queues the call for the log, so a count taken right
// after the last answer can miss the last calls.
func countLogged(ctx context.Context, t Tether, sent int64) (int64, error) {
	deadline := time.Now().Add(callLogGrace)
	for {
		if err := t.Flush(ctx); err != nil {
			return 0, err
		}
		logged, err := t.CountCalls(ctx, tether.SourceProxy)
		if err != nil || logged >= sent || time.Now().After(deadline) {
			return logged, err
		}
		select {
		case <-ctx.Done():
			return logged, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// callLogGrace bounds the wait for the last proxied calls to reach the log.
const callLogGrace = 5 * time.Second

// proxyEndpoints are the four ways to the upstream's path: straight, through
// the bare reverse proxy at bareURL, through Tether's proxy, a different
// connection each request (in a seeded random order), and through the TCP
// relay at relayURL. sent counts the requests sent through Tether.
func proxyEndpoints(t Tether, up *Upstream, bareURL, relayURL string, ids []string, opts ProxyOptions) ([]Endpoint, *atomic.Int64) {
	key := http.Header{upstreamKeyHeader: {"bench-key-direct"}}
	order := rand.New(rand.NewPCG(opts.Seed, 3)).Perm(len(ids))
	sent := &atomic.Int64{}
	direct, bare, relay := up.URL+opts.Path, bareURL+opts.Path, relayURL+opts.Path
	return []Endpoint{
		{Name: "upstream, directly", URL: func(int) string { return direct }, Header: key},
		{Name: "bare httputil.ReverseProxy", URL: func(int) string { return bare }, Header: key},
		{
			Name: "Tether GET /v1/proxy/{connection_id}" + opts.Path,
			URL: func(i int) string {
				sent.Add(1)
				return t.URL + "/v1/proxy/" + ids[order[i%len(order)]] + opts.Path
			},
			Header: http.Header{"Authorization": {"Bearer " + t.APIKey}},
		},
		{Name: relayName, URL: func(int) string { return relay }, Header: key},
	}, sent
}

// relayName names the TCP relay's rows.
const relayName = "TCP relay (floor: a process hop, no HTTP)"

// ThroughputShare is Tether's peak requests/s over the bare reverse
// proxy's.
func (r *ProxyReport) ThroughputShare() float64 {
	bare := r.Peak[proxyBare].Throughput()
	if bare <= 0 {
		return 0
	}
	return r.Peak[proxyTether].Throughput() / bare
}

// addedP99 is the p99 of the endpoint at position of at the open loop's
// rate minus the p99 of the endpoint at position base.
func (r *ProxyReport) addedP99(of, base int) time.Duration {
	return r.AtRate[of].Percentile(99) - r.AtRate[base].Percentile(99)
}

// AddedP99 is Tether's p99 minus the upstream's own, at the open loop's
// rate: what the goal bounds.
func (r *ProxyReport) AddedP99() time.Duration { return r.addedP99(proxyTether, proxyDirect) }

// FloorP99 is the TCP relay's p99 minus the upstream's own, at the open
// loop's rate: what one more process in the path adds before any proxy work.
func (r *ProxyReport) FloorP99() time.Duration { return r.addedP99(proxyRelay, proxyDirect) }

// failed reports whether any measured request failed, which voids the
// verdicts.
func (r *ProxyReport) failed() error {
	for _, rs := range [][]Result{r.Peak, r.AtRate} {
		for _, res := range rs {
			if res.Failures > 0 {
				return fmt.Errorf("%s: %d requests failed; the first: %w", res.Endpoint.Name, res.Failures, res.FirstFailure)
			}
		}
	}
	return nil
}

// MetThroughput reports whether Tether's peak is at least
// GoalProxyThroughputShare of the bare reverse proxy's.
func (r *ProxyReport) MetThroughput() bool {
	return r.failed() == nil && r.ThroughputShare() >= GoalProxyThroughputShare
}

// MetAddedP99 reports whether Tether's p99 exceeds the upstream's by at most
// GoalProxyAddedP99 at the open loop's rate.
func (r *ProxyReport) MetAddedP99() bool {
	return r.failed() == nil && r.AddedP99() <= GoalProxyAddedP99
}

// CallLogComplete reports whether the call log holds exactly one proxy call
// per request sent through Tether.
func (r *ProxyReport) CallLogComplete() bool {
	return r.CallLogErr == nil && r.Logged == r.Sent
}

// Write writes the report's tables and verdicts (the run's header lines
// are the caller's).
func (r *ProxyReport) Write(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "- Setup: %d connections created through `POST /v1/connections` in %s; every request asks `%s` (a %s JSON answer)\n",
		r.Connections, r.Created.Round(time.Millisecond), o.Path, byteSize(int64(r.BodySize)))
	if o.BareURL != "" {
		fmt.Fprintf(w, "- Processes: Tether (`tether serve`) and the bare reverse proxy each run as a process of their own; the upstream and the load generator share the benchmark's process\n")
	} else {
		fmt.Fprintf(w, "- Processes: Tether, the bare reverse proxy, the upstream and the load generator share one process\n")
	}
	fmt.Fprintf(w, "\nPeak: closed loop, %d concurrent keep-alive clients; per endpoint %d warm-up requests, then %d measured in %d rounds taken in turn. CPU in cores on average: %s.\n\n",
		o.Concurrency, o.Warmup, o.Requests, o.Rounds, r.PeakCPU)
	WriteLoadTable(w, r.Peak)
	fmt.Fprintf(w, "\nLatency: open loop at %.0f requests/s (%.0f %% of Tether's peak) for each endpoint, %d workers on keep-alive connections, each request timed from when it was due (wrk2-style); %s warm-up, then %s measured in %d rounds taken in turn. CPU in cores on average: %s.\n\n",
		r.Rate, 100*r.Rate/r.Peak[proxyTether].Throughput(), DefaultRateWorkers, o.RateWarmup, o.RateDuration, o.Rounds, r.RateCPU)
	WriteLoadTable(w, r.AtRate)
	if len(r.Memory) >= 2 {
		fmt.Fprintf(w, "\nMemory after the open loop, peak resident set: Tether %s, the bare reverse proxy %s.\n",
			megabytes(r.Memory[0].Peak), megabytes(r.Memory[1].Peak))
	}
	if o.ProfiledElsewhere {
		fmt.Fprintf(w, "\nCPU profile: of the `tether serve` process, over the whole run.\n")
	}
	if r.Profiled != nil {
		fmt.Fprintf(w, "\nCPU profile: %d requests through Tether's proxy alone at %d clients (%.0f requests/s while profiled).\n",
			r.Profiled.Requests(), o.Concurrency, r.Profiled.Throughput())
	}
	fmt.Fprintf(w, "\nCall log: %d requests sent through Tether's proxy (warm-ups included), %d proxy calls in the call log after the last flush", r.Sent, r.Logged)
	if r.CallLogErr != nil {
		fmt.Fprintf(w, " (counting failed: %v)", r.CallLogErr)
	}
	fmt.Fprintf(w, "; the upstream answered %d requests in all: **%s**\n\n", r.Upstream, map[bool]string{true: "complete", false: "incomplete"}[r.CallLogComplete()])

	tetherPeak, barePeak := r.Peak[proxyTether], r.Peak[proxyBare]
	fmt.Fprintf(w, "- Throughput: Tether %.0f requests/s = %.2f × the bare reverse proxy's %.0f, goal ≥ %.2f ×: **%s**\n",
		tetherPeak.Throughput(), r.ThroughputShare(), barePeak.Throughput(), GoalProxyThroughputShare, metOrMissed(r.MetThroughput()))
	at := r.AtRate
	fmt.Fprintf(w, "- Added latency at %.0f requests/s: Tether p99 %s − upstream p99 %s = %s, goal ≤ %s: **%s** (vs the bare reverse proxy's p99 %s: %s; p50 %s vs %s and %s)\n",
		r.Rate, millis(at[proxyTether].Percentile(99)), millis(at[proxyDirect].Percentile(99)), millis(r.AddedP99()),
		millis(GoalProxyAddedP99), metOrMissed(r.MetAddedP99()),
		millis(at[proxyBare].Percentile(99)), signedMillis(r.addedP99(proxyTether, proxyBare)),
		millis(at[proxyTether].Percentile(50)), millis(at[proxyDirect].Percentile(50)), millis(at[proxyBare].Percentile(50)))
	fmt.Fprintf(w, "- The machine's floor at %.0f requests/s: the TCP relay's p99 %s − upstream p99 %s = %s; the bare reverse proxy's %s (what one more process in the path adds, without and with HTTP)\n",
		r.Rate, millis(at[proxyRelay].Percentile(99)), millis(at[proxyDirect].Percentile(99)), signedMillis(r.FloorP99()),
		signedMillis(r.addedP99(proxyBare, proxyDirect)))
	if err := r.failed(); err != nil {
		fmt.Fprintf(w, "- Not valid: %v\n", err)
	}
}

// WriteLoadTable writes results as a Markdown table without a goal column:
// the goals of the proxy compare rows with each other.
func WriteLoadTable(w io.Writer, results []Result) {
	fmt.Fprintln(w, "| endpoint | mean answer | requests | failed | p50 | p90 | p99 | max | req/s |")
	fmt.Fprintln(w, "|---|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %s | %d | %d | %s | %s | %s | %s | %.0f |\n",
			escapeCell(r.Endpoint.Name), byteSize(r.MeanAnswer()), r.Requests(), r.Failures,
			millis(r.Percentile(50)), millis(r.Percentile(90)), millis(r.Percentile(99)), millis(r.Max()), r.Throughput())
	}
}

// escapeCell makes text safe inside a Markdown table cell.
func escapeCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// signedMillis writes a latency difference with its sign.
func signedMillis(d time.Duration) string {
	if d >= 0 {
		return "+" + millis(d)
	}
	return "−" + millis(-d)
}

// WaitForCallLog is Tether.Flush for a Tether in another process: it waits
// until the call log's queue, as /metrics at baseURL reports it
// (tether_call_log_queued_calls), is empty.
func WaitForCallLog(baseURL string) func(context.Context) error {
	return func(ctx context.Context) error {
		for {
			queued, err := queuedCalls(ctx, baseURL)
			if err != nil {
				return err
			}
			if queued == 0 {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

// queuedCalls reads tether_call_log_queued_calls from /metrics.
func queuedCalls(ctx context.Context, baseURL string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	defer res.Body.Close()
	lines := bufio.NewScanner(res.Body)
	for lines.Scan() {
		if value, ok := strings.CutPrefix(lines.Text(), "tether_call_log_queued_calls "); ok {
			return strconv.ParseFloat(strings.TrimSpace(value), 64)
		}
	}
	if err := lines.Err(); err != nil {
		return 0, fmt.Errorf("read metrics: %w", err)
	}
	return 0, errors.New("/metrics has no tether_call_log_queued_calls")
}
