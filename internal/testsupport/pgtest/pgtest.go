// Package pgtest gives tests a PostgreSQL schema of their own on the test server.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookline/hookline/internal/testsupport/testenv"
)

// Default is the local test server, with trust authentication; HOOKLINE_TEST_POSTGRES overrides it.
const Default = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Base returns the URL of the test server, skipping t (failing it in CI, testenv.Require) when it
// cannot be reached.
func Base(t testing.TB) string {
	t.Helper()
	base := testenv.Getenv("HOOKLINE_TEST_POSTGRES", Default)
	testenv.Require(t, "PostgreSQL", reachable(base))
	return base
}

// reachable connects to base once per process and returns the outcome ever after, so that a
// server that is down costs one timeout, not one per test.
var reachable = func() func(string) error {
	var (
		once sync.Once
		err  error
	)
	return func(base string) error {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var conn *pgx.Conn
			if conn, err = pgx.Connect(ctx, base); err == nil {
				err = conn.Ping(ctx)
				conn.Close(ctx)
			}
		})
		return err
	}
}()

// Fresh creates a schema named prefix_<random> on the test server, dropped when t ends, and
// returns the server's URL with search_path set to it.
func Fresh(t testing.TB, prefix string) string {
	t.Helper()
	base := Base(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := prefix + "_" + hex.EncodeToString(b)
	Exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { Exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Exec runs stmt on the server at dbURL, failing t on error.
func Exec(t testing.TB, dbURL, stmt string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
