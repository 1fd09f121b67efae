package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/sqlite"
	"github.com/tetherhq/tether/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tether.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "tether.db"))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}
