package sqlsink

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// batchRow is an item of a batch that goes into the statement: the newest valid item of its
// row.
type batchRow struct {
	item int // its index in the batch
	t    *table
	r    row
}

// ApplyBatch writes items in one transaction, with one upsert per table (or per chunk of rows,
// when a table's rows need more arguments than a statement takes), under the WHERE of
// [Sink.Apply], and reports each item's Outcome as [sink.BatchApplier] says: Stored for the
// rows the upserts returned (RETURNING id gives the rows they inserted or updated), Ignored for
// the others and for the items a newer item of the same row superseded.
//
// An item that Apply would refuse before touching the database (no subject or id, data that is
// not JSON, columns from a route's mapping) fails alone with Apply's Permanent error. When the
// transaction fails for a reason that may be one row's (a Permanent error such as a value the
// database refuses, or an Unknown one), the rows are written again one at a time, as Apply
// writes them, so that each gets its own result; a Transient failure (a connection lost, a
// deadlock, a lock held too long) is every written item's error; when ctx ends first, every
// item not yet committed gets ctx's error.
func (s *Sink) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	out := make([]sink.Outcome, len(items))
	if err := ctx.Err(); err != nil {
		for i := range out {
			out[i] = failed(err)
		}
		return out
	}
	rows, newest := s.prepare(ctx, items, out)
	s.writeRows(ctx, rows, out)
	sink.Spread(out, newest)
	return out
}

func failed(err error) sink.Outcome { return sink.Outcome{Result: sink.Ignored, Err: err} }

// prepare checks items as Apply does, giving those it refuses their Outcome in out, and returns
// the rows to write, the newest item of each (by table and id), sorted by table and id, and
// [sink.Newest] of items.
func (s *Sink) prepare(ctx context.Context, items []sink.Item, out []sink.Outcome) ([]batchRow, []int) {
	valid := make([]batchRow, len(items))
	// keyed is what sink.Newest compares: each valid item's event with its row's key as Subject
	// ("" for the others, which are their own newest) and its time as its table orders it.
	keyed := make([]sink.Item, len(items))
	for i, it := range items {
		keyed[i].Event = it.Event
		keyed[i].Event.Subject = ""
		if it.Columns != nil {
			out[i] = failed(hookline.Errorf(hookline.Permanent,
				"sqlsink: event %s: this sink keeps whole objects and writes no mapped columns", it.Event.ID))
			continue
		}
		r, err := rowOf(it.Event)
		if err != nil {
			out[i] = failed(err)
			continue
		}
		t, err := s.tableOf(ctx, it.Event.Source)
		if err != nil {
			out[i] = failed(err)
			continue
		}
		valid[i] = batchRow{item: i, t: t, r: r}
		keyed[i].Event.Subject = t.name + "\x00" + r.id
		if !t.nanos { // a table without event_nanos orders by whole seconds
			keyed[i].Event.Time = it.Event.Time.Truncate(time.Second)
		}
	}
	newest := sink.Newest(keyed, func(it sink.Item) string { return it.Event.Subject })
	var rows []batchRow
	for i, n := range newest {
		if n == i && valid[i].t != nil {
			rows = append(rows, valid[i])
		}
	}
	// One order for every writer: two transactions that lock rows in the same order cannot
	// deadlock.
	slices.SortFunc(rows, func(a, b batchRow) int {
		return cmp.Or(strings.Compare(a.t.name, b.t.name), strings.Compare(a.r.id, b.r.id))
	})
	return rows, newest
}

// writeRows writes rows in one transaction and gives each its Outcome in out; when the
// transaction fails for a reason that may be one row's, it writes them one at a time.
func (s *Sink) writeRows(ctx context.Context, rows []batchRow, out []sink.Outcome) {
	if len(rows) == 0 {
		return
	}
	written, err := s.commitRows(ctx, rows)
	switch {
	case err == nil:
		for k, br := range rows {
			if written[k] {
				out[br.item] = sink.Outcome{Result: sink.Stored}
			} else {
				out[br.item] = sink.Outcome{Result: sink.Ignored}
			}
		}
	case ctx.Err() != nil || s.db.classify(err) == hookline.Transient:
		for _, br := range rows {
			out[br.item] = failed(s.fail(ctx, err, "write %s (event %s, in a batch of %d rows)", br.r.id, br.r.eventID, len(rows)))
		}
	default:
		for _, br := range rows {
			res, err := s.write(ctx, br.t, br.r)
			out[br.item] = sink.Outcome{Result: res, Err: err}
		}
	}
}

// commitRows upserts rows, sorted by table, in one transaction and reports which of them the
// upserts inserted or updated.
func (s *Sink) commitRows(ctx context.Context, rows []batchRow) ([]bool, error) {
	tx, err := s.db.begin(ctx)
	if err != nil {
		return nil, err
	}
	written := make([]bool, len(rows))
	for k := 0; k < len(rows); {
		n, err := s.upsertRows(ctx, tx, rows[k:], written[k:])
		if err != nil {
			tx.rollback(ctx)
			return nil, err
		}
		k += n
	}
	if err := tx.commit(ctx); err != nil {
		return nil, err
	}
	return written, nil
}

// upsertRows writes the first rows of rows with one statement: those of the first row's table,
// as many as the database takes arguments for. It sets written[k] when the statement inserted
// or updated rows[k], and returns how many rows it wrote.
func (s *Sink) upsertRows(ctx context.Context, tx batchTx, rows []batchRow, written []bool) (int, error) {
	t := rows[0].t
	var (
		args   []any
		values []string
		index  = make(map[string]int, len(rows)) // id → k
	)
	for k, br := range rows {
		if br.t != t {
			break
		}
		more := s.db.appendArgs(args, t.nanos, br.r)
		if len(more) > s.db.maxArgs() && k > 0 {
			break
		}
		args = more
		index[br.r.id] = k
		values = append(values, s.db.values(k, t.nanos))
	}
	err := tx.upsert(ctx, upsertSQL(t.name, t.nanos, values, true), args, func(id string) {
		if k, ok := index[id]; ok {
			written[k] = true
		}
	})
	return len(values), err
}
