package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/health"
	"github.com/tetherhq/tether/sqlite"
)

var cacheDef = &tether.ProviderDefinition{
	Name: "acme_wms", Category: "wms",
	Resources: []tether.ResourceSpec{
		{Name: "orders", Paths: []string{"/orders"}},
		{Name: "returns", Paths: []string{"/returns"}},
	},
}

// signalCall is a call of connectionID with the given signal, the kinds the
// health engine tells apart: on a resource or not, a credential
// verification, a resource's probe.
func signalCall(connectionID string, r *rand.Rand, at time.Time) *tether.Call {
	c := realisticCall(connectionID)
	c.StartedAt = tether.NewTime(at)
	c.Resource = nil
	if res := []string{"orders", "returns", ""}[r.IntN(3)]; res != "" {
		c.Resource = &res
	}
	status := 200
	switch r.IntN(10) {
	case 0:
		c.Signal, status = tether.SignalAuthFailure, 401
		c.Verification = r.IntN(2) == 0
	case 1:
		c.Signal, status = tether.SignalPermissionFailure, 403
		if r.IntN(2) == 0 {
			c.Source = tether.SourceProbe
		}
	case 2, 3:
		c.Signal, status = tether.SignalTransient, 503
	case 4:
		c.Signal, status = tether.SignalRequestError, 404
	default:
		c.Signal = tether.SignalSuccess
		c.Verification = r.IntN(4) == 0
	}
	c.StatusCode = &status
	c.Outcome = tether.OutcomeFailure
	if c.Signal == tether.SignalSuccess {
		c.Outcome = tether.OutcomeSuccess
	} else {
		msg := fmt.Sprintf("HTTP %d", status)
		c.Error = &msg
	}
	return c
}

// The SQLite store keeps the connections its call-log batches committed
// (applied_cache.go): under the real health engine, opening and closing
// every kind of error, each kept connection must equal the one the
// database holds, field by field.
func TestAppliedConnectionsEqualTheDatabase(t *testing.T) {
	s := openSQLite(t)
	ctx := context.Background()
	ids := make([]string, 5)
	for i := range ids {
		c := newConnection(fmt.Sprintf("cust-%d", i))
		c.Resources[1].Access = tether.AccessUnknown
		if err := s.CreateConnection(ctx, c, tether.SealedCredentials{KeyID: "k", Ciphertext: []byte("x")}); err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	apply := func(c *tether.Connection, calls []*tether.Call) ([]tether.Event, error) {
		return health.ApplyCalls(cacheDef, c, calls, health.Policy{SystemErrorAfter: 3}).Events, nil
	}
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Now().Add(-time.Hour)
	compared, withErrors := 0, 0
	for batch := range 200 {
		calls := make([]*tether.Call, 1+r.IntN(8))
		for i := range calls {
			at = at.Add(time.Duration(r.IntN(3)) * time.Millisecond) // ties too
			calls[i] = signalCall(ids[r.IntN(len(ids))], r, at)
		}
		if err := s.RecordCalls(ctx, calls, apply); err != nil {
			t.Fatalf("batch %d: %v", batch, err)
		}
		for _, id := range ids {
			kept := s.AppliedConnection(id)
			if kept == nil {
				continue
			}
			stored, err := s.Connection(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(kept, stored) {
				logFieldDiffs(t, *kept, *stored)
				t.Fatalf("batch %d: connection %s kept as\n%+v\nstored as\n%+v", batch, id, kept, stored)
			}
			compared++
			if len(stored.Errors) > 0 {
				withErrors++
			}
		}
	}
	if compared < 500 || withErrors < 100 {
		t.Errorf("compared %d kept connections, %d with errors: the test no longer exercises the cache", compared, withErrors)
	}
}

// logFieldDiffs logs the fields in which two connections differ (a nil and
// an empty list print alike).
func logFieldDiffs(t *testing.T, a, b tether.Connection) {
	t.Helper()
	av, bv := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range av.NumField() {
		if !reflect.DeepEqual(av.Field(i).Interface(), bv.Field(i).Interface()) {
			t.Logf("field %s: %#v against %#v", av.Type().Field(i).Name, av.Field(i).Interface(), bv.Field(i).Interface())
		}
	}
}

// A commit by another connection to the database (another process) makes
// the next batch load its connections again, also when the writer connection
// was replaced meanwhile: PRAGMA data_version counts per connection, and a
// connection opened anew (database/sql replaces one it found broken) may read
// the very number its predecessor read before that commit.
func TestAppliedConnectionsAfterAnotherProcessWrites(t *testing.T) {
	for _, tc := range []struct {
		name      string
		reconnect bool
	}{{"same writer connection", false}, {"new writer connection", true}} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tether.db")
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if tc.reconnect {
				s.DB().SetMaxIdleConns(0) // each use of the pool opens a new connection
			}
			ctx := context.Background()
			c := newConnection("cust-1")
			if err := s.CreateConnection(ctx, c, tether.SealedCredentials{KeyID: "k", Ciphertext: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			var seen string
			apply := func(conn *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
				seen = conn.DisplayName
				conn.Status = tether.StatusHealthy
				return nil, nil
			}
			if err := s.RecordCalls(ctx, []*tether.Call{realisticCall(c.ID)}, apply); err != nil {
				t.Fatal(err)
			}
			if s.AppliedConnection(c.ID) == nil {
				t.Fatal("the batch kept nothing")
			}
			other, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			if _, err := other.Exec(`UPDATE connections SET display_name = 'Renamed elsewhere' WHERE id = ?`, c.ID); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordCalls(ctx, []*tether.Call{realisticCall(c.ID)}, apply); err != nil {
				t.Fatal(err)
			}
			if seen != "Renamed elsewhere" {
				t.Errorf("the batch after another process's commit saw display name %q", seen)
			}
		})
	}
}

// PostgreSQL's other instances write too: its batches keep nothing and load
// every connection under its lock.
func TestNothingIsKeptWhereOtherInstancesWrite(t *testing.T) {
	s := openPostgres(t)
	ctx := context.Background()
	c := newConnection("cust-1")
	if err := s.CreateConnection(ctx, c, tether.SealedCredentials{KeyID: "k", Ciphertext: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	touch := func(conn *tether.Connection, _ []*tether.Call) ([]tether.Event, error) {
		conn.Status = tether.StatusHealthy
		return nil, nil
	}
	if err := s.RecordCalls(ctx, []*tether.Call{realisticCall(c.ID)}, touch); err != nil {
		t.Fatal(err)
	}
	if kept := s.AppliedConnection(c.ID); kept != nil {
		t.Errorf("the PostgreSQL store kept connection %s", kept.ID)
	}
}
