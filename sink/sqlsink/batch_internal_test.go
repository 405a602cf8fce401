package sqlsink

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// recorder is a backend whose statements take at most maxArgs arguments and whose batch
// transactions record the statements they run.
type recorder struct {
	backend
	args  int
	begun int
	ids   [][]string // per statement, the id of each row in its order
}

func (r *recorder) maxArgs() int { return r.args }

func (r *recorder) begin(ctx context.Context) (batchTx, error) {
	r.begun++
	tx, err := r.backend.begin(ctx)
	if err != nil {
		return nil, err
	}
	return recordingTx{tx, r}, nil
}

type recordingTx struct {
	batchTx
	r *recorder
}

func (t recordingTx) upsert(ctx context.Context, query string, args []any, written func(string)) error {
	table := strings.Fields(query)[2]
	var ids []string
	for k := 0; k < len(args); k += 10 { // SQLite with event_nanos: 10 arguments a row, id first
		ids = append(ids, table+"."+args[k].(string))
	}
	t.r.ids = append(t.r.ids, ids)
	return t.batchTx.upsert(ctx, query, args, written)
}

// TestBatchStatements checks what a batch sends: one transaction; one statement per table, or
// more when its rows need more arguments than a statement takes; rows sorted by table and id,
// so that every writer locks them in one order; one row per id.
func TestBatchStatements(t *testing.T) {
	s, err := Open(context.Background(), "sqlite://"+filepath.ToSlash(filepath.Join(t.TempDir(), "x.db")), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := &recorder{backend: s.db, args: 25} // two rows of 10 arguments
	s.db = rec
	var items []sink.Item
	for i, subject := range []string{"c", "a", "e", "b", "a", "d", "user_2", "user_1", "user_3"} {
		ev := hookline.Event{ID: fmt.Sprintf("evt_%d", i), Source: "stripe", Type: "customer.updated",
			Subject: subject, Action: hookline.Updated}
		if strings.HasPrefix(subject, "user_") {
			ev.Source = "standardwebhooks"
		}
		items = append(items, sink.Item{Event: ev})
	}
	out := s.ApplyBatch(context.Background(), items)
	for i, o := range out {
		want := sink.Stored
		if i == 1 { // a, superseded by evt_4 in the batch
			want = sink.Ignored
		}
		if o.Err != nil || o.Result != want {
			t.Errorf("item %d: %v, %v; want %v", i, o.Result, o.Err, want)
		}
	}
	want := [][]string{
		{"standardwebhooks_objects.user_1", "standardwebhooks_objects.user_2"},
		{"standardwebhooks_objects.user_3"},
		{"stripe_objects.a", "stripe_objects.b"},
		{"stripe_objects.c", "stripe_objects.d"},
		{"stripe_objects.e"},
	}
	if rec.begun != 1 || !slices.EqualFunc(rec.ids, want, slices.Equal) {
		t.Errorf("%d transactions with statements of rows %v, want 1 with %v", rec.begun, rec.ids, want)
	}
}
