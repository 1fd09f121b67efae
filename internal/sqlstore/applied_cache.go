package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"sync"

	tether "github.com/tetherhq/tether"
)

// The call log's writer loads every connection of a batch, with its errors
// and resource states, applies the health engine and writes back what
// changed. At a proxy's pace (a batch every 50 ms, touching most of the
// connections in use) loading them was a quarter of the writer's work
// (docs/performance.md). Where the store is its database's only writer
// (SQLite: Dialect.DataVersion), it keeps the connections as its batches
// committed them and loads only the others:
//
//   - every other write of a connection (UpdateConnection, ReplaceCredentials,
//     DeleteConnection) drops it inside its own transaction, which holds the
//     database's single write connection, so no batch can see the old copy
//     after that write commits;
//   - a batch keeps its connections after its commit, before it gives the
//     write connection back; one that fails drops what it read, and its
//     retry (a call stored already) keeps what it committed like any batch;
//   - a commit by another process (`tether keys create`, a second server on
//     the same file) changes the database's data version, and the next batch
//     then drops every kept connection (SQLite counts that version per
//     connection, so the dialect's number also changes with the writer
//     connection: see sqlite.dataVersion).
//
// So a batch applies the engine to exactly the connection the database holds.

// maxAppliedConnections bounds the kept connections (a few KiB each): past
// it, the cache starts over.
const maxAppliedConnections = 10_000

// appliedCache holds connections as the call log's batches committed them.
type appliedCache struct {
	mu          sync.Mutex
	byID        map[string]*tether.Connection
	dataVersion int64 // of the database when byID was last known current
}

// checkVersion drops every kept connection if the database's data version
// is no longer the one they were kept at.
func (c *appliedCache) checkVersion(version int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if version != c.dataVersion {
		c.byID = nil
		c.dataVersion = version
	}
}

// get returns a copy of each kept connection of ids, by id.
func (c *appliedCache) get(ids []string) map[string]*tether.Connection {
	c.mu.Lock()
	defer c.mu.Unlock()
	found := make(map[string]*tether.Connection, len(ids))
	for _, id := range ids {
		if kept, ok := c.byID[id]; ok {
			found[id] = cloneConnection(kept)
		}
	}
	return found
}

// keep stores copies of cs, as committed.
func (c *appliedCache) keep(cs []*tether.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil || len(c.byID)+len(cs) > maxAppliedConnections {
		c.byID = make(map[string]*tether.Connection, len(cs))
	}
	for _, conn := range cs {
		c.byID[conn.ID] = asStored(conn)
	}
}

// drop forgets the connections of ids.
func (c *appliedCache) drop(ids ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		delete(c.byID, id)
	}
}

// asStored returns a copy of c as loading it from the database would:
// errors in first_seen_at then id order, resource states by name, an error
// on no resource with a nil resource (see loadErrors and loadResources).
func asStored(c *tether.Connection) *tether.Connection {
	out := cloneConnection(c)
	for i, e := range out.Errors {
		if e.Resource != nil && *e.Resource == "" {
			out.Errors[i].Resource = nil
		}
	}
	slices.SortStableFunc(out.Errors, func(a, b tether.ConnectionError) int {
		return cmp.Or(a.FirstSeenAt.Compare(b.FirstSeenAt.Time), cmp.Compare(a.ID, b.ID))
	})
	slices.SortStableFunc(out.Resources, func(a, b tether.ResourceState) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// loadForApply loads the connections of ids that exist, under the lock the
// call log's batch takes, from the applied cache where the store keeps one.
func (s *Store) loadForApply(ctx context.Context, tx *sql.Tx, ids []string) (map[string]*tether.Connection, error) {
	if s.dialect.DataVersion == nil {
		return s.loadConnections(ctx, tx, ids, s.dialect.LockRow)
	}
	version, err := s.dialect.DataVersion(ctx, tx)
	if err != nil {
		return nil, err
	}
	s.applied.checkVersion(version)
	found := s.applied.get(ids)
	var missing []string
	for _, id := range ids {
		if found[id] == nil {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return found, nil
	}
	loaded, err := s.loadConnections(ctx, tx, missing, s.dialect.LockRow)
	if err != nil {
		return nil, err
	}
	for id, c := range loaded {
		found[id] = c
	}
	return found, nil
}
