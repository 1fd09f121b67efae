package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	tether "github.com/tetherhq/tether"
)

// Every proxied request needs its connection's call target (integration,
// state, sealed credentials); reading it from the database was the largest
// cost of the proxy after the provider call itself (docs/performance.md). The
// store keeps the targets it read for callTargetTTL. Its own writes drop the
// target they change once they commit, so on one instance (and always on
// SQLite) a pause, a resume, a deletion or new credentials are seen by the
// very next request; another instance sharing a PostgreSQL database sees them
// within callTargetTTL, as it sees a revoked API key (api/auth.go). Targets
// hold credentials sealed, never opened.
//
// A target in use is read again in the background once targetRefreshAge
// old, so a busy connection's requests never wait for the database: with
// 100 connections at 3,300 requests/s, 3 % of the requests read their target
// themselves, on PostgreSQL behind whatever the call log's batch kept the
// server busy with. (The proxy's p99 over the bare reverse proxy moved within
// the spread of the runs, docs/performance.md.) The bound is unchanged: no
// request uses a target read more than callTargetTTL ago.
const (
	callTargetTTL = time.Second
	// targetRefreshAge leaves a background read a quarter of a second to
	// finish, and reads a busy target a third more often than on expiry.
	targetRefreshAge = callTargetTTL * 3 / 4
	// targetRefreshTimeout bounds a background read of a target.
	targetRefreshTimeout = 5 * time.Second
	// maxCallTargets bounds the cache: past it, expired targets are swept,
	// and if that is not enough the cache starts over.
	maxCallTargets = 10_000
)

type cachedTarget struct {
	target tether.CallTarget
	// refreshAt is when a request should have the target read again in the
	// background, expires when it may no longer be used.
	refreshAt, expires time.Time
	refreshing         bool // a background read is under way
}

// targetCache holds recently read call targets by connection id.
type targetCache struct {
	mu      sync.RWMutex
	targets map[string]cachedTarget
	// generation counts invalidations: a target read from the database is
	// kept only if no write committed while it was being read, so a read
	// that raced a write cannot put the old target back.
	generation uint64
}

// get returns the target of id unless it has expired, and whether the caller
// should read it again in the background: it is due for it and no other
// caller is doing so (the first one to ask takes that on).
func (c *targetCache) get(id string, now time.Time) (target tether.CallTarget, ok, refresh bool) {
	c.mu.RLock()
	t, ok := c.targets[id]
	c.mu.RUnlock()
	if !ok || now.After(t.expires) {
		return tether.CallTarget{}, false, false
	}
	if t.refreshing || now.Before(t.refreshAt) {
		return t.target, true, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	current, ok := c.targets[id]
	if !ok || current.refreshing || now.Before(current.refreshAt) { // changed meanwhile
		return t.target, true, false
	}
	current.refreshing = true
	c.targets[id] = current
	return t.target, true, true
}

// refreshFailed drops the target of id whose background read failed: the
// next request reads it itself and answers with what went wrong (a
// connection deleted by another instance, say).
func (c *targetCache) refreshFailed(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.targets[id]; ok && t.refreshing {
		delete(c.targets, id)
	}
}

// begin returns the generation to hand put after reading from the database.
func (c *targetCache) begin() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.generation
}

// put keeps t unless a write was committed since generation was read.
func (c *targetCache) put(t tether.CallTarget, generation uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.generation != generation {
		return
	}
	if c.targets == nil || len(c.targets) >= maxCallTargets {
		c.sweep(now)
	}
	c.targets[t.ConnectionID] = cachedTarget{target: t, refreshAt: now.Add(targetRefreshAge), expires: now.Add(callTargetTTL)}
}

// sweep drops expired targets, or all of them if too many are still fresh.
// c.mu is held.
func (c *targetCache) sweep(now time.Time) {
	for id, t := range c.targets {
		if now.After(t.expires) {
			delete(c.targets, id)
		}
	}
	if c.targets == nil || len(c.targets) >= maxCallTargets/2 {
		c.targets = make(map[string]cachedTarget)
	}
}

// invalidate drops the targets of connections a committed write changed.
func (c *targetCache) invalidate(ids ...string) {
	if len(ids) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for _, id := range ids {
		delete(c.targets, id)
	}
}

// CallTarget returns a connection's integration, state and sealed
// credentials: the proxy's hot path, read with one query and then kept for
// callTargetTTL (see above).
func (s *Store) CallTarget(ctx context.Context, connectionID string) (*tether.CallTarget, error) {
	now := time.Now()
	if t, ok, refresh := s.targets.get(connectionID, now); ok {
		if refresh {
			go s.refreshCallTarget(connectionID)
		}
		return &t, nil
	}
	return s.readAndKeepCallTarget(ctx, connectionID)
}

// readAndKeepCallTarget reads a call target and keeps it, unless a write
// committed meanwhile.
func (s *Store) readAndKeepCallTarget(ctx context.Context, connectionID string) (*tether.CallTarget, error) {
	now := time.Now()
	generation := s.targets.begin()
	t, err := s.readCallTarget(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	s.targets.put(*t, generation, now)
	return t, nil
}

// refreshCallTarget reads a target in use again, in the background (see
// callTargetTTL). It ends with the store: Close cancels its read.
func (s *Store) refreshCallTarget(connectionID string) {
	ctx, cancel := context.WithTimeout(s.background, targetRefreshTimeout)
	defer cancel()
	if _, err := s.readAndKeepCallTarget(ctx, connectionID); err != nil {
		s.targets.refreshFailed(connectionID)
	}
}

func (s *Store) readCallTarget(ctx context.Context, connectionID string) (*tether.CallTarget, error) {
	t := tether.CallTarget{ConnectionID: connectionID}
	var state string
	err := s.read.QueryRowContext(ctx, `SELECT c.integration_name, c.state, k.key_id, k.ciphertext
		FROM connections c JOIN credentials k ON k.connection_id = c.id WHERE c.id = $1`, connectionID).
		Scan(&t.IntegrationName, &state, &t.Credentials.KeyID, &t.Credentials.Ciphertext)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, tether.Errorf(tether.ENOTFOUND, "no connection %q", connectionID)
	}
	if err != nil {
		return nil, fmt.Errorf("read call target: %w", err)
	}
	t.State = tether.ConnectionState(state)
	return &t, nil
}
