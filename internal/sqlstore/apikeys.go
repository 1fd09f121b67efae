package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	tether "github.com/tetherhq/tether"
)

const apiKeyColumns = `id, name, hint, hash, created_at, revoked_at`

// CreateAPIKey saves a new key.
func (s *Store) CreateAPIKey(ctx context.Context, k *tether.APIKey) error {
	return s.inTx(ctx, func(tx *sql.Tx) error { return insertAPIKey(ctx, tx, k) })
}

// CreateFirstAPIKey saves k only if no first key was issued before. The claim
// is a unique row, so of several instances starting at once exactly one wins.
func (s *Store) CreateFirstAPIKey(ctx context.Context, k *tether.APIKey) (bool, error) {
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`INSERT INTO installation_flags (name, created_at) VALUES ('first_api_key', $1) ON CONFLICT (name) DO NOTHING`,
			k.CreatedAt.Millis())
		if err != nil {
			return fmt.Errorf("claim first api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		created = true
		return insertAPIKey(ctx, tx, k)
	})
	return created, err
}

func insertAPIKey(ctx context.Context, tx *sql.Tx, k *tether.APIKey) error {
	_, err := tx.ExecContext(ctx,
		`INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		k.ID, k.Name, k.Hint, k.Hash, k.CreatedAt.Millis(), nullMillis(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("insert api key: %w", err)
	}
	return nil
}

// APIKeys lists every key, newest last.
func (s *Store) APIKeys(ctx context.Context) ([]*tether.APIKey, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	defer rows.Close()
	var keys []*tether.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

// RevokeAPIKey marks a key revoked.
func (s *Store) RevokeAPIKey(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx,
			`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, tether.Now().Millis(), id)
		if err != nil {
			return fmt.Errorf("revoke api key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return tether.Errorf(tether.ENOTFOUND, "no API key %q", id)
		}
		return nil
	})
}

// APIKeyByHash returns the unrevoked key with that hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (*tether.APIKey, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1 AND revoked_at IS NULL`, hash)
	k, err := scanAPIKey(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tether.Errorf(tether.ENOTFOUND, "no such API key")
	}
	return k, err
}

type scanner interface{ Scan(dest ...any) error }

func scanAPIKey(row scanner) (*tether.APIKey, error) {
	var k tether.APIKey
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&k.ID, &k.Name, &k.Hint, &k.Hash, &created, &revoked); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("scan api key: %w", err)
	}
	k.CreatedAt = tether.TimeFromMillis(created)
	k.RevokedAt = timeFromNull(revoked)
	return &k, nil
}
