package bench

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/api"
	"github.com/tetherhq/tether/calllog"
	"github.com/tetherhq/tether/catalog"
	"github.com/tetherhq/tether/connections"
	"github.com/tetherhq/tether/internal/sqlstore"
	"github.com/tetherhq/tether/monitor"
	"github.com/tetherhq/tether/outbound"
	"github.com/tetherhq/tether/probe"
	"github.com/tetherhq/tether/proxy"
)

// These tests run the proxy and reports benchmarks with tiny sizes against
// the real API, proxy, call log and health engine (wired as cmd/tether
// wires them), on both stores. They check what is counted, never speed.

// benchTether is a Tether wired as `tether serve` wires it, in front of an
// Upstream whose provider definition it loaded.
type benchTether struct {
	Tether
	store    *sqlstore.Store
	upstream *Upstream
	def      *tether.ProviderDefinition
}

func startTether(t *testing.T, store *sqlstore.Store) *benchTether {
	t.Helper()
	up := NewUpstream()
	t.Cleanup(up.Close)
	dir := t.TempDir()
	if err := WriteUpstreamProvider(dir, up.URL); err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	def, err := cat.Provider(UpstreamIntegration)
	if err != nil {
		t.Fatal(err)
	}
	v := newVault(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	client := outbound.New(outbound.Config{AllowPrivateNetworks: true})
	mon := monitor.New(store, cat, probe.New(store, cat, v, client, func(string) string { return "" }), monitor.Options{}, log)
	calls := calllog.New(store, mon.Apply, calllog.Options{Log: log})
	mon.Start(calls)
	mux := http.NewServeMux()
	api.Register(mux, api.Deps{
		Store: store, Catalog: cat, Connections: connections.New(store, cat, v, client, calls, log), Log: log, Version: "test",
		Proxy: proxy.New(store, cat, v, client, calls, log), Monitor: mon,
	})
	server := httptest.NewServer(mux)
	t.Cleanup(func() {
		server.Close()
		mon.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = calls.Close(ctx)
	})
	key, secret := tether.NewAPIKey("bench")
	if err := store.CreateAPIKey(context.Background(), key); err != nil {
		t.Fatal(err)
	}
	return &benchTether{
		Tether:   Tether{URL: server.URL, APIKey: secret, Flush: calls.Flush, CountCalls: CallCounter(store.DB())},
		store:    store,
		upstream: up,
		def:      def,
	}
}

func forEachStore(t *testing.T, fn func(t *testing.T, store *sqlstore.Store)) {
	for name, open := range map[string]func(t *testing.T) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres} {
		t.Run(name, func(t *testing.T) { fn(t, open(t)) })
	}
}

func TestProxyBenchmarkCountsEveryProxiedCall(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *sqlstore.Store) {
		tt := startTether(t, store)
		var profiled atomic.Bool
		rep, err := RunProxy(context.Background(), tt.Tether, tt.upstream, ProxyOptions{
			Connections: 5, Path: "/orders?limit=10",
			Concurrency: 2, Requests: 30, Warmup: 5, Rounds: 3,
			RateShare: 0.5, RateDuration: 300 * time.Millisecond, RateWarmup: 50 * time.Millisecond,
			ProfileRequests: 10,
			Profile: func() (func(), error) {
				profiled.Store(true)
				return func() {}, nil
			},
			Seed: 1,
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Connections != 5 || len(rep.Peak) != 4 || len(rep.AtRate) != 4 {
			t.Fatalf("%d connections, %d peak and %d open-loop results; want 5, 4, 4", rep.Connections, len(rep.Peak), len(rep.AtRate))
		}
		for _, r := range rep.Peak {
			checkResult(t, r, 30)
			if r.MeanAnswer() != int64(tt.upstream.BodySize()) {
				t.Errorf("%s: answers of %d bytes, want the upstream's %d", r.Endpoint.Name, r.MeanAnswer(), tt.upstream.BodySize())
			}
		}
		for _, r := range rep.AtRate {
			if r.Failures > 0 || r.Requests() == 0 || r.Throughput() <= 0 {
				t.Errorf("%s at %.0f/s: %d requests, %d failed (%v)", r.Endpoint.Name, rep.Rate, r.Requests(), r.Failures, r.FirstFailure)
			}
		}
		if !profiled.Load() || rep.Profiled == nil || rep.Profiled.Requests() != 10 {
			t.Errorf("the profile phase did not run its 10 requests: %+v", rep.Profiled)
		}
		// Every request through Tether is one proxy call in the log: the
		// warm-ups, both loops and the profile phase.
		want := int64(5 + 30 + rep.AtRate[proxyTether].Requests() + 10)
		if rep.Sent < want || !rep.CallLogComplete() {
			t.Errorf("sent %d through Tether (at least %d expected), %d proxy calls logged (%v): want all of them logged",
				rep.Sent, want, rep.Logged, rep.CallLogErr)
		}
		var out bytes.Buffer
		rep.Write(&out)
		for _, want := range []string{"- Throughput: ", "- Added latency at ", "**complete**", "| bare httputil.ReverseProxy |",
			"| " + relayName + " |", "- The machine's floor at "} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})
}

func TestReportsBenchmarkCountsCommittedCalls(t *testing.T) {
	forEachStore(t, func(t *testing.T, store *sqlstore.Store) {
		tt := startTether(t, store)
		rep, err := RunReports(context.Background(), tt.Tether, tt.store, tt.def, ReportsOptions{
			Connections: 20, BatchSize: 50, WriteBatch: 60, Clients: 2, Calls: 420, BaselineCalls: 120, Rounds: 2, Goal: 1, Seed: 1,
			clock: func() time.Time { return time.Now().Add(time.Minute) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Rounds) != 2 {
			t.Fatalf("%d rounds, want 2", len(rep.Rounds))
		}
		for i, r := range rep.Rounds {
			// 420 calls in batches of 50: 8 full batches and one of 50 too,
			// since every POST carries a whole batch.
			if r.Calls != 450 || r.BaselineCalls != 120 || r.Posts.Requests() != 9 || r.Posts.Failures > 0 {
				t.Errorf("round %d: %d calls over HTTP in %d posts (%d failed), %d in the baseline; want 450 in 9, 120",
					i+1, r.Calls, r.Posts.Requests(), r.Posts.Failures, r.BaselineCalls)
			}
			if r.Committed < r.Accepted || r.BaselineTook <= 0 || r.InsertOnlyTook <= 0 || r.Memory.Heap == 0 || r.Memory.RSS == 0 {
				t.Errorf("round %d: accepted after %v, committed after %v, baseline %v, memory %+v",
					i+1, r.Accepted, r.Committed, r.BaselineTook, r.Memory)
			}
		}
		if rep.Expected != 2*(450+2*120) || !rep.CallLogComplete() {
			t.Errorf("%d report calls logged (%v), want %d", rep.Logged, rep.CallLogErr, 2*(450+2*120))
		}
		// The reported calls reached the health engine: every connection's
		// last success is one of them (they end a minute ahead), not the
		// credential test that created it.
		list, _, err := tt.store.Connections(context.Background(), tether.ConnectionFilter{IntegrationName: UpstreamIntegration, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 20 {
			t.Fatalf("%d connections, want 20", len(list))
		}
		for _, c := range list {
			if c.LastHealthyAt == nil || c.LastHealthyAt.Before(c.CreatedAt.Add(30*time.Second)) {
				t.Errorf("%s: last healthy at %v, created at %v: the reported successes were not applied", c.ID, c.LastHealthyAt, c.CreatedAt)
				break
			}
		}
		var out bytes.Buffer
		rep.Write(&out)
		for _, want := range []string{"- Reported calls: ", "- Memory, peak per round: ", "**complete**"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("report lacks %q:\n%s", want, out.String())
			}
		}
	})
}

func TestRunAtRateKeepsTheSchedule(t *testing.T) {
	var served atomic.Int64
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		time.Sleep(30 * time.Millisecond) // slower than the interval: an open loop must not wait for it
		_, _ = io.WriteString(w, "{}")
	}))
	defer server.Close()
	ep := Endpoint{Name: "slow", URL: func(int) string { return server.URL }}
	results, err := RunAtRate(context.Background(), NewClient(8), []Endpoint{ep}, RateOptions{Rate: 200, Duration: 300 * time.Millisecond, Rounds: 3})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	// 200/s for 300ms is 60 requests, though each takes 30ms: a closed loop
	// of one client would have sent 10.
	if r.Requests() != 60 || r.Failures != 0 || served.Load() != 60 {
		t.Errorf("%d requests (%d failed), %d served; want 60", r.Requests(), r.Failures, served.Load())
	}
	if r.Throughput() < 199 || r.Throughput() > 201 {
		t.Errorf("throughput %.1f/s, want the offered 200/s", r.Throughput())
	}
	if r.Percentile(50) < 30*time.Millisecond {
		t.Errorf("p50 %v is below the server's 30ms", r.Percentile(50))
	}
}

func TestUpstreamRefusesRequestsWithoutAKey(t *testing.T) {
	up := NewUpstream()
	defer up.Close()
	res, err := http.Get(up.URL + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d without a key, want 401: a 200 through a proxy must prove the key was injected", res.StatusCode)
	}
	if n := up.BodySize(); n < 700 || n > 1300 {
		t.Errorf("orders page of %d bytes, want about 1 KB", n)
	}
	if _, err := catalog.Parse("upstream.yaml", []byte(UpstreamProvider(up.URL))); err != nil {
		t.Errorf("the upstream's definition does not validate: %v", err)
	}
}
