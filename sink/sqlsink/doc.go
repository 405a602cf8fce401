// Package sqlsink is a sink.Sink that keeps one row per object (a Stripe customer, a Standard
// Webhooks sender's user, ...) in SQLite (pure Go, modernc.org/sqlite, no cgo) or PostgreSQL
// (github.com/jackc/pgx/v5).
//
// Every event writes the row of its subject in a table of its source, [TableFor](Event.Source):
// stripe_objects for Stripe's events, standardwebhooks_objects for a Standard Webhooks sender's;
// or, with table= (Options.Table), in the one table named. A table is created on first use if
// it does not exist:
//
//	id             TEXT primary key     the object's id (Event.Subject), e.g. "cus_123"
//	object         TEXT                 its type as the source stamped it (Event.Object), e.g.
//	                                    "customer"; "" when the source gave none
//	data           JSONB / TEXT         the object's JSON as the event carried it (Event.Data);
//	                                    NULL when the event had no payload
//	event_id       TEXT                 the id of the event that wrote the row, e.g. "evt_123"
//	event_type     TEXT                 its type, e.g. "customer.updated"
//	event_rank     SMALLINT / INTEGER   its action: 0 created, 1 updated, 2 deleted (sink.Version)
//	event_created  BIGINT / INTEGER     its time (Event.Time) in Unix seconds: Stripe's "created"
//	deleted        BOOLEAN / INTEGER    true (1) when the event deleted its subject
//	updated_at     TIMESTAMPTZ / TEXT   when the row was last written: the server's now() on
//	                                    PostgreSQL; on SQLite the writer's clock as RFC 3339 UTC
//	                                    with nine fractional digits, so it sorts as text
//	event_nanos    INTEGER              the nanoseconds of its time past event_created, for a
//	                                    source whose times are finer than a second (0 for Stripe)
//
// A table created before event_nanos existed (a stripe_objects table of an earlier version) is
// used as it is, with no migration: the sink sees that the column is missing and orders that
// table's rows by whole seconds, as it always did, which loses nothing for Stripe's events. To
// order finer times in such a table, add the column yourself:
//
//	ALTER TABLE stripe_objects ADD COLUMN event_nanos INTEGER NOT NULL DEFAULT 0;
//
// event_type and event_rank are there to apply the ordering rule in SQL; event_id is compared
// byte-wise (COLLATE "C" on PostgreSQL, SQLite's default BINARY), exactly as Go compares strings.
//
// # URLs
//
// [Open] and, after importing this package, [sink.Open] accept:
//
//	sqlite://hookline.db            a file relative to the working directory
//	sqlite://data/hookline.db       a nested relative path
//	sqlite:///var/lib/hookline.db   an absolute path (three slashes)
//	sqlite://./my%20data/x.db       percent-encoded; Go's URL parser accepts escapes only
//	                                after the first segment, hence the "./"
//	postgres://user:pass@host:5432/db?sslmode=verify-full
//	postgresql://...                the same
//
// Both take table=, the one table to write ([Options.Table]): a plain identifier, letters,
// digits and underscores ([CheckTableName]). A sqlite URL takes one more query parameter,
// busy_timeout (a Go duration such as "10s", see [Options.BusyTimeout]); any other parameter is
// an error. The file is opened in WAL journal
// mode with synchronous=FULL, so a write that returned nil survives a power loss and readers
// (a user with the sqlite3 shell, a report) never block the sink nor it them.
//
// A postgres URL goes to pgx without its table= parameter: pgx validates it, pool_max_conns and the other pool_*
// parameters size the connection pool, and run-time parameters such as search_path (the schema
// the table lives in) or application_name are passed to the server.
//
// Opening is lazy: no connection is made and no file is created until the first Write, so a sink
// can be opened while its database is down; its writes then fail with transient errors until
// it is back.
//
// # Delivery semantics
//
// A write is one statement, INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE the new event's
// (event_created, event_nanos, event_rank, event_id) is greater than the row's: the order of
// sink.Version. It
// reads nothing first, so concurrent writers (goroutines, processes, replicas) need no lock
// and converge on the same row whatever order events arrive in:
//
//   - an event written twice changes the row once (equal versions do not update);
//   - an event older than the one that wrote the row is ignored;
//   - events of the same time (Stripe's "created" has one-second resolution, so they are common)
//     are ordered by action, created < updated < deleted, then by event id. The result is
//     deterministic whatever the arrival order, although for two updates within one second it is
//     not necessarily the one Stripe made last;
//   - an event that deletes its subject sets deleted and keeps the deleted object's payload; an
//     older or same-time update arriving later does not bring the object back.
//
// A Write that returned nil is committed. The sink does not retry; the consumer loop does.
//
// The sink is a [sink.Applier]: [Sink.Apply] writes as Write does and reports what the statement
// did from the row count the database returns (sqlite3_changes on SQLite, the command tag on
// PostgreSQL): [sink.Stored] when it inserted or updated the row, [sink.Ignored] when its WHERE
// kept the row because this event or a newer one wrote it, which both databases count as 0
// rows. The decision and the report come from the same statement, so they agree even when
// concurrent writers race: of several writers of one event, at most one is told Stored.
//
// # Batches
//
// The sink is a [sink.BatchApplier]: [Sink.ApplyBatch] writes what the consumer loop received
// together in one transaction, so that a batch of 100 events costs one commit (one fsync on
// SQLite with synchronous=FULL) instead of 100 (BenchmarkApplyBatch compares the two). The
// transaction holds one statement per table, the single write's upsert with a row per event and
// the same WHERE, which the database applies to each row on its own:
//
//	INSERT INTO stripe_objects (id, object, ..., event_nanos)
//	VALUES ($1, ..., $9), ($10, ..., $18), ...
//	ON CONFLICT (id) DO UPDATE SET object = excluded.object, ...
//	WHERE (excluded.event_created, excluded.event_nanos, excluded.event_rank, excluded.event_id)
//	    > (stripe_objects.event_created, stripe_objects.event_nanos, stripe_objects.event_rank, stripe_objects.event_id)
//	RETURNING id
//
// RETURNING (PostgreSQL; SQLite since 3.35, and modernc.org/sqlite embeds a later one) gives
// the ids of the rows the statement inserted or updated: those items are [sink.Stored], the
// others [sink.Ignored], exactly as their row counts would say alone. A row appears once in a
// statement (PostgreSQL refuses to change a row twice in one): of several items about one row,
// only the newest by [sink.Version] goes in ([sink.Newest]), and the others are Ignored, or get
// its error if it fails ([sink.Spread]). A table without event_nanos compares whole seconds
// here too. A statement takes as many rows as its arguments allow (SQLite 32,766 arguments,
// 10 a row, so 3,276 rows; PostgreSQL 65,535, 9 a row, so 7,281 rows; one fewer argument a
// row for a table without event_nanos); a larger batch is several statements in the same
// transaction.
//
// Rows are written in one order, by table and then id, whatever order the items came in. Two
// consumers (or replicas) writing overlapping batches at once on PostgreSQL then lock the rows
// they share in the same order, one waiting for the other's commit and then applying its WHERE
// to the committed row, and cannot deadlock; a deadlock or serialization failure that happens
// all the same (another program writing the table in its own transactions) is Transient, like a
// lock or statement timeout. SQLite lets one writer in at a time: a batch waits up to
// busy_timeout for the lock, as a single write does. The pragmas are the same for both paths.
//
// Each item still gets its own Outcome. An item Apply would refuse before touching the
// database (no subject or id, data that is not JSON, or columns of a route's mapping, which
// this sink does not take) fails alone with a Permanent error and stays out of the statement.
// When the transaction fails for a reason that may be one row's (a Permanent error such as a
// value the database refuses, or an Unknown one), nothing of it was committed, and its rows are
// written again one at a time, as Apply writes them, so that only the bad row's items fail. A
// Transient failure (the connection lost, a lock not granted in time) is every written item's
// error, and when ctx ends before the commit every item gets ctx.Err() itself.
//
// # Errors
//
// Errors start with "sqlsink: " and carry a hookline code (see hookline.Code):
//
//   - Permanent, before the database is touched: an event without subject or id, data that is
//     not valid JSON. From the database: PostgreSQL classes 22 (data exception, e.g. a
//     "\u0000" that jsonb refuses) and 23 (integrity constraint); SQLite CONSTRAINT, MISMATCH,
//     TOOBIG and RANGE.
//   - Transient: failures to connect or a dropped connection; PostgreSQL 40001 (serialization),
//     40P01 (deadlock), 55P03 (lock not available), classes 08 (connection), 53 (insufficient
//     resources), 57P (server shutting down), 58 (system I/O) and 57014 (statement timeout);
//     SQLite BUSY, LOCKED, IOERR, CANTOPEN, FULL, NOMEM and PROTOCOL.
//   - Unknown (retried like Transient, then returned to the broker) for the rest, for example a
//     table stripe_objects of another shape or a missing permission: configuration problems that
//     must not dead-letter every event.
//
// When ctx ends first, Write returns ctx.Err() itself, not wrapped.
//
// # Security
//
// Errors never contain the password of the URL, nor the value of a password, sslpassword,
// secret or token query parameter: they are masked as "xxxxx" in every message this package
// returns, including the driver's. Values are always sent as statement parameters, never
// spliced into SQL. Prefer sslmode=verify-full for PostgreSQL across a network, and a database
// role that may only create and write its own table. A role without the CREATE privilege can
// write a table an administrator created beforehand with the columns above: the sink tries
// CREATE TABLE IF NOT EXISTS, and when PostgreSQL refuses it for lack of privilege (which it
// checks before looking for the table) goes on to write.
package sqlsink
