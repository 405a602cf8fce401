package sqlsink_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink/sinktest"
	"github.com/hookline/hookline/sink/sqlsink"
)

// eventIDIn returns the event_id of the row of subject in table, or "" when there is none.
func (d database) eventIDIn(t *testing.T, u, table, subject string) string {
	t.Helper()
	var id string
	err := d.reader(t, u).QueryRow("SELECT event_id FROM "+table+" WHERE id = "+d.ph(1), subject).Scan(&id)
	if err != nil && !strings.Contains(err.Error(), "no rows") {
		t.Fatalf("read %s from %s: %v", subject, table, err)
	}
	return id
}

// Without table=, each source's events go to <source>_objects; with it, all go to that table.
func TestTables(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		stripe := sinktest.Event("cus_1", "customer.updated", "evt_1", sinktest.T0, `{"id":"cus_1"}`)
		sw := sinktest.Event("user_1", "user.updated", "msg_1", sinktest.T0.Add(250*time.Millisecond), `{"id":"user_1"}`)
		sw.Source = "standardwebhooks"
		ctx := context.Background()

		u := d.fresh(t)
		s := openSink(t, u, nil)
		for _, ev := range []hookline.Event{stripe, sw} {
			if err := s.Write(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if d.eventIDIn(t, u, "stripe_objects", "cus_1") != "evt_1" || d.eventIDIn(t, u, "standardwebhooks_objects", "user_1") != "msg_1" {
			t.Error("the events did not go to their sources' tables")
		}

		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		one := openSink(t, u+sep+"table=all_events", nil)
		for _, ev := range []hookline.Event{stripe, sw} {
			if err := one.Write(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		if d.eventIDIn(t, u, "all_events", "cus_1") != "evt_1" || d.eventIDIn(t, u, "all_events", "user_1") != "msg_1" {
			t.Error("table=all_events did not take both sources' events")
		}
	})
}

func TestTableNames(t *testing.T) {
	for source, want := range map[string]string{"stripe": "stripe_objects", "standardwebhooks": "standardwebhooks_objects",
		"Stripe/acct_1": "stripe_acct_1_objects", "9x": "_9x_objects", "": "__objects"} {
		if got := sqlsink.TableFor(source); got != want || sqlsink.CheckTableName(got) != nil {
			t.Errorf("TableFor(%q) = %q, want %q (a valid name)", source, got, want)
		}
	}
	for _, bad := range []string{"", "1abc", "a-b", "a b", "x;drop", strings.Repeat("a", 64)} {
		if _, err := sqlsink.Open(context.Background(), "sqlite://x.db?table="+url.QueryEscape(bad), nil); err == nil || !strings.Contains(err.Error(), "plain identifier") {
			t.Errorf("table=%q: %v, want refused as not a plain identifier", bad, err)
		}
	}
}

// A table created before event_nanos existed keeps working as it did: it orders by whole
// seconds, and the sink does not change its columns.
func TestTableWithoutNanos(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		db := d.reader(t, u)
		d.createTableWithoutNanos(t, db)
		s := openSink(t, u, nil)
		ctx := context.Background()
		later := sinktest.Event("cus_1", "customer.updated", "evt_a", sinktest.T0.Add(900*time.Millisecond), `{"v":"a"}`)
		earlier := sinktest.Event("cus_1", "customer.updated", "evt_b", sinktest.T0.Add(100*time.Millisecond), `{"v":"b"}`)
		for _, ev := range []hookline.Event{later, earlier} {
			if err := s.Write(ctx, ev); err != nil {
				t.Fatal(err)
			}
		}
		// One second for this table: evt_b wins by id, as before sub-second times existed.
		if got := d.eventIDIn(t, u, "stripe_objects", "cus_1"); got != "evt_b" {
			t.Errorf("row holds %q, want evt_b (whole seconds, then id)", got)
		}
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM stripe_objects`).Scan(&n); err != nil || n != 1 {
			t.Errorf("count = %d, %v", n, err)
		}
		if _, err := db.Exec(`SELECT event_nanos FROM stripe_objects`); err == nil {
			t.Error("the sink added event_nanos to an existing table")
		}
	})
}

// createTableWithoutNanos creates stripe_objects as a version before event_nanos did.
func (d database) createTableWithoutNanos(t *testing.T, db *sql.DB) {
	t.Helper()
	types := map[string][]string{
		"sqlite":   {"TEXT", "TEXT", "INTEGER", "INTEGER", "INTEGER", "TEXT"},
		"postgres": {"JSONB", `TEXT COLLATE "C"`, "SMALLINT", "BIGINT", "BOOLEAN", "TIMESTAMPTZ"},
	}[d.name]
	if _, err := db.Exec(`CREATE TABLE stripe_objects (id TEXT NOT NULL PRIMARY KEY, object TEXT NOT NULL,
		data ` + types[0] + `, event_id ` + types[1] + ` NOT NULL, event_type TEXT NOT NULL, event_rank ` + types[2] + ` NOT NULL,
		event_created ` + types[3] + ` NOT NULL, deleted ` + types[4] + ` NOT NULL, updated_at ` + types[5] + ` NOT NULL)`); err != nil {
		t.Fatal(err)
	}
}
