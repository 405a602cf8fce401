package sqlsink

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/jsonscan"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/sink"
)

// Options tune a Sink. A nil *Options and zero fields mean the documented defaults. Query
// parameters of the URL take precedence over these fields.
type Options struct {
	// BusyTimeout is, for SQLite, how long a write waits for a lock held by another connection
	// (another process writing the same file, a checkpoint) before failing with a Transient
	// error. Zero means 5 seconds. URL parameter: busy_timeout. PostgreSQL ignores it.
	BusyTimeout time.Duration
	// MaxConns bounds the open connections. Zero means 1 for SQLite, which lets one writer in
	// at a time anyway, and pgx's default (the greater of 4 and the number of CPUs) for
	// PostgreSQL. URL parameter for PostgreSQL: pool_max_conns.
	MaxConns int
	// Table is the table every event is written to, a plain identifier ([CheckTableName]).
	// Empty: each event goes to the table of its source, [TableFor](Event.Source), so
	// stripe_objects for Stripe's. URL parameter: table.
	Table string
}

// Sink writes events to tables of a SQLite or PostgreSQL database: one per source
// (stripe_objects for Stripe's events) or the one Options.Table names. It is safe for concurrent
// use. Create it with [Open].
type Sink struct {
	db      backend
	where   string   // the SQLite file, named in errors (the pgx errors name host and database)
	secrets []string // from the URL, masked in every error
	table   string   // Options.Table, or "" for a table per source

	tables     sync.Map      // table name → *table
	schemaLock chan struct{} // a one-slot semaphore that respects ctx
}

var _ sink.BatchApplier = (*Sink)(nil)

// backend is one database: SQLite through database/sql, PostgreSQL through a pgx pool.
type backend interface {
	// exec runs one statement and returns how many rows it inserted or updated, as the driver
	// reports it: for an upsert, 1 when it wrote the row and 0 when its WHERE kept the row.
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// ddl is the statement that creates table.
	ddl(table string) string
	// values is the value list, "(...)", of the i-th row (from 0) of an upsert (upsertSQL),
	// whose arguments follow those of the rows before it; appendArgs appends those of r. With
	// nanos the row has event_nanos.
	values(i int, nanos bool) string
	appendArgs(args []any, nanos bool, r row) []any
	// maxArgs is the most arguments one statement may have.
	maxArgs() int
	// begin starts the transaction of a batch.
	begin(ctx context.Context) (batchTx, error)
	// classify maps a driver error onto a hookline code.
	classify(err error) hookline.ErrorCode
	// tableMayExist reports whether err from ddl still lets writes be tried; missingColumn
	// whether err says that a column does not exist.
	tableMayExist(err error) bool
	missingColumn(err error) bool
	close() error
}

// batchTx is the transaction of a batch.
type batchTx interface {
	// upsert runs an upsert with RETURNING id and calls written with each id it returns: the
	// rows it inserted or updated.
	upsert(ctx context.Context, query string, args []any, written func(id string)) error
	commit(ctx context.Context) error
	rollback(ctx context.Context)
}

// idRows are the rows an upsert returned: *sql.Rows or pgx.Rows.
type idRows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// scanIDs calls written with the id of each of rows.
func scanIDs(rows idRows, written func(id string)) error {
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		written(id)
	}
	return rows.Err()
}

func init() {
	open := func(ctx context.Context, u *url.URL) (sink.Sink, error) {
		s, err := openURL(ctx, u, u.String(), nil)
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	sink.Register("sqlite", open)
	sink.Register("postgres", open)
	sink.Register("postgresql", open)
}

// Open opens the database rawURL names (see the package documentation for the forms). It makes
// no connection: the first Write connects and creates the table if needed.
func Open(ctx context.Context, rawURL string, opts *Options) (*Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: cannot parse the URL (details hidden: it may contain a password; " +
			"percent-encode special characters in user names and passwords)")
	}
	return openURL(ctx, u, rawURL, opts)
}

func openURL(ctx context.Context, u *url.URL, rawURL string, opts *Options) (*Sink, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	secrets := redact.Secrets(u)
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: the URL's query does not parse: %v", redact.Error(err, secrets))
	}
	if q.Has("table") { // the sink's own parameter, not the database's
		if o.Table = q.Get("table"); o.Table == "" {
			o.Table = "(empty)"
		}
		q.Del("table")
		c := *u
		c.RawQuery = q.Encode()
		u, rawURL = &c, c.String()
	}
	if o.Table != "" {
		if err := CheckTableName(o.Table); err != nil {
			return nil, err
		}
	}
	var (
		db    backend
		where string
	)
	switch strings.ToLower(u.Scheme) {
	case "sqlite":
		var lite *sqliteDB
		if lite, err = openSQLite(u, o); err == nil {
			db, where = lite, " in "+lite.path
		}
	case "postgres", "postgresql":
		db, err = openPostgres(ctx, u, rawURL, o)
	default:
		err = fmt.Errorf("sqlsink: unsupported scheme %q in %q; want sqlite://, postgres:// or postgresql://",
			u.Scheme, redact.URL(u))
	}
	if err != nil {
		return nil, redact.Error(err, secrets)
	}
	return &Sink{db: db, where: where, secrets: secrets, table: o.Table, schemaLock: make(chan struct{}, 1)}, nil
}

// row is what one event writes.
type row struct {
	id, object, eventID, eventType string
	data                           []byte // valid JSON, or nil for NULL
	rank                           int
	created                        int64 // Unix seconds
	nanos                          int   // and nanoseconds
	deleted                        bool
}

// rowOf checks ev and turns it into a row; its errors are Permanent.
func rowOf(ev hookline.Event) (row, error) {
	if ev.Subject == "" {
		return row{}, hookline.Errorf(hookline.Permanent, "sqlsink: event %s has no subject", ev.ID)
	}
	if ev.ID == "" {
		return row{}, hookline.Errorf(hookline.Permanent, "sqlsink: event about %s has no id", ev.Subject)
	}
	var data []byte
	if len(ev.Data) > 0 {
		if !jsonscan.Valid(ev.Data) {
			return row{}, hookline.Errorf(hookline.Permanent, "sqlsink: event %s: data is not valid JSON", ev.ID)
		}
		data = ev.Data
	}
	v := sink.VersionOf(ev)
	return row{
		id:        ev.Subject,
		object:    ev.Object,
		eventID:   ev.ID,
		eventType: ev.Type,
		data:      data,
		rank:      v.Rank,
		created:   v.Time.Unix(),
		nanos:     v.Time.Nanosecond(),
		deleted:   ev.Action == hookline.Deleted,
	}, nil
}

// Write upserts the row of ev.Subject if ev is newer, by [sink.Version], than the event that
// last wrote it; otherwise it changes nothing and returns nil. It is [Sink.Apply] without the
// [sink.Result].
func (s *Sink) Write(ctx context.Context, ev hookline.Event) error {
	_, err := s.Apply(ctx, ev)
	return err
}

// Apply writes ev as Write does, with one statement, and reports what the database did: it
// returns [sink.Stored] when the statement inserted or updated the row and [sink.Ignored] when
// it affected no row (the row was written by this event or a newer one).
func (s *Sink) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	if err := ctx.Err(); err != nil {
		return sink.Ignored, err
	}
	r, err := rowOf(ev)
	if err != nil {
		return sink.Ignored, err
	}
	t, err := s.tableOf(ctx, ev.Source)
	if err != nil {
		return sink.Ignored, err
	}
	return s.write(ctx, t, r)
}

// write upserts r into t with one statement (in a transaction of its own) and reports what it
// did from the row count.
func (s *Sink) write(ctx context.Context, t *table, r row) (sink.Result, error) {
	n, err := s.db.exec(ctx, t.upsert, s.db.appendArgs(nil, t.nanos, r)...)
	if err != nil {
		return sink.Ignored, s.fail(ctx, err, "write %s (event %s)", r.id, r.eventID)
	}
	if n == 0 {
		return sink.Ignored, nil
	}
	return sink.Stored, nil
}

// fail turns a driver error into the error Write returns: ctx.Err() itself when ctx is done,
// else the classified, prefixed error with secrets masked.
func (s *Sink) fail(ctx context.Context, err error, format string, args ...any) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	msg := fmt.Sprintf(format, args...) + s.where
	var out error
	if code := s.db.classify(err); code == hookline.Unknown {
		out = fmt.Errorf("sqlsink: %s: %w", msg, err)
	} else {
		out = hookline.Errorf(code, "sqlsink: %s: %w", msg, err)
	}
	return redact.Error(out, s.secrets)
}

// Close closes the database connections. Write must not be called after Close.
func (s *Sink) Close() error {
	if err := s.db.close(); err != nil {
		return redact.Error(fmt.Errorf("sqlsink: close: %w", err), s.secrets)
	}
	return nil
}
