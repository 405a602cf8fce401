package stripeapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hookline/hookline/emitter/stripehook"
)

// MaxTypes is how many names types[] may hold (Stripe: "An array of up to 20 strings").
const MaxTypes = 20

// Event is one event the double stores.
type Event struct {
	// JSON is the whole event object as Stripe serves it: id "evt_...", object "event",
	// api_version, created, data.object, livemode, pending_webhooks, request, type.
	JSON json.RawMessage
	// Delivered says whether every webhook endpoint acknowledged the event: such events are
	// listed by delivery_success=true, the others by delivery_success=false.
	Delivered bool
}

// NewEvent returns an undelivered event of type typ about the customer objectID, created at
// created: the body of [stripehook.SampleEvent] (API version 2023-10-16, pending_webhooks 1,
// data.object a customer whatever typ says). Events differing in any argument have different
// ids, so many events can share one second; the same arguments give the same id, which
// [Server.AddEvent] refuses to store twice.
func NewEvent(typ, objectID string, created time.Time) Event {
	return Event{JSON: stripehook.SampleEvent(typ, objectID, created)}
}

// NewCustomer returns a realistic customer object with id and created, the data.object of
// [NewEvent], for [Server.AddObject] with kind "customers".
func NewCustomer(id string, created time.Time) json.RawMessage {
	var ev struct {
		Data struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(stripehook.SampleEvent("customer.created", id, created), &ev); err != nil {
		panic("stripeapi: NewCustomer: " + err.Error()) // cannot happen: SampleEvent is valid JSON
	}
	return ev.Data.Object
}

// eventHead is what the double reads from an event's JSON.
type eventHead struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created *int64 `json:"created"`
	Type    string `json:"type"`
}

// ID returns the event's id, or "" when its JSON has none.
func (e Event) ID() string {
	var h eventHead
	json.Unmarshal(e.JSON, &h)
	return h.ID
}

// AddEvent stores ev. It fails the test when ev.JSON is not an event object with id, created
// and type, or when an event with its id is already stored (Stripe's events never change;
// see [Server.SetDelivered]).
func (s *Server) AddEvent(ev Event) {
	s.t.Helper()
	var h eventHead
	if err := json.Unmarshal(ev.JSON, &h); err != nil {
		s.t.Fatalf("stripeapi: AddEvent: %v", err)
	}
	if h.ID == "" || h.Object != "event" || h.Created == nil || h.Type == "" {
		s.t.Fatalf("stripeapi: AddEvent: want an event object with id, created and type, got %.200s", ev.JSON)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, ev.JSON); err != nil {
		s.t.Fatalf("stripeapi: AddEvent: %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.events.byID[h.ID]; dup {
		s.t.Fatalf("stripeapi: AddEvent: event %s is already stored", h.ID)
	}
	s.seq++
	s.events.insert(&entry{id: h.ID, created: *h.Created, seq: s.seq, raw: compact.Bytes(), listed: listed(compact.Bytes()),
		typ: h.Type, delivered: ev.Delivered})
}

// SetDelivered changes the Delivered flag of the stored event id, as a webhook delivery that
// finally succeeded (or a new endpoint that has not received it) would. It fails the test when
// no such event is stored.
func (s *Server) SetDelivered(id string, delivered bool) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.events.byID[id]
	if !ok {
		s.t.Fatalf("stripeapi: SetDelivered: no event %s", id)
	}
	e.delivered = delivered
}

// visibleEvents says which events are still kept (see Options.Retention).
func (s *Server) visibleEvents() func(*entry) bool {
	if s.retention < 0 {
		return func(*entry) bool { return true }
	}
	cutoff := s.now().Add(-s.retention).Unix()
	return func(e *entry) bool { return e.created >= cutoff }
}

func eventSpecs() map[string]paramSpec {
	specs := listSpecs()
	specs["delivery_success"] = paramSpec{kind: kindBool}
	specs["type"] = paramSpec{kind: kindString}
	specs["types"] = paramSpec{kind: kindArray}
	return specs
}

// listEvents serves GET /v1/events.
func (s *Server) listEvents(rawQuery string) ([]byte, *apiError) {
	p, e := parseQuery(rawQuery, eventSpecs())
	if e != nil {
		return nil, e
	}
	pg, e := readPage(p)
	if e != nil {
		return nil, e
	}
	types, hasTypes := p.array["types"]
	typ, hasType := p.scalar["type"]
	if hasType && hasTypes {
		return nil, invalid("types", "You may pass either type or types, but not both.")
	}
	if len(types) > MaxTypes {
		return nil, invalid("types", "Array types exceeded maximum %d allowed elements.", MaxTypes)
	}
	delivery, hasDelivery := p.scalar["delivery_success"]
	match := func(x *entry) bool {
		switch {
		case hasType && !matchType(typ, x.typ):
			return false
		case hasTypes && !slices.Contains(types, x.typ):
			return false
		case hasDelivery && x.delivered != (delivery == "true"):
			return false
		}
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, more, e := s.events.list(pg, "event", s.visibleEvents(), match)
	if e != nil {
		return nil, e
	}
	return listBody("/v1/events", out, more), nil
}

// retrieveEvent serves GET /v1/events/{id}.
func (s *Server) retrieveEvent(id, rawQuery string) ([]byte, *apiError) {
	if _, e := parseQuery(rawQuery, retrieveSpecs()); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	x, ok := s.events.byID[id]
	if !ok || !s.visibleEvents()(x) {
		return nil, noSuch(http.StatusNotFound, "event", id, "id")
	}
	return objectBody(x), nil
}

// matchType reports whether typ matches pattern, where * matches any run of characters.
func matchType(pattern, typ string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == typ
	}
	rest, ok := strings.CutPrefix(typ, parts[0])
	if !ok {
		return false
	}
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(rest, mid)
		if i < 0 {
			return false
		}
		rest = rest[i+len(mid):]
	}
	return strings.HasSuffix(rest, parts[len(parts)-1])
}
