package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	tether "github.com/tetherhq/tether"
)

// appendEvents writes events to the outbox inside tx, so they commit (or not)
// with the change they describe.
func appendEvents(ctx context.Context, tx *sql.Tx, events []tether.Event) error {
	for _, e := range events {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO events (id, type, connection_id, created_at, data) VALUES ($1, $2, $3, $4, $5)`,
			e.ID, e.Type, e.ConnectionID, e.CreatedAt.Millis(), []byte(e.Data))
		if err != nil {
			return fmt.Errorf("append event %s: %w", e.Type, err)
		}
	}
	return nil
}

// Events returns events oldest first after f.After.
func (s *Store) Events(ctx context.Context, f tether.EventFilter) ([]tether.Event, bool, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.After != "" {
		var seq int64
		err := s.read.QueryRowContext(ctx, `SELECT seq FROM events WHERE id = $1`, f.After).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, &tether.Error{Code: tether.EINVALID, Message: fmt.Sprintf("after: no event %q", f.After),
				Fields: []tether.FieldError{{Location: "query.after", Message: "unknown event id", Value: f.After}}}
		}
		if err != nil {
			return nil, false, fmt.Errorf("find event %s: %w", f.After, err)
		}
		where = append(where, "seq > "+arg(seq))
	}
	if f.Type != "" {
		where = append(where, "type = "+arg(f.Type))
	}
	if f.ConnectionID != "" {
		where = append(where, "connection_id = "+arg(f.ConnectionID))
	}
	query := `SELECT id, type, connection_id, created_at, data FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY seq LIMIT " + arg(f.Limit+1)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var list []tether.Event
	for rows.Next() {
		var e tether.Event
		var created int64
		var data []byte
		if err := rows.Scan(&e.ID, &e.Type, &e.ConnectionID, &created, &data); err != nil {
			return nil, false, fmt.Errorf("scan event: %w", err)
		}
		e.CreatedAt = tether.TimeFromMillis(created)
		e.Data = data
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list events: %w", err)
	}
	more := len(list) > f.Limit
	if more {
		list = list[:f.Limit]
	}
	return list, more, nil
}
