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
const (
	callTargetTTL = time.Second
	// maxCallTargets bounds the cache: past it, expired targets are swept,
	// and if that is not enough the cache starts over.
	maxCallTargets = 10_000
)

type cachedTarget struct {
	target  tether.CallTarget
	expires time.Time
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

func (c *targetCache) get(id string, now time.Time) (tether.CallTarget, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	t, ok := c.targets[id]
	if !ok || now.After(t.expires) {
		return tether.CallTarget{}, false
	}
	return t.target, true
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
	c.targets[t.ConnectionID] = cachedTarget{target: t, expires: now.Add(callTargetTTL)}
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
	if t, ok := s.targets.get(connectionID, now); ok {
		return &t, nil
	}
	generation := s.targets.begin()
	t, err := s.readCallTarget(ctx, connectionID)
	if err != nil {
		return nil, err
	}
	s.targets.put(*t, generation, now)
	return t, nil
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
