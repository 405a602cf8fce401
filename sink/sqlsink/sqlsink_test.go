package sqlsink_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
)

func TestConformanceSQLite(t *testing.T) {
	h := sqliteDB.harness()
	h.Unavailable = func(t *testing.T) sink.Sink {
		// A file in a directory that does not exist: SQLITE_CANTOPEN, as when a volume is not
		// mounted yet.
		return openSink(t, "sqlite://"+filepath.ToSlash(filepath.Join(t.TempDir(), "missing", "x.db")), nil)
	}
	h.Invalid = invalidEvents()
	sinktest.Run(t, h)
}

func TestConformancePostgres(t *testing.T) {
	postgresBase(t)
	h := postgresDB.harness()
	h.Unavailable = func(t *testing.T) sink.Sink {
		return openSink(t, "postgres://postgres:hunter2@127.0.0.1:1/test?sslmode=disable&connect_timeout=5", nil)
	}
	// jsonb refuses the NUL character that JSON (and so Go) accepts: the server's 22P05 must be
	// classified Permanent.
	h.Invalid = append(invalidEvents(),
		sinktest.Event("cus_nul", "customer.created", "evt_nul", sinktest.T0, `{"name":"a\u0000b"}`))
	sinktest.Run(t, h)
}

func invalidEvents() []hookline.Event {
	return []hookline.Event{
		sinktest.Event("cus_badjson", "customer.created", "evt_badjson", sinktest.T0, `{"id":`),
		sinktest.Event("cus_noid", "customer.created", "", sinktest.T0, `{"id":"cus_noid"}`),
	}
}

// forEach runs f as a subtest for each database.
func forEach(t *testing.T, f func(t *testing.T, d database)) {
	for _, d := range databases {
		t.Run(d.name, func(t *testing.T) { f(t, d) })
	}
}

func TestColumns(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		s := openSink(t, u, nil)
		db := d.reader(t, u)
		ctx := context.Background()
		data := `{"id":"cus_col","object":"customer","email":"zoë@example.com","balance":-1250,` +
			`"metadata":{"a":"1"},"tags":[1,2.5,true,null],"nested":{"deep":{"x":"<&>"}}}`
		created := sinktest.Event("cus_col", "customer.created", "evt_col_1",
			sinktest.T0.Add(700*time.Millisecond), data)
		if err := s.Write(ctx, created); err != nil {
			t.Fatal(err)
		}
		got := d.row(t, db, "cus_col")
		want := columns{Object: "customer", EventID: "evt_col_1", EventType: "customer.created",
			EventRank: 0, EventCreated: sinktest.T0.Unix(), Deleted: false}
		got.check(t, want, data)

		deleted := sinktest.Event("cus_col", "customer.deleted", "evt_col_2",
			sinktest.T0.Add(time.Hour), `{"id":"cus_col","object":"customer","deleted":true}`)
		if err := s.Write(ctx, deleted); err != nil {
			t.Fatal(err)
		}
		want = columns{Object: "customer", EventID: "evt_col_2", EventType: "customer.deleted",
			EventRank: 2, EventCreated: sinktest.T0.Add(time.Hour).Unix(), Deleted: true}
		d.row(t, db, "cus_col").check(t, want, string(deleted.Data))

		// The object type is what the source stamped, never read from the payload; without
		// payload data is NULL.
		noObject := sinktest.Event("pi_1", "payment_intent.succeeded", "evt_pi", sinktest.T0, `{"object":"payment_intent"}`)
		noObject.Object = ""
		noData := sinktest.Event("cus_nodata", "customer.updated", "evt_nodata", sinktest.T0, "")
		for _, ev := range []hookline.Event{noObject, noData} {
			if err := s.Write(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if got := d.row(t, db, "pi_1"); got.Object != "" || got.EventRank != 1 {
			t.Errorf("row of an event without Object: object %q rank %d, want \"\" and 1", got.Object, got.EventRank)
		}
		if got := d.row(t, db, "cus_nodata"); got.Data != nil || got.Object != "customer" {
			t.Errorf("row without payload: data %q object %q, want NULL and customer", got.Data, got.Object)
		}
		d.checkColumnNames(t, db)
	})
}

// columns is one row of stripe_objects.
type columns struct {
	Object, EventID, EventType string
	EventRank                  int
	EventCreated               int64
	Deleted                    bool
	Data                       []byte
	UpdatedAt                  time.Time
}

func (d database) row(t *testing.T, db *sql.DB, id string) columns {
	t.Helper()
	var c columns
	var updated any
	err := db.QueryRow(`SELECT object, event_id, event_type, event_rank, event_created, deleted, data, updated_at
		FROM stripe_objects WHERE id = `+d.ph(1), id).
		Scan(&c.Object, &c.EventID, &c.EventType, &c.EventRank, &c.EventCreated, &c.Deleted, &c.Data, &updated)
	if err != nil {
		t.Fatalf("read row %s: %v", id, err)
	}
	switch v := updated.(type) {
	case time.Time: // TIMESTAMPTZ
		c.UpdatedAt = v
	case string: // SQLite TEXT
		if c.UpdatedAt, err = time.Parse(time.RFC3339Nano, v); err != nil || !strings.HasSuffix(v, "Z") || len(v) != 30 {
			t.Errorf("updated_at %q is not fixed-width RFC 3339 UTC: %v", v, err)
		}
	default:
		t.Fatalf("updated_at has type %T", updated)
	}
	return c
}

func (c columns) check(t *testing.T, want columns, data string) {
	t.Helper()
	gotData := c.Data
	c.Data, c.UpdatedAt = nil, time.Time{}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("row = %+v, want %+v", c, want)
	}
	var g, w any
	if err := json.Unmarshal(gotData, &g); err != nil {
		t.Fatalf("data %q: %v", gotData, err)
	}
	json.Unmarshal([]byte(data), &w)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("data = %s, want %s", gotData, data)
	}
}

func (d database) checkColumnNames(t *testing.T, db *sql.DB) {
	t.Helper()
	q := `SELECT name FROM pragma_table_info('stripe_objects') ORDER BY cid`
	if d.name == "postgres" {
		q = `SELECT column_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'stripe_objects' ORDER BY ordinal_position`
	}
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		names = append(names, n)
	}
	want := []string{"id", "object", "data", "event_id", "event_type", "event_rank", "event_created", "deleted", "updated_at", "event_nanos"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("columns = %v, want %v", names, want)
	}
	if d.name == "postgres" {
		// The database's default collation may be a locale's; event ids must compare byte-wise.
		var collation sql.NullString
		err := db.QueryRow(`SELECT collation_name FROM information_schema.columns
			WHERE table_schema = current_schema() AND table_name = 'stripe_objects' AND column_name = 'event_id'`).
			Scan(&collation)
		if err != nil || collation.String != "C" {
			t.Errorf("event_id collation = %v (%v), want C", collation, err)
		}
	}
}

// TestUpdatedAt checks that updated_at is when an event last changed the row: a duplicate or
// an older event, which change nothing, leave it alone.
func TestUpdatedAt(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		s := openSink(t, u, nil)
		db := d.reader(t, u)
		write := func(ev hookline.Event) time.Time {
			t.Helper()
			time.Sleep(5 * time.Millisecond) // so that a rewrite would show in updated_at
			if err := s.Write(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			return d.row(t, db, ev.Subject).UpdatedAt
		}
		before := time.Now().Add(-2 * time.Second) // the server's clock may differ a little
		created := sinktest.Event("cus_u", "customer.created", "evt_u1", sinktest.T0, "")
		first := write(created)
		if after := time.Now().Add(2 * time.Second); first.Before(before) || first.After(after) {
			t.Errorf("updated_at = %v, want between %v and %v", first, before, after)
		}
		if again := write(created); !again.Equal(first) {
			t.Errorf("a duplicate moved updated_at from %v to %v", first, again)
		}
		updated := sinktest.Event("cus_u", "customer.updated", "evt_u2", sinktest.T0.Add(time.Second), "")
		second := write(updated)
		if !second.After(first) {
			t.Errorf("a newer event left updated_at at %v (was %v)", second, first)
		}
		if stale := write(created); !stale.Equal(second) {
			t.Errorf("an older event moved updated_at from %v to %v", second, stale)
		}
	})
}

func TestSchemaOnFirstUse(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		s := openSink(t, u, nil)
		if d.name == "sqlite" {
			path := strings.TrimPrefix(u, "sqlite://")
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("Open created %s before the first write (%v)", path, err)
			}
		}
		db := d.reader(t, u)
		if _, ok := d.lookup(t, db, "cus_first"); ok {
			t.Fatal("row before the first write")
		}
		if d.tableExists(t, db) {
			t.Fatal("Open created the table")
		}
		ev := sinktest.Event("cus_first", "customer.created", "evt_first", sinktest.T0, `{}`)
		if err := s.Write(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		if !d.tableExists(t, db) {
			t.Fatal("no table after the first write")
		}
		// Another sink (a restarted process) finds the table and uses it.
		s2 := openSink(t, u, nil)
		ev2 := sinktest.Event("cus_first", "customer.updated", "evt_second", sinktest.T0.Add(time.Second), `{}`)
		if err := s2.Write(context.Background(), ev2); err != nil {
			t.Fatal(err)
		}
		if st, _ := d.lookup(t, db, "cus_first"); st.EventID != "evt_second" {
			t.Fatalf("event_id = %q after the second sink wrote", st.EventID)
		}
	})
}

func (d database) tableExists(t *testing.T, db *sql.DB) bool {
	t.Helper()
	q := `SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'stripe_objects'`
	if d.name == "postgres" {
		q = `SELECT to_regclass('stripe_objects') IS NOT NULL`
	}
	var ok bool
	if err := db.QueryRow(q).Scan(&ok); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestInvalidDataTouchesNothing(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		s := openSink(t, u, nil)
		for _, data := range []string{`{"id":`, `not json`, "{\"a\":1}\x00", `{"a":1}{"b":2}`} {
			err := s.Write(context.Background(), sinktest.Event("cus_bad", "customer.created", "evt_bad", sinktest.T0, data))
			if hookline.Code(err) != hookline.Permanent || !strings.HasPrefix(err.Error(), "sqlsink: ") {
				t.Errorf("data %q: Write = %v (code %v), want a Permanent sqlsink error", data, err, hookline.Code(err))
			}
		}
		if d.tableExists(t, d.reader(t, u)) {
			t.Error("rejected events created the table: they reached the database")
		}
	})
}
