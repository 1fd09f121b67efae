package outbound

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tetherhq/tether"
)

func limitedDefinition(requests int, per time.Duration) *tether.ProviderDefinition {
	return &tether.ProviderDefinition{
		Name:      "acme_wms",
		RateLimit: &tether.RateLimitSpec{Requests: requests, Per: per},
	}
}

// deadline returns a context that ends long before the limiter's next slot
// (an hour away in these tests) but far after any scheduling hiccup, so the
// tests check blocking without measuring time.
func deadline(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestWaitBlocksOnceTheBurstIsSpent(t *testing.T) {
	c := New(Config{})
	def := limitedDefinition(2, time.Hour)

	for i := range 2 {
		if err := c.Wait(deadline(t), "conn_a", def); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	err := c.Wait(deadline(t), "conn_a", def)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("third call: err = %v, want DeadlineExceeded", err)
	}
	// Limits are per connection.
	if err := c.Wait(deadline(t), "conn_b", def); err != nil {
		t.Fatalf("another connection: %v", err)
	}
}

func TestWaitEndsWithItsContext(t *testing.T) {
	c := New(Config{})
	def := limitedDefinition(1, time.Second)
	if err := c.Wait(context.Background(), "conn_a", def); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Wait(ctx, "conn_a", def); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want Canceled", err)
	}
}

func TestWaitWithoutLimitOrConnection(t *testing.T) {
	c := New(Config{})
	limited := limitedDefinition(1, time.Hour)
	for range 3 {
		if err := c.Wait(deadline(t), "", limited); err != nil {
			t.Fatalf("no connection id: %v", err)
		}
		if err := c.Wait(deadline(t), "conn_a", &tether.ProviderDefinition{Name: "free"}); err != nil {
			t.Fatalf("no rate limit: %v", err)
		}
	}
	if n := c.limiters.len(); n != 0 {
		t.Fatalf("%d limiters kept, want none", n)
	}
}

func TestIdleLimitersAreEvicted(t *testing.T) {
	c := New(Config{})
	now := time.Now()
	c.limiters.now = func() time.Time { return now }
	def := limitedDefinition(1, time.Hour)

	for _, id := range []string{"conn_a", "conn_b"} {
		if err := c.Wait(deadline(t), id, def); err != nil {
			t.Fatal(err)
		}
	}
	// A sweep now keeps both: their buckets are still nearly empty.
	now = now.Add(sweepEvery)
	c.limiters.release(c.limiters.acquire("conn_c", *def.RateLimit))
	if n := c.limiters.len(); n != 3 {
		t.Fatalf("%d limiters after an early sweep, want 3", n)
	}

	// Once a full period has passed their buckets are full again: a new
	// limiter would behave the same, so they go.
	now = now.Add(2 * time.Hour)
	c.limiters.release(c.limiters.acquire("conn_d", *def.RateLimit))
	if n := c.limiters.len(); n != 1 {
		t.Fatalf("%d limiters after the idle ones were swept, want 1", n)
	}
}

func TestLimiterWithAWaiterIsNotEvicted(t *testing.T) {
	s := newLimiterSet()
	spec := tether.RateLimitSpec{Requests: 1, Per: time.Hour}
	e := s.acquire("conn_a", spec)
	s.release(e)
	e.lim.Allow()        // spend the burst
	r := e.lim.Reserve() // a waiter's reservation, an hour ahead
	defer r.Cancel()
	s.sweep(time.Now().Add(90 * time.Minute)) // the reservation is due, the bucket not refilled
	if got := s.acquire("conn_a", spec); got != e {
		t.Fatal("a limiter with a pending reservation was evicted")
	}
}

func TestLimiterInUseIsNotEvicted(t *testing.T) {
	s := newLimiterSet()
	spec := tether.RateLimitSpec{Requests: 1, Per: time.Hour}
	e := s.acquire("conn_a", spec) // full bucket, its caller about to wait
	s.sweep(time.Now().Add(2 * time.Hour))
	s.release(e)
	if got := s.acquire("conn_a", spec); got != e {
		t.Fatal("a limiter in use was evicted")
	}
}

func TestWaitIsSafeForConcurrentUse(t *testing.T) {
	c := New(Config{})
	def := limitedDefinition(1000, time.Second)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				id := []string{"conn_a", "conn_b"}[i%2]
				if err := c.Wait(deadline(t), id, def); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
