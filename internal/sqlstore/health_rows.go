package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	tether "github.com/tetherhq/tether"
)

// The health engine changes a connection's row in the health columns only
// (status, last_healthy_at, last_unhealthy_at, updated_at, transient_*). When
// a batch of calls changes nothing else (the common case: a success moves
// last_healthy_at), the rows of a whole chunk of connections are written with
// one UPDATE instead of one per connection.

// updateHealthColumns writes the health columns of every connection in cs
// with one statement: UPDATE ... FROM v, where v is a VALUES list (SQLite
// 3.33+) or, on PostgreSQL, unnest over one array per column: 8 parameters
// instead of 4,000 for 500 connections, which took a batch of 1,000 calls
// from 79 to 75 ms (BenchmarkRecordCalls, docs/performance.md). status is written only withStatus:
// SQLite rewrites the entries of every index on a column an UPDATE sets, even
// to the value it had, and status is in two indexes of connections. Leaving
// it out where it did not change (a success of a healthy connection, the
// common case) pays with many connections: in a table of 100,000 with these
// two indexes, 50,000 single-row UPDATEs took 2.7 s setting status to its
// own value and 0.23 s without it (modernc SQLite, this machine). With the
// 1,000 connections of BenchmarkRecordCalls the difference is lost in the
// noise: their index pages stay in the cache.
func updateHealthColumns(ctx context.Context, tx *sql.Tx, cs []*tether.Connection, withStatus bool, d Dialect) error {
	if len(cs) == 0 {
		return nil
	}
	var query string
	var args []any
	if d.ArrayParams {
		query, args = healthArraysUpdate(cs, withStatus)
	} else {
		query, args = healthValuesUpdate(cs, withStatus, d)
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("update health of %d connections: %w", len(cs), err)
	}
	return nil
}

// healthValuesUpdate is the health UPDATE as a VALUES list of one
// parameter per value.
func healthValuesUpdate(cs []*tether.Connection, withStatus bool, d Dialect) (string, []any) {
	// Pad the list to a power of two by repeating its last connection (the
	// same values twice update the row the same way), so there are a handful
	// of statement texts, not one per chunk size, for the drivers to keep
	// prepared.
	for len(cs)&(len(cs)-1) != 0 {
		cs = append(cs, cs[len(cs)-1])
	}
	args := make([]any, 0, len(cs)*healthColumnCount)
	for _, c := range cs {
		args = append(args, c.ID, string(c.Status), nullMillis(c.LastHealthyAt), nullMillis(c.LastUnhealthyAt),
			c.UpdatedAt.Millis(), c.Transient.Count, nullMillis(c.Transient.Since), c.Transient.Resource)
	}
	return updateHealthSQL(d, len(cs), withStatus), args
}

// healthArraysUpdate is the health UPDATE with one array parameter per
// column (Dialect.ArrayParams): one short text for any number of rows.
func healthArraysUpdate(cs []*tether.Connection, withStatus bool) (string, []any) {
	ids, statuses, resources := make([]string, len(cs)), make([]string, len(cs)), make([]string, len(cs))
	healthy, unhealthy, since := make([]*int64, len(cs)), make([]*int64, len(cs)), make([]*int64, len(cs))
	updated, counts := make([]int64, len(cs)), make([]int64, len(cs))
	for i, c := range cs {
		ids[i], statuses[i], resources[i] = c.ID, string(c.Status), c.Transient.Resource
		healthy[i], unhealthy[i], since[i] = millisOrNil(c.LastHealthyAt), millisOrNil(c.LastUnhealthyAt), millisOrNil(c.Transient.Since)
		updated[i], counts[i] = c.UpdatedAt.Millis(), int64(c.Transient.Count)
	}
	query := updateHealthFromArraysSQL
	if withStatus {
		query = updateHealthAndStatusFromArraysSQL
	}
	return query, []any{ids, statuses, healthy, unhealthy, updated, counts, since, resources}
}

func millisOrNil(t *tether.Time) *int64 {
	if t == nil {
		return nil
	}
	ms := t.Millis()
	return &ms
}

// healthColumnCount is how many values healthValuesUpdate passes per
// connection.
const healthColumnCount = 8

type updateHealthKey struct {
	dialect    string
	rows       int
	withStatus bool
}

// updateHealthSQL returns the health UPDATE of n connections, built once per
// shape (builtOnce).
func updateHealthSQL(d Dialect, n int, withStatus bool) string {
	return builtOnce(updateHealthKey{d.Name, n, withStatus}, func(b *strings.Builder) {
		b.WriteString(`WITH v (id, status, last_healthy_at, last_unhealthy_at, updated_at,
			transient_count, transient_since, transient_resource) AS (VALUES `)
		for row := range n {
			if row > 0 {
				b.WriteString(", ")
			}
			// Casts give the VALUES columns their types where a NULL has
			// none otherwise (PostgreSQL); SQLite takes them as no-ops.
			marks := make([]any, healthColumnCount)
			for i := range marks {
				marks[i] = d.Placeholder(row*healthColumnCount + i + 1)
			}
			fmt.Fprintf(b, "(CAST(%s AS TEXT), CAST(%s AS TEXT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS TEXT))", marks...)
		}
		b.WriteString(`) UPDATE connections SET ` + healthSet(withStatus) + `
		FROM v WHERE connections.id = v.id`)
	})
}

// healthSet is the SET list of the health UPDATEs, from the columns of v.
func healthSet(withStatus bool) string {
	set := `last_healthy_at = v.last_healthy_at, last_unhealthy_at = v.last_unhealthy_at,
		updated_at = v.updated_at, transient_count = v.transient_count,
		transient_since = v.transient_since, transient_resource = v.transient_resource`
	if withStatus {
		set = "status = v.status, " + set
	}
	return set
}

// The health UPDATEs of Dialect.ArrayParams, rows from unnest.
var (
	updateHealthFromArraysSQL          = updateHealthFromArrays(false)
	updateHealthAndStatusFromArraysSQL = updateHealthFromArrays(true)
)

func updateHealthFromArrays(withStatus bool) string {
	return `UPDATE connections SET ` + healthSet(withStatus) + `
		FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[], $8::text[])
			AS v (id, status, last_healthy_at, last_unhealthy_at, updated_at, transient_count, transient_since, transient_resource)
		WHERE connections.id = v.id`
}

// withHealthOf returns a copy of c with the health columns of h.
func withHealthOf(c, h *tether.Connection) *tether.Connection {
	out := *c
	out.Status, out.LastHealthyAt, out.LastUnhealthyAt = h.Status, h.LastHealthyAt, h.LastUnhealthyAt
	out.UpdatedAt, out.Transient = h.UpdatedAt, h.Transient
	return &out
}

// sameRow reports whether a and b have the same connections row (errors and
// resource states are rows of their own). It compares fields, not JSON: it
// runs for every connection of every call-log batch.
func sameRow(a, b *tether.Connection) bool {
	return a.ID == b.ID && a.IntegrationName == b.IntegrationName && a.CustomerID == b.CustomerID &&
		a.DisplayName == b.DisplayName && a.State == b.State && a.Status == b.Status &&
		sameTime(a.LastHealthyAt, b.LastHealthyAt) && sameTime(a.LastUnhealthyAt, b.LastUnhealthyAt) &&
		a.CreatedAt.Equal(b.CreatedAt.Time) && a.UpdatedAt.Equal(b.UpdatedAt.Time) && a.InstalledAt.Equal(b.InstalledAt.Time) &&
		a.AccountID == b.AccountID && a.Transient.Count == b.Transient.Count &&
		a.Transient.Resource == b.Transient.Resource && sameTime(a.Transient.Since, b.Transient.Since) &&
		reflect.DeepEqual(a.Metadata, b.Metadata)
}

// sameError reports whether two versions of an error have the same row.
func sameError(a, b tether.ConnectionError) bool {
	return a.ID == b.ID && a.Type == b.Type && samePtr(a.Resource, b.Resource) && a.Message == b.Message &&
		a.Blocking == b.Blocking && a.Resolution == b.Resolution && samePtr(a.HTTPStatus, b.HTTPStatus) &&
		a.FirstSeenAt.Equal(b.FirstSeenAt.Time) && a.LastSeenAt.Equal(b.LastSeenAt.Time) && a.Occurrences == b.Occurrences
}

// sameResource reports whether two versions of a resource state are equal.
func sameResource(a, b tether.ResourceState) bool {
	if a.Name != b.Name || a.Access != b.Access || (a.Sync == nil) != (b.Sync == nil) {
		return false
	}
	if a.Sync == nil {
		return true
	}
	x, y := a.Sync, b.Sync
	return x.Status == y.Status && sameTime(x.LastSyncedAt, y.LastSyncedAt) && x.Records == y.Records && samePtr(x.LastError, y.LastError)
}

func sameTime(a, b *tether.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(b.Time))
}

func samePtr[T comparable](a, b *T) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

// cloneConnection copies c deeply enough for a change function to modify
// the copy freely: its slices and metadata map are its own.
func cloneConnection(c *tether.Connection) *tether.Connection {
	out := *c
	out.Errors = slices.Clone(c.Errors) // an empty list stays one: the API shows [], not null
	out.Resources = make([]tether.ResourceState, len(c.Resources))
	for i, r := range c.Resources {
		if r.Sync != nil {
			s := *r.Sync
			r.Sync = &s
		}
		out.Resources[i] = r
	}
	out.Metadata = maps.Clone(c.Metadata)
	return &out
}
