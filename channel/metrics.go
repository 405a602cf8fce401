package channel

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/semconv/v1.43.0/messagingconv"
)

// meterName is the instrumentation scope of the channel's metrics.
const meterName = "github.com/hookline/hookline/channel"

// Attributes of the hookline.* metrics.
const (
	// AttrOutcome is what became of an event (hookline.events): stored, ignored, retried,
	// returned or dead_lettered.
	AttrOutcome = attribute.Key("hookline.outcome")
	// AttrSink names the sink (ConsumerOptions.Sink).
	AttrSink = attribute.Key("hookline.sink")
)

// Outcomes of the hookline.events counter.
const (
	OutcomeStored       = "stored"        // the handler succeeded and changed the record
	OutcomeIgnored      = "ignored"       // the handler succeeded and changed nothing (ReportIgnored)
	OutcomeRetried      = "retried"       // a handler call failed and is tried again in this delivery
	OutcomeReturned     = "returned"      // the delivery was returned to the broker, to come again
	OutcomeDeadLettered = "dead_lettered" // the message was set aside on the dead-letter channel
)

// noExemplar is the context of counter increments: without the span in it, the SDK attaches
// no exemplar (a sampled trace id) to them, which would cost more than the increment itself.
// Durations are recorded with the span's context, so their exemplars lead to slow traces.
var noExemplar = context.Background()

// durationBuckets are the boundaries the HTTP and messaging conventions advise for durations.
var durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}

// lagBuckets span a broker hop (a fraction of a second) to a recovery run days later.
var lagBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400, 259200}

// meters records the metrics of one Sender, Consumer or Processor. Its attribute sets are built
// once, so that recording allocates little.
type meters struct {
	sent     metric.Int64Counter
	sendTime metric.Float64Histogram
	consumed metric.Int64Counter
	procTime metric.Float64Histogram
	events   metric.Int64Counter
	lag      metric.Float64Histogram

	// The options of the commonest measurements, built once: passing an attribute set as an
	// option otherwise allocates on every measurement.
	sendOK, processOK, lagOpt metric.MeasurementOption
	base                      []attribute.KeyValue // messaging.system, messaging.destination.name
	sink                      []attribute.KeyValue // hookline.sink, when named
	mu                        sync.RWMutex
	outcomes                  map[outcomeKey]metric.MeasurementOption
}

// outcomeKey identifies the attributes of one hookline.events count.
type outcomeKey struct{ outcome, errType string }

// newMeters returns the meters of an endpoint whose spans t starts, with sink naming the sink
// ("" for none, as for a Sender).
func newMeters(mp metric.MeterProvider, t tracing, sink string) *meters {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	m := mp.Meter(meterName)
	d := metric.WithExplicitBucketBoundaries(durationBuckets...)
	s := &meters{base: t.attrs, outcomes: map[outcomeKey]metric.MeasurementOption{}}
	// Creating an instrument fails only for an invalid name or unit; a noop one is returned then.
	sent, _ := messagingconv.NewClientSentMessages(m)
	sendTime, _ := messagingconv.NewClientOperationDuration(m, d)
	consumed, _ := messagingconv.NewClientConsumedMessages(m)
	procTime, _ := messagingconv.NewProcessDuration(m, d)
	s.sent, s.sendTime, s.consumed, s.procTime = sent.Inst(), sendTime.Inst(), consumed.Inst(), procTime.Inst()
	s.events, _ = m.Int64Counter("hookline.events", metric.WithUnit("{event}"),
		metric.WithDescription("Events handed to the sink, by outcome: stored, ignored (older or duplicate), retried, returned to the broker, dead-lettered."))
	s.lag, _ = m.Float64Histogram("hookline.event.lag", metric.WithUnit("s"),
		metric.WithDescription("Time from the event's creation (Stripe's created) to its write to the sink."),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	if sink != "" {
		s.sink = []attribute.KeyValue{AttrSink.String(sink)}
	}
	s.sendOK = metric.WithAttributeSet(s.set(semconv.MessagingOperationName("send")))
	s.processOK = metric.WithAttributeSet(s.set(semconv.MessagingOperationName("process")))
	s.lagOpt = metric.WithAttributeSet(attribute.NewSet(s.sink...))
	return s
}

// set returns the base attributes with kv added.
func (m *meters) set(kv ...attribute.KeyValue) attribute.Set {
	all := make([]attribute.KeyValue, 0, len(m.base)+len(kv))
	all = append(append(all, m.base...), kv...)
	return attribute.NewSet(all...)
}

// failed returns the option of a failed op with error.type errType (failures are rare: built
// each time).
func (m *meters) failed(op string, errType string) metric.MeasurementOption {
	return metric.WithAttributeSet(m.set(semconv.MessagingOperationName(op), semconv.ErrorTypeKey.String(errType)))
}

// recordSend records one send that took d and failed with err (nil: accepted).
func (m *meters) recordSend(ctx context.Context, d time.Duration, err error) {
	if !m.sent.Enabled(ctx) && !m.sendTime.Enabled(ctx) {
		return
	}
	opt := m.sendOK
	if err != nil {
		opt = m.failed("send", errorType(err))
	}
	m.sent.Add(noExemplar, 1, opt)
	m.sendTime.Record(ctx, d.Seconds(), opt)
}

// recordProcess records one delivery processed in d with verdict v.
func (m *meters) recordProcess(ctx context.Context, d time.Duration, v verdict) {
	if !m.consumed.Enabled(ctx) && !m.procTime.Enabled(ctx) {
		return
	}
	opt := m.processOK
	switch v.kind {
	case "":
	case retry:
		opt = m.failed("process", errorType(v.err))
	default:
		opt = m.failed("process", v.kind)
	}
	m.consumed.Add(noExemplar, 1, m.processOK)
	m.procTime.Record(ctx, d.Seconds(), opt)
}

// recordEvent counts one event outcome; errType is "" or the error.type of a failure.
func (m *meters) recordEvent(ctx context.Context, outcome, errType string) {
	if !m.events.Enabled(ctx) {
		return
	}
	key := outcomeKey{outcome, errType}
	m.mu.RLock()
	opt, ok := m.outcomes[key]
	m.mu.RUnlock()
	if !ok {
		kv := append([]attribute.KeyValue{AttrOutcome.String(outcome)}, m.sink...)
		if errType != "" {
			kv = append(kv, semconv.ErrorTypeKey.String(errType))
		}
		opt = metric.WithAttributeSet(attribute.NewSet(kv...))
		m.mu.Lock()
		if len(m.outcomes) < maxOutcomeSets { // error types come from small sets; this only bounds a surprise
			m.outcomes[key] = opt
		}
		m.mu.Unlock()
	}
	m.events.Add(noExemplar, 1, opt)
}

// recordLag records the time from an event's creation to its write.
func (m *meters) recordLag(ctx context.Context, created time.Time) {
	if created.IsZero() || !m.lag.Enabled(ctx) {
		return
	}
	m.lag.Record(ctx, time.Since(created).Seconds(), m.lagOpt)
}

// maxOutcomeSets bounds the cached attribute sets of hookline.events.
const maxOutcomeSets = 256

// ignoredKey carries, in a handler call's context, the flag ReportIgnored sets.
type ignoredKey struct{}

// ReportIgnored tells the consumer, from inside a [Handler] call, that the handler succeeded
// without changing anything: the sink already held this event or a newer one (sink.Ignored).
// The consumer then counts the event as "ignored" rather than "stored" in hookline.events and
// records no lag for it. Called with any other context, it does nothing.
func ReportIgnored(ctx context.Context) {
	if f, ok := ctx.Value(ignoredKey{}).(*atomic.Bool); ok {
		f.Store(true)
	}
}
