// Package emittertest is a conformance suite for webhook sources: implementations of
// [emitter.Source] that verify a signed delivery and decode it into a [hookline.Event].
//
// A source package runs it from its tests with a [Harness] that says how to build the source,
// make a secret, sign a delivery and what event a sample delivery must become:
//
//	func TestConformance(t *testing.T) {
//		emittertest.Run(t, emittertest.Harness{
//			Name: "mysource",
//			New: func(secrets []string, now func() time.Time) (emitter.Source, error) {
//				return mysource.New(secrets, &mysource.Options{Now: now})
//			},
//			Secret:    mysource.GenerateSecret,
//			Sign:      func(id string, body []byte, secret string, at time.Time) http.Header { ... },
//			Sample:    func(typ, subject string, at time.Time) ([]byte, hookline.Event) { ... },
//			Malformed: [][]byte{[]byte(`{"type":""}`)},
//			Tolerance: 5 * time.Minute,
//		})
//	}
//
// Every delivery goes through a real [emitter.Handler] over HTTP (httptest) to a Sender that
// records what it is given, as in production. The suite checks that the source
//
//   - accepts valid deliveries (types "customer.created", "customer.updated" and
//     "customer.deleted") and maps each to the event the harness says, field by field;
//   - refuses, with a 4xx [*emitter.RejectError] from Decode and a 4xx answer from the Handler,
//     and with nothing sent: a tampered delivery (another body, or the same body with a byte of
//     white space added, under the original signature), an unsigned one, one signed with a
//     secret it does not hold, one signed more than Tolerance ago or ahead (and accepts one
//     signed a second inside the window on either side), and malformed bodies (the harness's
//     and a few that no JSON source can accept), and that its refusals never quote a secret;
//   - leaves a body past HandlerOptions.MaxBodyBytes to the Handler's 413, with nothing sent;
//   - keeps the event across redeliveries: the same delivery signed again minutes later gives
//     the same ID and Time (for Standard Webhooks, whose signed timestamp changes on every
//     retry, Time must come from the payload);
//   - with several secrets, accepts a delivery signed with any of them;
//   - refuses to be built without a secret;
//   - decodes concurrently (run the suite with -race).
//
// The sources of this module run it in emitter/stripehook and emitter/standardwebhooks. Its own
// tests run it against sources that lie, to show that it fails them.
package emittertest

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookline/hookline"
	"github.com/hookline/hookline/emitter"
)

// Harness says how to build and feed the source under test.
type Harness struct {
	// Name names the source in failure messages.
	Name string

	// New returns a source that accepts deliveries signed with any of secrets, reads the clock
	// from now, and otherwise has its defaults (a signature tolerance of Tolerance, every event
	// type selected). It must fail for an empty list and for an empty secret. Required.
	New func(secrets []string, now func() time.Time) (emitter.Source, error)

	// Secret returns a fresh secret that New accepts, a different one on every call. Required.
	Secret func() string

	// Sign returns the headers of a delivery of body signed with secret at time at, as the
	// sender sets them. id is the event id the delivery carries: a source whose id travels in a
	// header (Standard Webhooks' webhook-id) puts it there; one whose id is in the body
	// (Stripe's "id") ignores it. Required.
	Sign func(id string, body []byte, secret string, at time.Time) http.Header

	// Sample returns the body of a delivery of one event of type typ about subject, created at
	// at (which has sub-second digits), and the event the source must make of it. The suite
	// passes want.ID to Sign, and compares ID, Source, Type, Subject, Object, Action, Time (as
	// an instant: a source may round it to its precision, as the harness's want says), Data
	// (byte for byte) and Metadata (nil and empty are the same). The same arguments must give
	// the same delivery, which is then a redelivery. Required.
	Sample func(typ, subject string, at time.Time) (body []byte, want hookline.Event)

	// Malformed lists bodies the source must refuse even when they are properly signed, besides
	// the suite's own: an empty body, text that is not JSON, a JSON array, a JSON string, an
	// empty object and a truncated object.
	Malformed [][]byte

	// Tolerance is how far from the clock a signed timestamp may lie, in either direction, for a
	// source built by New. Required.
	Tolerance time.Duration
}

// Types are the event types of the samples the suite delivers.
var Types = []string{"customer.created", "customer.updated", "customer.deleted"}

// T0 is the suite's clock at the start of every case: a whole second, so that signed
// timestamps in Unix seconds are exact. Sample events are created an hour before it, at a time
// with sub-second digits.
var T0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// created is when the sample events happened.
var created = T0.Add(-time.Hour + 250*time.Millisecond + 123456*time.Nanosecond)

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil || h.Secret == nil || h.Sign == nil || h.Sample == nil || h.Tolerance <= 0 {
		t.Fatal("emittertest: Harness.New, Secret, Sign, Sample and a positive Tolerance are required")
	}
	if h.Name == "" {
		h.Name = "source"
	}
	cases := []struct {
		name string
		run  func(*testing.T, *Harness)
	}{
		{"Accepts", testAccepts},
		{"RefusesTampered", testTampered},
		{"RefusesUnsigned", testUnsigned},
		{"RefusesWrongSecret", testWrongSecret},
		{"RefusesStale", testStale},
		{"RefusesFuture", testFuture},
		{"RefusesMalformed", testMalformed},
		{"RefusesOversize", testOversize},
		{"KeepsIDAcrossRedeliveries", testRedelivery},
		{"SeveralSecrets", testSeveralSecrets},
		{"RefusesNoSecret", testNoSecret},
		{"Concurrent", testConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, &h) })
	}
}

// clock is the source's clock in a case; the case moves it.
type clock struct{ nanos atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.set(T0)
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.nanos.Load()).UTC() }
func (c *clock) set(t time.Time)         { c.nanos.Store(t.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.nanos.Add(int64(d)) }

// Recorder is a Sender that keeps a deep copy of every event it is given: the Sender the suite
// runs sources with, and one for a source's own tests.
type Recorder struct {
	mu     sync.Mutex
	events []hookline.Event
}

// Send keeps a copy of ev.
func (r *Recorder) Send(_ context.Context, ev hookline.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, ev.Clone())
	return nil
}

// Sent returns the events sent so far.
func (r *Recorder) Sent() []hookline.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hookline.Event(nil), r.events...)
}

// take returns the events sent since the last take.
func (r *Recorder) take() []hookline.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.events
	r.events = nil
	return evs
}
