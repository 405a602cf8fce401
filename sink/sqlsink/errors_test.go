package sqlsink_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
	"github.com/hookline/hookline/sink/sqlsink"
)

func TestUnavailablePostgresHidesPassword(t *testing.T) {
	const password = "s3cret-Pa55word"
	for _, rawURL := range []string{
		"postgres://hookline:" + password + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=5",
		"postgresql://hookline@127.0.0.1:1/test?sslmode=disable&password=" + password,
	} {
		for _, open := range map[string]func() (sink.Sink, error){
			"sqlsink.Open": func() (sink.Sink, error) { return sqlsink.Open(context.Background(), rawURL, nil) },
			"sink.Open":    func() (sink.Sink, error) { return sink.Open(context.Background(), rawURL) },
		} {
			s, err := open()
			if err != nil {
				t.Fatalf("Open must not connect, but failed: %v", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			err = s.Write(ctx, sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`))
			cancel()
			s.Close()
			if err == nil {
				t.Fatal("Write to 127.0.0.1:1 succeeded")
			}
			if code := hookline.Code(err); code != hookline.Transient {
				t.Errorf("Write to an unreachable server: code %v, want transient (%v)", code, err)
			}
			if msg := err.Error(); strings.Contains(msg, password) || !strings.HasPrefix(msg, "sqlsink: ") {
				t.Errorf("error %q leaks the password or lacks the prefix", msg)
			}
		}
	}
}

// TestSQLiteLocked holds the write lock of the database from another connection, as another
// process in the middle of a transaction would. A batch fails as a single write does, every
// item of it, and writes nothing.
func TestSQLiteLocked(t *testing.T) {
	u := sqliteDB.fresh(t)
	ctx := context.Background()
	s := openSink(t, u+"?busy_timeout=100ms", nil)
	if err := s.Write(ctx, sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`)); err != nil {
		t.Fatal(err)
	}
	conn, err := sqliteDB.reader(t, u).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	update := sinktest.Event("cus_1", "customer.updated", "evt_2", sinktest.T0.Add(time.Second), `{}`)

	busy := func(err error) bool {
		return hookline.Code(err) == hookline.Transient && strings.Contains(err.Error(), "SQLITE_BUSY")
	}
	if err = s.Write(ctx, update); !busy(err) {
		t.Errorf("Write while another connection holds the lock = %v (code %v), want a transient SQLITE_BUSY",
			err, hookline.Code(err))
	}
	expectBatchFails(t, ctx, s, "a transient SQLITE_BUSY", busy)

	// A deadline that ends while the write waits for the lock: the context's error, unwrapped.
	slow := openSink(t, u+"?busy_timeout=2s", nil)
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := slow.Write(short, update); err != context.DeadlineExceeded {
		t.Errorf("Write whose deadline passes while waiting = %v, want context.DeadlineExceeded itself", err)
	}
	short, cancel = context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	expectBatchFails(t, short, slow, "context.DeadlineExceeded itself", isDeadline)

	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	expectBatchAfterLock(t, sqliteDB, u, s)
	if err := s.Write(ctx, update); err != nil {
		t.Errorf("Write after the lock was released: %v", err)
	}
}

func isDeadline(err error) bool { return err == context.DeadlineExceeded }

// lockedBatch is an update of cus_1, whose row the tests lock, and two new subjects, one on
// either side of it in the order rows are written.
func lockedBatch() []sink.Item {
	return batchOf(
		sinktest.Event("cus_2", "customer.created", "evt_b2", sinktest.T0, `{}`),
		sinktest.Event("cus_1", "customer.updated", "evt_2", sinktest.T0.Add(time.Second), `{}`),
		sinktest.Event("cus_0", "customer.created", "evt_b0", sinktest.T0, `{}`),
	)
}

// expectBatchFails applies lockedBatch while the row of cus_1 is locked: every item must fail as
// failed says (want describes it).
func expectBatchFails(t *testing.T, ctx context.Context, s sink.BatchApplier, want string, failed func(error) bool) {
	t.Helper()
	for i, o := range s.ApplyBatch(ctx, lockedBatch()) {
		if !failed(o.Err) {
			t.Errorf("ApplyBatch while the row is locked: item %d: %v (code %v), want %s", i, o.Err, hookline.Code(o.Err), want)
		}
	}
}

// expectBatchAfterLock checks, once the lock is released, that the failed batches wrote
// nothing, then applies the batch again: every item is stored.
func expectBatchAfterLock(t *testing.T, d database, u string, s sink.BatchApplier) {
	t.Helper()
	for subject, want := range map[string]string{"cus_0": "", "cus_1": "evt_1", "cus_2": ""} {
		if got := d.eventIDIn(t, u, "stripe_objects", subject); got != want {
			t.Errorf("after the failed batches %s holds %q, want %q", subject, got, want)
		}
	}
	for i, o := range s.ApplyBatch(context.Background(), lockedBatch()) {
		if o.Err != nil || o.Result != sink.Stored {
			t.Errorf("ApplyBatch after the lock was released: item %d: %v, %v; want stored", i, o.Result, o.Err)
		}
	}
}

// TestPostgresRowLocked holds the row lock from another transaction. A batch that includes the
// row fails as a single write does, every item of it, and writes nothing, not even the rows
// that were not locked.
func TestPostgresRowLocked(t *testing.T) {
	u := postgresDB.fresh(t)
	ctx := context.Background()
	s := openSink(t, u, nil)
	if err := s.Write(ctx, sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`)); err != nil {
		t.Fatal(err)
	}
	tx, err := postgresDB.reader(t, u).BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE stripe_objects SET object = object WHERE id = 'cus_1'"); err != nil {
		t.Fatal(err)
	}
	update := sinktest.Event("cus_1", "customer.updated", "evt_2", sinktest.T0.Add(time.Second), `{}`)

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := s.Write(short, update); err != context.DeadlineExceeded {
		t.Errorf("Write whose deadline passes while waiting = %v, want context.DeadlineExceeded itself", err)
	}
	short, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	expectBatchFails(t, short, s, "context.DeadlineExceeded itself", isDeadline)

	// Run-time parameters in the URL reach the server: lock_timeout turns the wait into 55P03.
	pu, _ := url.Parse(u)
	q := pu.Query()
	q.Set("lock_timeout", "100ms")
	pu.RawQuery = q.Encode()
	impatient := openSink(t, pu.String(), nil)
	notGranted := func(err error) bool {
		return hookline.Code(err) == hookline.Transient && strings.Contains(err.Error(), "55P03")
	}
	if err = impatient.Write(ctx, update); !notGranted(err) {
		t.Errorf("Write past lock_timeout = %v (code %v), want a transient 55P03", err, hookline.Code(err))
	}
	expectBatchFails(t, ctx, impatient, "a transient 55P03", notGranted)

	tx.Rollback()
	expectBatchAfterLock(t, postgresDB, u, s)
	if err := s.Write(ctx, update); err != nil {
		t.Errorf("Write after the lock was released: %v", err)
	}
}

func TestCanceledDuringFirstWrite(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		s := openSink(t, d.fresh(t), nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := s.Write(ctx, sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`))
		if err != context.Canceled {
			t.Fatalf("Write = %v, want context.Canceled itself", err)
		}
		if err := s.Write(context.Background(), sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`)); err != nil {
			t.Fatalf("Write after a canceled one: %v", err)
		}
	})
}

func TestWriteAfterClose(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		s, err := sqlsink.Open(context.Background(), d.fresh(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		err = s.Write(context.Background(), sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`))
		if err == nil || hookline.Code(err) == hookline.Permanent || errors.Is(err, context.Canceled) {
			t.Fatalf("Write after Close = %v (code %v), want a failure the loop retries", err, hookline.Code(err))
		}
	})
}

// TestPostgresRoleWithoutCreate writes as a role that may write the table but not create
// tables: the sink must not stop at CREATE TABLE IF NOT EXISTS, which PostgreSQL refuses such a
// role even when the table exists.
func TestPostgresRoleWithoutCreate(t *testing.T) {
	u := postgresDB.fresh(t)
	ctx := context.Background()
	admin := openSink(t, u, nil)
	if err := admin.Write(ctx, sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`)); err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	schema := pu.Query().Get("search_path")
	role := strings.Replace(schema, "hookline_test_", "hookline_writer_", 1)
	base := postgresBase(t)
	adminExec(t, base, "CREATE ROLE "+role+" LOGIN")
	t.Cleanup(func() {
		adminExec(t, base, "DROP OWNED BY "+role)
		adminExec(t, base, "DROP ROLE "+role)
	})
	adminExec(t, base, "GRANT USAGE ON SCHEMA "+schema+" TO "+role)
	adminExec(t, base, "GRANT SELECT, INSERT, UPDATE ON "+schema+".stripe_objects TO "+role)

	pu.User = url.User(role)
	s := openSink(t, pu.String(), nil)
	if err := s.Write(ctx, sinktest.Event("cus_1", "customer.updated", "evt_2", sinktest.T0.Add(time.Second), `{}`)); err != nil {
		t.Fatalf("Write as %s: %v", role, err)
	}
	if st, _ := postgresDB.lookup(t, postgresDB.reader(t, u), "cus_1"); st.EventID != "evt_2" {
		t.Fatalf("event_id = %q, want evt_2", st.EventID)
	}
}
