// Package pgtest gives tests a fresh PostgreSQL database of their own.
//
// The server comes from TETHER_TEST_POSTGRES_URL. Without it the test is
// skipped, except under CI=true, where a missing database is a failure: CI
// must prove the PostgreSQL store works, not quietly skip it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// URL creates an empty database for t and returns its URL; the database is
// dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv("TETHER_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TETHER_TEST_POSTGRES_URL is not set: CI must run the PostgreSQL suite")
		}
		t.Skip("TETHER_TEST_POSTGRES_URL is not set; skipping the PostgreSQL suite")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", redacted(base), err)
	}
	defer admin.Close()
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	name := "tether_test_" + hex.EncodeToString(suffix[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database on %s: %v", redacted(base), err)
	}
	t.Cleanup(func() { dropDatabase(t, base, name) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse TETHER_TEST_POSTGRES_URL: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func dropDatabase(t testing.TB, base, name string) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Errorf("open %s: %v", redacted(base), err)
		return
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}

func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the test database"
	}
	return u.Redacted()
}
