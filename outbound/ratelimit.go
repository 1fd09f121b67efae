package outbound

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tetherhq/tether"
)

// Wait blocks until the definition's rate_limit lets the connection make one
// more call of Tether's own (verify, probe, sync), or ctx ends. It returns at
// once when there is no limit or no connection id (credentials being tested
// before they are saved). When the next free slot lies past ctx's deadline it
// returns at once too, with an error matching context.DeadlineExceeded.
//
// The limit is a token bucket holding rate_limit.requests tokens, refilled
// evenly over rate_limit.per: a connection may burst up to requests calls,
// then runs at requests/per on average.
func (c *Client) Wait(ctx context.Context, connectionID string, def *tether.ProviderDefinition) error {
	spec := def.RateLimit
	if connectionID == "" || spec == nil || spec.Requests <= 0 || spec.Per <= 0 {
		return ctx.Err()
	}
	entry := c.limiters.acquire(connectionID, *spec)
	err := entry.lim.Wait(ctx)
	c.limiters.release(entry)
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("wait for the rate limit of %s: %w", def.Name, ctxErr)
	}
	return fmt.Errorf("rate limit of %s (%d per %s) allows no call before the deadline: %w",
		def.Name, spec.Requests, spec.Per, context.DeadlineExceeded)
}

// sweepEvery is how often idle limiters are looked for.
const sweepEvery = time.Minute

// limiterSet holds one limiter per connection id. A limiter whose bucket has
// refilled completely behaves exactly like a new one, so it is dropped: memory
// is bounded by the connections that called within the last rate_limit.per.
type limiterSet struct {
	mu        sync.Mutex
	byConn    map[string]*limiterEntry
	lastSweep time.Time
	now       func() time.Time // a field so tests can move time
}

type limiterEntry struct {
	lim *rate.Limiter
	// users counts the callers between acquire and release. A limiter in use
	// is never dropped: its caller may not have taken its token yet, and a
	// second limiter for the same connection would let one call too many by.
	users int
}

func newLimiterSet() *limiterSet {
	return &limiterSet{byConn: make(map[string]*limiterEntry), now: time.Now}
}

// acquire returns the connection's limiter, made for spec, and keeps it until
// release.
func (s *limiterSet) acquire(connectionID string, spec tether.RateLimitSpec) *limiterEntry {
	limit := rate.Limit(float64(spec.Requests) / spec.Per.Seconds())
	now := s.now()

	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= sweepEvery {
		s.sweep(now)
	}
	e, ok := s.byConn[connectionID]
	if !ok || e.lim.Limit() != limit || e.lim.Burst() != spec.Requests {
		e = &limiterEntry{lim: rate.NewLimiter(limit, spec.Requests)}
		s.byConn[connectionID] = e
	}
	e.users++
	return e
}

func (s *limiterSet) release(e *limiterEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.users--
}

// sweep drops the limiters nobody uses whose bucket is full again. A waiter's
// reservation keeps the bucket below full until it has been refilled.
func (s *limiterSet) sweep(now time.Time) {
	for id, e := range s.byConn {
		if e.users == 0 && e.lim.TokensAt(now) >= float64(e.lim.Burst()) {
			delete(s.byConn, id)
		}
	}
	s.lastSweep = now
}

func (s *limiterSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byConn)
}
