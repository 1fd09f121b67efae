package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/sqlstore"
)

// progressEvery is how many connections pass between progress reports.
const progressEvery = 10_000

// SeedOneByOne stores n connections from fleet through the store's own
// CreateConnection, one transaction each: exactly what the connection
// service writes. It returns their ids in creation order.
func SeedOneByOne(ctx context.Context, store tether.ConnectionStore, fleet *Fleet, n int, progress func(done int)) ([]string, error) {
	ids := make([]string, 0, n)
	for len(ids) < n {
		fx, err := fleet.Next()
		if err != nil {
			return nil, err
		}
		if err := store.CreateConnection(ctx, fx.Connection, fx.Credentials, fx.Event); err != nil {
			return nil, fmt.Errorf("create connection %d: %w", len(ids)+1, err)
		}
		ids = append(ids, fx.Connection.ID)
		if progress != nil && len(ids)%progressEvery == 0 {
			progress(len(ids))
		}
	}
	return ids, nil
}

// bulkBatch is how many connections one transaction of multi-row INSERTs
// carries: enough to make round trips cheap, few enough to stay well under
// SQLite's 32,766 and PostgreSQL's 65,535 bind parameters per statement (a
// connection has a handful of resources and at most two errors).
const bulkBatch = 500

// SeedBulk stores n connections from fleet with multi-row INSERTs through
// db, a store's writer pool ((*sqlstore.Store).DB). It writes the same rows
// with the same column types as the store's CreateConnection (see
// TestBulkSeedReadsBackLikeTheStore) in a fraction of the round trips,
// which matters on PostgreSQL where one transaction per connection makes
// seeding 100,000 take minutes. It returns the ids in creation order.
func SeedBulk(ctx context.Context, db *sql.DB, fleet *Fleet, n int, progress func(done int)) ([]string, error) {
	ids := make([]string, 0, n)
	for len(ids) < n {
		batch := make([]Fixture, min(bulkBatch, n-len(ids)))
		for i := range batch {
			fx, err := fleet.Next()
			if err != nil {
				return nil, err
			}
			batch[i] = fx
		}
		if err := insertBatch(ctx, db, batch); err != nil {
			return nil, err
		}
		for _, fx := range batch {
			ids = append(ids, fx.Connection.ID)
		}
		if progress != nil && len(ids)%progressEvery < len(batch) {
			progress(len(ids))
		}
	}
	return ids, nil
}

// Analyze refreshes the query planner's statistics after seeding, as an
// operator's maintenance would have on a database that grew over months.
func Analyze(ctx context.Context, db *sql.DB, dialect string) error {
	statement := AnalyzeStatement(dialect)
	if _, err := db.ExecContext(ctx, statement); err != nil {
		return fmt.Errorf("%s: %w", strings.ToLower(statement), err)
	}
	return nil
}

// AnalyzeStatement is what Analyze runs. On PostgreSQL it also vacuums, as
// autovacuum would have, so that freshly loaded pages do not get their hint
// bits written during the measurement.
func AnalyzeStatement(dialect string) string {
	if dialect == "postgres" {
		return "VACUUM ANALYZE"
	}
	return "ANALYZE"
}

// The tables and columns that CreateConnection writes, copied from
// internal/sqlstore (connections.go, events.go); the values below have the
// Go types the store passes for them.
var (
	connectionsTable = table{"connections", "id, integration_name, customer_id, display_name, state, status, " +
		"last_healthy_at, last_unhealthy_at, created_at, updated_at, installed_at, metadata, account_id"}
	credentialsTable = table{"credentials", "connection_id, key_id, ciphertext, updated_at"}
	errorsTable      = table{"connection_errors", "id, connection_id, error_type, resource, message, blocking, resolution, " +
		"http_status, first_seen_at, last_seen_at, occurrences"}
	resourcesTable = table{"resource_states", "connection_id, name, access, sync_status, last_synced_at, records, last_error"}
	eventsTable    = table{"events", "id, type, connection_id, created_at, data"}
)

type table struct{ name, columns string }

// insertBatch writes the rows of batch, table by table, in one transaction.
func insertBatch(ctx context.Context, db *sql.DB, batch []Fixture) error {
	rows := map[table][][]any{}
	now := tether.Now().Millis()
	for _, fx := range batch {
		c := fx.Connection
		row, err := connectionRow(c)
		if err != nil {
			return err
		}
		rows[connectionsTable] = append(rows[connectionsTable], row)
		rows[credentialsTable] = append(rows[credentialsTable], []any{c.ID, fx.Credentials.KeyID, fx.Credentials.Ciphertext, now})
		for _, e := range c.Errors {
			rows[errorsTable] = append(rows[errorsTable], sqlstore.ErrorRow(c.ID, e))
		}
		for _, r := range c.Resources {
			rows[resourcesTable] = append(rows[resourcesTable], sqlstore.ResourceRow(c.ID, r))
		}
		e := fx.Event
		rows[eventsTable] = append(rows[eventsTable], []any{e.ID, e.Type, e.ConnectionID, e.CreatedAt.Millis(), []byte(e.Data)})
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin seeding transaction: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, t := range []table{connectionsTable, credentialsTable, errorsTable, resourcesTable, eventsTable} {
		if len(rows[t]) == 0 {
			continue
		}
		query, args := insertRows(t, rows[t])
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("insert into %s: %w", t.name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit seeding transaction: %w", err)
	}
	return nil
}

// insertRows builds one INSERT of all rows, with $n placeholders (which both
// SQLite and PostgreSQL accept).
func insertRows(t table, rows [][]any) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, len(rows)*len(rows[0]))
	b.WriteString("INSERT INTO " + t.name + " (" + t.columns + ") VALUES ")
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j, v := range row {
			if j > 0 {
				b.WriteString(", ")
			}
			args = append(args, v)
			fmt.Fprintf(&b, "$%d", len(args))
		}
		b.WriteByte(')')
	}
	return b.String(), args
}

func connectionRow(c *tether.Connection) ([]any, error) {
	metadata, err := json.Marshal(c.Metadata)
	if err != nil {
		return nil, fmt.Errorf("encode metadata of %s: %w", c.ID, err)
	}
	return []any{c.ID, c.IntegrationName, c.CustomerID, c.DisplayName, string(c.State), string(c.Status),
		nullMillis(c.LastHealthyAt), nullMillis(c.LastUnhealthyAt),
		c.CreatedAt.Millis(), c.UpdatedAt.Millis(), c.InstalledAt.Millis(), metadata, c.AccountID}, nil
}

func nullMillis(t *tether.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.Millis(), Valid: true}
}
