package sqlsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hookline/hookline"
)

type postgresDB struct {
	pool *pgxpool.Pool
}

// openPostgres hands rawURL to pgx as it is; pgx validates it and reports errors with the
// password masked.
func openPostgres(ctx context.Context, u *url.URL, rawURL string, o Options) (*postgresDB, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: invalid postgres URL: %w", err)
	}
	if o.MaxConns > 0 && !u.Query().Has("pool_max_conns") {
		cfg.MaxConns = int32(min(o.MaxConns, 1<<20))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("sqlsink: postgres pool: %w", err)
	}
	return &postgresDB{pool: pool}, nil
}

// exec returns the row count of the command tag: "INSERT 0 0" when ON CONFLICT ... DO UPDATE
// ... WHERE kept the row.
func (p *postgresDB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := p.pool.Exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

func (p *postgresDB) close() error {
	p.pool.Close()
	return nil
}

// event_id compares byte-wise (COLLATE "C"), as Go's strings.Compare does, whatever the
// database's default collation.
func (*postgresDB) ddl(table string) string {
	return `CREATE TABLE IF NOT EXISTS ` + table + ` (
	id            TEXT        NOT NULL PRIMARY KEY,
	object        TEXT        NOT NULL,
	data          JSONB,
	event_id      TEXT        COLLATE "C" NOT NULL,
	event_type    TEXT        NOT NULL,
	event_rank    SMALLINT    NOT NULL,
	event_created BIGINT      NOT NULL,
	deleted       BOOLEAN     NOT NULL,
	updated_at    TIMESTAMPTZ NOT NULL,
	event_nanos   INTEGER     NOT NULL DEFAULT 0
)`
}

// postgresArgs is the most arguments a statement may have: the protocol counts them in 16 bits.
const postgresArgs = 65535

func (*postgresDB) maxArgs() int { return postgresArgs }

// values numbers the placeholders of the i-th row after those of the rows before it: 8 per row,
// 9 with event_nanos; updated_at is the server's now().
func (*postgresDB) values(i int, nanos bool) string {
	n := 8
	if nanos {
		n = 9
	}
	p := func(k int) string { return "$" + strconv.Itoa(i*n+k) }
	v := "(" + p(1) + ", " + p(2) + ", " + p(3) + "::jsonb, " + p(4) + ", " + p(5) + ", " + p(6) + ", " + p(7) + ", " + p(8) + ", now()"
	if nanos {
		v += ", " + p(9)
	}
	return v + ")"
}

func (*postgresDB) appendArgs(args []any, nanos bool, r row) []any {
	var data any // NULL
	if r.data != nil {
		data = string(r.data)
	}
	args = append(args, r.id, r.object, data, r.eventID, r.eventType, int16(r.rank), r.created, r.deleted)
	if nanos {
		args = append(args, int32(r.nanos))
	}
	return args
}

// begin starts a READ COMMITTED transaction, whatever the server's default: an upsert there
// waits for a concurrent writer of the same row, then applies its WHERE to the row that writer
// committed, as a single write does.
func (p *postgresDB) begin(ctx context.Context) (batchTx, error) {
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	return postgresTx{tx}, nil
}

type postgresTx struct{ tx pgx.Tx }

func (t postgresTx) upsert(ctx context.Context, query string, args []any, written func(id string)) error {
	rows, err := t.tx.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	return scanIDs(rows, written)
}

func (t postgresTx) commit(ctx context.Context) error { return t.tx.Commit(ctx) }

// rollback ends the transaction; when ctx is done pgx closes the connection instead, which
// ends it on the server too.
func (t postgresTx) rollback(ctx context.Context) { t.tx.Rollback(ctx) }

// missingColumn reports whether err is undefined_column (42703).
func (*postgresDB) missingColumn(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "42703"
}

// classify is the PostgreSQL error table, by SQLSTATE
// (https://www.postgresql.org/docs/current/errcodes-appendix.html), then by the kind of
// connection failure.
func (*postgresDB) classify(err error) hookline.ErrorCode {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return sqlstateCode(pgErr.Code)
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connErr), errors.As(err, &netErr),
		pgconn.SafeToRetry(err), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE):
		return hookline.Transient
	}
	return hookline.Unknown
}

func sqlstateCode(code string) hookline.ErrorCode {
	switch code {
	case "40001", // serialization_failure
		"40P01", // deadlock_detected
		"55P03", // lock_not_available
		"57014": // query_canceled (statement_timeout)
		return hookline.Transient
	}
	class := code[:min(2, len(code))]
	switch {
	case class == "08", // connection exception
		class == "53",                  // insufficient resources
		class == "58",                  // system error (I/O)
		strings.HasPrefix(code, "57P"): // admin shutdown, crash shutdown, cannot connect now
		return hookline.Transient
	case class == "22", // data exception: bad JSON for jsonb, "\u0000", a value out of range
		class == "23": // integrity constraint violation
		return hookline.Permanent
	}
	return hookline.Unknown
}

// tableMayExist reports whether a failed CREATE TABLE IF NOT EXISTS leaves the table usable:
// when another session created it at the same moment (unique_violation on the catalog, or
// duplicate_table), or when the role may not create tables (insufficient_privilege), which
// PostgreSQL checks before it looks for an existing table. In the last case a missing table
// shows up as an error of the write itself.
func (*postgresDB) tableMayExist(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "23505", "42P07", "42501":
		return true
	}
	return false
}
