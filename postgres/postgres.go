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
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
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
	Name:              "postgres",
	LockRow:           " FOR UPDATE",
	IsUniqueViolation: isUniqueViolation,
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
	return sqlstore.New(db, db, dialect, migrator.Current), nil
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}
