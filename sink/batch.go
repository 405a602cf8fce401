package sink

import (
	"context"

	"github.com/hookline/hookline"
)

// Item is one event of a batch, and the columns a route mapped it to: nil when the sink maps
// the event itself. Only a [RecordSink] is given columns.
type Item struct {
	Event   hookline.Event
	Columns map[string]any
}

// Outcome is what a batch write did with one item: its Result when Err is nil, else why it was
// not written, classified as Apply classifies it (a Transient error is retried, a Permanent one
// dead-lettered).
type Outcome struct {
	Result Result
	Err    error
}

// BatchApplier is an [Applier] that writes several events at once: in one transaction, one
// request or as few as its backend allows. The consumer loop (package channel) hands such a sink
// what it has received together; a sink that is not one is written an event at a time.
// sqlsink.Sink, dataverse.Sink and [Memory] are BatchAppliers.
//
// A type that embeds a BatchApplier and changes its Apply or Write (a wrapper that injects
// failures, say) inherits the embedded ApplyBatch, which bypasses the change: give it an
// ApplyBatch of its own, such as ApplyBatch(ctx, struct{ sink.Applier }{w}, items), which
// writes one item at a time through w.Apply.
type BatchApplier interface {
	Applier
	// ApplyBatch writes items and returns one Outcome per item, in items' order. Each item is
	// written under the rule of Apply, with the Result and the error Apply would give it, as if
	// the items had been applied one after the other in [Version] order: an item older than the
	// record, or than a newer item of the same record in the batch, is Ignored (and given that
	// newer item's error when the newer item fails, so that it is not settled before it). One
	// item's failure does not fail the others. When ctx ends before an item was written, its
	// Outcome carries ctx's error.
	ApplyBatch(ctx context.Context, items []Item) []Outcome
}

// ApplyBatch writes items to s and reports each item's Outcome: through s.ApplyBatch when s is a
// [BatchApplier], else one item at a time, in order, with ApplyRecord for an item with columns
// (s must then be a [RecordSink]) and [Apply] for the others.
func ApplyBatch(ctx context.Context, s Sink, items []Item) []Outcome {
	if b, ok := s.(BatchApplier); ok {
		return b.ApplyBatch(ctx, items)
	}
	out := make([]Outcome, len(items))
	rs, _ := s.(RecordSink)
	for i, it := range items {
		switch {
		case it.Columns != nil && rs == nil:
			out[i].Err = hookline.Errorf(hookline.Permanent, "sink: %T does not write mapped columns", s)
		case it.Columns != nil:
			out[i].Result, out[i].Err = rs.ApplyRecord(ctx, it.Event, it.Columns)
		default:
			out[i].Result, out[i].Err = Apply(ctx, s, it.Event)
		}
	}
	return out
}

// Newest returns, for each item, the index of the newest item of the batch ([Version]) that
// writes the same record, by key: its own index when no newer item of the batch does. Items
// whose key is "" are their own newest. A sink that writes a batch in one statement writes only
// the newest items, then gives the others their Outcomes with [Spread].
func Newest(items []Item, key func(Item) string) []int {
	newest := make([]int, len(items))
	at := make(map[string]int, len(items))
	for i, it := range items {
		newest[i] = i
		k := key(it)
		if k == "" {
			continue
		}
		j, seen := at[k]
		switch {
		case !seen:
			at[k] = i
		case VersionOf(it.Event).Supersedes(VersionOf(items[j].Event)):
			at[k] = i
		}
	}
	for i, it := range items {
		if k := key(it); k != "" {
			newest[i] = at[k]
		}
	}
	return newest
}

// Spread completes out, the Outcomes of the newest items ([Newest]), for the items a newer one
// of the batch superseded: Ignored when that newer item was written or ignored, its error when
// it failed. The same event twice in a batch is one written, one Ignored.
func Spread(out []Outcome, newest []int) {
	for i, n := range newest {
		if n == i {
			continue
		}
		out[i] = Outcome{Result: Ignored, Err: out[n].Err}
	}
}
