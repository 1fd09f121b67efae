package main

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// flushCalls waits until every call queued so far is in the call log.
func (e *testEnv) flushCalls() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.app.calls.Flush(ctx); err != nil {
		e.t.Fatalf("flush the call log: %v", err)
	}
}

// listCalls walks every page of GET /v1/calls?query with the given page
// size and returns the calls in order.
func (e *testEnv) listCalls(query url.Values, limit int) []map[string]any {
	e.t.Helper()
	query = maps.Clone(query)
	query.Set("limit", strconv.Itoa(limit))
	var all []map[string]any
	for range 100 {
		res := e.do("GET", "/v1/calls?"+query.Encode(), nil)
		expectStatus(e.t, res, http.StatusOK)
		body := res.json(e.t)
		page := body["data"].([]any)
		if len(page) > limit {
			e.t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		for _, c := range page {
			all = append(all, c.(map[string]any))
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			return all
		}
		query.Set("cursor", next)
	}
	e.t.Fatal("pagination does not end")
	return nil
}

func callIDsOf(calls []map[string]any) []string {
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c["call_id"].(string)
	}
	return ids
}

// loggedCalls builds calls of two connections, an hour or more in the past
// (apart from the credential tests that creating the connections logged),
// with every field that filters varied.
func loggedCalls(a, b string, start time.Time) []*tether.Call {
	var calls []*tether.Call
	for i := range 10 {
		conn := a
		if i%3 == 2 {
			conn = b
		}
		status, resource := 200, "orders"
		c := &tether.Call{
			ConnectionID: &conn, IntegrationName: "acme_wms", Source: tether.SourceProxy,
			Method: "GET", Path: "/orders", Resource: &resource, StatusCode: &status, DurationMS: int64(10 + i),
			Outcome: tether.OutcomeSuccess, Signal: tether.SignalSuccess,
			StartedAt:       tether.NewTime(start.Add(time.Duration(i) * time.Minute)),
			RequestHeaders:  map[string]string{"X-Api-Key": "[REDACTED]"},
			ResponseHeaders: map[string]string{"Content-Type": "application/json"},
		}
		switch i % 4 {
		case 1:
			returns, forbidden, body, reason := "returns", 403, `{"error":"forbidden"}`, "HTTP 403"
			c.Resource, c.StatusCode, c.ResponseBody, c.Error = &returns, &forbidden, &body, &reason
			c.Outcome, c.Signal = tether.OutcomeFailure, tether.SignalPermissionFailure
		case 2:
			c.Source = tether.SourceReport
		case 3:
			reason := "timeout"
			c.Source, c.StatusCode, c.Error = tether.SourceProbe, nil, &reason
			c.Outcome, c.Signal = tether.OutcomeFailure, tether.SignalTransient
		}
		calls = append(calls, c)
	}
	return calls
}

func TestCallLogListsAndFilters(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		a, _ := e.createConnection("cust-1")
		b, _ := e.createConnection("cust-2")
		start := time.Now().Add(-3 * time.Hour).Truncate(time.Millisecond)
		calls := loggedCalls(a, b, start)
		if err := e.app.calls.AddMany(context.Background(), calls); err != nil {
			t.Fatal(err)
		}
		e.flushCalls()

		window := func(q url.Values) url.Values { // only the calls above, not the credential tests
			q.Set("until", start.Add(time.Hour).Format(time.RFC3339Nano))
			return q
		}
		at := func(i int) string { return start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339) }
		cases := []struct {
			name  string
			query url.Values
			want  func(i int) bool
		}{
			{"all", url.Values{}, func(int) bool { return true }},
			{"connection_id", url.Values{"connection_id": {b}}, func(i int) bool { return i%3 == 2 }},
			{"resource", url.Values{"resource": {"returns"}}, func(i int) bool { return i%4 == 1 }},
			{"outcome", url.Values{"outcome": {"failure"}}, func(i int) bool { return i%4 == 1 || i%4 == 3 }},
			{"status_code", url.Values{"status_code": {"403"}}, func(i int) bool { return i%4 == 1 }},
			{"source", url.Values{"source": {"probe"}}, func(i int) bool { return i%4 == 3 }},
			{"since", url.Values{"since": {at(6)}}, func(i int) bool { return i >= 6 }},
			{"combined", url.Values{"connection_id": {a}, "outcome": {"success"}}, func(i int) bool { return i%3 != 2 && i%4%2 == 0 }},
		}
		for _, tc := range cases {
			var want []string
			for i := len(calls) - 1; i >= 0; i-- { // newest first
				if tc.want(i) {
					want = append(want, calls[i].ID)
				}
			}
			for _, limit := range []int{2, 50} {
				if got := callIDsOf(e.listCalls(window(tc.query), limit)); !slices.Equal(got, want) {
					t.Errorf("%s, limit %d: %v, want %v", tc.name, limit, got, want)
				}
			}
		}
		until := e.listCalls(url.Values{"until": {at(2)}, "connection_id": {a}}, 50)
		if got := callIDsOf(until); !slices.Equal(got, []string{calls[1].ID, calls[0].ID}) {
			t.Errorf("until: %v", got)
		}
		linkTests := e.listCalls(url.Values{"source": {"link_test"}}, 50)
		if len(linkTests) != 2 {
			t.Errorf("%d credential tests logged, want one per created connection", len(linkTests))
		}
	})
}

func TestCallLogEntryShape(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		a, _ := e.createConnection("cust-1")
		failed := loggedCalls(a, a, time.Now().Add(-time.Hour))[1]
		if err := e.app.calls.Add(context.Background(), failed); err != nil {
			t.Fatal(err)
		}
		e.flushCalls()
		got := e.listCalls(url.Values{"outcome": {"failure"}, "connection_id": {a}}, 50)
		if len(got) != 1 {
			t.Fatalf("%d failed calls listed, want 1", len(got))
		}
		c := got[0]
		var keys []string
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		want := []string{"call_id", "connection_id", "duration_ms", "error", "integration_name", "method", "outcome", "path",
			"request_headers", "resource", "response_body", "response_headers", "signal", "source", "started_at", "status_code"}
		if !slices.Equal(keys, want) {
			t.Errorf("members %v, want %v", keys, want)
		}
		if c["call_id"] != failed.ID || c["connection_id"] != a || c["status_code"] != float64(403) ||
			c["resource"] != "returns" || c["signal"] != "permission_failure" || c["response_body"] != `{"error":"forbidden"}` ||
			c["started_at"] != failed.StartedAt.String() || c["request_headers"].(map[string]any)["X-Api-Key"] != "[REDACTED]" {
			t.Errorf("call = %v", c)
		}
	})
}

func TestCallLogRejectsBadFilters(t *testing.T) {
	e := newTestEnv(t, "")
	for _, query := range []string{
		"since=yesterday", "until=2026-13-01T00:00:00Z", "outcome=maybe", "source=carrier_pigeon",
		"status_code=abc", "status_code=42", "limit=501", "cursor=not-a-cursor",
	} {
		res := e.do("GET", "/v1/calls?"+query, nil)
		expectStatus(t, res, http.StatusUnprocessableEntity)
		if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q", query, ct)
		}
	}
}

func TestDeletingAConnectionPurgesItsCalls(t *testing.T) {
	forEachStore(t, func(t *testing.T, newEnv func(...func(*Config)) *testEnv) {
		e := newEnv()
		gone, _ := e.createConnection("cust-1")
		kept, _ := e.createConnection("cust-2")
		if err := e.app.calls.AddMany(context.Background(), loggedCalls(gone, kept, time.Now().Add(-time.Hour))); err != nil {
			t.Fatal(err)
		}
		e.flushCalls()
		if n := len(e.listCalls(url.Values{"connection_id": {gone}}, 50)); n == 0 {
			t.Fatal("no calls logged for the connection")
		}
		expectStatus(t, e.do("DELETE", "/v1/connections/"+gone, nil), http.StatusNoContent)
		if left := e.listCalls(url.Values{"connection_id": {gone}}, 50); len(left) != 0 {
			t.Errorf("%d calls of the deleted connection remain", len(left))
		}
		if n := len(e.listCalls(url.Values{"connection_id": {kept}}, 50)); n == 0 {
			t.Error("the other connection's calls were deleted too")
		}
	})
}

func TestMetricsCountTheCallLog(t *testing.T) {
	e := newTestEnv(t, "")
	e.createConnection("cust-1")
	e.flushCalls()
	body := string(e.doWithKey("", "GET", "/metrics", nil).Body)
	for _, want := range []string{"tether_call_log_written_calls_total 1", "tether_call_log_queued_calls 0", "tether_pending_confirmation_checks 0", "go_goroutines"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
