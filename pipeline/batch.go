package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/route"
	"github.com/hookline/hookline/sink"
)

// Environment variables of the consumer's batches (see [Config.BatchSize]).
const (
	EnvBatchSize = "HOOKLINE_BATCH_SIZE"
	EnvBatchWait = "HOOKLINE_BATCH_WAIT"
)

// BatchFromEnv reads HOOKLINE_BATCH_SIZE (a whole number, 1 or more) and HOOKLINE_BATCH_WAIT (a
// Go duration such as "10ms") from getenv: zero for a variable not set, an error that names the
// variable for a value that is not valid.
func BatchFromEnv(getenv func(string) string) (size int, wait time.Duration, err error) {
	if v := strings.TrimSpace(getenv(EnvBatchSize)); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 {
			return 0, 0, fmt.Errorf("pipeline: %s=%q is not a whole number of events, 1 or more (1 writes one event at a time)", EnvBatchSize, v)
		}
	}
	if v := strings.TrimSpace(getenv(EnvBatchWait)); v != "" {
		if wait, err = time.ParseDuration(v); err != nil || wait <= 0 {
			return 0, 0, fmt.Errorf("pipeline: %s=%q is not a positive duration such as 10ms", EnvBatchWait, v)
		}
	}
	return size, wait, nil
}

// NewConsumer returns the consumer a pipeline runs to write recv's events to s, with opts: a
// batch consumer (channel.NewBatchConsumer) when s writes batches (sink.BatchApplier) and
// opts.MaxBatch is not 1, else one that writes an event at a time. Either tells the consumer
// which events changed nothing (sink.Ignored), and logs each event's outcome at DEBUG on
// opts.Logger. It is how a program of its own (hookline recover, for one) consumes as
// [Open]'s pipeline does.
func NewConsumer(recv *channel.Receiver, s sink.Sink, opts *channel.ConsumerOptions) (*channel.Consumer, error) {
	var o channel.ConsumerOptions
	if opts != nil {
		o = *opts
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return consumeInto(recv, s, log, slog.LevelDebug, &o)
}

// consumeInto returns the consumer of recv into s, logging outcomes on log at level.
func consumeInto(recv *channel.Receiver, s sink.Sink, log *slog.Logger, level slog.Level, o *channel.ConsumerOptions) (*channel.Consumer, error) {
	if b, ok := s.(sink.BatchApplier); ok && o.MaxBatch != 1 {
		return channel.NewBatchConsumer(recv, storeBatch(b, log, level), o)
	}
	return channel.NewConsumer(recv, storeTo(s, log, level), o)
}

// storeBatch returns the batch consumer's handler: it writes each batch to s with ApplyBatch,
// then reports and logs each event's outcome as storeTo does, in the event's own context.
func storeBatch(s sink.BatchApplier, log *slog.Logger, level slog.Level) channel.BatchHandler {
	return func(ctx context.Context, batch []channel.Delivered) []channel.BatchResult {
		items := make([]sink.Item, len(batch))
		for i, d := range batch {
			items[i].Event = d.Event
		}
		outs := applyItems(ctx, s, items)
		res := make([]channel.BatchResult, len(batch))
		for i, o := range outs {
			if res[i].Err = o.Err; o.Err != nil {
				continue
			}
			res[i].Ignored = o.Result == sink.Ignored
			logStored(batch[i].Context, log, level, batch[i].Event, res[i].Ignored)
		}
		return res
	}
}

// applyItems writes items to s with sink.ApplyBatch, and fails every item when s does not
// return one Outcome per item.
func applyItems(ctx context.Context, s sink.Sink, items []sink.Item) []sink.Outcome {
	outs := sink.ApplyBatch(ctx, s, items)
	if len(outs) == len(items) {
		return outs
	}
	err := fmt.Errorf("pipeline: sink %T returned %d outcomes for a batch of %d events", s, len(outs), len(items))
	outs = make([]sink.Outcome, len(items))
	for i := range outs {
		outs[i].Err = err
	}
	return outs
}

// batching reports whether a route's sink writes batches, so that the routes are worth a batch
// consumer.
func batching(rs []*routed) bool {
	for _, r := range rs {
		if _, ok := r.sink.(sink.BatchApplier); ok {
			return true
		}
	}
	return false
}

// routeBatch is routeTo for a batch consumer: each route in the configuration's order takes, in
// one batch to its sink, the events of the batch that match it and that no earlier route failed.
// Each event then ends as routeTo ends it.
func routeBatch(rs []*routed, log *slog.Logger, level slog.Level, meters routeMeters, observer RouteObserver) channel.BatchHandler {
	type state struct {
		e               *route.Event
		matched, stored int
		failure         error
		outcomes        []RouteOutcome
	}
	return func(ctx context.Context, batch []channel.Delivered) []channel.BatchResult {
		st := make([]state, len(batch))
		for i, d := range batch {
			st[i].e = route.NewEvent(d.Event)
			if observer != nil {
				st[i].outcomes = make([]RouteOutcome, 0, len(rs))
			}
		}
		note := func(i int, r *routed, outcome string, err error) {
			s := &st[i]
			if outcome != RouteSkipped {
				s.matched++
				meters.record(batch[i].Context, r.Name(), outcome)
			}
			if outcome == RouteStored {
				s.stored++
			}
			if observer != nil {
				o := RouteOutcome{Route: r.Name(), Outcome: outcome}
				if err != nil {
					o.Err = err.Error()
				}
				s.outcomes = append(s.outcomes, o)
			}
			if err != nil {
				s.failure = &hookline.RouteError{Route: r.Name(), Err: err}
			}
		}
		items := make([]sink.Item, 0, len(batch))
		at := make([]int, 0, len(batch))
		for _, r := range rs {
			items, at = items[:0], at[:0]
			for i := range batch {
				if st[i].failure != nil {
					continue
				}
				ok, cols, err := r.prepare(st[i].e)
				switch {
				case err != nil:
					note(i, r, RouteFailed, err)
				case !ok:
					note(i, r, RouteSkipped, nil)
				default:
					items = append(items, sink.Item{Event: batch[i].Event, Columns: cols})
					at = append(at, i)
				}
			}
			if len(items) == 0 {
				continue
			}
			for k, o := range applyItems(ctx, r.sink, items) {
				i := at[k]
				if o.Err != nil {
					note(i, r, RouteFailed, o.Err)
					continue
				}
				note(i, r, r.noted(batch[i].Context, o.Result), nil)
			}
		}
		res := make([]channel.BatchResult, len(batch))
		for i, d := range batch {
			if observer != nil {
				observer.Routed(d.Context, d.Event, st[i].outcomes)
			}
			if res[i].Err = st[i].failure; res[i].Err == nil {
				res[i].Ignored = settleRouted(d.Context, d.Event, st[i].matched, st[i].stored, log, level, meters)
			}
		}
		return res
	}
}
