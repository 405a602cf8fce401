package sink_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

func TestApplyBatchOneAtATime(t *testing.T) {
	var got []string
	s := sink.Func(func(_ context.Context, ev hookline.Event) error {
		got = append(got, ev.ID)
		if ev.ID == "evt_bad" {
			return hookline.Errorf(hookline.Permanent, "bad")
		}
		return nil
	})
	items := []sink.Item{
		{Event: hookline.Event{ID: "evt_1", Subject: "a"}},
		{Event: hookline.Event{ID: "evt_bad", Subject: "b"}},
		{Event: hookline.Event{ID: "evt_2", Subject: "c"}},
		{Event: hookline.Event{ID: "evt_cols", Subject: "d"}, Columns: map[string]any{"x": 1}},
	}
	out := sink.ApplyBatch(context.Background(), s, items)
	if len(out) != 4 || out[0].Err != nil || out[0].Result != sink.Stored || out[2].Err != nil {
		t.Fatalf("outcomes %+v", out)
	}
	if hookline.Code(out[1].Err) != hookline.Permanent {
		t.Errorf("failing item: %v, want its Permanent error", out[1].Err)
	}
	if hookline.Code(out[3].Err) != hookline.Permanent {
		t.Errorf("columns for a sink that is not a RecordSink: %v, want a Permanent error", out[3].Err)
	}
	if want := []string{"evt_1", "evt_bad", "evt_2"}; len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("written %v, want %v in order", got, want)
	}
}

func TestNewestAndSpread(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	ev := func(subject, id string, sec int, a hookline.Action) sink.Item {
		return sink.Item{Event: hookline.Event{ID: id, Subject: subject, Time: t0.Add(time.Duration(sec) * time.Second), Action: a}}
	}
	items := []sink.Item{
		ev("a", "evt_a1", 1, hookline.Updated),
		ev("b", "evt_b1", 0, hookline.Created),
		ev("a", "evt_a2", 2, hookline.Updated),
		ev("a", "evt_a0", 0, hookline.Created),
		ev("", "evt_none", 0, hookline.Created),
		ev("b", "evt_b1", 0, hookline.Created), // the same event again
		ev("b", "evt_bdel", 0, hookline.Deleted),
	}
	newest := sink.Newest(items, func(it sink.Item) string { return it.Event.Subject })
	want := []int{2, 6, 2, 2, 4, 6, 6}
	for i := range want {
		if newest[i] != want[i] {
			t.Fatalf("Newest = %v, want %v", newest, want)
		}
	}
	fail := errors.New("down")
	out := make([]sink.Outcome, len(items))
	out[2] = sink.Outcome{Result: sink.Stored}
	out[4] = sink.Outcome{Err: fail}
	out[6] = sink.Outcome{Err: fail}
	sink.Spread(out, newest)
	if out[0] != (sink.Outcome{Result: sink.Ignored}) || out[3] != (sink.Outcome{Result: sink.Ignored}) {
		t.Errorf("older items of a stored one: %+v, %+v, want Ignored", out[0], out[3])
	}
	if out[1].Err != fail || out[5].Err != fail {
		t.Errorf("older items of a failed one: %+v, %+v, want its error", out[1], out[5])
	}
	if out[2].Result != sink.Stored || out[4].Err != fail {
		t.Errorf("the newest items changed: %+v, %+v", out[2], out[4])
	}
}
