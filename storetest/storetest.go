// Package storetest is the conformance suite every tether.Store passes. The
// sqlite and postgres packages run it against a real database.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
)

// Open returns a new, empty, migrated store for one test.
type Open func(t *testing.T) tether.Store

// Run runs the whole suite.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(*testing.T, tether.Store)
	}{
		{"ConnectionRoundTrip", testConnectionRoundTrip},
		{"ConnectionNotFound", testConnectionNotFound},
		{"DuplicateConnection", testDuplicateConnection},
		{"ListFiltersAndPages", testListFiltersAndPages},
		{"UpdateSavesChangesAndEvents", testUpdateSavesChangesAndEvents},
		{"FailedUpdateSavesNothing", testFailedUpdateSavesNothing},
		{"ConcurrentUpdatesLoseNothing", testConcurrentUpdatesLoseNothing},
		{"DeletePurgesEverything", testDeletePurgesEverything},
		{"ReplaceCredentials", testReplaceCredentials},
		{"CallTarget", testCallTarget},
		{"CallTargetSeesWrites", testCallTargetSeesWrites},
		{"EventFeed", testEventFeed},
		{"APIKeys", testAPIKeys},
		{"FirstAPIKeyOnce", testFirstAPIKeyOnce},
		{"Ping", testPing},
		{"CallRoundTrip", testCallRoundTrip},
		{"CallWithOddBytes", testCallWithOddBytes},
		{"CallFiltersAndPages", testCallFiltersAndPages},
		{"RecordCallsAppliesPerConnection", testRecordCallsAppliesPerConnection},
		{"FailedApplySavesNothing", testFailedApplySavesNothing},
		{"CallsOfUnknownConnection", testCallsOfUnknownConnection},
		{"RecordCallsTwice", testRecordCallsTwice},
		{"RecordCallsSeesEveryWrite", testRecordCallsSeesEveryWrite},
		{"RecordCallsWritesHealthColumns", testRecordCallsWritesHealthColumns},
		{"PruneCalls", testPruneCalls},
		{"DeleteConnectionPurgesCalls", testDeleteConnectionPurgesCalls},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() { _ = s.Close() })
			tt.fn(t, s)
		})
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// newConnection returns a valid connection for tests.
func newConnection(integration, customer string) *tether.Connection {
	now := tether.Now()
	return &tether.Connection{
		ID:              tether.NewID(tether.PrefixConnection),
		IntegrationName: integration,
		CustomerID:      customer,
		DisplayName:     integration + " (" + customer + ")",
		State:           tether.StateActive,
		Status:          tether.StatusNew,
		CreatedAt:       now, UpdatedAt: now, InstalledAt: now,
		Metadata:  map[string]any{"plan": "pro", "seats": float64(3)},
		Errors:    []tether.ConnectionError{},
		Resources: []tether.ResourceState{},
	}
}

var sealed = tether.SealedCredentials{KeyID: "k1", Ciphertext: []byte("opaque-ciphertext")}

func mustCreate(t *testing.T, s tether.Store, c *tether.Connection, events ...tether.Event) {
	t.Helper()
	if err := s.CreateConnection(ctx(t), c, sealed, events...); err != nil {
		t.Fatalf("CreateConnection: %v", err)
	}
}

func strPtr(s string) *string { return &s }
func intPtr(i int) *int       { return &i }

func testConnectionRoundTrip(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	healthy := tether.NewTime(time.Now().Add(-time.Hour))
	c.LastHealthyAt = &healthy
	c.AccountID = "acct_1"
	c.Errors = []tether.ConnectionError{{
		ID: tether.NewID(tether.PrefixError), Type: tether.ErrorMissingPermission, Resource: strPtr("returns"),
		Message: "no access to returns", Blocking: false, Resolution: "grant_permission", HTTPStatus: intPtr(403),
		FirstSeenAt: healthy, LastSeenAt: healthy, Occurrences: 2,
	}}
	c.Resources = []tether.ResourceState{
		{Name: "orders", Access: tether.AccessGranted, Sync: &tether.SyncState{Status: tether.SyncSynced, LastSyncedAt: &healthy, Records: 12}},
		{Name: "returns", Access: tether.AccessDenied},
	}
	mustCreate(t, s, c)

	got, err := s.Connection(ctx(t), c.ID)
	if err != nil {
		t.Fatalf("Connection: %v", err)
	}
	assertSameJSON(t, "connection", got, c)
	if got.AccountID != "acct_1" {
		t.Errorf("AccountID = %q, want acct_1", got.AccountID)
	}
	creds, err := s.Credentials(ctx(t), c.ID)
	if err != nil {
		t.Fatalf("Credentials: %v", err)
	}
	if creds.KeyID != sealed.KeyID || string(creds.Ciphertext) != string(sealed.Ciphertext) {
		t.Errorf("Credentials = %+v, want %+v", creds, sealed)
	}
}

func testConnectionNotFound(t *testing.T, s tether.Store) {
	_, err := s.Connection(ctx(t), "conn_missing")
	if !tether.IsNotFound(err) {
		t.Fatalf("Connection(missing) error = %v, want not found", err)
	}
	_, err = s.UpdateConnection(ctx(t), "conn_missing", func(*tether.Connection) ([]tether.Event, error) { return nil, nil })
	if !tether.IsNotFound(err) {
		t.Fatalf("UpdateConnection(missing) error = %v, want not found", err)
	}
	err = s.DeleteConnection(ctx(t), "conn_missing", func(*tether.Connection) ([]tether.Event, error) { return nil, nil })
	if !tether.IsNotFound(err) {
		t.Fatalf("DeleteConnection(missing) error = %v, want not found", err)
	}
	if _, err := s.Credentials(ctx(t), "conn_missing"); !tether.IsNotFound(err) {
		t.Fatalf("Credentials(missing) error = %v, want not found", err)
	}
}

func testDuplicateConnection(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	mustCreate(t, s, c)
	err := s.CreateConnection(ctx(t), c, sealed, tether.NewEvent(tether.EventConnectionCreated, c.ID, c))
	if tether.ErrorCodeOf(err) != tether.ECONFLICT {
		t.Fatalf("second CreateConnection error = %v, want conflict", err)
	}
	events, _, err := s.Events(ctx(t), tether.EventFilter{Limit: 10})
	if err != nil || len(events) != 0 {
		t.Fatalf("a failed create appended events: %v, %v", events, err)
	}
}

func testListFiltersAndPages(t *testing.T, s tether.Store) {
	var all []*tether.Connection
	for i := range 7 {
		integration := "acme_wms"
		if i%2 == 1 {
			integration = "github"
		}
		c := newConnection(integration, fmt.Sprintf("cust-%d", i%3))
		switch i {
		case 1, 3:
			c.Status = tether.StatusUnhealthy
			c.Errors = []tether.ConnectionError{{
				ID: tether.NewID(tether.PrefixError), Type: tether.ErrorInvalidCredentials, Message: "revoked",
				Blocking: true, Resolution: "reinstall", FirstSeenAt: c.CreatedAt, LastSeenAt: c.CreatedAt, Occurrences: 1,
			}}
		case 4:
			c.State = tether.StatePaused
		}
		mustCreate(t, s, c)
		all = append(all, c)
	}
	yes, no := true, false
	cases := []struct {
		name   string
		filter tether.ConnectionFilter
		want   []int
	}{
		{"all", tether.ConnectionFilter{}, []int{0, 1, 2, 3, 4, 5, 6}},
		{"integration", tether.ConnectionFilter{IntegrationName: "github"}, []int{1, 3, 5}},
		{"customer", tether.ConnectionFilter{CustomerID: "cust-0"}, []int{0, 3, 6}},
		{"status", tether.ConnectionFilter{Status: tether.StatusUnhealthy}, []int{1, 3}},
		{"status and integration", tether.ConnectionFilter{Status: tether.StatusUnhealthy, IntegrationName: "github", CustomerID: "cust-0"}, []int{3}},
		{"state", tether.ConnectionFilter{State: tether.StatePaused}, []int{4}},
		{"has errors", tether.ConnectionFilter{HasErrors: &yes}, []int{1, 3}},
		{"has no errors", tether.ConnectionFilter{HasErrors: &no}, []int{0, 2, 4, 5, 6}},
		{"error type", tether.ConnectionFilter{ErrorType: tether.ErrorInvalidCredentials}, []int{1, 3}},
		{"other error type", tether.ConnectionFilter{ErrorType: tether.ErrorSyncError}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			for _, i := range tc.want {
				want = append(want, all[i].ID)
			}
			got := collectPages(t, s, tc.filter, 2)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("ids = %v, want %v", got, want)
			}
		})
	}
	list, _, err := s.Connections(ctx(t), tether.ConnectionFilter{IntegrationName: "github", Limit: 1})
	if err != nil || len(list) != 1 || len(list[0].Errors) != 1 {
		t.Fatalf("listed connection lacks its errors: %+v, %v", list, err)
	}
}

// collectPages walks every page of size limit and returns the ids in order.
func collectPages(t *testing.T, s tether.Store, f tether.ConnectionFilter, limit int) []string {
	t.Helper()
	var ids []string
	f.Limit = limit
	for range 100 {
		page, more, err := s.Connections(ctx(t), f)
		if err != nil {
			t.Fatalf("Connections(%+v): %v", f, err)
		}
		if len(page) > limit {
			t.Fatalf("page of %d, limit %d", len(page), limit)
		}
		for _, c := range page {
			ids = append(ids, c.ID)
		}
		if !more {
			return ids
		}
		f.After = page[len(page)-1].ID
	}
	t.Fatal("pagination does not end")
	return nil
}

func testUpdateSavesChangesAndEvents(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	c.Errors = []tether.ConnectionError{{
		ID: tether.NewID(tether.PrefixError), Type: tether.ErrorSystemError, Message: "down",
		Resolution: "retry_later", FirstSeenAt: c.CreatedAt, LastSeenAt: c.CreatedAt, Occurrences: 1,
	}}
	mustCreate(t, s, c)
	later := tether.NewTime(time.Now().Add(time.Minute))
	newError := tether.ConnectionError{
		ID: tether.NewID(tether.PrefixError), Type: tether.ErrorMissingPermission, Resource: strPtr("orders"),
		Message: "no orders", Resolution: "grant_permission", FirstSeenAt: later, LastSeenAt: later, Occurrences: 1,
	}
	updated, err := s.UpdateConnection(ctx(t), c.ID, func(c *tether.Connection) ([]tether.Event, error) {
		c.DisplayName = "Renamed"
		c.Metadata = map[string]any{"replaced": true}
		c.State = tether.StatePaused
		c.Status = tether.StatusUnhealthyNow
		c.LastUnhealthyAt = &later
		c.UpdatedAt = later
		c.Errors = []tether.ConnectionError{newError} // the system error closes
		c.Resources = []tether.ResourceState{{Name: "orders", Access: tether.AccessDenied}}
		return []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, c)}, nil
	})
	if err != nil {
		t.Fatalf("UpdateConnection: %v", err)
	}
	got, err := s.Connection(ctx(t), c.ID)
	if err != nil {
		t.Fatalf("Connection: %v", err)
	}
	assertSameJSON(t, "updated connection", got, updated)
	if got.DisplayName != "Renamed" || got.State != tether.StatePaused || len(got.Errors) != 1 ||
		got.Errors[0].ID != newError.ID || len(got.Resources) != 1 || got.Metadata["replaced"] != true {
		t.Errorf("update not saved: %+v", got)
	}
	events, _, err := s.Events(ctx(t), tether.EventFilter{ConnectionID: c.ID, Limit: 10})
	if err != nil || len(events) != 1 || events[0].Type != tether.EventConnectionUpdated {
		t.Fatalf("events = %+v, %v; want one connection.updated", events, err)
	}
}

func testFailedUpdateSavesNothing(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	mustCreate(t, s, c)
	boom := errors.New("boom")
	_, err := s.UpdateConnection(ctx(t), c.ID, func(c *tether.Connection) ([]tether.Event, error) {
		c.DisplayName = "Should not stick"
		return []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, c)}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateConnection error = %v, want boom", err)
	}
	got, _ := s.Connection(ctx(t), c.ID)
	if got.DisplayName != c.DisplayName {
		t.Errorf("display name = %q after a failed update", got.DisplayName)
	}
	if events, _, _ := s.Events(ctx(t), tether.EventFilter{Limit: 10}); len(events) != 0 {
		t.Errorf("a failed update appended %d events", len(events))
	}
}

func testConcurrentUpdatesLoseNothing(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	c.Metadata = map[string]any{"n": float64(0)}
	mustCreate(t, s, c)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				_, err := s.UpdateConnection(ctx(t), c.ID, func(c *tether.Connection) ([]tether.Event, error) {
					c.Metadata["n"] = c.Metadata["n"].(float64) + 1
					return []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, map[string]any{"n": c.Metadata["n"]})}, nil
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent update: %v", err)
	}
	got, _ := s.Connection(ctx(t), c.ID)
	if got.Metadata["n"] != float64(workers*each) {
		t.Errorf("counter = %v after %d updates: updates were lost", got.Metadata["n"], workers*each)
	}
	events, _, _ := s.Events(ctx(t), tether.EventFilter{Limit: 500})
	if len(events) != workers*each {
		t.Errorf("%d events for %d updates", len(events), workers*each)
	}
}

func testDeletePurgesEverything(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	c.Errors = []tether.ConnectionError{{
		ID: tether.NewID(tether.PrefixError), Type: tether.ErrorInvalidCredentials, Message: "revoked",
		Blocking: true, Resolution: "reinstall", FirstSeenAt: c.CreatedAt, LastSeenAt: c.CreatedAt, Occurrences: 1,
	}}
	c.Resources = []tether.ResourceState{{Name: "orders", Access: tether.AccessGranted}}
	mustCreate(t, s, c)
	other := newConnection("acme_wms", "cust-2")
	mustCreate(t, s, other)
	err := s.DeleteConnection(ctx(t), c.ID, func(c *tether.Connection) ([]tether.Event, error) {
		return []tether.Event{tether.NewEvent(tether.EventConnectionDeleted, c.ID, map[string]string{"connection_id": c.ID})}, nil
	})
	if err != nil {
		t.Fatalf("DeleteConnection: %v", err)
	}
	if _, err := s.Connection(ctx(t), c.ID); !tether.IsNotFound(err) {
		t.Errorf("deleted connection still found: %v", err)
	}
	if _, err := s.Credentials(ctx(t), c.ID); !tether.IsNotFound(err) {
		t.Errorf("deleted connection's credentials still found: %v", err)
	}
	yes := true
	list, _, _ := s.Connections(ctx(t), tether.ConnectionFilter{HasErrors: &yes, Limit: 10})
	if len(list) != 0 {
		t.Errorf("errors of a deleted connection remain: %+v", list)
	}
	if _, err := s.Connection(ctx(t), other.ID); err != nil {
		t.Errorf("deleting one connection touched another: %v", err)
	}
	events, _, _ := s.Events(ctx(t), tether.EventFilter{Type: tether.EventConnectionDeleted, Limit: 10})
	if len(events) != 1 {
		t.Errorf("%d connection.deleted events, want 1", len(events))
	}
}

func testEventFeed(t *testing.T, s tether.Store) {
	a := newConnection("acme_wms", "cust-1")
	b := newConnection("acme_wms", "cust-2")
	mustCreate(t, s, a, tether.NewEvent(tether.EventConnectionCreated, a.ID, a))
	mustCreate(t, s, b, tether.NewEvent(tether.EventConnectionCreated, b.ID, b))
	_, err := s.UpdateConnection(ctx(t), a.ID, func(c *tether.Connection) ([]tether.Event, error) {
		return []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, c)}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	all, more, err := s.Events(ctx(t), tether.EventFilter{Limit: 10})
	if err != nil || more || len(all) != 3 {
		t.Fatalf("Events = %d events, more=%v, %v; want 3", len(all), more, err)
	}
	if all[0].ConnectionID != a.ID || all[1].ConnectionID != b.ID || all[2].Type != tether.EventConnectionUpdated {
		t.Errorf("events out of order: %+v", all)
	}
	var data tether.Connection
	if err := json.Unmarshal(all[0].Data, &data); err != nil || data.ID != a.ID {
		t.Errorf("event data = %s (%v), want the connection", all[0].Data, err)
	}
	after, _, _ := s.Events(ctx(t), tether.EventFilter{After: all[0].ID, Limit: 10})
	if len(after) != 2 || after[0].ID != all[1].ID {
		t.Errorf("after %s: %+v", all[0].ID, after)
	}
	page, more, _ := s.Events(ctx(t), tether.EventFilter{Limit: 2})
	if len(page) != 2 || !more {
		t.Errorf("limit 2: %d events, more=%v", len(page), more)
	}
	byType, _, _ := s.Events(ctx(t), tether.EventFilter{Type: tether.EventConnectionUpdated, Limit: 10})
	if len(byType) != 1 {
		t.Errorf("type filter: %d events, want 1", len(byType))
	}
	byConn, _, _ := s.Events(ctx(t), tether.EventFilter{ConnectionID: b.ID, Limit: 10})
	if len(byConn) != 1 || byConn[0].ConnectionID != b.ID {
		t.Errorf("connection filter: %+v", byConn)
	}
	if _, _, err := s.Events(ctx(t), tether.EventFilter{After: "evt_unknown", Limit: 10}); tether.ErrorCodeOf(err) != tether.EINVALID {
		t.Errorf("unknown after: error %v, want invalid", err)
	}
}

func testAPIKeys(t *testing.T, s tether.Store) {
	k, secret := tether.NewAPIKey("ci")
	if err := s.CreateAPIKey(ctx(t), k); err != nil {
		t.Fatalf("CreateAPIKey: %v", err)
	}
	got, err := s.APIKeyByHash(ctx(t), tether.HashAPIKey(secret))
	if err != nil || got.ID != k.ID || got.Name != "ci" {
		t.Fatalf("APIKeyByHash = %+v, %v", got, err)
	}
	if _, err := s.APIKeyByHash(ctx(t), tether.HashAPIKey(secret+"x")); !tether.IsNotFound(err) {
		t.Errorf("wrong secret: %v, want not found", err)
	}
	if err := s.RevokeAPIKey(ctx(t), k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if _, err := s.APIKeyByHash(ctx(t), tether.HashAPIKey(secret)); !tether.IsNotFound(err) {
		t.Errorf("revoked key still accepted: %v", err)
	}
	if err := s.RevokeAPIKey(ctx(t), "key_missing"); !tether.IsNotFound(err) {
		t.Errorf("revoke missing: %v, want not found", err)
	}
	keys, err := s.APIKeys(ctx(t))
	if err != nil || len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Errorf("APIKeys = %+v, %v", keys, err)
	}
}

func testFirstAPIKeyOnce(t *testing.T, s tether.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, _ := tether.NewAPIKey("admin")
			ok, err := s.CreateFirstAPIKey(ctx(t), k)
			if err != nil {
				t.Errorf("CreateFirstAPIKey: %v", err)
			}
			if ok {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d first keys created, want exactly 1", created)
	}
	keys, _ := s.APIKeys(ctx(t))
	if len(keys) != 1 {
		t.Errorf("%d keys stored, want 1", len(keys))
	}
}

func testPing(t *testing.T, s tether.Store) {
	if err := s.Ping(ctx(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testReplaceCredentials(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	mustCreate(t, s, c)
	replacement := tether.SealedCredentials{KeyID: "k2", Ciphertext: []byte("new-ciphertext")}
	_, err := s.ReplaceCredentials(ctx(t), c.ID, replacement, func(c *tether.Connection) ([]tether.Event, error) {
		c.InstalledAt = tether.NewTime(time.Now().Add(time.Hour))
		return []tether.Event{tether.NewEvent(tether.EventConnectionUpdated, c.ID, c)}, nil
	})
	if err != nil {
		t.Fatalf("ReplaceCredentials: %v", err)
	}
	got, _ := s.Credentials(ctx(t), c.ID)
	if got.KeyID != "k2" || string(got.Ciphertext) != "new-ciphertext" {
		t.Errorf("credentials = %+v", got)
	}
	_, err = s.ReplaceCredentials(ctx(t), c.ID, sealed, func(*tether.Connection) ([]tether.Event, error) {
		return nil, errors.New("refused")
	})
	if err == nil {
		t.Fatal("a failed change replaced the credentials")
	}
	if got, _ := s.Credentials(ctx(t), c.ID); got.KeyID != "k2" {
		t.Errorf("a failed change replaced the credentials: %+v", got)
	}
}

func testCallTarget(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	c.State = tether.StatePaused
	mustCreate(t, s, c)
	got, err := s.CallTarget(ctx(t), c.ID)
	if err != nil {
		t.Fatalf("CallTarget: %v", err)
	}
	if got.ConnectionID != c.ID || got.IntegrationName != "acme_wms" || got.State != tether.StatePaused ||
		got.Credentials.KeyID != sealed.KeyID || string(got.Credentials.Ciphertext) != string(sealed.Ciphertext) {
		t.Errorf("CallTarget = %+v", got)
	}
	if _, err := s.CallTarget(ctx(t), "conn_missing"); !tether.IsNotFound(err) {
		t.Errorf("CallTarget(missing): %v, want not found", err)
	}
}

// A store may keep call targets for a moment, but its own writes show at
// once: the proxy must stop at a pause and use new credentials from the
// next request on.
func testCallTargetSeesWrites(t *testing.T, s tether.Store) {
	c := newConnection("acme_wms", "cust-1")
	mustCreate(t, s, c)
	target := func() *tether.CallTarget {
		t.Helper()
		got, err := s.CallTarget(ctx(t), c.ID)
		if err != nil {
			t.Fatalf("CallTarget: %v", err)
		}
		return got
	}
	if got := target(); got.State != tether.StateActive {
		t.Fatalf("state %s, want active", got.State)
	}
	if _, err := s.UpdateConnection(ctx(t), c.ID, func(c *tether.Connection) ([]tether.Event, error) {
		c.State = tether.StatePaused
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := target(); got.State != tether.StatePaused {
		t.Errorf("state %s right after a pause, want paused", got.State)
	}
	fresh := tether.SealedCredentials{KeyID: sealed.KeyID, Ciphertext: []byte("new sealed bytes")}
	if _, err := s.ReplaceCredentials(ctx(t), c.ID, fresh, func(*tether.Connection) ([]tether.Event, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if got := target(); string(got.Credentials.Ciphertext) != "new sealed bytes" {
		t.Errorf("credentials %q right after they were replaced, want the new ones", got.Credentials.Ciphertext)
	}
	resume := func(c *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
		c.State = tether.StateActive
		return nil, nil
	}
	if err := s.RecordCalls(ctx(t), []*tether.Call{newCall(&c.ID, time.Now())}, resume); err != nil {
		t.Fatal(err)
	}
	if got := target(); got.State != tether.StateActive {
		t.Errorf("state %s right after a batch of calls resumed it, want active", got.State)
	}
	if err := s.DeleteConnection(ctx(t), c.ID, func(*tether.Connection) ([]tether.Event, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CallTarget(ctx(t), c.ID); !tether.IsNotFound(err) {
		t.Errorf("CallTarget right after a deletion: %v, want not found", err)
	}
}
