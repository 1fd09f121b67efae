package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/api"
	"github.com/tetherhq/tether/catalog"
	"github.com/tetherhq/tether/connections"
	"github.com/tetherhq/tether/internal/pgtest"
	"github.com/tetherhq/tether/internal/sqlstore"
	"github.com/tetherhq/tether/postgres"
	"github.com/tetherhq/tether/sqlite"
	"github.com/tetherhq/tether/vault"
)

// These tests run the benchmark's code on a few thousand connections and a
// few dozen requests, so that CI exercises it. They check that it measures
// correctly, never how fast anything is.

func TestConnectionSuiteMeasuresTheRealAPI(t *testing.T) {
	ctx := context.Background()
	store := openSQLite(t)
	cat, v := builtinCatalog(t), newVault(t)
	fleet := NewFleet(1, cat.Providers(), v)
	// Enough connections that the filter spans several pages, so the cursor
	// endpoint is exercised too.
	ids, err := SeedBulk(ctx, store.DB(), fleet, 2000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Analyze(ctx, store.DB(), "sqlite"); err != nil {
		t.Fatal(err)
	}
	key, secret := tether.NewAPIKey("bench")
	if err := store.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	server := httptest.NewServer(apiHandler(store, cat, v))
	defer server.Close()

	client := NewClient(2)
	endpoints, stop, err := Suite(ctx, client, Installation{
		BaseURL: server.URL, APIKey: secret, IDs: ids, Integration: fleet.Busiest(), Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	if len(endpoints) != 5 {
		t.Fatalf("got %d endpoints, want 5 (two baselines, by id, first page, cursor pages): %v", len(endpoints), names(endpoints))
	}
	results, err := Run(ctx, client, endpoints, Options{Requests: 20, Warmup: 3, Concurrency: 2, Rounds: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		checkResult(t, r, 20)
	}
	// Each baseline answers exactly as many bytes as what it stands for.
	// Each baseline answers exactly the bytes of the first answer of what it
	// stands for.
	if results[0].MeanAnswer() != int64(len(mustGet(t, client, endpoints[1]))) ||
		results[2].MeanAnswer() != int64(len(mustGet(t, client, endpoints[3]))) {
		t.Errorf("baseline answers of %d and %d bytes differ from the answers they stand for", results[0].MeanAnswer(), results[2].MeanAnswer())
	}

	var report bytes.Buffer
	WriteTable(&report, results)
	WriteVerdicts(&report, results)
	if rows := strings.Count("\n"+report.String(), "\n| "); rows != 1+len(results) {
		t.Errorf("table has %d rows, want a header and one per result:\n%s", rows, report.String())
	}
	if verdicts := strings.Count(report.String(), "\n- "); verdicts != 3 {
		t.Errorf("want a verdict for each of the 3 endpoints with a goal:\n%s", report.String())
	}
}

func TestRequestsForSingleConnectionsVisitEveryConnection(t *testing.T) {
	ids := []string{"conn_a", "conn_b", "conn_c", "conn_d"}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"data": [], "next_cursor": null}`)
	}))
	defer server.Close()
	endpoints, err := ConnectionEndpoints(context.Background(), NewClient(1), Installation{
		BaseURL: server.URL, IDs: ids, Integration: "acme_wms", Seed: 7,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(endpoints) != 2 {
		t.Fatalf("a filter that fits on one page needs no cursor endpoint; got %v", names(endpoints))
	}
	// The order is a permutation: every id once per len(ids) requests.
	seen := map[string]bool{}
	for i := range ids {
		seen[endpoints[0].URL(i)] = true
	}
	if len(seen) != len(ids) {
		t.Errorf("%d requests asked for %d distinct connections, want %d", len(ids), len(seen), len(ids))
	}
}

func TestRunCountsFailuresApart(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("fail") == "yes" {
			http.Error(w, "no", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "{}")
	}))
	defer server.Close()
	ep := Endpoint{Name: "flaky", Goal: time.Hour, URL: func(i int) string {
		if i%4 == 0 {
			return server.URL + "?fail=yes"
		}
		return server.URL
	}}
	results, err := Run(context.Background(), NewClient(3), []Endpoint{ep}, Options{Requests: 40, Concurrency: 3, Rounds: 4})
	if err != nil {
		t.Fatal(err)
	}
	r := results[0]
	if r.Requests() != 40 || r.Failures != 10 || len(r.Latencies) != 30 {
		t.Errorf("requests %d, failures %d, measured %d; want 40, 10, 30", r.Requests(), r.Failures, len(r.Latencies))
	}
	if r.FirstFailure == nil || !strings.Contains(r.FirstFailure.Error(), "500") {
		t.Errorf("first failure %v, want the status", r.FirstFailure)
	}
	if r.MetGoal() {
		t.Error("a result with failures must not meet its goal")
	}
}

func TestRunStopsAtMaxDuration(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(20 * time.Millisecond) // a slow server, not a wait for async work
	}))
	defer server.Close()
	ep := Endpoint{Name: "slow", URL: func(int) string { return server.URL }}
	results, err := Run(context.Background(), NewClient(1), []Endpoint{ep}, Options{Requests: 1000, Concurrency: 1, MaxDuration: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if n := results[0].Requests(); n == 0 || n >= 1000 {
		t.Errorf("sent %d requests; want some, but fewer than asked once the duration is spent", n)
	}
}

func TestPercentiles(t *testing.T) {
	var r Result
	if r.Percentile(99) != 0 || r.Throughput() != 0 {
		t.Error("an empty result must report zeros")
	}
	for i := 100; i >= 1; i-- {
		r.Latencies = append(r.Latencies, time.Duration(i)*time.Millisecond)
	}
	r.Elapsed = 2 * time.Second
	slices.Sort(r.Latencies) // as Run does
	for p, want := range map[float64]time.Duration{50: 50, 90: 90, 99: 99, 99.5: 100, 100: 100, 0: 1} {
		if got := r.Percentile(p); got != want*time.Millisecond {
			t.Errorf("p%v = %v, want %v", p, got, want*time.Millisecond)
		}
	}
	if r.Throughput() != 50 {
		t.Errorf("throughput %v, want 50/s", r.Throughput())
	}
}

func TestShareSplitsRequestsExactly(t *testing.T) {
	for _, tc := range []struct{ n, rounds int }{{10, 3}, {5000, 5}, {2, 5}} {
		total := 0
		for round := range tc.rounds {
			total += share(tc.n, tc.rounds, round)
		}
		if total != tc.n {
			t.Errorf("share(%d, %d) sums to %d", tc.n, tc.rounds, total)
		}
	}
}

func TestProcessMemory(t *testing.T) {
	m, err := ProcessMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS == 0 || m.Peak < m.RSS {
		t.Errorf("RSS %d, peak %d: want RSS > 0 and peak >= RSS", m.RSS, m.Peak)
	}
	var out bytes.Buffer
	WriteMemoryVerdict(&out, Memory{RSS: 90e6, Peak: 151e6})
	if !strings.Contains(out.String(), "**missed**") {
		t.Errorf("a peak above the goal must miss it: %s", out.String())
	}
}

func TestCPUMeterAccountsForThisProcess(t *testing.T) {
	m, err := StartCPUMeter("postgres")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	before, err := ownCPU("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Work until the kernel has charged this process some CPU time.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if now, _ := ownCPU("/proc/self/stat"); now > before {
			break
		}
	}
	use, err := m.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if use.Self <= 0 || use.Database < 0 || use.Others < 0 {
		t.Errorf("CPU use %+v: want this process > 0 and nothing negative", use)
	}
	if s := use.String(); !strings.Contains(s, "postgres") || !strings.Contains(s, "other processes") {
		t.Errorf("CPU use reads %q", s)
	}
}

// The database server's processes come and go while a benchmark runs (a
// backend per client connection): one that ended is missed, never
// subtracted, and one that started counts whole.
func TestCPUOfProcessesThatComeAndGo(t *testing.T) {
	before := map[string]int64{"10@100": 50, "11@100": 400, "12@100": 30}
	after := map[string]int64{
		"10@100": 70, // ran on: 20
		"12@900": 5,  // pid 12 again, another process: 5
		"13@950": 15, // started meanwhile: 15
	} // 11 ended: missed
	if got := cpuSince(before, after); got != 40 {
		t.Errorf("cpuSince = %d, want 40", got)
	}
}

// The bulk seeder must write what the store itself writes: the same
// fixtures, stored both ways, read back the same through the store.
func TestBulkSeedReadsBackLikeTheStore(t *testing.T) {
	stores := map[string]func(t *testing.T) *sqlstore.Store{"sqlite": openSQLite, "postgres": openPostgres}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			viaStore, viaBulk := open(t), open(t)
			fleet := NewFleet(3, builtinCatalog(t).Providers(), newVault(t))
			var fixtures []Fixture
			for range 300 {
				fx, err := fleet.Next()
				if err != nil {
					t.Fatal(err)
				}
				fixtures = append(fixtures, fx)
				if err := viaStore.CreateConnection(ctx, fx.Connection, fx.Credentials, fx.Event); err != nil {
					t.Fatal(err)
				}
			}
			if err := insertBatch(ctx, viaBulk.DB(), fixtures); err != nil {
				t.Fatal(err)
			}
			for _, fx := range fixtures {
				id := fx.Connection.ID
				assertSameJSON(t, "connection "+id, read(t, viaStore.Connection, id), read(t, viaBulk.Connection, id))
				assertSameJSON(t, "credentials of "+id, read(t, viaStore.Credentials, id), read(t, viaBulk.Credentials, id))
			}
			f := tether.ConnectionFilter{Status: tether.StatusUnhealthy, Limit: 500}
			pageA, _, errA := viaStore.Connections(ctx, f)
			pageB, _, errB := viaBulk.Connections(ctx, f)
			if errA != nil || errB != nil {
				t.Fatal(errA, errB)
			}
			assertSameJSON(t, "unhealthy connections", pageA, pageB)
			eventsA, _, _ := viaStore.Events(ctx, tether.EventFilter{Limit: 500})
			eventsB, _, _ := viaBulk.Events(ctx, tether.EventFilter{Limit: 500})
			assertSameJSON(t, "events", eventsA, eventsB)
		})
	}
}

func TestFleetLooksLikeARealInstallation(t *testing.T) {
	fleet := NewFleet(1, builtinCatalog(t).Providers(), newVault(t))
	statuses := map[tether.HealthStatus]int{}
	withErrors, busiest := 0, 0
	const n = 5000
	for range n {
		fx, err := fleet.Next()
		if err != nil {
			t.Fatal(err)
		}
		c := fx.Connection
		statuses[c.Status]++
		if len(c.Errors) > 0 {
			withErrors++
		}
		if c.IntegrationName == fleet.Busiest() {
			busiest++
		}
		checkConsistent(t, c)
	}
	if share := float64(statuses[tether.StatusUnhealthy]) / n; share < 0.07 || share > 0.13 {
		t.Errorf("%.0f%% unhealthy, want about 10%%", 100*share)
	}
	if withErrors == 0 || busiest < n/5 {
		t.Errorf("%d with errors, %d of the busiest integration: the mix is off", withErrors, busiest)
	}
	if got := fleet.Count(FilterKey{fleet.Busiest(), tether.StatusUnhealthy}); got == 0 {
		t.Error("the filter the benchmark uses selects nothing")
	}
}

// checkConsistent checks that a generated connection's status agrees with
// its errors, as API.md defines status.
func checkConsistent(t *testing.T, c *tether.Connection) {
	t.Helper()
	blocking := false
	for _, e := range c.Errors {
		blocking = blocking || e.Blocking
		if (e.Type == tether.ErrorMissingPermission || e.Type == tether.ErrorSyncError) && e.Resource == nil {
			t.Errorf("%s: %s without a resource", c.ID, e.Type)
		}
	}
	want := map[tether.HealthStatus]bool{
		tether.StatusNew:          len(c.Errors) == 0 && c.LastHealthyAt == nil,
		tether.StatusHealthy:      len(c.Errors) == 0 && c.LastHealthyAt != nil,
		tether.StatusUnhealthyNow: len(c.Errors) > 0 && !blocking,
		tether.StatusUnhealthy:    blocking,
	}
	if !want[c.Status] {
		t.Errorf("%s: status %s does not match its errors %+v", c.ID, c.Status, c.Errors)
	}
}

func checkResult(t *testing.T, r Result, requests int) {
	t.Helper()
	if r.Failures > 0 || r.Requests() != requests {
		t.Errorf("%s: %d of %d requests failed (first: %v); want %d, all answered 200",
			r.Endpoint.Name, r.Failures, r.Requests(), r.FirstFailure, requests)
	}
	p50, p90, p99, maxi := r.Percentile(50), r.Percentile(90), r.Percentile(99), r.Max()
	if p50 <= 0 || p50 > p90 || p90 > p99 || p99 > maxi {
		t.Errorf("%s: percentiles out of order: p50 %v, p90 %v, p99 %v, max %v", r.Endpoint.Name, p50, p90, p99, maxi)
	}
	if r.MeanAnswer() == 0 || r.Throughput() <= 0 {
		t.Errorf("%s: answers of %d bytes, %v req/s", r.Endpoint.Name, r.MeanAnswer(), r.Throughput())
	}
}

func apiHandler(store tether.Store, cat *catalog.Catalog, v *vault.Vault) http.Handler {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mux := http.NewServeMux()
	api.Register(mux, api.Deps{Store: store, Catalog: cat, Connections: connections.New(store, cat, v, nil, nil, log), Log: log, Version: "test"})
	return mux
}

func openSQLite(t *testing.T) *sqlstore.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir()+"/tether.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func openPostgres(t *testing.T) *sqlstore.Store {
	t.Helper()
	store, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	return store
}

func builtinCatalog(t *testing.T) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func newVault(t *testing.T) *vault.Vault {
	t.Helper()
	key, err := vault.ParseMasterKey(vault.GenerateMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	v, err := vault.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func read[T any](t *testing.T, get func(context.Context, string) (T, error), id string) T {
	t.Helper()
	v, err := get(context.Background(), id)
	if err != nil {
		t.Fatalf("read %s: %v", id, err)
	}
	return v
}

func assertSameJSON(t *testing.T, what string, a, b any) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("%s differs:\nstore: %s\nbulk:  %s", what, ja, jb)
	}
}

func mustGet(t *testing.T, client *http.Client, ep Endpoint) []byte {
	t.Helper()
	body, err := get(context.Background(), client, ep.URL(0), ep.Header)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

func names(endpoints []Endpoint) []string {
	var out []string
	for _, ep := range endpoints {
		out = append(out, ep.Name)
	}
	return out
}
