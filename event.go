package hookline

import (
	"maps"
	"strings"
	"time"
)

// Event is one thing that happened at a source, as it travels from an emitter through a channel to
// a sink. Its fields follow the CloudEvents 1.0 context attributes of the same names; Object and
// Action are hookline's own.
//
// A source stamps each event with what the sinks' ordering rule needs (package sink, Version):
// its Time at the source's precision, the Object type of its Subject, and its Action on the
// subject. Nothing after the source knows which sender it was.
type Event struct {
	// ID identifies the event at its source; for Stripe it is the event id ("evt_..."), for a
	// Standard Webhooks sender the webhook-id ("msg_..."). Together with Source it is unique, so
	// sinks use it to recognise a redelivery.
	ID string
	// Source names where the event came from: the name of the source that verified it, such as
	// "stripe" or "standardwebhooks".
	Source string
	// Type is the source's event type, for example "customer.created".
	Type string
	// Subject is the id of the object the event is about, for example "cus_123". Sinks key their
	// records by it and brokers that order messages use it as the ordering key.
	Subject string
	// Object is the type of the Subject as the source names it, for example "customer". Sinks
	// store it with the record.
	Object string
	// Action is what the event does to its Subject: [Created], [Updated] or [Deleted]. Between
	// two events about one subject at the same Time, a creation comes first and a deletion last.
	Action Action
	// Time is when the source created the event (Stripe's "created", a Standard Webhooks
	// payload's "timestamp"), not when it was received, at the source's own precision: whole
	// seconds for Stripe, as the payload wrote it for Standard Webhooks. Sinks compare it to keep
	// an older event from overwriting a newer one.
	Time time.Time
	// Data is the event's payload: for Stripe, the JSON of data.object as the event carried it.
	Data []byte
	// Metadata holds further attributes (for Stripe: "livemode", "account", "apiversion"). Keys
	// are lower-case letters and digits, as CloudEvents extension names are.
	Metadata map[string]string
}

// Action is what an event does to its subject.
type Action string

// The actions. An event whose Action is empty counts as [Updated].
const (
	Created Action = "created"
	Updated Action = "updated"
	Deleted Action = "deleted"
)

// ActionOfType applies the naming convention that Stripe and most webhook senders follow
// ("customer.created", "user.deleted"): a type ending in ".created" creates its subject, one
// ending in ".deleted" deletes it, and any other updates it. A source whose sender follows the
// convention stamps its events with it; one that does not says otherwise.
func ActionOfType(eventType string) Action {
	switch {
	case strings.HasSuffix(eventType, ".created"):
		return Created
	case strings.HasSuffix(eventType, ".deleted"):
		return Deleted
	}
	return Updated
}

// Clone returns a deep copy of e, so the copy can be changed without touching e.
func (e Event) Clone() Event {
	c := e
	if e.Data != nil {
		c.Data = append([]byte(nil), e.Data...)
	}
	c.Metadata = maps.Clone(e.Metadata)
	return c
}

// Meta returns the metadata value for key, or "" when it is absent.
func (e Event) Meta(key string) string { return e.Metadata[key] }
