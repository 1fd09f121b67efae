package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// newCall returns a successful proxied call of connectionID (nil: none)
// that started at startedAt.
func newCall(connectionID *string, startedAt time.Time) *tether.Call {
	return &tether.Call{
		ID:              tether.NewID(tether.PrefixCall),
		ConnectionID:    connectionID,
		IntegrationName: "acme_wms",
		Source:          tether.SourceProxy,
		Method:          "GET",
		Path:            "/orders",
		Resource:        strPtr("orders"),
		StatusCode:      intPtr(200),
		DurationMS:      42,
		Outcome:         tether.OutcomeSuccess,
		Signal:          tether.SignalSuccess,
		StartedAt:       tether.NewTime(startedAt),
		RequestHeaders:  map[string]string{},
		ResponseHeaders: map[string]string{},
	}
}

// noApply is an apply that changes nothing.
func noApply(*tether.Connection, []*tether.Call) ([]tether.Event, error) { return nil, nil }

func mustRecord(t *testing.T, s tether.Store, calls ...*tether.Call) {
	t.Helper()
	if err := s.RecordCalls(ctx(t), calls, noApply); err != nil {
		t.Fatalf("RecordCalls: %v", err)
	}
}

// listCalls returns every call f selects, walking pages of size limit.
func listCalls(t *testing.T, s tether.Store, f tether.CallFilter, limit int) []*tether.Call {
	t.Helper()
	var all []*tether.Call
	f.Limit = limit
	for range 100 {
		page, more, err := s.Calls(ctx(t), f)
		if err != nil {
			t.Fatalf("Calls(%+v): %v", f, err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		all = append(all, page...)
		if !more {
			return all
		}
		f.Before = page[len(page)-1].ID
	}
	t.Fatal("pagination does not end")
	return nil
}

func callIDs(calls []*tether.Call) []string {
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	return ids
}

func testCallRoundTrip(t *testing.T, s tether.Store) {
	conn := newConnection("acme_wms", "cust-1")
	mustCreate(t, s, conn)
	failed := newCall(&conn.ID, time.Now().Add(-time.Minute))
	failed.Source = tether.SourceProbe
	failed.Method = "POST"
	failed.Path = "/returns?limit=1"
	failed.URL = "https://acme.example/api/returns?limit=1&api_key=REDACTED"
	failed.Resource = strPtr("returns")
	failed.StatusCode = intPtr(403)
	failed.DurationMS = 1234
	failed.Outcome = tether.OutcomeFailure
	failed.Signal = tether.SignalPermissionFailure
	failed.Error = strPtr("forbidden")
	failed.RequestHeaders = map[string]string{"Authorization": "[REDACTED]", "Accept": "application/json"}
	failed.ResponseHeaders = map[string]string{"Content-Type": "application/json", "X-Request-Id": "r-1"}
	failed.ResponseBody = strPtr(`{"error": "no access to returns"}`)
	// A credential test of a connection not saved: no connection, no answer.
	unsaved := newCall(nil, time.Now())
	unsaved.Source = tether.SourceLinkTest
	unsaved.Resource = nil
	unsaved.StatusCode = nil
	unsaved.Outcome = tether.OutcomeFailure
	unsaved.Signal = tether.SignalTransient
	unsaved.Error = strPtr("dial tcp: connection refused")
	unsaved.RequestHeaders, unsaved.ResponseHeaders = nil, nil
	mustRecord(t, s, failed, unsaved)

	got := listCalls(t, s, tether.CallFilter{}, 10)
	if len(got) != 2 {
		t.Fatalf("%d calls listed, want 2", len(got))
	}
	assertSameJSON(t, "failed call", got[1], failed)
	if got[1].URL != failed.URL {
		t.Errorf("URL = %q, want %q", got[1].URL, failed.URL)
	}
	unsaved.RequestHeaders, unsaved.ResponseHeaders = map[string]string{}, map[string]string{} // none is {}
	assertSameJSON(t, "call without connection or answer", got[0], unsaved)
}

// Provider answers may hold NUL bytes and invalid UTF-8, which PostgreSQL
// text refuses: they must not fail the batch.
func testCallWithOddBytes(t *testing.T, s tether.Store) {
	odd := newCall(nil, time.Now())
	odd.Path = "/orders/\x00\xff"
	odd.ResponseBody = strPtr("bad \xc3\x28 byte and \x00 NUL")
	odd.ResponseHeaders = map[string]string{"X-Odd": "\x00\xfe"}
	mustRecord(t, s, odd)
	got := listCalls(t, s, tether.CallFilter{}, 10)
	if len(got) != 1 || got[0].ResponseBody == nil || got[0].ResponseHeaders["X-Odd"] == "" {
		t.Fatalf("odd call not kept: %+v", got)
	}
}

func testCallFiltersAndPages(t *testing.T, s tether.Store) {
	a, b := newConnection("acme_wms", "cust-1"), newConnection("github", "cust-2")
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var calls []*tether.Call
	for i := range 12 {
		conn := &a.ID
		if i%3 == 2 {
			conn = &b.ID
		}
		c := newCall(conn, start.Add(time.Duration(i)*time.Minute))
		switch i % 4 {
		case 1:
			c.Resource = strPtr("returns")
			c.StatusCode = intPtr(403)
			c.Outcome, c.Signal = tether.OutcomeFailure, tether.SignalPermissionFailure
		case 2:
			c.Source = tether.SourceReport
			c.Resource = nil
		case 3:
			c.Source = tether.SourceSync
			c.StatusCode = nil
			c.Outcome, c.Signal = tether.OutcomeFailure, tether.SignalTransient
		}
		calls = append(calls, c)
	}
	mustRecord(t, s, calls...)
	at := func(i int) *tether.Time {
		return tether.TimePtr(tether.NewTime(start.Add(time.Duration(i) * time.Minute)))
	}
	cases := []struct {
		name   string
		filter tether.CallFilter
		want   func(i int, c *tether.Call) bool
	}{
		{"all", tether.CallFilter{}, func(int, *tether.Call) bool { return true }},
		{"connection", tether.CallFilter{ConnectionID: b.ID}, func(i int, _ *tether.Call) bool { return i%3 == 2 }},
		{"resource", tether.CallFilter{Resource: "returns"}, func(i int, _ *tether.Call) bool { return i%4 == 1 }},
		{"failures", tether.CallFilter{Outcome: tether.OutcomeFailure}, func(i int, _ *tether.Call) bool { return i%4 == 1 || i%4 == 3 }},
		{"successes", tether.CallFilter{Outcome: tether.OutcomeSuccess}, func(i int, _ *tether.Call) bool { return i%4 == 0 || i%4 == 2 }},
		{"status code", tether.CallFilter{StatusCode: 403}, func(i int, _ *tether.Call) bool { return i%4 == 1 }},
		{"source", tether.CallFilter{Source: tether.SourceSync}, func(i int, _ *tether.Call) bool { return i%4 == 3 }},
		{"since", tether.CallFilter{Since: at(9)}, func(i int, _ *tether.Call) bool { return i >= 9 }},
		{"until", tether.CallFilter{Until: at(3)}, func(i int, _ *tether.Call) bool { return i < 3 }},
		{"since and until", tether.CallFilter{Since: at(2), Until: at(7)}, func(i int, _ *tether.Call) bool { return i >= 2 && i < 7 }},
		{"combined", tether.CallFilter{ConnectionID: a.ID, Outcome: tether.OutcomeFailure, Since: at(4)},
			func(i int, _ *tether.Call) bool { return i%3 != 2 && (i%4 == 1 || i%4 == 3) && i >= 4 }},
		{"nothing", tether.CallFilter{ConnectionID: "conn_none"}, func(int, *tether.Call) bool { return false }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for i := len(calls) - 1; i >= 0; i-- { // newest first
				if tc.want(i, calls[i]) {
					want = append(want, calls[i].ID)
				}
			}
			for _, limit := range []int{1, 5, 50} {
				if got := callIDs(listCalls(t, s, tc.filter, limit)); !slices.Equal(got, want) {
					t.Errorf("limit %d: ids = %v, want %v", limit, got, want)
				}
			}
		})
	}
	page, more, err := s.Calls(ctx(t), tether.CallFilter{Limit: 12})
	if err != nil || len(page) != 12 || more {
		t.Errorf("a page of exactly all calls: %d calls, more=%v, %v", len(page), more, err)
	}
}

func testRecordCallsAppliesPerConnection(t *testing.T, s tether.Store) {
	a, b := newConnection("acme_wms", "cust-1"), newConnection("acme_wms", "cust-2")
	if b.ID < a.ID {
		a, b = b, a
	}
	mustCreate(t, s, b)
	mustCreate(t, s, a)
	now := time.Now()
	calls := []*tether.Call{newCall(&b.ID, now), newCall(&a.ID, now), newCall(nil, now), newCall(&b.ID, now.Add(time.Second))}
	calls[3].Outcome, calls[3].Signal = tether.OutcomeFailure, tether.SignalAuthFailure
	var applied []string
	err := s.RecordCalls(ctx(t), calls, func(c *tether.Connection, mine []*tether.Call) ([]tether.Event, error) {
		applied = append(applied, fmt.Sprintf("%s:%s", c.ID, callIDs(mine)))
		last := mine[len(mine)-1]
		if last.Outcome == tether.OutcomeFailure {
			c.Status = tether.StatusUnhealthy
			c.LastUnhealthyAt = &last.StartedAt
			c.Errors = append(c.Errors, tether.ConnectionError{
				ID: tether.NewID(tether.PrefixError), Type: tether.ErrorInvalidCredentials, Message: "revoked",
				Blocking: true, Resolution: "reinstall", HTTPStatus: intPtr(401),
				FirstSeenAt: last.StartedAt, LastSeenAt: last.StartedAt, Occurrences: 1,
			})
			return []tether.Event{tether.NewEvent(tether.EventConnectionUnhealthy, c.ID, c)}, nil
		}
		c.Status = tether.StatusHealthy
		c.LastHealthyAt = &last.StartedAt
		c.Resources = []tether.ResourceState{{Name: "orders", Access: tether.AccessGranted}}
		return nil, nil
	})
	if err != nil {
		t.Fatalf("RecordCalls: %v", err)
	}
	want := []string{
		fmt.Sprintf("%s:%s", a.ID, []string{calls[1].ID}),
		fmt.Sprintf("%s:%s", b.ID, []string{calls[0].ID, calls[3].ID}),
	}
	if !slices.Equal(applied, want) {
		t.Errorf("apply calls = %v, want %v (each connection once, in id order, with its calls in order)", applied, want)
	}
	if got := listCalls(t, s, tether.CallFilter{}, 10); len(got) != 4 {
		t.Errorf("%d calls saved, want 4", len(got))
	}
	gotA, _ := s.Connection(ctx(t), a.ID)
	if gotA.Status != tether.StatusHealthy || gotA.LastHealthyAt == nil || len(gotA.Resources) != 1 {
		t.Errorf("connection a not updated: %+v", gotA)
	}
	gotB, _ := s.Connection(ctx(t), b.ID)
	if gotB.Status != tether.StatusUnhealthy || len(gotB.Errors) != 1 || gotB.Errors[0].HTTPStatus == nil {
		t.Errorf("connection b not updated: %+v", gotB)
	}
	events, _, _ := s.Events(ctx(t), tether.EventFilter{Limit: 10})
	if len(events) != 1 || events[0].Type != tether.EventConnectionUnhealthy || events[0].ConnectionID != b.ID {
		t.Errorf("events = %+v, want one connection.unhealthy of b", events)
	}
}

func testFailedApplySavesNothing(t *testing.T, s tether.Store) {
	a, b := newConnection("acme_wms", "cust-1"), newConnection("acme_wms", "cust-2")
	mustCreate(t, s, a)
	mustCreate(t, s, b)
	boom := errors.New("boom")
	err := s.RecordCalls(ctx(t), []*tether.Call{newCall(&a.ID, time.Now()), newCall(&b.ID, time.Now())},
		func(c *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
			c.DisplayName = "Should not stick"
			events := []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, c)}
			if c.ID == max(a.ID, b.ID) { // the second connection fails, after the first was saved
				return events, boom
			}
			return events, nil
		})
	if !errors.Is(err, boom) {
		t.Fatalf("RecordCalls error = %v, want boom", err)
	}
	if got := listCalls(t, s, tether.CallFilter{}, 10); len(got) != 0 {
		t.Errorf("%d calls saved by a failed batch", len(got))
	}
	for _, id := range []string{a.ID, b.ID} {
		if got, _ := s.Connection(ctx(t), id); got.DisplayName == "Should not stick" {
			t.Errorf("connection %s changed by a failed batch", id)
		}
	}
	if events, _, _ := s.Events(ctx(t), tether.EventFilter{Limit: 10}); len(events) != 0 {
		t.Errorf("a failed batch appended %d events", len(events))
	}
}

func testCallsOfUnknownConnection(t *testing.T, s tether.Store) {
	unknown := tether.NewID(tether.PrefixConnection)
	applied := 0
	err := s.RecordCalls(ctx(t), []*tether.Call{newCall(&unknown, time.Now())},
		func(*tether.Connection, []*tether.Call) ([]tether.Event, error) { applied++; return nil, nil })
	if err != nil {
		t.Fatalf("RecordCalls: %v", err)
	}
	if applied != 0 {
		t.Errorf("apply ran %d times for an unknown connection", applied)
	}
	if got := listCalls(t, s, tether.CallFilter{ConnectionID: unknown}, 10); len(got) != 0 {
		t.Errorf("%d calls of an unknown (deleted) connection saved, want 0", len(got))
	}
	err = s.RecordCalls(ctx(t), []*tether.Call{newCall(nil, time.Now())},
		func(*tether.Connection, []*tether.Call) ([]tether.Event, error) { applied++; return nil, nil })
	if err != nil || applied != 0 {
		t.Fatalf("RecordCalls without a connection: %v, applied %d", err, applied)
	}
	if got := listCalls(t, s, tether.CallFilter{}, 10); len(got) != 1 {
		t.Errorf("%d calls without a connection saved, want 1", len(got))
	}
}

// A batch whose commit succeeded but was reported failed is retried: its
// calls must not fail it, nor be stored twice.
func testRecordCallsTwice(t *testing.T, s tether.Store) {
	calls := []*tether.Call{newCall(nil, time.Now()), newCall(nil, time.Now())}
	mustRecord(t, s, calls...)
	mustRecord(t, s, calls...)
	if got := listCalls(t, s, tether.CallFilter{}, 10); len(got) != 2 {
		t.Errorf("%d calls stored, want 2", len(got))
	}
}

func testPruneCalls(t *testing.T, s tether.Store) {
	now := time.Now()
	var old, recent []*tether.Call
	for i := range 25 {
		old = append(old, newCall(nil, now.Add(-10*24*time.Hour+time.Duration(i)*time.Minute)))
		if i < 5 {
			recent = append(recent, newCall(nil, now.Add(-time.Duration(i)*time.Minute)))
		}
	}
	mustRecord(t, s, append(old, recent...)...)
	cutoff := tether.NewTime(now.Add(-5 * 24 * time.Hour))
	var pruned int64
	for range 100 {
		n, err := s.PruneCalls(ctx(t), cutoff, 10)
		if err != nil {
			t.Fatalf("PruneCalls: %v", err)
		}
		if n > 10 {
			t.Fatalf("PruneCalls removed %d rows, limit 10", n)
		}
		if n == 0 {
			break
		}
		pruned += n
	}
	if pruned != int64(len(old)) {
		t.Errorf("pruned %d calls, want %d", pruned, len(old))
	}
	left := listCalls(t, s, tether.CallFilter{}, 50)
	slices.Reverse(recent) // newest first
	if got, want := callIDs(left), callIDs(recent); !slices.Equal(got, want) {
		t.Errorf("left after pruning: %v, want the recent %v", got, want)
	}
}

func testDeleteConnectionPurgesCalls(t *testing.T, s tether.Store) {
	gone, kept := newConnection("acme_wms", "cust-1"), newConnection("acme_wms", "cust-2")
	mustCreate(t, s, gone)
	mustCreate(t, s, kept)
	mustRecord(t, s, newCall(&gone.ID, time.Now()), newCall(&kept.ID, time.Now()), newCall(&gone.ID, time.Now()))
	err := s.DeleteConnection(ctx(t), gone.ID, func(*tether.Connection) ([]tether.Event, error) { return nil, nil })
	if err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if got := listCalls(t, s, tether.CallFilter{ConnectionID: gone.ID}, 10); len(got) != 0 {
		t.Errorf("%d calls of the deleted connection remain", len(got))
	}
	if got := listCalls(t, s, tether.CallFilter{}, 10); len(got) != 1 || *got[0].ConnectionID != kept.ID {
		t.Errorf("calls of the other connection: %+v", got)
	}
}

// Each batch applies the engine to the connection as the database holds it
// then: after its own earlier batches, after other writes of the connection
// (the SQLite store keeps what its batches committed), after a failed batch,
// and not at all once the connection is deleted.
func testRecordCallsSeesEveryWrite(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	mustCreate(t, s, c)
	var seen *tether.Connection
	record := func(change func(*tether.Connection), fail error) error {
		t.Helper()
		return s.RecordCalls(ctx(t), []*tether.Call{newCall(&c.ID, time.Now())},
			func(conn *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
				copied := *conn
				copied.Errors = slices.Clone(conn.Errors)
				seen = &copied
				change(conn)
				return nil, fail
			})
	}
	mustSee := func(step string, check func(*tether.Connection) bool) {
		t.Helper()
		seen = nil
		if err := record(func(*tether.Connection) {}, nil); err != nil {
			t.Fatalf("%s: RecordCalls: %v", step, err)
		}
		if seen == nil || !check(seen) {
			t.Errorf("%s: the next batch saw %+v", step, seen)
		}
	}

	// The batch's own change, an error opening with it.
	err := record(func(conn *tether.Connection) {
		conn.Status = tether.StatusUnhealthy
		conn.Errors = append(conn.Errors, tether.ConnectionError{
			ID: tether.NewID(tether.PrefixError), Type: tether.ErrorInvalidCredentials, Message: "revoked",
			Blocking: true, Resolution: "reinstall", FirstSeenAt: tether.Now(), LastSeenAt: tether.Now(), Occurrences: 1,
		})
	}, nil)
	if err != nil {
		t.Fatalf("RecordCalls: %v", err)
	}
	mustSee("after a batch", func(conn *tether.Connection) bool {
		return conn.Status == tether.StatusUnhealthy && len(conn.Errors) == 1
	})

	// Another write: the error closes and the connection is paused.
	if _, err := s.UpdateConnection(ctx(t), c.ID, func(conn *tether.Connection) ([]tether.Event, error) {
		conn.Errors, conn.Status, conn.State = nil, tether.StatusHealthy, tether.StatePaused
		return nil, nil
	}); err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	mustSee("after UpdateConnection", func(conn *tether.Connection) bool {
		return conn.State == tether.StatePaused && conn.Status == tether.StatusHealthy && len(conn.Errors) == 0
	})

	// New credentials with another change.
	if _, err := s.ReplaceCredentials(ctx(t), c.ID, tether.SealedCredentials{KeyID: "k2", Ciphertext: []byte("y")},
		func(conn *tether.Connection) ([]tether.Event, error) {
			conn.DisplayName = "Reinstalled"
			return nil, nil
		}); err != nil {
		t.Fatalf("ReplaceCredentials: %v", err)
	}
	mustSee("after ReplaceCredentials", func(conn *tether.Connection) bool { return conn.DisplayName == "Reinstalled" })

	// A batch that fails changes nothing the next one sees.
	if err := record(func(conn *tether.Connection) { conn.DisplayName = "Rolled back" }, errors.New("boom")); err == nil {
		t.Fatal("a failing apply did not fail RecordCalls")
	}
	mustSee("after a failed batch", func(conn *tether.Connection) bool { return conn.DisplayName == "Reinstalled" })

	// A batch holding a call stored already (a retried commit) applies its
	// new calls alone, in a transaction of its own.
	stored := newCall(&c.ID, time.Now())
	if err := s.RecordCalls(ctx(t), []*tether.Call{stored}, noApply); err != nil {
		t.Fatalf("RecordCalls: %v", err)
	}
	err = s.RecordCalls(ctx(t), []*tether.Call{stored, newCall(&c.ID, time.Now())},
		func(conn *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
			conn.DisplayName = "Retried"
			return nil, nil
		})
	if err != nil {
		t.Fatalf("RecordCalls with a call stored already: %v", err)
	}
	mustSee("after a retried batch", func(conn *tether.Connection) bool { return conn.DisplayName == "Retried" })

	// A deleted connection is not applied to, and its calls are dropped.
	if err := s.DeleteConnection(ctx(t), c.ID, func(*tether.Connection) ([]tether.Event, error) { return nil, nil }); err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	seen = nil
	if err := record(func(*tether.Connection) {}, nil); err != nil || seen != nil {
		t.Errorf("a batch of a deleted connection: %v, saw %+v", err, seen)
	}
	if got := listCalls(t, s, tether.CallFilter{ConnectionID: c.ID}, 10); len(got) != 0 {
		t.Errorf("%d calls of the deleted connection kept", len(got))
	}
}

// testRecordCallsWritesHealthColumns checks that the health columns a batch
// changes (written for all of a batch's connections at once) come back as
// written, set and cleared, with and without a change of status, for
// connections changed in one batch in different ways.
func testRecordCallsWritesHealthColumns(t *testing.T, s tether.Store) {
	at := func(ms int64) *tether.Time {
		v := tether.Time{Time: time.UnixMilli(1_780_000_000_000 + ms).UTC()}
		return &v
	}
	steps := [][]health{ // per batch, per connection
		{
			{tether.StatusHealthy, at(1), nil, tether.TransientRun{}, *at(1)},
			{tether.StatusNew, nil, nil, tether.TransientRun{Count: 2, Since: at(2), Resource: "orders"}, *at(2)},
			{tether.StatusUnhealthy, at(3), at(4), tether.TransientRun{Count: 1, Since: at(4)}, *at(4)},
		},
		{
			{tether.StatusHealthy, at(5), nil, tether.TransientRun{}, *at(5)},      // health only
			{tether.StatusUnhealthyNow, nil, at(6), tether.TransientRun{}, *at(6)}, // cleared run
			{tether.StatusHealthy, at(7), at(4), tether.TransientRun{}, *at(7)},    // status back, run cleared
		},
	}
	ids := make([]string, len(steps[0]))
	for i := range ids {
		c := newConnection("acme_wms", fmt.Sprintf("cust-%d", i))
		mustCreate(t, s, c)
		ids[i] = c.ID
	}
	for n, step := range steps {
		want := make(map[string]health, len(ids))
		calls := make([]*tether.Call, len(ids))
		for i, id := range ids {
			want[id] = step[i]
			calls[i] = newCall(&id, time.Now())
		}
		err := s.RecordCalls(ctx(t), calls, func(c *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
			h := want[c.ID]
			c.Status, c.LastHealthyAt, c.LastUnhealthyAt, c.Transient, c.UpdatedAt = h.status, h.healthy, h.unhealthy, h.transient, h.updated
			return nil, nil
		})
		if err != nil {
			t.Fatalf("batch %d: RecordCalls: %v", n+1, err)
		}
		for i, id := range ids {
			c, err := s.Connection(ctx(t), id)
			if err != nil {
				t.Fatalf("batch %d: Connection: %v", n+1, err)
			}
			got := health{c.Status, c.LastHealthyAt, c.LastUnhealthyAt, c.Transient, c.UpdatedAt}
			if got.String() != step[i].String() {
				t.Errorf("batch %d, connection %d: health columns %s, want %s", n+1, i, got, step[i])
			}
		}
	}
}

// health is the health columns of a connection.
type health struct {
	status             tether.HealthStatus
	healthy, unhealthy *tether.Time
	transient          tether.TransientRun
	updated            tether.Time
}

func (h health) String() string {
	ms := func(t *tether.Time) string {
		if t == nil {
			return "null"
		}
		return fmt.Sprint(t.Millis())
	}
	return fmt.Sprintf("{%s healthy=%s unhealthy=%s transient=%d/%s/%q updated=%d}", h.status, ms(h.healthy), ms(h.unhealthy),
		h.transient.Count, ms(h.transient.Since), h.transient.Resource, h.updated.Millis())
}
