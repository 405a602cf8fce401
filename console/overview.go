package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
	"weak"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/hookline/hookline/channel"
	"github.com/hookline/hookline/emitter"
)

// The instruments the Overview reads (packages emitter and channel, # Observability).
const (
	metricDeliveries = "hookline.webhook.deliveries"
	metricEvents     = "hookline.events"
	metricLag        = "hookline.event.lag"
	metricBacklog    = "hookline.backlog" // read through Pipeline.Backlog, kept for an exporter-less provider
)

// Limits and intervals of the Overview.
const (
	overviewMinutes  = 60               // per-minute buckets kept: the last hour
	overviewEvery    = 10 * time.Second // the background collection's interval
	overviewReasons  = 20               // distinct refusal reasons kept; the rest are counted as OtherReasons
	overviewLagSpan  = 5                // minutes the lag estimate covers
	overviewSettled  = 200              // recent events of each status looked at for the sink's readiness
	overviewCollectT = 5 * time.Second  // bound of one collection
)

// OtherReasons is the refusal reason that counts refusals whose reason is not among the first
// 20 distinct ones seen.
const OtherReasons = "(other reasons)"

// NotCollected is what the Overview says when the console's metric reader is not registered with
// the meter provider the pipeline records with.
const NotCollected = "no metrics are collected: register Console.MetricReader() with the meter provider (telemetry.Options.MetricReaders)"

// NoLag is what the Overview says of the lag when no event was stored in the last 5 minutes.
const NoLag = "no events stored recently"

// Overview is the Overview page's data and the answer of GET <prefix>api/overview. The counts
// come from the pipeline's own metrics (hookline.webhook.deliveries, hookline.events,
// hookline.event.lag), read from [Console.MetricReader] when the page or the API is asked for
// and every 10 seconds; each reading's increase is counted in the minute it was read in.
type Overview struct {
	// At is when this overview was taken.
	At time.Time `json:"at"`
	// MetricsCollected is false when the console's metric reader could not be read, most often
	// because it was not registered with the meter provider; MetricsError then says why (see
	// [NotCollected]), and the counts are zero or stale.
	MetricsCollected bool   `json:"metrics_collected"`
	MetricsError     string `json:"metrics_error,omitempty"`
	// Since is the first successful reading: Totals count from there (the metrics count from
	// the start of the process, so the first reading holds all of them).
	Since time.Time `json:"since,omitzero"`
	// Minutes are the last 60 minutes, oldest first; the last is the current minute.
	Minutes []Minute `json:"minutes"`
	// LastHour sums Minutes.
	LastHour Counts `json:"last_hour"`
	// Totals are the counts since the process started.
	Totals Counts `json:"totals"`
	// Lag is how long stored events took from Stripe's created time to the sink, over the last
	// 5 minutes.
	Lag Lag `json:"lag"`
	// Attached is false while the console serves no pipeline: Source, Backlog, Channel and Sink
	// then say nothing.
	Attached bool `json:"attached"`
	// Source is the URL of the source the pipeline's webhook verifies deliveries with
	// (HOOKLINE_SOURCE), its secrets masked.
	Source string `json:"source,omitempty"`
	// Backlog is the in-process channel's backlog.
	Backlog Backlog `json:"backlog"`
	// Channel is the pipeline's readiness, as GET /readyz answers it.
	Channel ChannelReadiness `json:"channel"`
	// Sink is the sink's readiness, judged from the recent events this instance settled.
	Sink SinkReadiness `json:"sink"`
}

// Counts are the events of a period, by what became of them. Accepted, Skipped, Refused and
// Failed count webhook deliveries (hookline.webhook.deliveries by hookline.outcome); Stored,
// Ignored, Retried, Returned and DeadLettered count the consumer's outcomes (hookline.events by
// hookline.outcome).
type Counts struct {
	Accepted int64 `json:"accepted"` // sent to the channel, answered 200
	Skipped  int64 `json:"skipped"`  // authentic but not forwarded, answered 200
	Refused  int64 `json:"refused"`  // answered 4xx: forged, replayed, malformed, too large
	Failed   int64 `json:"failed"`   // the channel did not take it, answered 503
	// RefusedByReason splits Refused by hookline.reason (at most 20 reasons, then
	// [OtherReasons]).
	RefusedByReason map[string]int64 `json:"refused_by_reason,omitempty"`
	Stored          int64            `json:"stored"`        // written to the sink
	Ignored         int64            `json:"ignored"`       // the sink held it or a newer one already
	Retried         int64            `json:"retried"`       // a sink write failed and was tried again
	Returned        int64            `json:"returned"`      // given back to the broker, to come again
	DeadLettered    int64            `json:"dead_lettered"` // set aside on the dead-letter channel
}

// Minute is the counts of one minute.
type Minute struct {
	Start time.Time `json:"start"` // the minute's start, UTC
	Counts
}

// Lag estimates, from the hookline.event.lag histogram's buckets, the time from an event's
// creation at Stripe to its write to the sink, over the events stored in the last Window.
// Percentiles are interpolated within bucket boundaries; when an estimate falls in the last,
// unbounded bucket it is that bucket's lower boundary and AtLeast is true.
type Lag struct {
	WindowSeconds float64 `json:"window_seconds"`
	Events        int64   `json:"events"` // stored events measured; 0: [NoLag]
	MeanSeconds   float64 `json:"mean_seconds,omitempty"`
	P50Seconds    float64 `json:"p50_seconds,omitempty"`
	P99Seconds    float64 `json:"p99_seconds,omitempty"`
	AtLeast       bool    `json:"at_least,omitempty"`
}

// Backlog is how many events an in-process channel accepted and has not yet settled. Known is
// false for a broker's channel, whose backlog the broker keeps, and while not attached.
type Backlog struct {
	Known  bool `json:"known"`
	Events int  `json:"events"`
}

// ChannelReadiness is the pipeline's readiness (pipeline.Pipeline.Readiness, what GET /readyz
// answers): Reason is "" when ready, else a short fixed phrase ("channel unavailable",
// "consumer stopped", "shutting down"), and Error the error behind it with any secret of the
// configured URLs masked.
type ChannelReadiness struct {
	Ready  bool   `json:"ready"`
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`
}

// SinkReadiness judges the sink from the recent events this instance settled (the Events
// page's): it is Failing when the most recent settled event was returned or dead-lettered, with
// that event's Reason.
type SinkReadiness struct {
	Failing bool   `json:"failing"`
	Reason  string `json:"reason,omitempty"`
	// LastStored is when the most recent event was stored or ignored (both mean the sink
	// answered), and LastStoredID that event.
	LastStored       time.Time `json:"last_stored,omitzero"`
	LastStoredID     string    `json:"last_stored_id,omitempty"`
	LastStoredSource string    `json:"last_stored_source,omitempty"`
	// LastFailed is when the most recent event was returned or dead-lettered; LastFailedID,
	// LastFailedStatus and LastFailedReason say which, how and why.
	LastFailed       time.Time `json:"last_failed,omitzero"`
	LastFailedID     string    `json:"last_failed_id,omitempty"`
	LastFailedSource string    `json:"last_failed_source,omitempty"`
	LastFailedStatus string    `json:"last_failed_status,omitempty"`
	LastFailedReason string    `json:"last_failed_reason,omitempty"`
}

// overview keeps the Overview page's per-minute series, read from the console's metric reader.
type overview struct {
	reader *sdkmetric.ManualReader

	mu      sync.Mutex
	rm      metricdata.ResourceMetrics // reused by each collection
	err     error                      // of the last collection
	since   time.Time                  // the first successful collection
	prev    cumulative                 // the last collection's values
	totals  series
	minutes [overviewMinutes]bucket // by unix minute modulo overviewMinutes
	reasons map[string]bool         // the refusal reasons kept apart (at most overviewReasons)
	bounds  []float64               // of the lag histogram
	timer   *time.Timer
}

// series are the counts of a period and its lag histogram.
type series struct {
	Counts
	lagCounts []uint64 // per bucket of bounds
	lagSum    float64
	lagCount  uint64
}

// field returns the count of an outcome: of the webhook's (emitter.Outcome*) or of the
// consumer's (channel.Outcome*), whose names differ; nil for another.
func (c *Counts) field(outcome string) *int64 {
	switch outcome {
	case emitter.OutcomeAccepted:
		return &c.Accepted
	case emitter.OutcomeSkipped:
		return &c.Skipped
	case emitter.OutcomeRefused:
		return &c.Refused
	case emitter.OutcomeFailed:
		return &c.Failed
	case channel.OutcomeStored:
		return &c.Stored
	case channel.OutcomeIgnored:
		return &c.Ignored
	case channel.OutcomeRetried:
		return &c.Retried
	case channel.OutcomeReturned:
		return &c.Returned
	case channel.OutcomeDeadLettered:
		return &c.DeadLettered
	}
	return nil
}

// add adds d to c.
func (c *Counts) add(d Counts) {
	c.Accepted += d.Accepted
	c.Skipped += d.Skipped
	c.Refused += d.Refused
	c.Failed += d.Failed
	c.Stored += d.Stored
	c.Ignored += d.Ignored
	c.Retried += d.Retried
	c.Returned += d.Returned
	c.DeadLettered += d.DeadLettered
	for r, n := range d.RefusedByReason {
		if c.RefusedByReason == nil {
			c.RefusedByReason = map[string]int64{}
		}
		c.RefusedByReason[r] += n
	}
}

type bucket struct {
	start time.Time // zero: unused
	series
}

// cumulative is one reading of the instruments, each summed over its attribute sets.
type cumulative struct {
	deliveries map[string]int64 // by outcome
	byReason   map[string]int64 // refused, by kept reason
	events     map[string]int64 // by outcome
	lagCounts  []uint64
	lagSum     float64
	lagCount   uint64
}

// newOverview returns the overview of r and starts its background collection: a timer (no
// goroutine while it waits) that holds the overview weakly, so that it stops once the console
// is gone or the reader was shut down.
func newOverview(r *sdkmetric.ManualReader) *overview {
	o := &overview{reader: r, reasons: map[string]bool{}}
	wp := weak.Make(o)
	var tick func()
	tick = func() {
		o := wp.Value()
		if o == nil {
			return
		}
		if err := o.collect(time.Now()); errors.Is(err, sdkmetric.ErrReaderShutdown) {
			return
		}
		o.mu.Lock()
		o.timer.Reset(overviewEvery)
		o.mu.Unlock()
	}
	o.mu.Lock()
	o.timer = time.AfterFunc(overviewEvery, tick)
	o.mu.Unlock()
	return o
}

// collect reads the reader and counts the increase since the previous reading in now's minute.
func (o *overview) collect(now time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), overviewCollectT)
	defer cancel()
	if err := o.reader.Collect(ctx, &o.rm); err != nil {
		o.err = err
		return err
	}
	o.err = nil
	if o.since.IsZero() {
		o.since = now
	}
	cur := o.read()
	var d series
	for _, outcomes := range []struct{ cur, prev map[string]int64 }{
		{cur.deliveries, o.prev.deliveries}, {cur.events, o.prev.events},
	} {
		for outcome, v := range outcomes.cur {
			if f := d.field(outcome); f != nil {
				*f += increase(v, outcomes.prev[outcome])
			}
		}
	}
	for reason, v := range cur.byReason {
		if n := increase(v, o.prev.byReason[reason]); n > 0 {
			if d.RefusedByReason == nil {
				d.RefusedByReason = map[string]int64{}
			}
			d.RefusedByReason[reason] += n
		}
	}
	if len(cur.lagCounts) > 0 {
		d.lagCounts = make([]uint64, len(cur.lagCounts))
		reset := len(o.prev.lagCounts) != len(cur.lagCounts) || cur.lagCount < o.prev.lagCount
		for i, v := range cur.lagCounts {
			if reset {
				d.lagCounts[i] = v
			} else if v >= o.prev.lagCounts[i] {
				d.lagCounts[i] = v - o.prev.lagCounts[i]
			}
		}
		d.lagCount, d.lagSum = cur.lagCount, cur.lagSum
		if !reset {
			d.lagCount -= o.prev.lagCount
			d.lagSum -= o.prev.lagSum
		}
	}
	o.prev = cur
	o.totals.add(d)
	o.bucket(now).add(d)
	return nil
}

// increase is the increase of a cumulative count from prev to cur; a count that fell was reset.
func increase(cur, prev int64) int64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// bucket returns the bucket of t's minute, emptied if it held an older minute; mu held.
func (o *overview) bucket(t time.Time) *bucket {
	start := t.UTC().Truncate(time.Minute)
	b := &o.minutes[(start.Unix()/60)%overviewMinutes]
	if !b.start.Equal(start) {
		*b = bucket{start: start}
	}
	return b
}

// add adds d to s; lag buckets of another layout replace s's.
func (s *series) add(d series) {
	s.Counts.add(d.Counts)
	if len(d.lagCounts) == 0 {
		return
	}
	if len(s.lagCounts) != len(d.lagCounts) {
		s.lagCounts, s.lagSum, s.lagCount = make([]uint64, len(d.lagCounts)), 0, 0
	}
	for i, n := range d.lagCounts {
		s.lagCounts[i] += n
	}
	s.lagSum += d.lagSum
	s.lagCount += d.lagCount
}

// read sums the instruments of the last collection over their attribute sets; mu held.
func (o *overview) read() cumulative {
	c := cumulative{deliveries: map[string]int64{}, byReason: map[string]int64{}, events: map[string]int64{}}
	for _, sm := range o.rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case metricDeliveries:
				sum, ok := m.Data.(metricdata.Sum[int64])
				if !ok {
					continue
				}
				for _, dp := range sum.DataPoints {
					v := dp.Value
					outcome, _ := dp.Attributes.Value(emitter.AttrOutcome)
					c.deliveries[outcome.AsString()] += v
					if outcome.AsString() == emitter.OutcomeRefused {
						reason, _ := dp.Attributes.Value(emitter.AttrReason)
						c.byReason[o.keptReason(reason.AsString())] += v
					}
				}
			case metricEvents:
				sum, ok := m.Data.(metricdata.Sum[int64])
				if !ok {
					continue
				}
				for _, dp := range sum.DataPoints {
					outcome, _ := dp.Attributes.Value(channel.AttrOutcome)
					c.events[outcome.AsString()] += dp.Value
				}
			case metricLag:
				h, ok := m.Data.(metricdata.Histogram[float64])
				if !ok {
					continue
				}
				for _, dp := range h.DataPoints {
					if c.lagCounts == nil {
						c.lagCounts = make([]uint64, len(dp.BucketCounts))
						if !slices.Equal(o.bounds, dp.Bounds) {
							o.bounds = slices.Clone(dp.Bounds)
						}
					}
					if !slices.Equal(o.bounds, dp.Bounds) || len(dp.BucketCounts) != len(c.lagCounts) {
						continue // another layout: not merged
					}
					for i, n := range dp.BucketCounts {
						c.lagCounts[i] += n
					}
					c.lagSum += dp.Sum
					c.lagCount += dp.Count
				}
			}
		}
	}
	return c
}

// keptReason returns reason when it is kept apart, else OtherReasons; mu held.
func (o *overview) keptReason(reason string) string {
	if reason == "" {
		reason = "(none)"
	}
	if o.reasons[reason] {
		return reason
	}
	if len(o.reasons) < overviewReasons {
		o.reasons[reason] = true
		return reason
	}
	return OtherReasons
}

// snapshot collects and returns the counts of the last hour at now.
func (o *overview) snapshot(now time.Time) Overview {
	o.collect(now)
	o.mu.Lock()
	defer o.mu.Unlock()
	ov := Overview{At: now, MetricsCollected: o.err == nil, Since: o.since,
		Minutes: make([]Minute, 0, overviewMinutes), Totals: o.totals.counts(),
		Lag: Lag{WindowSeconds: overviewLagSpan * 60}}
	if o.err != nil {
		ov.MetricsError = NotCollected
		if !errors.Is(o.err, sdkmetric.ErrReaderNotRegistered) {
			ov.MetricsError = "no metrics are collected: " + o.err.Error()
		}
	}
	cur := now.UTC().Truncate(time.Minute)
	var hour, lag series
	for i := overviewMinutes - 1; i >= 0; i-- {
		start := cur.Add(-time.Duration(i) * time.Minute)
		m := Minute{Start: start}
		if b := &o.minutes[(start.Unix()/60)%overviewMinutes]; b.start.Equal(start) {
			m.Counts = b.counts()
			hour.add(b.series)
			if i < overviewLagSpan {
				lag.add(b.series)
			}
		}
		ov.Minutes = append(ov.Minutes, m)
	}
	ov.LastHour = hour.counts()
	if lag.lagCount > 0 && len(lag.lagCounts) == len(o.bounds)+1 {
		ov.Lag.Events = int64(lag.lagCount)
		ov.Lag.MeanSeconds = lag.lagSum / float64(lag.lagCount)
		var at50, at99 bool
		ov.Lag.P50Seconds, at50 = quantile(o.bounds, lag.lagCounts, 0.5)
		ov.Lag.P99Seconds, at99 = quantile(o.bounds, lag.lagCounts, 0.99)
		ov.Lag.AtLeast = at50 || at99
	}
	return ov
}

// counts returns a copy of s's counts that shares nothing with s.
func (s *series) counts() Counts {
	c := s.Counts
	c.RefusedByReason = maps.Clone(s.RefusedByReason)
	return c
}

// quantile estimates the q-quantile of a histogram with the given bounds and bucket counts
// (len(bounds)+1), interpolating linearly within a bucket; in the last, unbounded bucket it
// returns its lower boundary and true. The first bucket's lower boundary is taken as 0.
func quantile(bounds []float64, counts []uint64, q float64) (float64, bool) {
	var total uint64
	for _, n := range counts {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	var seen float64
	for i, n := range counts {
		if n == 0 {
			continue
		}
		if seen+float64(n) >= rank {
			if i == len(bounds) {
				return bounds[len(bounds)-1], true
			}
			lo := 0.0
			if i > 0 {
				lo = bounds[i-1]
			}
			return lo + (bounds[i]-lo)*math.Max(0, rank-seen)/float64(n), false
		}
		seen += float64(n)
	}
	return bounds[len(bounds)-1], true
}

// overview returns the Overview at now: the metrics, and the state of the attached pipeline.
func (c *Console) overview(now time.Time) Overview {
	ov := c.ov.snapshot(now)
	p := c.pipeline()
	if p == nil {
		return ov
	}
	ov.Attached, ov.Source = true, c.redactText(p.Config().Source)
	ov.Backlog.Events, ov.Backlog.Known = p.Backlog()
	reason, err := p.Readiness()
	ov.Channel = ChannelReadiness{Ready: reason == "" && err == nil, Reason: reason}
	if err != nil {
		ov.Channel.Error = c.redactText(err.Error())
	}
	ov.Sink = c.sinkReadiness()
	return ov
}

// sinkReadiness judges the sink from the most recent events settled of each status.
func (c *Console) sinkReadiness() SinkReadiness {
	var s SinkReadiness
	latest := func(status string) (Event, bool) {
		evs, _ := c.events.list(Filter{Status: status, Limit: overviewSettled})
		if len(evs) == 0 {
			return Event{}, false
		}
		// The list is in the order the events were first seen; settling is mostly in that order,
		// but a redelivered event settles later.
		return slices.MaxFunc(evs, func(a, b Event) int { return a.Updated.Compare(b.Updated) }), true
	}
	for _, status := range []string{StatusStored, StatusIgnored} {
		if e, ok := latest(status); ok && e.Updated.After(s.LastStored) {
			s.LastStored, s.LastStoredID, s.LastStoredSource = e.Updated, e.ID, e.Source
		}
	}
	for _, status := range []string{StatusReturned, StatusDeadLettered} {
		if e, ok := latest(status); ok && e.Updated.After(s.LastFailed) {
			s.LastFailed, s.LastFailedID, s.LastFailedStatus, s.LastFailedSource = e.Updated, e.ID, e.Status, e.Source
			s.LastFailedReason = c.redactText(e.Reason)
		}
	}
	if !s.LastFailed.IsZero() && s.LastFailed.After(s.LastStored) {
		s.Failing, s.Reason = true, s.LastFailedReason
	}
	return s
}

// overviewView is the Overview page's data: the overview, and what the page draws of it.
type overviewView struct {
	Overview
	Cards    []card
	Reasons  []reasonRow
	LagText  string
	Minute   string // the current minute, HH:MM UTC
	FirstMin string // the first minute shown
}

// card is one series: its count over the last hour, since the start, and a bar per minute.
type card struct {
	Label           string
	Alert           bool // red: something failed in the last hour
	LastHour, Total int64
	Bars            []bar
}

// bar is one minute of a card's chart, in a viewBox of 600×100.
type bar struct {
	X, Y, H int
	Title   string
}

type reasonRow struct {
	Reason          string
	LastHour, Total int64
}

func (c *Console) overviewView(now time.Time) overviewView {
	ov := c.overview(now)
	v := overviewView{Overview: ov}
	series := []struct {
		label string
		alert bool // shown in red while its last hour is above zero
		get   func(Counts) int64
	}{
		{"Accepted", false, func(c Counts) int64 { return c.Accepted }},
		{"Skipped", false, func(c Counts) int64 { return c.Skipped }},
		{"Refused", false, func(c Counts) int64 { return c.Refused }},
		{"Failed to send", true, func(c Counts) int64 { return c.Failed }},
		{"Stored", false, func(c Counts) int64 { return c.Stored }},
		{"Ignored", false, func(c Counts) int64 { return c.Ignored }},
		{"Retried", false, func(c Counts) int64 { return c.Retried }},
		{"Returned", false, func(c Counts) int64 { return c.Returned }},
		{"Dead-lettered", true, func(c Counts) int64 { return c.DeadLettered }},
	}
	for _, s := range series {
		cd := card{Label: s.label, LastHour: s.get(ov.LastHour), Total: s.get(ov.Totals)}
		cd.Alert = s.alert && cd.LastHour > 0
		var peak int64
		for _, m := range ov.Minutes {
			peak = max(peak, s.get(m.Counts))
		}
		for i, m := range ov.Minutes {
			n := s.get(m.Counts)
			h := 0
			if peak > 0 && n > 0 {
				h = max(2, int(n*100/peak))
			}
			cd.Bars = append(cd.Bars, bar{X: i * 10, Y: 100 - h, H: h,
				Title: fmt.Sprintf("%s UTC: %d", m.Start.Format("15:04"), n)})
		}
		v.Cards = append(v.Cards, cd)
	}
	for r, n := range ov.Totals.RefusedByReason {
		v.Reasons = append(v.Reasons, reasonRow{Reason: r, LastHour: ov.LastHour.RefusedByReason[r], Total: n})
	}
	slices.SortFunc(v.Reasons, func(a, b reasonRow) int {
		return cmp.Or(cmp.Compare(b.LastHour, a.LastHour), cmp.Compare(b.Total, a.Total), strings.Compare(a.Reason, b.Reason))
	})
	if ov.Lag.Events == 0 {
		v.LagText = NoLag
	} else {
		at := ""
		if ov.Lag.AtLeast {
			at = "at least "
		}
		v.LagText = fmt.Sprintf("p50 %s%s, p99 %s%s, mean %s over %d stored events in the last %d minutes",
			at, seconds(ov.Lag.P50Seconds), at, seconds(ov.Lag.P99Seconds), seconds(ov.Lag.MeanSeconds), ov.Lag.Events, overviewLagSpan)
	}
	if len(ov.Minutes) > 0 {
		v.FirstMin = ov.Minutes[0].Start.Format("15:04")
		v.Minute = ov.Minutes[len(ov.Minutes)-1].Start.Format("15:04")
	}
	return v
}

// seconds writes a duration in seconds for reading.
func seconds(s float64) string {
	d := time.Duration(s * float64(time.Second))
	switch {
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Live: true, Data: c.overviewView(time.Now())})
}

func (c *Console) overviewAPI(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, c.overview(time.Now()))
}

// MetricViews returns views that drop every instrument the console does not read (its Overview
// reads hookline.webhook.deliveries, hookline.events, hookline.event.lag and hookline.backlog),
// so that recording the others costs nothing. Give them to a MeterProvider that exists for the
// console alone: telemetry.Options.ViewsWithoutExporter does, when no OpenTelemetry exporter
// asks for metrics. With an exporter every instrument is recorded anyway.
func (c *Console) MetricViews() []sdkmetric.View {
	keep := map[string]bool{metricDeliveries: true, metricEvents: true, metricLag: true, metricBacklog: true}
	return []sdkmetric.View{func(i sdkmetric.Instrument) (sdkmetric.Stream, bool) {
		if keep[i.Name] {
			return sdkmetric.Stream{}, false // no match: the default stream
		}
		return sdkmetric.Stream{Name: i.Name, Aggregation: sdkmetric.AggregationDrop{}}, true
	}}
}
