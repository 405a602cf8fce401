package sqlsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/redact"
)

const defaultBusyTimeout = 5 * time.Second

// sqliteTime is updated_at on SQLite: RFC 3339 in UTC with a fixed nine-digit fraction, so that
// text order is time order.
const sqliteTime = "2006-01-02T15:04:05.000000000Z07:00"

type sqliteDB struct {
	db   *sql.DB
	path string
}

// sqlitePath returns the file a sqlite URL names: host and path together, so that
// sqlite://hookline.db and sqlite://data/hookline.db are relative and sqlite:///abs/x.db is
// absolute.
func sqlitePath(u *url.URL) (string, error) {
	if u.User != nil {
		return "", fmt.Errorf("sqlsink: a sqlite URL takes no user or password: %q", redact.URL(u))
	}
	path := u.Host + u.Path
	if u.Opaque != "" {
		path = u.Opaque
	}
	if path == "" {
		return "", fmt.Errorf("sqlsink: sqlite URL %q names no file; "+
			"write sqlite://hookline.db (relative) or sqlite:///var/lib/hookline.db (absolute)", redact.URL(u))
	}
	if strings.ContainsRune(path, '?') {
		return "", fmt.Errorf("sqlsink: sqlite file name %q contains '?', which the driver cannot open", path)
	}
	return path, nil
}

// sqliteSettings reads the URL's query parameters onto o.
func sqliteSettings(u *url.URL, o Options) (Options, error) {
	for k, vs := range u.Query() {
		if k != "busy_timeout" {
			return o, fmt.Errorf("sqlsink: unknown sqlite URL parameter %q (known: busy_timeout, table)", k)
		}
		d, err := time.ParseDuration(vs[len(vs)-1])
		if err != nil || d < 0 {
			return o, fmt.Errorf("sqlsink: sqlite URL parameter busy_timeout=%q is not a duration such as 10s", vs[len(vs)-1])
		}
		o.BusyTimeout = d
	}
	if o.BusyTimeout == 0 {
		o.BusyTimeout = defaultBusyTimeout
	}
	if o.MaxConns <= 0 {
		o.MaxConns = 1
	}
	return o, nil
}

func openSQLite(u *url.URL, o Options) (*sqliteDB, error) {
	path, err := sqlitePath(u)
	if err != nil {
		return nil, err
	}
	if o, err = sqliteSettings(u, o); err != nil {
		return nil, err
	}
	// The driver runs these pragmas on every new connection. WAL lets readers and the writer
	// work at the same time; synchronous=FULL makes a committed write durable before Write
	// returns, which the consumer loop relies on to ack.
	params := url.Values{"_pragma": {
		fmt.Sprintf("busy_timeout(%d)", o.BusyTimeout.Milliseconds()),
		"journal_mode(WAL)",
		"synchronous(FULL)",
	}}
	db, err := sql.Open("sqlite", path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlsink: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(o.MaxConns)
	db.SetMaxIdleConns(o.MaxConns)
	return &sqliteDB{db: db, path: path}, nil
}

// exec returns sqlite3_changes(): an upsert whose DO UPDATE ... WHERE is false changes no row
// and counts 0.
func (s *sqliteDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := s.db.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (s *sqliteDB) close() error { return s.db.Close() }

func (*sqliteDB) ddl(table string) string {
	return `CREATE TABLE IF NOT EXISTS ` + table + ` (
	id            TEXT    NOT NULL PRIMARY KEY,
	object        TEXT    NOT NULL,
	data          TEXT,
	event_id      TEXT    NOT NULL,
	event_type    TEXT    NOT NULL,
	event_rank    INTEGER NOT NULL,
	event_created INTEGER NOT NULL,
	deleted       INTEGER NOT NULL CHECK (deleted IN (0, 1)),
	updated_at    TEXT    NOT NULL,
	event_nanos   INTEGER NOT NULL DEFAULT 0
)`
}

// sqliteArgs is the most arguments a statement may have: SQLITE_MAX_VARIABLE_NUMBER as
// modernc.org/sqlite compiles it (32766, SQLite's default since 3.32).
const sqliteArgs = 32766

func (*sqliteDB) maxArgs() int { return sqliteArgs }

// values is the same for every row: SQLite numbers ? placeholders in order.
func (*sqliteDB) values(_ int, nanos bool) string {
	if nanos {
		return "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	}
	return "(?, ?, ?, ?, ?, ?, ?, ?, ?)"
}

func (*sqliteDB) appendArgs(args []any, nanos bool, r row) []any {
	var data any // NULL
	if r.data != nil {
		data = string(r.data) // TEXT, not BLOB, so that SQLite's JSON functions read it
	}
	deleted := 0
	if r.deleted {
		deleted = 1
	}
	args = append(args, r.id, r.object, data, r.eventID, r.eventType, r.rank, r.created, deleted, time.Now().UTC().Format(sqliteTime))
	if nanos {
		args = append(args, r.nanos)
	}
	return args
}

// begin starts a deferred transaction: its first statement, an upsert, takes the write lock,
// waiting for it up to busy_timeout as a single write does.
func (s *sqliteDB) begin(ctx context.Context) (batchTx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqliteTx{tx}, nil
}

type sqliteTx struct{ tx *sql.Tx }

func (t sqliteTx) upsert(ctx context.Context, query string, args []any, written func(id string)) error {
	rows, err := t.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanIDs(rows, written)
}

func (t sqliteTx) commit(context.Context) error { return t.tx.Commit() }
func (t sqliteTx) rollback(context.Context)     { t.tx.Rollback() }

// missingColumn reports whether err says that a column does not exist.
func (*sqliteDB) missingColumn(err error) bool {
	return strings.Contains(err.Error(), "no such column")
}

// classify is the SQLite error table: lock contention and I/O are worth retrying, data the
// schema refuses is not.
func (*sqliteDB) classify(err error) hookline.ErrorCode {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return hookline.Unknown
	}
	switch e.Code() & 0xff { // the primary result code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_PROTOCOL:
		return hookline.Transient
	case sqlite3.SQLITE_CONSTRAINT, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_RANGE:
		return hookline.Permanent
	}
	return hookline.Unknown
}

// tableMayExist is false: SQLite creates a table under its write lock, so there is no race to
// lose, and it finds an existing table before it needs to write.
func (*sqliteDB) tableMayExist(error) bool { return false }
