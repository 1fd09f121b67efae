// Package sqlite is Tether's embedded store: modernc.org/sqlite (pure Go), in
// WAL mode, with one writer connection (SQLite allows one writer at a time;
// queuing in Go is cheaper than SQLITE_BUSY retries) and a pool of read-only
// connections. The queries are shared with the postgres package
// (internal/sqlstore); this package owns opening, pragmas and migrations.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/tetherhq/tether/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the embedded migrations (for the dialect parity test).
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations")
	return sub
}

var dialect = sqlstore.Dialect{
	Name:              "sqlite",
	LockRow:           "",
	IsUniqueViolation: isUniqueViolation,
	Placeholder:       func(int) string { return "?" },
	IDList:            idList,
	BulkInsert:        "INSERT OR ROLLBACK",
	InProcess:         true,
	// DataVersion is set by Open, per database: see dataVersion.
}

// dataVersion returns the store's Dialect.DataVersion for the writer pool
// of writer: PRAGMA data_version of the transaction's connection, which
// changes when another connection commits (only the writer connection of
// this process commits: its readers are query-only). The number counts per
// connection, and a connection opened anew (database/sql replaces one it
// found broken) starts again where an old one may have read the same value:
// so the version also holds which connection of the pool (of one) read it.
func dataVersion(writer *connector) func(context.Context, *sql.Tx) (int64, error) {
	return func(ctx context.Context, tx *sql.Tx) (int64, error) {
		var v int64
		if err := tx.QueryRowContext(ctx, "PRAGMA data_version").Scan(&v); err != nil {
			return 0, fmt.Errorf("read data version: %w", err)
		}
		// The transaction's connection is the last one opened: the pool
		// has one at most.
		return writer.opened.Load()<<40 | v&(1<<40-1), nil
	}
}

// idList passes a list of ids as one JSON array parameter.
func idList(n int, ids []string) (string, any) {
	b, _ := json.Marshal(ids)
	return fmt.Sprintf("IN (SELECT value FROM json_each($%d))", n), string(b)
}

// Open opens (creating if needed) the database file at path, applies pending
// migrations, and returns the store.
func Open(ctx context.Context, path string) (*sqlstore.Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	writer, err := newConnector(dsn(path, roleWriter))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write := sql.OpenDB(writer)
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	migrator, err := sqlstore.NewMigrator(goose.DialectSQLite3, write, Migrations(), nil)
	if err == nil {
		_, err = migrator.Up(ctx)
	}
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("migrate %s: %w", path, err)
	}
	read, err := openDB(path, roleReader)
	if err != nil {
		_ = write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	checkpoints, err := startCheckpointer(path, checkpointInterval)
	if err != nil {
		_ = write.Close()
		_ = read.Close()
		return nil, err
	}
	d := dialect
	d.DataVersion = dataVersion(writer)
	store := sqlstore.New(write, read, d, migrator.Current)
	store.CloseWith(checkpoints.Close)
	return store, nil
}

// openDB opens a pool of connections to the database at path, for role,
// whose statements stay prepared (stmtcache.go).
func openDB(path string, r role) (*sql.DB, error) {
	c, err := newConnector(dsn(path, r))
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// role is what a connection is opened for.
type role int

const (
	roleWriter role = iota
	roleReader
	roleCheckpointer
)

// dsn builds the connection string. The writer takes the write lock when its
// transaction begins (_txlock=immediate), so a transaction never fails halfway
// on a lock upgrade, and leaves checkpoints to the checkpointer (checkpoint.go);
// readers are query-only.
func dsn(path string, r role) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "cache_size(-4000)") // per connection; the OS page cache holds the rest (docs/performance.md)
	// Statement journals (which a multi-row INSERT of the call log writes
	// page by page, to undo the statement alone) and temporary tables in
	// memory, not in temporary files: their pwrite calls were a quarter of
	// the call log's insert time.
	q.Add("_pragma", "temp_store(MEMORY)")
	switch r {
	case roleWriter:
		q.Set("_txlock", "immediate")
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", writerCheckpointPages))
		q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit)) // the writer starts the WAL over, so it cuts it back
	case roleReader:
		q.Add("_pragma", "query_only(ON)")
	case roleCheckpointer:
	}
	return "file:" + path + "?" + q.Encode()
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}
