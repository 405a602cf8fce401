package sqlsink_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver, for readers

	"github.com/hookline/hookline/internal/testsupport/pgtest"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
	"github.com/hookline/hookline/sink/sqlsink"
)

// database is one kind of database the tests run against.
type database struct {
	name string
	// fresh returns the URL of a new, empty database (a file, or a schema of its own).
	fresh func(t testing.TB) string
	// reader opens a plain *sql.DB on the database of rawURL, as a user inspecting it would.
	reader func(t testing.TB, rawURL string) *sql.DB
	// ph is the n-th (1-based) statement placeholder.
	ph func(n int) string
	// snapshot is the isolation level of a read transaction that sees one snapshot.
	snapshot sql.IsolationLevel
}

var sqliteDB = database{
	name: "sqlite",
	fresh: func(t testing.TB) string {
		return "sqlite://" + filepath.ToSlash(filepath.Join(t.TempDir(), "hookline.db"))
	},
	reader: func(t testing.TB, rawURL string) *sql.DB {
		u, err := url.Parse(rawURL)
		if err != nil {
			t.Fatal(err)
		}
		db, err := sql.Open("sqlite", u.Host+u.Path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	},
	ph:       func(int) string { return "?" },
	snapshot: sql.LevelDefault, // a read transaction in WAL mode reads one snapshot
}

var postgresDB = database{
	name:  "postgres",
	fresh: freshPostgres,
	reader: func(t testing.TB, rawURL string) *sql.DB {
		db, err := sql.Open("pgx", rawURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	},
	ph:       func(n int) string { return "$" + strconv.Itoa(n) },
	snapshot: sql.LevelRepeatableRead,
}

var databases = []database{sqliteDB, postgresDB}

// postgresBase returns the URL of the test server, skipping t (failing it in CI) when the
// server cannot be reached.
func postgresBase(t testing.TB) string { return pgtest.Base(t) }

// freshPostgres creates a schema of its own for t, dropped when t ends, and returns the URL of
// the test server with search_path set to it.
func freshPostgres(t testing.TB) string { return pgtest.Fresh(t, "hookline_test") }

func adminExec(t testing.TB, base, stmt string) { pgtest.Exec(t, base, stmt) }

// openSink opens a sink on rawURL, closed when t ends.
func openSink(t testing.TB, rawURL string, opts *sqlsink.Options) *sqlsink.Sink {
	t.Helper()
	s, err := sqlsink.Open(context.Background(), rawURL, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// lookup reads the row of subject through db. A table that does not exist yet has no rows.
func (d database) lookup(t testing.TB, db *sql.DB, subject string) (sinktest.State, bool) {
	t.Helper()
	var st sinktest.State
	err := db.QueryRow("SELECT event_id, deleted, data FROM stripe_objects WHERE id = "+d.ph(1), subject).
		Scan(&st.EventID, &st.Deleted, &st.Data)
	switch {
	case errors.Is(err, sql.ErrNoRows), noTable(err):
		return sinktest.State{}, false
	case err != nil:
		t.Fatalf("lookup %s: %v", subject, err)
	}
	return st, true
}

func noTable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "42P01"
	}
	return err != nil && strings.Contains(err.Error(), "no such table")
}

// harness is the sinktest harness of d.
func (d database) harness() sinktest.Harness {
	var readers sync.Map // sink.Sink -> *sql.DB
	return sinktest.Harness{
		New: func(t *testing.T) sink.Sink {
			u := d.fresh(t)
			s := openSink(t, u, nil)
			readers.Store(sink.Sink(s), d.reader(t, u))
			return s
		},
		Lookup: func(t *testing.T, s sink.Sink, subject string) (sinktest.State, bool) {
			db, ok := readers.Load(s)
			if !ok {
				t.Fatalf("lookup on a sink the harness did not make")
			}
			return d.lookup(t, db.(*sql.DB), subject)
		},
	}
}
