// Package postgres is Tether's store for several instances sharing the work:
// PostgreSQL through pgx. The queries are shared with the sqlite package
// (internal/sqlstore); this package owns opening, pooling and migrations,
// which take a session advisory lock so instances starting at once migrate
// one after the other.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib" // also registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

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
	Name:                "postgres",
	LockRow:             " FOR UPDATE",
	IsUniqueViolation:   isUniqueViolation,
	DailyCallPartitions: true,
	Placeholder:         func(n int) string { return "$" + strconv.Itoa(n) },
	CopyIn:              copyIn,
	ArrayParams:         true,
	// Not "= ANY($n)": with the array a parameter, a sequential scan (the
	// plan of a small table) compares every row with every id, and loading
	// the resource states of 500 connections took 11 ms; as a join on the
	// unnested ids it takes 0.7 ms (docs/performance.md).
	IDList: func(n int, ids []string) (string, any) {
		return "IN (SELECT unnest($" + strconv.Itoa(n) + "::text[]))", ids
	},
}

// Open connects to the database at url (postgres://...), applies pending
// migrations, and returns the store.
func Open(ctx context.Context, url string) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	migrator, err := sqlstore.NewMigrator(goose.DialectPostgres, db, Migrations(), locker)
	if err == nil {
		_, err = migrator.Up(ctx)
	}
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("migrate postgres: %w", err)
	}
	store := sqlstore.New(db, db, dialect, migrator.Current)
	if err := store.EnsureCallPartitions(ctx, time.Now()); err != nil {
		_ = db.Close()
		return nil, err
	}
	return store, nil
}

// copyIn runs a COPY ... FROM STDIN with data, inside the transaction open
// on conn: the fastest way in for the call log's batches.
func copyIn(ctx context.Context, conn *sql.Conn, statement string, data io.Reader) error {
	return sqlstore.RawInTx(conn, func(driverConn any) error {
		_, err := driverConn.(*stdlib.Conn).Conn().PgConn().CopyFrom(ctx, data, statement)
		return err
	})
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
