package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	tether "github.com/tetherhq/tether"
)

const connectionColumns = `id, integration_name, customer_id, display_name, state, status,
	last_healthy_at, last_unhealthy_at, created_at, updated_at, installed_at, metadata, account_id,
	transient_count, transient_since, transient_resource`

// CreateConnection saves c, its sealed credentials, errors and resource states,
// and events, in one transaction.
func (s *Store) CreateConnection(ctx context.Context, c *tether.Connection, creds tether.SealedCredentials, events ...tether.Event) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		metadata, err := json.Marshal(c.Metadata)
		if err != nil {
			return fmt.Errorf("encode metadata: %w", err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO connections (`+connectionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
			c.ID, c.IntegrationName, c.CustomerID, c.DisplayName, string(c.State), string(c.Status),
			nullMillis(c.LastHealthyAt), nullMillis(c.LastUnhealthyAt),
			c.CreatedAt.Millis(), c.UpdatedAt.Millis(), c.InstalledAt.Millis(), metadata, c.AccountID,
			c.Transient.Count, nullMillis(c.Transient.Since), c.Transient.Resource)
		if s.dialect.IsUniqueViolation(err) {
			return tether.Errorf(tether.ECONFLICT, "connection %s already exists", c.ID)
		}
		if err != nil {
			return fmt.Errorf("insert connection: %w", err)
		}
		if err := saveCredentials(ctx, tx, c.ID, creds); err != nil {
			return err
		}
		if err := saveChildren(ctx, tx, c.ID, nil, c); err != nil {
			return err
		}
		return appendEvents(ctx, tx, events)
	})
}

func saveCredentials(ctx context.Context, tx *sql.Tx, connectionID string, creds tether.SealedCredentials) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO credentials (connection_id, key_id, ciphertext, updated_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (connection_id) DO UPDATE SET key_id = excluded.key_id, ciphertext = excluded.ciphertext, updated_at = excluded.updated_at`,
		connectionID, creds.KeyID, creds.Ciphertext, tether.Now().Millis())
	if err != nil {
		return fmt.Errorf("save credentials: %w", err)
	}
	return nil
}

// Credentials returns the sealed credentials of a connection.
func (s *Store) Credentials(ctx context.Context, connectionID string) (tether.SealedCredentials, error) {
	var sc tether.SealedCredentials
	err := s.read.QueryRowContext(ctx,
		`SELECT key_id, ciphertext FROM credentials WHERE connection_id = $1`, connectionID).Scan(&sc.KeyID, &sc.Ciphertext)
	if errors.Is(err, sql.ErrNoRows) {
		return sc, tether.Errorf(tether.ENOTFOUND, "no credentials for connection %s", connectionID)
	}
	if err != nil {
		return sc, fmt.Errorf("read credentials: %w", err)
	}
	return sc, nil
}

// Connection returns one connection with its errors and resource states.
func (s *Store) Connection(ctx context.Context, id string) (*tether.Connection, error) {
	return s.loadConnection(ctx, s.read, id, "")
}

func (s *Store) loadConnection(ctx context.Context, q querier, id, lock string) (*tether.Connection, error) {
	row := q.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM connections WHERE id = $1`+lock, id)
	c, err := scanConnection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tether.Errorf(tether.ENOTFOUND, "no connection %q", id)
	}
	if err != nil {
		return nil, err
	}
	byID := map[string]*tether.Connection{c.ID: c}
	if err := s.loadChildren(ctx, q, byID); err != nil {
		return nil, err
	}
	return c, nil
}

func scanConnection(row scanner) (*tether.Connection, error) {
	var c tether.Connection
	var state, status string
	var healthy, unhealthy sql.NullInt64
	var created, updated, installed int64
	var metadata []byte
	var transientSince sql.NullInt64
	err := row.Scan(&c.ID, &c.IntegrationName, &c.CustomerID, &c.DisplayName, &state, &status,
		&healthy, &unhealthy, &created, &updated, &installed, &metadata, &c.AccountID,
		&c.Transient.Count, &transientSince, &c.Transient.Resource)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("scan connection: %w", err)
	}
	c.State, c.Status = tether.ConnectionState(state), tether.HealthStatus(status)
	c.LastHealthyAt, c.LastUnhealthyAt = timeFromNull(healthy), timeFromNull(unhealthy)
	c.CreatedAt, c.UpdatedAt, c.InstalledAt = tether.TimeFromMillis(created), tether.TimeFromMillis(updated), tether.TimeFromMillis(installed)
	c.Transient.Since = timeFromNull(transientSince)
	if err := json.Unmarshal(metadata, &c.Metadata); err != nil {
		return nil, fmt.Errorf("decode metadata of %s: %w", c.ID, err)
	}
	if c.Metadata == nil {
		c.Metadata = map[string]any{}
	}
	c.Errors = []tether.ConnectionError{}
	c.Resources = []tether.ResourceState{}
	return &c, nil
}

// Connections returns one page of connections ordered by id.
func (s *Store) Connections(ctx context.Context, f tether.ConnectionFilter) ([]*tether.Connection, bool, error) {
	query, args := connectionsQuery(f)
	rows, err := s.read.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list connections: %w", err)
	}
	defer rows.Close()
	var list []*tether.Connection
	byID := make(map[string]*tether.Connection)
	for rows.Next() {
		c, err := scanConnection(rows)
		if err != nil {
			return nil, false, err
		}
		list = append(list, c)
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("list connections: %w", err)
	}
	more := len(list) > f.Limit
	if more {
		delete(byID, list[f.Limit].ID)
		list = list[:f.Limit]
	}
	if err := s.loadChildren(ctx, s.read, byID); err != nil {
		return nil, false, err
	}
	return list, more, nil
}

func connectionsQuery(f tether.ConnectionFilter) (string, []any) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.IntegrationName != "" {
		where = append(where, "integration_name = "+arg(f.IntegrationName))
	}
	if f.CustomerID != "" {
		where = append(where, "customer_id = "+arg(f.CustomerID))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(string(f.Status)))
	}
	if f.State != "" {
		where = append(where, "state = "+arg(string(f.State)))
	}
	if f.HasErrors != nil {
		exists := "EXISTS (SELECT 1 FROM connection_errors e WHERE e.connection_id = connections.id)"
		if !*f.HasErrors {
			exists = "NOT " + exists
		}
		where = append(where, exists)
	}
	if f.ErrorType != "" {
		where = append(where, "EXISTS (SELECT 1 FROM connection_errors e WHERE e.connection_id = connections.id AND e.error_type = "+arg(f.ErrorType)+")")
	}
	if f.After != "" {
		where = append(where, "id > "+arg(f.After))
	}
	query := `SELECT ` + connectionColumns + ` FROM connections`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	return query + " ORDER BY id LIMIT " + arg(f.Limit+1), args
}

// loadChildren adds their errors and resource states to the connections.
func (s *Store) loadChildren(ctx context.Context, q querier, byID map[string]*tether.Connection) error {
	if len(byID) == 0 {
		return nil
	}
	ids := slices.Collect(maps.Keys(byID))
	if err := s.loadErrors(ctx, q, ids, byID); err != nil {
		return err
	}
	return s.loadResources(ctx, q, ids, byID)
}

const errorColumns = `id, connection_id, error_type, resource, message, blocking, resolution,
	http_status, first_seen_at, last_seen_at, occurrences`

func (s *Store) loadErrors(ctx context.Context, q querier, ids []string, byID map[string]*tether.Connection) error {
	in, arg := s.dialect.IDList(1, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+errorColumns+` FROM connection_errors
		WHERE connection_id `+in+` ORDER BY first_seen_at, id`, arg)
	if err != nil {
		return fmt.Errorf("load connection errors: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e tether.ConnectionError
		var connectionID, resource string
		var httpStatus sql.NullInt64
		var first, last int64
		if err := rows.Scan(&e.ID, &connectionID, &e.Type, &resource, &e.Message, &e.Blocking, &e.Resolution,
			&httpStatus, &first, &last, &e.Occurrences); err != nil {
			return fmt.Errorf("scan connection error: %w", err)
		}
		if resource != "" {
			e.Resource = &resource
		}
		if httpStatus.Valid {
			code := int(httpStatus.Int64)
			e.HTTPStatus = &code
		}
		e.FirstSeenAt, e.LastSeenAt = tether.TimeFromMillis(first), tether.TimeFromMillis(last)
		c := byID[connectionID]
		c.Errors = append(c.Errors, e)
	}
	return rows.Err()
}

const resourceColumns = `connection_id, name, access, sync_status, last_synced_at, records, last_error`

func (s *Store) loadResources(ctx context.Context, q querier, ids []string, byID map[string]*tether.Connection) error {
	in, arg := s.dialect.IDList(1, ids)
	rows, err := q.QueryContext(ctx, `SELECT `+resourceColumns+` FROM resource_states
		WHERE connection_id `+in+` ORDER BY name`, arg)
	if err != nil {
		return fmt.Errorf("load resource states: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r tether.ResourceState
		var connectionID string
		var syncStatus, lastError sql.NullString
		var lastSynced sql.NullInt64
		var records int64
		if err := rows.Scan(&connectionID, &r.Name, &r.Access, &syncStatus, &lastSynced, &records, &lastError); err != nil {
			return fmt.Errorf("scan resource state: %w", err)
		}
		if syncStatus.Valid {
			r.Sync = &tether.SyncState{Status: syncStatus.String, LastSyncedAt: timeFromNull(lastSynced), Records: records}
			if lastError.Valid {
				r.Sync.LastError = &lastError.String
			}
		}
		c := byID[connectionID]
		c.Resources = append(c.Resources, r)
	}
	return rows.Err()
}

// UpdateConnection loads the connection under a row lock, applies change and
// saves what changed together with the events change returns.
func (s *Store) UpdateConnection(ctx context.Context, id string, change func(*tether.Connection) ([]tether.Event, error)) (*tether.Connection, error) {
	return s.updateConnection(ctx, id, nil, change)
}

// ReplaceCredentials is UpdateConnection that also replaces the sealed
// credentials in the same transaction.
func (s *Store) ReplaceCredentials(ctx context.Context, id string, creds tether.SealedCredentials, change func(*tether.Connection) ([]tether.Event, error)) (*tether.Connection, error) {
	return s.updateConnection(ctx, id, &creds, change)
}

func (s *Store) updateConnection(ctx context.Context, id string, creds *tether.SealedCredentials, change func(*tether.Connection) ([]tether.Event, error)) (*tether.Connection, error) {
	var updated *tether.Connection
	defer s.targets.invalidate(id) // after the commit: see call_targets.go
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		s.applied.drop(id) // inside the transaction: see applied_cache.go
		before, err := s.loadConnection(ctx, tx, id, s.dialect.LockRow)
		if err != nil {
			return err
		}
		after, err := s.loadConnection(ctx, tx, id, "") // a copy change may modify freely
		if err != nil {
			return err
		}
		events, err := change(after)
		if err != nil {
			return err
		}
		if after.ID != id {
			return fmt.Errorf("update connection %s: the change altered its id", id)
		}
		if err := updateConnectionRow(ctx, tx, after); err != nil {
			return err
		}
		if err := saveChildren(ctx, tx, id, before, after); err != nil {
			return err
		}
		if creds != nil {
			if err := saveCredentials(ctx, tx, id, *creds); err != nil {
				return err
			}
		}
		updated = after
		return appendEvents(ctx, tx, events)
	})
	return updated, err
}

func updateConnectionRow(ctx context.Context, tx *sql.Tx, c *tether.Connection) error {
	metadata, err := json.Marshal(c.Metadata)
	if err != nil {
		return fmt.Errorf("encode metadata: %w", err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE connections SET display_name = $1, state = $2, status = $3,
		last_healthy_at = $4, last_unhealthy_at = $5, updated_at = $6, installed_at = $7, metadata = $8, account_id = $9,
		customer_id = $10, transient_count = $11, transient_since = $12, transient_resource = $13
		WHERE id = $14`,
		c.DisplayName, string(c.State), string(c.Status), nullMillis(c.LastHealthyAt), nullMillis(c.LastUnhealthyAt),
		c.UpdatedAt.Millis(), c.InstalledAt.Millis(), metadata, c.AccountID, c.CustomerID,
		c.Transient.Count, nullMillis(c.Transient.Since), c.Transient.Resource, c.ID)
	if err != nil {
		return fmt.Errorf("update connection: %w", err)
	}
	return nil
}

// saveChildren writes the errors and resource states of after that differ from
// before (nil before: all of them) and deletes the errors that are gone, so a
// health update touches only the rows it changed.
func saveChildren(ctx context.Context, tx *sql.Tx, connectionID string, before, after *tether.Connection) error {
	oldErrors := map[string]tether.ConnectionError{}
	oldResources := map[string]tether.ResourceState{}
	if before != nil {
		for _, e := range before.Errors {
			oldErrors[e.ID] = e
		}
		for _, r := range before.Resources {
			oldResources[r.Name] = r
		}
	}
	for _, e := range after.Errors {
		old, existed := oldErrors[e.ID]
		delete(oldErrors, e.ID)
		if existed && sameError(old, e) {
			continue
		}
		if err := upsertError(ctx, tx, connectionID, e); err != nil {
			return err
		}
	}
	for id := range oldErrors {
		if _, err := tx.ExecContext(ctx, `DELETE FROM connection_errors WHERE id = $1`, id); err != nil {
			return fmt.Errorf("delete connection error: %w", err)
		}
	}
	for _, r := range after.Resources {
		if old, existed := oldResources[r.Name]; existed && sameResource(old, r) {
			continue
		}
		if err := upsertResource(ctx, tx, connectionID, r); err != nil {
			return err
		}
	}
	return nil
}

// ErrorRow is the connection_errors row of e, in errorColumns order (also
// used by the benchmark's bulk seeding, so both write the same rows).
func ErrorRow(connectionID string, e tether.ConnectionError) []any {
	resource := ""
	if e.Resource != nil {
		resource = *e.Resource
	}
	var httpStatus sql.NullInt64
	if e.HTTPStatus != nil {
		httpStatus = sql.NullInt64{Int64: int64(*e.HTTPStatus), Valid: true}
	}
	return []any{e.ID, connectionID, e.Type, resource, e.Message, e.Blocking, e.Resolution, httpStatus,
		e.FirstSeenAt.Millis(), e.LastSeenAt.Millis(), e.Occurrences}
}

// ResourceRow is the resource_states row of r, in resourceColumns order.
func ResourceRow(connectionID string, r tether.ResourceState) []any {
	var syncStatus, lastError sql.NullString
	var lastSynced sql.NullInt64
	var records int64
	if r.Sync != nil {
		syncStatus = sql.NullString{String: r.Sync.Status, Valid: true}
		lastSynced = nullMillis(r.Sync.LastSyncedAt)
		records = r.Sync.Records
		if r.Sync.LastError != nil {
			lastError = sql.NullString{String: *r.Sync.LastError, Valid: true}
		}
	}
	return []any{connectionID, r.Name, r.Access, syncStatus, lastSynced, records, lastError}
}

func upsertError(ctx context.Context, tx *sql.Tx, connectionID string, e tether.ConnectionError) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO connection_errors (`+errorColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET message = excluded.message, blocking = excluded.blocking,
			resolution = excluded.resolution, http_status = excluded.http_status,
			last_seen_at = excluded.last_seen_at, occurrences = excluded.occurrences`,
		ErrorRow(connectionID, e)...)
	if err != nil {
		return fmt.Errorf("save connection error: %w", err)
	}
	return nil
}

func upsertResource(ctx context.Context, tx *sql.Tx, connectionID string, r tether.ResourceState) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO resource_states (`+resourceColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (connection_id, name) DO UPDATE SET access = excluded.access, sync_status = excluded.sync_status,
			last_synced_at = excluded.last_synced_at, records = excluded.records, last_error = excluded.last_error`,
		ResourceRow(connectionID, r)...)
	if err != nil {
		return fmt.Errorf("save resource state: %w", err)
	}
	return nil
}

// connectionTables lists every table holding a connection's data, each with
// its connection column; DeleteConnection purges them all.
var connectionTables = []struct{ table, column string }{
	{"credentials", "connection_id"},
	{"connection_errors", "connection_id"},
	{"resource_states", "connection_id"},
	{"call_logs", "connection_id"},
	{"connections", "id"},
}

// DeleteConnection deletes the connection and all its data in one transaction.
func (s *Store) DeleteConnection(ctx context.Context, id string, change func(*tether.Connection) ([]tether.Event, error)) error {
	defer s.targets.invalidate(id) // after the commit: see call_targets.go
	return s.inTx(ctx, func(tx *sql.Tx) error {
		s.applied.drop(id) // inside the transaction: see applied_cache.go
		c, err := s.loadConnection(ctx, tx, id, s.dialect.LockRow)
		if err != nil {
			return err
		}
		events, err := change(c)
		if err != nil {
			return err
		}
		for _, t := range connectionTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t.table+` WHERE `+t.column+` = $1`, id); err != nil {
				return fmt.Errorf("delete from %s: %w", t.table, err)
			}
		}
		return appendEvents(ctx, tx, events)
	})
}
