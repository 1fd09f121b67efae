package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrator applies a dialect's embedded migrations with goose.
type Migrator struct{ provider *goose.Provider }

// NewMigrator prepares the migrations in fsys (the root of the dialect's
// migrations folder). A non-nil locker serializes instances that start at once.
func NewMigrator(dialect goose.Dialect, db *sql.DB, fsys fs.FS, locker lock.SessionLocker) (*Migrator, error) {
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{provider: p}, nil
}

// Up applies every pending migration and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	results, err := m.provider.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("apply migrations: %w", err)
	}
	return len(results), nil
}

// Current returns an error unless every migration is applied.
func (m *Migrator) Current(ctx context.Context) error {
	current, target, err := m.provider.GetVersions(ctx)
	if err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if current < target {
		return fmt.Errorf("schema version %d is behind %d: run `tether migrate`", current, target)
	}
	return nil
}
