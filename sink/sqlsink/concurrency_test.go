package sqlsink_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
	"github.com/hookline/hookline/sink/sinktest"
)

// TestWritesWhileReading writes duplicates and out-of-order events from two sinks (two
// processes, say) while a user inspects the table: one connection holds a read transaction open
// throughout, another runs SELECTs in a loop. Every write must succeed (SQLite in WAL mode lets
// readers and a writer work at once), the rows must end right, and Apply must report each event
// Stored at most once across both sinks.
func TestWritesWhileReading(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		u := d.fresh(t)
		first := openSink(t, u, nil)
		seed := sinktest.Event("cus_seed", "customer.created", "evt_seed", sinktest.T0, `{"id":"cus_seed"}`)
		if err := first.Write(ctx, seed); err != nil {
			t.Fatal(err)
		}

		// The user opens a read transaction and leaves it open.
		tx, err := d.reader(t, u).BeginTx(ctx, &sql.TxOptions{Isolation: d.snapshot, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if n := countRows(t, tx); n != 1 {
			t.Fatalf("%d rows before the writes, want 1", n)
		}

		// Another connection polls the table.
		stop := make(chan struct{})
		var polls atomic.Int64
		pollErr := make(chan error, 1)
		go func() { pollErr <- poll(d.reader(t, u), stop, &polls) }()

		// A second sink opened now (a restarted process) must get past table creation too.
		second := openSink(t, u, nil)
		events, win := redelivered("r", 4, 12)
		stored := writeAll(t, ctx, []sink.Sink{first, second}, events)
		close(stop)
		if err := <-pollErr; err != nil {
			t.Fatalf("reader: %v", err)
		}
		if polls.Load() == 0 {
			t.Error("the reader never ran during the writes")
		}
		// The open transaction still reads its snapshot.
		if n := countRows(t, tx); n != 1 {
			t.Errorf("the open read transaction sees %d rows, want its snapshot's 1", n)
		}
		tx.Rollback()

		// Two sinks (two connection pools, as two processes) wrote each event 12 times in all:
		// the database's row counts tell exactly one of them that it stored the newest.
		d.expectConverged(t, u, events, win, stored)
	})
}

// expectConverged fails t unless each subject's row holds its winner in win, the winner was
// reported Stored once, and no event of events more than once.
func (d database) expectConverged(t *testing.T, u string, events []hookline.Event, win map[string]hookline.Event,
	stored map[string]int) {
	t.Helper()
	db := d.reader(t, u)
	for subject, ev := range win {
		st, ok := d.lookup(t, db, subject)
		if !ok || st.EventID != ev.ID || st.Deleted != (ev.Action == hookline.Deleted) {
			t.Errorf("%s: row %+v (found %v), want event %s", subject, st, ok, ev.ID)
		}
		if stored[ev.ID] != 1 {
			t.Errorf("%s: the newest event %s was reported Stored %d times, want once", subject, ev.ID, stored[ev.ID])
		}
	}
	for _, ev := range events {
		if stored[ev.ID] > 1 {
			t.Errorf("%s: event %s was reported Stored %d times, want at most once", ev.Subject, ev.ID, stored[ev.ID])
		}
	}
}

func countRows(t *testing.T, tx *sql.Tx) int {
	t.Helper()
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM stripe_objects`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// poll reads the whole table until stop is closed.
func poll(db *sql.DB, stop <-chan struct{}, n *atomic.Int64) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		rows, err := db.Query(`SELECT id, event_id, deleted, data FROM stripe_objects ORDER BY id`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, eventID string
			var deleted bool
			var data []byte
			if err := rows.Scan(&id, &eventID, &deleted, &data); err != nil {
				rows.Close()
				return err
			}
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		n.Add(1)
	}
}

// redelivered returns subjects × perSubject events about subjects named after prefix, three in
// each second, the last of one subject in three a deletion, each event twice (a redelivery),
// shuffled; and the winner of each subject.
func redelivered(prefix string, subjects, perSubject int) ([]hookline.Event, map[string]hookline.Event) {
	var all []hookline.Event
	win := make(map[string]hookline.Event)
	for i := range subjects {
		subject := fmt.Sprintf("cus_%s%02d", prefix, i)
		for j := range perSubject {
			typ := "customer.updated"
			if j == perSubject-1 && i%3 == 0 {
				typ = "customer.deleted"
			}
			ev := sinktest.Event(subject, typ, fmt.Sprintf("evt_%s%02d_%02d", prefix, i, j),
				sinktest.T0.Add(time.Duration(j/3)*time.Second), fmt.Sprintf(`{"seq":%d}`, j))
			all = append(all, ev, ev)
			if w, ok := win[subject]; !ok || sink.VersionOf(ev).Supersedes(sink.VersionOf(w)) {
				win[subject] = ev
			}
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all, win
}

// writeAll writes events with Apply from 3 goroutines per sink, each in its own order, fails t on
// any error, and returns how many times each event (by id) was reported Stored.
func writeAll(t *testing.T, ctx context.Context, sinks []sink.Sink, events []hookline.Event) map[string]int {
	t.Helper()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		stored = make(map[string]int)
	)
	errs := make(chan error, len(events)*len(sinks)*3)
	for si, s := range sinks {
		for g := range 3 {
			order := append([]hookline.Event(nil), events...)
			rand.New(rand.NewPCG(uint64(si), uint64(g))).Shuffle(len(order), func(i, j int) {
				order[i], order[j] = order[j], order[i]
			})
			wg.Go(func() {
				for _, ev := range order {
					res, err := sink.Apply(ctx, s, ev)
					if err != nil {
						errs <- fmt.Errorf("sink %d: Apply(%s): %w (code %v)", si, ev.ID, err, hookline.Code(err))
						return
					}
					if res == sink.Stored {
						mu.Lock()
						stored[ev.ID]++
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	return stored
}

// TestBatchReplicas has two sinks (two replicas of a consumer, each with its own connections)
// apply batches of the same rows at once, three writers each, every writer in its own order, as
// consumers receiving redeliveries do. Without one order of locking rows, PostgreSQL would find
// deadlocks between their transactions; the sink sorts each statement's rows, so none may occur.
// A writer retries the items that failed Transient (a busy SQLite file, say), as the consumer
// loop would. The rows must end with the newest events, each reported Stored at most once and
// the newest exactly once.
func TestBatchReplicas(t *testing.T) {
	forEach(t, func(t *testing.T, d database) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		u := d.fresh(t)
		sinks := []sink.BatchApplier{openSink(t, u, nil), openSink(t, u, nil)}
		events, win := redelivered("rep", 30, 8)
		var (
			mu                 sync.Mutex
			stored             = make(map[string]int)
			retries, deadlocks int
			wg                 sync.WaitGroup
		)
		note := func(ev hookline.Event, o sink.Outcome) (retry bool) {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case o.Err == nil && o.Result == sink.Stored:
				stored[ev.ID]++
			case o.Err == nil:
			case hookline.Code(o.Err) == hookline.Transient:
				retries++
				if strings.Contains(o.Err.Error(), "40P01") {
					deadlocks++
				}
				return true
			default:
				t.Errorf("%s: %v (code %v)", ev.ID, o.Err, hookline.Code(o.Err))
			}
			return false
		}
		for si, s := range sinks {
			for g := range 3 {
				order := append([]hookline.Event(nil), events...)
				rand.New(rand.NewPCG(uint64(si), uint64(g))).Shuffle(len(order), func(i, j int) {
					order[i], order[j] = order[j], order[i]
				})
				wg.Go(func() { applyInBatches(ctx, s, order, 40, note) })
			}
		}
		wg.Wait()
		if deadlocks > 0 {
			t.Errorf("%d items failed with a deadlock (40P01): the batches lock rows in different orders", deadlocks)
		}
		t.Logf("%d items retried after a transient failure", retries)
		d.expectConverged(t, u, events, win, stored)
	})
}

// applyInBatches applies events in batches of size, as a consumer hands them over, and applies
// again, in a later batch, the items note asks to retry.
func applyInBatches(ctx context.Context, s sink.BatchApplier, events []hookline.Event, size int,
	note func(hookline.Event, sink.Outcome) bool) {
	for attempt := 0; len(events) > 0 && attempt < 100*len(events) && ctx.Err() == nil; attempt++ {
		n := min(size, len(events))
		batch := events[:n]
		events = events[n:]
		for i, o := range s.ApplyBatch(ctx, batchOf(batch...)) {
			if note(batch[i], o) {
				events = append(events, batch[i])
			}
		}
	}
}
