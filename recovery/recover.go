package recovery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/form"

	"github.com/hookline/hookline/emitter"
	"github.com/hookline/hookline/emitter/stripehook"
)

// Retention is how long Stripe keeps events listable: 30 days.
const Retention = 30 * 24 * time.Hour

// DefaultWindow is the default of Options.Window.
const DefaultWindow = 6 * time.Hour

// maxTypesParam is the most types[] values Stripe accepts in one request.
const maxTypesParam = 20

// Options says which events [Recover] brings back. A nil *Options means every event of the last
// 30 days.
type Options struct {
	// Since and Until bound the events' created time (inclusive, to the second). Zero Since
	// means 30 days ago ([Retention]); zero Until means now.
	Since, Until time.Time
	// Types selects event types as stripehook.Options.Types does: exact types ("customer.created"),
	// prefix wildcards ("customer.*"), or none for all. Exact types (at most 20) and a single
	// wildcard are filtered by Stripe; other combinations are filtered here and counted as
	// skipped.
	Types []string
	// Undelivered lists only events whose delivery to some webhook endpoint has not succeeded
	// (Stripe's delivery_success=false): those still being retried and those Stripe gave up on.
	Undelivered bool
	// DryRun lists and counts the events but sends nothing.
	DryRun bool
	// Window is the span of created times listed and sent at a time, oldest first; events are
	// held in memory one window at a time. Default [DefaultWindow].
	Window time.Duration
	// Stripe decodes each event as the webhook does (StrictAPIVersion, RefuseTestMode); its
	// Types are replaced by the Types above.
	Stripe *stripehook.Options
	// Progress, when set, is called after each page and each window with the counts so far.
	Progress func(Progress)
}

// Progress is what a run has done so far.
type Progress struct {
	// Listed counts the distinct events Stripe returned; Sent those the channel accepted
	// (none in a dry run); Skipped those whose type Options.Types does not select; Pages the
	// pages listed; RateLimited the times Stripe answered 429 and the run waited.
	Listed, Sent, Skipped, Pages, RateLimited int
	// Done is the created time up to which every event was listed and sent; Until is the end.
	Done, Until time.Time
}

// Result is what a finished (or failed) run did.
type Result = Progress

// Recover lists the events of Stripe's Events API (GET /v1/events) that opts selects and sends
// each to dst, oldest first, as the same hookline.Event that the webhook would have produced for
// its delivery. An event is sent at most once per run, however the listing pages overlap; a rerun
// sends the events again, which the sinks absorb (they are idempotent). Stripe's rate limits
// (429) are waited out, with pauses from 1s doubling to 30s, and the listing resumes where it
// was. On a failed send Recover stops and returns the error with the counts so far: every event
// before Progress.Done was sent.
func Recover(ctx context.Context, api *client.API, dst emitter.Sender, opts *Options) (Result, error) {
	o, err := recoverDefaults(opts)
	if err != nil {
		return Result{}, err
	}
	decode := stripehook.Options{}
	if o.Stripe != nil {
		decode = *o.Stripe
	}
	decode.Types = o.Types
	r := &run{ctx: ctx, api: api, dst: dst, opts: o, decode: &decode, seen: make(map[string]bool)}
	r.res.Until = o.Until
	r.res.Done = o.Since
	for start := o.Since; !start.After(o.Until); start = start.Add(o.Window) {
		end := start.Add(o.Window - time.Second)
		if end.After(o.Until) {
			end = o.Until
		}
		if err := r.window(start, end); err != nil {
			return r.res, err
		}
		r.res.Done = end
		r.progress()
	}
	return r.res, nil
}

func recoverDefaults(opts *Options) (Options, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	now := time.Now()
	if o.Until.IsZero() {
		o.Until = now
	}
	if o.Since.IsZero() {
		o.Since = now.Add(-Retention)
	}
	o.Since, o.Until = o.Since.Truncate(time.Second), o.Until.Truncate(time.Second)
	if o.Since.After(o.Until) {
		return o, fmt.Errorf("recovery: since %s is after until %s", o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	o.Window = max(o.Window.Truncate(time.Second), time.Second)
	if err := stripehook.CheckTypes(o.Types); err != nil {
		return o, fmt.Errorf("recovery: %w", err)
	}
	return o, nil
}

type run struct {
	ctx    context.Context
	api    *client.API
	dst    emitter.Sender
	opts   Options
	decode *stripehook.Options
	seen   map[string]bool
	res    Progress
}

func (r *run) progress() {
	if r.opts.Progress != nil {
		r.opts.Progress(r.res)
	}
}

// window lists the events created in [start, end] (newest first, as Stripe lists them) and sends
// them oldest first. A rate-limited page (429) is waited out and the listing resumes after the
// last event it had.
func (r *run) window(start, end time.Time) error {
	var batch [][]byte
	last, waits := "", 0
	for {
		n, err := r.list(start, end, last, &batch, &last)
		if n > 0 {
			waits = 0
		}
		if err == nil {
			break
		}
		if !rateLimited(err) || waits >= maxRateLimitWaits {
			return fmt.Errorf("recovery: list events created %s to %s: %w", start.Format(time.RFC3339), end.Format(time.RFC3339), err)
		}
		r.res.RateLimited++
		if !sleep(r.ctx, rateLimitPause(waits)) {
			return r.ctx.Err()
		}
		waits++
	}
	slices.Reverse(batch)
	return r.send(batch)
}

// list lists the events of [start, end] after the event id after (all when ""), appending the
// new ones to batch and setting *last to the last id listed. It returns how many it listed.
func (r *run) list(start, end time.Time, after string, batch *[][]byte, last *string) (int, error) {
	params := &stripe.EventListParams{CreatedRange: &stripe.RangeQueryParams{
		GreaterThanOrEqual: start.Unix(), LesserThanOrEqual: end.Unix()}}
	params.Context = r.ctx
	params.Limit = stripe.Int64(100)
	if after != "" {
		params.StartingAfter = stripe.String(after)
	}
	if r.opts.Undelivered {
		params.DeliverySuccess = stripe.Bool(false)
	}
	serverTypes(params, r.opts.Types)
	it := stripe.GetIter(params, func(p *stripe.Params, b *form.Values) ([]any, stripe.ListContainer, error) {
		page := &eventPage{}
		err := r.api.Events.B.CallRaw(http.MethodGet, "/v1/events", r.api.Events.Key, b, p, page)
		items := make([]any, len(page.Data))
		for i := range page.Data {
			items[i] = &page.Data[i]
		}
		return items, page, err
	})
	var page stripe.ListContainer
	n := 0
	for it.Next() {
		if l := it.List(); l != page {
			page = l
			r.res.Pages++
			r.progress()
		}
		ev := it.Current().(*rawEvent)
		*last = ev.ID
		n++
		if r.seen[ev.ID] {
			continue
		}
		r.seen[ev.ID] = true
		r.res.Listed++
		*batch = append(*batch, ev.JSON)
	}
	return n, it.Err()
}

// maxRateLimitWaits bounds the pauses in a row, without progress, for Stripe's rate limit.
const maxRateLimitWaits = 10

// rateLimited reports whether err is Stripe's 429 (stripe-go retries only lock timeouts).
func rateLimited(err error) bool {
	var se *stripe.Error
	return errors.As(err, &se) && se.HTTPStatusCode == http.StatusTooManyRequests
}

// rateLimitPause is the wait before the next try after n rate-limited ones: 1s doubling to 30s.
func rateLimitPause(n int) time.Duration { return min(time.Second<<min(n, 5), 30*time.Second) }

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// send decodes each event body as the webhook would and sends it.
func (r *run) send(batch [][]byte) error {
	for _, body := range batch {
		ev, err := stripehook.DecodeUnverified(body, r.decode)
		switch {
		case errors.Is(err, emitter.ErrSkip):
			r.res.Skipped++
			continue
		case err != nil:
			return fmt.Errorf("recovery: %w", err)
		}
		if r.opts.DryRun {
			continue
		}
		if err := r.dst.Send(r.ctx, ev); err != nil {
			return fmt.Errorf("recovery: send %s (%s): %w", ev.ID, ev.Type, err)
		}
		r.res.Sent++
	}
	return nil
}

// serverTypes lets Stripe filter by type where it can: up to 20 exact types, or one wildcard.
func serverTypes(params *stripe.EventListParams, types []string) {
	if len(types) == 1 && strings.HasSuffix(types[0], ".*") {
		params.Type = stripe.String(types[0])
		return
	}
	if len(types) == 0 || len(types) > maxTypesParam || slices.ContainsFunc(types, func(t string) bool { return strings.Contains(t, "*") }) {
		return
	}
	for _, t := range types {
		params.Types = append(params.Types, stripe.String(t))
	}
}

// eventPage is a page of GET /v1/events that keeps each event as the raw JSON Stripe sent, which
// is what the webhook would have been sent for it: recovery decodes it as the webhook does, and
// needs nothing else of it than its id (stripe-go's own Event would decode every event's object
// into a map first).
type eventPage struct {
	stripe.APIResource
	stripe.ListMeta
	Data []rawEvent `json:"data"`
}

// rawEvent is one event of an [eventPage]: its id (stripe-go's iterator pages on the ID field)
// and its JSON.
type rawEvent struct {
	ID   string
	JSON []byte
}

func (e *rawEvent) UnmarshalJSON(b []byte) error {
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return fmt.Errorf("recovery: events page: %w", err)
	}
	if head.ID == "" {
		return errors.New("recovery: events page: an event without an id")
	}
	e.ID, e.JSON = head.ID, bytes.Clone(b)
	return nil
}

// ParseWhen reads the bound of a recovery window as operators write it: an RFC 3339 time
// (2026-11-01T00:00:00Z) or a duration back from now (72h), as `hookline recover --since` and
// the console's Recover form take it.
func ParseWhen(v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a duration back from now (72h)", v)
	}
	return now.Add(-d), nil
}
