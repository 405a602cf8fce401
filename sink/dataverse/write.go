package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/sink"
)

// write is one event on its way to its row, through rounds of: know the row (remembered or
// read), decide, send one conditional request, conclude.
type write struct {
	ev   hookline.Event
	cols map[string]any
	del  bool
	out  *sink.Outcome
	done bool
	cur  current // the row as remembered or read this round
	req  request // the request decided this round
	kind opKind
}

// opKind is what the request of a round does, for concluding from its response.
type opKind int

const (
	opCreate     opKind = iota // PATCH with If-None-Match: * in upsert mode
	opCreateOnly               // PATCH with If-None-Match: * in create-only mode: 412 means done
	opUpdate                   // PATCH with If-Match
	opDelete                   // DELETE with If-Match
)

func (w *write) finish(res sink.Result, err error) {
	w.done = true
	*w.out = sink.Outcome{Result: res, Err: err}
}

// current is what a read found, or what the sink remembers of a row.
type current struct {
	found   bool
	etag    string
	version sink.Version
	// deletedHere: the row was deactivated by a *.deleted event this sink wrote (known only
	// with the event-id column), so a newer event may reactivate it.
	deletedHere bool
}

// writeAll brings every write to an end: at most maxConflicts rounds, each with the reads of the
// rows it does not remember (in $batch requests when there are several) and then one
// conditional write per event that needs one (likewise).
func (s *Sink) writeAll(ctx context.Context, ws []*write) {
	createOnly := s.o.Mode == CreateOnly
	for range maxConflicts {
		pending := ws[:0:0]
		for _, w := range ws {
			if !w.done {
				pending = append(pending, w)
			}
		}
		if len(pending) == 0 {
			return
		}
		if err := ctx.Err(); err != nil {
			for _, w := range pending {
				w.finish(sink.Ignored, err)
			}
			return
		}
		var unknown []*write
		for _, w := range pending {
			if createOnly && !w.del {
				continue
			}
			if c, ok := s.cache.get(w.ev.Subject); ok {
				w.cur = c
			} else {
				unknown = append(unknown, w)
			}
		}
		s.readAll(ctx, unknown)
		var sending []*write
		for _, w := range pending {
			if !w.done && s.decide(ctx, w) {
				sending = append(sending, w)
			}
		}
		reqs := make([]request, len(sending))
		for i, w := range sending {
			reqs[i] = w.req
		}
		resps, errs := s.sendAll(ctx, reqs)
		for i, w := range sending {
			s.conclude(ctx, w, resps[i], errs[i])
		}
	}
	for _, w := range ws {
		if !w.done {
			w.finish(sink.Ignored, hookline.Errorf(hookline.Transient,
				"dataverse: %s (event %s): the row kept changing during %d attempts",
				s.entityPath(w.ev.Subject), w.ev.ID, maxConflicts))
		}
	}
}

// readAll reads the rows of ws: each one's ETag and the version of the event that last wrote it.
func (s *Sink) readAll(ctx context.Context, ws []*write) {
	if len(ws) == 0 {
		return
	}
	reqs := make([]request, len(ws))
	for i, w := range ws {
		reqs[i] = request{method: http.MethodGet, path: s.entityPath(w.ev.Subject) + s.sel,
			what: fmt.Sprintf("GET %s (event %s)", s.entityPath(w.ev.Subject), w.ev.ID)}
	}
	resps, errs := s.sendAll(ctx, reqs)
	for i, w := range ws {
		if errs[i] != nil {
			w.finish(sink.Ignored, errs[i])
			continue
		}
		cur, err := s.readRow(reqs[i].what, resps[i])
		if err != nil {
			w.finish(sink.Ignored, err)
			continue
		}
		w.cur = cur
		s.cache.put(w.ev.Subject, cur)
	}
}

// readRow interprets the response to a read, or to a write that asked for the row back.
func (s *Sink) readRow(what string, resp *response) (current, error) {
	switch {
	case resp.status == http.StatusNotFound && !configNotFound(resp.body):
		return current{}, nil
	case resp.status != http.StatusOK && resp.status != http.StatusCreated:
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

// decide chooses what to send for w given w.cur, or finishes w: it reports whether w has a
// request to send (w.req).
func (s *Sink) decide(ctx context.Context, w *write) bool {
	ev, cur := w.ev, w.cur
	path := s.entityPath(ev.Subject)
	patch := func(kind opKind, cond, value string, cols map[string]any) bool {
		body, err := json.Marshal(cols)
		if err != nil {
			w.finish(sink.Ignored, hookline.Errorf(hookline.Permanent,
				"dataverse: event %s: columns are not JSON: %w", ev.ID, err))
			return false
		}
		w.kind = kind
		w.req = request{method: http.MethodPatch, path: path, body: body,
			header: map[string]string{cond: value}, what: fmt.Sprintf("PATCH %s (event %s)", path, ev.ID)}
		if kind != opCreateOnly && s.cache.size > 0 {
			// The row comes back with its new ETag: the next event for it needs no read.
			w.req.path += s.sel
			w.req.header["Prefer"] = "return=representation"
		}
		return true
	}
	if s.o.Mode == CreateOnly && !w.del {
		return patch(opCreateOnly, "If-None-Match", "*", w.cols)
	}
	if !cur.found {
		if w.del && s.o.Delete == HardDelete {
			w.finish(sink.Ignored, nil)
			return false
		}
		return patch(opCreate, "If-None-Match", "*", w.cols)
	}
	if !sink.VersionOf(ev).Supersedes(cur.version) {
		s.log.DebugContext(ctx, "dataverse: event not newer than the row, skipped", "subject", ev.Subject, "event", ev.ID)
		w.finish(sink.Ignored, nil)
		return false
	}
	if w.del && s.o.Delete == HardDelete {
		w.kind = opDelete
		w.req = request{method: http.MethodDelete, path: path, header: map[string]string{"If-Match": cur.etag},
			what: fmt.Sprintf("DELETE %s (event %s)", path, ev.ID)}
		return true
	}
	cols := w.cols
	if !w.del && cur.deletedHere {
		cols = maps.Clone(cols)
		cols["statecode"], cols["statuscode"] = 0, 1
	}
	return patch(opUpdate, "If-Match", cur.etag, cols)
}

// conclude settles w from the response to its request, or leaves it for another round (after
// forgetting the row) when the row changed or went away meanwhile.
func (s *Sink) conclude(ctx context.Context, w *write, resp *response, err error) {
	if err != nil {
		w.finish(sink.Ignored, err)
		return
	}
	ev := w.ev
	ok := resp.status >= 200 && resp.status <= 299
	switch w.kind {
	case opDelete:
		s.cache.drop(ev.Subject)
		switch {
		case ok:
			w.finish(sink.Stored, nil)
		case resp.status == http.StatusNotFound && !configNotFound(resp.body):
			w.finish(sink.Ignored, nil)
		case resp.status == http.StatusPreconditionFailed:
		default:
			w.finish(sink.Ignored, statusError(w.req.what, resp, s.o.Now()))
		}
		return
	case opCreateOnly:
		switch {
		case ok:
			w.finish(sink.Stored, nil)
		case resp.status == http.StatusPreconditionFailed:
			s.log.DebugContext(ctx, "dataverse: row exists, create-only mode leaves it", "subject", ev.Subject, "event", ev.ID)
			w.finish(sink.Ignored, nil)
		default:
			w.finish(sink.Ignored, statusError(w.req.what, resp, s.o.Now()))
		}
		return
	}
	switch {
	case ok:
		s.log.DebugContext(ctx, "dataverse: written", "subject", ev.Subject, "event", ev.ID)
		s.remember(ev.Subject, resp)
		w.finish(sink.Stored, nil)
	case resp.status == http.StatusPreconditionFailed,
		resp.status == http.StatusNotFound && w.kind == opUpdate && !configNotFound(resp.body):
		s.cache.drop(ev.Subject)
		s.log.DebugContext(ctx, "dataverse: row changed meanwhile, reading again", "subject", ev.Subject, "event", ev.ID)
	default:
		s.cache.drop(ev.Subject)
		w.finish(sink.Ignored, statusError(w.req.what, resp, s.o.Now()))
	}
}

// remember keeps the row a successful write returned (Prefer: return=representation); a
// response without it (a server that ignored the preference) makes the sink forget the row.
func (s *Sink) remember(key string, resp *response) {
	if resp.status == http.StatusNoContent {
		s.cache.drop(key)
		return
	}
	cur, err := s.readRow("", resp)
	if err != nil || !cur.found {
		s.cache.drop(key)
		return
	}
	s.cache.put(key, cur)
}
