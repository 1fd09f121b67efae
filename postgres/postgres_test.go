package postgres_test

import (
	"context"
	"sync"
	"testing"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/internal/pgtest"
	"github.com/tetherhq/tether/postgres"
	"github.com/tetherhq/tether/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tether.Store {
		s, err := postgres.Open(context.Background(), pgtest.URL(t))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

// Instances that start at once must not race on migrations.
func TestConcurrentStartsMigrateOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := postgres.Open(context.Background(), url)
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			if err := s.Ping(context.Background()); err != nil {
				t.Errorf("ping: %v", err)
			}
			_ = s.Close()
		}()
	}
	wg.Wait()
}
