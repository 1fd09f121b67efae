package sqlite

import (
	"path/filepath"
	"testing"
)

// The writer's connection carries the WAL settings of checkpoint.go: it
// checkpoints only as the safety net, and cuts back only a WAL that grew
// beyond the usual.
func TestWriterConnectionWALSettings(t *testing.T) {
	db, err := openDB(filepath.Join(t.TempDir(), "tether.db"), roleWriter)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for pragma, want := range map[string]int64{
		"wal_autocheckpoint": writerCheckpointPages,
		"journal_size_limit": walSizeLimit,
	} {
		var got int64
		if err := db.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil {
			t.Fatalf("%s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("%s = %d, want %d", pragma, got, want)
		}
	}
}
