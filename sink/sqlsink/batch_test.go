package sqlsink_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
)

func batchOf(evs ...hookline.Event) []sink.Item {
	items := make([]sink.Item, len(evs))
	for i, ev := range evs {
		items[i] = sink.Item{Event: ev}
	}
	return items
}

// wantOutcome fails t unless o is a success with Result want.
func wantOutcome(t *testing.T, o sink.Outcome, ev hookline.Event, want sink.Result) {
	t.Helper()
	if o.Err != nil || o.Result != want {
		t.Errorf("%s (%s): outcome %v, %v; want %v", ev.ID, ev.Subject, o.Result, o.Err, want)
	}
}

// TestBatchChunks applies 8,000 rows in one batch, more than one statement takes arguments for
// on either database (SQLite 32,766 arguments, 10 a row; PostgreSQL 65,535, 9 a row), with an
// older event and a redelivery for some of them: every row is written, in one transaction of
// several statements, and each item reports what Apply would.
func TestBatchChunks(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		s := openSink(t, u, nil)
		const rows = 8000
		var evs []hookline.Event
		for i := range rows {
			subject := fmt.Sprintf("cus_%05d", i)
			evs = append(evs, sinktest.Event(subject, "customer.updated", fmt.Sprintf("evt_%05d_b", i),
				sinktest.T0.Add(time.Second), fmt.Sprintf(`{"id":%q}`, subject)))
			if i%100 == 0 { // an older event after the newer one, and a redelivery
				evs = append(evs, sinktest.Event(subject, "customer.created", fmt.Sprintf("evt_%05d_a", i), sinktest.T0, `{}`),
					evs[len(evs)-1])
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		out := s.ApplyBatch(ctx, batchOf(evs...))
		seen := make(map[string]bool)
		for i, ev := range evs {
			want := sink.Stored
			if seen[ev.Subject] || strings.HasSuffix(ev.ID, "_a") {
				want = sink.Ignored
			}
			seen[ev.Subject] = true
			wantOutcome(t, out[i], ev, want)
		}
		var n int
		if err := d.reader(t, u).QueryRow(`SELECT count(*) FROM stripe_objects WHERE event_id LIKE '%_b'`).Scan(&n); err != nil || n != rows {
			t.Errorf("%d rows written by the newer events (%v), want %d", n, err, rows)
		}
	})
}

// TestBatchTableWithoutNanos applies a batch to a table created before event_nanos existed: it
// orders by whole seconds, in a batch as in single writes (TestTableWithoutNanos).
func TestBatchTableWithoutNanos(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		d.createTableWithoutNanos(t, d.reader(t, u))
		s := openSink(t, u, nil)
		later := sinktest.Event("cus_1", "customer.updated", "evt_a", sinktest.T0.Add(900*time.Millisecond), `{"v":"a"}`)
		earlier := sinktest.Event("cus_1", "customer.updated", "evt_b", sinktest.T0.Add(100*time.Millisecond), `{"v":"b"}`)
		other := sinktest.Event("cus_2", "customer.created", "evt_c", sinktest.T0, `{"v":"c"}`)
		batch := []hookline.Event{later, earlier, other}
		out := s.ApplyBatch(context.Background(), batchOf(batch...))
		wantOutcome(t, out[0], later, sink.Ignored)
		wantOutcome(t, out[1], earlier, sink.Stored)
		wantOutcome(t, out[2], other, sink.Stored)
		if got := d.eventIDIn(t, u, "stripe_objects", "cus_1"); got != "evt_b" {
			t.Errorf("row holds %q, want evt_b (whole seconds, then id)", got)
		}
		for i, o := range s.ApplyBatch(context.Background(), batchOf(batch...)) {
			wantOutcome(t, o, batch[i], sink.Ignored)
		}
	})
}

// TestBatchOneBadRow applies a batch in which the database refuses one row that the sink cannot
// check beforehand (a constraint of the table): that row's items fail Permanent and the others
// are stored, as if each had been applied alone.
func TestBatchOneBadRow(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		u := d.fresh(t)
		s := openSink(t, u, nil)
		ctx := context.Background()
		if err := s.Write(ctx, sinktest.Event("cus_0", "customer.created", "evt_0", sinktest.T0, `{}`)); err != nil {
			t.Fatal(err)
		}
		db := d.reader(t, u)
		constraint := `ALTER TABLE stripe_objects ADD CONSTRAINT short_id CHECK (length(id) <= 8)`
		if d.name == "sqlite" { // which has no ALTER TABLE ... ADD CONSTRAINT
			constraint = `CREATE TRIGGER short_id BEFORE INSERT ON stripe_objects WHEN length(NEW.id) > 8
				BEGIN SELECT RAISE(ABORT, 'id too long'); END`
		}
		if _, err := db.Exec(constraint); err != nil {
			t.Fatal(err)
		}
		first := sinktest.Event("cus_1", "customer.created", "evt_1", sinktest.T0, `{}`)
		badOld := sinktest.Event("cus_toolong", "customer.created", "evt_2", sinktest.T0, `{}`)
		badNew := sinktest.Event("cus_toolong", "customer.updated", "evt_3", sinktest.T0.Add(time.Second), `{}`)
		update := sinktest.Event("cus_0", "customer.updated", "evt_4", sinktest.T0.Add(time.Second), `{}`)
		mapped := sink.Item{Event: sinktest.Event("cus_5", "customer.created", "evt_5", sinktest.T0, `{}`),
			Columns: map[string]any{"name": "x"}}
		items := append(batchOf(first, badOld, badNew, update), mapped)
		out := s.ApplyBatch(ctx, items)
		wantOutcome(t, out[0], first, sink.Stored)
		wantOutcome(t, out[3], update, sink.Stored)
		for _, i := range []int{1, 2, 4} {
			if hookline.Code(out[i].Err) != hookline.Permanent || !strings.HasPrefix(out[i].Err.Error(), "sqlsink: ") {
				t.Errorf("%s: %v (code %v), want a Permanent sqlsink error", items[i].Event.ID, out[i].Err, hookline.Code(out[i].Err))
			}
		}
		if got := d.eventIDIn(t, u, "stripe_objects", "cus_0"); got != "evt_4" {
			t.Errorf("cus_0 holds %q, want evt_4", got)
		}
		if got := d.eventIDIn(t, u, "stripe_objects", "cus_1"); got != "evt_1" {
			t.Errorf("cus_1 holds %q, want evt_1", got)
		}
	})
}
