package sqlstore_test

import (
	"io/fs"
	"slices"
	"testing"

	"github.com/tetherhq/tether/postgres"
	"github.com/tetherhq/tether/sqlite"
)

// Both dialects must have the same migrations, by number and name, so a
// schema change is never made for one database only.
func TestDialectsHaveTheSameMigrations(t *testing.T) {
	names := func(fsys fs.FS) []string {
		entries, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}
	lite, pg := names(sqlite.Migrations()), names(postgres.Migrations())
	if len(lite) == 0 {
		t.Fatal("no migrations found")
	}
	if !slices.Equal(lite, pg) {
		t.Errorf("migrations differ:\n sqlite   %v\n postgres %v", lite, pg)
	}
}
