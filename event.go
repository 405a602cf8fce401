package hookline

import (
	"maps"
	"time"
)

// Event is one thing that happened at a source, as it travels from an emitter through a channel to
// a sink. Its fields follow the CloudEvents 1.0 context attributes of the same names.
type Event struct {
	// ID identifies the event at its source; for Stripe it is the event id ("evt_...").
	// Together with Source it is unique, so sinks use it to recognise a redelivery.
	ID string
	// Source names where the event came from, for example "stripe" or "stripe/acct_123".
	Source string
	// Type is the source's event type, for example "customer.created".
	Type string
	// Subject is the id of the object the event is about, for example "cus_123". Sinks key their
	// records by it and brokers that order messages use it as the ordering key.
	Subject string
	// Time is when the source created the event (Stripe's "created"), not when it was received.
	// Sinks compare it to keep an older event from overwriting a newer one.
	Time time.Time
	// Data is the event's payload: for Stripe, the JSON of data.object as the event carried it.
	Data []byte
	// Metadata holds further attributes (for Stripe: "object", "livemode", "account",
	// "apiversion"). Keys are lower-case letters and digits, as CloudEvents extension names are.
	Metadata map[string]string
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
