package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/observe"
)

// The goals of reported calls (issue 3): outcomes committed per second
// through POST /v1/calls, sustained.
const (
	GoalReportsSQLite   = 30_000
	GoalReportsPostgres = 60_000
)

// ReportsOptions shape the reports benchmark.
type ReportsOptions struct {
	// Connections are created through the API, against the upstream; the
	// reported calls are spread evenly over them.
	Connections int
	// BatchSize is how many calls one POST /v1/calls reports (1,000, the
	// most the API takes).
	BatchSize int
	// WriteBatch is how many calls the baseline hands Store.RecordCalls at
	// once: calllog.DefaultMaxBatch, the batches the call log's writer takes
	// when calls queue faster than they commit.
	WriteBatch int
	// Clients post batches at once, each on a keep-alive connection.
	Clients int
	// Calls are reported over HTTP in each round; BaselineCalls are written
	// straight to the store in each round.
	Calls, BaselineCalls int
	// Rounds alternate the baseline and the HTTP phase, so that the growing
	// table and other work on the machine weigh on both alike; the memory of
	// each round shows whether it grows with the run's length.
	Rounds int
	// Goal is the committed calls per second the HTTP phase must sustain.
	Goal float64
	// DatabaseProcess names the database server's processes for the CPU
	// meter ("postgres"), or is empty.
	DatabaseProcess string
	Seed            uint64
	// Profile, when set, runs during the HTTP phase of the last round.
	Profile func() (stop func(), err error)
	// Progress receives one line per phase (default: discarded).
	Progress io.Writer
	// clock says when the reported calls end (default time.Now); tests set
	// it ahead so that the calls are surely newer than the connections.
	clock func() time.Time
}

// ReportsRound is one round: the baseline, then the HTTP phase.
type ReportsRound struct {
	// BaselineCalls are written with a no-op apply in BaselineTook (the
	// time inside Store.RecordCalls only), then as many again with a nil
	// apply, the bulk insert alone without loading any connection, in
	// InsertOnlyTook.
	BaselineCalls  int
	BaselineTook   time.Duration
	InsertOnlyTook time.Duration
	Calls          int           // reported over HTTP and accepted
	Accepted       time.Duration // from the first POST to the last 202
	Committed      time.Duration // from the first POST until all were committed
	Posts          Result        // latencies of the POSTs
	Memory         memoryPeaks   // of this process, sampled every 50ms
	CPU            CPUUse        // during the HTTP phase
}

// ReportsReport is what the reports benchmark measured.
type ReportsReport struct {
	Options     ReportsOptions
	Connections int
	Created     time.Duration
	BodySize    int // of one POST's JSON body, on average
	Mix         string
	Rounds      []ReportsRound
	Logged      int64 // report calls in the call log at the end
	Expected    int64 // what should be there: the HTTP calls and the baseline's
	CallLogErr  error
}

// RunReports measures reported calls end to end: batches of
// opts.BatchSize outcomes posted to POST /v1/calls by opts.Clients clients,
// counted once the call log has committed them (Tether.Flush), beside the
// raw rate of the store itself: Store.RecordCalls with the same batches
// built as the API builds them and an apply that changes nothing. def is the
// upstream's provider definition, as Tether loaded it.
func RunReports(ctx context.Context, t Tether, store tether.CallStore, def *tether.ProviderDefinition, opts ReportsOptions) (*ReportsReport, error) {
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	if opts.BatchSize < 1 || opts.WriteBatch < 1 || opts.Clients < 1 || opts.Rounds < 1 || opts.Connections < 1 {
		return nil, errors.New("reports: batch size, clients, rounds and connections must be at least 1")
	}
	if opts.clock == nil {
		opts.clock = time.Now
	}
	rep := &ReportsReport{Options: opts, Mix: reportMixText}
	client := NewClient(max(opts.Clients, 4))
	start := time.Now()
	ids, err := CreateConnections(ctx, client, t.URL, t.APIKey, def.Name, opts.Connections, 4)
	if err != nil {
		return nil, err
	}
	rep.Connections, rep.Created = len(ids), time.Since(start)
	fmt.Fprintf(progress, "created %d connections through the API in %s\n", len(ids), rep.Created.Round(time.Millisecond))
	if err := t.Flush(ctx); err != nil {
		return nil, err
	}
	before, err := t.CountCalls(ctx, tether.SourceReport)
	if err != nil {
		return nil, err
	}

	gen := newReportGen(opts.Seed, ids)
	sample, err := gen.body(opts.BatchSize, opts.clock())
	if err != nil {
		return nil, err
	}
	rep.BodySize = len(sample)
	// Each client generates its own calls, over all the connections.
	clientGens := make([]*reportGen, opts.Clients)
	for i := range clientGens {
		clientGens[i] = newReportGen(opts.Seed+uint64(i)+1, ids)
	}

	for round := range opts.Rounds {
		var r ReportsRound
		r.BaselineCalls, r.BaselineTook, err = baseline(ctx, store, def, gen, opts.BaselineCalls, opts.WriteBatch, opts.clock, noopApply)
		if err != nil {
			return nil, err
		}
		if _, r.InsertOnlyTook, err = baseline(ctx, store, def, gen, opts.BaselineCalls, opts.WriteBatch, opts.clock, nil); err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "round %d: the store wrote %d calls with a no-op apply at %.0f/s, and %d with none at %.0f/s\n", round+1,
			r.BaselineCalls, rate(r.BaselineCalls, r.BaselineTook), r.BaselineCalls, rate(r.BaselineCalls, r.InsertOnlyTook))
		if err := t.Flush(ctx); err != nil {
			return nil, err
		}
		var stopProfile func()
		if opts.Profile != nil && round == opts.Rounds-1 {
			if stopProfile, err = opts.Profile(); err != nil {
				return nil, err
			}
		}
		err := postReports(ctx, client, t, clientGens, opts, &r)
		if stopProfile != nil {
			stopProfile()
		}
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(progress, "round %d: %d calls over HTTP accepted in %s, committed in %s (%.0f/s), peak live heap %s\n", round+1, r.Calls,
			r.Accepted.Round(time.Millisecond), r.Committed.Round(time.Millisecond), rate(r.Calls, r.Committed), byteSize(int64(r.Memory.LiveHeap)))
		rep.Rounds = append(rep.Rounds, r)
		rep.Expected += int64(r.Calls + 2*r.BaselineCalls) // both baselines are in the call log
	}
	if err := t.Flush(ctx); err != nil {
		rep.CallLogErr = err
	} else if after, err := t.CountCalls(ctx, tether.SourceReport); err != nil {
		rep.CallLogErr = err
	} else {
		rep.Logged = after - before
	}
	return rep, nil
}

// noopApply changes nothing: with it, RecordCalls still locks and loads the
// connections of each batch, and writes none back.
func noopApply(*tether.Connection, []*tether.Call) ([]tether.Event, error) { return nil, nil }

// baseline writes n calls in batches straight to the store with apply, one batch after
// the other as the call log's single writer does, and returns the time spent
// inside RecordCalls (building the calls is not counted).
func baseline(ctx context.Context, store tether.CallStore, def *tether.ProviderDefinition, gen *reportGen, n, size int, clock func() time.Time,
	apply func(*tether.Connection, []*tether.Call) ([]tether.Event, error)) (int, time.Duration, error) {
	var took time.Duration
	written := 0
	for written < n {
		calls := make([]*tether.Call, min(size, n-written))
		now := clock()
		for i := range calls {
			calls[i] = gen.next(now).call(def)
		}
		start := time.Now()
		if err := store.RecordCalls(ctx, calls, apply); err != nil {
			return 0, 0, fmt.Errorf("baseline: record calls: %w", err)
		}
		took += time.Since(start)
		written += len(calls)
	}
	return written, took, nil
}

// postReports is the HTTP phase of a round: opts.Clients clients post
// opts.Calls calls in batches, then the phase waits until the call log has
// committed them all. The memory and CPU of this process are read meanwhile.
func postReports(ctx context.Context, client *http.Client, t Tether, gens []*reportGen, opts ReportsOptions, r *ReportsRound) error {
	batches := (opts.Calls + opts.BatchSize - 1) / opts.BatchSize
	meter, err := StartCPUMeter(opts.DatabaseProcess)
	if err != nil {
		return err
	}
	mem := startMemorySampler(50 * time.Millisecond)
	var (
		next     atomic.Int64
		mu       sync.Mutex
		posts    batch
		accepted atomic.Int64
		wg       sync.WaitGroup
	)
	start := time.Now()
	for _, gen := range gens[:min(len(gens), batches)] {
		wg.Go(func() {
			var own batch
			for {
				i := int(next.Add(1)) - 1
				if i >= batches || ctx.Err() != nil {
					break
				}
				body, err := gen.body(opts.BatchSize, opts.clock())
				if err != nil {
					own.record(outcome{err: err})
					continue
				}
				o, n := postBatch(ctx, client, t, body)
				own.record(o)
				accepted.Add(int64(n))
			}
			mu.Lock()
			posts.merge(own)
			mu.Unlock()
		})
	}
	wg.Wait()
	r.Accepted = time.Since(start)
	if err := t.Flush(ctx); err != nil {
		mem.stop()
		return err
	}
	r.Committed = time.Since(start)
	r.Memory = mem.stop()
	if r.CPU, err = meter.Stop(); err != nil {
		return err
	}
	r.Calls = int(accepted.Load())
	posts.elapsed = r.Accepted
	r.Posts.add(posts)
	slices.Sort(r.Posts.Latencies)
	if posts.failures > 0 {
		return fmt.Errorf("POST /v1/calls: %d of %d batches failed; the first: %w", posts.failures, batches, posts.firstFailure)
	}
	return ctx.Err()
}

// postBatch posts one batch and returns how many calls Tether accepted.
func postBatch(ctx context.Context, client *http.Client, t Tether, body []byte) (outcome, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.URL+"/v1/calls", bytes.NewReader(body))
	if err != nil {
		return outcome{err: err}, 0
	}
	req.Header.Set("Authorization", "Bearer "+t.APIKey)
	req.Header.Set("Content-Type", "application/json")
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return outcome{err: err}, 0
	}
	answer, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	latency := time.Since(start)
	if err != nil {
		return outcome{err: fmt.Errorf("read answer of POST /v1/calls: %w", err)}, 0
	}
	if res.StatusCode != http.StatusAccepted {
		return outcome{err: fmt.Errorf("POST /v1/calls: status %d: %.300s", res.StatusCode, answer)}, 0
	}
	var got struct {
		Data struct {
			Accepted int `json:"accepted"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer, &got); err != nil {
		return outcome{err: fmt.Errorf("POST /v1/calls: %w: %.300s", err, answer)}, 0
	}
	return outcome{latency: latency, bytes: int64(len(answer))}, got.Data.Accepted
}

// reportedCall is one outcome in the body of POST /v1/calls.
type reportedCall struct {
	ConnectionID string      `json:"connection_id"`
	Method       string      `json:"method"`
	Path         string      `json:"path"`
	StatusCode   *int        `json:"status_code"`
	DurationMS   int64       `json:"duration_ms"`
	StartedAt    tether.Time `json:"started_at"`
	Error        string      `json:"error,omitempty"`
}

// call is the call log entry Tether makes of rc (as monitor.Report does).
func (rc reportedCall) call(def *tether.ProviderDefinition) *tether.Call {
	x := observe.Exchange{
		Def: def, ConnectionID: rc.ConnectionID, Source: tether.SourceReport,
		Method: rc.Method, Path: rc.Path, StartedAt: rc.StartedAt.Time,
		Duration: time.Duration(rc.DurationMS) * time.Millisecond,
	}
	if rc.StatusCode != nil {
		x.StatusCode = *rc.StatusCode
	}
	if rc.Error != "" {
		x.Err = errors.New(rc.Error)
	}
	return observe.Call(x)
}

// reportMix is what an app reports: mostly successes, some failures of
// every kind the classifier knows. Permission and auth failures make the
// health engine ask for a probe or a re-verification, which the upstream
// answers with a success (rare: a real app that kept failing so would
// have been told to reinstall). share is in tenths of a percent.
var reportMix = []struct {
	share  int
	method string
	path   string
	status int // 0: no answer
	err    string
}{
	{938, "GET", "/orders?limit=50", 200, ""},
	{10, "POST", "/orders", 201, ""},
	{10, "GET", "/orders?limit=50", 429, ""},
	{20, "GET", "/orders?limit=50", 503, "upstream timed out"},
	{5, "GET", "/orders?limit=50", 0, "dial tcp: i/o timeout"},
	{10, "GET", "/orders/ord_000000", 404, ""},
	{5, "POST", "/orders", 422, "quantity must be positive"},
	{1, "GET", "/orders?limit=50", 403, ""},
	{1, "GET", "/inventory?per_page=100", 401, ""},
}

const reportMixText = "93.8 % 200, 1 % 201, 1 % 429 (successes); 2 % 503 and 0.5 % no answer (transient); 1 % 404 and 0.5 % 422 (request errors); 0.1 % 403 and 0.1 % 401 (confirmed by a probe or a re-verification, which succeed)"

// reportGen makes reported calls spread evenly over the connections, in a
// seeded order.
type reportGen struct {
	rng   *rand.Rand
	ids   []string
	order []int
	n     int
}

func newReportGen(seed uint64, ids []string) *reportGen {
	rng := rand.New(rand.NewPCG(seed, 4))
	return &reportGen{rng: rng, ids: ids, order: rng.Perm(len(ids))}
}

// next is a call that has just ended at now, as an app reporting its calls
// as it goes would report it: successive calls of a connection are newer,
// so its successes keep moving its last_healthy_at, which the health engine
// then writes.
func (g *reportGen) next(now time.Time) reportedCall {
	id := g.ids[g.order[g.n%len(g.order)]]
	g.n++
	pick := g.rng.IntN(1000)
	m := reportMix[0]
	for _, k := range reportMix {
		if pick < k.share {
			m = k
			break
		}
		pick -= k.share
	}
	duration := 20 + g.rng.IntN(400)
	rc := reportedCall{
		ConnectionID: id, Method: m.method, Path: m.path, Error: m.err,
		DurationMS: int64(duration),
		StartedAt:  tether.NewTime(now.Add(-time.Duration(duration) * time.Millisecond)),
	}
	if m.status != 0 {
		status := m.status
		if m.path == "/orders/ord_000000" {
			rc.Path = fmt.Sprintf("/orders/ord_%06d", g.rng.IntN(1_000_000))
		}
		rc.StatusCode = &status
	}
	return rc
}

// body encodes a body of POST /v1/calls with size calls that ended at now. Every body is new: calls that repeated
// earlier ones would leave the connections' health times as they were, and
// spare the health engine the writes a real app's calls cause.
func (g *reportGen) body(size int, now time.Time) ([]byte, error) {
	var body struct {
		Calls []reportedCall `json:"calls"`
	}
	body.Calls = make([]reportedCall, size)
	for i := range body.Calls {
		body.Calls[i] = g.next(now)
	}
	return json.Marshal(body)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Rate is the calls committed per second over every HTTP phase.
func (r *ReportsReport) Rate() float64 {
	n, d := 0, time.Duration(0)
	for _, round := range r.Rounds {
		n, d = n+round.Calls, d+round.Committed
	}
	return rate(n, d)
}

// BaselineRate is the store's own calls per second over every round.
func (r *ReportsReport) BaselineRate() float64 {
	n, d := 0, time.Duration(0)
	for _, round := range r.Rounds {
		n, d = n+round.BaselineCalls, d+round.BaselineTook
	}
	return rate(n, d)
}

// InsertOnlyRate is the store's calls per second with a nil apply, over
// every round.
func (r *ReportsReport) InsertOnlyRate() float64 {
	n, d := 0, time.Duration(0)
	for _, round := range r.Rounds {
		n, d = n+round.BaselineCalls, d+round.InsertOnlyTook
	}
	return rate(n, d)
}

// MetRate reports whether the sustained rate reached the goal, with every
// call in the call log.
func (r *ReportsReport) MetRate() bool {
	return r.Rate() >= r.Options.Goal && r.CallLogComplete()
}

// CallLogComplete reports whether the call log holds every reported call.
func (r *ReportsReport) CallLogComplete() bool {
	return r.CallLogErr == nil && r.Logged == r.Expected
}

// MemoryBounded reports whether the peak live heap of the last round stays
// within 25 % (plus 4 MiB) of the first round's: memory that grew with the
// run's length would not. The live heap is judged rather than the heap in
// use, which swings with the garbage collector's pacing.
func (r *ReportsReport) MemoryBounded() bool {
	if len(r.Rounds) < 2 {
		return true
	}
	first, last := r.Rounds[0].Memory.LiveHeap, r.Rounds[len(r.Rounds)-1].Memory.LiveHeap
	return float64(last) <= 1.25*float64(first)+4<<20
}

// Write writes the report's tables and verdicts (the run's header lines are
// the caller's).
func (r *ReportsReport) Write(w io.Writer) {
	o := r.Options
	fmt.Fprintf(w, "- Setup: %d connections created through `POST /v1/connections` in %s; calls spread evenly over them: %s\n",
		r.Connections, r.Created.Round(time.Millisecond), r.Mix)
	fmt.Fprintf(w, "- Load: %d rounds, each the baselines (%d calls each, straight to the store in batches of %d, one after the other like the call log's single writer) then %d calls over HTTP: %d clients posting batches of %d (%s bodies, generated as they go), each phase timed until the call log has committed every call\n\n",
		o.Rounds, o.BaselineCalls, o.WriteBatch, o.Calls, o.Clients, o.BatchSize, byteSize(int64(r.BodySize)))
	fmt.Fprintln(w, "| round | baseline: `Store.RecordCalls`, nil apply (insert only) | baseline: `Store.RecordCalls`, no-op apply | `POST /v1/calls`, until committed | accepted (last 202) | POST p50 | POST p99 | peak Go heap in use | peak live heap | peak RSS | CPU during the HTTP phase, in cores |")
	fmt.Fprintln(w, "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|")
	for i, round := range r.Rounds {
		fmt.Fprintf(w, "| %d | %.0f calls/s | %.0f calls/s | %.0f calls/s | %.0f calls/s | %s | %s | %s | %s | %s | %s |\n", i+1,
			rate(round.BaselineCalls, round.InsertOnlyTook), rate(round.BaselineCalls, round.BaselineTook),
			rate(round.Calls, round.Committed), rate(round.Calls, round.Accepted),
			millis(round.Posts.Percentile(50)), millis(round.Posts.Percentile(99)),
			byteSize(int64(round.Memory.Heap)), byteSize(int64(round.Memory.LiveHeap)), byteSize(int64(round.Memory.RSS)), round.CPU)
	}
	fmt.Fprintf(w, "\nCall log: %d report calls recorded during the run, %d expected (the HTTP phases' and the baselines'): **%s**\n\n",
		r.Logged, r.Expected, map[bool]string{true: "complete", false: "incomplete"}[r.CallLogComplete()])
	if r.CallLogErr != nil {
		fmt.Fprintf(w, "(counting failed: %v)\n\n", r.CallLogErr)
	}
	fmt.Fprintf(w, "- Reported calls: %.0f committed/s sustained over HTTP, goal ≥ %.0f/s: **%s** (the store alone: %.0f/s inserting, %.0f/s with a no-op apply)\n",
		r.Rate(), o.Goal, metOrMissed(r.MetRate()), r.InsertOnlyRate(), r.BaselineRate())
	var live, inUse, rss []string
	for _, round := range r.Rounds {
		live = append(live, byteSize(int64(round.Memory.LiveHeap)))
		inUse = append(inUse, byteSize(int64(round.Memory.Heap)))
		rss = append(rss, byteSize(int64(round.Memory.RSS)))
	}
	fmt.Fprintf(w, "- Memory, peak per round: live Go heap %s, Go heap in use %s, RSS %s: **%s**\n",
		strings.Join(live, " / "), strings.Join(inUse, " / "), strings.Join(rss, " / "),
		map[bool]string{true: "bounded (the live heap does not grow with the run)", false: "the live heap grows with the run"}[r.MemoryBounded()])
}
