// Package storetest gives tests a fresh, migrated store on SQLite and on the
// real Postgres, so every store behaviour is checked on both dialects.
package storetest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/oklog/ulid/v2"

	"github.com/crossdock/crossdock/store"
)

// DefaultPostgresURL is the server tests use unless
// CROSSDOCK_TEST_POSTGRES_URL names another. Its database is only used to
// create and drop the per-test databases.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURLEnv overrides DefaultPostgresURL.
const PostgresURLEnv = "CROSSDOCK_TEST_POSTGRES_URL"

// PostgresURL returns the admin URL tests connect to.
func PostgresURL() string {
	if u := os.Getenv(PostgresURLEnv); u != "" {
		return u
	}
	return DefaultPostgresURL
}

// Postgres returns a migrated store on a new database of its own
// (crossdock_test_<ulid>), closed and dropped when the test ends. If the
// server is unreachable the test is skipped, or fails when CI=true.
func Postgres(t testing.TB) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dbURL := PostgresDatabase(t, PostgresURL())
	name := strings.TrimPrefix(mustParse(t, dbURL).Path, "/")
	s, err := store.Open(ctx, dbURL, "")
	if err != nil {
		t.Fatalf("open test database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close test database %s: %v", name, err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate test database %s: %v", name, err)
	}
	return s
}

func mustParse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse database URL: %v", err)
	}
	return u
}

// PostgresDatabase creates a new, empty database (crossdock_test_<ulid>) on
// the server at adminURL and returns its URL, for tests whose processes
// open the database themselves (a child `crossdock worker`). It is dropped
// when the test ends, after the cleanups registered later (closing stores)
// have run. An unreachable server skips the test, or fails it when CI=true.
func PostgresDatabase(t testing.TB, adminURL string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		unreachable(t, adminURL, err)
	}
	name := "crossdock_test_" + strings.ToLower(ulid.Make().String())
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	closeErr := admin.Close(ctx)
	if err != nil {
		t.Fatalf("create test database %s: %v", name, err)
	}
	if closeErr != nil {
		t.Fatalf("close admin connection: %v", closeErr)
	}

	dbURL, err := withDatabase(adminURL, name)
	if err != nil {
		t.Fatalf("build test database URL: %v", err)
	}
	// Registered before any store opens so it runs after the stores close.
	t.Cleanup(func() { dropDatabase(t, adminURL, name) })
	return dbURL
}

func unreachable(t testing.TB, adminURL string, err error) {
	t.Helper()
	shown := adminURL
	if u, perr := url.Parse(adminURL); perr == nil {
		shown = u.Redacted()
	}
	msg := fmt.Sprintf("Postgres is unreachable at %s (start it, or point %s at one): %v", shown, PostgresURLEnv, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func withDatabase(adminURL, name string) (string, error) {
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String(), nil
}

func dropDatabase(t testing.TB, adminURL, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Errorf("drop test database %s: %v", name, err)
		return
	}
	defer func() { _ = admin.Close(ctx) }()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		t.Errorf("drop test database %s: %v", name, err)
	}
}

// SQLite returns a migrated store on a SQLite file in t.TempDir, closed when
// the test ends.
func SQLite(t testing.TB) *store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), store.DefaultSQLiteFile), "")
	if err != nil {
		t.Fatalf("open SQLite test database: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close SQLite test database: %v", err)
		}
	})
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("migrate SQLite test database: %v", err)
	}
	return s
}

// Each runs fn as the subtests "sqlite" and "postgres", each with a fresh
// store of its own.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}
