package dataverse

import (
	"context"
	"encoding/json"
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
	log    *slog.Logger
	sel    string // the $select query of reads
	// defaultMap is true when Options.Map is MapCustomer by default: its columns are known.
	defaultMap bool
}

var (
	_ sink.Applier    = (*Sink)(nil)
	_ sink.RecordSink = (*Sink)(nil)
	_ sink.Checker    = (*Sink)(nil)
)

func newSink(host, hostport string, o Options) (*Sink, error) {
	base, err := baseURL(hostport, o.Endpoint)
	if err != nil {
		return nil, err
	}
	s := &Sink{
		o:    o,
		base: base,
		auth: newTokenSource(o.Credential, o.Token, scopeFor(host), o.Now),
		lim:  newLimiter(o.MaxConcurrency, o.Now),
		log:  o.Logger,
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

// Concurrency returns the number of requests the sink lets run at once now: MaxConcurrency,
// or less while it slows down after Dataverse throttled it.
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
	return s.apply(ctx, ev, nil)
}

// ApplyRecord writes columns, a route's mapping of ev (package route), instead of what
// Options.Map gives, as Apply does otherwise. It makes the sink a [sink.RecordSink].
func (s *Sink) ApplyRecord(ctx context.Context, ev hookline.Event, columns map[string]any) (sink.Result, error) {
	if columns == nil {
		columns = map[string]any{}
	}
	return s.apply(ctx, ev, columns)
}

// apply writes ev with the columns mapped, or with Options.Map's when mapped is nil.
func (s *Sink) apply(ctx context.Context, ev hookline.Event, mapped map[string]any) (sink.Result, error) {
	if err := ctx.Err(); err != nil {
		return sink.Ignored, err
	}
	cols, err := s.columns(ev, mapped)
	if err != nil {
		return sink.Ignored, err
	}
	if s.o.Mode == CreateOnly && ev.Action != hookline.Deleted {
		res, _, err := s.patch(ctx, ev, cols, "If-None-Match", "*")
		return res, err
	}
	for range maxConflicts {
		cur, err := s.read(ctx, ev)
		if err != nil {
			return sink.Ignored, err
		}
		res, done, err := s.step(ctx, ev, cols, cur)
		if err != nil {
			return sink.Ignored, err
		}
		if done {
			return res, nil
		}
		s.log.DebugContext(ctx, "dataverse: row changed meanwhile, reading again", "subject", ev.Subject, "event", ev.ID)
	}
	return sink.Ignored, hookline.Errorf(hookline.Transient,
		"dataverse: %s (event %s): the row kept changing during %d attempts", s.entityPath(ev.Subject), ev.ID, maxConflicts)
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

// current is what a read found.
type current struct {
	found   bool
	etag    string
	version sink.Version
	// deletedHere: the row was deactivated by a *.deleted event this sink wrote (known only
	// with the event-id column), so a newer event may reactivate it.
	deletedHere bool
}

// read gets the row's ETag and the version of the event that last wrote it.
func (s *Sink) read(ctx context.Context, ev hookline.Event) (current, error) {
	what := fmt.Sprintf("GET %s (event %s)", s.entityPath(ev.Subject), ev.ID)
	resp, err := s.do(ctx, request{method: http.MethodGet, path: s.entityPath(ev.Subject) + s.sel, what: what})
	if err != nil {
		return current{}, err
	}
	switch {
	case resp.status == http.StatusNotFound && !configNotFound(resp.body):
		return current{}, nil
	case resp.status != http.StatusOK:
		return current{}, statusError(what, resp, s.o.Now())
	}
	var row map[string]any
	if err := json.Unmarshal(resp.body, &row); err != nil {
		return current{}, hookline.Errorf(hookline.Transient, "dataverse: %s: unreadable response: %w", what, err)
	}
	cur := current{found: true}
	cur.etag, _ = row["@odata.etag"].(string)
	if cur.etag == "" {
		return current{}, hookline.Errorf(hookline.Transient, "dataverse: %s: response without @odata.etag", what)
	}
	cur.version, cur.deletedHere = s.storedVersion(row)
	return cur, nil
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

// step decides about ev given the row as read and writes if needed. done is false when the row
// changed meanwhile and must be read again; res is meaningful only when done is true.
func (s *Sink) step(ctx context.Context, ev hookline.Event, cols map[string]any, cur current) (
	res sink.Result, done bool, err error) {
	del := ev.Action == hookline.Deleted
	if !cur.found {
		if del && s.o.Delete == HardDelete {
			return sink.Ignored, true, nil
		}
		return s.patch(ctx, ev, cols, "If-None-Match", "*")
	}
	if !sink.VersionOf(ev).Supersedes(cur.version) {
		s.log.DebugContext(ctx, "dataverse: event not newer than the row, skipped", "subject", ev.Subject, "event", ev.ID)
		return sink.Ignored, true, nil
	}
	if del && s.o.Delete == HardDelete {
		return s.remove(ctx, ev, cur.etag)
	}
	if !del && cur.deletedHere {
		cols = maps.Clone(cols)
		cols["statecode"], cols["statuscode"] = 0, 1
	}
	return s.patch(ctx, ev, cols, "If-Match", cur.etag)
}

// patch writes cols with one conditional PATCH: Stored when it succeeded. It returns
// done=false when the precondition failed (412, or 404 for If-Match: the row went away), except
// that in create-only mode a 412 means the row exists, which is done and Ignored.
func (s *Sink) patch(ctx context.Context, ev hookline.Event, cols map[string]any, cond, value string) (
	res sink.Result, done bool, err error) {
	body, err := json.Marshal(cols)
	if err != nil {
		return sink.Ignored, false,
			hookline.Errorf(hookline.Permanent, "dataverse: event %s: columns are not JSON: %w", ev.ID, err)
	}
	what := fmt.Sprintf("PATCH %s (event %s)", s.entityPath(ev.Subject), ev.ID)
	resp, err := s.do(ctx, request{method: http.MethodPatch, path: s.entityPath(ev.Subject), body: body,
		header: map[string]string{cond: value}, what: what})
	if err != nil {
		return sink.Ignored, false, err
	}
	switch {
	case resp.status >= 200 && resp.status <= 299:
		s.log.DebugContext(ctx, "dataverse: written", "subject", ev.Subject, "event", ev.ID, "condition", cond)
		return sink.Stored, true, nil
	case resp.status == http.StatusPreconditionFailed:
		exists := s.o.Mode == CreateOnly && cond == "If-None-Match" && ev.Action != hookline.Deleted
		if exists {
			s.log.DebugContext(ctx, "dataverse: row exists, create-only mode leaves it", "subject", ev.Subject, "event", ev.ID)
		}
		return sink.Ignored, exists, nil
	case resp.status == http.StatusNotFound && cond == "If-Match" &&
		!configNotFound(resp.body):
		return sink.Ignored, false, nil
	}
	return sink.Ignored, false, statusError(what, resp, s.o.Now())
}

// remove deletes the row if its ETag is still etag: Stored when it did, Ignored (and done) when
// the row was already gone.
func (s *Sink) remove(ctx context.Context, ev hookline.Event, etag string) (res sink.Result, done bool, err error) {
	what := fmt.Sprintf("DELETE %s (event %s)", s.entityPath(ev.Subject), ev.ID)
	resp, err := s.do(ctx, request{method: http.MethodDelete, path: s.entityPath(ev.Subject),
		header: map[string]string{"If-Match": etag}, what: what})
	if err != nil {
		return sink.Ignored, false, err
	}
	switch {
	case resp.status >= 200 && resp.status <= 299:
		return sink.Stored, true, nil
	case resp.status == http.StatusNotFound && !configNotFound(resp.body):
		return sink.Ignored, true, nil
	case resp.status == http.StatusPreconditionFailed:
		return sink.Ignored, false, nil
	}
	return sink.Ignored, false, statusError(what, resp, s.o.Now())
}

// escapeKey writes id as the inside of an OData string literal in a URL path: single quotes
// doubled, then percent-encoded like any path segment.
func escapeKey(id string) string {
	return url.PathEscape(strings.ReplaceAll(id, "'", "''"))
}
