// Package sqlstore is the store implementation shared by the sqlite and
// postgres packages. Both dialects keep the same tables and column types (times
// as Unix milliseconds, JSON as text), so one set of queries serves both; what
// differs (opening, pools, migrations, row locking, error codes) is given by a
// Dialect. This keeps the two stores from drifting apart: the storetest
// conformance suite runs against both.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"

	tether "github.com/tetherhq/tether"
)

// Dialect is what differs between the databases.
type Dialect struct {
	Name string
	// LockRow is appended to a SELECT of one row that a transaction is about
	// to change: " FOR UPDATE" on PostgreSQL; "" on SQLite, whose single
	// writer connection and BEGIN IMMEDIATE already serialize writers.
	LockRow string
	// IsUniqueViolation reports whether err is a unique-constraint failure.
	IsUniqueViolation func(error) bool
	// Placeholder is the n-th (from 1) parameter marker of statements built
	// with many parameters (the call log's multi-row INSERTs): "$n" on
	// PostgreSQL; "?" on SQLite, which finds each "$n" by a linear search
	// when it parses and binds a statement, quadratic in their number.
	Placeholder func(n int) string
	// CopyIn runs statement, a COPY ... FROM STDIN, with data inside the
	// transaction open on conn (PostgreSQL, in COPY's binary format:
	// copy_calls.go); nil where multi-row INSERTs are the fastest way in
	// (SQLite).
	CopyIn func(ctx context.Context, conn *sql.Conn, statement string, data io.Reader) error
	// BulkInsert starts the multi-row INSERTs of the call log where there
	// is no CopyIn (default "INSERT"). SQLite: "INSERT OR ROLLBACK", which
	// spares it the statement journal an INSERT of many rows keeps to undo
	// itself alone (8 % of a batch's time): a batch that breaks a constraint
	// fails whole anyway, and its transaction is retried (calls.go).
	BulkInsert string
	// InProcess is set where the database runs inside this process
	// (SQLite): a statement cannot hang on a network, and the driver
	// watches a cancellable context with a goroutine per statement. The call
	// log's short INSERTs then run without their context's cancellation,
	// checked between them instead (calls.go, eachInsertChunk).
	InProcess bool
	// DailyCallPartitions is set where call_logs is partitioned by day on
	// started_at (PostgreSQL): the store keeps the coming days' partitions
	// ready and prunes by dropping whole days (calls.go).
	DailyCallPartitions bool
	// IDList makes the SQL for "is one of these ids", as one parameter (the
	// n-th) and its argument, so long lists neither make long statements nor
	// cost a parse per list: PostgreSQL "IN (SELECT unnest($n::text[]))"
	// with a text array, SQLite "IN (SELECT value FROM json_each(?))" with a
	// JSON array.
	IDList func(n int, ids []string) (sql string, arg any)
	// ArrayParams is set where a parameter may be an array of values
	// (PostgreSQL): the health UPDATE of a batch then passes one array per
	// column and reads its rows with unnest, one short statement for any
	// number of rows. Otherwise it is a VALUES list with a parameter per
	// value (health_rows.go).
	ArrayParams bool
	// DataVersion, where set, says that the store is its database's only
	// writer in this process and returns, inside a write transaction, a
	// number that changes whenever another process commits to the database
	// (SQLite: PRAGMA data_version, and which writer connection read it).
	// The call log's batches then keep the
	// connections they wrote (applied_cache.go). Nil (PostgreSQL, whose
	// other instances write too): every batch loads its connections.
	DataVersion func(ctx context.Context, tx *sql.Tx) (int64, error)
}

// Store implements tether.Store over database/sql.
type Store struct {
	write   *sql.DB // transactions and writes; SQLite: one connection
	read    *sql.DB // reads; SQLite: a read-only pool, PostgreSQL: same as write
	dialect Dialect
	// migrated reports whether every migration is applied (for readiness).
	migrated func(context.Context) error
	// targets are the call targets read lately (call_targets.go).
	targets targetCache
	// applied are the connections as the call log's batches committed them
	// (applied_cache.go; used where Dialect.DataVersion is set).
	applied appliedCache
	// closers stop the dialect's background work before the pools close.
	closers []func() error
	// background is the context of the store's own reads in the background
	// (call targets read again), cancelled by Close.
	background     context.Context
	stopBackground context.CancelFunc
}

// CloseWith makes Close call fn first: the dialect's background work on the
// database (SQLite's checkpointer) stops before the pools close.
func (s *Store) CloseWith(fn func() error) { s.closers = append(s.closers, fn) }

var _ tether.Store = (*Store)(nil)

// New returns a store that writes through write and reads through read.
// migrated is called by Ping to check that the schema is current.
func New(write, read *sql.DB, d Dialect, migrated func(context.Context) error) *Store {
	background, stop := context.WithCancel(context.Background())
	return &Store{write: write, read: read, dialect: d, migrated: migrated, background: background, stopBackground: stop}
}

// Ping checks that the database answers and its migrations are applied.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.dialect.Name, err)
	}
	if s.migrated != nil {
		return s.migrated(ctx)
	}
	return nil
}

// Close stops the dialect's background work and closes both pools.
func (s *Store) Close() error {
	s.stopBackground()
	var err error
	for _, closeFn := range s.closers {
		err = errors.Join(err, closeFn())
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// DB returns the writer pool, for dialect-specific work (bulk loads, retention).
func (s *Store) DB() *sql.DB { return s.write }

// inTx runs fn in a write transaction, committing when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share, so readers can run inside or
// outside a transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// nullMillis converts an optional time for a nullable column.
func nullMillis(t *tether.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.Millis(), Valid: true}
}

// timeFromNull converts a nullable column back to an optional time.
func timeFromNull(n sql.NullInt64) *tether.Time {
	if !n.Valid {
		return nil
	}
	t := tether.TimeFromMillis(n.Int64)
	return &t
}
