package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
)

// openCachingDB opens a one-connection pool through the caching connector.
func openCachingDB(t *testing.T) *sql.DB {
	t.Helper()
	c, err := newConnector(dsn(filepath.Join(t.TempDir(), "cache.db"), roleWriter))
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	mustExec(t, db, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)`)
	for i := range 5 {
		mustExec(t, db, `INSERT INTO t (id, name) VALUES (?, ?)`, i, fmt.Sprintf("n%d", i))
	}
	return db
}

func mustExec(t *testing.T, db *sql.DB, query string, args ...any) {
	t.Helper()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// cached returns the texts the pool's connection keeps prepared, most
// recently used first.
func cached(t *testing.T, db *sql.DB) []string {
	t.Helper()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var texts []string
	err = conn.Raw(func(dc any) error {
		c := dc.(*cachingConn)
		for e := c.lru.Front(); e != nil; e = e.Next() {
			texts = append(texts, e.Value.(*cachedStmt).text)
		}
		if len(texts) != len(c.byText) {
			t.Errorf("the cache's list holds %d statements, its index %d", len(texts), len(c.byText))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

func TestStatementCacheKeepsEachTextPreparedOnce(t *testing.T) {
	db := openCachingDB(t)
	const query = `SELECT name FROM t WHERE id = ?`
	for i := range 5 {
		var name string
		if err := db.QueryRow(query, i).Scan(&name); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("n%d", i); name != want {
			t.Fatalf("id %d: name %q, want %q", i, name, want)
		}
	}
	texts := cached(t, db)
	count := 0
	for _, text := range texts {
		if text == query {
			count++
		}
	}
	if count != 1 || texts[0] != query {
		t.Errorf("cached texts %q: want the query once, most recent", texts)
	}
}

func TestStatementCacheNestedUseOfOneText(t *testing.T) {
	db := openCachingDB(t)
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()
	const query = `SELECT id FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(query, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs int
	for outer.Next() {
		var id int
		if err := outer.Scan(&id); err != nil {
			t.Fatal(err)
		}
		// The same text again while outer still reads from its statement.
		inner, err := tx.Query(query, id)
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			pairs++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	_ = outer.Close()
	if want := 5 + 4 + 3 + 2 + 1; pairs != want {
		t.Errorf("nested queries saw %d pairs, want %d: the inner query reset the outer one", pairs, want)
	}
}

func TestStatementCacheEvictsTheLeastRecentlyUsed(t *testing.T) {
	db := openCachingDB(t)
	first := `SELECT count(*) FROM t WHERE id > 0`
	var n int
	if err := db.QueryRow(first).Scan(&n); err != nil {
		t.Fatal(err)
	}
	for i := range cachedStatements + 10 {
		if err := db.QueryRow(fmt.Sprintf(`SELECT count(*) FROM t WHERE id > %d`, i+1)).Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	texts := cached(t, db)
	if len(texts) != cachedStatements {
		t.Errorf("%d statements cached, want %d", len(texts), cachedStatements)
	}
	for _, text := range texts {
		if text == first {
			t.Errorf("the least recently used statement is still cached")
		}
	}
	if err := db.QueryRow(first).Scan(&n); err != nil || n != 4 {
		t.Errorf("an evicted text runs again: %d, %v", n, err)
	}
}

func TestStatementCacheAfterAFailureAndASchemaChange(t *testing.T) {
	db := openCachingDB(t)
	const insert = `INSERT INTO t (id, name) VALUES (?, ?)`
	if _, err := db.Exec(insert, 10, "n0"); err == nil {
		t.Fatal("a duplicate name was inserted")
	}
	mustExec(t, db, insert, 10, "n10") // the statement that failed runs again
	const all = `SELECT * FROM t WHERE id = 10`
	var id int
	var name string
	if err := db.QueryRow(all).Scan(&id, &name); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, `ALTER TABLE t ADD COLUMN note TEXT NOT NULL DEFAULT 'x'`)
	var note string
	if err := db.QueryRow(all).Scan(&id, &name, &note); err != nil || note != "x" {
		t.Errorf("the cached SELECT * after ALTER TABLE: note %q, %v", note, err)
	}
}
