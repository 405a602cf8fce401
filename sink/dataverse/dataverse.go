package dataverse

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// maxConflicts is how many times a write re-reads the row after a concurrent change (412)
// before it gives up with a Transient error.
const maxConflicts = 8

// timeLayout is how event times are written: ISO 8601, UTC, whole seconds.
const timeLayout = "2006-01-02T15:04:05Z"

// Sink writes events to one table of a Dataverse environment through the Web API. It is safe
// for concurrent use. Create it with [Open].
type Sink struct {
	o      Options
	base   string // https://host/api/data/v9.2/
	client *http.Client
	owned  bool // client was made here and is closed by Close
	auth   *tokenSource
	lim    *limiter
	cache  *rowCache
	bypass map[string]string // headers of Options.Bypass
	log    *slog.Logger
	sel    string // the $select query of reads
	// defaultMap is true when Options.Map is MapCustomer by default: its columns are known.
	defaultMap bool
}

var (
	_ sink.Applier      = (*Sink)(nil)
	_ sink.RecordSink   = (*Sink)(nil)
	_ sink.Checker      = (*Sink)(nil)
	_ sink.BatchApplier = (*Sink)(nil)
)

func newSink(host, hostport string, o Options) (*Sink, error) {
	base, err := baseURL(hostport, o.Endpoint)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		o:      o,
		base:   base,
		auth:   newTokenSource(o.Credential, o.Token, scopeFor(host), o.Now),
		lim:    newLimiter(o.MaxConcurrency, o.Now),
		cache:  newRowCache(o.CacheRows),
		bypass: o.Bypass.headers(),
		log:    o.Logger,
	}
	if o.Credential == nil && o.Token == "" {
		return nil, fmt.Errorf("dataverse: no credential and no token")
	}
	s.client = o.HTTPClient
	if s.client == nil {
		s.client, s.owned = defaultClient(o.MaxConcurrency), true
	}
	cols := []string{o.EventTimeColumn}
	if o.EventIDColumn != "" {
		cols = append(cols, o.EventIDColumn)
	}
	if o.Delete == Deactivate {
		cols = append(cols, "statecode")
	}
	s.sel = "?$select=" + url.QueryEscape(strings.Join(cols, ","))
	return s, nil
}

// Close releases idle connections. Write must not be called after Close.
func (s *Sink) Close() error {
	if s.owned {
		s.client.CloseIdleConnections()
	}
	return nil
}

// Concurrency returns the number of requests the sink lets run at once now: 1 until its first
// request is answered, then MaxConcurrency or the x-ms-dop-hint Dataverse recommends if that is
// lower, and less while it slows down after Dataverse throttled it (package doc, # Limits).
func (s *Sink) Concurrency() int { return s.lim.current() }

// Write creates or updates the row whose key column is ev.Subject when ev is newer, by
// [sink.Version], than the event that last wrote it; otherwise it changes nothing and returns
// nil. A *.deleted event deactivates or deletes the row. See the package documentation. It is
// [Sink.Apply] without the [sink.Result].
func (s *Sink) Write(ctx context.Context, ev hookline.Event) error {
	_, err := s.Apply(ctx, ev)
	return err
}

// Apply writes ev as Write does and reports [sink.Stored] when a PATCH or DELETE of it
// succeeded, [sink.Ignored] when it sent none that changed the row: the row was written by an
// event not older than ev, a hard delete found no row, or in create-only mode the row existed.
func (s *Sink) Apply(ctx context.Context, ev hookline.Event) (sink.Result, error) {
	o := s.ApplyBatch(ctx, []sink.Item{{Event: ev}})[0]
	return o.Result, o.Err
}

// ApplyRecord writes columns, a route's mapping of ev (package route), instead of what
// Options.Map gives, as Apply does otherwise. It makes the sink a [sink.RecordSink].
func (s *Sink) ApplyRecord(ctx context.Context, ev hookline.Event, columns map[string]any) (sink.Result, error) {
	if columns == nil {
		columns = map[string]any{}
	}
	o := s.ApplyBatch(ctx, []sink.Item{{Event: ev, Columns: columns}})[0]
	return o.Result, o.Err
}

// ApplyBatch writes items as Apply (or ApplyRecord, for an item with Columns) writes each,
// with as few requests as it can: rows it remembers need no read, the reads and the writes of
// the others go in $batch requests of up to Options.BatchSize operations, sent concurrently. It
// makes the sink a [sink.BatchApplier]; see the package documentation (# Batches).
func (s *Sink) ApplyBatch(ctx context.Context, items []sink.Item) []sink.Outcome {
	out := make([]sink.Outcome, len(items))
	newest := sink.Newest(items, func(it sink.Item) string { return it.Event.Subject })
	ws := make([]*write, 0, len(items))
	for i, it := range items {
		if newest[i] != i {
			continue
		}
		w := &write{ev: it.Event, out: &out[i], del: it.Event.Action == hookline.Deleted}
		cols, err := s.columns(it.Event, it.Columns)
		if err != nil {
			w.finish(sink.Ignored, err)
			continue
		}
		w.cols = cols
		ws = append(ws, w)
	}
	s.writeAll(ctx, ws)
	sink.Spread(out, newest)
	return out
}

// columns checks ev and returns the column values it writes; its errors are Permanent.
func (s *Sink) columns(ev hookline.Event, mapped map[string]any) (map[string]any, error) {
	switch {
	case ev.Subject == "":
		return nil, hookline.Errorf(hookline.Permanent, "dataverse: event %s has no subject", ev.ID)
	case ev.ID == "":
		return nil, hookline.Errorf(hookline.Permanent, "dataverse: event about %s has no id", ev.Subject)
	case ev.Time.IsZero():
		return nil, hookline.Errorf(hookline.Permanent, "dataverse: event %s has no time", ev.ID)
	}
	del := ev.Action == hookline.Deleted
	if del && s.o.Delete == HardDelete {
		return nil, nil
	}
	if mapped == nil {
		var err error
		if mapped, err = s.o.Map(ev); err != nil {
			return nil, hookline.Errorf(hookline.Permanent, "dataverse: mapping event %s (%s): %w", ev.ID, ev.Type, err)
		}
	}
	cols := make(map[string]any, len(mapped)+5)
	maps.Copy(cols, mapped)
	delete(cols, s.o.KeyColumn) // the URL carries the key
	cols[s.o.EventTimeColumn] = ev.Time.UTC().Truncate(time.Second).Format(timeLayout)
	if s.o.EventIDColumn != "" {
		cols[s.o.EventIDColumn] = stamp(ev)
	}
	if del {
		cols["statecode"], cols["statuscode"] = 1, 2
	}
	return cols, nil
}

// storedVersion reconstructs the sink.Version of the event that last wrote row. Without the
// event-id column the id is unknown (""), and the rank is 2 for an inactive row and 1 otherwise.
func (s *Sink) storedVersion(row map[string]any) (v sink.Version, deletedHere bool) {
	if t, ok := row[s.o.EventTimeColumn].(string); ok {
		if parsed, err := time.Parse(time.RFC3339, t); err == nil {
			v.Time = parsed.UTC().Truncate(time.Second)
		}
	}
	v.Rank = 1
	if state, ok := row["statecode"].(float64); ok && state == 1 {
		v.Rank = 2
	}
	if s.o.EventIDColumn == "" {
		return v, false
	}
	stored, _ := row[s.o.EventIDColumn].(string)
	id, rank, nanos, deleted, ok := parseStamp(stored)
	if !ok {
		return v, false
	}
	v.ID, v.Rank, v.Time = id, rank, v.Time.Add(nanos)
	return v, deleted && s.o.Delete == Deactivate
}

// escapeKey writes id as the inside of an OData string literal in a URL path: single quotes
// doubled, then percent-encoded like any path segment.
func escapeKey(id string) string {
	return url.PathEscape(strings.ReplaceAll(id, "'", "''"))
}
