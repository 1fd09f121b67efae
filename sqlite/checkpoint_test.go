package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	tether "github.com/tetherhq/tether"
	"github.com/tetherhq/tether/sqlite"
)

// The writer leaves checkpoints to the background checkpointer: pages
// committed to the WAL reach the database file while the store is open,
// although far fewer than the writer's own checkpoint threshold were written.
func TestCheckpointerCopiesTheWALIntoTheDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tether.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	// Let the checkpointer copy what the migrations wrote before measuring.
	time.Sleep(300 * time.Millisecond)
	before := fileSize(t, path)

	calls := make([]*tether.Call, 2000)
	for i := range calls {
		calls[i] = reportedCall()
		calls[i].URL = "https://wms.example/orders?page=" + tether.NewID("p")
	}
	if err := s.RecordCalls(ctx, calls, nil); err != nil {
		t.Fatalf("record calls: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for fileSize(t, path) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes 5s after a commit: the WAL was not checkpointed", before)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reportedCall is a successful reported call of no connection.
func reportedCall() *tether.Call {
	return &tether.Call{
		ID: tether.NewID(tether.PrefixCall), IntegrationName: "acme_wms", Source: tether.SourceReport,
		Method: "GET", Path: "/orders", Outcome: tether.OutcomeSuccess, Signal: tether.SignalSuccess, StartedAt: tether.Now(),
	}
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("stat: %v", err)
	}
	return fi.Size()
}

// The WAL keeps its size while the store is open (checkpoint.go), so closing
// the store must give the disk space back: the last connection to close
// checkpoints the WAL and deletes it.
func TestClosingTheStoreRemovesTheWAL(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tether.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if err := s.RecordCalls(ctx, []*tether.Call{reportedCall()}, nil); err != nil {
		t.Fatalf("record calls: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Fatalf("no WAL while the store is open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := os.Stat(path + "-wal"); !os.IsNotExist(err) {
		t.Errorf("the WAL is still there after Close (stat: %v)", err)
	}
}
