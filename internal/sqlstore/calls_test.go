package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/pgtest"
	"github.com/tetherhq/tether/internal/sqlstore"
	"github.com/tetherhq/tether/postgres"
	"github.com/tetherhq/tether/sqlite"
)

func openSQLite(tb testing.TB) *sqlstore.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "tether.db"))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func openPostgres(tb testing.TB) *sqlstore.Store {
	s, err := postgres.Open(context.Background(), pgtest.URL(tb))
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// BenchmarkRecordCalls measures the call log's hot path: batches of 1,000
// or 5,000 (the batcher's largest) calls spread over 1, 100 or 1,000 connections, each of which apply
// touches (as the health engine does on a success: it moves
// last_healthy_at), so every connection of a batch is locked, loaded and
// written back. The baseline beside them writes one call per transaction,
// what the batcher saves. It reports calls/s.
//
//	TETHER_TEST_POSTGRES_URL=... go test ./internal/sqlstore -run '^$' -bench RecordCalls -benchtime 20x
func BenchmarkRecordCalls(b *testing.B) {
	for _, db := range []struct {
		name string
		open func(testing.TB) *sqlstore.Store
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		b.Run(db.name+"/baseline-one-call-per-transaction", func(b *testing.B) {
			benchmarkRecordCalls(b, db.open(b), 1, 1)
		})
		// The proxy's shape at a moderate rate: a batch closes every 50 ms
		// with about 100 calls, over most of its 100 connections.
		b.Run(db.name+"/batch=100/connections=100", func(b *testing.B) {
			benchmarkRecordCalls(b, db.open(b), 100, 100)
		})
		for _, batch := range []int{1000, 5000} {
			for _, connections := range []int{1, 100, 1000} {
				b.Run(fmt.Sprintf("%s/batch=%d/connections=%d", db.name, batch, connections), func(b *testing.B) {
					benchmarkRecordCalls(b, db.open(b), connections, batch)
				})
			}
		}
	}
}

func benchmarkRecordCalls(b *testing.B, s *sqlstore.Store, connections, batch int) {
	ctx := context.Background()
	ids := make([]string, connections)
	for i := range ids {
		c := newConnection(fmt.Sprintf("cust-%d", i))
		if err := s.CreateConnection(ctx, c, tether.SealedCredentials{KeyID: "k", Ciphertext: []byte("x")}); err != nil {
			b.Fatal(err)
		}
		ids[i] = c.ID
	}
	touch := func(c *tether.Connection, calls []*tether.Call) ([]tether.Event, error) {
		c.LastHealthyAt = &calls[len(calls)-1].StartedAt
		c.Status = tether.StatusHealthy
		return nil, nil
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		calls := make([]*tether.Call, batch)
		for j := range calls {
			calls[j] = realisticCall(ids[(i*batch+j)%connections])
		}
		b.StartTimer()
		if err := s.RecordCalls(ctx, calls, touch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "calls/s")
}

func newConnection(customer string) *tether.Connection {
	now := tether.Now()
	return &tether.Connection{
		ID: tether.NewID(tether.PrefixConnection), IntegrationName: "acme_wms", CustomerID: customer,
		DisplayName: "Acme WMS (" + customer + ")", State: tether.StateActive, Status: tether.StatusNew,
		CreatedAt: now, UpdatedAt: now, InstalledAt: now, Metadata: map[string]any{"plan": "pro"},
		Errors: []tether.ConnectionError{},
		Resources: []tether.ResourceState{
			{Name: "orders", Access: tether.AccessGranted, Sync: &tether.SyncState{Status: tether.SyncSynced, Records: 10}},
			{Name: "returns", Access: tether.AccessGranted},
		},
	}
}

// realisticCall is a proxied call as the proxy logs it: a handful of
// redacted headers each way, no body (it succeeded).
func realisticCall(connectionID string) *tether.Call {
	status := 200
	resource := "orders"
	return &tether.Call{
		ID: tether.NewID(tether.PrefixCall), ConnectionID: &connectionID, IntegrationName: "acme_wms",
		Source: tether.SourceProxy, Method: "GET", Path: "/orders?limit=50&cursor=abc",
		URL:      "https://acme.example/api/orders?limit=50&cursor=abc",
		Resource: &resource, StatusCode: &status, DurationMS: 87,
		Outcome: tether.OutcomeSuccess, Signal: tether.SignalSuccess, StartedAt: tether.Now(),
		RequestHeaders: map[string]string{
			"Accept": "application/json", "User-Agent": "Tether/dev", "X-Api-Key": "[REDACTED]",
		},
		ResponseHeaders: map[string]string{
			"Content-Type": "application/json", "X-Request-Id": "req_01JD8ZK3", "X-Ratelimit-Remaining": "97",
			"Date": time.Now().UTC().Format(time.RFC1123),
		},
	}
}

// partitionNames lists the daily partitions of call_logs.
func partitionNames(t *testing.T, s *sqlstore.Store) []string {
	t.Helper()
	rows, err := s.DB().Query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'call_logs'::regclass AND c.relname <> 'call_logs_default' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

func dayPartitions(from time.Time, days int) []string {
	var names []string
	for i := range days {
		names = append(names, "call_logs_p"+from.AddDate(0, 0, i).Format("20060102"))
	}
	return names
}

func countIn(t *testing.T, s *sqlstore.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func recordAt(t *testing.T, s *sqlstore.Store, times ...time.Time) []*tether.Call {
	t.Helper()
	calls := make([]*tether.Call, len(times))
	for i, at := range times {
		calls[i] = realisticCall("conn_unknown")
		calls[i].StartedAt = tether.NewTime(at)
	}
	if err := s.RecordCalls(context.Background(), calls, nil); err != nil {
		t.Fatal(err)
	}
	return calls
}

func TestPostgresCreatesDailyPartitionsAhead(t *testing.T) {
	s := openPostgres(t)
	today := time.Now().UTC().Truncate(24 * time.Hour)
	if got, want := partitionNames(t, s), dayPartitions(today.AddDate(0, 0, -1), 4); !slices.Equal(got, want) {
		t.Fatalf("partitions after open: %v, want %v", got, want)
	}
	// Calls of a day without a partition wait in the default partition and
	// move into their day's partition when it is made.
	later := today.AddDate(0, 0, 4)
	recordAt(t, s, later.Add(time.Hour), later.Add(2*time.Hour))
	if n := countIn(t, s, "call_logs_default"); n != 2 {
		t.Fatalf("%d calls in the default partition, want 2", n)
	}
	if err := s.EnsureCallPartitions(context.Background(), later.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureCallPartitions(context.Background(), later.Add(-24*time.Hour)); err != nil {
		t.Fatalf("second EnsureCallPartitions: %v", err)
	}
	if got, want := partitionNames(t, s), dayPartitions(today.AddDate(0, 0, -1), 7); !slices.Equal(got, want) {
		t.Fatalf("partitions: %v, want %v", got, want)
	}
	if n := countIn(t, s, "call_logs_default"); n != 0 {
		t.Errorf("%d calls left in the default partition", n)
	}
	if n := countIn(t, s, "call_logs_p"+later.Format("20060102")); n != 2 {
		t.Errorf("%d calls in their day's partition, want 2", n)
	}
}

func TestPostgresPruneDropsWholeDays(t *testing.T) {
	s := openPostgres(t)
	now := time.Now().UTC()
	old := now.AddDate(0, 0, -10)
	if err := s.EnsureCallPartitions(context.Background(), old); err != nil { // days -11 to -8
		t.Fatal(err)
	}
	recordAt(t, s, old, old.Add(time.Minute), old.AddDate(0, 0, -1)) // in partitions
	recordAt(t, s, now.AddDate(0, 0, -20))                           // in the default partition
	kept := recordAt(t, s, now.Add(-time.Minute))
	var pruned int64
	for {
		n, err := s.PruneCalls(context.Background(), tether.NewTime(now.AddDate(0, 0, -5)), 1)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		pruned += n
	}
	if pruned != 4 {
		t.Errorf("pruned %d calls, want 4", pruned)
	}
	today := now.Truncate(24 * time.Hour)
	if got, want := partitionNames(t, s), dayPartitions(today.AddDate(0, 0, -1), 4); !slices.Equal(got, want) {
		t.Errorf("partitions after pruning: %v, want %v", got, want)
	}
	left, _, err := s.Calls(context.Background(), tether.CallFilter{Limit: 10})
	if err != nil || len(left) != 1 || left[0].ID != kept[0].ID {
		t.Errorf("left after pruning: %v, %v; want the recent call", left, err)
	}
}
