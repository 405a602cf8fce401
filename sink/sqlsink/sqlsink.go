package sqlsink

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/internal/jsonscan"
	"github.com/hookline/hookline/internal/redact"
	"github.com/hookline/hookline/sink"
)

// Table is the name of the table the sink writes.
const Table = "stripe_objects"

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
}

// Sink writes events to the table stripe_objects of a SQLite or PostgreSQL database. It is safe
// for concurrent use. Create it with [Open].
type Sink struct {
	db      backend
	where   string   // the SQLite file, named in errors (the pgx errors name host and database)
	secrets []string // from the URL, masked in every error

	schemaReady atomic.Bool
	schemaLock  chan struct{} // a one-slot semaphore that respects ctx
}

var _ sink.Applier = (*Sink)(nil)

// backend is one database: SQLite through database/sql, PostgreSQL through a pgx pool.
type backend interface {
	// exec runs one statement and returns how many rows it inserted or updated, as the driver
	// reports it: for an upsert, 1 when it wrote the row and 0 when its WHERE kept the row.
	exec(ctx context.Context, query string, args ...any) (rowsAffected int64, err error)
	// ddl is the statement that creates the table; upsert writes one row from a [row].
	ddl() string
	upsert(r row) (query string, args []any)
	// classify maps a driver error onto a hookline code.
	classify(err error) hookline.ErrorCode
	// tableMayExist reports whether err from ddl still lets writes be tried.
	tableMayExist(err error) bool
	close() error
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
	var (
		db    backend
		where string
		err   error
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
	return &Sink{db: db, where: where, secrets: secrets, schemaLock: make(chan struct{}, 1)}, nil
}

// row is what one event writes.
type row struct {
	id, object, eventID, eventType string
	data                           []byte // valid JSON, or nil for NULL
	rank                           int
	created                        int64 // Unix seconds
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
		object:    objectOf(ev),
		eventID:   ev.ID,
		eventType: ev.Type,
		data:      data,
		rank:      v.Rank,
		created:   v.Time.Unix(),
		deleted:   sink.IsDelete(ev.Type),
	}, nil
}

// objectOf returns the Stripe object type of ev's subject: Metadata["object"], else the
// top-level "object" field of a JSON object payload, else "".
func objectOf(ev hookline.Event) string {
	if o := ev.Meta("object"); o != "" {
		return o
	}
	var probe struct {
		Object string `json:"object"`
	}
	if len(ev.Data) > 0 && json.Unmarshal(ev.Data, &probe) == nil {
		return probe.Object
	}
	return ""
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
	if err := s.ensureSchema(ctx); err != nil {
		return sink.Ignored, err
	}
	query, args := s.db.upsert(r)
	n, err := s.db.exec(ctx, query, args...)
	if err != nil {
		return sink.Ignored, s.fail(ctx, err, "write %s (event %s)", r.id, r.eventID)
	}
	if n == 0 {
		return sink.Ignored, nil
	}
	return sink.Stored, nil
}

// ensureSchema creates the table once per Sink. A failure is returned and retried by the next
// Write, so a database that comes up late is picked up.
func (s *Sink) ensureSchema(ctx context.Context) error {
	if s.schemaReady.Load() {
		return nil
	}
	select {
	case s.schemaLock <- struct{}{}:
		defer func() { <-s.schemaLock }()
	case <-ctx.Done():
		return ctx.Err()
	}
	if s.schemaReady.Load() {
		return nil
	}
	if _, err := s.db.exec(ctx, s.db.ddl()); err != nil && !s.db.tableMayExist(err) {
		return s.fail(ctx, err, "create table %s", Table)
	}
	s.schemaReady.Store(true)
	return nil
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
